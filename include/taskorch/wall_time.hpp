#pragma once
// wall_time: an instant on the wall clock, in milliseconds since the Unix epoch, the way DRS
// writes times on the wire (`start_time`, `create_time`). Scheduled starts are kept in it, so
// a schedule means the same instant after a restart.
//
//   taskorch::wall_time at = taskorch::wall_now() + std::chrono::minutes(5);
//   at.time_since_epoch().count();  // milliseconds, as DRS sends them

#include <chrono>

namespace taskorch {

/// Milliseconds since the Unix epoch on the system clock.
using wall_time = std::chrono::sys_time<std::chrono::milliseconds>;

/// The system clock now, in milliseconds.
inline wall_time wall_now() noexcept {
  return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

}  // namespace taskorch
