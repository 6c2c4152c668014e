// The engine's event feed (engine::read_feed) and the commands that await a worker's
// confirmation: what each change puts in the feed, in what order, what a reader is told when
// it asks for a position the feed no longer keeps, and how a worker's confirmation ends a wait.

#include <taskorch/engine.hpp>

// Helpers shared by the engine tests.
#include "engine_test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <vector>

namespace taskorch::test {
namespace {

using S = task_state;
using E = task_event;

std::vector<feed_event> all_events(const engine& eng, const project_id& project = kProject) {
  std::vector<feed_event> out;
  std::uint64_t after = 0;
  for (;;) {
    feed_page page = eng.read_feed(project, after, 1000);
    EXPECT_FALSE(page.gone);
    out.insert(out.end(), page.events.begin(), page.events.end());
    if (page.next == after) return out;
    after = page.next;
  }
}

TEST(EngineFeed, EveryChangeIsAnEventWithItsCauseTimesAndWait) {
  engine eng(small_options());
  const task_spec t = make_task(S::incremental_transfer);
  register_ok(eng, {t});
  EXPECT_TRUE(all_events(eng).empty());  // registering is no change
  const wall_time before = wall_now();
  ASSERT_FALSE(pause_one(eng, t.id, pause_mode::all));
  ASSERT_FALSE(resume_one(eng, t.id));
  const std::vector<feed_event> events = all_events(eng);
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[0].id, t.id);
  EXPECT_EQ(events[0].project, kProject);
  EXPECT_EQ(events[0].from, S::incremental_transfer);
  EXPECT_EQ(events[0].to, S::paused);
  EXPECT_EQ(events[0].cause, E::pause);
  EXPECT_EQ(events[0].mode, pause_mode::all);
  EXPECT_EQ(events[0].awaiting, E::pause);
  EXPECT_EQ(events[0].version, 1U);
  EXPECT_GE(events[0].at, before);
  EXPECT_LE(events[0].at, wall_now());
  EXPECT_EQ(events[1].from, S::paused);
  EXPECT_EQ(events[1].to, S::incremental_transfer);
  EXPECT_EQ(events[1].cause, E::resume);
  EXPECT_FALSE(events[1].mode);
  EXPECT_EQ(events[1].awaiting, E::resume);
  EXPECT_EQ(events[1].version, 2U);
  EXPECT_LT(events[0].position, events[1].position);
  EXPECT_EQ(eng.feed_position(), events[1].position);
}

TEST(EngineFeed, ACommandThatChangesNothingAndARefusalAreNoEvents) {
  engine eng(small_options());
  const task_spec running = make_task(S::incremental_transfer);
  const task_spec fresh = make_task(S::configuration);
  register_ok(eng, {running, fresh});
  EXPECT_FALSE(resume_one(eng, running.id));  // running: succeeds unchanged
  EXPECT_EQ(pause_one(eng, fresh.id), make_error_code(errc::invalid_state));
  EXPECT_TRUE(all_events(eng).empty());
  EXPECT_FALSE(snap(eng, running.id).awaiting);
}

TEST(EngineFeed, AReaderSeesOnlyItsProjectAndResumesWhereItStopped) {
  engine eng(small_options());
  std::vector<task_spec> mine;
  for (int i = 0; i < 20; ++i) mine.push_back(make_task(S::full_transfer));
  task_spec theirs = make_task(S::full_transfer);
  theirs.project = kOtherProject;
  std::vector<registration> all(mine.begin(), mine.end());
  all.emplace_back(theirs);
  register_ok(eng, all);
  std::vector<pause_item> first;
  for (int i = 0; i < 10; ++i) first.push_back({mine[i].id, pause_mode::target});
  expect_all_ok(eng.pause(kProject, first));
  expect_all_ok(eng.pause(kOtherProject, {{theirs.id, pause_mode::target}}));
  const std::vector<feed_event> seen = all_events(eng);
  ASSERT_EQ(seen.size(), 10U);
  const std::uint64_t last_seen = eng.read_feed(kProject, 0, 1000).next;

  std::vector<pause_item> second;
  for (int i = 10; i < 20; ++i) second.push_back({mine[i].id, pause_mode::target});
  expect_all_ok(eng.pause(kProject, second));
  const feed_page rest = eng.read_feed(kProject, last_seen, 1000);
  ASSERT_EQ(rest.events.size(), 10U);  // no gap, no duplicate
  for (const feed_event& e : rest.events) {
    EXPECT_GT(e.position, last_seen);
    EXPECT_EQ(e.project, kProject);
  }
  EXPECT_EQ(all_events(eng, kOtherProject).size(), 1U);
}

TEST(EngineFeed, AFamilyCommandIsOneEventPerChild) {
  engine eng(small_options());
  const family_spec f = make_family(S::incremental_transfer, S::incremental_transfer);
  register_ok(eng, {f});
  expect_all_ok(eng.delete_tasks(kProject, {delete_item{f.id, delete_type::terminate}}));
  const std::vector<feed_event> events = all_events(eng);
  ASSERT_EQ(events.size(), 2U);
  std::vector<job_id> ids{events[0].id, events[1].id};
  std::sort(ids.begin(), ids.end());
  std::vector<job_id> children{f.forward.id, f.backward.id};
  std::sort(children.begin(), children.end());
  EXPECT_EQ(ids, children);
  for (const feed_event& e : events) {
    EXPECT_EQ(e.cause, E::stop);
    EXPECT_EQ(e.to, S::stopping);
    EXPECT_EQ(e.awaiting, E::stop);
  }
}

TEST(EngineFeed, APositionTheFeedNoLongerKeepsIsGoneWithTheOldestKept) {
  engine_options options = small_options();
  options.feed_capacity = 16;
  engine eng(options);
  std::vector<task_spec> tasks;
  for (int i = 0; i < 40; ++i) tasks.push_back(make_task(S::full_transfer));
  register_ok(eng, {tasks.begin(), tasks.end()});
  std::vector<pause_item> items;
  for (const task_spec& t : tasks) items.push_back({t.id, pause_mode::target});
  expect_all_ok(eng.pause(kProject, items));
  const feed_page gone = eng.read_feed(kProject, 1, 100);
  EXPECT_TRUE(gone.gone);
  EXPECT_TRUE(gone.events.empty());
  EXPECT_EQ(gone.oldest, 40U - 16U);
  // 0 asks for everything kept: never gone.
  EXPECT_EQ(eng.read_feed(kProject, 0, 100).events.size(), 16U);
  const feed_page kept = eng.read_feed(kProject, gone.oldest, 100);
  EXPECT_FALSE(kept.gone);
  ASSERT_EQ(kept.events.size(), 16U);
  EXPECT_EQ(kept.events.front().position, gone.oldest + 1);
  EXPECT_EQ(kept.events.back().position, 40U);
  // A position the feed never gave out is refused the same way.
  EXPECT_TRUE(eng.read_feed(kProject, 41, 100).gone);
}

TEST(EngineFeed, AReadReturnsAtMostWhatItIsAskedFor) {
  engine eng(small_options());
  std::vector<task_spec> tasks;
  for (int i = 0; i < 30; ++i) tasks.push_back(make_task(S::full_transfer));
  register_ok(eng, {tasks.begin(), tasks.end()});
  std::vector<pause_item> items;
  for (const task_spec& t : tasks) items.push_back({t.id, pause_mode::target});
  expect_all_ok(eng.pause(kProject, items));
  const feed_page first = eng.read_feed(kProject, 0, 7);
  ASSERT_EQ(first.events.size(), 7U);
  EXPECT_EQ(first.next, first.events.back().position);
  const feed_page second = eng.read_feed(kProject, first.next, 100);
  EXPECT_EQ(second.events.size(), 23U);
}

TEST(EngineAwaiting, ACommandAwaitsAWorkerUntilItConfirmsOrReports) {
  engine eng(small_options());
  const task_spec a = make_task(S::incremental_transfer);
  const task_spec b = make_task(S::configuration);
  register_ok(eng, {a, b});
  ASSERT_FALSE(pause_one(eng, a.id));
  ASSERT_FALSE(start_one(eng, b.id));
  EXPECT_EQ(snap(eng, a.id).awaiting, E::pause);
  EXPECT_EQ(snap(eng, b.id).awaiting, E::start);
  const std::vector<progress_result> p = eng.progress(kProject, {a.id});
  ASSERT_TRUE(p.at(0).awaiting);
  EXPECT_EQ(p.at(0).awaiting->command, E::pause);
  EXPECT_EQ(p.at(0).awaiting->since, snap(eng, a.id).changed_at);
  EXPECT_EQ(eng.count().awaiting, 2U);
  ASSERT_TRUE(eng.count().awaiting_since);

  // A confirmation ends the wait, and changes nothing else; a second one is refused.
  const std::uint64_t version = snap(eng, a.id).version;
  expect_all_ok(eng.worker_report(kProject, {report_item{a.id, E::confirm}}));
  EXPECT_FALSE(snap(eng, a.id).awaiting);
  EXPECT_EQ(snap(eng, a.id).state, S::paused);
  EXPECT_EQ(snap(eng, a.id).version, version + 1);
  EXPECT_EQ(report_one(eng, a.id, E::confirm), make_error_code(errc::invalid_state));
  // A worker's state report ends a wait as well.
  expect_all_ok(eng.report(kProject, {{b.id, E::start_succeeded}}));
  EXPECT_FALSE(snap(eng, b.id).awaiting);
  EXPECT_EQ(eng.count().awaiting, 0U);
  EXPECT_FALSE(eng.count().awaiting_since);
  const std::vector<feed_event> events = all_events(eng);
  ASSERT_EQ(events.size(), 4U);
  EXPECT_EQ(events[2].cause, E::confirm);
  EXPECT_EQ(events[2].from, S::paused);
  EXPECT_EQ(events[2].to, S::paused);
  EXPECT_FALSE(events[2].awaiting);
}

TEST(EngineAwaiting, AConfirmationOfACommandNoLongerAwaitedIsRefused) {
  engine eng(small_options());
  const task_spec t = make_task(S::incremental_transfer);
  register_ok(eng, {t});
  ASSERT_FALSE(pause_one(eng, t.id));
  ASSERT_FALSE(resume_one(eng, t.id));  // the operator changed their mind
  const batch_result late =
      eng.worker_report(kProject, {report_item{t.id, E::confirm, std::nullopt, E::pause}});
  EXPECT_EQ(late.at(0).error, errc::invalid_state);
  EXPECT_EQ(snap(eng, t.id).awaiting, E::resume);  // still awaiting the resume
  expect_all_ok(
      eng.worker_report(kProject, {report_item{t.id, E::confirm, std::nullopt, E::resume}}));
  EXPECT_FALSE(snap(eng, t.id).awaiting);
}

TEST(EngineAwaiting, AConfirmationNamingTheVersionOfAReplacedWaitIsRefused) {
  engine eng(small_options());
  const task_spec t = make_task(S::incremental_transfer);
  register_ok(eng, {t});
  ASSERT_FALSE(pause_one(eng, t.id));   // version 1
  ASSERT_FALSE(resume_one(eng, t.id));  // version 2
  ASSERT_FALSE(pause_one(eng, t.id));   // version 3: the same command as the first
  // The worker's late confirmation of the first pause names its version: refused, the wait
  // for the second pause stays.
  const batch_result late = eng.worker_report(
      kProject, {report_item{t.id, E::confirm, std::nullopt, E::pause, std::uint64_t{1}}});
  EXPECT_EQ(late.at(0).error, errc::invalid_state);
  EXPECT_EQ(snap(eng, t.id).awaiting, E::pause);
  expect_all_ok(eng.worker_report(
      kProject, {report_item{t.id, E::confirm, std::nullopt, E::pause, std::uint64_t{3}}}));
  EXPECT_FALSE(snap(eng, t.id).awaiting);
  // A version goes with a confirmation only: anything else refuses the whole batch.
  error_code ec;
  eng.worker_report(
      kProject, {report_item{t.id, E::stopped, std::nullopt, std::nullopt, std::uint64_t{4}}}, ec);
  EXPECT_EQ(ec, make_error_code(errc::invalid_item));
}

TEST(EngineAwaiting, WhichCommandsAwaitAWorker) {
  engine eng(small_options());
  const task_spec scheduled = make_task(S::configuration);
  const task_spec removed = make_task(S::configuration);
  const task_spec forced = make_task(S::incremental_transfer);
  register_ok(eng, {scheduled, removed, forced});
  ASSERT_FALSE(start_one(eng, scheduled.id, kFarStart));
  ASSERT_FALSE(delete_one(eng, removed.id, delete_type::remove));
  ASSERT_FALSE(delete_one(eng, forced.id, delete_type::force_terminate));
  EXPECT_FALSE(snap(eng, scheduled.id).awaiting);  // nothing for a worker to do yet
  EXPECT_FALSE(snap(eng, removed.id).awaiting);    // never started: nothing runs
  EXPECT_EQ(snap(eng, forced.id).awaiting, E::force_stop);
}

TEST(EngineAwaiting, AParentRefusesAConfirmationAndEachChildTakesItsOwn) {
  engine eng(small_options());
  const family_spec f = make_family(S::incremental_transfer, S::incremental_transfer);
  register_ok(eng, {f});
  expect_all_ok(eng.delete_tasks(kProject, {delete_item{f.id, delete_type::terminate}}));
  const batch_result r = eng.worker_report(
      kProject, {report_item{f.id, E::confirm}, report_item{f.forward.id, E::confirm}});
  EXPECT_EQ(r.at(0).error, errc::parent_task_forbidden);
  EXPECT_FALSE(r.at(1).error);
  EXPECT_FALSE(snap(eng, f.forward.id).awaiting);
  EXPECT_EQ(snap(eng, f.backward.id).awaiting, E::stop);
  const std::vector<progress_result> parent = eng.progress(kProject, {f.id});
  ASSERT_TRUE(parent.at(0).awaiting);  // the parent shows the child still awaiting
  EXPECT_EQ(parent.at(0).awaiting->command, E::stop);
}

TEST(EngineAwaiting, TheWaitAndTheTimesAreExportedAndRegisteredAgain) {
  engine eng(small_options());
  const task_spec t = make_task(S::incremental_transfer);
  register_ok(eng, {t});
  ASSERT_FALSE(pause_one(eng, t.id));
  const std::vector<registration> exported = eng.export_snapshot();
  engine copy(small_options());
  register_ok(copy, exported);
  EXPECT_EQ(snap(copy, t.id), snap(eng, t.id));
  EXPECT_EQ(snap(copy, t.id).awaiting, E::pause);
  // A registration that awaits an event no worker confirms is refused.
  task_spec odd = make_task(S::incremental_transfer);
  odd.awaiting = E::stopped;
  error_code ec;
  copy.register_tasks({odd}, ec);
  EXPECT_EQ(ec, make_error_code(errc::invalid_task_spec));
}

}  // namespace
}  // namespace taskorch::test
