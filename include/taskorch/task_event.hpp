#pragma once
// task_event: what moves a task along its lifecycle, and who may cause it. Three origins:
// the user's commands (the DRS batch APIs: start, pause, resume, terminate, delete), the
// workers that really move the data (they report that a task started, transferred, failed or
// was released), and the engine's own schedule (a scheduled start whose time has come).
//
// event_rules is the one table of these facts: each event's origin, which member of a
// dual-active DR family takes it (a child, or the parent on behalf of both children) and the
// DRS action it offers in `job_action` (docs/state-machine.md lists it).

#include <taskorch/detail/enum_names.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace taskorch {

/// An event applied to one task. New events go at the end; the names are on the wire.
enum class task_event : std::uint8_t {
  start,                ///< user: start now (batch-starting)
  start_succeeded,      ///< worker: the task started; full transfer begins
  start_failed,         ///< worker: the task failed to start
  full_transfer_done,   ///< worker: the full phase completed
  incremental_started,  ///< worker: the incremental phase started
  transfer_failed,      ///< worker: the transfer failed in its current phase
  pause,                ///< user: pause (batch-pause-task)
  resume,               ///< user: resume a paused task, retry a failed one (batch-retry-task)
  stop,                 ///< user: terminate, release the task's resources (batch-jobs)
  stopped,              ///< worker: resources released
  remove,               ///< user: delete (batch-jobs); the task stays, DELETED, until purged
  schedule_start,       ///< user: start at a later time (batch-starting with a start_time)
  start_due,            ///< schedule: a scheduled start's time has come
  force_stop,           ///< user: terminate at once, resources released (batch-jobs)
  confirm,              ///< worker: the command awaiting a worker has been carried out
};

/// The number of task events.
inline constexpr std::size_t task_event_count = 15;

/// Every event, in declaration order.
inline constexpr std::array<task_event, task_event_count> all_task_events{
    task_event::start,
    task_event::start_succeeded,
    task_event::start_failed,
    task_event::full_transfer_done,
    task_event::incremental_started,
    task_event::transfer_failed,
    task_event::pause,
    task_event::resume,
    task_event::stop,
    task_event::stopped,
    task_event::remove,
    task_event::schedule_start,
    task_event::start_due,
    task_event::force_stop,
    task_event::confirm};

/// Who causes an event.
enum class event_origin : std::uint8_t {
  command,   ///< a user's command
  worker,    ///< a worker's report
  schedule,  ///< the engine's schedule of starts
};

/// Which member of a dual-active DR family takes an event.
enum class family_scope : std::uint8_t {
  child,   ///< each child on its own; the parent refuses it (DRS.M00307)
  family,  ///< the parent, for both children at one instant; a child refuses it (DRS.M00308)
};

/// One row of event_rules.
struct event_rule {
  task_event event;
  std::string_view name;  ///< in code and on the wire (worker reports, event streams)
  event_origin origin;
  family_scope scope;
  std::string_view action;  ///< the DRS `job_action` it offers ("" for worker events)
  /// A worker must carry the change out: the task awaits the worker's confirmation of this
  /// command until a worker reports (docs/behaviour.md, "Commands awaiting a worker").
  bool awaits_worker;
};

namespace detail {
using O = event_origin;
using F = family_scope;
}  // namespace detail

// clang-format off
/// Every event, in the enum's order.
inline constexpr std::array event_rules{
  event_rule{task_event::start,               "start",               detail::O::command,  detail::F::child,  "START",           true},
  event_rule{task_event::start_succeeded,     "start_succeeded",     detail::O::worker,   detail::F::child,  "",                false},
  event_rule{task_event::start_failed,        "start_failed",        detail::O::worker,   detail::F::child,  "",                false},
  event_rule{task_event::full_transfer_done,  "full_transfer_done",  detail::O::worker,   detail::F::child,  "",                false},
  event_rule{task_event::incremental_started, "incremental_started", detail::O::worker,   detail::F::child,  "",                false},
  event_rule{task_event::transfer_failed,     "transfer_failed",     detail::O::worker,   detail::F::child,  "",                false},
  event_rule{task_event::pause,               "pause",               detail::O::command,  detail::F::child,  "PAUSE",           true},
  event_rule{task_event::resume,              "resume",              detail::O::command,  detail::F::child,  "RETRY",           true},
  event_rule{task_event::stop,                "stop",                detail::O::command,  detail::F::family, "TERMINATE",       true},
  event_rule{task_event::stopped,             "stopped",             detail::O::worker,   detail::F::child,  "",                false},
  event_rule{task_event::remove,              "remove",              detail::O::command,  detail::F::family, "DELETE",          false},
  event_rule{task_event::schedule_start,      "schedule_start",      detail::O::command,  detail::F::child,  "START",           false},
  event_rule{task_event::start_due,           "start_due",           detail::O::schedule, detail::F::child,  "",                true},
  event_rule{task_event::force_stop,          "force_stop",          detail::O::command,  detail::F::family, "FORCE_TERMINATE", true},
  event_rule{task_event::confirm,             "confirmed",           detail::O::worker,   detail::F::child,  "",                false},
};
// clang-format on

static_assert(
    [] {
      if (event_rules.size() != task_event_count) return false;
      for (std::size_t i = 0; i < event_rules.size(); ++i) {
        if (static_cast<std::size_t>(event_rules[i].event) != i) return false;
        if ((event_rules[i].origin == event_origin::command) == event_rules[i].action.empty()) {
          return false;
        }
        if (event_rules[i].awaits_worker && event_rules[i].origin == event_origin::worker) {
          return false;
        }
      }
      return true;
    }(),
    "event_rules lists every event once, in the enum's order; commands, and only they, offer "
    "an action; no worker event awaits a worker");

/// True for a value the enum declares (a cast from an integer may produce others).
constexpr bool is_valid(task_event e) noexcept {
  return static_cast<std::size_t>(e) < task_event_count;
}

/// The rule of a declared event.
constexpr const event_rule& rule_of(task_event e) noexcept {
  return event_rules[static_cast<std::size_t>(e)];
}

/// Returns the event's name, e.g. "full_transfer_done".
constexpr std::string_view to_string(task_event e) noexcept {
  return is_valid(e) ? rule_of(e).name : std::string_view("unknown");
}

/// Parses an event name.
constexpr std::optional<task_event> parse_task_event(std::string_view text) noexcept {
  for (const event_rule& r : event_rules) {
    if (r.name == text) return r.event;
  }
  return std::nullopt;
}

/// Returns "command", "worker" or "schedule".
constexpr std::string_view to_string(event_origin o) noexcept {
  constexpr std::array<std::string_view, 3> names{"command", "worker", "schedule"};
  return detail::name_of(names, o);
}

/// Returns "child" or "family".
constexpr std::string_view to_string(family_scope s) noexcept {
  constexpr std::array<std::string_view, 2> names{"child", "family"};
  return detail::name_of(names, s);
}

/// True for the events a worker reports.
constexpr bool is_worker_event(task_event e) noexcept {
  return is_valid(e) && rule_of(e).origin == event_origin::worker;
}

/// True for the user's commands.
constexpr bool is_command(task_event e) noexcept {
  return is_valid(e) && rule_of(e).origin == event_origin::command;
}

/// True for the events a task awaits a worker's confirmation of.
constexpr bool awaits_worker(task_event e) noexcept {
  return is_valid(e) && rule_of(e).awaits_worker;
}

/// The DRS action a task shows as its `current_action` while it awaits `e`: the schedule's
/// start shows as the START it carries out.
constexpr std::string_view awaited_action(task_event e) noexcept {
  if (e == task_event::start_due) return rule_of(task_event::start).action;
  return is_valid(e) ? rule_of(e).action : std::string_view();
}

/// The distinct DRS actions the commands offer, in the order of event_rules.
inline constexpr auto drs_actions = [] {
  constexpr std::size_t n = [] {
    std::size_t count = 0;
    for (std::size_t i = 0; i < event_rules.size(); ++i) {
      bool seen = event_rules[i].action.empty();
      for (std::size_t j = 0; j < i && !seen; ++j)
        seen = event_rules[j].action == event_rules[i].action;
      if (!seen) ++count;
    }
    return count;
  }();
  std::array<std::string_view, n> out{};
  std::size_t k = 0;
  for (const event_rule& r : event_rules) {
    if (r.action.empty() || std::find(out.begin(), out.begin() + k, r.action) != out.begin() + k) {
      continue;
    }
    out[k++] = r.action;
  }
  return out;
}();

}  // namespace taskorch

template <>
struct fmt::formatter<taskorch::task_event>
    : taskorch::detail::enum_formatter<taskorch::task_event> {};
