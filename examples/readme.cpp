#include <taskorch/taskorch.hpp>

#include <boost/asio.hpp>
#include <fmt/core.h>
using namespace taskorch;

boost::asio::awaitable<void> pause_one(engine& eng, project_id project, job_id id) {
  std::vector<pause_item> batch{{id, pause_mode::target}};
  auto token = boost::asio::as_tuple(boost::asio::use_awaitable);
  auto [ec, results] = co_await eng.async_pause(project, std::move(batch), token);
  for (const item_result& r : results)
    fmt::print("{} {}\n", r.id, r.ok() ? "success" : r.error.message());
}

int main() {
  engine eng({.threads = 2});
  auto project = *project_id::parse("054ba152d480d55b2f5dc0069e7ddef0");
  auto id = *job_id::parse("8d0e8e36-a618-490d-8a46-8c61ac9jb502");
  eng.register_tasks({task_spec{.id = id, .project = project, .state = task_state::full_transfer}});
  boost::asio::io_context io;
  boost::asio::co_spawn(io, pause_one(eng, project, id), boost::asio::detached);
  io.run();  // prints: 8d0e8e36-a618-490d-8a46-8c61ac9jb502 success
}
