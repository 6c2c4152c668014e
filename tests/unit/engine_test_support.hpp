#pragma once
// Helpers shared by the engine unit tests: fixed projects, spec builders, and printers that
// make GoogleTest failures readable.

#include <taskorch/engine.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <variant>
#include <vector>

namespace taskorch {

// Printers found by GoogleTest through argument-dependent lookup.
inline void PrintTo(const job_id& id, std::ostream* os) { *os << id.to_string(); }
inline void PrintTo(const project_id& id, std::ostream* os) { *os << id.to_string(); }
inline void PrintTo(task_state s, std::ostream* os) { *os << to_string(s); }
inline void PrintTo(task_event e, std::ostream* os) { *os << to_string(e); }
inline void PrintTo(pause_mode m, std::ostream* os) { *os << to_string(m); }
inline void PrintTo(task_role r, std::ostream* os) { *os << to_string(r); }
inline void PrintTo(errc e, std::ostream* os) {
  *os << "errc(" << static_cast<int>(e) << ") " << make_error_code(e).message();
}
inline void PrintTo(const pause_info& p, std::ostream* os) {
  *os << "{" << to_string(p.mode) << " from " << to_string(p.from) << "}";
}

namespace test {

inline const project_id kProject = *project_id::parse("054ba152d480d55b2f5dc0069e7ddef0");
inline const project_id kOtherProject = *project_id::parse("0123456789abcdef0123456789abcdef");

/// Small engine: two threads, four shards, so that random ids spread over shards.
inline engine_options small_options() { return {.threads = 2, .shards = 4}; }

/// A start time far in the future (2100-01-01): a task registered waiting for it never starts
/// during a test.
inline constexpr wall_time kFarStart{std::chrono::milliseconds(4'102'444'800'000)};

/// The start time a spec in `state` needs to be consistent.
inline std::optional<wall_time> start_for(task_state state, wall_time at = kFarStart) {
  if (state != task_state::waiting_for_start) return std::nullopt;
  return at;
}

/// The pause info a spec in `state` needs to be consistent.
inline std::optional<pause_info> pause_for(task_state state,
                                           pause_info info = {pause_mode::target,
                                                              task_state::incremental_transfer}) {
  if (state != task_state::paused) return std::nullopt;
  return info;
}

inline task_spec make_task(task_state state = task_state::configuration,
                           task_kind kind = task_kind::migration,
                           const project_id& project = kProject) {
  return task_spec{.id = job_id::mint(),
                   .project = project,
                   .kind = kind,
                   .state = state,
                   .pause = pause_for(state),
                   .start_time = start_for(state),
                   .name = {},
                   .version = 0};
}

inline task_spec make_paused_task(task_state from, pause_mode mode = pause_mode::target,
                                  const project_id& project = kProject) {
  task_spec t = make_task(task_state::paused, task_kind::sync, project);
  t.pause = pause_info{mode, from};
  return t;
}

inline child_spec make_child(task_state state) {
  return child_spec{.id = job_id::mint(),
                    .state = state,
                    .pause = pause_for(state),
                    .start_time = start_for(state),
                    .version = 0};
}

inline family_spec make_family(task_state forward = task_state::incremental_transfer,
                               task_state backward = task_state::incremental_transfer,
                               const project_id& project = kProject) {
  return family_spec{.id = job_id::mint(),
                     .project = project,
                     .name = "dual-active",
                     .forward = make_child(forward),
                     .backward = make_child(backward)};
}

/// `count` families, enough that with four shards most children live on a shard other than
/// their parent's (the engine places a task by the hash of its id).
inline std::vector<family_spec> make_families(
    std::size_t count, task_state forward = task_state::incremental_transfer,
    task_state backward = task_state::incremental_transfer) {
  std::vector<family_spec> out;
  for (std::size_t i = 0; i < count; ++i) out.push_back(make_family(forward, backward));
  return out;
}

template <class Spec>
std::vector<registration> registrations(const std::vector<Spec>& specs) {
  return {specs.begin(), specs.end()};
}

inline std::vector<job_id> ids_of(const std::vector<task_spec>& specs) {
  std::vector<job_id> ids;
  for (const auto& s : specs) ids.push_back(s.id);
  return ids;
}

/// Collects a subscription's changes, from any thread.
class recorder {
 public:
  change_callback callback() {
    return [this](const state_change& c) {
      std::lock_guard lock(mutex_);
      changes_.push_back(c);
    };
  }
  std::vector<state_change> changes() const {
    std::lock_guard lock(mutex_);
    return changes_;
  }
  std::vector<state_change> changes_of(const job_id& id) const {
    std::vector<state_change> out;
    for (const state_change& c : changes()) {
      if (c.id == id) out.push_back(c);
    }
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<state_change> changes_;
};

/// Checks that every item succeeded, and that the results name `ids` in order.
inline void expect_all_ok(const batch_result& results, const std::vector<job_id>& ids) {
  ASSERT_EQ(results.size(), ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(results[i].id, ids[i]) << "item " << i;
    EXPECT_FALSE(results[i].error) << "item " << i << ": " << results[i].error.message();
  }
}

inline void expect_all_ok(const batch_result& results) {
  for (std::size_t i = 0; i < results.size(); ++i) {
    EXPECT_FALSE(results[i].error) << "item " << i << ": " << results[i].error.message();
  }
}

/// Registers and checks that everything succeeded.
inline void register_ok(engine& eng, std::vector<registration> items) {
  std::vector<job_id> ids;
  for (const auto& r : items) ids.push_back(id_of(r));
  expect_all_ok(eng.register_tasks(std::move(items)), ids);
}

inline task_snapshot snap(engine& eng, const job_id& id, const project_id& project = kProject) {
  return eng.get(project, id);
}

inline task_state state_of(engine& eng, const job_id& id) { return eng.get(kProject, id).state; }

/// The error of a single-item pause.
inline error_code pause_one(engine& eng, const job_id& id, pause_mode mode = pause_mode::target,
                            const project_id& project = kProject) {
  const batch_result r = eng.pause(project, {pause_item{id, mode}});
  EXPECT_EQ(r.size(), 1U);
  return r.empty() ? error_code() : r[0].error;
}

inline error_code resume_one(engine& eng, const job_id& id, const project_id& project = kProject) {
  const batch_result r = eng.resume(project, {id});
  EXPECT_EQ(r.size(), 1U);
  return r.empty() ? error_code() : r[0].error;
}

inline error_code report_one(engine& eng, const job_id& id, task_event event,
                             const project_id& project = kProject) {
  const batch_result r = eng.report(project, {event_item{id, event}});
  EXPECT_EQ(r.size(), 1U);
  return r.empty() ? error_code() : r[0].error;
}

/// The error of a single-item start: now without `at`, else at `at`.
inline error_code start_one(engine& eng, const job_id& id, std::optional<wall_time> at = {},
                            const project_id& project = kProject) {
  const batch_result r = eng.start_tasks(project, {start_item{id, at}});
  EXPECT_EQ(r.size(), 1U);
  return r.empty() ? error_code() : r[0].error;
}

/// The error of a single-item delete (terminate, force terminate or delete).
inline error_code delete_one(engine& eng, const job_id& id, delete_type type,
                             const project_id& project = kProject) {
  const batch_result r = eng.delete_tasks(project, {delete_item{id, type}});
  EXPECT_EQ(r.size(), 1U);
  return r.empty() ? error_code() : r[0].error;
}

/// Sends `event` to `id` the way a client sends it: a command through its own operation
/// (schedule_start for kFarStart), a worker's event through report. start_due, which only
/// the engine's schedule sends, goes to report, which refuses it.
inline error_code send_one(engine& eng, const job_id& id, task_event event,
                           const project_id& project = kProject) {
  switch (event) {
    case task_event::start:
      return start_one(eng, id, std::nullopt, project);
    case task_event::schedule_start:
      return start_one(eng, id, kFarStart, project);
    case task_event::pause:
      return pause_one(eng, id, pause_mode::target, project);
    case task_event::resume:
      return resume_one(eng, id, project);
    case task_event::stop:
      return delete_one(eng, id, delete_type::terminate, project);
    case task_event::force_stop:
      return delete_one(eng, id, delete_type::force_terminate, project);
    case task_event::remove:
      return delete_one(eng, id, delete_type::remove, project);
    case task_event::start_succeeded:
    case task_event::start_failed:
    case task_event::full_transfer_done:
    case task_event::incremental_started:
    case task_event::transfer_failed:
    case task_event::stopped:
    case task_event::start_due:
    case task_event::confirm:
      break;
  }
  return report_one(eng, id, event, project);
}

inline error_code purge_one(engine& eng, const job_id& id, const project_id& project = kProject) {
  const batch_result r = eng.purge(project, {id});
  EXPECT_EQ(r.size(), 1U);
  return r.empty() ? error_code() : r[0].error;
}

/// The error of getting `id`: task_not_found once it is unknown.
inline error_code get_error(engine& eng, const job_id& id, const project_id& project = kProject) {
  error_code ec;
  eng.get(project, id, ec);
  return ec;
}

/// The states in which a pause is refused with invalid_state: every state but the pausable
/// ones, `paused` (re-pausing succeeds) and `deleted` (task_deleted).
inline std::vector<task_state> non_pausable_states() {
  std::vector<task_state> out;
  for (task_state s : all_task_states) {
    if (!is_pausable(s) && s != task_state::paused && s != task_state::deleted) out.push_back(s);
  }
  return out;
}

inline std::vector<task_state> pausable_states() {
  std::vector<task_state> out;
  for (task_state s : all_task_states) {
    if (is_pausable(s)) out.push_back(s);
  }
  return out;
}

}  // namespace test
}  // namespace taskorch
