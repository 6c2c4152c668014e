#pragma once
// state_change: what a subscriber hears when a task changes.
//
// Changes of one task reach every subscriber in the order they happened, each with the
// event that caused it and the task's sequence number after the change (its version: it
// grows by one with every change). A re-pause that raises the mode from target to all is a
// change (from paused to paused); a command that changes nothing is not reported.

#include <taskorch/job_id.hpp>
#include <taskorch/pause_mode.hpp>
#include <taskorch/project_id.hpp>
#include <taskorch/task_event.hpp>
#include <taskorch/task_state.hpp>

#include <cstdint>
#include <functional>
#include <optional>

namespace taskorch {

/// One change of one task.
struct state_change {
  job_id id;
  project_id project;
  task_state from = task_state::configuration;
  task_state to = task_state::configuration;
  task_event cause = task_event::start;
  std::optional<pause_mode> mode;  ///< the pause mode, when `to` is paused
  std::uint64_t sequence = 0;      ///< the task's version after this change
};

/// The callback type of engine::subscribe(). It runs on the task's strand: keep it short,
/// never block, never throw (an exception escaping it terminates the program).
using change_callback = std::function<void(const state_change&)>;

}  // namespace taskorch
