#pragma once
// start_schedule: the engine's clock for scheduled starts (batch-starting with a start_time).
//
// Shards call lower(at) whenever they store a start time (a command, a registration, a
// recovery, an undo), which costs an atomic compare-and-swap. One thread sleeps until the
// earliest start time it has been told of, then calls `fire(now)`: the engine starts every
// task whose time has come (event start_due) and returns the earliest start time still
// ahead, which the thread sleeps until next. The time kept is only a lower bound: a task
// rescheduled later, or terminated, wakes the thread for nothing, never too late.
//
// Thread safety: lower() may be called from any thread, concurrently; start() and stop()
// from the engine's owner.

#include <taskorch/wall_time.hpp>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace taskorch::detail {

class start_schedule {
 public:
  /// Starts the due tasks at `now`; returns the earliest start time after `now` (or
  /// `never`).
  using fire_function = std::function<wall_time(wall_time now)>;

  /// No start known.
  static constexpr wall_time never = wall_time::max();

  start_schedule() = default;
  ~start_schedule() { stop(); }
  start_schedule(const start_schedule&) = delete;
  start_schedule& operator=(const start_schedule&) = delete;

  /// Starts the thread, which calls `fire` whenever a known start time has come.
  void start(fire_function fire);

  /// Joins the thread (a call of `fire` in progress finishes first). Idempotent.
  void stop() noexcept;

  /// A task is to start at `at`: wakes the thread earlier if need be.
  void lower(wall_time at) noexcept;

 private:
  void run();

  std::atomic<wall_time::rep> next_{never.time_since_epoch().count()};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  fire_function fire_;
  std::thread thread_;
};

}  // namespace taskorch::detail
