#include "demo_fleet.hpp"

#include <fmt/format.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <optional>
#include <random>
#include <string>
#include <string_view>

namespace taskorch::app {

std::vector<registration> demo_fleet() {
  const project_id demo = *project_id::parse("054ba152d480d55b2f5dc0069e7ddef0");
  const project_id neighbour = *project_id::parse("6a1f0c8e2b4d4f7e9c3a5b7d9e1f2a3b");
  std::mt19937_64 random(20261129);  // fixed: the demo fleet is the same at every start
  auto next_id = [&random] {
    constexpr std::string_view hex = "0123456789abcdef";
    std::string text;
    for (int i = 0; i < 36; ++i) {
      if (i == 8 || i == 13 || i == 18 || i == 23) {
        text += '-';
      } else {
        text += hex[random() & 15];
      }
    }
    text.replace(31, 2, "jb");
    return *job_id::parse(text);
  };

  std::vector<registration> fleet;
  fleet.emplace_back(task_spec{*job_id::parse("8d0e8e36-a618-490d-8a46-8c61ac9jb502"), demo,
                               task_kind::migration, task_state::full_transfer, std::nullopt,
                               std::nullopt, "drs-example", 0});
  constexpr std::array kinds{task_kind::migration, task_kind::sync, task_kind::cloud_data_guard};
  constexpr std::array pausable{task_state::full_transfer, task_state::full_transfer_complete,
                                task_state::incremental_transfer, task_state::full_transfer_failed,
                                task_state::incremental_transfer_failed};
  for (std::size_t i = 0; i < 3000; ++i) {
    const task_state state = all_task_states[i % task_state_count];
    std::optional<pause_info> pause;
    if (state == task_state::paused) {
      pause = pause_info{i % 2 != 0 ? pause_mode::all : pause_mode::target,
                         pausable[i % pausable.size()]};
    }
    // Scheduled starts fall on the first day of 2030: the demo's waiting tasks keep waiting.
    std::optional<wall_time> start_time;
    if (state == task_state::waiting_for_start) {
      start_time = wall_time(std::chrono::sys_days(std::chrono::year(2030) / 1 / 1)) +
                   std::chrono::minutes(i);
    }
    fleet.emplace_back(task_spec{next_id(), i % 10 == 9 ? neighbour : demo, kinds[i % kinds.size()],
                                 state, pause, start_time, fmt::format("demo-{:04}", i), 0});
  }
  for (std::size_t i = 0; i < 4; ++i) {
    const task_state forward = pausable[i % pausable.size()];
    fleet.emplace_back(family_spec{
        next_id(), demo, fmt::format("dual-active-{}", i),
        child_spec{next_id(), forward, std::nullopt, std::nullopt, 0},
        child_spec{next_id(), task_state::incremental_transfer, std::nullopt, std::nullopt, 0}});
  }
  return fleet;
}

}  // namespace taskorch::app
