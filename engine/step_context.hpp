#pragma once
// step_context: what one step of an operation sees of the engine. A step runs on one shard,
// holding its gate; it reads and changes that shard, and may take the gates of shards above
// it (in ascending order) to change several shards at one instant. Every shard it touches is
// checked to be held by the calling thread.

#include "placement.hpp"
#include "shard.hpp"
#include "shard_gate.hpp"

#include <boost/assert.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <span>

namespace taskorch::detail {

/// The gates a step took beyond its own; released when this goes.
class extra_gates {
 public:
  extra_gates() = default;
  extra_gates(extra_gates&& other) noexcept : held_(other.held_), count_(other.count_) {
    other.count_ = 0;
  }
  extra_gates(const extra_gates&) = delete;
  extra_gates& operator=(const extra_gates&) = delete;
  extra_gates& operator=(extra_gates&&) = delete;
  ~extra_gates() {
    while (count_ > 0) held_[--count_]->unlock();
  }

 private:
  friend class step_context;
  std::array<shard_gate*, 2> held_{};
  std::size_t count_ = 0;
};

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
  /// needs first). Blocks until they are free.
  extra_gates lock(std::array<shard_index, 3> wanted) {
    std::sort(wanted.begin(), wanted.end());
    extra_gates taken;
    for (std::size_t k = 0; k < wanted.size(); ++k) {
      const shard_index s = wanted[k];
      if (s == here_ || (k > 0 && s == wanted[k - 1])) continue;
      BOOST_ASSERT_MSG(s > here_, "gates are taken in ascending shard order");
      gates_[s].lock();
      taken.held_[taken.count_++] = &gates_[s];
    }
    return taken;
  }

 private:
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
