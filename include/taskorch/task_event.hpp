#pragma once
// task_event: what moves a task along its lifecycle. Worker events are reported by the
// embedding service (its workers start, transfer, fail and release tasks); `pause` and
// `resume` are the user's commands (DRS batch-pause-task and batch-retry-task).

#include <taskorch/detail/enum_names.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace taskorch {

/// An event applied to one task.
enum class task_event : std::uint8_t {
  start,                ///< worker: start the task
  start_succeeded,      ///< worker: the task started; full transfer begins
  start_failed,         ///< worker: the task failed to start
  full_transfer_done,   ///< worker: the full phase completed
  incremental_started,  ///< worker: the incremental phase started
  transfer_failed,      ///< worker: the transfer failed in its current phase
  pause,                ///< user: pause (batch-pause-task)
  resume,               ///< user: resume a paused task, retry a failed one (batch-retry-task)
  stop,                 ///< worker: release the task's resources
  stopped,              ///< worker: resources released
  remove,               ///< worker: delete the task (DRS delete); it stays, DELETED, until purged
};

/// The number of task events.
inline constexpr std::size_t task_event_count = 11;

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
    task_event::remove};

namespace detail {
inline constexpr std::array<std::string_view, task_event_count> task_event_names{
    "start",
    "start_succeeded",
    "start_failed",
    "full_transfer_done",
    "incremental_started",
    "transfer_failed",
    "pause",
    "resume",
    "stop",
    "stopped",
    "remove"};
}  // namespace detail

/// True for a value the enum declares (a cast from an integer may produce others).
constexpr bool is_valid(task_event e) noexcept {
  return static_cast<std::size_t>(e) < task_event_count;
}

/// Returns the event's name, e.g. "full_transfer_done".
constexpr std::string_view to_string(task_event e) noexcept {
  return detail::name_of(detail::task_event_names, e);
}

/// Parses an event name.
constexpr std::optional<task_event> parse_task_event(std::string_view text) noexcept {
  return detail::enum_from_name<task_event>(detail::task_event_names, text);
}

/// True for the events a worker reports (every declared event but `pause` and `resume`).
constexpr bool is_worker_event(task_event e) noexcept {
  return is_valid(e) && e != task_event::pause && e != task_event::resume;
}

}  // namespace taskorch

template <>
struct fmt::formatter<taskorch::task_event>
    : taskorch::detail::enum_formatter<taskorch::task_event> {};
