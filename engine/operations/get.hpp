#pragma once
// get: one task's snapshot.

#include "operation.hpp"

namespace taskorch::detail {

struct get_op : operation_base {
  using signature = engine::snapshot_signature;

  get_op(project_id p, job_id i) : project(p), id(i) {}

  static error_code validate(const project_id&, const job_id&, const engine_options&) { return {}; }

  static std::size_t size() { return 1; }
  const job_id& id_at(std::size_t) const { return id; }
  shard_index first_shard(const placement& placed, std::size_t) const { return placed.home(id); }
  std::optional<shard_index> run(step_context& ctx, std::size_t) {
    const outcome o = ctx.here().read(project, id, snapshot);
    error = o.error;
    return o.forward_to;
  }
  void fail(std::size_t, const error_code& ec) noexcept {
    error = ec;
    note_failure(ec);
  }
  void fail_unstored(const error_code& ec) noexcept {
    if (!error) error = ec;
    note_failure(ec);
  }
  std::tuple<error_code, task_snapshot> result() {
    if (error == errc::journal_failed) return {error, task_snapshot()};
    return {error, std::move(snapshot)};
  }

  project_id project;
  job_id id;
  error_code error;
  task_snapshot snapshot;
  completion<signature> done;
};

}  // namespace taskorch::detail
