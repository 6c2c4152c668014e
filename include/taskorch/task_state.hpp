#pragma once
// task_state: the lifecycle of a task, with the transfer phase folded into the running and
// failed states, and its DRS status string on the wire.
//
//   configuration [-> waiting_for_start] -> starting -> full_transfer
//     -> full_transfer_complete -> incremental_transfer
//   (running: migrating, synchronizing or disaster recovery, by kind), plus start_failed,
//   full/incremental_transfer_failed, paused, stopping, stopped and deleted.
//
//   taskorch::drs_status(taskorch::task_state::paused) == "PAUSING"
//
// The transitions between states are data: see transition_table.hpp.

#include <taskorch/detail/enum_names.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace taskorch {

/// The state of a task. Values are stored in data directories: new states go at the end. A
/// dual-active DR parent has no state of its own: it reports an aggregate of its children (see
/// task_snapshot).
enum class task_state : std::uint8_t {
  configuration,                ///< created, not started: CONFIGURATION
  starting,                     ///< STARTJOBING
  start_failed,                 ///< START_JOB_FAILED
  full_transfer,                ///< running, phase full: FULL_TRANSFER_STARTED
  full_transfer_complete,       ///< running, full phase done: FULL_TRANSFER_COMPLETE
  incremental_transfer,         ///< running, phase incremental: INCRE_TRANSFER_STARTED
  full_transfer_failed,         ///< transfer failed in phase full: FULL_TRANSFER_FAILED
  incremental_transfer_failed,  ///< transfer failed in phase incremental: INCRE_TRANSFER_FAILED
  paused,                       ///< remembers the state it left and its mode: PAUSING
  stopping,                     ///< RELEASE_RESOURCE_STARTED
  stopped,                      ///< RELEASE_RESOURCE_COMPLETE
  deleted,                      ///< kept until purged: DELETED
  waiting_for_start,            ///< a start scheduled for a later time: WAITING_FOR_START
};

/// The number of task states.
inline constexpr std::size_t task_state_count = 13;

/// Every state, in declaration order.
inline constexpr std::array<task_state, task_state_count> all_task_states{
    task_state::configuration,
    task_state::starting,
    task_state::start_failed,
    task_state::full_transfer,
    task_state::full_transfer_complete,
    task_state::incremental_transfer,
    task_state::full_transfer_failed,
    task_state::incremental_transfer_failed,
    task_state::paused,
    task_state::stopping,
    task_state::stopped,
    task_state::deleted,
    task_state::waiting_for_start};

/// The transfer phase of a running or transfer-failed task.
enum class transfer_phase : std::uint8_t { none, full, full_complete, incremental };

namespace detail {
inline constexpr std::array<std::string_view, task_state_count> task_state_names{
    "configuration",
    "starting",
    "start_failed",
    "full_transfer",
    "full_transfer_complete",
    "incremental_transfer",
    "full_transfer_failed",
    "incremental_transfer_failed",
    "paused",
    "stopping",
    "stopped",
    "deleted",
    "waiting_for_start"};
inline constexpr std::array<std::string_view, task_state_count> drs_status_names{
    "CONFIGURATION",
    "STARTJOBING",
    "START_JOB_FAILED",
    "FULL_TRANSFER_STARTED",
    "FULL_TRANSFER_COMPLETE",
    "INCRE_TRANSFER_STARTED",
    "FULL_TRANSFER_FAILED",
    "INCRE_TRANSFER_FAILED",
    "PAUSING",
    "RELEASE_RESOURCE_STARTED",
    "RELEASE_RESOURCE_COMPLETE",
    "DELETED",
    "WAITING_FOR_START"};
inline constexpr std::array<std::string_view, 4> transfer_phase_names{
    "none", "full", "full_complete", "incremental"};
}  // namespace detail

/// True for a value the enum declares (a cast from an integer may produce others).
constexpr bool is_valid(task_state s) noexcept {
  return static_cast<std::size_t>(s) < task_state_count;
}

/// Returns the state's name in code, e.g. "full_transfer".
constexpr std::string_view to_string(task_state s) noexcept {
  return detail::name_of(detail::task_state_names, s);
}

/// Returns the state's DRS status on the wire, e.g. "FULL_TRANSFER_STARTED".
constexpr std::string_view drs_status(task_state s) noexcept {
  return detail::name_of(detail::drs_status_names, s);
}

/// Parses a DRS status string (exact, uppercase).
constexpr std::optional<task_state> parse_drs_status(std::string_view text) noexcept {
  return detail::enum_from_name<task_state>(detail::drs_status_names, text);
}

/// Returns "none", "full", "full_complete" or "incremental".
constexpr std::string_view to_string(transfer_phase p) noexcept {
  return detail::name_of(detail::transfer_phase_names, p);
}

/// True for the running states (migrating, synchronizing or disaster recovery, by kind).
constexpr bool is_running(task_state s) noexcept {
  return s == task_state::full_transfer || s == task_state::full_transfer_complete ||
         s == task_state::incremental_transfer;
}

/// True for the two transfer-failed states.
constexpr bool is_transfer_failed(task_state s) noexcept {
  return s == task_state::full_transfer_failed || s == task_state::incremental_transfer_failed;
}

/// True for the states DRS reports as failed (the parent aggregate reports these first).
constexpr bool is_failed(task_state s) noexcept {
  return s == task_state::start_failed || is_transfer_failed(s);
}

/// True for the states a pause applies to: running in any phase, or transfer failed.
constexpr bool is_pausable(task_state s) noexcept { return is_running(s) || is_transfer_failed(s); }

/// Returns the transfer phase of a running or transfer-failed state, else `none`.
constexpr transfer_phase phase_of(task_state s) noexcept {
  switch (s) {
    case task_state::full_transfer:
    case task_state::full_transfer_failed:
      return transfer_phase::full;
    case task_state::full_transfer_complete:
      return transfer_phase::full_complete;
    case task_state::incremental_transfer:
    case task_state::incremental_transfer_failed:
      return transfer_phase::incremental;
    default:
      return transfer_phase::none;
  }
}

}  // namespace taskorch

template <>
struct fmt::formatter<taskorch::task_state>
    : taskorch::detail::enum_formatter<taskorch::task_state> {};
template <>
struct fmt::formatter<taskorch::transfer_phase>
    : taskorch::detail::enum_formatter<taskorch::transfer_phase> {};
