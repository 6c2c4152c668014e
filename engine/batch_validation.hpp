#pragma once
// batch_validation: the whole-batch checks made before anything is applied.

#include "shard.hpp"
#include <taskorch/batch.hpp>
#include <taskorch/task_spec.hpp>

#include <boost/unordered/unordered_flat_set.hpp>

#include <cstddef>
#include <vector>

namespace taskorch::detail {

/// One item of a command batch: an event for a job (with a mode, for a pause).
struct command {
  job_id id;
  task_event event = task_event::start;
  pause_mode mode = pause_mode::target;
};

inline const job_id& item_id(const job_id& id) noexcept { return id; }
inline const job_id& item_id(const command& c) noexcept { return c.id; }
inline const job_id& item_id(const registration& r) noexcept { return id_of(r); }

/// Checks a command or query batch: errc::empty_batch, errc::batch_too_large (more than
/// `max_items`) or errc::duplicate_job_id.
template <class Item>
error_code validate_batch(const std::vector<Item>& items, std::size_t max_items) {
  if (items.empty()) return errc::empty_batch;
  if (items.size() > max_items) return errc::batch_too_large;
  constexpr std::size_t small_batch = 16;  // below this, comparing pairs beats hashing
  if (items.size() <= small_batch) {
    for (std::size_t i = 1; i < items.size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (item_id(items[i]) == item_id(items[j])) return errc::duplicate_job_id;
      }
    }
    return {};
  }
  boost::unordered_flat_set<job_id, job_id_hash> seen;
  seen.reserve(items.size());
  for (const Item& item : items) {
    if (!seen.insert(item_id(item)).second) return errc::duplicate_job_id;
  }
  return {};
}

/// Checks a registration batch: each spec consistent (errc::invalid_task_spec), no id twice
/// across all specs and children (errc::duplicate_job_id). An empty batch is valid.
error_code validate_registrations(const std::vector<registration>& items);

}  // namespace taskorch::detail
