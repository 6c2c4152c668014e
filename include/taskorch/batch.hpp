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
#include <taskorch/task_state.hpp>

#include <array>
#include <cstddef>
#include <vector>

namespace taskorch {

/// One item of a batch pause: a job and the requested mode.
struct pause_item {
  job_id id;
  pause_mode mode = pause_mode::target;
};

/// One worker event for one job.
struct event_item {
  job_id id;
  task_event event = task_event::start;
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

/// Counts of tasks by state, dual-active parents counted by their aggregate state.
struct state_counts {
  std::array<std::size_t, task_state_count> tasks{};
  std::size_t families = 0;
  std::size_t total() const noexcept {
    std::size_t n = 0;
    for (std::size_t c : tasks) n += c;
    return n;
  }
  std::size_t operator[](task_state s) const noexcept { return tasks[static_cast<std::size_t>(s)]; }
};

}  // namespace taskorch
