#pragma once
// floor_table: the single-thread lower bound. A flat open-addressing table (power-of-two
// capacity, load at most 0.5, linear probing) whose slots hold the job_id inline next to its
// task_cell: one probe sequence per item, no synchronization, no indirection. Result
// vectors of a million items get the engine's huge-page advice, so that the floor pays no
// page faults the engine avoids.
//
// Not thread-safe. For floor_shards, one table per thread keeps only its shard's tasks and
// is given only its shard's ids.

#include "huge_pages.hpp"  // engine/
#include "workload.hpp"

#include <bit>
#include <cstddef>
#include <vector>

namespace taskorch::bench {

class floor_table {
 public:
  explicit floor_table(const fleet& f) : floor_table(f, 0, 1) {}

  /// Keeps only the tasks with shard_of(id, shards) == shard.
  floor_table(const fleet& f, std::size_t shard, std::size_t shards) {
    std::size_t kept = 0;
    for (const fleet_task& t : f.tasks) kept += shard_of(t.id, shards) == shard;
    slots_.resize(std::bit_ceil(2 * kept));
    mask_ = slots_.size() - 1;
    for (const fleet_task& t : f.tasks) {
      if (shard_of(t.id, shards) != shard) continue;
      slot& s = slots_[probe(t.id)];
      s = {t.id, t.cell, true};
    }
  }

  batch_result command(batch_view batch, task_event event, pause_mode mode) {
    batch_result results;
    results.reserve(batch.size());
    detail::advise_fresh_huge_pages(results.data(), batch.size() * sizeof(item_result));
    for (const job_id& id : batch.ids) results.push_back({id, apply(id, event, mode)});
    return results;
  }

  std::vector<status_result> status(batch_view batch) {
    std::vector<status_result> results;
    results.reserve(batch.size());
    detail::advise_fresh_huge_pages(results.data(), batch.size() * sizeof(status_result));
    for (const job_id& id : batch.ids) {
      const slot& s = slots_[probe(id)];
      if (s.used) {
        results.push_back({id, {}, s.cell.state});
      } else {
        results.push_back({id, errc::task_not_found});
      }
    }
    return results;
  }

  /// Applies `event` to the task `id`; returns the item's error (empty on success).
  error_code apply(const job_id& id, task_event event, pause_mode mode) noexcept {
    slot& s = slots_[probe(id)];
    return s.used ? step(s.cell, event, mode) : error_code(errc::task_not_found);
  }

 private:
  struct slot {
    job_id id;
    task_cell cell;
    bool used = false;
  };

  /// The slot holding `id`, or the free slot where it would go.
  std::size_t probe(const job_id& id) const noexcept {
    std::size_t i = id.hash() & mask_;
    while (slots_[i].used && slots_[i].id != id) i = (i + 1) & mask_;
    return i;
  }

  std::vector<slot> slots_;
  std::size_t mask_ = 0;
};

}  // namespace taskorch::bench
