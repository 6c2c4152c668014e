#pragma once
// tbb_map: oneTBB's concurrent_hash_map keyed by job_id, one accessor per item: a write
// accessor (the item's bucket lock) for a command, a read accessor for a status.

#include "workload.hpp"

#include <oneapi/tbb/concurrent_hash_map.h>
#include <vector>

namespace taskorch::bench {

class tbb_map {
 public:
  explicit tbb_map(const fleet& f) : tasks_(f.tasks.size()) {
    for (const fleet_task& t : f.tasks) tasks_.emplace(t.id, t.cell);
  }

  batch_result command(batch_view batch, task_event event, pause_mode mode) {
    batch_result results;
    results.reserve(batch.size());
    for (const job_id& id : batch.ids) {
      map::accessor task;
      const error_code error = tasks_.find(task, id) ? step(task->second, event, mode)
                                                     : error_code(errc::task_not_found);
      results.push_back({id, error});
    }
    return results;
  }

  std::vector<status_result> status(batch_view batch) {
    std::vector<status_result> results;
    results.reserve(batch.size());
    for (const job_id& id : batch.ids) {
      map::const_accessor task;
      if (tasks_.find(task, id)) {
        results.push_back({id, {}, task->second.state});
      } else {
        results.push_back({id, errc::task_not_found});
      }
    }
    return results;
  }

 private:
  struct hash_compare {
    static std::size_t hash(const job_id& id) noexcept { return job_id_hash{}(id); }
    static bool equal(const job_id& a, const job_id& b) noexcept { return a == b; }
  };
  using map = oneapi::tbb::concurrent_hash_map<job_id, task_cell, hash_compare>;

  map tasks_;
};

}  // namespace taskorch::bench
