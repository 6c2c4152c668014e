#pragma once
// status, detail, progress: the state of each id of a batch (a parent's aggregate), its whole
// snapshot with its children's, or what its worker last reported.

#include "operation.hpp"

namespace taskorch::detail {

struct status_op : project_batch_op<status_result, job_id> {
  using project_batch_op::project_batch_op;

  static error_code validate(const project_id&, const std::vector<job_id>& ids,
                             const engine_options& options) {
    return validate_batch(ids, options.max_batch_items);
  }

  std::optional<shard_index> run(step_context& ctx, std::size_t i) {
    const outcome o = ctx.here().read_state(project, items[i], results[i].state);
    results[i].error = o.error;
    return o.forward_to;
  }
};

struct detail_op : project_batch_op<detail_result, job_id> {
  using project_batch_op::project_batch_op;

  static error_code validate(const project_id&, const std::vector<job_id>& ids,
                             const engine_options& options) {
    return validate_batch(ids, options.max_batch_items);
  }

  std::optional<shard_index> run(step_context& ctx, std::size_t i) {
    detail_result& r = results[i];
    const outcome o = ctx.here().read_detail(project, items[i], r.task, r.children);
    r.error = o.error;
    return o.forward_to;
  }
};

struct progress_op : project_batch_op<progress_result, job_id> {
  using project_batch_op::project_batch_op;

  static error_code validate(const project_id&, const std::vector<job_id>& ids,
                             const engine_options& options) {
    return validate_batch(ids, options.max_batch_items);
  }

  std::optional<shard_index> run(step_context& ctx, std::size_t i) {
    const outcome o = ctx.here().read_progress(project, items[i], results[i]);
    results[i].error = o.error;
    return o.forward_to;
  }
};

}  // namespace taskorch::detail
