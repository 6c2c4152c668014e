#pragma once
// batch_validation: the whole-batch checks made before anything is applied.

#include "huge_pages.hpp"
#include "shard.hpp"
#include <taskorch/batch.hpp>
#include <taskorch/task_spec.hpp>

#include <boost/unordered/unordered_flat_set.hpp>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace taskorch::detail {

inline const job_id& item_id(const job_id& id) noexcept { return id; }
inline const job_id& item_id(const pause_item& p) noexcept { return p.id; }
inline const job_id& item_id(const event_item& e) noexcept { return e.id; }
inline const job_id& item_id(const start_item& s) noexcept { return s.id; }
inline const job_id& item_id(const delete_item& d) noexcept { return d.id; }
inline const job_id& item_id(const report_item& r) noexcept { return r.id; }
inline const job_id& item_id(const registration& r) noexcept { return id_of(r); }

/// The most items an operation may hold: item indices are 32 bits wide.
inline constexpr std::size_t max_batch_indices = std::numeric_limits<std::uint32_t>::max();

/// Finds a repeated id among a batch's items. Small batches compare pairs; larger ones fill a
/// compact open-addressing table of (hash bits, index) words, 8 bytes per slot, so that a
/// batch of a million ids is checked in a few megabytes; ids are compared only when hash bits
/// match. The hash is keyed with a per-process secret (job_id::keyed_hash): ids are chosen
/// by clients, and with a public hash they can be chosen to probe one long run of slots.
/// `Hash` is a parameter for the tests, which show what the public hash would do.
template <class Hash = job_id_keyed_hash>
class duplicate_detector {
 public:
  template <class Item>
  bool has_duplicate(const std::vector<Item>& items) {
    constexpr std::size_t small_batch = 16;  // below this, comparing pairs beats hashing
    if (items.size() <= small_batch) {
      for (std::size_t i = 1; i < items.size(); ++i) {
        for (std::size_t j = 0; j < i; ++j) {
          if (item_id(items[i]) == item_id(items[j])) return true;
        }
      }
      return false;
    }
    const std::size_t capacity = std::bit_ceil(2 * items.size());
    const std::size_t mask = capacity - 1;
    constexpr std::uint64_t vacant = 0;  // index k is stored as k + 1 (batches hold < 2^32 - 1)
    constexpr std::uint64_t tag_bits = 0xffff'ffff'0000'0000ULL;
    std::vector<std::uint64_t, huge_page_allocator<std::uint64_t>> slots(capacity, vacant);
    for (std::size_t k = 0; k < items.size(); ++k) {
      const std::uint64_t h = Hash{}(item_id(items[k]));
      const std::uint64_t tag = h & tag_bits;
      std::size_t probes = 1;
      for (std::size_t i = h & mask;; i = (i + 1) & mask, ++probes) {
        const std::uint64_t word = slots[i];
        if (word == vacant) {
          slots[i] = tag | (k + 1);
          break;
        }
        if ((word & tag_bits) == tag &&
            item_id(items[(word & ~tag_bits) - 1]) == item_id(items[k])) {
          return true;
        }
      }
      longest_probe_ = std::max(longest_probe_, probes);
    }
    return false;
  }

  /// The most slots one insertion looked at, over every call so far.
  std::size_t longest_probe() const noexcept { return longest_probe_; }

 private:
  std::size_t longest_probe_ = 0;
};

/// Checks a command or query batch: errc::empty_batch, errc::batch_too_large (more than
/// `max_items`) or errc::duplicate_job_id.
template <class Item>
error_code validate_batch(const std::vector<Item>& items, std::size_t max_items) {
  if (items.empty()) return errc::empty_batch;
  if (items.size() > max_items) return errc::batch_too_large;
  if (duplicate_detector<>().has_duplicate(items)) return errc::duplicate_job_id;
  return {};
}

/// Checks a registration batch: each spec consistent (errc::invalid_task_spec), no id twice
/// across all specs and children (errc::duplicate_job_id). An empty batch is valid.
error_code validate_registrations(const std::vector<registration>& items);

}  // namespace taskorch::detail
