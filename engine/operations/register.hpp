#pragma once
// register: registration of tasks and dual-active families. A standalone task is inserted on
// its home shard. A family is registered in one step that holds the gates of its parent's
// home shard (where the family lives) and of its children's home shards (where their stubs
// go), taken from the lowest: it checks all three ids and inserts the family and the stubs at
// one instant, or fails with task_exists having changed nothing.

#include "operation.hpp"

namespace taskorch::detail {

struct register_op : per_item_op<item_result> {
  explicit register_op(std::vector<registration> i) : per_item_op(i), items(std::move(i)) {}

  /// Registration is not held to max_batch_items (a snapshot of a whole registry is
  /// registered in one call): only indices beyond 32 bits are refused.
  static error_code validate(const std::vector<registration>& items, const engine_options&) {
    if (items.size() >= max_batch_indices) return errc::batch_too_large;
    return validate_registrations(items);
  }

  std::size_t size() const { return items.size(); }
  const job_id& id_at(std::size_t i) const { return id_of(items[i]); }
  shard_index first_shard(const placement& placed, std::size_t i) const {
    if (const auto* family = std::get_if<family_spec>(&items[i])) {
      return lowest(placed.home(family->id), placed.home(family->forward.id),
                    placed.home(family->backward.id));
    }
    return placed.home(id_of(items[i]));
  }

  std::optional<shard_index> run(step_context& ctx, std::size_t i) {
    if (const auto* task = std::get_if<task_spec>(&items[i])) {
      results[i].error = ctx.here().insert(*task);
      return std::nullopt;
    }
    auto& family = std::get<family_spec>(items[i]);
    const shard_index home = ctx.home(family.id);
    const shard_index forward_home = ctx.home(family.forward.id);
    const shard_index backward_home = ctx.home(family.backward.id);
    ctx.lock({home, forward_home, backward_home});
    shard& family_shard = ctx.at(home);
    if (family_shard.holds(family.id) || ctx.at(forward_home).holds(family.forward.id) ||
        ctx.at(backward_home).holds(family.backward.id)) {
      results[i].error = errc::task_exists;
      return std::nullopt;
    }
    // Room first, on every shard, so that the inserts below cannot fail half-way.
    family_shard.reserve_family(family);
    const std::size_t forward_stubs = forward_home != home ? 1 : 0;
    const std::size_t backward_stubs = backward_home != home ? 1 : 0;
    if (forward_home == backward_home) {
      if (forward_stubs + backward_stubs > 0) ctx.at(forward_home).reserve_stubs(2);
    } else {
      if (forward_stubs > 0) ctx.at(forward_home).reserve_stubs(1);
      if (backward_stubs > 0) ctx.at(backward_home).reserve_stubs(1);
    }
    family_shard.record_family_insert(family);
    if (forward_stubs > 0) ctx.at(forward_home).insert_redirect(family.forward.id, home);
    if (backward_stubs > 0) ctx.at(backward_home).insert_redirect(family.backward.id, home);
    family_shard.insert_family(std::move(family));
    return std::nullopt;
  }

  void release_inputs() { std::vector<registration>().swap(items); }

  static constexpr bool changes_registry = true;
  std::vector<registration> items;
};

}  // namespace taskorch::detail
