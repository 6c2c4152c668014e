#pragma once
// demo_fleet: the tasks taskorch-server serves when it is given no fleet or state file.
//
//   eng.register_tasks(taskorch::app::demo_fleet());

#include <taskorch/task_spec.hpp>

#include <vector>

namespace taskorch::app {

/// The built-in demo fleet: project 054ba152d480d55b2f5dc0069e7ddef0 holding the DRS example
/// job 8d0e8e36-a618-490d-8a46-8c61ac9jb502 in FULL_TRANSFER_STARTED, dual-active families, and
/// a few thousand tasks over every status, plus a second project. The same at every start.
std::vector<registration> demo_fleet();

}  // namespace taskorch::app
