#pragma once
// status: the state of each id of a batch (a parent's aggregate).

#include "operation.hpp"

namespace taskorch::detail {

struct status_op : per_item_op<status_result> {
  status_op(project_id p, std::vector<job_id> i) : per_item_op(i), project(p), ids(std::move(i)) {}

  static error_code validate(const project_id&, const std::vector<job_id>& ids,
                             const engine_options& options) {
    return validate_batch(ids, options.max_batch_items);
  }

  std::size_t size() const { return ids.size(); }
  const job_id& id_at(std::size_t i) const { return ids[i]; }
  shard_index first_shard(const placement& placed, std::size_t i) const {
    return placed.home(ids[i]);
  }
  std::optional<shard_index> run(step_context& ctx, std::size_t i) {
    const outcome o = ctx.here().read_state(project, ids[i], results[i].state);
    results[i].error = o.error;
    return o.forward_to;
  }
  void release_inputs() { std::vector<job_id>().swap(ids); }

  project_id project;
  std::vector<job_id> ids;
};

}  // namespace taskorch::detail
