// Pauses the DRS seed example's job through the installed package and checks the outcome.
#include <taskorch/taskorch.hpp>

#include <boost/asio/use_future.hpp>

#include <cstdio>

int main() {
  using namespace taskorch;
  engine eng({.threads = 2});
  const project_id project = *project_id::parse("054ba152d480d55b2f5dc0069e7ddef0");
  const job_id id = *job_id::parse("8d0e8e36-a618-490d-8a46-8c61ac9jb502");
  eng.register_tasks({task_spec{.id = id, .project = project, .state = task_state::full_transfer}});

  std::vector<pause_item> batch{{id, pause_mode::target}};
  batch_result results = eng.async_pause(project, std::move(batch), boost::asio::use_future).get();
  const task_snapshot snap = eng.get(project, id);
  if (results.size() != 1 || !results[0].ok() || drs_status(snap.state) != "PAUSING") {
    std::puts("consumer: unexpected result");
    return 1;
  }
  std::printf("consumer: %s %s\n", snap.id.to_string().c_str(),
              std::string(drs_status(snap.state)).c_str());
  return 0;
}
