#pragma once
// transition_table: the lifecycle as data. One constexpr table, one row per
// `from + event [guards] / action = to` (the way Boost.SML writes a row), is the single source
// of truth for the engine, for the benchmark's workload, for the exhaustive tests and for
// docs/state-machine.md (generated from these tables by taskorch-state-doc).
//
//   taskorch::next_state(task_state::incremental_transfer, task_event::pause)
//       == task_state::paused
//   taskorch::apply_event(task, task_role::standalone, task_event::pause,
//                         {.mode = pause_mode::all});
//
// A missing row means the event is not allowed in that state (errc::invalid_state).
// Resuming a paused task goes to a history target: the state the task was paused from,
// resumed (so a task paused from a transfer-failed state is retried). The guards read task
// data rather than the state (a dual-active DR parent refuses the events of its children,
// a child the events of its whole family, see event_rules); they are rows too, checked in
// order before the table. docs/behaviour.md states the rules in words.

#include <taskorch/error.hpp>
#include <taskorch/pause_mode.hpp>
#include <taskorch/task_event.hpp>
#include <taskorch/task_snapshot.hpp>
#include <taskorch/task_state.hpp>
#include <taskorch/wall_time.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace taskorch {

/// Where a transition goes: a fixed state, or the history of a paused task.
struct transition_target {
  task_state state;  ///< the destination, unless `history`
  bool history;      ///< go back to the remembered state, resumed
  friend constexpr bool operator==(const transition_target&, const transition_target&) = default;
};

/// Returns a fixed target `s`.
constexpr transition_target to(task_state s) noexcept { return {s, false}; }

/// The history target: the state a paused task was paused from, resumed.
inline constexpr transition_target resume_history{task_state::paused, true};

/// What a row does to the task besides setting its state (Boost.SML's `/ action`).
enum class transition_action : std::uint8_t {
  none,            ///< only the state changes; a row back to its source changes nothing
  enter_pause,     ///< remember the state left and the requested pause mode
  raise_pause,     ///< paused again: keep the stronger mode; a change only when it rises
  leave_pause,     ///< forget the pause mode and the state the task was paused from
  set_schedule,    ///< remember the requested start time; a change only when it differs
  clear_schedule,  ///< forget the start time
  fire_schedule,   ///< the start time has come (refused before it): forget it
};

/// The number of transition actions.
inline constexpr std::size_t transition_action_count = 7;

namespace detail {
inline constexpr std::array<std::string_view, transition_action_count> transition_action_names{
    "none",         "enter_pause",    "raise_pause",  "leave_pause",
    "set_schedule", "clear_schedule", "fire_schedule"};
}  // namespace detail

/// Returns the action's name in code, e.g. "enter_pause".
constexpr std::string_view to_string(transition_action a) noexcept {
  return detail::name_of(detail::transition_action_names, a);
}

/// What each action does, in words (docs/state-machine.md shows these).
inline constexpr std::array<std::string_view, transition_action_count> transition_action_rules{
    "the state changes; a row that leads back to its source changes nothing (no new version, "
    "no notification)",
    "the task remembers the state it was paused from and the requested mode",
    "the modes are ordered `target` < `all`: pausing again with `all` raises a `target` pause "
    "(a change: the version grows and subscribers see paused -> paused); the same mode, or "
    "`target` after `all`, succeeds and changes nothing",
    "the task forgets its pause mode and the state it was paused from",
    "the task remembers the requested start time; scheduling a waiting task again with another "
    "time is a change (waiting -> waiting), with the same time it changes nothing",
    "the task forgets its start time",
    "refused (`invalid_state`) while the task's start time is still ahead of the time the "
    "schedule fired at (the task was rescheduled); otherwise the task forgets its start time"};

/// One row of the table: `from + on / action = to`.
struct transition {
  task_state from{};
  task_event on{};
  transition_target to{};
  transition_action action = transition_action::none;
};

namespace detail {
using S = task_state;
using E = task_event;
using A = transition_action;
}  // namespace detail

// clang-format off
/// The lifecycle. Rows are grouped by source state; rows without an action change only the
/// state.
inline constexpr std::array transition_table{
  transition{detail::S::configuration,           detail::E::start,               to(detail::S::starting)},
  transition{detail::S::configuration,           detail::E::schedule_start,      to(detail::S::waiting_for_start), detail::A::set_schedule},
  transition{detail::S::configuration,           detail::E::stop,                to(detail::S::stopping)},
  transition{detail::S::configuration,           detail::E::force_stop,          to(detail::S::stopped)},
  transition{detail::S::configuration,           detail::E::remove,              to(detail::S::deleted)},
  transition{detail::S::waiting_for_start,       detail::E::start,               to(detail::S::starting), detail::A::clear_schedule},
  transition{detail::S::waiting_for_start,       detail::E::schedule_start,      to(detail::S::waiting_for_start), detail::A::set_schedule},
  transition{detail::S::waiting_for_start,       detail::E::start_due,           to(detail::S::starting), detail::A::fire_schedule},
  transition{detail::S::waiting_for_start,       detail::E::stop,                to(detail::S::stopping), detail::A::clear_schedule},
  transition{detail::S::waiting_for_start,       detail::E::force_stop,          to(detail::S::stopped), detail::A::clear_schedule},
  transition{detail::S::waiting_for_start,       detail::E::remove,              to(detail::S::deleted), detail::A::clear_schedule},
  transition{detail::S::starting,                detail::E::start_succeeded,     to(detail::S::full_transfer)},
  transition{detail::S::starting,                detail::E::start_failed,        to(detail::S::start_failed)},
  transition{detail::S::starting,                detail::E::force_stop,          to(detail::S::stopped)},
  transition{detail::S::start_failed,            detail::E::resume,              to(detail::S::starting)},
  transition{detail::S::start_failed,            detail::E::stop,                to(detail::S::stopping)},
  transition{detail::S::start_failed,            detail::E::force_stop,          to(detail::S::stopped)},
  transition{detail::S::full_transfer,           detail::E::full_transfer_done,  to(detail::S::full_transfer_complete)},
  transition{detail::S::full_transfer,           detail::E::transfer_failed,     to(detail::S::full_transfer_failed)},
  transition{detail::S::full_transfer,           detail::E::pause,               to(detail::S::paused), detail::A::enter_pause},
  transition{detail::S::full_transfer,           detail::E::resume,              to(detail::S::full_transfer)},
  transition{detail::S::full_transfer,           detail::E::stop,                to(detail::S::stopping)},
  transition{detail::S::full_transfer,           detail::E::force_stop,          to(detail::S::stopped)},
  transition{detail::S::full_transfer_complete,  detail::E::incremental_started, to(detail::S::incremental_transfer)},
  transition{detail::S::full_transfer_complete,  detail::E::pause,               to(detail::S::paused), detail::A::enter_pause},
  transition{detail::S::full_transfer_complete,  detail::E::resume,              to(detail::S::full_transfer_complete)},
  transition{detail::S::full_transfer_complete,  detail::E::stop,                to(detail::S::stopping)},
  transition{detail::S::full_transfer_complete,  detail::E::force_stop,          to(detail::S::stopped)},
  transition{detail::S::incremental_transfer,    detail::E::transfer_failed,     to(detail::S::incremental_transfer_failed)},
  transition{detail::S::incremental_transfer,    detail::E::pause,               to(detail::S::paused), detail::A::enter_pause},
  transition{detail::S::incremental_transfer,    detail::E::resume,              to(detail::S::incremental_transfer)},
  transition{detail::S::incremental_transfer,    detail::E::stop,                to(detail::S::stopping)},
  transition{detail::S::incremental_transfer,    detail::E::force_stop,          to(detail::S::stopped)},
  transition{detail::S::full_transfer_failed,    detail::E::pause,               to(detail::S::paused), detail::A::enter_pause},
  transition{detail::S::full_transfer_failed,    detail::E::resume,              to(detail::S::full_transfer)},
  transition{detail::S::full_transfer_failed,    detail::E::stop,                to(detail::S::stopping)},
  transition{detail::S::full_transfer_failed,    detail::E::force_stop,          to(detail::S::stopped)},
  transition{detail::S::incremental_transfer_failed, detail::E::pause,               to(detail::S::paused), detail::A::enter_pause},
  transition{detail::S::incremental_transfer_failed, detail::E::resume,              to(detail::S::incremental_transfer)},
  transition{detail::S::incremental_transfer_failed, detail::E::stop,                to(detail::S::stopping)},
  transition{detail::S::incremental_transfer_failed, detail::E::force_stop,          to(detail::S::stopped)},
  transition{detail::S::paused,                  detail::E::pause,               to(detail::S::paused), detail::A::raise_pause},
  transition{detail::S::paused,                  detail::E::resume,              resume_history, detail::A::leave_pause},
  transition{detail::S::paused,                  detail::E::stop,                to(detail::S::stopping), detail::A::leave_pause},
  transition{detail::S::paused,                  detail::E::force_stop,          to(detail::S::stopped), detail::A::leave_pause},
  transition{detail::S::stopping,                detail::E::stopped,             to(detail::S::stopped)},
  transition{detail::S::stopping,                detail::E::force_stop,          to(detail::S::stopped)},
  transition{detail::S::stopped,                 detail::E::remove,              to(detail::S::deleted)},
};
// clang-format on

/// True when no two rows share `from` and `on`.
constexpr bool is_deterministic(std::span<const transition> rows) noexcept {
  for (std::size_t i = 0; i < rows.size(); ++i) {
    for (std::size_t j = i + 1; j < rows.size(); ++j) {
      if (rows[i].from == rows[j].from && rows[i].on == rows[j].on) return false;
    }
  }
  return true;
}
static_assert(is_deterministic(transition_table));

/// Returns the row for `from + on`, or nullptr when the event is not allowed there.
constexpr const transition* find_transition(task_state from, task_event on) noexcept {
  for (const auto& row : transition_table) {
    if (row.from == from && row.on == on) return &row;
  }
  return nullptr;
}

namespace detail {

/// One cell of the lookup matrix: the row's target, when a row exists.
struct transition_cell {
  transition_target to{task_state::configuration, false};
  transition_action action = transition_action::none;
  bool allowed = false;
};

/// The table compiled into a state x event matrix, so that the hot path is one lookup.
/// Built with plain loops: comparing pointers with nullptr is not a constant expression for
/// g++ under -fsanitize=undefined, and the static_asserts need one.
inline constexpr auto transition_matrix = [] {
  std::array<std::array<transition_cell, task_event_count>, task_state_count> m{};
  for (const auto& row : transition_table) {
    m[static_cast<std::size_t>(row.from)][static_cast<std::size_t>(row.on)] = {row.to, row.action,
                                                                               true};
  }
  return m;
}();

/// True when both values are ones the enums declare (anything else has no row).
constexpr bool in_range(task_state from, task_event on) noexcept {
  return static_cast<std::size_t>(from) < task_state_count &&
         static_cast<std::size_t>(on) < task_event_count;
}

constexpr std::optional<task_state> fixed_target(task_state from, task_event on) noexcept {
  if (!in_range(from, on)) return std::nullopt;
  const transition_cell& c =
      transition_matrix[static_cast<std::size_t>(from)][static_cast<std::size_t>(on)];
  if (!c.allowed || c.to.history) return std::nullopt;
  return c.to.state;
}

}  // namespace detail

/// Returns the state `from + on` leads to, or an empty optional when the event is not
/// allowed. For `paused + resume`, `paused_from` is the state the task was paused from.
constexpr std::optional<task_state> next_state(
    task_state from, task_event on, task_state paused_from = task_state::paused) noexcept {
  if (!detail::in_range(from, on)) return std::nullopt;
  const detail::transition_cell& c =
      detail::transition_matrix[static_cast<std::size_t>(from)][static_cast<std::size_t>(on)];
  if (!c.allowed) return std::nullopt;
  if (!c.to.history) return c.to.state;
  if (!is_pausable(paused_from)) return std::nullopt;
  return detail::fixed_target(paused_from, task_event::resume);
}

namespace detail {
/// The action a row must carry: the pause actions on rows that enter, stay in or leave
/// `paused`, the schedule actions on rows that enter, stay in or leave `waiting_for_start`
/// (the schedule's own event fires it), and no other row carries one.
constexpr transition_action expected_action(const transition& row) noexcept {
  const bool into_pause = row.to.state == task_state::paused && !row.to.history;
  const bool into_wait = row.to.state == task_state::waiting_for_start && !row.to.history;
  if (row.from == task_state::paused) {
    return into_pause ? transition_action::raise_pause : transition_action::leave_pause;
  }
  if (row.from == task_state::waiting_for_start) {
    if (into_wait) return transition_action::set_schedule;
    return row.on == task_event::start_due ? transition_action::fire_schedule
                                           : transition_action::clear_schedule;
  }
  if (into_pause) return transition_action::enter_pause;
  if (into_wait) return transition_action::set_schedule;
  return transition_action::none;
}
}  // namespace detail

static_assert(std::all_of(transition_table.begin(), transition_table.end(),
                          [](const transition& row) {
                            return row.action == detail::expected_action(row);
                          }),
              "each row carries the action its source and target call for");

/// The history target must lead somewhere from every pausable state.
static_assert(std::all_of(all_task_states.begin(), all_task_states.end(), [](task_state s) {
  return !is_pausable(s) || next_state(task_state::paused, task_event::resume, s).has_value();
}));

/// A rule checked on the task before the table, whatever the event (Boost.SML's `[guard]`,
/// shared by every row).
enum class task_guard : std::uint8_t {
  child_scope,   ///< an event for a family's children is not sent to their parent
  family_scope,  ///< an event for a whole family is not sent to one of its children
  not_deleted,   ///< the task is not deleted
};

namespace detail {
inline constexpr std::array<std::string_view, 3> task_guard_names{"child_scope", "family_scope",
                                                                  "not_deleted"};
}  // namespace detail

/// Returns the guard's name in code, e.g. "child_scope".
constexpr std::string_view to_string(task_guard g) noexcept {
  return detail::name_of(detail::task_guard_names, g);
}

/// One guard: what it requires, the error when it does not hold, and the rule in words.
struct guard_rule {
  task_guard guard;
  errc refusal;
  std::string_view rule;
};

/// The guards, in the order they are checked (after the task is found in its project).
inline constexpr std::array lifecycle_guards{
    guard_rule{task_guard::child_scope, errc::parent_task_forbidden,
               "the parent of a dual-active DR family has no state of its own: it refuses every "
               "event of `child` scope (start, pause, resume, worker reports), whatever its "
               "children's states; its forward and backward children take them one by one"},
    guard_rule{task_guard::family_scope, errc::child_task_forbidden,
               "an event of `family` scope (terminate, force terminate, delete) is sent to the "
               "parent of a dual-active DR family, which applies it to both children at one "
               "instant: when both allow it, else neither changes; a child refuses it"},
    guard_rule{task_guard::not_deleted, errc::task_deleted,
               "a deleted task refuses every event, rather than answering that the event is not "
               "allowed, until it is purged; then it is unknown"},
};

/// The error of an event that no row allows.
inline constexpr errc no_row_refusal = errc::invalid_state;

/// What applying one event to one task did: `refusal` is errc{} (zero) on success.
struct step_outcome {
  errc refusal{};
  bool changed = false;  ///< the task's state, pause or schedule changed (its version grows)
};

/// What an event carries besides its name.
struct event_arguments {
  pause_mode mode = pause_mode::target;  ///< for a pause: the requested mode
  wall_time at{};  ///< for schedule_start: the start time; for start_due: when it fired
  /// For confirm: the command the worker carried out (empty: whichever the task awaits).
  std::optional<task_event> confirms;
  wall_time now{};  ///< when the event happens: the time of the change it makes
};

/// True when the guards let `on` reach a task addressed as `addressed` (the role of the task
/// the caller named: a family's children, reached through their parent for an event of
/// `family` scope, are addressed as the parent). Returns the refusal, or errc{}.
constexpr errc guard_refusal(task_role addressed, task_event on, task_state state) noexcept {
  const bool family_event = is_valid(on) && rule_of(on).scope == family_scope::family;
  const bool child =
      addressed == task_role::forward_child || addressed == task_role::backward_child;
  for (const guard_rule& g : lifecycle_guards) {
    bool holds = true;
    switch (g.guard) {
      case task_guard::child_scope:
        holds = addressed != task_role::parent || family_event;
        break;
      case task_guard::family_scope:
        holds = !child || !family_event;
        break;
      case task_guard::not_deleted:
        holds = state != task_state::deleted;
        break;
    }
    if (!holds) return g.refusal;
  }
  return errc{};
}

namespace detail {
/// The row of `task.state + on` and its action (apply_event, after the guards).
template <class Task>
constexpr step_outcome apply_row(Task& task, task_event on, const event_arguments& args) noexcept {
  if (!in_range(task.state, on)) return {no_row_refusal, false};
  const transition_cell& cell =
      transition_matrix[static_cast<std::size_t>(task.state)][static_cast<std::size_t>(on)];
  if (!cell.allowed) return {no_row_refusal, false};
  const std::optional<task_state> to = next_state(task.state, on, task.paused_from);
  if (!to) return {no_row_refusal, false};
  switch (cell.action) {
    case transition_action::none:
      if (*to == task.state) return {};
      break;
    case transition_action::enter_pause:
      task.paused_from = task.state;
      task.mode = args.mode;
      break;
    case transition_action::raise_pause:
      if (merged(task.mode, args.mode) == task.mode) return {};
      task.mode = merged(task.mode, args.mode);
      break;
    case transition_action::leave_pause:
      task.mode = pause_mode::target;
      task.paused_from = task_state::paused;
      break;
    case transition_action::set_schedule:
      if (task.state == *to && task.start_time == args.at) return {};
      task.start_time = args.at;
      break;
    case transition_action::fire_schedule:
      if (task.start_time > args.at) return {no_row_refusal, false};
      task.start_time = wall_time{};
      break;
    case transition_action::clear_schedule:
      task.start_time = wall_time{};
      break;
  }
  task.state = *to;
  return {errc{}, true};
}

}  // namespace detail

/// Applies `on` (with `args`) to `task`: the guards in order, then the row, then the row's
/// action; a change leaves the task awaiting a worker's confirmation of `on` when `on`
/// awaits one (event_rules), and awaiting nothing otherwise. A worker's `confirm` has no row:
/// it is taken while the task awaits a command (the one it names, when it names one), and
/// only ends the wait. `Task` has the members `state`, `mode`, `paused_from`, `start_time`
/// and `awaiting` (a copy of an engine record, or any model); `addressed` is the role of the
/// task the caller named (see guard_refusal). Nothing changes when the event is refused.
template <class Task>
constexpr step_outcome apply_event(Task& task, task_role addressed, task_event on,
                                   const event_arguments& args) noexcept {
  if (const errc refused = guard_refusal(addressed, on, task.state); refused != errc{}) {
    return {refused, false};
  }
  if (on == task_event::confirm) {
    if (!task.awaiting || (args.confirms && *args.confirms != *task.awaiting)) {
      return {no_row_refusal, false};
    }
    task.awaiting.reset();
    return {errc{}, true};
  }
  const step_outcome moved = detail::apply_row(task, on, args);
  if (moved.changed) {
    task.awaiting.reset();
    if (awaits_worker(on)) task.awaiting = on;
  }
  return moved;
}
}  // namespace taskorch
