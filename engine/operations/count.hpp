#pragma once
// count: every task counted by state, and those awaiting a worker, summed over the shards.

#include "operation.hpp"

namespace taskorch::detail {

struct count_op : operation_base {
  using signature = engine::counts_signature;

  explicit count_op(std::size_t shards) : per_shard(shards) {}

  static error_code validate(const engine_options&) { return {}; }

  void run_shard(step_context& ctx) { ctx.here().count(per_shard[ctx.where()]); }
  void fail(const error_code& ec) noexcept { note_failure(ec); }
  std::tuple<error_code, state_counts> result() const {
    state_counts total;
    for (const state_counts& c : per_shard) {
      for (std::size_t k = 0; k < task_state_count; ++k) total.tasks[k] += c.tasks[k];
      total.families += c.families;
      total.awaiting += c.awaiting;
      if (c.awaiting_since &&
          (!total.awaiting_since || *c.awaiting_since < *total.awaiting_since)) {
        total.awaiting_since = c.awaiting_since;
      }
    }
    return {failure(), total};
  }

  std::vector<state_counts> per_shard;
  completion<signature> done;
};

}  // namespace taskorch::detail
