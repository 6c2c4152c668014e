#include <taskorch/engine.hpp>

// Helpers shared by the engine tests.
#include "engine_test_support.hpp"

#include <boost/system/system_error.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace taskorch::test {
namespace {

using S = task_state;
using E = task_event;

/// The parent aggregate as docs/behaviour.md words it (written independently of parent_state()).
task_state expected_aggregate(task_state forward, task_state backward) {
  auto failed = [](task_state s) {
    return s == S::start_failed || s == S::full_transfer_failed ||
           s == S::incremental_transfer_failed;
  };
  if (failed(forward)) return forward;
  if (failed(backward)) return backward;
  if (forward == S::paused && backward == S::paused) return S::paused;
  return forward;
}

// =========================================================================================
// Status
// =========================================================================================

TEST(EngineStatus, ReportsEachStateInRequestOrder) {
  engine eng(small_options());
  std::vector<task_spec> specs;
  for (task_state s : all_task_states) {
    for (int i = 0; i < 5; ++i) specs.push_back(make_task(s));
  }
  register_ok(eng, registrations(specs));
  std::vector<job_id> ids = ids_of(specs);
  std::reverse(ids.begin(), ids.end());
  const std::vector<status_result> r = eng.status(kProject, ids);
  ASSERT_EQ(r.size(), ids.size());
  std::map<job_id, task_state> want;
  for (const task_spec& t : specs) want[t.id] = t.state;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(r[i].id, ids[i]);
    EXPECT_FALSE(r[i].error);
    EXPECT_EQ(r[i].state, want[ids[i]]);
  }
}

TEST(EngineStatus, DeletedIsShown) {
  engine eng(small_options());
  const task_spec t = make_task(S::stopped);
  register_ok(eng, {t});
  EXPECT_FALSE(delete_one(eng, t.id, delete_type::remove));
  const std::vector<status_result> r = eng.status(kProject, {t.id});
  ASSERT_EQ(r.size(), 1U);
  EXPECT_FALSE(r[0].error);
  EXPECT_EQ(drs_status(r[0].state), "DELETED");
}

TEST(EngineStatus, UnknownAndOtherProjectAreItemsNotBatchErrors) {
  engine eng(small_options());
  const task_spec mine = make_task(S::full_transfer);
  const task_spec theirs = make_task(S::full_transfer, task_kind::sync, kOtherProject);
  const family_spec their_family = make_family(S::paused, S::paused, kOtherProject);
  register_ok(eng, {mine, theirs, their_family});
  const job_id unknown = job_id::mint();
  error_code ec;
  const std::vector<status_result> r = eng.status(
      kProject, {unknown, mine.id, theirs.id, their_family.id, their_family.forward.id}, ec);
  EXPECT_FALSE(ec);
  ASSERT_EQ(r.size(), 5U);
  EXPECT_EQ(r[0].id, unknown);
  EXPECT_EQ(r[0].error, errc::task_not_found);
  EXPECT_FALSE(r[1].error);
  EXPECT_EQ(r[1].state, S::full_transfer);
  EXPECT_EQ(r[2].error, errc::task_not_found);
  EXPECT_EQ(r[3].error, errc::task_not_found);
  EXPECT_EQ(r[4].error, errc::task_not_found);
}

TEST(EngineStatus, ParentShowsTheAggregateOfItsChildren) {
  engine eng(small_options());
  std::vector<family_spec> families;
  for (task_state f : all_task_states) {
    for (task_state b : all_task_states) families.push_back(make_family(f, b));
  }
  register_ok(eng, registrations(families));
  std::vector<job_id> parents;
  for (const family_spec& f : families) parents.push_back(f.id);
  const std::vector<status_result> r = eng.status(kProject, parents);
  ASSERT_EQ(r.size(), families.size());
  for (std::size_t i = 0; i < r.size(); ++i) {
    const family_spec& f = families[i];
    const task_state want = expected_aggregate(f.forward.state, f.backward.state);
    EXPECT_FALSE(r[i].error);
    EXPECT_EQ(r[i].state, want) << to_string(f.forward.state) << "/" << to_string(f.backward.state);
    EXPECT_EQ(snap(eng, f.id).state, want);
  }
}

TEST(EngineStatus, AggregateExamplesFromTheDrsRules) {
  engine eng(small_options());
  const family_spec both_failed = make_family(S::incremental_transfer_failed, S::start_failed);
  const family_spec backward_failed = make_family(S::incremental_transfer, S::full_transfer_failed);
  const family_spec both_paused = make_family(S::paused, S::paused);
  const family_spec one_paused = make_family(S::incremental_transfer, S::paused);
  const family_spec running = make_family(S::full_transfer_complete, S::incremental_transfer);
  register_ok(eng, {both_failed, backward_failed, both_paused, one_paused, running});
  const std::vector<status_result> r = eng.status(
      kProject, {both_failed.id, backward_failed.id, both_paused.id, one_paused.id, running.id});
  ASSERT_EQ(r.size(), 5U);
  EXPECT_EQ(drs_status(r[0].state), "INCRE_TRANSFER_FAILED");
  EXPECT_EQ(drs_status(r[1].state), "FULL_TRANSFER_FAILED");
  EXPECT_EQ(drs_status(r[2].state), "PAUSING");
  EXPECT_EQ(drs_status(r[3].state), "INCRE_TRANSFER_STARTED");
  EXPECT_EQ(drs_status(r[4].state), "FULL_TRANSFER_COMPLETE");
}

TEST(EngineStatus, ChildrenReportTheirOwnStates) {
  engine eng(small_options());
  const std::vector<family_spec> families = make_families(32, S::incremental_transfer, S::stopping);
  register_ok(eng, registrations(families));
  std::vector<job_id> ids;
  for (const family_spec& f : families) {
    ids.push_back(f.backward.id);
    ids.push_back(f.id);
    ids.push_back(f.forward.id);
  }
  const std::vector<status_result> r = eng.status(kProject, ids);
  ASSERT_EQ(r.size(), ids.size());
  for (std::size_t i = 0; i < r.size(); i += 3) {
    EXPECT_EQ(r[i].id, ids[i]);
    EXPECT_EQ(r[i].state, S::stopping);
    EXPECT_EQ(r[i + 1].state, S::incremental_transfer);
    EXPECT_EQ(r[i + 2].state, S::incremental_transfer);
  }
}

TEST(EngineStatus, WholeBatchErrors) {
  engine eng({.threads = 2, .shards = 4, .max_batch_items = 2});
  const job_id a = job_id::mint();
  error_code ec;
  eng.status(kProject, {}, ec);
  EXPECT_EQ(ec, errc::empty_batch);
  eng.status(kProject, {a, a}, ec);
  EXPECT_EQ(ec, errc::duplicate_job_id);
  eng.status(kProject, {a, job_id::mint(), job_id::mint()}, ec);
  EXPECT_EQ(ec, errc::batch_too_large);
  EXPECT_THROW(eng.status(kProject, {}), boost::system::system_error);
}

// =========================================================================================
// Get, list, count
// =========================================================================================

TEST(EngineGet, UnknownAndOtherProjectAreTaskNotFound) {
  engine eng(small_options());
  const task_spec theirs = make_task(S::configuration, task_kind::sync, kOtherProject);
  register_ok(eng, {theirs});
  EXPECT_EQ(get_error(eng, job_id::mint()), errc::task_not_found);
  EXPECT_EQ(get_error(eng, theirs.id), errc::task_not_found);
  try {
    eng.get(kProject, theirs.id);
    FAIL() << "expected a system_error";
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), errc::task_not_found);
  }
  EXPECT_EQ(snap(eng, theirs.id, kOtherProject).kind, task_kind::sync);
}

TEST(EngineGet, ShowsPauseInfoOnlyWhilePaused) {
  engine eng(small_options());
  const task_spec t = make_task(S::incremental_transfer_failed);
  register_ok(eng, {t});
  EXPECT_FALSE(snap(eng, t.id).pause);
  EXPECT_FALSE(pause_one(eng, t.id, pause_mode::all));
  EXPECT_EQ(snap(eng, t.id).pause, (pause_info{pause_mode::all, S::incremental_transfer_failed}));
  EXPECT_FALSE(resume_one(eng, t.id));
  EXPECT_FALSE(snap(eng, t.id).pause);
}

TEST(EngineList, ListsAProjectsTasksSortedById) {
  engine eng(small_options());
  std::vector<registration> mine;
  std::set<job_id> expected;
  for (int i = 0; i < 40; ++i) {
    task_spec t = make_task(S::full_transfer);
    t.name = "task-" + std::to_string(i);
    expected.insert(t.id);
    mine.emplace_back(t);
  }
  for (const family_spec& f : make_families(10)) {
    expected.insert({f.id, f.forward.id, f.backward.id});
    mine.emplace_back(f);
  }
  register_ok(eng, mine);
  register_ok(eng, {make_task(S::full_transfer, task_kind::sync, kOtherProject),
                    make_family(S::paused, S::paused, kOtherProject)});

  const std::vector<task_snapshot> list = eng.list(kProject);
  ASSERT_EQ(list.size(), expected.size());
  std::size_t i = 0;
  for (const job_id& id : expected) {  // std::set iterates in id order
    EXPECT_EQ(list[i].id, id);
    EXPECT_EQ(list[i].project, kProject);
    EXPECT_EQ(list[i], snap(eng, id));
    ++i;
  }
  std::size_t parents = 0;
  for (const task_snapshot& s : list) parents += s.role == task_role::parent ? 1 : 0;
  EXPECT_EQ(parents, 10U);
  EXPECT_EQ(eng.list(kOtherProject).size(), 4U);
  EXPECT_TRUE(eng.list(*project_id::parse("ffffffffffffffffffffffffffffffff")).empty());
}

TEST(EngineCount, CountsByStateWithParentsByTheirAggregate) {
  engine eng(small_options());
  std::vector<registration> regs;
  std::array<std::size_t, task_state_count> want{};
  for (task_state s : all_task_states) {
    const std::size_t n = static_cast<std::size_t>(s) + 1;
    for (std::size_t i = 0; i < n; ++i)
      regs.emplace_back(make_task(s, task_kind::sync, i % 2 ? kProject : kOtherProject));
    want[static_cast<std::size_t>(s)] += n;
  }
  for (const family_spec& f : make_families(7, S::paused, S::paused)) regs.emplace_back(f);
  want[static_cast<std::size_t>(S::paused)] += 7 * 3;
  for (const family_spec& f : make_families(5, S::incremental_transfer, S::full_transfer_failed)) {
    regs.emplace_back(f);
  }
  want[static_cast<std::size_t>(S::incremental_transfer)] += 5;
  want[static_cast<std::size_t>(S::full_transfer_failed)] += 5 + 5;  // backward child + parent
  register_ok(eng, regs);

  const state_counts c = eng.count();
  EXPECT_EQ(c.families, 12U);
  std::size_t total = 0;
  for (task_state s : all_task_states) {
    EXPECT_EQ(c[s], want[static_cast<std::size_t>(s)]) << to_string(s);
    total += want[static_cast<std::size_t>(s)];
  }
  EXPECT_EQ(c.total(), total);
}

TEST(EngineCount, FollowsCommands) {
  engine eng(small_options());
  std::vector<task_spec> specs;
  for (int i = 0; i < 20; ++i) specs.push_back(make_task(S::incremental_transfer));
  register_ok(eng, registrations(specs));
  std::vector<pause_item> items;
  for (int i = 0; i < 8; ++i)
    items.push_back({specs[static_cast<std::size_t>(i)].id, pause_mode::target});
  expect_all_ok(eng.pause(kProject, items));
  const state_counts c = eng.count();
  EXPECT_EQ(c[S::paused], 8U);
  EXPECT_EQ(c[S::incremental_transfer], 12U);
  EXPECT_EQ(c.total(), 20U);
}

TEST(EngineCount, BulkLoadOfTwoHundredThousandTasks) {
  engine eng(small_options());
  constexpr std::size_t n = 200'000;
  std::vector<registration> regs;
  regs.reserve(n);
  std::array<std::size_t, task_state_count> want{};
  for (std::size_t i = 0; i < n; ++i) {
    const task_state s = all_task_states[i % task_state_count];
    regs.emplace_back(make_task(s, static_cast<task_kind>(i % 3)));
    ++want[static_cast<std::size_t>(s)];
  }
  const batch_result r = eng.register_tasks(std::move(regs));
  ASSERT_EQ(r.size(), n);
  std::size_t failed = 0;
  for (const item_result& item : r) failed += item.ok() ? 0 : 1;
  EXPECT_EQ(failed, 0U);
  const state_counts c = eng.count();
  EXPECT_EQ(c.total(), n);
  EXPECT_EQ(c.families, 0U);
  for (task_state s : all_task_states) EXPECT_EQ(c[s], want[static_cast<std::size_t>(s)]);
  EXPECT_EQ(eng.list(kProject).size(), n);
}

// =========================================================================================
// Export and re-registration
// =========================================================================================

std::vector<registration> varied_registry() {
  std::vector<registration> regs;
  std::uint64_t version = 1;
  for (task_state s : all_task_states) {
    for (task_kind k : {task_kind::migration, task_kind::sync, task_kind::cloud_data_guard}) {
      task_spec t = make_task(s, k, version % 2 ? kProject : kOtherProject);
      t.name = version % 3 ? "named-" + std::to_string(version) : "";
      t.version = version++;
      if (s == S::paused) {
        t.pause = pause_info{version % 2 ? pause_mode::all : pause_mode::target,
                             pausable_states()[version % pausable_states().size()]};
      }
      if (s == S::waiting_for_start) t.start_time = kFarStart + std::chrono::milliseconds(version);
      regs.emplace_back(t);
    }
  }
  for (task_state f : all_task_states) {
    for (task_state b : {S::paused, S::incremental_transfer, S::deleted, S::start_failed}) {
      family_spec fam = make_family(f, b, version % 2 ? kProject : kOtherProject);
      fam.name = version % 3 ? "" : "family-" + std::to_string(version);
      fam.forward.version = version++;
      fam.backward.version = version++;
      if (b == S::paused) fam.backward.pause = pause_info{pause_mode::all, S::full_transfer_failed};
      if (f == S::waiting_for_start) {
        fam.forward.start_time = kFarStart - std::chrono::milliseconds(version);
      }
      regs.emplace_back(fam);
    }
  }
  return regs;
}

std::vector<registration> sorted_by_id(std::vector<registration> regs) {
  std::sort(regs.begin(), regs.end(),
            [](const registration& a, const registration& b) { return id_of(a) < id_of(b); });
  return regs;
}

TEST(EngineExport, ExportsExactlyWhatWasRegisteredSortedById) {
  engine eng(small_options());
  const std::vector<registration> regs = varied_registry();
  register_ok(eng, regs);
  const std::vector<registration> exported = eng.export_snapshot();
  EXPECT_EQ(exported, sorted_by_id(regs));
}

TEST(EngineExport, RoundTripsThroughAFreshEngine) {
  engine a(small_options());
  register_ok(a, varied_registry());
  // Move some tasks along so that versions, pause info and names differ from registration.
  const std::vector<task_snapshot> listed = a.list(kProject);
  std::vector<pause_item> pauses;
  for (const task_snapshot& s : listed) {
    if (s.role != task_role::parent) pauses.push_back({s.id, pause_mode::all});
  }
  a.pause(kProject, pauses);
  const std::vector<registration> first = a.export_snapshot();
  ASSERT_FALSE(first.empty());

  engine b({.threads = 3, .shards = 7});  // another layout
  register_ok(b, first);
  const std::vector<registration> second = b.export_snapshot();
  EXPECT_EQ(second, first);
  EXPECT_EQ(b.export_snapshot(), second) << "exporting twice gives the same document";

  for (const project_id& p : {kProject, kOtherProject}) {
    EXPECT_EQ(b.list(p), a.list(p));
  }
  const state_counts ca = a.count();
  const state_counts cb = b.count();
  EXPECT_EQ(ca.tasks, cb.tasks);
  EXPECT_EQ(ca.families, cb.families);
}

TEST(EngineExport, RoundTripKeepsFamiliesCommandable) {
  engine a(small_options());
  const std::vector<family_spec> families = make_families(20, S::incremental_transfer, S::paused);
  register_ok(a, registrations(families));
  engine b(small_options());
  register_ok(b, a.export_snapshot());
  for (const family_spec& f : families) {
    EXPECT_EQ(pause_one(b, f.id), errc::parent_task_forbidden);
    EXPECT_FALSE(pause_one(b, f.forward.id));
    EXPECT_EQ(state_of(b, f.id), S::paused);
    EXPECT_FALSE(resume_one(b, f.backward.id));
    EXPECT_EQ(snap(b, f.backward.id).version, 1U);
  }
}

TEST(EngineExport, PurgedTasksAreNotExported) {
  engine eng(small_options());
  const task_spec keep = make_task(S::incremental_transfer);
  const task_spec gone = make_task(S::deleted);
  const family_spec gone_family = make_family(S::deleted, S::deleted);
  register_ok(eng, {keep, gone, gone_family});
  expect_all_ok(eng.purge(kProject, {gone.id, gone_family.id}));
  const std::vector<registration> exported = eng.export_snapshot();
  ASSERT_EQ(exported.size(), 1U);
  EXPECT_EQ(id_of(exported[0]), keep.id);
}

TEST(EngineExport, EmptyEngineExportsNothing) {
  engine eng(small_options());
  EXPECT_TRUE(eng.export_snapshot().empty());
  EXPECT_EQ(eng.count().total(), 0U);
}

// =========================================================================================
// Subscriptions
// =========================================================================================

TEST(EngineSubscribe, DeliversEveryChangeWithCauseAndSequence) {
  engine eng(small_options());
  task_spec t = make_task(S::configuration);
  t.version = 100;
  register_ok(eng, {t});
  recorder rec;
  subscription sub = eng.subscribe(rec.callback());
  EXPECT_TRUE(sub.active());

  const std::vector<std::tuple<task_event, task_state, task_state>> steps{
      {E::start, S::configuration, S::starting},
      {E::start_succeeded, S::starting, S::full_transfer},
      {E::pause, S::full_transfer, S::paused},
      {E::resume, S::paused, S::full_transfer},
      {E::transfer_failed, S::full_transfer, S::full_transfer_failed},
      {E::resume, S::full_transfer_failed, S::full_transfer},
      {E::stop, S::full_transfer, S::stopping},
  };
  for (const auto& [event, from, to] : steps) {
    (void)from;
    (void)to;
    if (event == E::pause) {
      EXPECT_FALSE(pause_one(eng, t.id, pause_mode::all));
    } else if (event == E::resume) {
      EXPECT_FALSE(resume_one(eng, t.id));
    } else {
      EXPECT_FALSE(send_one(eng, t.id, event)) << to_string(event);
    }
  }
  const std::vector<state_change> got = rec.changes();
  ASSERT_EQ(got.size(), steps.size());
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const auto& [event, from, to] = steps[i];
    EXPECT_EQ(got[i].id, t.id);
    EXPECT_EQ(got[i].project, kProject);
    EXPECT_EQ(got[i].cause, event) << i;
    EXPECT_EQ(got[i].from, from) << i;
    EXPECT_EQ(got[i].to, to) << i;
    EXPECT_EQ(got[i].sequence, 101U + i) << "the version after the change";
    if (to == S::paused) {
      EXPECT_EQ(got[i].mode, pause_mode::all);
    } else {
      EXPECT_FALSE(got[i].mode);
    }
  }
  EXPECT_EQ(snap(eng, t.id).version, 100U + steps.size());
}

TEST(EngineSubscribe, NoOpCommandsAreNotReported) {
  engine eng(small_options());
  const task_spec running = make_task(S::incremental_transfer);
  const task_spec paused = make_paused_task(S::full_transfer, pause_mode::all);
  const task_spec configured = make_task(S::configuration);
  register_ok(eng, {running, paused, configured});
  recorder rec;
  subscription sub = eng.subscribe(rec.callback());
  EXPECT_FALSE(resume_one(eng, running.id));                        // running: unchanged
  EXPECT_FALSE(pause_one(eng, paused.id, pause_mode::all));         // same mode
  EXPECT_FALSE(pause_one(eng, paused.id, pause_mode::target));      // target after all
  EXPECT_EQ(pause_one(eng, configured.id), errc::invalid_state);    // refused
  EXPECT_EQ(pause_one(eng, job_id::mint()), errc::task_not_found);  // unknown
  EXPECT_TRUE(rec.changes().empty());
}

TEST(EngineSubscribe, RaisingThePauseModeIsAChange) {
  engine eng(small_options());
  const task_spec t = make_paused_task(S::incremental_transfer_failed, pause_mode::target);
  register_ok(eng, {t});
  recorder rec;
  subscription sub = eng.subscribe(rec.callback());
  EXPECT_FALSE(pause_one(eng, t.id, pause_mode::all));
  const std::vector<state_change> got = rec.changes();
  ASSERT_EQ(got.size(), 1U);
  EXPECT_EQ(got[0].from, S::paused);
  EXPECT_EQ(got[0].to, S::paused);
  EXPECT_EQ(got[0].cause, E::pause);
  EXPECT_EQ(got[0].mode, pause_mode::all);
  EXPECT_EQ(got[0].sequence, 1U);
}

TEST(EngineSubscribe, SequenceGrowsByOnePerTaskInOrder) {
  engine eng(small_options());
  const std::vector<family_spec> families =
      make_families(16, S::incremental_transfer, S::incremental_transfer);
  std::vector<task_spec> tasks;
  for (int i = 0; i < 32; ++i) tasks.push_back(make_task(S::incremental_transfer));
  register_ok(eng, registrations(families));
  register_ok(eng, registrations(tasks));
  std::vector<job_id> ids = ids_of(tasks);
  for (const family_spec& f : families) {
    ids.push_back(f.forward.id);
    ids.push_back(f.backward.id);
  }
  recorder rec;
  subscription sub = eng.subscribe(rec.callback());
  for (int round = 0; round < 5; ++round) {
    std::vector<pause_item> items;
    for (const job_id& id : ids) items.push_back({id, pause_mode::target});
    expect_all_ok(eng.pause(kProject, items));
    expect_all_ok(eng.resume(kProject, ids));
  }
  for (const job_id& id : ids) {
    const std::vector<state_change> got = rec.changes_of(id);
    ASSERT_EQ(got.size(), 10U);
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].sequence, i + 1);
      EXPECT_EQ(got[i].cause, i % 2 == 0 ? E::pause : E::resume);
      EXPECT_EQ(got[i].to, i % 2 == 0 ? S::paused : S::incremental_transfer);
    }
  }
  EXPECT_EQ(rec.changes().size(), ids.size() * 10);
}

TEST(EngineSubscribe, EverySubscriberHearsEveryChange) {
  engine eng(small_options());
  std::vector<task_spec> tasks;
  for (int i = 0; i < 16; ++i) tasks.push_back(make_task(S::configuration));
  register_ok(eng, registrations(tasks));
  recorder one;
  recorder two;
  subscription a = eng.subscribe(one.callback());
  subscription b = eng.subscribe(two.callback());
  std::vector<start_item> items;
  for (const task_spec& t : tasks) items.push_back({t.id});
  expect_all_ok(eng.start_tasks(kProject, items));
  EXPECT_EQ(one.changes().size(), tasks.size());
  EXPECT_EQ(two.changes().size(), tasks.size());
}

TEST(EngineSubscribe, ResetStopsDeliveryOfLaterChanges) {
  engine eng(small_options());
  std::vector<task_spec> tasks;
  for (int i = 0; i < 16; ++i) tasks.push_back(make_task(S::incremental_transfer));
  register_ok(eng, registrations(tasks));
  recorder kept;
  recorder dropped;
  subscription keep = eng.subscribe(kept.callback());
  subscription drop = eng.subscribe(dropped.callback());
  std::vector<pause_item> items;
  for (const task_spec& t : tasks) items.push_back({t.id, pause_mode::target});
  expect_all_ok(eng.pause(kProject, items));
  EXPECT_EQ(dropped.changes().size(), tasks.size());

  drop.reset();
  EXPECT_FALSE(drop.active());
  drop.reset();  // idempotent
  expect_all_ok(eng.resume(kProject, ids_of(tasks)));
  EXPECT_EQ(dropped.changes().size(), tasks.size()) << "no change after reset()";
  EXPECT_EQ(kept.changes().size(), 2 * tasks.size());
}

TEST(EngineSubscribe, DestroyingOrMovingTheSubscription) {
  engine eng(small_options());
  const task_spec t = make_task(S::configuration);
  register_ok(eng, {t});
  recorder rec;
  subscription outer;
  EXPECT_FALSE(outer.active());
  {
    subscription inner = eng.subscribe(rec.callback());
    outer = std::move(inner);
    EXPECT_TRUE(outer.active());
    EXPECT_FALSE(inner.active());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  }
  EXPECT_FALSE(start_one(eng, t.id));
  EXPECT_EQ(rec.changes().size(), 1U) << "moving keeps the subscription";
  {
    subscription moved(std::move(outer));
    EXPECT_TRUE(moved.active());
  }
  EXPECT_FALSE(report_one(eng, t.id, E::start_succeeded));
  EXPECT_EQ(rec.changes().size(), 1U) << "destroying unsubscribes";
}

TEST(EngineSubscribe, ChangesBeforeSubscribingAreNotDelivered) {
  engine eng(small_options());
  const task_spec t = make_task(S::configuration);
  register_ok(eng, {t});
  EXPECT_FALSE(start_one(eng, t.id));
  recorder rec;
  subscription sub = eng.subscribe(rec.callback());
  EXPECT_FALSE(report_one(eng, t.id, E::start_succeeded));
  const std::vector<state_change> got = rec.changes();
  ASSERT_EQ(got.size(), 1U);
  EXPECT_EQ(got[0].cause, E::start_succeeded);
  EXPECT_EQ(got[0].sequence, 2U);
}

TEST(EngineSubscribe, FamilyChildrenChangesCarryTheirIds) {
  engine eng(small_options());
  const std::vector<family_spec> families =
      make_families(24, S::incremental_transfer, S::full_transfer);
  register_ok(eng, registrations(families));
  recorder rec;
  subscription sub = eng.subscribe(rec.callback());
  std::vector<pause_item> items;
  for (const family_spec& f : families) {
    items.push_back({f.id, pause_mode::all});  // refused: no change
    items.push_back({f.backward.id, pause_mode::all});
  }
  eng.pause(kProject, items);
  for (const family_spec& f : families) {
    EXPECT_TRUE(rec.changes_of(f.id).empty());
    EXPECT_TRUE(rec.changes_of(f.forward.id).empty());
    const std::vector<state_change> got = rec.changes_of(f.backward.id);
    ASSERT_EQ(got.size(), 1U);
    EXPECT_EQ(got[0].from, S::full_transfer);
    EXPECT_EQ(got[0].to, S::paused);
    EXPECT_EQ(got[0].project, kProject);
  }
}

TEST(EngineSubscribe, SubscriptionOutlivingTheEngineIsHarmless) {
  recorder rec;
  subscription sub;
  {
    engine eng(small_options());
    sub = eng.subscribe(rec.callback());
    EXPECT_TRUE(sub.active());
  }
  sub.reset();
  EXPECT_FALSE(sub.active());
}

}  // namespace
}  // namespace taskorch::test
