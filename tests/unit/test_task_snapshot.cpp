#include <taskorch/task_snapshot.hpp>

// The plain value types around it are covered here too.
#include <taskorch/batch.hpp>
#include <taskorch/task_spec.hpp>

#include <gtest/gtest.h>

#include <set>
#include <string_view>
#include <variant>

namespace taskorch {
namespace {

using S = task_state;

/// The parent aggregate as docs/behaviour.md words it: a child's failed status (START_JOB_FAILED,
/// FULL_TRANSFER_FAILED, INCRE_TRANSFER_FAILED), the forward child's when both failed; else
/// PAUSING when both children are paused; else the forward child's status.
task_state expected_parent_state(task_state forward, task_state backward) {
  const std::set<std::string_view> failed{"START_JOB_FAILED", "FULL_TRANSFER_FAILED",
                                          "INCRE_TRANSFER_FAILED"};
  if (failed.contains(drs_status(forward))) return forward;
  if (failed.contains(drs_status(backward))) return backward;
  if (drs_status(forward) == "PAUSING" && drs_status(backward) == "PAUSING") return S::paused;
  return forward;
}

TEST(ParentState, MatchesTheDocumentedAggregateForEveryPair) {
  for (task_state f : all_task_states) {
    for (task_state b : all_task_states) {
      EXPECT_EQ(parent_state(f, b), expected_parent_state(f, b))
          << "forward " << to_string(f) << ", backward " << to_string(b);
    }
  }
}

TEST(ParentState, ForwardFailureWinsWhenBothFailed) {
  EXPECT_EQ(parent_state(S::full_transfer_failed, S::incremental_transfer_failed),
            S::full_transfer_failed);
  EXPECT_EQ(parent_state(S::incremental_transfer_failed, S::start_failed),
            S::incremental_transfer_failed);
  EXPECT_EQ(parent_state(S::start_failed, S::full_transfer_failed), S::start_failed);
}

TEST(ParentState, BackwardFailureShowsWhenForwardIsFine) {
  EXPECT_EQ(parent_state(S::incremental_transfer, S::incremental_transfer_failed),
            S::incremental_transfer_failed);
  EXPECT_EQ(parent_state(S::paused, S::start_failed), S::start_failed);
  EXPECT_EQ(parent_state(S::deleted, S::full_transfer_failed), S::full_transfer_failed);
}

TEST(ParentState, PausedOnlyWhenBothChildrenPaused) {
  EXPECT_EQ(parent_state(S::paused, S::paused), S::paused);
  EXPECT_EQ(parent_state(S::incremental_transfer, S::paused), S::incremental_transfer);
  EXPECT_EQ(parent_state(S::paused, S::incremental_transfer), S::paused);  // forward's
}

TEST(ParentState, OtherwiseTheForwardChildsState) {
  EXPECT_EQ(parent_state(S::full_transfer, S::incremental_transfer), S::full_transfer);
  EXPECT_EQ(parent_state(S::configuration, S::stopped), S::configuration);
  EXPECT_EQ(parent_state(S::deleted, S::deleted), S::deleted);
  static_assert(parent_state(S::stopping, S::full_transfer) == S::stopping);
}

TEST(TaskRole, Names) {
  EXPECT_EQ(to_string(task_role::standalone), "standalone");
  EXPECT_EQ(to_string(task_role::parent), "parent");
  EXPECT_EQ(to_string(task_role::forward_child), "forward_child");
  EXPECT_EQ(to_string(task_role::backward_child), "backward_child");
  EXPECT_EQ(to_string(static_cast<task_role>(9)), "unknown");
}

TEST(TaskSnapshot, DefaultsAndEquality) {
  task_snapshot a;
  EXPECT_EQ(a.role, task_role::standalone);
  EXPECT_EQ(a.state, S::configuration);
  EXPECT_FALSE(a.pause);
  EXPECT_FALSE(a.parent);
  EXPECT_EQ(a.version, 0U);
  task_snapshot b = a;
  EXPECT_EQ(a, b);
  b.pause = pause_info{pause_mode::all, S::incremental_transfer};
  EXPECT_NE(a, b);
  b = a;
  b.name = "x";
  EXPECT_NE(a, b);
}

TEST(TaskSpec, IdOfNamesTheRegistration) {
  const job_id t = job_id::mint();
  const job_id p = job_id::mint();
  registration task = task_spec{.id = t};
  registration family =
      family_spec{.id = p, .forward = {.id = job_id::mint()}, .backward = {.id = job_id::mint()}};
  EXPECT_EQ(id_of(task), t);
  EXPECT_EQ(id_of(family), p);
  EXPECT_TRUE(std::holds_alternative<family_spec>(family));
}

TEST(TaskSpec, DefaultsAndEquality) {
  task_spec a;
  EXPECT_EQ(a.kind, task_kind::migration);
  EXPECT_EQ(a.state, S::configuration);
  EXPECT_FALSE(a.pause);
  EXPECT_EQ(a.version, 0U);
  pause_info info;
  EXPECT_EQ(info.mode, pause_mode::target);
  EXPECT_TRUE(is_pausable(info.from));
  task_spec b = a;
  EXPECT_EQ(a, b);
  b.version = 3;
  EXPECT_NE(a, b);
}

TEST(BatchTypes, ItemResultOkMeansNoError) {
  item_result r;
  EXPECT_TRUE(r.ok());
  r.error = errc::invalid_state;
  EXPECT_FALSE(r.ok());
}

TEST(BatchTypes, StateCountsTotalsAndIndexes) {
  state_counts c;
  EXPECT_EQ(c.total(), 0U);
  c.tasks[static_cast<std::size_t>(S::paused)] = 3;
  c.tasks[static_cast<std::size_t>(S::deleted)] = 4;
  c.families = 2;
  EXPECT_EQ(c[S::paused], 3U);
  EXPECT_EQ(c[S::deleted], 4U);
  EXPECT_EQ(c[S::configuration], 0U);
  EXPECT_EQ(c.total(), 7U);
}

}  // namespace
}  // namespace taskorch
