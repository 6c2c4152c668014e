#pragma once
// shared_mutex_map: the user's next step. The same map keyed by the id's text, under an
// std::shared_mutex taken shared once per batch (the map's shape never changes while the
// benchmark runs); each task's cell packed into one atomic word and changed by a
// compare-exchange loop around step().

#include "workload.hpp"

#include <atomic>
#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace taskorch::bench {

class shared_mutex_map {
 public:
  explicit shared_mutex_map(const fleet& f) {
    tasks_.reserve(f.tasks.size());
    for (const fleet_task& t : f.tasks) tasks_.try_emplace(t.text, pack(t.cell));
  }

  batch_result command(batch_view batch, task_event event, pause_mode mode) {
    batch_result results;
    results.reserve(batch.size());
    const std::shared_lock lock(mutex_);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const auto it = tasks_.find(batch.texts[i]);
      const error_code error =
          it == tasks_.end() ? error_code(errc::task_not_found) : apply(it->second, event, mode);
      results.push_back({batch.ids[i], error});
    }
    return results;
  }

  std::vector<status_result> status(batch_view batch) {
    std::vector<status_result> results;
    results.reserve(batch.size());
    const std::shared_lock lock(mutex_);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const auto it = tasks_.find(batch.texts[i]);
      if (it == tasks_.end()) {
        results.push_back({batch.ids[i], errc::task_not_found});
      } else {
        const task_cell cell = unpack(it->second.load(std::memory_order_acquire));
        results.push_back({batch.ids[i], {}, cell.state});
      }
    }
    return results;
  }

 private:
  using word = std::uint32_t;

  static word pack(task_cell c) noexcept {
    return static_cast<word>(c.state) | static_cast<word>(c.mode) << 8 |
           static_cast<word>(c.paused_from) << 16;
  }
  static task_cell unpack(word w) noexcept {
    return {static_cast<task_state>(w & 0xff), static_cast<pause_mode>(w >> 8 & 0xff),
            static_cast<task_state>(w >> 16 & 0xff)};
  }

  /// step() on a copy, published only if no other thread changed the task meanwhile.
  static error_code apply(std::atomic<word>& cell, task_event event, pause_mode mode) noexcept {
    word seen = cell.load(std::memory_order_acquire);
    for (;;) {
      task_cell next = unpack(seen);
      if (const error_code error = step(next, event, mode)) return error;
      if (cell.compare_exchange_weak(seen, pack(next), std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
        return {};
      }
    }
  }

  std::shared_mutex mutex_;
  std::unordered_map<std::string, std::atomic<word>> tasks_;
};

}  // namespace taskorch::bench
