#include <taskorch/engine.hpp>

// Helpers shared by the engine tests.
#include "engine_test_support.hpp"

#include <boost/system/system_error.hpp>
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

namespace taskorch::test {
namespace {

using S = task_state;
using E = task_event;

// =========================================================================================
// Pause (batch-pause-task)
// =========================================================================================

TEST(EnginePause, PausesEveryPausableStateWithEitherMode) {
  engine eng(small_options());
  std::map<job_id, std::pair<task_state, pause_mode>> expected;
  std::vector<task_spec> specs;
  std::vector<pause_item> items;
  for (task_state s : pausable_states()) {
    for (pause_mode m : {pause_mode::target, pause_mode::all}) {
      task_spec t = make_task(s);
      t.version = 10;
      specs.push_back(t);
      items.push_back({t.id, m});
      expected[t.id] = {s, m};
    }
  }
  register_ok(eng, registrations(specs));
  const batch_result r = eng.pause(kProject, items);
  expect_all_ok(r, ids_of(specs));
  for (const auto& [id, want] : expected) {
    const task_snapshot s = snap(eng, id);
    EXPECT_EQ(s.state, S::paused);
    ASSERT_TRUE(s.pause);
    EXPECT_EQ(s.pause->from, want.first);
    EXPECT_EQ(s.pause->mode, want.second);
    EXPECT_EQ(s.version, 11U);
  }
}

TEST(EnginePause, RefusesNonPausableStatesWithM00304) {
  engine eng(small_options());
  std::vector<task_spec> specs;
  for (task_state s : non_pausable_states()) specs.push_back(make_task(s));
  register_ok(eng, registrations(specs));
  for (const task_spec& t : specs) {
    const error_code ec = pause_one(eng, t.id, pause_mode::all);
    EXPECT_EQ(ec, errc::invalid_state) << to_string(t.state);
    const task_snapshot s = snap(eng, t.id);
    EXPECT_EQ(s.state, t.state);
    EXPECT_EQ(s.version, 0U);
    EXPECT_FALSE(s.pause);
  }
  // Exactly these six: configuration, waiting for start, starting, start failed, stopping,
  // stopped.
  EXPECT_EQ(specs.size(), 6U);
}

TEST(EnginePause, RePausingWithTheSameModeChangesNothing) {
  engine eng(small_options());
  const task_spec t = make_task(S::full_transfer_complete);
  register_ok(eng, {t});
  EXPECT_FALSE(pause_one(eng, t.id, pause_mode::target));
  const task_snapshot first = snap(eng, t.id);
  EXPECT_FALSE(pause_one(eng, t.id, pause_mode::target));
  EXPECT_EQ(snap(eng, t.id), first);

  const task_spec u = make_task(S::incremental_transfer);
  register_ok(eng, {u});
  EXPECT_FALSE(pause_one(eng, u.id, pause_mode::all));
  const task_snapshot all_first = snap(eng, u.id);
  EXPECT_FALSE(pause_one(eng, u.id, pause_mode::all));
  EXPECT_EQ(snap(eng, u.id), all_first);
}

TEST(EnginePause, TargetAfterAllKeepsAll) {
  engine eng(small_options());
  const task_spec t = make_task(S::incremental_transfer);
  register_ok(eng, {t});
  EXPECT_FALSE(pause_one(eng, t.id, pause_mode::all));
  const task_snapshot before = snap(eng, t.id);
  EXPECT_FALSE(pause_one(eng, t.id, pause_mode::target));
  const task_snapshot after = snap(eng, t.id);
  EXPECT_EQ(after, before);
  ASSERT_TRUE(after.pause);
  EXPECT_EQ(after.pause->mode, pause_mode::all);
}

TEST(EnginePause, AllAfterTargetRaisesToAll) {
  engine eng(small_options());
  const task_spec t = make_task(S::full_transfer_failed);
  register_ok(eng, {t});
  EXPECT_FALSE(pause_one(eng, t.id, pause_mode::target));
  EXPECT_EQ(snap(eng, t.id).version, 1U);
  EXPECT_FALSE(pause_one(eng, t.id, pause_mode::all));
  const task_snapshot s = snap(eng, t.id);
  EXPECT_EQ(s.state, S::paused);
  ASSERT_TRUE(s.pause);
  EXPECT_EQ(s.pause->mode, pause_mode::all);
  EXPECT_EQ(s.pause->from, S::full_transfer_failed) << "raising the mode keeps the history";
  EXPECT_EQ(s.version, 2U);
}

TEST(EnginePause, RegisteredPausedTaskFollowsTheSameModeRules) {
  engine eng(small_options());
  const task_spec target = make_paused_task(S::full_transfer, pause_mode::target);
  const task_spec all = make_paused_task(S::incremental_transfer_failed, pause_mode::all);
  register_ok(eng, {target, all});
  const batch_result r = eng.pause(
      kProject, {pause_item{target.id, pause_mode::all}, pause_item{all.id, pause_mode::target}});
  expect_all_ok(r, {target.id, all.id});
  EXPECT_EQ(snap(eng, target.id).pause, (pause_info{pause_mode::all, S::full_transfer}));
  EXPECT_EQ(snap(eng, target.id).version, 1U);
  EXPECT_EQ(snap(eng, all.id).pause, (pause_info{pause_mode::all, S::incremental_transfer_failed}));
  EXPECT_EQ(snap(eng, all.id).version, 0U);
}

TEST(EnginePause, ApplyingTheSameBatchTwiceLeavesTheSameRegistry) {
  engine eng(small_options());
  std::vector<registration> regs;
  std::vector<pause_item> items;
  int n = 0;
  for (task_state s : all_task_states) {
    for (pause_mode m : {pause_mode::target, pause_mode::all}) {
      const task_spec t = s == S::paused
                              ? make_paused_task(S::incremental_transfer,
                                                 n % 2 ? pause_mode::all : pause_mode::target)
                              : make_task(s);
      regs.emplace_back(t);
      items.push_back({t.id, m});
      ++n;
    }
  }
  for (const family_spec& f : make_families(8, S::incremental_transfer, S::full_transfer_failed)) {
    regs.emplace_back(f);
    items.push_back({f.id, pause_mode::all});
    items.push_back({f.forward.id, pause_mode::target});
    items.push_back({f.backward.id, pause_mode::all});
  }
  items.push_back({job_id::mint(), pause_mode::all});  // unknown
  register_ok(eng, regs);

  const batch_result first = eng.pause(kProject, items);
  const std::vector<registration> after_first = eng.export_snapshot();
  const batch_result second = eng.pause(kProject, items);
  const std::vector<registration> after_second = eng.export_snapshot();
  EXPECT_EQ(after_first, after_second);
  ASSERT_EQ(first.size(), second.size());
  for (std::size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(first[i].id, second[i].id);
    EXPECT_EQ(first[i].error, second[i].error) << "item " << i;
  }
}

TEST(EnginePause, ParentIsForbiddenWhateverItsChildrenStates) {
  engine eng(small_options());
  std::vector<family_spec> families;
  for (task_state f : all_task_states) {
    for (task_state b : all_task_states) families.push_back(make_family(f, b));
  }
  register_ok(eng, registrations(families));
  const std::vector<registration> before = eng.export_snapshot();
  std::vector<pause_item> items;
  for (const family_spec& f : families) items.push_back({f.id, pause_mode::target});
  const batch_result r = eng.pause(kProject, items);
  ASSERT_EQ(r.size(), families.size());
  for (std::size_t i = 0; i < r.size(); ++i) {
    EXPECT_EQ(r[i].id, families[i].id);
    EXPECT_EQ(r[i].error, errc::parent_task_forbidden)
        << to_string(families[i].forward.state) << "/" << to_string(families[i].backward.state);
  }
  EXPECT_EQ(eng.export_snapshot(), before) << "a refused parent pause changes nothing";
}

TEST(EnginePause, ChildrenArePausedIndividually) {
  engine eng(small_options());
  const std::vector<family_spec> families =
      make_families(40, S::incremental_transfer, S::full_transfer_complete);
  register_ok(eng, registrations(families));
  std::vector<pause_item> forward;
  for (const family_spec& f : families) forward.push_back({f.forward.id, pause_mode::all});
  expect_all_ok(eng.pause(kProject, forward));
  for (const family_spec& f : families) {
    const task_snapshot fwd = snap(eng, f.forward.id);
    EXPECT_EQ(fwd.state, S::paused);
    EXPECT_EQ(fwd.pause, (pause_info{pause_mode::all, S::incremental_transfer}));
    EXPECT_EQ(fwd.version, 1U);
    EXPECT_EQ(state_of(eng, f.backward.id), S::full_transfer_complete) << "sibling untouched";
    EXPECT_EQ(state_of(eng, f.id), S::paused) << "forward's state while not both paused";
  }
  std::vector<pause_item> backward;
  for (const family_spec& f : families) backward.push_back({f.backward.id, pause_mode::target});
  expect_all_ok(eng.pause(kProject, backward));
  for (const family_spec& f : families) {
    EXPECT_EQ(snap(eng, f.backward.id).pause,
              (pause_info{pause_mode::target, S::full_transfer_complete}));
    EXPECT_EQ(state_of(eng, f.id), S::paused);
  }
}

TEST(EnginePause, UnknownIdIsM05003) {
  engine eng(small_options());
  const job_id unknown = job_id::mint();
  const error_code ec = pause_one(eng, unknown);
  EXPECT_EQ(ec, errc::task_not_found);
}

TEST(EnginePause, AnotherProjectsTaskIsTreatedAsUnknown) {
  engine eng(small_options());
  const task_spec theirs = make_task(S::incremental_transfer, task_kind::sync, kOtherProject);
  const family_spec their_family = make_family(S::full_transfer, S::full_transfer, kOtherProject);
  register_ok(eng, {theirs, their_family});
  for (const job_id& id :
       {theirs.id, their_family.id, their_family.forward.id, their_family.backward.id}) {
    EXPECT_EQ(pause_one(eng, id), errc::task_not_found);
  }
  EXPECT_EQ(snap(eng, theirs.id, kOtherProject).state, S::incremental_transfer);
  EXPECT_EQ(snap(eng, their_family.forward.id, kOtherProject).state, S::full_transfer);
  // The owner can pause them.
  EXPECT_FALSE(pause_one(eng, theirs.id, pause_mode::target, kOtherProject));
}

TEST(EnginePause, DeletedTaskIsM05004UntilPurgedThenM05003) {
  engine eng(small_options());
  const task_spec t = make_task(S::deleted);
  register_ok(eng, {t});
  error_code ec = pause_one(eng, t.id);
  EXPECT_EQ(ec, errc::task_deleted);
  EXPECT_FALSE(purge_one(eng, t.id));
  ec = pause_one(eng, t.id);
  EXPECT_EQ(ec, errc::task_not_found);
}

TEST(EnginePause, DeletedFamilyChildIsM05004) {
  engine eng(small_options());
  const std::vector<family_spec> families = make_families(16, S::deleted, S::incremental_transfer);
  register_ok(eng, registrations(families));
  for (const family_spec& f : families) {
    EXPECT_EQ(pause_one(eng, f.forward.id), errc::task_deleted);
    EXPECT_FALSE(pause_one(eng, f.backward.id));
  }
}

TEST(EnginePause, ResultsComeOnePerItemInRequestOrder) {
  engine eng(small_options());
  const task_spec running = make_task(S::incremental_transfer);
  const task_spec configured = make_task(S::configuration);
  const task_spec deleted = make_task(S::deleted);
  const task_spec theirs = make_task(S::incremental_transfer, task_kind::sync, kOtherProject);
  const family_spec family = make_family();
  register_ok(eng, {running, configured, deleted, theirs, family});
  const job_id unknown = job_id::mint();

  std::vector<pause_item> items{
      {deleted.id, pause_mode::target},      {family.id, pause_mode::all},
      {running.id, pause_mode::target},      {unknown, pause_mode::target},
      {family.backward.id, pause_mode::all}, {configured.id, pause_mode::all},
      {theirs.id, pause_mode::target},       {family.forward.id, pause_mode::target},
  };
  // Many more runnable tasks spread over the shards, interleaved.
  std::vector<task_spec> more;
  for (int i = 0; i < 50; ++i) more.push_back(make_task(S::full_transfer));
  register_ok(eng, registrations(more));
  for (const task_spec& t : more) items.push_back({t.id, pause_mode::all});

  const batch_result r = eng.pause(kProject, items);
  ASSERT_EQ(r.size(), items.size());
  for (std::size_t i = 0; i < items.size(); ++i) EXPECT_EQ(r[i].id, items[i].id) << i;
  EXPECT_EQ(r[0].error, errc::task_deleted);
  EXPECT_EQ(r[1].error, errc::parent_task_forbidden);
  EXPECT_FALSE(r[2].error);
  EXPECT_EQ(r[3].error, errc::task_not_found);
  EXPECT_FALSE(r[4].error);
  EXPECT_EQ(r[5].error, errc::invalid_state);
  EXPECT_EQ(r[6].error, errc::task_not_found);
  EXPECT_FALSE(r[7].error);
  for (std::size_t i = 8; i < r.size(); ++i) EXPECT_FALSE(r[i].error) << i;
}

TEST(EnginePause, EmptyBatchIsRefused) {
  engine eng(small_options());
  error_code ec;
  const batch_result r = eng.pause(kProject, {}, ec);
  EXPECT_EQ(ec, errc::empty_batch);
  EXPECT_TRUE(r.empty());
  try {
    eng.pause(kProject, {});
    FAIL() << "expected a system_error";
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), errc::empty_batch);
  }
}

TEST(EnginePause, DuplicateIdRefusesTheBatchWithNothingApplied) {
  engine eng(small_options());
  std::vector<task_spec> specs;
  for (int i = 0; i < 40; ++i) specs.push_back(make_task(S::incremental_transfer));
  register_ok(eng, registrations(specs));
  // A small batch (pairwise check) and a large one (hashed check).
  for (std::size_t size : {3U, 40U}) {
    std::vector<pause_item> items;
    for (std::size_t i = 0; i < size; ++i) items.push_back({specs[i].id, pause_mode::all});
    items.push_back({specs[size / 2].id, pause_mode::target});
    error_code ec;
    const batch_result r = eng.pause(kProject, items, ec);
    EXPECT_EQ(ec, errc::duplicate_job_id) << size;
    EXPECT_TRUE(r.empty());
  }
  for (const task_spec& t : specs) EXPECT_EQ(state_of(eng, t.id), S::incremental_transfer);
}

TEST(EnginePause, ModeOutsideTheEnumRefusesTheBatchWithNothingApplied) {
  engine eng(small_options());
  const task_spec t = make_task(S::incremental_transfer);
  const task_spec u = make_task(S::full_transfer);
  register_ok(eng, {t, u});
  for (int v : {2, 0x80, 0xff}) {
    error_code ec;
    const batch_result r =
        eng.pause(kProject, {{t.id, pause_mode::all}, {u.id, static_cast<pause_mode>(v)}}, ec);
    EXPECT_EQ(ec, errc::invalid_item) << v;
    EXPECT_TRUE(r.empty());
  }
  EXPECT_EQ(state_of(eng, t.id), S::incremental_transfer);
  EXPECT_EQ(state_of(eng, u.id), S::full_transfer);
  EXPECT_EQ(snap(eng, t.id).version, 0U);
}

TEST(EnginePause, TooLargeBatchIsRefusedWithNothingApplied) {
  engine eng({.threads = 2, .shards = 4, .max_batch_items = 3});
  std::vector<task_spec> specs;
  for (int i = 0; i < 4; ++i) specs.push_back(make_task(S::incremental_transfer));
  register_ok(eng, registrations(specs));
  std::vector<pause_item> items;
  for (const task_spec& t : specs) items.push_back({t.id, pause_mode::target});
  error_code ec;
  const batch_result r = eng.pause(kProject, items, ec);
  EXPECT_EQ(ec, errc::batch_too_large);
  EXPECT_TRUE(r.empty());
  for (const task_spec& t : specs) EXPECT_EQ(state_of(eng, t.id), S::incremental_transfer);
  items.pop_back();
  expect_all_ok(eng.pause(kProject, items));
}

// =========================================================================================
// Resume (batch-retry-task)
// =========================================================================================

TEST(EngineResume, PausedGoesBackToItsPausedFromState) {
  engine eng(small_options());
  const std::map<task_state, task_state> expected{
      {S::full_transfer, S::full_transfer},
      {S::full_transfer_complete, S::full_transfer_complete},
      {S::incremental_transfer, S::incremental_transfer},
      {S::full_transfer_failed, S::full_transfer},                // a retry
      {S::incremental_transfer_failed, S::incremental_transfer},  // a retry
  };
  for (const auto& [from, to] : expected) {
    for (pause_mode m : {pause_mode::target, pause_mode::all}) {
      const task_spec t = make_paused_task(from, m);
      register_ok(eng, {t});
      EXPECT_FALSE(resume_one(eng, t.id));
      const task_snapshot s = snap(eng, t.id);
      EXPECT_EQ(s.state, to) << "paused from " << to_string(from);
      EXPECT_FALSE(s.pause);
      EXPECT_EQ(s.version, 1U);
    }
  }
}

TEST(EngineResume, PauseThenResumeRestoresEveryRunningState) {
  engine eng(small_options());
  for (task_state s : {S::full_transfer, S::full_transfer_complete, S::incremental_transfer}) {
    const task_spec t = make_task(s);
    register_ok(eng, {t});
    EXPECT_FALSE(pause_one(eng, t.id, pause_mode::all));
    EXPECT_FALSE(resume_one(eng, t.id));
    EXPECT_EQ(state_of(eng, t.id), s);
    EXPECT_EQ(snap(eng, t.id).version, 2U);
    // A second pause remembers afresh.
    EXPECT_FALSE(pause_one(eng, t.id));
    EXPECT_EQ(snap(eng, t.id).pause, (pause_info{pause_mode::target, s}));
  }
}

TEST(EngineResume, TransferFailedRetriesInTheSamePhase) {
  engine eng(small_options());
  const task_spec full = make_task(S::full_transfer_failed);
  const task_spec incr = make_task(S::incremental_transfer_failed);
  register_ok(eng, {full, incr});
  expect_all_ok(eng.resume(kProject, {full.id, incr.id}), {full.id, incr.id});
  EXPECT_EQ(state_of(eng, full.id), S::full_transfer);
  EXPECT_EQ(state_of(eng, incr.id), S::incremental_transfer);
}

TEST(EngineResume, StartFailedGoesBackToStarting) {
  engine eng(small_options());
  const task_spec t = make_task(S::start_failed);
  register_ok(eng, {t});
  EXPECT_FALSE(resume_one(eng, t.id));
  EXPECT_EQ(state_of(eng, t.id), S::starting);
  EXPECT_EQ(snap(eng, t.id).version, 1U);
}

TEST(EngineResume, RunningSucceedsUnchanged) {
  engine eng(small_options());
  for (task_state s : {S::full_transfer, S::full_transfer_complete, S::incremental_transfer}) {
    task_spec t = make_task(s);
    t.version = 7;
    register_ok(eng, {t});
    EXPECT_FALSE(resume_one(eng, t.id)) << to_string(s);
    const task_snapshot snapshot = snap(eng, t.id);
    EXPECT_EQ(snapshot.state, s);
    EXPECT_EQ(snapshot.version, 7U) << "no change, no new version";
  }
}

TEST(EngineResume, ParentIsM00307) {
  engine eng(small_options());
  std::vector<family_spec> families;
  for (task_state s :
       {S::paused, S::full_transfer_failed, S::start_failed, S::incremental_transfer}) {
    families.push_back(make_family(s, s));
  }
  register_ok(eng, registrations(families));
  for (const family_spec& f : families) {
    const error_code ec = resume_one(eng, f.id);
    EXPECT_EQ(ec, errc::parent_task_forbidden);
  }
}

TEST(EngineResume, ChildrenAreResumedIndividually) {
  engine eng(small_options());
  const std::vector<family_spec> families =
      make_families(24, S::paused, S::incremental_transfer_failed);
  register_ok(eng, registrations(families));
  std::vector<job_id> ids;
  for (const family_spec& f : families) {
    ids.push_back(f.forward.id);
    ids.push_back(f.backward.id);
  }
  expect_all_ok(eng.resume(kProject, ids), ids);
  for (const family_spec& f : families) {
    // make_child pauses from incremental_transfer.
    EXPECT_EQ(state_of(eng, f.forward.id), S::incremental_transfer);
    EXPECT_EQ(state_of(eng, f.backward.id), S::incremental_transfer);
  }
}

TEST(EngineResume, OtherStatesAreM00304) {
  engine eng(small_options());
  for (task_state s : {S::configuration, S::starting, S::stopping, S::stopped}) {
    const task_spec t = make_task(s);
    register_ok(eng, {t});
    const error_code ec = resume_one(eng, t.id);
    EXPECT_EQ(ec, errc::invalid_state) << to_string(s);
    EXPECT_EQ(state_of(eng, t.id), s);
  }
}

TEST(EngineResume, UnknownOtherProjectAndDeleted) {
  engine eng(small_options());
  const task_spec theirs = make_paused_task(S::full_transfer, pause_mode::target, kOtherProject);
  const task_spec deleted = make_task(S::deleted);
  register_ok(eng, {theirs, deleted});
  const job_id unknown = job_id::mint();
  const batch_result r = eng.resume(kProject, {unknown, theirs.id, deleted.id});
  ASSERT_EQ(r.size(), 3U);
  EXPECT_EQ(r[0].error, errc::task_not_found);
  EXPECT_EQ(r[1].error, errc::task_not_found);
  EXPECT_EQ(r[2].error, errc::task_deleted);
  EXPECT_EQ(snap(eng, theirs.id, kOtherProject).state, S::paused);
}

TEST(EngineResume, WholeBatchErrors) {
  engine eng({.threads = 2, .shards = 4, .max_batch_items = 2});
  const task_spec t = make_task(S::start_failed);
  register_ok(eng, {t});
  error_code ec;
  eng.resume(kProject, {}, ec);
  EXPECT_EQ(ec, errc::empty_batch);
  eng.resume(kProject, {t.id, t.id}, ec);
  EXPECT_EQ(ec, errc::duplicate_job_id);
  eng.resume(kProject, {t.id, job_id::mint(), job_id::mint()}, ec);
  EXPECT_EQ(ec, errc::batch_too_large);
  EXPECT_EQ(state_of(eng, t.id), S::start_failed) << "nothing applied";
  EXPECT_THROW(eng.resume(kProject, {}), boost::system::system_error);
}

// =========================================================================================
// Worker events (report), with the commands that lead a task along
// =========================================================================================

TEST(EngineReport, WalksTheWholeLifecycle) {
  engine eng(small_options());
  const task_spec t = make_task(S::configuration);
  register_ok(eng, {t});
  // Commands (batch-starting, batch-jobs) and workers' reports, each through its operation.
  const std::vector<std::pair<task_event, task_state>> steps{
      {E::start, S::starting},
      {E::start_succeeded, S::full_transfer},
      {E::full_transfer_done, S::full_transfer_complete},
      {E::incremental_started, S::incremental_transfer},
      {E::transfer_failed, S::incremental_transfer_failed},
      {E::stop, S::stopping},
      {E::stopped, S::stopped},
      {E::remove, S::deleted},
  };
  std::uint64_t version = 0;
  for (const auto& [event, state] : steps) {
    EXPECT_FALSE(send_one(eng, t.id, event)) << to_string(event);
    const task_snapshot s = snap(eng, t.id);
    EXPECT_EQ(s.state, state) << to_string(event);
    EXPECT_EQ(s.version, ++version);
  }
  EXPECT_EQ(delete_one(eng, t.id, delete_type::terminate), errc::task_deleted);
  EXPECT_EQ(report_one(eng, t.id, E::stopped), errc::task_deleted);
}

TEST(EngineReport, StartFailureAndFullTransferFailure) {
  engine eng(small_options());
  const task_spec a = make_task(S::starting);
  const task_spec b = make_task(S::full_transfer);
  register_ok(eng, {a, b});
  expect_all_ok(eng.report(
      kProject, {event_item{a.id, E::start_failed}, event_item{b.id, E::transfer_failed}}));
  EXPECT_EQ(state_of(eng, a.id), S::start_failed);
  EXPECT_EQ(state_of(eng, b.id), S::full_transfer_failed);
}

TEST(EngineReport, EventsNotAllowedInTheStateAreM00304) {
  engine eng(small_options());
  const task_spec t = make_task(S::incremental_transfer);
  register_ok(eng, {t});
  for (task_event e : {E::start, E::schedule_start, E::start_succeeded, E::start_failed,
                       E::full_transfer_done, E::incremental_started, E::stopped, E::remove}) {
    EXPECT_EQ(send_one(eng, t.id, e), errc::invalid_state) << to_string(e);
  }
  EXPECT_EQ(snap(eng, t.id).version, 0U);
  // A starting task cannot be terminated (only force-terminated), nor a stopping one deleted.
  const task_spec starting = make_task(S::starting);
  const task_spec stopping = make_task(S::stopping);
  register_ok(eng, {starting, stopping});
  EXPECT_EQ(delete_one(eng, starting.id, delete_type::terminate), errc::invalid_state);
  EXPECT_EQ(delete_one(eng, stopping.id, delete_type::remove), errc::invalid_state);
  EXPECT_EQ(delete_one(eng, stopping.id, delete_type::terminate), errc::invalid_state);
  EXPECT_EQ(state_of(eng, starting.id), S::starting);
  EXPECT_EQ(state_of(eng, stopping.id), S::stopping);
}

TEST(EngineReport, StopLeavesAPausedTaskAndForgetsThePause) {
  engine eng(small_options());
  const task_spec t = make_paused_task(S::incremental_transfer, pause_mode::all);
  register_ok(eng, {t});
  EXPECT_EQ(report_one(eng, t.id, E::transfer_failed), errc::invalid_state);
  EXPECT_FALSE(delete_one(eng, t.id, delete_type::terminate));
  const task_snapshot s = snap(eng, t.id);
  EXPECT_EQ(s.state, S::stopping);
  EXPECT_FALSE(s.pause);
}

TEST(EngineReport, OnlyTheSixWorkerEventsCanBeReported) {
  engine eng(small_options());
  const task_spec a = make_task(S::starting);
  const task_spec b = make_task(S::configuration);
  register_ok(eng, {a, b});
  // The commands, the schedule's start, and values the enum does not declare.
  for (task_event bad :
       {E::start, E::pause, E::resume, E::stop, E::remove, E::schedule_start, E::start_due,
        E::force_stop, static_cast<E>(task_event_count), static_cast<E>(0xff)}) {
    error_code ec;
    const batch_result r =
        eng.report(kProject, {event_item{a.id, E::start_succeeded}, event_item{b.id, bad}}, ec);
    EXPECT_EQ(ec, errc::not_a_worker_event) << static_cast<int>(bad);
    EXPECT_TRUE(r.empty());
    EXPECT_EQ(state_of(eng, a.id), S::starting) << "nothing applied";
    EXPECT_EQ(state_of(eng, b.id), S::configuration);
    EXPECT_THROW(eng.report(kProject, {event_item{b.id, bad}}), boost::system::system_error);
  }
  // The six a worker reports are accepted as a batch (each then meets the table).
  const task_spec c = make_task(S::full_transfer);
  register_ok(eng, {c});
  for (task_event e : {E::start_succeeded, E::start_failed, E::full_transfer_done,
                       E::incremental_started, E::transfer_failed, E::stopped}) {
    error_code ec;
    eng.report(kProject, {event_item{c.id, e}}, ec);
    EXPECT_FALSE(ec) << to_string(e) << ": " << ec.message();
  }
}

TEST(EngineReport, ParentDeletedUnknownAndOtherProject) {
  engine eng(small_options());
  const family_spec f = make_family(S::configuration, S::configuration);
  const task_spec deleted = make_task(S::deleted);
  const task_spec theirs = make_task(S::configuration, task_kind::sync, kOtherProject);
  register_ok(eng, {f, deleted, theirs});
  const job_id unknown = job_id::mint();
  const batch_result started =
      eng.start_tasks(kProject, {start_item{f.id}, start_item{deleted.id}, start_item{unknown},
                                 start_item{theirs.id}, start_item{f.forward.id, kFarStart}});
  ASSERT_EQ(started.size(), 5U);
  EXPECT_EQ(started[0].error, errc::parent_task_forbidden);
  EXPECT_EQ(started[1].error, errc::task_deleted);
  EXPECT_EQ(started[2].error, errc::task_not_found);
  EXPECT_EQ(started[3].error, errc::task_not_found);
  EXPECT_FALSE(started[4].error) << "a child is started on its own";
  const batch_result deleted_items =
      eng.delete_tasks(kProject, {delete_item{deleted.id, delete_type::terminate},
                                  delete_item{unknown, delete_type::force_terminate},
                                  delete_item{theirs.id, delete_type::remove},
                                  delete_item{f.backward.id, delete_type::remove}});
  ASSERT_EQ(deleted_items.size(), 4U);
  EXPECT_EQ(deleted_items[0].error, errc::task_deleted);
  EXPECT_EQ(deleted_items[1].error, errc::task_not_found);
  EXPECT_EQ(deleted_items[2].error, errc::task_not_found);
  EXPECT_EQ(deleted_items[3].error, errc::child_task_forbidden);
  const batch_result reported = eng.report(
      kProject, {event_item{f.id, E::stopped}, event_item{deleted.id, E::stopped},
                 event_item{unknown, E::start_failed}, event_item{theirs.id, E::start_succeeded}});
  ASSERT_EQ(reported.size(), 4U);
  EXPECT_EQ(reported[0].error, errc::parent_task_forbidden);
  EXPECT_EQ(reported[1].error, errc::task_deleted);
  EXPECT_EQ(reported[2].error, errc::task_not_found);
  EXPECT_EQ(reported[3].error, errc::task_not_found);
  EXPECT_EQ(state_of(eng, f.forward.id), S::waiting_for_start);
  EXPECT_EQ(state_of(eng, f.backward.id), S::configuration);
  EXPECT_EQ(snap(eng, theirs.id, kOtherProject).state, S::configuration);
}

TEST(EngineReport, FamilyChildrenMoveAlongAndTheParentFollows) {
  engine eng(small_options());
  const std::vector<family_spec> families = make_families(24, S::configuration, S::configuration);
  register_ok(eng, registrations(families));
  auto report_all = [&](task_event e, bool forward, bool backward) {
    std::vector<event_item> items;
    for (const family_spec& f : families) {
      if (forward) items.push_back({f.forward.id, e});
      if (backward) items.push_back({f.backward.id, e});
    }
    expect_all_ok(eng.report(kProject, items));
  };
  auto delete_all = [&](delete_type type) {
    std::vector<delete_item> items;
    for (const family_spec& f : families) items.push_back({f.id, type});
    expect_all_ok(eng.delete_tasks(kProject, items));
  };
  std::vector<start_item> starts;
  for (const family_spec& f : families) {
    starts.push_back({f.forward.id});
    starts.push_back({f.backward.id});
  }
  expect_all_ok(eng.start_tasks(kProject, starts));
  report_all(E::start_succeeded, true, false);
  report_all(E::start_failed, false, true);
  for (const family_spec& f : families) {
    EXPECT_EQ(state_of(eng, f.forward.id), S::full_transfer);
    EXPECT_EQ(state_of(eng, f.backward.id), S::start_failed);
    EXPECT_EQ(state_of(eng, f.id), S::start_failed) << "a failed child shows on the parent";
  }
  delete_all(delete_type::terminate);  // through the parent, both children at once
  for (const family_spec& f : families) {
    EXPECT_EQ(state_of(eng, f.forward.id), S::stopping);
    EXPECT_EQ(state_of(eng, f.backward.id), S::stopping);
  }
  report_all(E::stopped, true, false);
  for (const family_spec& f : families) {
    EXPECT_EQ(state_of(eng, f.id), S::stopped) << "the forward child's state";
    EXPECT_EQ(delete_one(eng, f.id, delete_type::remove), errc::invalid_state)
        << "the backward child is still stopping: neither is deleted";
    EXPECT_EQ(state_of(eng, f.forward.id), S::stopped);
  }
  report_all(E::stopped, false, true);
  delete_all(delete_type::remove);
  for (const family_spec& f : families) {
    EXPECT_EQ(state_of(eng, f.id), S::deleted);
    EXPECT_EQ(state_of(eng, f.forward.id), S::deleted);
    EXPECT_EQ(state_of(eng, f.backward.id), S::deleted);
  }
}

// =========================================================================================
// Purge
// =========================================================================================

TEST(EnginePurge, RemovesDeletedTasksForGood) {
  engine eng(small_options());
  std::vector<task_spec> specs;
  for (int i = 0; i < 30; ++i) specs.push_back(make_task(S::deleted));
  register_ok(eng, registrations(specs));
  EXPECT_EQ(eng.count()[S::deleted], 30U);
  expect_all_ok(eng.purge(kProject, ids_of(specs)), ids_of(specs));
  EXPECT_EQ(eng.count().total(), 0U);
  for (const task_spec& t : specs) {
    EXPECT_EQ(get_error(eng, t.id), errc::task_not_found);
    EXPECT_EQ(pause_one(eng, t.id), errc::task_not_found);
    EXPECT_EQ(purge_one(eng, t.id), errc::task_not_found);
  }
  const std::vector<status_result> st = eng.status(kProject, ids_of(specs));
  for (const status_result& s : st) EXPECT_EQ(s.error, errc::task_not_found);
  // The ids are free again.
  register_ok(eng, registrations(specs));
  EXPECT_EQ(eng.count()[S::deleted], 30U);
}

TEST(EnginePurge, OnlyDeletedTasksCanBePurged) {
  engine eng(small_options());
  for (task_state s : all_task_states) {
    if (s == S::deleted) continue;
    const task_spec t = make_task(s);
    register_ok(eng, {t});
    const error_code ec = purge_one(eng, t.id);
    EXPECT_EQ(ec, errc::invalid_state) << to_string(s);
    EXPECT_EQ(state_of(eng, t.id), s);
  }
}

TEST(EnginePurge, FamilyOnlyWhenBothChildrenAreDeleted) {
  engine eng(small_options());
  const std::vector<family_spec> half = make_families(16, S::deleted, S::stopped);
  const std::vector<family_spec> other_half = make_families(16, S::stopped, S::deleted);
  const std::vector<family_spec> both = make_families(32, S::deleted, S::deleted);
  register_ok(eng, registrations(half));
  register_ok(eng, registrations(other_half));
  register_ok(eng, registrations(both));
  for (const auto* group : {&half, &other_half}) {
    for (const family_spec& f : *group) {
      EXPECT_EQ(purge_one(eng, f.id), errc::invalid_state);
      EXPECT_EQ(snap(eng, f.id).role, task_role::parent);
    }
  }
  std::vector<job_id> parents;
  for (const family_spec& f : both) parents.push_back(f.id);
  expect_all_ok(eng.purge(kProject, parents), parents);
  for (const family_spec& f : both) {
    for (const job_id& id : {f.id, f.forward.id, f.backward.id}) {
      EXPECT_EQ(get_error(eng, id), errc::task_not_found);
      EXPECT_EQ(pause_one(eng, id), errc::task_not_found);
    }
  }
  const state_counts c = eng.count();
  EXPECT_EQ(c.families, 32U);
  EXPECT_EQ(c.total(), 32U * 3U);

  // Every id of the purged families (their children's redirect stubs included) is free:
  // the families register again, and so do standalone tasks with the children's ids.
  register_ok(eng, registrations(std::vector<family_spec>(both.begin(), both.begin() + 16)));
  std::vector<task_spec> reuse;
  for (auto it = both.begin() + 16; it != both.end(); ++it) {
    task_spec a = make_task(S::incremental_transfer);
    a.id = it->forward.id;
    task_spec b = make_task(S::incremental_transfer);
    b.id = it->backward.id;
    reuse.push_back(a);
    reuse.push_back(b);
  }
  register_ok(eng, registrations(reuse));
  for (const task_spec& t : reuse) EXPECT_FALSE(pause_one(eng, t.id));
}

TEST(EnginePurge, ChildIsForbidden) {
  engine eng(small_options());
  const std::vector<family_spec> families = make_families(24, S::deleted, S::deleted);
  register_ok(eng, registrations(families));
  for (const family_spec& f : families) {
    for (const job_id& child : {f.forward.id, f.backward.id}) {
      const error_code ec = purge_one(eng, child);
      EXPECT_EQ(ec, errc::child_task_forbidden);
    }
    EXPECT_EQ(state_of(eng, f.forward.id), S::deleted);
  }
}

TEST(EnginePurge, UnknownAndOtherProjectAreNotFound) {
  engine eng(small_options());
  const task_spec theirs = make_task(S::deleted, task_kind::sync, kOtherProject);
  const family_spec their_family = make_family(S::deleted, S::deleted, kOtherProject);
  register_ok(eng, {theirs, their_family});
  const batch_result r = eng.purge(kProject, {job_id::mint(), theirs.id, their_family.id});
  ASSERT_EQ(r.size(), 3U);
  for (const item_result& item : r) EXPECT_EQ(item.error, errc::task_not_found);
  EXPECT_EQ(snap(eng, theirs.id, kOtherProject).state, S::deleted);
  EXPECT_EQ(snap(eng, their_family.id, kOtherProject).role, task_role::parent);
}

TEST(EnginePurge, WholeBatchErrors) {
  engine eng({.threads = 2, .shards = 4, .max_batch_items = 2});
  const task_spec t = make_task(S::deleted);
  register_ok(eng, {t});
  error_code ec;
  eng.purge(kProject, {}, ec);
  EXPECT_EQ(ec, errc::empty_batch);
  eng.purge(kProject, {t.id, t.id}, ec);
  EXPECT_EQ(ec, errc::duplicate_job_id);
  eng.purge(kProject, {t.id, job_id::mint(), job_id::mint()}, ec);
  EXPECT_EQ(ec, errc::batch_too_large);
  EXPECT_EQ(state_of(eng, t.id), S::deleted) << "nothing applied";
  EXPECT_THROW(eng.purge(kProject, {}), boost::system::system_error);
}

}  // namespace
}  // namespace taskorch::test
