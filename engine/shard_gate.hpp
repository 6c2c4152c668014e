#pragma once
// shard_gate: what serializes the work on one shard, besides its strand.
//
// Whatever touches a shard holds its gate: a part posted to the shard's strand, a part a
// caller runs inline on its own thread, or a step that must change several shards at one
// instant (a family's registration or purge), which takes the gates of all of them in
// ascending shard order. Nothing waits for a gate while holding one, except such a step
// waiting for a higher one, so gates never deadlock. The gate remembers its holder, so code
// that touches a shard can assert that the calling thread holds it.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>

namespace taskorch::detail {

/// The lock of one shard and the count of its parts queued on the strand.
/// Thread safety: every member may be called from any thread.
class alignas(64) shard_gate {
 public:
  void lock() {
    mutex_.lock();
    owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  }
  bool try_lock() {
    if (!mutex_.try_lock()) return false;
    owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
    return true;
  }
  void unlock() {
    owner_.store(std::thread::id(), std::memory_order_relaxed);
    mutex_.unlock();
  }

  /// True when the calling thread holds the gate.
  bool held_here() const noexcept {
    return owner_.load(std::memory_order_relaxed) == std::this_thread::get_id();
  }

  /// Parts posted to the shard's strand and not yet done: a caller never runs a part inline
  /// ahead of them. Public: the dispatcher counts them as it posts and runs them.
  std::atomic<std::uint32_t> queued{0};  // NOLINT(*-non-private-member-variables-in-classes)

 private:
  std::mutex mutex_;
  std::atomic<std::thread::id> owner_{};
};

}  // namespace taskorch::detail
