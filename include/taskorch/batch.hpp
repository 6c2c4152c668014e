#pragma once
// batch: the items and per-item results of batch commands and queries.
//
// A batch is validated as a whole before anything is applied (not empty, no duplicate id,
// at most engine_options::max_batch_items items); then every item succeeds or fails on its
// own, under its shard's gate, and the results come back one per item, in request order.

#include <taskorch/error.hpp>
#include <taskorch/job_id.hpp>
#include <taskorch/pause_mode.hpp>
#include <taskorch/task_event.hpp>
#include <taskorch/task_snapshot.hpp>
#include <taskorch/task_state.hpp>
#include <taskorch/wall_time.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace taskorch {

/// One item of a batch pause: a job and the requested mode.
struct pause_item {
  job_id id;
  pause_mode mode = pause_mode::target;
};

/// One item of a batch start (DRS batch-starting): a job and when to start it.
struct start_item {
  job_id id;
  std::optional<wall_time> start_time;  ///< absent, or not in the future: start now
};

/// What a batch delete (DRS batch-jobs, `delete_type`) does to a task.
enum class delete_type : std::uint8_t {
  terminate,        ///< release its resources: RELEASE_RESOURCE_STARTED until the worker is done
  force_terminate,  ///< released at once: RELEASE_RESOURCE_COMPLETE
  remove,           ///< delete a stopped or never-started task: DELETED ("delete" on the wire)
};

namespace detail {
inline constexpr std::array<std::string_view, 3> delete_type_names{"terminate", "force_terminate",
                                                                   "delete"};
}  // namespace detail

/// Returns the DRS `delete_type`: "terminate", "force_terminate" or "delete".
constexpr std::string_view to_string(delete_type t) noexcept {
  return detail::name_of(detail::delete_type_names, t);
}

/// Parses a DRS `delete_type` (exact, lowercase).
constexpr std::optional<delete_type> parse_delete_type(std::string_view text) noexcept {
  return detail::enum_from_name<delete_type>(detail::delete_type_names, text);
}

/// True for a value the enum declares.
constexpr bool is_valid(delete_type t) noexcept {
  return static_cast<std::size_t>(t) < detail::delete_type_names.size();
}

/// The lifecycle event each delete type applies, in the enum's order.
inline constexpr std::array<task_event, 3> delete_type_events{
    task_event::stop, task_event::force_stop, task_event::remove};

/// Returns the event `t` applies: stop, force_stop or remove.
constexpr task_event event_of(delete_type t) noexcept {
  return delete_type_events[static_cast<std::size_t>(t)];
}

/// One item of a batch delete: a job and what to do to it.
struct delete_item {
  job_id id;
  delete_type type = delete_type::terminate;
};

/// One worker event for one job.
struct event_item {
  job_id id;
  task_event event = task_event::start_succeeded;
};

/// What a worker says of one task's transfer (DRS batch-progress shows it).
struct transfer_figures {
  std::uint8_t progress = 0;                      ///< percent done, 0..100
  std::chrono::milliseconds incre_trans_delay{};  ///< how far the target lags the source
  friend bool operator==(const transfer_figures&, const transfer_figures&) = default;
};

/// One item of a worker's report (DRS-style batch-report): a worker event, the transfer's
/// figures, or both (the event first). Either one makes it the task's latest report.
struct report_item {
  job_id id;
  std::optional<task_event> event;          ///< a worker event (is_worker_event)
  std::optional<transfer_figures> figures;  ///< progress and delay
  /// With the event confirm: the command carried out (empty: whichever the task awaits).
  std::optional<task_event> confirms;
  /// With the event confirm: the task's version after the change that asked for it (the
  /// feed event's); empty: whichever change it was.
  std::optional<std::uint64_t> confirms_version;
};

/// The outcome of one item: `error` is empty on success.
struct item_result {
  job_id id;
  error_code error;
  bool ok() const noexcept { return !error; }
};

/// Per-item outcomes, in request order.
using batch_result = std::vector<item_result>;

/// The answer for one id of a status query: `state` is meaningful only when `error` is empty.
struct status_result {
  job_id id;
  error_code error;
  task_state state = task_state::configuration;
};

/// The answer for one id of a detail query: `task`, and for a dual-active parent its
/// `children` (forward, then backward), are meaningful only when `error` is empty.
struct detail_result {
  job_id id;
  error_code error;
  task_snapshot task;
  std::vector<task_snapshot> children;
};

/// A command that awaits a worker's confirmation.
struct awaited_command {
  task_event command = task_event::pause;
  wall_time since{};
};

/// The answer for one id of a progress query: meaningful only when `error` is empty. A
/// task no worker has reported on since the engine started has no figures and no time.
struct progress_result {
  job_id id;
  error_code error;
  task_state state = task_state::configuration;  ///< a parent's aggregate
  std::optional<transfer_figures> figures;
  std::optional<wall_time> reported_at;  ///< the worker's latest report
  /// The command a worker has yet to confirm, and since when (a parent: its forward
  /// child's, else its backward child's).
  std::optional<awaited_command> awaiting;
};

/// Counts of tasks by state, dual-active parents counted by their aggregate state.
struct state_counts {
  std::array<std::size_t, task_state_count> tasks{};
  std::size_t families = 0;
  std::size_t awaiting = 0;  ///< tasks awaiting a worker's confirmation of a command
  /// The earliest time one of them has awaited since (when `awaiting` is not 0).
  std::optional<wall_time> awaiting_since;
  std::size_t total() const noexcept {
    std::size_t n = 0;
    for (std::size_t c : tasks) n += c;
    return n;
  }
  std::size_t operator[](task_state s) const noexcept { return tasks[static_cast<std::size_t>(s)]; }
  /// Adds the counts of another registry (several engines counted as one).
  state_counts& operator+=(const state_counts& other) noexcept {
    for (std::size_t i = 0; i < tasks.size(); ++i) tasks[i] += other.tasks[i];
    families += other.families;
    awaiting += other.awaiting;
    if (other.awaiting_since && (!awaiting_since || *other.awaiting_since < *awaiting_since)) {
      awaiting_since = other.awaiting_since;
    }
    return *this;
  }
};

}  // namespace taskorch
