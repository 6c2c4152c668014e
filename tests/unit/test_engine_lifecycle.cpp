// The DRS lifecycle commands: batch-starting (start now, or at a later time that the engine's
// schedule of starts keeps), batch-jobs (terminate, force terminate, delete), and how they
// reach the two children of a dual-active DR family: only through their parent, both at one
// instant or neither.

#include <taskorch/engine.hpp>

// Helpers shared by the engine tests.
#include "engine_test_support.hpp"

#include <boost/system/system_error.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace taskorch::test {
namespace {

using S = task_state;
using E = task_event;
using namespace std::chrono_literals;

/// How long a test waits at most for the schedule to start a task by itself.
constexpr std::chrono::seconds schedule_limit{10};

/// Polls `id` until it is in `state`, at most for `limit`; returns its last snapshot.
task_snapshot wait_for_state(engine& eng, const job_id& id, task_state state,
                             std::chrono::milliseconds limit = schedule_limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  task_snapshot s = snap(eng, id);
  while (s.state != state && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
    s = snap(eng, id);
  }
  return s;
}

/// Sleeps until the wall clock has passed `at`.
void sleep_past(wall_time at) {
  while (wall_now() <= at) std::this_thread::sleep_for(5ms);
}

/// Collects changes with the wall-clock time each was heard at.
class timed_recorder {
 public:
  change_callback callback() {
    return [this](const state_change& c) {
      const wall_time heard = wall_now();
      std::lock_guard lock(mutex_);
      changes_.emplace_back(c, heard);
    };
  }
  std::vector<std::pair<state_change, wall_time>> changes_of(const job_id& id) const {
    std::lock_guard lock(mutex_);
    std::vector<std::pair<state_change, wall_time>> out;
    for (const auto& c : changes_) {
      if (c.first.id == id) out.push_back(c);
    }
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::pair<state_change, wall_time>> changes_;
};

void expect_change(const state_change& c, task_state from, task_state to, task_event cause,
                   std::uint64_t sequence) {
  EXPECT_EQ(c.from, from);
  EXPECT_EQ(c.to, to);
  EXPECT_EQ(c.cause, cause);
  EXPECT_EQ(c.sequence, sequence);
  EXPECT_FALSE(c.mode);
}

// =========================================================================================
// Start (batch-starting)
// =========================================================================================

TEST(EngineStart, StartsNowWithoutATimeOrWithOneNotInTheFuture) {
  engine eng(small_options());
  const task_spec plain = make_task(S::configuration);
  const task_spec past = make_task(S::configuration);
  const task_spec long_past = make_task(S::configuration);
  const task_spec waiting = make_task(S::waiting_for_start);
  register_ok(eng, {plain, past, long_past, waiting});
  recorder rec;
  subscription sub = eng.subscribe(rec.callback());
  const std::vector<start_item> items{
      {plain.id},
      {past.id, wall_now() - 1h},
      {long_past.id, wall_time{} + 1ms},
      {waiting.id},  // started now, before its scheduled time
  };
  expect_all_ok(eng.start_tasks(kProject, items), {plain.id, past.id, long_past.id, waiting.id});
  for (const job_id& id : {plain.id, past.id, long_past.id, waiting.id}) {
    const task_snapshot s = snap(eng, id);
    EXPECT_EQ(s.state, S::starting);
    EXPECT_FALSE(s.start_time) << "a started task has no start time";
    EXPECT_EQ(s.version, 1U);
    const std::vector<state_change> got = rec.changes_of(id);
    ASSERT_EQ(got.size(), 1U);
    EXPECT_EQ(got[0].cause, E::start) << "a start time not in the future starts now";
    EXPECT_EQ(got[0].to, S::starting);
  }
  EXPECT_EQ(rec.changes_of(waiting.id)[0].from, S::waiting_for_start);
}

TEST(EngineStart, OnlyAConfiguredOrWaitingTaskStarts) {
  engine eng(small_options());
  std::vector<task_spec> specs;
  for (task_state s : all_task_states) {
    if (s != S::configuration && s != S::waiting_for_start) specs.push_back(make_task(s));
  }
  register_ok(eng, registrations(specs));
  for (const task_spec& t : specs) {
    const errc want = t.state == S::deleted ? errc::task_deleted : errc::invalid_state;
    EXPECT_EQ(start_one(eng, t.id), want) << to_string(t.state);
    EXPECT_EQ(start_one(eng, t.id, kFarStart), want) << to_string(t.state) << ", scheduled";
    const task_snapshot s = snap(eng, t.id);
    EXPECT_EQ(s.state, t.state);
    EXPECT_EQ(s.version, 0U);
    EXPECT_FALSE(s.start_time);
  }
}

TEST(EngineStart, AScheduledStartWaitsThenTheEngineStartsTheTaskByItself) {
  engine eng(small_options());
  task_spec t = make_task(S::configuration);
  t.version = 10;
  register_ok(eng, {t});
  timed_recorder rec;
  subscription sub = eng.subscribe(rec.callback());
  const wall_time at = wall_now() + 300ms;
  EXPECT_FALSE(start_one(eng, t.id, at));
  const task_snapshot waiting = snap(eng, t.id);
  EXPECT_EQ(waiting.state, S::waiting_for_start);
  EXPECT_EQ(drs_status(waiting.state), "WAITING_FOR_START");
  EXPECT_EQ(waiting.start_time, at);
  EXPECT_EQ(waiting.version, 11U);

  const task_snapshot started = wait_for_state(eng, t.id, S::starting);
  ASSERT_EQ(started.state, S::starting) << "not started within " << schedule_limit.count() << " s";
  EXPECT_FALSE(started.start_time);
  EXPECT_EQ(started.version, 12U);
  const auto got = rec.changes_of(t.id);
  ASSERT_EQ(got.size(), 2U);
  expect_change(got[0].first, S::configuration, S::waiting_for_start, E::schedule_start, 11);
  expect_change(got[1].first, S::waiting_for_start, S::starting, E::start_due, 12);
  EXPECT_GE(got[1].second, at) << "started before its time";
  // From here on the task is an ordinary starting task.
  EXPECT_FALSE(report_one(eng, t.id, E::start_succeeded));
  EXPECT_EQ(state_of(eng, t.id), S::full_transfer);
}

TEST(EngineStart, ARescheduledStartFiresAtTheNewTimeOnly) {
  engine eng(small_options());
  const task_spec t = make_task(S::configuration);
  register_ok(eng, {t});
  timed_recorder rec;
  subscription sub = eng.subscribe(rec.callback());
  const wall_time first = wall_now() + 300ms;
  const wall_time second = first + 1200ms;
  EXPECT_FALSE(start_one(eng, t.id, first));
  EXPECT_FALSE(start_one(eng, t.id, second));
  EXPECT_EQ(snap(eng, t.id).start_time, second);
  EXPECT_EQ(snap(eng, t.id).version, 2U) << "another time is a change";
  EXPECT_FALSE(start_one(eng, t.id, second));
  EXPECT_EQ(snap(eng, t.id).version, 2U) << "the same time again changes nothing";

  sleep_past(first + 400ms);
  EXPECT_EQ(state_of(eng, t.id), S::waiting_for_start) << "fired at the first time";
  const task_snapshot started = wait_for_state(eng, t.id, S::starting);
  ASSERT_EQ(started.state, S::starting);
  EXPECT_EQ(started.version, 3U);
  const auto got = rec.changes_of(t.id);
  ASSERT_EQ(got.size(), 3U);
  expect_change(got[0].first, S::configuration, S::waiting_for_start, E::schedule_start, 1);
  expect_change(got[1].first, S::waiting_for_start, S::waiting_for_start, E::schedule_start, 2);
  expect_change(got[2].first, S::waiting_for_start, S::starting, E::start_due, 3);
  EXPECT_GE(got[2].second, second);
}

TEST(EngineStart, ARescheduleToAnEarlierTimeFiresThen) {
  engine eng(small_options());
  const task_spec t = make_task(S::waiting_for_start);  // registered for kFarStart
  register_ok(eng, {t});
  EXPECT_EQ(snap(eng, t.id).start_time, kFarStart);
  const wall_time soon = wall_now() + 300ms;
  EXPECT_FALSE(start_one(eng, t.id, soon));
  EXPECT_EQ(snap(eng, t.id).start_time, soon);
  const task_snapshot started = wait_for_state(eng, t.id, S::starting);
  ASSERT_EQ(started.state, S::starting);
  EXPECT_EQ(started.version, 2U);
}

TEST(EngineStart, ARegisteredStartAlreadyDueFiresAtOnce) {
  engine eng(small_options());
  task_spec t = make_task(S::waiting_for_start);
  t.start_time = wall_now() - 1s;
  family_spec f = make_family(S::configuration, S::waiting_for_start);
  f.backward.start_time = wall_now() - 1min;
  register_ok(eng, {t, f});
  EXPECT_EQ(wait_for_state(eng, t.id, S::starting).state, S::starting);
  EXPECT_EQ(wait_for_state(eng, f.backward.id, S::starting).state, S::starting);
  EXPECT_EQ(state_of(eng, f.forward.id), S::configuration);
}

TEST(EngineStart, StartingNowBeforeTheScheduledTimeCancelsTheScheduledStart) {
  engine eng(small_options());
  const task_spec t = make_task(S::configuration);
  register_ok(eng, {t});
  timed_recorder rec;
  subscription sub = eng.subscribe(rec.callback());
  const wall_time at = wall_now() + 300ms;
  EXPECT_FALSE(start_one(eng, t.id, at));
  EXPECT_FALSE(start_one(eng, t.id));
  EXPECT_EQ(state_of(eng, t.id), S::starting);
  sleep_past(at + 400ms);
  const task_snapshot s = snap(eng, t.id);
  EXPECT_EQ(s.state, S::starting);
  EXPECT_EQ(s.version, 2U) << "the schedule's start changed nothing";
  const auto got = rec.changes_of(t.id);
  ASSERT_EQ(got.size(), 2U);
  EXPECT_EQ(got[1].first.cause, E::start);
}

TEST(EngineStart, FamilyChildrenAreScheduledOneByOneNotThroughTheirParent) {
  engine eng(small_options());
  const std::vector<family_spec> families = make_families(8, S::configuration, S::configuration);
  register_ok(eng, registrations(families));
  const wall_time at = wall_now() + 300ms;
  std::vector<start_item> parents;
  std::vector<start_item> forwards;
  for (const family_spec& f : families) {
    parents.push_back({f.id, at});
    forwards.push_back({f.forward.id, at});
  }
  const batch_result refused = eng.start_tasks(kProject, parents);
  ASSERT_EQ(refused.size(), families.size());
  for (const item_result& r : refused) EXPECT_EQ(r.error, errc::parent_task_forbidden);
  EXPECT_EQ(start_one(eng, families[0].id), errc::parent_task_forbidden);
  expect_all_ok(eng.start_tasks(kProject, forwards));
  for (const family_spec& f : families) {
    EXPECT_EQ(snap(eng, f.forward.id).start_time, at);
    EXPECT_EQ(state_of(eng, f.id), S::waiting_for_start) << "the forward child's state";
    EXPECT_FALSE(snap(eng, f.id).start_time) << "a parent has no start time of its own";
  }
  for (const family_spec& f : families) {
    EXPECT_EQ(wait_for_state(eng, f.forward.id, S::starting).state, S::starting);
    EXPECT_EQ(state_of(eng, f.backward.id), S::configuration);
  }
}

TEST(EngineStart, ExportedStartTimesRegisterAgain) {
  engine a(small_options());
  const task_spec t = make_task(S::configuration);
  const family_spec f = make_family(S::configuration, S::configuration);
  register_ok(a, {t, f});
  EXPECT_FALSE(start_one(a, t.id, kFarStart));
  EXPECT_FALSE(start_one(a, f.backward.id, kFarStart + 1ms));
  const std::vector<registration> exported = a.export_snapshot();
  bool seen_task = false;
  bool seen_family = false;
  for (const registration& r : exported) {
    if (const auto* task = std::get_if<task_spec>(&r)) {
      seen_task = true;
      EXPECT_EQ(task->state, S::waiting_for_start);
      EXPECT_EQ(task->start_time, kFarStart);
    } else if (const auto* family = std::get_if<family_spec>(&r)) {
      seen_family = true;
      EXPECT_FALSE(family->forward.start_time);
      EXPECT_EQ(family->backward.start_time, kFarStart + 1ms);
    }
  }
  EXPECT_TRUE(seen_task);
  EXPECT_TRUE(seen_family);
  engine b(small_options());
  register_ok(b, exported);
  EXPECT_EQ(b.export_snapshot(), exported);
  EXPECT_EQ(snap(b, f.backward.id).start_time, kFarStart + 1ms);
}

TEST(EngineStart, WholeBatchErrors) {
  engine eng({.threads = 2, .shards = 4, .max_batch_items = 2});
  const task_spec t = make_task(S::configuration);
  register_ok(eng, {t});
  error_code ec;
  eng.start_tasks(kProject, {}, ec);
  EXPECT_EQ(ec, errc::empty_batch);
  eng.start_tasks(kProject, {start_item{t.id}, start_item{t.id, kFarStart}}, ec);
  EXPECT_EQ(ec, errc::duplicate_job_id);
  eng.start_tasks(kProject,
                  {start_item{t.id}, start_item{job_id::mint()}, start_item{job_id::mint()}}, ec);
  EXPECT_EQ(ec, errc::batch_too_large);
  EXPECT_EQ(state_of(eng, t.id), S::configuration) << "nothing applied";
  EXPECT_THROW(eng.start_tasks(kProject, {}), boost::system::system_error);
  const batch_result r =
      eng.start_tasks(kProject, {start_item{job_id::mint()}, start_item{t.id}}, ec);
  EXPECT_FALSE(ec);
  ASSERT_EQ(r.size(), 2U);
  EXPECT_EQ(r[0].error, errc::task_not_found);
  EXPECT_FALSE(r[1].error);
}

// =========================================================================================
// Terminate, force terminate, delete (batch-jobs)
// =========================================================================================

TEST(EngineDelete, TerminateReleasesThroughTheWorker) {
  engine eng(small_options());
  const std::vector<task_state> allowed{S::configuration,          S::waiting_for_start,
                                        S::start_failed,           S::full_transfer,
                                        S::full_transfer_complete, S::incremental_transfer,
                                        S::full_transfer_failed,   S::incremental_transfer_failed};
  for (task_state from : allowed) {
    const task_spec t = make_task(from);
    register_ok(eng, {t});
    EXPECT_FALSE(delete_one(eng, t.id, delete_type::terminate)) << to_string(from);
    const task_snapshot s = snap(eng, t.id);
    EXPECT_EQ(s.state, S::stopping) << to_string(from);
    EXPECT_EQ(drs_status(s.state), "RELEASE_RESOURCE_STARTED");
    EXPECT_FALSE(s.start_time);
    EXPECT_EQ(s.version, 1U);
    EXPECT_FALSE(report_one(eng, t.id, E::stopped));
    EXPECT_EQ(state_of(eng, t.id), S::stopped);
  }
  const task_spec paused = make_paused_task(S::full_transfer_failed, pause_mode::all);
  register_ok(eng, {paused});
  EXPECT_FALSE(delete_one(eng, paused.id, delete_type::terminate));
  EXPECT_EQ(state_of(eng, paused.id), S::stopping);
  EXPECT_FALSE(snap(eng, paused.id).pause);
}

TEST(EngineDelete, TerminateIsRefusedWhileStartingStoppingOrStopped) {
  engine eng(small_options());
  for (task_state s : {S::starting, S::stopping, S::stopped}) {
    const task_spec t = make_task(s);
    register_ok(eng, {t});
    EXPECT_EQ(delete_one(eng, t.id, delete_type::terminate), errc::invalid_state) << to_string(s);
    EXPECT_EQ(snap(eng, t.id).version, 0U);
  }
}

TEST(EngineDelete, ForceTerminateReleasesAtOnce) {
  engine eng(small_options());
  recorder rec;
  subscription sub = eng.subscribe(rec.callback());
  for (task_state from : all_task_states) {
    const task_spec t =
        from == S::paused ? make_paused_task(S::incremental_transfer) : make_task(from);
    register_ok(eng, {t});
    const error_code ec = delete_one(eng, t.id, delete_type::force_terminate);
    if (from == S::stopped) {
      EXPECT_EQ(ec, errc::invalid_state);
      continue;
    }
    if (from == S::deleted) {
      EXPECT_EQ(ec, errc::task_deleted);
      continue;
    }
    EXPECT_FALSE(ec) << to_string(from);
    const task_snapshot s = snap(eng, t.id);
    EXPECT_EQ(s.state, S::stopped) << to_string(from);
    EXPECT_EQ(drs_status(s.state), "RELEASE_RESOURCE_COMPLETE");
    EXPECT_FALSE(s.pause);
    EXPECT_FALSE(s.start_time);
    EXPECT_EQ(s.version, 1U);
    const std::vector<state_change> got = rec.changes_of(t.id);
    ASSERT_EQ(got.size(), 1U);
    expect_change(got[0], from, S::stopped, E::force_stop, 1);
  }
}

TEST(EngineDelete, DeleteANeverStartedOrStoppedTaskOnly) {
  engine eng(small_options());
  for (task_state from : all_task_states) {
    const task_spec t = from == S::paused ? make_paused_task(S::full_transfer) : make_task(from);
    register_ok(eng, {t});
    const error_code ec = delete_one(eng, t.id, delete_type::remove);
    if (from == S::configuration || from == S::waiting_for_start || from == S::stopped) {
      EXPECT_FALSE(ec) << to_string(from);
      const task_snapshot s = snap(eng, t.id);
      EXPECT_EQ(s.state, S::deleted);
      EXPECT_FALSE(s.start_time);
      EXPECT_EQ(s.version, 1U);
      EXPECT_FALSE(purge_one(eng, t.id)) << "a deleted task can be purged";
      EXPECT_EQ(get_error(eng, t.id), errc::task_not_found);
    } else if (from == S::deleted) {
      EXPECT_EQ(ec, errc::task_deleted);
    } else {
      EXPECT_EQ(ec, errc::invalid_state) << to_string(from) << ": DRS.M00304";
      EXPECT_EQ(state_of(eng, t.id), from);
      EXPECT_EQ(snap(eng, t.id).version, 0U);
    }
  }
}

TEST(EngineDelete, TerminatingOrDeletingAWaitingTaskCancelsItsStart) {
  engine eng(small_options());
  const task_spec terminated = make_task(S::configuration);
  const task_spec forced = make_task(S::configuration);
  const task_spec removed = make_task(S::configuration);
  register_ok(eng, {terminated, forced, removed});
  recorder rec;
  subscription sub = eng.subscribe(rec.callback());
  const wall_time at = wall_now() + 300ms;
  expect_all_ok(eng.start_tasks(kProject, {start_item{terminated.id, at}, start_item{forced.id, at},
                                           start_item{removed.id, at}}));
  expect_all_ok(eng.delete_tasks(kProject, {delete_item{terminated.id, delete_type::terminate},
                                            delete_item{forced.id, delete_type::force_terminate},
                                            delete_item{removed.id, delete_type::remove}}));
  sleep_past(at + 400ms);
  const std::vector<std::pair<job_id, task_state>> expected{
      {terminated.id, S::stopping}, {forced.id, S::stopped}, {removed.id, S::deleted}};
  for (const auto& [id, state] : expected) {
    const task_snapshot s = snap(eng, id);
    EXPECT_EQ(s.state, state) << "the scheduled start never fires";
    EXPECT_FALSE(s.start_time);
    EXPECT_EQ(s.version, 2U);
    for (const state_change& c : rec.changes_of(id)) EXPECT_NE(c.cause, E::start_due);
  }
}

TEST(EngineDelete, WholeBatchErrors) {
  engine eng({.threads = 2, .shards = 4, .max_batch_items = 2});
  const task_spec t = make_task(S::configuration);
  const task_spec u = make_task(S::configuration);
  register_ok(eng, {t, u});
  error_code ec;
  eng.delete_tasks(kProject, {}, ec);
  EXPECT_EQ(ec, errc::empty_batch);
  eng.delete_tasks(kProject, {delete_item{t.id}, delete_item{t.id, delete_type::remove}}, ec);
  EXPECT_EQ(ec, errc::duplicate_job_id);
  eng.delete_tasks(
      kProject, {delete_item{t.id}, delete_item{job_id::mint()}, delete_item{job_id::mint()}}, ec);
  EXPECT_EQ(ec, errc::batch_too_large);
  for (int v : {3, 0x80, 0xff}) {
    const batch_result r = eng.delete_tasks(
        kProject, {delete_item{t.id}, delete_item{u.id, static_cast<delete_type>(v)}}, ec);
    EXPECT_EQ(ec, errc::invalid_item) << v;
    EXPECT_TRUE(r.empty());
  }
  EXPECT_EQ(state_of(eng, t.id), S::configuration) << "nothing applied";
  EXPECT_EQ(state_of(eng, u.id), S::configuration);
  EXPECT_THROW(eng.delete_tasks(kProject, {}), boost::system::system_error);
}

// =========================================================================================
// Families: terminate, force terminate and delete go through the parent
// =========================================================================================

TEST(EngineFamilyDelete, ParentTerminateStopsBothChildrenAtOnce) {
  engine eng(small_options());
  const family_spec one = make_family(S::incremental_transfer, S::full_transfer_failed);
  register_ok(eng, {one});
  recorder rec;
  subscription sub = eng.subscribe(rec.callback());
  EXPECT_FALSE(delete_one(eng, one.id, delete_type::terminate));
  const std::vector<state_change> got = rec.changes();
  ASSERT_EQ(got.size(), 2U) << "one change per child, none for the parent";
  EXPECT_EQ(got[0].id, one.forward.id);
  expect_change(got[0], S::incremental_transfer, S::stopping, E::stop, 1);
  EXPECT_EQ(got[1].id, one.backward.id);
  expect_change(got[1], S::full_transfer_failed, S::stopping, E::stop, 1);
  EXPECT_EQ(snap(eng, one.forward.id).version, 1U);
  EXPECT_EQ(snap(eng, one.backward.id).version, 1U);
  EXPECT_EQ(state_of(eng, one.id), S::stopping);

  // Many families, their children spread over other shards than their parents'.
  const std::vector<family_spec> families = make_families(40, S::waiting_for_start, S::paused);
  register_ok(eng, registrations(families));
  std::vector<delete_item> items;
  for (const family_spec& f : families) items.push_back({f.id, delete_type::terminate});
  expect_all_ok(eng.delete_tasks(kProject, items));
  for (const family_spec& f : families) {
    for (const job_id& child : {f.forward.id, f.backward.id}) {
      const task_snapshot s = snap(eng, child);
      EXPECT_EQ(s.state, S::stopping);
      EXPECT_FALSE(s.pause);
      EXPECT_FALSE(s.start_time);
      EXPECT_EQ(s.version, 1U);
      ASSERT_EQ(rec.changes_of(child).size(), 1U);
      EXPECT_EQ(rec.changes_of(child)[0].cause, E::stop);
    }
    EXPECT_TRUE(rec.changes_of(f.id).empty());
  }
}

TEST(EngineFamilyDelete, AChildRefusesWithM00308) {
  engine eng(small_options());
  const std::vector<family_spec> families = make_families(16, S::configuration, S::stopped);
  register_ok(eng, registrations(families));
  const std::vector<registration> before = eng.export_snapshot();
  for (delete_type type :
       {delete_type::terminate, delete_type::force_terminate, delete_type::remove}) {
    std::vector<delete_item> items;
    for (const family_spec& f : families) {
      items.push_back({f.forward.id, type});
      items.push_back({f.backward.id, type});
    }
    const batch_result r = eng.delete_tasks(kProject, items);
    ASSERT_EQ(r.size(), items.size());
    for (std::size_t i = 0; i < r.size(); ++i) {
      EXPECT_EQ(r[i].id, items[i].id);
      EXPECT_EQ(r[i].error, errc::child_task_forbidden) << to_string(type) << " item " << i;
    }
  }
  EXPECT_EQ(eng.export_snapshot(), before) << "nothing changed";
}

TEST(EngineFamilyDelete, WhenOneChildCannotNeitherChanges) {
  engine eng(small_options());
  struct scenario {
    task_state forward;
    task_state backward;
    delete_type type;
    errc refusal;  // the forward child's refusal answers first, then the backward's
  };
  const std::vector<scenario> scenarios{
      {S::stopped, S::incremental_transfer, delete_type::terminate, errc::invalid_state},
      {S::incremental_transfer, S::stopped, delete_type::terminate, errc::invalid_state},
      {S::starting, S::full_transfer, delete_type::terminate, errc::invalid_state},
      {S::stopped, S::full_transfer, delete_type::force_terminate, errc::invalid_state},
      {S::stopped, S::stopping, delete_type::remove, errc::invalid_state},
      {S::incremental_transfer, S::stopped, delete_type::remove, errc::invalid_state},
      {S::deleted, S::incremental_transfer, delete_type::terminate, errc::task_deleted},
      {S::incremental_transfer, S::deleted, delete_type::terminate, errc::task_deleted},
      {S::deleted, S::starting, delete_type::terminate, errc::task_deleted},
      {S::starting, S::deleted, delete_type::terminate, errc::invalid_state},
      {S::deleted, S::stopped, delete_type::remove, errc::task_deleted},
  };
  recorder rec;
  subscription sub = eng.subscribe(rec.callback());
  for (const scenario& sc : scenarios) {
    const family_spec f = make_family(sc.forward, sc.backward);
    register_ok(eng, {f});
    EXPECT_EQ(delete_one(eng, f.id, sc.type), sc.refusal)
        << to_string(sc.forward) << "/" << to_string(sc.backward) << " " << to_string(sc.type);
    EXPECT_EQ(snap(eng, f.forward.id).state, sc.forward);
    EXPECT_EQ(snap(eng, f.backward.id).state, sc.backward);
    EXPECT_EQ(snap(eng, f.forward.id).version, 0U);
    EXPECT_EQ(snap(eng, f.backward.id).version, 0U);
  }
  EXPECT_TRUE(rec.changes().empty()) << "a refused family command changes no child";
}

TEST(EngineFamilyDelete, ForceTerminateThenDeleteThenPurge) {
  engine eng(small_options());
  const std::vector<family_spec> families = make_families(24, S::starting, S::incremental_transfer);
  register_ok(eng, registrations(families));
  std::vector<delete_item> force;
  std::vector<delete_item> remove;
  std::vector<job_id> parents;
  for (const family_spec& f : families) {
    force.push_back({f.id, delete_type::force_terminate});
    remove.push_back({f.id, delete_type::remove});
    parents.push_back(f.id);
  }
  expect_all_ok(eng.delete_tasks(kProject, force));
  for (const family_spec& f : families) {
    EXPECT_EQ(state_of(eng, f.id), S::stopped);
    EXPECT_EQ(state_of(eng, f.forward.id), S::stopped);
    EXPECT_EQ(state_of(eng, f.backward.id), S::stopped);
    EXPECT_EQ(purge_one(eng, f.id), errc::invalid_state) << "stopped is not deleted";
  }
  expect_all_ok(eng.delete_tasks(kProject, remove));
  for (const family_spec& f : families) {
    EXPECT_EQ(state_of(eng, f.id), S::deleted);
    EXPECT_EQ(snap(eng, f.forward.id).version, 2U);
    EXPECT_EQ(snap(eng, f.backward.id).version, 2U);
  }
  const batch_result again = eng.delete_tasks(kProject, remove);
  for (const item_result& r : again) EXPECT_EQ(r.error, errc::task_deleted);
  expect_all_ok(eng.purge(kProject, parents), parents);
  for (const family_spec& f : families) {
    for (const job_id& id : {f.id, f.forward.id, f.backward.id}) {
      EXPECT_EQ(get_error(eng, id), errc::task_not_found);
    }
  }
  EXPECT_EQ(eng.count().total(), 0U);
}

TEST(EngineFamilyDelete, DeleteAStoppedFamilyThenPurgeIt) {
  engine eng(small_options());
  const family_spec f = make_family(S::stopped, S::stopped);
  const family_spec never_started = make_family(S::configuration, S::waiting_for_start);
  register_ok(eng, {f, never_started});
  recorder rec;
  subscription sub = eng.subscribe(rec.callback());
  expect_all_ok(eng.delete_tasks(kProject, {delete_item{f.id, delete_type::remove},
                                            delete_item{never_started.id, delete_type::remove}}));
  for (const family_spec& fam : {f, never_started}) {
    EXPECT_EQ(state_of(eng, fam.forward.id), S::deleted);
    EXPECT_EQ(state_of(eng, fam.backward.id), S::deleted);
    EXPECT_FALSE(snap(eng, fam.backward.id).start_time);
    EXPECT_EQ(rec.changes_of(fam.forward.id).size(), 1U);
    EXPECT_EQ(rec.changes_of(fam.backward.id).size(), 1U);
  }
  expect_all_ok(eng.purge(kProject, {f.id, never_started.id}));
  EXPECT_EQ(eng.count().total(), 0U);
}

TEST(EngineFamilyDelete, AnotherProjectsFamilyIsUnknown) {
  engine eng(small_options());
  const family_spec theirs = make_family(S::stopped, S::stopped, kOtherProject);
  register_ok(eng, {theirs});
  for (const job_id& id : {theirs.id, theirs.forward.id, theirs.backward.id}) {
    EXPECT_EQ(delete_one(eng, id, delete_type::remove), errc::task_not_found);
  }
  EXPECT_EQ(snap(eng, theirs.forward.id, kOtherProject).state, S::stopped);
  EXPECT_FALSE(delete_one(eng, theirs.id, delete_type::remove, kOtherProject));
  EXPECT_EQ(snap(eng, theirs.backward.id, kOtherProject).state, S::deleted);
}

}  // namespace
}  // namespace taskorch::test
