#include <taskorch/taskorch.hpp>

#include <boost/asio.hpp>
#include <fmt/core.h>
using namespace taskorch;

asio::awaitable<void> pause_one(engine& eng, project_id project, job_id id) {
  std::vector<pause_item> batch{{id, pause_mode::target}};
  auto [ec, results] =
      co_await eng.async_pause(project, std::move(batch), asio::as_tuple(asio::use_awaitable));
  for (const item_result& r : results)
    fmt::print("{} {}\n", r.id, r.ok() ? "success" : r.error.message());
}

int main() {
  engine eng({.threads = 2});
  auto project = *project_id::parse("054ba152d480d55b2f5dc0069e7ddef0");
  auto id = *job_id::parse("8d0e8e36-a618-490d-8a46-8c61ac9jb502");
  eng.register_tasks({task_spec{.id = id, .project = project, .state = task_state::full_transfer}});
  asio::io_context io;
  asio::co_spawn(io, pause_one(eng, project, id), asio::detached);
  io.run();  // prints: 8d0e8e36-a618-490d-8a46-8c61ac9jb502 success
}
