#include <taskorch/transition_table.hpp>

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace taskorch {
namespace {

using S = task_state;
using E = task_event;

/// What the lifecycle of docs/behaviour.md allows: a fixed destination, or (paused + resume) the
/// history of the paused task. Written by hand from docs/behaviour.md, not derived from the
/// library's table.
struct expected_target {
  task_state state;
  bool history = false;
};

const std::map<std::pair<task_state, task_event>, expected_target>& expected_table() {
  static const std::map<std::pair<task_state, task_event>, expected_target> table{
      // The path of a task: the user's start, then the workers' events.
      {{S::configuration, E::start}, {S::starting}},
      {{S::starting, E::start_succeeded}, {S::full_transfer}},
      {{S::starting, E::start_failed}, {S::start_failed}},
      {{S::full_transfer, E::full_transfer_done}, {S::full_transfer_complete}},
      {{S::full_transfer_complete, E::incremental_started}, {S::incremental_transfer}},
      {{S::full_transfer, E::transfer_failed}, {S::full_transfer_failed}},
      {{S::incremental_transfer, E::transfer_failed}, {S::incremental_transfer_failed}},
      // A scheduled start (batch-starting with a start time in the future): the task waits;
      // scheduling it again reschedules it; starting it now, or the schedule's own start
      // when the time has come, starts it.
      {{S::configuration, E::schedule_start}, {S::waiting_for_start}},
      {{S::waiting_for_start, E::schedule_start}, {S::waiting_for_start}},
      {{S::waiting_for_start, E::start}, {S::starting}},
      {{S::waiting_for_start, E::start_due}, {S::starting}},
      // Terminate (releasing resources): a configured, waiting, running, failed or paused
      // task can be stopped (DRS's Stop column; a start-failed task can be released too, as
      // DRS users expect).
      {{S::configuration, E::stop}, {S::stopping}},
      {{S::waiting_for_start, E::stop}, {S::stopping}},
      {{S::start_failed, E::stop}, {S::stopping}},
      {{S::full_transfer, E::stop}, {S::stopping}},
      {{S::full_transfer_complete, E::stop}, {S::stopping}},
      {{S::incremental_transfer, E::stop}, {S::stopping}},
      {{S::full_transfer_failed, E::stop}, {S::stopping}},
      {{S::incremental_transfer_failed, E::stop}, {S::stopping}},
      {{S::paused, E::stop}, {S::stopping}},
      {{S::stopping, E::stopped}, {S::stopped}},
      // Force terminate: released at once, from everywhere a terminate is allowed, and also
      // from a starting task and from one whose release is under way.
      {{S::configuration, E::force_stop}, {S::stopped}},
      {{S::waiting_for_start, E::force_stop}, {S::stopped}},
      {{S::starting, E::force_stop}, {S::stopped}},
      {{S::start_failed, E::force_stop}, {S::stopped}},
      {{S::full_transfer, E::force_stop}, {S::stopped}},
      {{S::full_transfer_complete, E::force_stop}, {S::stopped}},
      {{S::incremental_transfer, E::force_stop}, {S::stopped}},
      {{S::full_transfer_failed, E::force_stop}, {S::stopped}},
      {{S::incremental_transfer_failed, E::force_stop}, {S::stopped}},
      {{S::paused, E::force_stop}, {S::stopped}},
      {{S::stopping, E::force_stop}, {S::stopped}},
      // Delete: a stopped task (RELEASE_RESOURCE_COMPLETE), or one never started.
      {{S::stopped, E::remove}, {S::deleted}},
      {{S::configuration, E::remove}, {S::deleted}},
      {{S::waiting_for_start, E::remove}, {S::deleted}},
      // Pause: running in any phase or transfer failed; re-pausing a paused task succeeds.
      {{S::full_transfer, E::pause}, {S::paused}},
      {{S::full_transfer_complete, E::pause}, {S::paused}},
      {{S::incremental_transfer, E::pause}, {S::paused}},
      {{S::full_transfer_failed, E::pause}, {S::paused}},
      {{S::incremental_transfer_failed, E::pause}, {S::paused}},
      {{S::paused, E::pause}, {S::paused}},
      // Resume / retry.
      {{S::paused, E::resume}, {S::paused, true}},
      {{S::full_transfer_failed, E::resume}, {S::full_transfer}},
      {{S::incremental_transfer_failed, E::resume}, {S::incremental_transfer}},
      {{S::start_failed, E::resume}, {S::starting}},
      {{S::full_transfer, E::resume}, {S::full_transfer}},  // running: success, no change
      {{S::full_transfer_complete, E::resume}, {S::full_transfer_complete}},
      {{S::incremental_transfer, E::resume}, {S::incremental_transfer}},
  };
  return table;
}

/// Where resuming a task paused from `from` must lead (docs/behaviour.md#resume).
std::optional<task_state> expected_resume_from(task_state from) {
  switch (from) {
    case S::full_transfer:
    case S::full_transfer_failed:
      return S::full_transfer;
    case S::full_transfer_complete:
      return S::full_transfer_complete;
    case S::incremental_transfer:
    case S::incremental_transfer_failed:
      return S::incremental_transfer;
    default:
      return std::nullopt;
  }
}

std::string pair_name(task_state s, task_event e) {
  return std::string(to_string(s)) + " + " + std::string(to_string(e));
}

TEST(TransitionTable, EveryStateEventPairMatchesTheLifecycle) {
  std::size_t allowed = 0;
  for (task_state s : all_task_states) {
    for (task_event e : all_task_events) {
      const auto it = expected_table().find({s, e});
      const transition* row = find_transition(s, e);
      if (it == expected_table().end()) {
        EXPECT_EQ(row, nullptr) << pair_name(s, e) << " must not be allowed";
        EXPECT_FALSE(next_state(s, e)) << pair_name(s, e);
        continue;
      }
      ++allowed;
      ASSERT_NE(row, nullptr) << pair_name(s, e) << " must be allowed";
      EXPECT_EQ(row->from, s);
      EXPECT_EQ(row->on, e);
      EXPECT_EQ(row->to.history, it->second.history) << pair_name(s, e);
      if (!it->second.history) {
        EXPECT_EQ(row->to.state, it->second.state) << pair_name(s, e);
        EXPECT_EQ(next_state(s, e), it->second.state) << pair_name(s, e);
      }
    }
  }
  EXPECT_EQ(allowed, expected_table().size());
  EXPECT_EQ(transition_table.size(), expected_table().size()) << "the table has extra rows";
}

TEST(TransitionTable, DeletedAllowsNoEvent) {
  for (task_event e : all_task_events) {
    EXPECT_EQ(find_transition(S::deleted, e), nullptr) << to_string(e);
  }
}

TEST(TransitionTable, PausableStatesAreExactlyThoseWithAPauseRow) {
  for (task_state s : all_task_states) {
    if (s == S::paused) continue;
    EXPECT_EQ(next_state(s, E::pause) == S::paused, is_pausable(s)) << to_string(s);
  }
}

TEST(TransitionTable, ResumeFromPausedGoesToHistory) {
  for (task_state from : all_task_states) {
    const auto to = next_state(S::paused, E::resume, from);
    EXPECT_EQ(to, expected_resume_from(from)) << "paused from " << to_string(from);
  }
}

TEST(TransitionTable, ResumeFromTransferFailedPauseIsARetry) {
  EXPECT_EQ(next_state(S::paused, E::resume, S::full_transfer_failed), S::full_transfer);
  EXPECT_EQ(next_state(S::paused, E::resume, S::incremental_transfer_failed),
            S::incremental_transfer);
}

TEST(TransitionTable, ResumeFromPausedWithoutHistoryIsRefused) {
  EXPECT_FALSE(next_state(S::paused, E::resume));
  EXPECT_FALSE(next_state(S::paused, E::resume, S::paused));
  EXPECT_FALSE(next_state(S::paused, E::resume, S::configuration));
}

TEST(TransitionTable, PausedFromIsIgnoredOutsideHistoryRows) {
  for (task_state s : all_task_states) {
    for (task_event e : all_task_events) {
      if (s == S::paused && e == E::resume) continue;
      EXPECT_EQ(next_state(s, e, S::incremental_transfer_failed), next_state(s, e))
          << pair_name(s, e);
    }
  }
}

TEST(TransitionTable, TargetsCompareByStateAndHistory) {
  EXPECT_EQ(to(S::stopped), (transition_target{S::stopped, false}));
  EXPECT_FALSE(to(S::stopped).history);
  EXPECT_TRUE(resume_history.history);
  EXPECT_NE(to(S::paused), resume_history);
  EXPECT_NE(to(S::paused), to(S::stopped));
}

TEST(TransitionTable, IsDeterministic) {
  EXPECT_TRUE(is_deterministic(transition_table));
  static_assert(is_deterministic(transition_table));
}

TEST(TransitionTable, IsDeterministicDetectsADuplicateRow) {
  constexpr std::array good{
      transition{S::full_transfer, E::pause, to(S::paused)},
      transition{S::full_transfer, E::stop, to(S::stopping)},
      transition{S::incremental_transfer, E::pause, to(S::paused)},
  };
  constexpr std::array duplicate{
      transition{S::full_transfer, E::pause, to(S::paused)},
      transition{S::incremental_transfer, E::pause, to(S::paused)},
      transition{S::full_transfer, E::stop, to(S::stopping)},
      transition{S::full_transfer, E::pause, to(S::stopping)},  // same from + on, other target
  };
  constexpr std::array same_target_twice{
      transition{S::stopped, E::remove, to(S::deleted)},
      transition{S::stopped, E::remove, to(S::deleted)},
  };
  static_assert(is_deterministic(good));
  static_assert(!is_deterministic(duplicate));
  EXPECT_TRUE(is_deterministic(good));
  EXPECT_FALSE(is_deterministic(duplicate));
  EXPECT_FALSE(is_deterministic(same_target_twice));
  EXPECT_TRUE(is_deterministic(std::span<const transition>()));
}

TEST(TransitionTable, ValuesOutsideTheEnumsHaveNoRow) {
  const auto bad_event = static_cast<E>(task_event_count);
  const auto bad_state = static_cast<S>(0xff);
  EXPECT_FALSE(next_state(S::full_transfer, bad_event));
  EXPECT_FALSE(next_state(bad_state, E::pause));
  EXPECT_FALSE(next_state(S::paused, E::resume, bad_state));
}

TEST(TransitionTable, IsUsableAtCompileTime) {
  static_assert(next_state(S::incremental_transfer, E::pause) == S::paused);
  static_assert(next_state(S::paused, E::resume, S::full_transfer_failed) == S::full_transfer);
  static_assert(!next_state(S::deleted, E::remove));
  SUCCEED();
}

/// One task as apply_event sees it.
struct cell {
  task_state state = S::configuration;
  pause_mode mode = pause_mode::target;
  task_state paused_from = S::paused;
  wall_time start_time{};
  std::optional<task_event> awaiting;
  friend bool operator==(const cell&, const cell&) = default;
  friend void PrintTo(const cell& c, std::ostream* os) {
    *os << to_string(c.state) << " (" << to_string(c.mode) << " from " << to_string(c.paused_from)
        << ", at " << c.start_time.time_since_epoch().count() << ", awaiting "
        << (c.awaiting ? to_string(*c.awaiting) : std::string_view("nothing")) << ")";
  }
};

/// The commands a worker must carry out and confirm, written out here rather than read from
/// event_rules.
bool awaits_a_worker(task_event e) {
  return e == E::start || e == E::start_due || e == E::pause || e == E::resume || e == E::stop ||
         e == E::force_stop;
}

/// The start time of the waiting tasks below, and the times events carry around it.
constexpr wall_time scheduled_at{std::chrono::milliseconds(1'700'000'000'000)};
constexpr std::array<wall_time, 3> event_times{scheduled_at - std::chrono::milliseconds(1),
                                               scheduled_at,
                                               scheduled_at + std::chrono::milliseconds(1)};

constexpr std::array<task_role, 4> all_roles{task_role::standalone, task_role::parent,
                                             task_role::forward_child, task_role::backward_child};

/// The events a whole family takes through its parent (DRS batch-jobs: terminate, force
/// terminate, delete); every other event is a child's own.
bool is_family_event(task_event e) { return e == E::stop || e == E::force_stop || e == E::remove; }

bool is_child(task_role r) {
  return r == task_role::forward_child || r == task_role::backward_child;
}

TEST(ApplyEvent, FollowsTheRulesForEveryStateEventArgumentAndRole) {
  // Every task a lifecycle can hold (paused ones from every pausable origin and mode, a
  // waiting one with its start time), every event, requested mode and time, addressed in
  // every role, checked against the rules in words.
  std::vector<cell> tasks;
  for (task_state s : all_task_states) {
    if (s == S::waiting_for_start) {
      tasks.push_back({s, pause_mode::target, S::paused, scheduled_at});
    } else if (s != S::paused) {
      tasks.push_back({s});
    }
  }
  for (task_state from : all_task_states) {
    if (expected_resume_from(from) && from != S::paused) {
      for (pause_mode m : {pause_mode::target, pause_mode::all})
        tasks.push_back({S::paused, m, from});
    }
  }
  // Each of them again, awaiting a worker's confirmation of a command.
  for (std::size_t i = 0, n = tasks.size(); i < n; ++i) {
    cell awaiting = tasks[i];
    awaiting.awaiting = i % 2 == 0 ? E::pause : E::resume;
    tasks.push_back(awaiting);
  }
  std::size_t applied = 0;
  for (const cell& start : tasks) {
    for (task_event e : all_task_events) {
      for (pause_mode requested : {pause_mode::target, pause_mode::all}) {
        for (wall_time at : event_times) {
          for (task_role role : all_roles) {
            const std::string what =
                pair_name(start.state, e) + " to a " + std::string(to_string(role));
            cell t = start;
            const step_outcome o = apply_event(t, role, e, {.mode = requested, .at = at});
            const auto row = expected_table().find({start.state, e});
            // The guards in order: scope (parent, then child), deleted; then the table.
            errc expected_refusal{};
            if (role == task_role::parent && !is_family_event(e)) {
              expected_refusal = errc::parent_task_forbidden;
            } else if (is_child(role) && is_family_event(e)) {
              expected_refusal = errc::child_task_forbidden;
            } else if (start.state == S::deleted) {
              expected_refusal = errc::task_deleted;
            } else if (e == E::confirm) {
              if (!start.awaiting) expected_refusal = errc::invalid_state;  // nothing awaits
            } else if (row == expected_table().end()) {
              expected_refusal = errc::invalid_state;
            } else if (e == E::start_due && start.start_time > at) {
              expected_refusal = errc::invalid_state;  // rescheduled later: not due yet
            }
            EXPECT_EQ(o.refusal, expected_refusal) << what;
            if (o.refusal != errc{}) {
              EXPECT_EQ(t, start) << what << ": a refused event changes nothing";
              EXPECT_FALSE(o.changed) << what;
              continue;
            }
            ++applied;
            cell expected = start;
            if (e == E::confirm) {
              expected.awaiting.reset();  // the wait ends; nothing else changes
              EXPECT_EQ(t, expected) << what;
              EXPECT_TRUE(o.changed) << what;
              continue;
            }
            ASSERT_NE(row, expected_table().end()) << what;
            if (e == E::pause && start.state == S::paused) {
              if (requested == pause_mode::all) expected.mode = pause_mode::all;  // target < all
            } else if (e == E::pause) {
              expected = {S::paused, requested, start.state};
            } else if (start.state == S::paused) {
              const task_state to = row->second.history ? *expected_resume_from(start.paused_from)
                                                        : row->second.state;
              expected = {to, pause_mode::target, S::paused};  // leaving paused forgets it
            } else if (e == E::schedule_start) {
              expected = {S::waiting_for_start, pause_mode::target, S::paused, at};
            } else if (start.state == S::waiting_for_start) {
              expected = {row->second.state};  // leaving the wait forgets the start time
            } else {
              expected.state = row->second.state;
            }
            expected.awaiting = start.awaiting;
            const bool moved = !(expected == start);
            // A change awaits the worker's confirmation of a command that needs one, and
            // ends any earlier wait; no change leaves the wait as it was.
            if (moved) expected.awaiting = awaits_a_worker(e) ? std::optional(e) : std::nullopt;
            EXPECT_EQ(t, expected) << what;
            EXPECT_EQ(o.changed, moved) << what;
          }
        }
      }
    }
  }
  EXPECT_GT(applied, 0U);
}

TEST(ApplyEvent, ARescheduleChangesTheTaskOnlyWhenTheTimeDiffers) {
  cell t{S::configuration};
  step_outcome o = apply_event(t, task_role::standalone, E::schedule_start, {.at = scheduled_at});
  EXPECT_EQ(o.refusal, errc{});
  EXPECT_TRUE(o.changed);
  EXPECT_EQ(t, (cell{S::waiting_for_start, pause_mode::target, S::paused, scheduled_at}));

  o = apply_event(t, task_role::standalone, E::schedule_start, {.at = scheduled_at});
  EXPECT_EQ(o.refusal, errc{});
  EXPECT_FALSE(o.changed) << "the same time again changes nothing";

  const wall_time later = scheduled_at + std::chrono::minutes(5);
  o = apply_event(t, task_role::forward_child, E::schedule_start, {.at = later});
  EXPECT_EQ(o.refusal, errc{});
  EXPECT_TRUE(o.changed);
  EXPECT_EQ(t.state, S::waiting_for_start);
  EXPECT_EQ(t.start_time, later);

  // The schedule fires at the first time: too early for the rescheduled task.
  o = apply_event(t, task_role::standalone, E::start_due, {.at = scheduled_at});
  EXPECT_EQ(o.refusal, errc::invalid_state);
  EXPECT_EQ(t.start_time, later);
  o = apply_event(t, task_role::standalone, E::start_due, {.at = later});
  EXPECT_EQ(o.refusal, errc{});
  EXPECT_TRUE(o.changed);
  // A scheduled start awaits nothing; the schedule's start awaits the worker that starts it.
  EXPECT_EQ(t, (cell{S::starting, pause_mode::target, S::paused, {}, E::start_due}));
}

TEST(ApplyEvent, ACommandAwaitsAWorkerUntilItConfirms) {
  // Every command that awaits a worker, from a state that takes it: the task awaits that
  // command; the worker's confirmation, unnamed or naming it, ends the wait and is a change;
  // one naming another command, or a second one, is refused and changes nothing.
  const std::vector<std::pair<cell, task_event>> commands{
      {cell{S::configuration}, E::start},
      {cell{S::waiting_for_start, pause_mode::target, S::paused, scheduled_at}, E::start_due},
      {cell{S::incremental_transfer}, E::pause},
      {cell{S::full_transfer_failed}, E::resume},
      {cell{S::full_transfer}, E::stop},
      {cell{S::starting}, E::force_stop},
  };
  const std::vector<task_event> awaitable{E::start,  E::start_due, E::pause,
                                          E::resume, E::stop,      E::force_stop};
  for (const auto& [start, command] : commands) {
    for (bool named : {false, true}) {
      const std::string what = pair_name(start.state, command) + (named ? " (named)" : "");
      cell t = start;
      const task_role role = is_family_event(command) ? task_role::parent : task_role::standalone;
      step_outcome o = apply_event(t, role, command, {.at = scheduled_at});
      ASSERT_EQ(o.refusal, errc{}) << what;
      ASSERT_TRUE(o.changed) << what;
      EXPECT_EQ(t.awaiting, command) << what;
      for (task_event other : awaitable) {
        if (other == command) continue;
        const cell before = t;
        o = apply_event(t, task_role::standalone, E::confirm, {.confirms = other});
        EXPECT_EQ(o.refusal, errc::invalid_state) << what << ": confirms " << to_string(other);
        EXPECT_FALSE(o.changed) << what;
        EXPECT_EQ(t, before) << what;
      }
      cell expected = t;
      expected.awaiting.reset();
      o = apply_event(t, task_role::forward_child, E::confirm,
                      {.confirms = named ? std::optional(command) : std::nullopt});
      EXPECT_EQ(o.refusal, errc{}) << what;
      EXPECT_TRUE(o.changed) << what;
      EXPECT_EQ(t, expected) << what << ": only the wait ends";
      o = apply_event(t, task_role::standalone, E::confirm, {});
      EXPECT_EQ(o.refusal, errc::invalid_state) << what << ": confirmed twice";
      EXPECT_FALSE(o.changed) << what;
      EXPECT_EQ(t, expected) << what;
    }
  }
}

TEST(ApplyEvent, TheWaitFollowsTheLastChange) {
  cell t{S::full_transfer};
  // Pausing awaits the worker; re-pausing with the same mode changes nothing and keeps the
  // wait; raising the mode is a change and awaits the pause again.
  ASSERT_TRUE(apply_event(t, task_role::standalone, E::pause, {}).changed);
  EXPECT_EQ(t.awaiting, E::pause);
  ASSERT_TRUE(apply_event(t, task_role::standalone, E::confirm, {}).changed);
  EXPECT_FALSE(t.awaiting);
  EXPECT_FALSE(apply_event(t, task_role::standalone, E::pause, {}).changed);
  EXPECT_FALSE(t.awaiting) << "a pause that changes nothing awaits nothing";
  ASSERT_TRUE(apply_event(t, task_role::standalone, E::pause, {.mode = pause_mode::all}).changed);
  EXPECT_EQ(t.awaiting, E::pause);
  // Resuming replaces the wait for the pause with one for the resume.
  ASSERT_TRUE(apply_event(t, task_role::standalone, E::resume, {}).changed);
  EXPECT_EQ(t.state, S::full_transfer);
  EXPECT_EQ(t.awaiting, E::resume);
  // Resuming a running task changes nothing: the wait stays the resume's.
  EXPECT_FALSE(apply_event(t, task_role::standalone, E::resume, {}).changed);
  EXPECT_EQ(t.awaiting, E::resume);
  // A worker event is a change that awaits nothing: it ends the wait unconfirmed.
  ASSERT_TRUE(apply_event(t, task_role::standalone, E::full_transfer_done, {}).changed);
  EXPECT_EQ(t.state, S::full_transfer_complete);
  EXPECT_FALSE(t.awaiting);
  // Terminate awaits the worker's release; force terminate replaces that wait.
  ASSERT_TRUE(apply_event(t, task_role::parent, E::stop, {}).changed);
  EXPECT_EQ(t.awaiting, E::stop);
  ASSERT_TRUE(apply_event(t, task_role::parent, E::force_stop, {}).changed);
  EXPECT_EQ(t.state, S::stopped);
  EXPECT_EQ(t.awaiting, E::force_stop);
  // Delete awaits nothing, and ends the wait.
  ASSERT_TRUE(apply_event(t, task_role::parent, E::remove, {}).changed);
  EXPECT_EQ(t.state, S::deleted);
  EXPECT_FALSE(t.awaiting);
  // A scheduled start awaits nothing and ends the wait; a reschedule too.
  cell w{S::configuration, pause_mode::target, S::paused, {}, E::force_stop};
  ASSERT_TRUE(
      apply_event(w, task_role::standalone, E::schedule_start, {.at = scheduled_at}).changed);
  EXPECT_FALSE(w.awaiting);
  w.awaiting = E::stop;
  EXPECT_FALSE(
      apply_event(w, task_role::standalone, E::schedule_start, {.at = scheduled_at}).changed);
  EXPECT_EQ(w.awaiting, E::stop) << "the same time again changes nothing";
}

TEST(ApplyEvent, AConfirmationMeetsTheGuardsFirst) {
  const cell paused{S::paused, pause_mode::target, S::full_transfer, {}, E::pause};
  cell t = paused;
  EXPECT_EQ(apply_event(t, task_role::parent, E::confirm, {}).refusal, errc::parent_task_forbidden);
  EXPECT_EQ(t, paused);
  for (task_role child : {task_role::forward_child, task_role::backward_child}) {
    t = paused;
    EXPECT_EQ(apply_event(t, child, E::confirm, {.confirms = E::pause}).refusal, errc{});
    EXPECT_FALSE(t.awaiting);
  }
  const cell deleted{S::deleted, pause_mode::target, S::paused, {}, E::force_stop};
  t = deleted;
  EXPECT_EQ(apply_event(t, task_role::standalone, E::confirm, {}).refusal, errc::task_deleted);
  EXPECT_EQ(apply_event(t, task_role::standalone, E::confirm, {.confirms = E::force_stop}).refusal,
            errc::task_deleted);
  EXPECT_EQ(t, deleted);
  // Nothing awaited: refused in every state, named or not.
  for (task_state s : all_task_states) {
    if (s == S::deleted) continue;
    cell idle{s};
    EXPECT_EQ(apply_event(idle, task_role::standalone, E::confirm, {}).refusal, errc::invalid_state)
        << to_string(s);
    EXPECT_EQ(apply_event(idle, task_role::standalone, E::confirm, {.confirms = E::start}).refusal,
              errc::invalid_state)
        << to_string(s);
  }
}

TEST(ApplyEvent, FamilyEventsReachTheChildrenOnlyThroughTheirParent) {
  for (task_event e : {E::stop, E::force_stop, E::remove}) {
    for (task_role child : {task_role::forward_child, task_role::backward_child}) {
      cell t{S::configuration};
      EXPECT_EQ(apply_event(t, child, e, {}).refusal, errc::child_task_forbidden) << to_string(e);
      EXPECT_EQ(t, cell{S::configuration});
    }
    cell t{S::configuration};
    EXPECT_EQ(apply_event(t, task_role::parent, e, {}).refusal, errc{}) << to_string(e);
    EXPECT_NE(t.state, S::configuration);
  }
  // A child's own events: the parent refuses them, even when the task would allow them.
  cell t{S::configuration};
  EXPECT_EQ(apply_event(t, task_role::parent, E::start, {}).refusal, errc::parent_task_forbidden);
  EXPECT_EQ(apply_event(t, task_role::forward_child, E::start, {}).refusal, errc{});
  EXPECT_EQ(t.state, S::starting);
}

TEST(ApplyEvent, ValuesOutsideTheEnumsHaveNoRow) {
  cell t{S::incremental_transfer};
  EXPECT_EQ(
      apply_event(t, task_role::standalone, static_cast<task_event>(200), {.mode = pause_mode::all})
          .refusal,
      errc::invalid_state);
  EXPECT_EQ(t.state, S::incremental_transfer);
}

}  // namespace
}  // namespace taskorch
