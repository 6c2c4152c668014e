#pragma once
// task_spec, family_spec: everything needed to register a task, or a dual-active DR family,
// in a given state. The engine's snapshot export is a list of these, so registering an
// export rebuilds the same registry.
//
//   taskorch::task_spec t{.id = taskorch::job_id::mint(), .project = project,
//                         .kind = taskorch::task_kind::sync,
//                         .state = taskorch::task_state::incremental_transfer};

#include <taskorch/job_id.hpp>
#include <taskorch/pause_mode.hpp>
#include <taskorch/project_id.hpp>
#include <taskorch/task_event.hpp>
#include <taskorch/task_kind.hpp>
#include <taskorch/task_state.hpp>
#include <taskorch/wall_time.hpp>

#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <variant>

namespace taskorch {

/// What a paused task remembers: its mode and the state it was paused from.
struct pause_info {
  pause_mode mode = pause_mode::target;
  task_state from = task_state::full_transfer;  ///< a pausable state
  friend bool operator==(const pause_info&, const pause_info&) = default;
};

/// A standalone task (not part of a dual-active family).
struct task_spec {
  job_id id;
  project_id project;
  task_kind kind = task_kind::migration;
  task_state state = task_state::configuration;
  std::optional<pause_info> pause;      ///< present exactly when `state` is paused
  std::optional<wall_time> start_time;  ///< present exactly when `state` is waiting_for_start
  std::string name;                     ///< optional display name
  std::uint64_t version = 0;            ///< sequence number of the task's last change
  wall_time created_at{};               ///< when it was created (0: not known)
  wall_time changed_at{};               ///< when it last changed (0: not since created)
  std::optional<task_event> awaiting;   ///< the command awaiting a worker (awaits_worker())
  friend bool operator==(const task_spec&, const task_spec&) = default;
};

/// One child of a dual-active DR family.
struct child_spec {
  job_id id;
  task_state state = task_state::configuration;
  std::optional<pause_info> pause;      ///< present exactly when `state` is paused
  std::optional<wall_time> start_time;  ///< present exactly when `state` is waiting_for_start
  std::uint64_t version = 0;
  wall_time changed_at{};              ///< when it last changed (0: not since created)
  std::optional<task_event> awaiting;  ///< the command awaiting a worker (awaits_worker())
  friend bool operator==(const child_spec&, const child_spec&) = default;
};

/// A dual-active DR family (`db_use_type` cloudDataGuard, `multi_write` true): a parent
/// without a state of its own, a forward child (active 1 to active 2) and a backward child.
/// All three live on one shard, so commands on them are serialized together.
struct family_spec {
  job_id id;  ///< the parent's id
  project_id project;
  std::string name;
  child_spec forward;
  child_spec backward;
  wall_time created_at{};  ///< when it was created (0: not known)
  friend bool operator==(const family_spec&, const family_spec&) = default;
};

/// One registration: a task or a family.
using registration = std::variant<task_spec, family_spec>;

/// Returns the id a registration is known by (the parent's, for a family).
inline const job_id& id_of(const registration& r) noexcept {
  // Not std::visit, which throws for a variant left valueless by a failed assignment.
  if (const auto* task = std::get_if<task_spec>(&r)) return task->id;
  if (const auto* family = std::get_if<family_spec>(&r)) return family->id;
  std::terminate();  // valueless: what the exception would have done, escaping here
}

}  // namespace taskorch
