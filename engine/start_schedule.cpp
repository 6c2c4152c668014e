#include "start_schedule.hpp"

#include <chrono>

namespace taskorch::detail {

void start_schedule::start(fire_function fire) {
  fire_ = std::move(fire);
  thread_ = std::thread([this] { run(); });
}

void start_schedule::stop() noexcept {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void start_schedule::lower(wall_time at) noexcept {
  const wall_time::rep wanted = at.time_since_epoch().count();
  wall_time::rep seen = next_.load();
  while (wanted < seen && !next_.compare_exchange_weak(seen, wanted)) {
  }
  if (wanted >= seen) return;
  // Under the mutex: the thread is either before its check of next_ or waiting.
  { std::lock_guard lock(mutex_); }
  wake_.notify_one();
}

void start_schedule::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const wall_time due{wall_time::duration(next_.load())};
    if (due == never) {
      wake_.wait(lock);
      continue;
    }
    if (wall_now() < due) {
      wake_.wait_until(lock, std::chrono::system_clock::time_point(due.time_since_epoch()));
      continue;
    }
    // Forgotten before the scan: a start stored during it lowers next_ again.
    next_.store(never.time_since_epoch().count());
    lock.unlock();
    const wall_time after = fire_(wall_now());
    lower(after);
    lock.lock();
  }
}

}  // namespace taskorch::detail
