#pragma once
// engine_impl: taskorch::engine behind the benchmark's implementation interface, through
// its public API (the blocking wrappers, which run on the asynchronous API).

#include "workload.hpp"
#include <taskorch/engine.hpp>

#include <vector>

namespace taskorch::bench {

class engine_impl {
 public:
  explicit engine_impl(const fleet& f, engine_options options = {})
      : project_(f.project), engine_(options) {
    std::vector<registration> specs;
    specs.reserve(f.tasks.size());
    for (const fleet_task& t : f.tasks) specs.push_back(spec_of(f.project, t));
    engine_.register_tasks(std::move(specs));
  }

  batch_result command(batch_view batch, task_event event, pause_mode mode) {
    if (event == task_event::pause) {
      std::vector<pause_item> items(batch.size());
      for (std::size_t i = 0; i < items.size(); ++i) items[i] = {batch.ids[i], mode};
      return engine_.pause(project_, std::move(items));
    }
    if (event == task_event::resume) {
      return engine_.resume(project_, {batch.ids.begin(), batch.ids.end()});
    }
    // Anything else the workloads send is a worker's report (transfer_failed).
    std::vector<event_item> items(batch.size());
    for (std::size_t i = 0; i < items.size(); ++i) items[i] = {batch.ids[i], event};
    return engine_.report(project_, std::move(items));
  }

  std::vector<status_result> status(batch_view batch) {
    return engine_.status(project_, {batch.ids.begin(), batch.ids.end()});
  }

  taskorch::engine& engine() noexcept { return engine_; }

  /// The registration of one fleet task.
  static task_spec spec_of(const project_id& project, const fleet_task& t) {
    task_spec spec{.id = t.id, .project = project, .state = t.cell.state};
    if (t.cell.state == task_state::paused)
      spec.pause = pause_info{t.cell.mode, t.cell.paused_from};
    return spec;
  }

 private:
  project_id project_;
  taskorch::engine engine_;
};

}  // namespace taskorch::bench
