#pragma once
// admission: the lifecycle of the engine's operations. An operation is admitted (counted in
// flight) before it touches anything and leaves when its completion has been handed on;
// stop() refuses new ones and waits until none is left in flight.

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace taskorch::detail {

/// Counts the operations in flight. Thread safety: every member may be called from any
/// thread; stop() by one thread at a time.
class admission {
 public:
  /// Counts an operation in; false (and nothing counted) once the engine is stopping.
  bool enter() noexcept {
    in_flight_.fetch_add(1);
    if (!stopping_.load()) return true;
    leave();
    return false;
  }

  /// Ends an operation counted in by enter().
  void leave() noexcept {
    if (in_flight_.fetch_sub(1) == 1 && stopping_.load()) {
      std::lock_guard lock(mutex_);
      drained_.notify_all();
    }
  }

  bool stopping() const noexcept { return stopping_.load(); }

  /// Refuses new operations, then waits until every admitted one has left. Idempotent.
  void stop() {
    stopping_.store(true);
    std::unique_lock lock(mutex_);
    drained_.wait(lock, [this] { return in_flight_.load() == 0; });
  }

 private:
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> in_flight_{0};
  std::mutex mutex_;
  std::condition_variable drained_;
};

/// Leaves the admission when it goes, unless released first: whatever path an admitted
/// operation takes, an exception included, it leaves exactly once.
class admitted {
 public:
  explicit admitted(admission& a) noexcept : admission_(&a) {}
  ~admitted() {
    if (admission_ != nullptr) admission_->leave();
  }
  admitted(const admitted&) = delete;
  admitted& operator=(const admitted&) = delete;

  /// The operation now leaves by another path.
  void release() noexcept { admission_ = nullptr; }

 private:
  admission* admission_;
};

}  // namespace taskorch::detail
