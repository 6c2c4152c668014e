#pragma once
// stress_driver: runs short rounds of overlapping batches against an engine and records
// every item of every batch as an operation on its task's history.
//
// A round registers a few fresh standalone tasks and dual-active families in random
// states, then several client threads, released together, issue random batches (pause
// with random modes, resume, worker events, workers' confirmations naming the awaited command
// or another or none, start now or at a far time, terminate / force terminate / delete,
// status, get; now and then for another project) on those shared tasks, each
// keeping up to `max_in_flight` batches outstanding. Every item becomes an operation of its history
// (one per standalone task, one per family), stamped with the batch's call (before initiation) and
// completion (first thing in the handler). The round ends with a status and a get of every id,
// recorded likewise.
//
//   taskorch::engine eng({.threads = 2, .shards = 3});
//   round_driver driver(eng, {}, seed);
//   round_record r = driver.run_round();
//   auto summary = check_round(r, {});
//
// Thread safety: a driver is used by one thread at a time; it starts its own clients.

#include "linearizability.hpp"
#include "task_model.hpp"
#include <taskorch/engine.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace taskorch::test {

/// One operation of a task's history.
using task_op = lin::operation<model_input, model_output>;

/// True in a ThreadSanitizer build.
constexpr bool under_tsan() noexcept {
#if defined(__SANITIZE_THREAD__)
  return true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
  return true;
#else
  return false;
#endif
#else
  return false;
#endif
}

/// Returns the environment variable `name` as a number, or `fallback` when it is unset or
/// not a number.
std::size_t env_or(const char* name, std::size_t fallback);

/// How rounds are shaped.
struct driver_options {
  std::size_t clients = 4;                    ///< client threads issuing batches
  std::size_t batches_per_client = 8;         ///< batches each client issues per round
  std::size_t max_in_flight = 2;              ///< batches a client keeps outstanding at most
  std::size_t standalone_tasks = 6;           ///< fresh standalone tasks per round
  std::size_t families = 1;                   ///< fresh dual-active families per round
  std::size_t unknown_ids = 1;                ///< ids never registered, mixed into batches
  std::size_t max_batch_items = 4;            ///< items per batch, at most
  double race_registration = 0.3;             ///< share of rounds registering while clients run
  double foreign_batches = 0.05;              ///< share of batches sent for another project
  std::chrono::milliseconds timeout{30'000};  ///< per batch, before the round fails
};

/// Where an id's operations go.
struct slot {
  std::size_t history = 0;
  member who = member::task;
};

/// What one round did.
struct round_record {
  /// One history per standalone task, then one per family, then one per unknown id.
  std::vector<std::vector<task_op>> histories;
  std::size_t task_histories = 0;                   ///< standalone tasks
  std::size_t family_histories = 0;                 ///< families
  std::vector<std::string> labels;                  ///< per history: its id(s)
  std::map<job_id, slot> slots;                     ///< every id of the round
  std::map<job_id, task_fields> initial;            ///< registered state of each task and child
  std::map<job_id, task_snapshot> final_snapshots;  ///< the final get of each id
  std::size_t batches = 0;
  std::vector<std::string> anomalies;  ///< malformed answers, timeouts
};

/// The totals of checking rounds.
struct check_summary {
  std::size_t histories = 0;  ///< task and family histories checked
  std::size_t task_histories = 0;
  std::size_t family_histories = 0;
  std::size_t unknown_id_histories = 0;
  std::size_t operations = 0;
  /// Operations the model accepts in every state they can meet (task_model::
  /// always_accepted), verified so and left out of the search.
  std::size_t state_independent = 0;
  std::size_t max_operations = 0;  ///< the longest history
  /// Operations whose interval overlaps one of another batch on the same history: the
  /// ones whose order the checker had to find.
  std::size_t concurrent_operations = 0;
  std::size_t illegal = 0;
  std::size_t unknown = 0;
  std::uint64_t steps = 0;
  std::uint64_t max_steps = 0;        ///< the most steps one history took
  std::size_t hard = 0;               ///< histories that took over 100,000 steps
  std::vector<std::string> failures;  ///< the first few illegal or unknown histories, shown
  void add(const check_summary& other);
};

/// Checks every history of `r` with the task model.
check_summary check_round(const round_record& r, const lin::options& opt,
                          std::size_t max_failures_shown = 3);

/// Renders a history and the checker's report on it, for a failure message.
std::string show_history(const std::vector<task_op>& history, const lin::report& rep,
                         const std::string& label);

/// Runs rounds against one engine.
class round_driver {
 public:
  round_driver(engine& eng, driver_options options, std::uint64_t seed);

  /// Runs one round; the engine must be running.
  round_record run_round();

  /// The project every round's tasks belong to.
  const project_id& project() const noexcept { return project_; }

 private:
  engine& engine_;
  driver_options options_;
  std::mt19937_64 rng_;
  project_id project_;
  project_id other_project_;
};

/// A random task state for registration, mostly ones where commands do something.
task_state random_state(std::mt19937_64& rng);
/// Pause info for a task registered as paused.
pause_info random_pause(std::mt19937_64& rng);
/// A start time far in the future (around 2100-01-01: the engine's schedule never fires it
/// during a test), one of a few, so that rescheduling meets the same time and another.
wall_time random_far_start(std::mt19937_64& rng);
/// The start time of a batch-starting item: none or one long past (start now), or a far one.
std::optional<wall_time> random_start_item_time(std::mt19937_64& rng);
/// One of the six events a worker reports, weighted towards those that keep tasks moving.
task_event random_event(std::mt19937_64& rng);
/// A delete type, terminate most often.
delete_type random_delete_type(std::mt19937_64& rng);
/// One of the six commands a worker carries out and confirms.
task_event random_awaitable(std::mt19937_64& rng);
/// The command a confirmation names: none half the time, else any that awaits a worker.
std::optional<task_event> random_confirms(std::mt19937_64& rng);
/// What a registered task awaits: mostly nothing, else any command that awaits a worker.
std::optional<task_event> random_awaiting(std::mt19937_64& rng);

}  // namespace taskorch::test
