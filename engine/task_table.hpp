#pragma once
// task_table: a shard's task records in one flat open-addressing table.
//
// Each 64-byte slot holds the job id inline next to its record, so finding a task is one
// probe sequence in one array, one cache line per slot (the array is aligned to its pages). Batches
// know their ids in advance: prefetch() starts loading the slot of an item a few items ahead of the
// one being applied, which hides most of the memory latency of a large registry. Linear probing
// over a power-of-two capacity, at most 3/4 full; erase shifts the following slots back, so no
// tombstones build up. The slots live on huge pages (huge_pages.hpp). Thread safety: none (the
// shard's owner serializes all calls).

#include "huge_pages.hpp"
#include "placement.hpp"
#include <taskorch/job_id.hpp>
#include <taskorch/pause_mode.hpp>
#include <taskorch/task_event.hpp>
#include <taskorch/task_kind.hpp>
#include <taskorch/task_snapshot.hpp>
#include <taskorch/task_state.hpp>
#include <taskorch/wall_time.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

namespace taskorch::detail {

/// One task's record, as the shard's table stores it next to the id.
struct task_record {
  std::uint64_t version = 0;
  wall_time created_at{};
  wall_time changed_at{};
  std::uint32_t project = 0;  ///< index into the shard's list of projects
  task_kind kind = task_kind::migration;
  task_state state = task_state::configuration;
  pause_mode mode = pause_mode::target;         ///< when paused
  task_state paused_from = task_state::paused;  ///< when paused
  task_role role = task_role::standalone;
  bool redirect = false;               ///< a family child's stub on its home shard
  shard_index family_shard = 0;        ///< where a redirect points
  std::optional<task_event> awaiting;  ///< the command awaiting a worker's confirmation
};

class task_table {
 public:
  task_table() : slots_(min_capacity) {}
  /// An empty table of `capacity` slots (a power of two), its memory written already: a copy
  /// assigned into it later takes no page faults (a checkpoint's copy, taken holding every
  /// shard's gate).
  explicit task_table(std::size_t capacity) : slots_(std::max(capacity, min_capacity)) {}

  /// The record of `id`, or nullptr.
  task_record* find(const job_id& id) noexcept {
    const std::size_t i = position(id);
    return i != absent ? &slots_[i].record : nullptr;
  }
  const task_record* find(const job_id& id) const noexcept {
    const std::size_t i = position(id);
    return i != absent ? &slots_[i].record : nullptr;
  }

  /// Makes room for `more` records beyond those held, so that inserting them cannot throw.
  void reserve(std::size_t more) {
    while (4 * (size_ + more) > 3 * slots_.size()) grow();
  }

  /// Inserts `record` for `id`; false (and no change) when `id` is present. Throws
  /// std::bad_alloc, changing nothing, when the table must grow and cannot.
  bool insert(const job_id& id, const task_record& record) {
    if (find(id) != nullptr) return false;  // before growing: a refused insert moves nothing
    reserve(1);
    std::size_t i = home(id);
    for (; !slots_[i].vacant(); i = (i + 1) & mask()) {
      if (slots_[i].id == id) return false;
    }
    slots_[i] = {id, record};
    ++size_;
    return true;
  }

  /// Removes `id`; false when absent.
  bool erase(const job_id& id) noexcept {
    std::size_t hole = home(id);
    for (;; hole = (hole + 1) & mask()) {
      if (slots_[hole].vacant()) return false;
      if (slots_[hole].id == id) break;
    }
    // Shift back every following slot of the run that may move into the hole: one whose
    // home is not cyclically within (hole, next].
    for (std::size_t next = (hole + 1) & mask(); !slots_[next].vacant();
         next = (next + 1) & mask()) {
      const std::size_t want = home(slots_[next].id);
      const bool stays =
          hole <= next ? (hole < want && want <= next) : (hole < want || want <= next);
      if (stays) continue;
      slots_[hole] = slots_[next];
      hole = next;
    }
    slots_[hole] = slot();
    --size_;
    return true;
  }

  /// Starts loading the slot where `id` would be found.
  /// Always inlined: a function whose only effect is a prefetch counts as side-effect free
  /// to g++, which then drops calls to it.
  [[gnu::always_inline]] void prefetch(const job_id& id) const noexcept {
    __builtin_prefetch(&slots_[home(id)]);
  }

  /// Calls f(id, record) for every task.
  template <class F>
  void for_each(F f) const {
    for (const slot& s : slots_) {
      if (!s.vacant()) f(s.id, s.record);
    }
  }

  std::size_t size() const noexcept { return size_; }
  /// The number of slots (a power of two).
  std::size_t capacity() const noexcept { return slots_.size(); }

 private:
  /// A slot is vacant when its record's state holds a value no task_state has.
  static constexpr auto vacant_state = static_cast<task_state>(0xff);
  static constexpr std::size_t min_capacity = 16;
  /// What position() returns for an id that is not held.
  static constexpr std::size_t absent = std::numeric_limits<std::size_t>::max();

  struct alignas(64) slot {
    job_id id;
    task_record record{.state = vacant_state};
    bool vacant() const noexcept { return record.state == vacant_state; }
  };
  static_assert(sizeof(slot) == 64);

  std::size_t mask() const noexcept { return slots_.size() - 1; }
  // The low bits: the engine picks the shard from the high bits of the same hash.
  std::size_t home(const job_id& id) const noexcept { return id.hash() & mask(); }

  /// The index of the slot that holds `id`, or `absent`.
  std::size_t position(const job_id& id) const noexcept {
    for (std::size_t i = home(id);; i = (i + 1) & mask()) {
      if (slots_[i].vacant()) return absent;
      if (slots_[i].id == id) return i;
    }
  }

  void grow() {
    slots old(2 * slots_.size());
    std::swap(old, slots_);
    for (const slot& s : old) {
      if (s.vacant()) continue;
      std::size_t i = home(s.id);
      while (!slots_[i].vacant()) i = (i + 1) & mask();
      slots_[i] = s;
    }
  }

  using slots = std::vector<slot, huge_page_allocator<slot>>;
  slots slots_;
  std::size_t size_ = 0;
};

}  // namespace taskorch::detail
