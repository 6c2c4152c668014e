#pragma once
// task_snapshot: one task as a query sees it at one instant.
//
// A dual-active DR parent has no state of its own; its snapshot reports the aggregate of
// its children: a child's failed status if one has failed (the forward child's when both
// have), else paused when both children are paused, else the forward child's state.

#include <taskorch/job_id.hpp>
#include <taskorch/project_id.hpp>
#include <taskorch/task_kind.hpp>
#include <taskorch/task_spec.hpp>
#include <taskorch/task_state.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace taskorch {

/// A task's place in a dual-active DR family.
enum class task_role : std::uint8_t { standalone, parent, forward_child, backward_child };

/// Returns "standalone", "parent", "forward_child" or "backward_child".
constexpr std::string_view to_string(task_role r) noexcept {
  constexpr std::array<std::string_view, 4> names{"standalone", "parent", "forward_child",
                                                  "backward_child"};
  return detail::name_of(names, r);
}

/// Returns the aggregate state of a dual-active parent whose children are in these states.
constexpr task_state parent_state(task_state forward, task_state backward) noexcept {
  if (is_failed(forward)) return forward;
  if (is_failed(backward)) return backward;
  if (forward == task_state::paused && backward == task_state::paused) return task_state::paused;
  return forward;
}

/// A consistent copy of one task.
struct task_snapshot {
  job_id id;
  project_id project;
  std::string name;
  task_kind kind = task_kind::migration;
  task_role role = task_role::standalone;
  task_state state = task_state::configuration;  ///< the aggregate, for a parent
  std::optional<pause_info> pause;               ///< when paused (never on a parent)
  std::optional<wall_time> start_time;           ///< when waiting for a scheduled start
  std::optional<job_id> parent;                  ///< for a child: its parent
  std::optional<job_id> forward_child;           ///< for a parent
  std::optional<job_id> backward_child;          ///< for a parent
  std::uint64_t version = 0;  ///< sequence number of the last change (the parent's: 0)
  wall_time created_at{};     ///< when it was created (0: not known)
  wall_time changed_at{};     ///< when it last changed (a parent: a child; 0: not since created)
  /// The command a worker has yet to confirm (never on a parent: see its children).
  std::optional<task_event> awaiting;
  friend bool operator==(const task_snapshot&, const task_snapshot&) = default;
};

}  // namespace taskorch
