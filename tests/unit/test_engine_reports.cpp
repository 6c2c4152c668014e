// Workers' reports (engine::async_worker_report) and what batch-progress reads back
// (engine::async_progress): a worker event and the transfer figures, the time of the latest
// report, and the refusals of the lifecycle, which leave the figures as they were.

#include <taskorch/engine.hpp>

// Helpers shared by the engine tests.
#include "engine_test_support.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace taskorch::test {
namespace {

using S = task_state;
using E = task_event;
using namespace std::chrono_literals;

progress_result progress_of(engine& eng, const job_id& id) {
  std::vector<progress_result> r = eng.progress(kProject, {id});
  EXPECT_EQ(r.size(), 1U);
  return r.at(0);
}

TEST(EngineReports, AnEventAndItsFiguresAreReadBackWithTheTimeOfTheReport) {
  engine eng(small_options());
  const task_spec t = make_task(S::full_transfer);
  register_ok(eng, {t});
  EXPECT_FALSE(progress_of(eng, t.id).figures);
  EXPECT_FALSE(progress_of(eng, t.id).reported_at);

  const wall_time before = wall_now();
  const batch_result r = eng.worker_report(
      kProject, {report_item{t.id, E::full_transfer_done, transfer_figures{100, 0ms}}});
  expect_all_ok(r, {t.id});
  const progress_result p = progress_of(eng, t.id);
  EXPECT_EQ(p.state, S::full_transfer_complete);
  ASSERT_TRUE(p.figures);
  EXPECT_EQ(p.figures->progress, 100);
  ASSERT_TRUE(p.reported_at);
  EXPECT_GE(*p.reported_at, before);
  EXPECT_LE(*p.reported_at, wall_now());
}

TEST(EngineReports, FiguresAloneChangeNoStateAndTheLatestReplaceThem) {
  engine eng(small_options());
  const task_spec t = make_task(S::incremental_transfer);
  register_ok(eng, {t});
  expect_all_ok(
      eng.worker_report(kProject, {report_item{t.id, std::nullopt, transfer_figures{40, 2500ms}}}));
  expect_all_ok(
      eng.worker_report(kProject, {report_item{t.id, std::nullopt, transfer_figures{45, 800ms}}}));
  const progress_result p = progress_of(eng, t.id);
  EXPECT_EQ(p.state, S::incremental_transfer);
  EXPECT_EQ(snap(eng, t.id).version, 0U);  // figures are not a change of the task
  ASSERT_TRUE(p.figures);
  EXPECT_EQ(*p.figures, (transfer_figures{45, 800ms}));
}

TEST(EngineReports, AnEventWithoutFiguresKeepsTheLastFiguresAndMovesTheTime) {
  engine eng(small_options());
  const task_spec t = make_task(S::full_transfer);
  register_ok(eng, {t});
  expect_all_ok(
      eng.worker_report(kProject, {report_item{t.id, std::nullopt, transfer_figures{70, 0ms}}}));
  const wall_time first = *progress_of(eng, t.id).reported_at;
  expect_all_ok(eng.worker_report(kProject, {report_item{t.id, E::transfer_failed, std::nullopt}}));
  const progress_result p = progress_of(eng, t.id);
  EXPECT_EQ(p.state, S::full_transfer_failed);
  EXPECT_EQ(p.figures->progress, 70);
  EXPECT_GE(*p.reported_at, first);
}

TEST(EngineReports, ARefusedEventLeavesTheFiguresAndTheTimeAsTheyWere) {
  engine eng(small_options());
  const task_spec running = make_task(S::incremental_transfer);
  const task_spec fresh = make_task(S::configuration);
  register_ok(eng, {running, fresh});
  expect_all_ok(eng.worker_report(
      kProject, {report_item{running.id, std::nullopt, transfer_figures{10, 0ms}}}));
  const progress_result before = progress_of(eng, running.id);

  const batch_result r = eng.worker_report(
      kProject, {report_item{running.id, E::start_succeeded, transfer_figures{99, 0ms}},
                 report_item{fresh.id, E::stopped, transfer_figures{5, 0ms}}});
  ASSERT_EQ(r.size(), 2U);
  EXPECT_EQ(r[0].error, errc::invalid_state);
  EXPECT_EQ(r[1].error, errc::invalid_state);
  const progress_result after = progress_of(eng, running.id);
  EXPECT_EQ(after.figures, before.figures);
  EXPECT_EQ(after.reported_at, before.reported_at);
  EXPECT_FALSE(progress_of(eng, fresh.id).reported_at);  // never reported: still nothing
}

TEST(EngineReports, AParentAndADeletedTaskRefuseFiguresAsTheyRefuseWorkerEvents) {
  engine eng(small_options());
  const family_spec f = make_family();
  const task_spec deleted = make_task(S::deleted);
  register_ok(eng, {f, deleted});
  const batch_result r = eng.worker_report(
      kProject, {report_item{f.id, std::nullopt, transfer_figures{1, 0ms}},
                 report_item{deleted.id, std::nullopt, transfer_figures{1, 0ms}},
                 report_item{f.forward.id, std::nullopt, transfer_figures{30, 1s}}});
  ASSERT_EQ(r.size(), 3U);
  EXPECT_EQ(r[0].error, errc::parent_task_forbidden);
  EXPECT_EQ(r[1].error, errc::task_deleted);
  EXPECT_FALSE(r[2].error);
  // A child reports for itself, wherever its home shard is.
  EXPECT_EQ(progress_of(eng, f.forward.id).figures, (transfer_figures{30, 1s}));
  const progress_result parent = progress_of(eng, f.id);
  EXPECT_EQ(parent.state, S::incremental_transfer);
  EXPECT_FALSE(parent.figures);
}

TEST(EngineReports, UnknownAndOtherProjectsTasksAreNotFound) {
  engine eng(small_options());
  const task_spec mine = make_task(S::full_transfer);
  const task_spec theirs = make_task(S::full_transfer, task_kind::sync, kOtherProject);
  register_ok(eng, {mine, theirs});
  const batch_result r =
      eng.worker_report(kProject, {report_item{theirs.id, std::nullopt, transfer_figures{1, 0ms}},
                                   report_item{job_id::mint(), E::stopped, std::nullopt}});
  EXPECT_EQ(r.at(0).error, errc::task_not_found);
  EXPECT_EQ(r.at(1).error, errc::task_not_found);
  EXPECT_EQ(eng.progress(kProject, {theirs.id}).at(0).error, errc::task_not_found);
  EXPECT_FALSE(eng.progress(kOtherProject, {theirs.id}).at(0).reported_at);
}

TEST(EngineReports, ABatchWithACommandNothingOrAProgressAbove100IsRefusedWhole) {
  engine eng(small_options());
  const task_spec t = make_task(S::full_transfer);
  register_ok(eng, {t});
  error_code ec;
  (void)eng.worker_report(kProject,
                          {report_item{t.id, std::nullopt, transfer_figures{5, 0ms}},
                           report_item{job_id::mint(), E::pause, std::nullopt}},
                          ec);
  EXPECT_EQ(ec, errc::not_a_worker_event);
  (void)eng.worker_report(kProject, {report_item{t.id, std::nullopt, std::nullopt}}, ec);
  EXPECT_EQ(ec, errc::invalid_item);
  (void)eng.worker_report(kProject, {report_item{t.id, std::nullopt, transfer_figures{101, 0ms}}},
                          ec);
  EXPECT_EQ(ec, errc::invalid_item);
  EXPECT_FALSE(progress_of(eng, t.id).reported_at);  // nothing applied
}

TEST(EngineReports, APurgedTaskForgetsItsReport) {
  engine eng(small_options());
  const task_spec t = make_task(S::stopping);
  register_ok(eng, {t});
  expect_all_ok(
      eng.worker_report(kProject, {report_item{t.id, E::stopped, transfer_figures{100, 0ms}}}));
  expect_all_ok(eng.delete_tasks(kProject, {delete_item{t.id, delete_type::remove}}));
  expect_all_ok(eng.purge(kProject, {t.id}));
  task_spec again = t;
  again.state = S::configuration;
  register_ok(eng, {again});
  EXPECT_FALSE(progress_of(eng, t.id).reported_at);
}

}  // namespace
}  // namespace taskorch::test
