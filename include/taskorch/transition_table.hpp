#pragma once
// transition_table: the lifecycle as data. One constexpr table, one row per
// `from + event = to`, is the single source of truth for the engine, for the exhaustive
// tests and for docs/state-machine.md (generated from this table by taskorch-state-doc).
//
//   taskorch::next_state(task_state::incremental_transfer, task_event::pause)
//       == task_state::paused
//
// A missing row means the event is not allowed in that state (errc::invalid_state).
// Resuming a paused task goes to a history target: the state the task was paused from,
// resumed (so a task paused from a transfer-failed state is retried). Guards that read
// task data rather than state (a dual-active DR parent refuses every command) live in
// the engine, before the table is consulted.

#include <taskorch/task_event.hpp>
#include <taskorch/task_state.hpp>

#include <array>
#include <cstddef>
#include <optional>
#include <span>

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

/// One row of the table: `from + on = to`.
struct transition {
  task_state from;
  task_event on;
  transition_target to;
};

namespace detail {
using S = task_state;
using E = task_event;
}  // namespace detail

// clang-format off
/// The lifecycle. Rows are grouped by source state.
inline constexpr std::array transition_table{
  transition{detail::S::configuration,               detail::E::start,               to(detail::S::starting)},
  transition{detail::S::configuration,               detail::E::stop,                to(detail::S::stopping)},
  transition{detail::S::starting,                    detail::E::start_succeeded,     to(detail::S::full_transfer)},
  transition{detail::S::starting,                    detail::E::start_failed,        to(detail::S::start_failed)},
  transition{detail::S::start_failed,                detail::E::resume,              to(detail::S::starting)},
  transition{detail::S::start_failed,                detail::E::stop,                to(detail::S::stopping)},
  transition{detail::S::full_transfer,               detail::E::full_transfer_done,  to(detail::S::full_transfer_complete)},
  transition{detail::S::full_transfer,               detail::E::transfer_failed,     to(detail::S::full_transfer_failed)},
  transition{detail::S::full_transfer,               detail::E::pause,               to(detail::S::paused)},
  transition{detail::S::full_transfer,               detail::E::resume,              to(detail::S::full_transfer)},
  transition{detail::S::full_transfer,               detail::E::stop,                to(detail::S::stopping)},
  transition{detail::S::full_transfer_complete,      detail::E::incremental_started, to(detail::S::incremental_transfer)},
  transition{detail::S::full_transfer_complete,      detail::E::pause,               to(detail::S::paused)},
  transition{detail::S::full_transfer_complete,      detail::E::resume,              to(detail::S::full_transfer_complete)},
  transition{detail::S::full_transfer_complete,      detail::E::stop,                to(detail::S::stopping)},
  transition{detail::S::incremental_transfer,        detail::E::transfer_failed,     to(detail::S::incremental_transfer_failed)},
  transition{detail::S::incremental_transfer,        detail::E::pause,               to(detail::S::paused)},
  transition{detail::S::incremental_transfer,        detail::E::resume,              to(detail::S::incremental_transfer)},
  transition{detail::S::incremental_transfer,        detail::E::stop,                to(detail::S::stopping)},
  transition{detail::S::full_transfer_failed,        detail::E::pause,               to(detail::S::paused)},
  transition{detail::S::full_transfer_failed,        detail::E::resume,              to(detail::S::full_transfer)},
  transition{detail::S::full_transfer_failed,        detail::E::stop,                to(detail::S::stopping)},
  transition{detail::S::incremental_transfer_failed, detail::E::pause,               to(detail::S::paused)},
  transition{detail::S::incremental_transfer_failed, detail::E::resume,              to(detail::S::incremental_transfer)},
  transition{detail::S::incremental_transfer_failed, detail::E::stop,                to(detail::S::stopping)},
  transition{detail::S::paused,                      detail::E::pause,               to(detail::S::paused)},
  transition{detail::S::paused,                      detail::E::resume,              resume_history},
  transition{detail::S::paused,                      detail::E::stop,                to(detail::S::stopping)},
  transition{detail::S::stopping,                    detail::E::stopped,             to(detail::S::stopped)},
  transition{detail::S::stopped,                     detail::E::remove,              to(detail::S::deleted)},
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
  bool allowed = false;
};

/// The table compiled into a state x event matrix, so that the hot path is one lookup.
/// Built with plain loops: comparing pointers with nullptr is not a constant expression for
/// g++ under -fsanitize=undefined, and the static_asserts need one.
inline constexpr auto transition_matrix = [] {
  std::array<std::array<transition_cell, task_event_count>, task_state_count> m{};
  for (const auto& row : transition_table) {
    m[static_cast<std::size_t>(row.from)][static_cast<std::size_t>(row.on)] = {row.to, true};
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

/// The history target must lead somewhere from every pausable state.
static_assert([] {
  for (task_state s : all_task_states) {
    if (is_pausable(s) && !next_state(task_state::paused, task_event::resume, s)) return false;
  }
  return true;
}());

}  // namespace taskorch
