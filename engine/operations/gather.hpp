#pragma once
// gather: list (a project's tasks) and export (the whole registry as registrations). Each
// shard fills its own vector; the result merges them, sorted by id.

#include "operation.hpp"

#include <algorithm>
#include <iterator>

namespace taskorch::detail {

template <class Value, class Signature>
struct gather_op : operation_base {
  using signature = Signature;

  explicit gather_op(std::size_t shards) : per_shard(shards) {}

  void fail(const error_code& ec) noexcept { note_failure(ec); }

  template <class Id>
  std::tuple<error_code, std::vector<Value>> merge(Id id_of_value) {
    std::vector<Value> all;
    if (failure() == errc::journal_failed) return {failure(), std::move(all)};
    std::size_t n = 0;
    for (const auto& part : per_shard) n += part.size();
    all.reserve(n);
    for (auto& part : per_shard) std::move(part.begin(), part.end(), std::back_inserter(all));
    std::sort(all.begin(), all.end(),
              [&](const Value& a, const Value& b) { return id_of_value(a) < id_of_value(b); });
    return {failure(), std::move(all)};
  }

  std::vector<std::vector<Value>> per_shard;
  completion<Signature> done;
};

struct list_op : gather_op<task_snapshot, engine::list_signature> {
  list_op(project_id p, std::size_t shards) : gather_op(shards), project(p) {}

  static error_code validate(const project_id&, const engine_options&) { return {}; }

  void run_shard(step_context& ctx) { ctx.here().list(project, per_shard[ctx.where()]); }
  auto result() {
    return merge([](const task_snapshot& t) -> const job_id& { return t.id; });
  }

  project_id project;
};

struct export_op : gather_op<registration, engine::export_signature> {
  using gather_op::gather_op;

  static error_code validate(const engine_options&) { return {}; }

  void run_shard(step_context& ctx) { ctx.here().export_to(per_shard[ctx.where()]); }
  auto result() {
    return merge([](const registration& r) -> const job_id& { return id_of(r); });
  }
};

}  // namespace taskorch::detail
