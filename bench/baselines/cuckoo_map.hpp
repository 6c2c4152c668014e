#pragma once
// cuckoo_map: libcuckoo's cuckoohash_map keyed by job_id, one call per item: update_fn (the
// item's two bucket locks) for a command, find_fn for a status.

#include "workload.hpp"

#include <libcuckoo/cuckoohash_map.hh>
#include <vector>

namespace taskorch::bench {

class cuckoo_map {
 public:
  explicit cuckoo_map(const fleet& f) : tasks_(f.tasks.size()) {
    for (const fleet_task& t : f.tasks) tasks_.insert(t.id, t.cell);
  }

  batch_result command(batch_view batch, task_event event, pause_mode mode) {
    batch_result results;
    results.reserve(batch.size());
    for (const job_id& id : batch.ids) {
      error_code error;
      if (!tasks_.update_fn(id, [&](task_cell& t) { error = step(t, event, mode); })) {
        error = errc::task_not_found;
      }
      results.push_back({id, error});
    }
    return results;
  }

  std::vector<status_result> status(batch_view batch) {
    std::vector<status_result> results;
    results.reserve(batch.size());
    for (const job_id& id : batch.ids) {
      status_result r{id};
      if (!tasks_.find_fn(id, [&](const task_cell& t) { r.state = t.state; })) {
        r.error = errc::task_not_found;
      }
      results.push_back(r);
    }
    return results;
  }

 private:
  libcuckoo::cuckoohash_map<job_id, task_cell, job_id_hash> tasks_;
};

}  // namespace taskorch::bench
