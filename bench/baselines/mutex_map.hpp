#pragma once
// mutex_map: what a user would write first. An std::unordered_map keyed by the id's text,
// guarded by one std::mutex that is taken once per batch.

#include "workload.hpp"

#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace taskorch::bench {

class mutex_map {
 public:
  explicit mutex_map(const fleet& f) {
    tasks_.reserve(f.tasks.size());
    for (const fleet_task& t : f.tasks) tasks_.emplace(t.text, t.cell);
  }

  batch_result command(batch_view batch, task_event event, pause_mode mode) {
    batch_result results;
    results.reserve(batch.size());
    const std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const auto it = tasks_.find(batch.texts[i]);
      const error_code error =
          it == tasks_.end() ? error_code(errc::task_not_found) : step(it->second, event, mode);
      results.push_back({batch.ids[i], error});
    }
    return results;
  }

  std::vector<status_result> status(batch_view batch) {
    std::vector<status_result> results;
    results.reserve(batch.size());
    const std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const auto it = tasks_.find(batch.texts[i]);
      if (it == tasks_.end()) {
        results.push_back({batch.ids[i], errc::task_not_found});
      } else {
        results.push_back({batch.ids[i], {}, it->second.state});
      }
    }
    return results;
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, task_cell> tasks_;
};

}  // namespace taskorch::bench
