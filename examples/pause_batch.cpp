// Embeds the engine, registers a few tasks and pauses them in one batch with a coroutine.
#include <taskorch/taskorch.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/core.h>

namespace asio = boost::asio;
using namespace taskorch;

asio::awaitable<void> pause_three(engine& eng, project_id project, std::vector<job_id> ids) {
  std::vector<pause_item> batch{
      {ids[0], pause_mode::target}, {ids[1], pause_mode::all}, {ids[2], pause_mode::target}};
  auto [ec, results] =
      co_await eng.async_pause(project, std::move(batch), asio::as_tuple(asio::use_awaitable));
  for (const item_result& r : results) {
    fmt::print("{} {}{}\n", r.id, r.ok() ? "success" : "failed ", r.ok() ? "" : r.error.message());
  }
}

int main() {
  engine eng({.threads = 2});
  const project_id project = *project_id::parse("054ba152d480d55b2f5dc0069e7ddef0");
  const job_id seed = *job_id::parse("8d0e8e36-a618-490d-8a46-8c61ac9jb502");
  const job_id syncing = job_id::mint();
  const job_id starting = job_id::mint();
  eng.register_tasks({
      task_spec{.id = seed, .project = project, .state = task_state::full_transfer},
      task_spec{.id = syncing,
                .project = project,
                .kind = task_kind::sync,
                .state = task_state::incremental_transfer},
      task_spec{.id = starting, .project = project, .state = task_state::starting},
  });

  asio::io_context io;
  asio::co_spawn(io, pause_three(eng, project, {seed, syncing, starting}), asio::detached);
  io.run();

  for (const status_result& s : eng.status(project, {seed, syncing, starting})) {
    fmt::print("{} {}\n", s.id, drs_status(s.state));
  }
}
