#pragma once
// step_context: what one step of an operation sees of the engine. A step runs on one shard,
// holding its gate; it reads and changes that shard, and may take the gates of shards above
// it (in ascending order) to change several shards at one instant. Every shard it touches is
// checked to be held by the calling thread. The gates a step takes stay held until the
// dispatcher has journaled the step's changes and calls release_extra_gates().

#include "placement.hpp"
#include "shard.hpp"
#include "shard_gate.hpp"

#include <boost/assert.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <span>

namespace taskorch::detail {

/// Thread safety: used by the one thread that runs the step.
class step_context {
 public:
  step_context(std::span<shard> shards, std::span<shard_gate> gates, const placement& placed,
               shard_index here) noexcept
      : shards_(shards), gates_(gates), placement_(placed), here_(here) {}

  /// The shard this step runs on.
  shard_index where() const noexcept { return here_; }
  /// The home shard of `id`.
  shard_index home(const job_id& id) const noexcept { return placement_.home(id); }

  /// The shard this step runs on.
  shard& here() noexcept { return at(here_); }
  /// Shard `s`, whose gate the calling thread must hold.
  shard& at(shard_index s) noexcept {
    BOOST_ASSERT_MSG(gates_[s].held_here(), "a shard touched without its gate");
    return shards_[s];
  }

  /// Takes the gates of `wanted` that this step does not hold yet, in ascending order; each
  /// must be above where() (a step that needs a lower one is moved to the lowest shard it
  /// needs first). Blocks until they are free. Once per step.
  void lock(std::array<shard_index, 3> wanted) {
    BOOST_ASSERT_MSG(extra_count_ == 0, "one lock() per step");
    std::sort(wanted.begin(), wanted.end());
    for (std::size_t k = 0; k < wanted.size(); ++k) {
      const shard_index s = wanted[k];
      if (s == here_ || (k > 0 && s == wanted[k - 1])) continue;
      BOOST_ASSERT_MSG(s > here_, "gates are taken in ascending shard order");
      gates_[s].lock();
      extra_[extra_count_++] = &gates_[s];
    }
  }

  /// True when the step took gates beyond its own.
  bool holds_extra_gates() const noexcept { return extra_count_ > 0; }
  /// Releases the gates lock() took.
  void release_extra_gates() noexcept {
    while (extra_count_ > 0) extra_[--extra_count_]->unlock();
  }

  step_context(const step_context&) = delete;
  step_context& operator=(const step_context&) = delete;
  ~step_context() { release_extra_gates(); }

 private:
  std::array<shard_gate*, 2> extra_{};
  std::size_t extra_count_ = 0;
  std::span<shard> shards_;
  std::span<shard_gate> gates_;
  const placement& placement_;
  shard_index here_;
};

/// The lowest of three shards: where a step that needs all three runs.
inline shard_index lowest(shard_index a, shard_index b, shard_index c) noexcept {
  return std::min({a, b, c});
}

}  // namespace taskorch::detail
