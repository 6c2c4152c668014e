#pragma once
// purge: removes deleted tasks for good. A deleted standalone task goes in one step on its
// shard. A family goes with its children's redirect stubs at one instant, holding the gates
// of the parent's shard and of the stubs' shards: in place when the parent's shard is the
// lowest of them, else in a second step moved to the lowest, which reads the family again.

#include "operation.hpp"

namespace taskorch::detail {

struct purge_op : project_batch_op<item_result, job_id> {
  /// A family found ready to purge, and the shard it lives on.
  struct plan {
    family_links children;
    shard_index family_shard = 0;
  };

  purge_op(project_id p, std::vector<job_id> i)
      : project_batch_op(p, std::move(i)), plans(items.size()) {}

  static error_code validate(const project_id&, const std::vector<job_id>& ids,
                             const engine_options& options) {
    return validate_batch(ids, options.max_batch_items);
  }

  std::optional<shard_index> run(step_context& ctx, std::size_t i) {
    if (!plans[i]) {
      std::optional<family_links> family;
      const outcome o = ctx.here().purge(project, items[i], family);
      if (o.forward_to) return o.forward_to;
      results[i].error = o.error;
      if (!family) return std::nullopt;
      plans[i] = plan{*family, ctx.where()};
    }
    // Hold the family's shard and its stubs' shards, then read the family again there.
    const plan p = *plans[i];
    const shard_index forward_home = ctx.home(p.children.forward);
    const shard_index backward_home = ctx.home(p.children.backward);
    const shard_index first = lowest(p.family_shard, forward_home, backward_home);
    if (first != ctx.where()) return first;
    ctx.lock({p.family_shard, forward_home, backward_home});
    std::optional<family_links> family;
    const outcome o = ctx.at(p.family_shard).purge(project, items[i], family);
    plans[i].reset();
    results[i].error = o.error;
    if (o.forward_to) return o.forward_to;  // it changed meanwhile: start over
    if (!family) return std::nullopt;
    if (*family != p.children) {  // another family by that id meanwhile: start over
      plans[i] = plan{*family, p.family_shard};
      return p.family_shard;
    }
    ctx.at(p.family_shard).record_family_erase(items[i]);
    ctx.at(p.family_shard).erase_family(items[i]);
    if (forward_home != p.family_shard) ctx.at(forward_home).erase_redirect(family->forward);
    if (backward_home != p.family_shard) ctx.at(backward_home).erase_redirect(family->backward);
    return std::nullopt;
  }

  void release_inputs() {
    project_batch_op::release_inputs();
    std::vector<std::optional<plan>>().swap(plans);
  }

  static constexpr bool changes_registry = true;
  std::vector<std::optional<plan>> plans;
};

}  // namespace taskorch::detail
