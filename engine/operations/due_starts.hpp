#pragma once
// due_starts: the tasks whose scheduled start has come, gathered from every shard for the
// start schedule (start_schedule.hpp), with the earliest start time still ahead.

#include "operation.hpp"

namespace taskorch::detail {

/// What a scan found: the due tasks, and the earliest start time after them.
struct due_scan {
  std::vector<due_start> due;
  wall_time next = start_schedule::never;
};

struct due_starts_op : operation_base {
  using signature = void(error_code, due_scan);

  due_starts_op(wall_time at, std::size_t shards) : now(at), per_shard(shards), earliest(shards) {}

  static error_code validate(const wall_time&, const engine_options&) { return {}; }

  void run_shard(step_context& ctx) {
    earliest[ctx.where()] = start_schedule::never;
    ctx.here().due_starts(now, per_shard[ctx.where()], earliest[ctx.where()]);
  }
  void fail(const error_code& ec) noexcept { note_failure(ec); }
  std::tuple<error_code, due_scan> result() {
    due_scan all;
    for (std::size_t s = 0; s < per_shard.size(); ++s) {
      all.due.insert(all.due.end(), per_shard[s].begin(), per_shard[s].end());
      all.next = std::min(all.next, earliest[s]);
    }
    return {failure(), std::move(all)};
  }

  wall_time now;
  std::vector<std::vector<due_start>> per_shard;
  std::vector<wall_time> earliest;
  completion<signature> done;
};

}  // namespace taskorch::detail
