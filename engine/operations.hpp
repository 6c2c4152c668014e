#pragma once
// operations: one struct per kind of engine operation, run by engine_core.
//
// An item operation (commands, status, get, purge, register) is split by shard:
//   size(), first_shard(core, i)        where item i starts;
//   id_at(i)                            the id item i looks up (to prefetch its record);
//   run(core, s, i)                     does item i's step on shard s; returns the shard of
//                                       its next step, or nothing when the item is done;
//   abort(i)                            the engine stopped before item i ran;
//   complete(core)                      called once, where the last part ran;
//   release_inputs()                    (optional) frees the items, just before complete().
// A broadcast operation (count, list, export, subscribe) runs once per shard:
//   run_shard(core, s), complete(core).
// Every part runs under its shard's gate; results are written to distinct slots, and the
// last part's completion happens after all writes (the parts counter orders them).

#include "engine_core.hpp"
#include "huge_pages.hpp"

#include <boost/asio/error.hpp>

#include <algorithm>
#include <array>

namespace taskorch::detail {

/// The per-item results of a batch, in request order, and its one completion.
template <class Result>
struct per_item_op : operation_base {
  using signature = void(error_code, std::vector<Result>);

  template <class Items>
  per_item_op(const Items& items, completion<signature> h) : done(std::move(h)) {
    results.reserve(items.size());  // one pass over the memory: no zeroing before the ids
    advise_fresh_huge_pages(results.data(), items.size() * sizeof(Result));
    for (const auto& item : items) results.push_back(Result{.id = item_id(item)});
  }
  void abort(std::size_t i) {
    results[i].error = asio::error::operation_aborted;
    aborted = true;
  }
  void complete(engine_core& core) {
    core.complete_here(done, aborted ? error_code(asio::error::operation_aborted) : error_code(),
                       std::move(results));
  }

  std::vector<Result> results;
  completion<signature> done;
};

/// Pause, resume and worker events: one state-machine event per item. The caller's items
/// are kept as given (pause_item, job_id or event_item): no copy into another form.
template <class Item>
struct command_op : per_item_op<item_result> {
  command_op(project_id p, task_event e, std::vector<Item> i, completion<signature> h)
      : per_item_op<item_result>(i, std::move(h)), project(p), event(e), items(std::move(i)) {}
  std::size_t size() const { return items.size(); }
  shard_index first_shard(const engine_core& core, std::size_t i) const {
    return core.home(item_id(items[i]));
  }
  const job_id& id_at(std::size_t i) const { return item_id(items[i]); }
  std::optional<shard_index> run(engine_core& core, shard_index s, std::size_t i) {
    const Item& item = items[i];
    outcome o =
        core.shard_at(s).apply(project, item_id(item), item_event(item, event), item_mode(item));
    results[i].error = o.error;
    return o.forward_to;
  }
  void release_inputs() { std::vector<Item>().swap(items); }

  project_id project;
  task_event event;  ///< pause or resume; worker events come with each item
  std::vector<Item> items;
};

/// Batch status: the state of each id.
struct status_op : per_item_op<status_result> {
  status_op(project_id p, std::vector<job_id> i, completion<signature> h)
      : per_item_op(i, std::move(h)), project(p), ids(std::move(i)) {}
  std::size_t size() const { return ids.size(); }
  shard_index first_shard(const engine_core& core, std::size_t i) const {
    return core.home(ids[i]);
  }
  const job_id& id_at(std::size_t i) const { return ids[i]; }
  std::optional<shard_index> run(engine_core& core, shard_index s, std::size_t i) {
    outcome o = core.shard_at(s).read_state(project, ids[i], results[i].state);
    results[i].error = o.error;
    return o.forward_to;
  }
  void release_inputs() { std::vector<job_id>().swap(ids); }

  project_id project;
  std::vector<job_id> ids;
};

/// One task's snapshot.
struct get_op : operation_base {
  get_op(project_id p, job_id i, completion<engine::snapshot_signature> h)
      : project(p), id(i), done(std::move(h)) {}
  std::size_t size() const { return 1; }
  shard_index first_shard(const engine_core& core, std::size_t) const { return core.home(id); }
  const job_id& id_at(std::size_t) const { return id; }
  std::optional<shard_index> run(engine_core& core, shard_index s, std::size_t) {
    outcome o = core.shard_at(s).read(project, id, snapshot);
    error = o.error;
    return o.forward_to;
  }
  void abort(std::size_t) { error = asio::error::operation_aborted; }
  void complete(engine_core& core) { core.complete_here(done, error, std::move(snapshot)); }

  project_id project;
  job_id id;
  error_code error;
  task_snapshot snapshot;
  completion<engine::snapshot_signature> done;
};

/// Purge: remove DELETED tasks; a purged family's stubs are erased on their home shards
/// before the operation completes.
struct purge_op : per_item_op<item_result> {
  struct progress {
    bool purged = false;
    std::uint8_t stubs_left = 0;
    std::array<job_id, 2> stubs;
  };

  purge_op(project_id p, std::vector<job_id> i, completion<signature> h)
      : per_item_op(i, std::move(h)), project(p), ids(std::move(i)), steps(ids.size()) {}
  std::size_t size() const { return ids.size(); }
  shard_index first_shard(const engine_core& core, std::size_t i) const {
    return core.home(ids[i]);
  }
  const job_id& id_at(std::size_t i) const { return ids[i]; }
  std::optional<shard_index> run(engine_core& core, shard_index s, std::size_t i) {
    progress& p = steps[i];
    if (!p.purged) {
      std::vector<job_id> children;
      outcome o = core.shard_at(s).purge(project, ids[i], children);
      if (o.forward_to) return o.forward_to;
      results[i].error = o.error;
      p.purged = true;
      for (const job_id& child : children) {
        if (core.home(child) != s) p.stubs[p.stubs_left++] = child;
      }
    } else {
      core.shard_at(s).erase_redirect(p.stubs[--p.stubs_left]);
    }
    if (p.stubs_left == 0) return std::nullopt;
    return core.home(p.stubs[p.stubs_left - 1]);
  }
  void release_inputs() {
    std::vector<job_id>().swap(ids);
    std::vector<progress>().swap(steps);
  }
  void abort(std::size_t i) {
    if (!steps[i].purged) results[i].error = asio::error::operation_aborted;  // else it ran
    aborted = true;
  }

  project_id project;
  std::vector<job_id> ids;
  std::vector<progress> steps;
};

/// Registration. A standalone task is inserted on its home shard. A family runs a chain:
/// a stub for each child whose home is not the family's shard, then the family itself on
/// the parent's home shard; when a step fails, the stubs already placed are erased.
struct register_op : per_item_op<item_result> {
  enum class step : std::uint8_t {
    forward_stub,
    backward_stub,
    family,
    undo_forward,
    undo_backward,
    done
  };
  struct progress {
    step next = step::forward_stub;
    bool forward_placed = false;
    bool backward_placed = false;
  };

  register_op(std::vector<registration> i, completion<signature> h)
      : per_item_op(i, std::move(h)), items(std::move(i)), steps(items.size()) {}
  std::size_t size() const { return items.size(); }
  shard_index first_shard(const engine_core& core, std::size_t i) {
    if (std::holds_alternative<task_spec>(items[i])) return core.home(id_of(items[i]));
    return *where(core, i);
  }
  const job_id& id_at(std::size_t i) const { return id_of(items[i]); }
  std::optional<shard_index> run(engine_core& core, shard_index s, std::size_t i) {
    if (const auto* task = std::get_if<task_spec>(&items[i])) {
      results[i].error = core.shard_at(s).insert(*task);
      return std::nullopt;
    }
    const auto& family = std::get<family_spec>(items[i]);
    progress& p = steps[i];
    for (std::optional<shard_index> at = where(core, i); at; at = where(core, i)) {
      if (*at != s) return at;
      shard& here = core.shard_at(s);
      const shard_index family_shard = core.home(family.id);
      switch (p.next) {
        case step::forward_stub:
          p.forward_placed = here.insert_redirect(family.forward.id, family_shard);
          p.next = p.forward_placed ? step::backward_stub : step::undo_forward;
          break;
        case step::backward_stub:
          p.backward_placed = here.insert_redirect(family.backward.id, family_shard);
          p.next = p.backward_placed ? step::family : step::undo_forward;
          break;
        case step::family:
          results[i].error = here.insert(family);
          p.next = results[i].error ? step::undo_forward : step::done;
          break;
        case step::undo_forward:
          if (!results[i].error) results[i].error = errc::task_exists;
          here.erase_redirect(family.forward.id);
          p.forward_placed = false;
          p.next = step::undo_backward;
          break;
        case step::undo_backward:
          here.erase_redirect(family.backward.id);
          p.backward_placed = false;
          p.next = step::done;
          break;
        case step::done:
          break;
      }
    }
    return std::nullopt;
  }
  void release_inputs() {
    std::vector<registration>().swap(items);
    std::vector<progress>().swap(steps);
  }
  // abort(): reached before an item's first step (abort is checked when a part starts) or
  // between steps of a family chain. Undoing needs the strands, which are stopping, so a
  // half-registered family's stubs stay, pointing at a shard without the family: they answer
  // task_not_found, as if absent.

  /// The shard of item i's next family step, skipping steps that need no work.
  std::optional<shard_index> where(const engine_core& core, std::size_t i) {
    const auto& family = std::get<family_spec>(items[i]);
    progress& p = steps[i];
    const shard_index family_shard = core.home(family.id);
    for (;;) {
      switch (p.next) {
        case step::forward_stub:
          if (core.home(family.forward.id) != family_shard) return core.home(family.forward.id);
          p.next = step::backward_stub;
          break;
        case step::backward_stub:
          if (core.home(family.backward.id) != family_shard) return core.home(family.backward.id);
          p.next = step::family;
          break;
        case step::family:
          return family_shard;
        case step::undo_forward:
          if (p.forward_placed) return core.home(family.forward.id);
          if (!results[i].error) results[i].error = errc::task_exists;
          p.next = step::undo_backward;
          break;
        case step::undo_backward:
          if (p.backward_placed) return core.home(family.backward.id);
          p.next = step::done;
          break;
        case step::done:
          return std::nullopt;
      }
    }
  }

  std::vector<registration> items;
  std::vector<progress> steps;
};

/// Counts by state, summed over the shards.
struct count_op : operation_base {
  count_op(std::size_t shards, completion<engine::counts_signature> h)
      : per_shard(shards), done(std::move(h)) {}
  void run_shard(engine_core& core, shard_index s) { core.shard_at(s).count(per_shard[s]); }
  void complete(engine_core& core) {
    state_counts total;
    for (const state_counts& c : per_shard) {
      for (std::size_t k = 0; k < task_state_count; ++k) total.tasks[k] += c.tasks[k];
      total.families += c.families;
    }
    core.complete_here(done, aborted ? error_code(asio::error::operation_aborted) : error_code(),
                       total);
  }
  std::vector<state_counts> per_shard;
  completion<engine::counts_signature> done;
};

/// Gathers one vector per shard, then merges them sorted by id.
template <class Value, class Signature>
struct gather_op : operation_base {
  gather_op(std::size_t shards, completion<Signature> h) : per_shard(shards), done(std::move(h)) {}
  template <class Id>
  void complete(engine_core& core, Id id_of_value) {
    std::vector<Value> all;
    std::size_t n = 0;
    for (const auto& part : per_shard) n += part.size();
    all.reserve(n);
    for (auto& part : per_shard) std::move(part.begin(), part.end(), std::back_inserter(all));
    std::sort(all.begin(), all.end(),
              [&](const Value& a, const Value& b) { return id_of_value(a) < id_of_value(b); });
    core.complete_here(done, aborted ? error_code(asio::error::operation_aborted) : error_code(),
                       std::move(all));
  }
  std::vector<std::vector<Value>> per_shard;
  completion<Signature> done;
};

/// A project's tasks.
struct list_op : gather_op<task_snapshot, engine::list_signature> {
  list_op(project_id p, std::size_t shards, completion<engine::list_signature> h)
      : gather_op(shards, std::move(h)), project(p) {}
  void run_shard(engine_core& core, shard_index s) { core.shard_at(s).list(project, per_shard[s]); }
  void complete(engine_core& core) {
    gather_op::complete(core, [](const task_snapshot& t) -> const job_id& { return t.id; });
  }
  project_id project;
};

/// The whole registry, as registrations.
struct export_op : gather_op<registration, engine::export_signature> {
  using gather_op::gather_op;
  void run_shard(engine_core& core, shard_index s) { core.shard_at(s).export_to(per_shard[s]); }
  void complete(engine_core& core) {
    gather_op::complete(core, [](const registration& r) -> const job_id& { return id_of(r); });
  }
};

}  // namespace taskorch::detail
