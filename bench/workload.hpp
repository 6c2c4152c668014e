#pragma once
// workload: the fleet, the id streams and the one-task step that every benchmarked
// implementation shares, so that they all do the same work.
//
// A fleet is N tasks of one project in mixed states (mostly transferring, some paused,
// failed, configured or stopped). Batches are windows of B consecutive ids of a fixed random
// permutation of the fleet, so every batch holds distinct ids and consecutive batches touch
// different parts of the registry. Each id is given both parsed (job_id) and as text
// (std::string), the form a hand-written registry keys on.
//
// Every implementation exposes:
//   explicit impl(const fleet&);
//   taskorch::batch_result command(batch_view, taskorch::task_event, taskorch::pause_mode);
//   std::vector<taskorch::status_result> status(batch_view);
// with results one per id, in request order, the same as taskorch::engine returns.

#include <taskorch/batch.hpp>
#include <taskorch/job_id.hpp>
#include <taskorch/pause_mode.hpp>
#include <taskorch/project_id.hpp>
#include <taskorch/task_event.hpp>
#include <taskorch/task_state.hpp>
#include <taskorch/transition_table.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace taskorch::bench {

/// The mutable part of one task, as every implementation stores it.
struct task_cell {
  task_state state = task_state::configuration;
  pause_mode mode = pause_mode::target;         ///< when paused
  task_state paused_from = task_state::paused;  ///< when paused
};

/// One task of the fleet.
struct fleet_task {
  job_id id;
  std::string text;
  task_cell cell;
};

/// The registry every implementation starts from: N tasks of one project.
struct fleet {
  project_id project;
  std::vector<fleet_task> tasks;
};

/// Makes a fleet of `n` tasks in mixed states; the same `seed` gives the same fleet.
fleet make_fleet(std::size_t n, std::uint64_t seed = 1);

/// Fisher-Yates with a fixed generator, so streams are the same in every run.
void shuffle(std::vector<std::size_t>& v, std::uint64_t seed);

/// The shard of `id` among `shards`, the way taskorch::engine places it (multiply-shift of
/// the id's hash), so pre-routed implementations split the fleet as the engine does.
inline std::size_t shard_of(const job_id& id, std::size_t shards) noexcept {
  __extension__ using wide = unsigned __int128;
  return static_cast<std::size_t>((static_cast<wide>(id.hash()) * shards) >> 64);
}

/// The ids of one batch, parsed and as text (same order, same length).
struct batch_view {
  std::span<const job_id> ids;
  std::span<const std::string> texts;
  std::size_t size() const noexcept { return ids.size(); }
};

/// A random permutation of a fleet's ids, extended so that every window of up to
/// `max_batch` ids is contiguous. Window k of size b starts at (k * b) mod N.
class id_stream {
 public:
  id_stream(const fleet& f, std::size_t max_batch, std::uint64_t seed = 2);
  /// Keeps only the ids for which `keep(id)` holds (a pre-routed stream for one shard).
  template <class Pred>
  id_stream(const fleet& f, std::size_t max_batch, std::uint64_t seed, Pred keep);

  /// The k-th batch of `b` ids; b must not exceed the stream's distinct ids or max_batch.
  batch_view window(std::size_t k, std::size_t b) const noexcept {
    const std::size_t start = (k * b) % distinct_;
    return {std::span(ids_).subspan(start, b), std::span(texts_).subspan(start, b)};
  }
  std::size_t distinct() const noexcept { return distinct_; }

 private:
  void build(const fleet& f, std::vector<std::size_t> order, std::size_t max_batch);
  std::size_t distinct_ = 0;
  std::vector<job_id> ids_;
  std::vector<std::string> texts_;
};

/// Applies `event` to one task by the engine's own lifecycle rules (taskorch::apply_event:
/// the guards, the transition table and its actions). Returns the item's error (empty on
/// success).
inline error_code step(task_cell& t, task_event event, pause_mode mode) noexcept {
  // The workload schedules no start: the cell keeps no start time (it stays as small as the
  // baselines' own cells).
  struct cell_view {
    task_state& state;
    pause_mode& mode;
    task_state& paused_from;
    wall_time start_time{};
    std::optional<task_event> awaiting;  // the baselines keep no worker confirmations
  } view{t.state, t.mode, t.paused_from};
  const step_outcome o = apply_event(view, task_role::standalone, event, {.mode = mode});
  return o.refusal == errc{} ? error_code() : make_error_code(o.refusal);
}

/// The operations of the `mixed` case, cycled per caller thread: a user's pause, status
/// reads, a retry, a worker's failure report and a second retry.
struct mixed_op {
  enum kind_t : std::uint8_t { command, status } kind;
  task_event event;
};
inline constexpr mixed_op mixed_cycle[] = {
    {mixed_op::command, task_event::pause},  {mixed_op::status, task_event::pause},
    {mixed_op::command, task_event::resume}, {mixed_op::command, task_event::transfer_failed},
    {mixed_op::status, task_event::pause},   {mixed_op::command, task_event::resume},
};

template <class Pred>
id_stream::id_stream(const fleet& f, std::size_t max_batch, std::uint64_t seed, Pred keep) {
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < f.tasks.size(); ++i) {
    if (keep(f.tasks[i].id)) order.push_back(i);
  }
  shuffle(order, seed);
  build(f, std::move(order), max_batch);
}

}  // namespace taskorch::bench
