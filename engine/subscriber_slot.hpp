#pragma once
// subscriber_slot: one subscriber's callback, shared by the shards that call it and by the
// subscription that closes it. Once closed, the callback is never called again; closing can
// wait until the calls already running have returned (the way std::stop_callback's
// destructor does), so that whatever the callback captured may then be destroyed.

#include <taskorch/state_change.hpp>

#include <atomic>
#include <cstdint>

namespace taskorch::detail {

/// Thread safety: deliver() may run on several threads at once (one per shard that reports a
/// change); close() may be called from any thread, also from inside the callback.
class subscriber_slot {
 public:
  explicit subscriber_slot(change_callback callback) : callback_(std::move(callback)) {}

  /// Calls the callback with `change`, unless the slot is closed. A callback that throws
  /// terminates the program.
  void deliver(const state_change& change) noexcept {
    running_.fetch_add(1);
    if (open_.load()) callback_(change);
    if (running_.fetch_sub(1) == 1 && !open_.load()) running_.notify_all();
  }

  /// Closes the slot: deliver() calls the callback no more. With `wait_for_running`, also
  /// waits until no call is running; never wait from inside the callback itself.
  void close(bool wait_for_running) noexcept {
    open_.store(false);
    if (!wait_for_running) return;
    for (std::uint32_t n = running_.load(); n != 0; n = running_.load()) running_.wait(n);
  }

 private:
  change_callback callback_;
  // Both accessed sequentially consistent: a deliver() that counted itself in before close()
  // stored `open_` is seen by close(), and one that counted itself in later sees it closed.
  std::atomic<std::uint32_t> running_{0};
  std::atomic<bool> open_{true};
};

}  // namespace taskorch::detail
