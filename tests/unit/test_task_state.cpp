#include <taskorch/task_state.hpp>

// The other small enums of the domain are covered here too.
#include <taskorch/batch.hpp>
#include <taskorch/pause_mode.hpp>
#include <taskorch/task_event.hpp>
#include <taskorch/task_kind.hpp>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace taskorch {
namespace {

using S = task_state;

// The lifecycle table of docs/behaviour.md, written out independently of the library's arrays.
const std::vector<std::pair<task_state, std::string_view>>& expected_drs_statuses() {
  static const std::vector<std::pair<task_state, std::string_view>> table{
      {S::configuration, "CONFIGURATION"},
      {S::starting, "STARTJOBING"},
      {S::start_failed, "START_JOB_FAILED"},
      {S::full_transfer, "FULL_TRANSFER_STARTED"},
      {S::full_transfer_complete, "FULL_TRANSFER_COMPLETE"},
      {S::incremental_transfer, "INCRE_TRANSFER_STARTED"},
      {S::full_transfer_failed, "FULL_TRANSFER_FAILED"},
      {S::incremental_transfer_failed, "INCRE_TRANSFER_FAILED"},
      {S::paused, "PAUSING"},
      {S::stopping, "RELEASE_RESOURCE_STARTED"},
      {S::stopped, "RELEASE_RESOURCE_COMPLETE"},
      {S::deleted, "DELETED"},
      {S::waiting_for_start, "WAITING_FOR_START"},
  };
  return table;
}

// -- task_state ---------------------------------------------------------------------------

TEST(TaskState, EveryStateHasItsDrsStatus) {
  ASSERT_EQ(expected_drs_statuses().size(), task_state_count);
  for (const auto& [state, status] : expected_drs_statuses()) {
    EXPECT_EQ(drs_status(state), status) << to_string(state);
  }
}

TEST(TaskState, AllStatesListsEachStateOnceInDeclarationOrder) {
  ASSERT_EQ(all_task_states.size(), task_state_count);
  for (std::size_t i = 0; i < all_task_states.size(); ++i) {
    EXPECT_EQ(static_cast<std::size_t>(all_task_states[i]), i);
  }
  std::set<std::string_view> statuses;
  for (task_state s : all_task_states) statuses.insert(drs_status(s));
  EXPECT_EQ(statuses.size(), task_state_count) << "two states share a DRS status";
}

TEST(TaskState, ParseDrsStatusRoundTrips) {
  for (const auto& [state, status] : expected_drs_statuses()) {
    const auto parsed = parse_drs_status(status);
    ASSERT_TRUE(parsed) << status;
    EXPECT_EQ(*parsed, state);
  }
}

TEST(TaskState, ParseDrsStatusRejectsUnknownAndLowercase) {
  for (std::string_view text :
       {"", "pausing", "Pausing", "PAUSEING", "PAUSED", " PAUSING", "PAUSING ", "CREATING",
        "CREATE_FAILED", "WAITING_FOR_STARTED", "waiting_for_start", "Waiting_For_Start",
        "RELEASE_RESOURCE_FAILED", "configuration", "full_transfer", "DELETED\n", "STARTJOBING_"}) {
    EXPECT_FALSE(parse_drs_status(text)) << '"' << text << '"';
  }
  // An embedded NUL makes a different string of the right prefix.
  EXPECT_FALSE(parse_drs_status(std::string_view("DELETED\0", 8)));
}

TEST(TaskState, NamesInCode) {
  const std::vector<std::pair<task_state, std::string_view>> names{
      {S::configuration, "configuration"},
      {S::starting, "starting"},
      {S::start_failed, "start_failed"},
      {S::full_transfer, "full_transfer"},
      {S::full_transfer_complete, "full_transfer_complete"},
      {S::incremental_transfer, "incremental_transfer"},
      {S::full_transfer_failed, "full_transfer_failed"},
      {S::incremental_transfer_failed, "incremental_transfer_failed"},
      {S::paused, "paused"},
      {S::stopping, "stopping"},
      {S::stopped, "stopped"},
      {S::deleted, "deleted"},
      {S::waiting_for_start, "waiting_for_start"},
  };
  ASSERT_EQ(names.size(), task_state_count);
  for (const auto& [state, name] : names) {
    EXPECT_EQ(to_string(state), name);
    EXPECT_EQ(fmt::format("{}", state), name);
  }
  EXPECT_EQ(fmt::format("[{:>8}]", S::paused), "[  paused]");
}

TEST(TaskState, OutOfRangeValuesAreNamedUnknown) {
  const auto bogus = static_cast<task_state>(200);
  EXPECT_EQ(to_string(bogus), "unknown");
  EXPECT_EQ(drs_status(bogus), "unknown");
}

TEST(TaskState, PausableIsExactlyRunningAndTransferFailed) {
  const std::set<task_state> pausable{S::full_transfer, S::full_transfer_complete,
                                      S::incremental_transfer, S::full_transfer_failed,
                                      S::incremental_transfer_failed};
  for (task_state s : all_task_states) {
    EXPECT_EQ(is_pausable(s), pausable.contains(s)) << to_string(s);
  }
}

TEST(TaskState, RunningStatesAreTheThreePhases) {
  const std::set<task_state> running{S::full_transfer, S::full_transfer_complete,
                                     S::incremental_transfer};
  for (task_state s : all_task_states)
    EXPECT_EQ(is_running(s), running.contains(s)) << to_string(s);
}

TEST(TaskState, TransferFailedStatesAreFullAndIncremental) {
  for (task_state s : all_task_states) {
    EXPECT_EQ(is_transfer_failed(s),
              s == S::full_transfer_failed || s == S::incremental_transfer_failed)
        << to_string(s);
  }
}

TEST(TaskState, FailedStatesAreTheDrsFailedStatuses) {
  // START_JOB_FAILED, FULL_TRANSFER_FAILED, INCRE_TRANSFER_FAILED
  // (docs/behaviour.md#kinds-and-families).
  for (task_state s : all_task_states) {
    const std::string_view status = drs_status(s);
    const bool failed = status == "START_JOB_FAILED" || status == "FULL_TRANSFER_FAILED" ||
                        status == "INCRE_TRANSFER_FAILED";
    EXPECT_EQ(is_failed(s), failed) << to_string(s);
  }
}

TEST(TaskState, PhaseOfEachState) {
  const std::vector<std::pair<task_state, transfer_phase>> phases{
      {S::configuration, transfer_phase::none},
      {S::starting, transfer_phase::none},
      {S::start_failed, transfer_phase::none},
      {S::full_transfer, transfer_phase::full},
      {S::full_transfer_complete, transfer_phase::full_complete},
      {S::incremental_transfer, transfer_phase::incremental},
      {S::full_transfer_failed, transfer_phase::full},
      {S::incremental_transfer_failed, transfer_phase::incremental},
      {S::paused, transfer_phase::none},
      {S::stopping, transfer_phase::none},
      {S::stopped, transfer_phase::none},
      {S::deleted, transfer_phase::none},
      {S::waiting_for_start, transfer_phase::none},
  };
  ASSERT_EQ(phases.size(), task_state_count);
  for (const auto& [state, phase] : phases) EXPECT_EQ(phase_of(state), phase) << to_string(state);
}

TEST(TaskState, TransferPhaseNames) {
  EXPECT_EQ(to_string(transfer_phase::none), "none");
  EXPECT_EQ(to_string(transfer_phase::full), "full");
  EXPECT_EQ(to_string(transfer_phase::full_complete), "full_complete");
  EXPECT_EQ(to_string(transfer_phase::incremental), "incremental");
  EXPECT_EQ(fmt::format("{}", transfer_phase::incremental), "incremental");
}

TEST(TaskState, FunctionsAreConstexpr) {
  static_assert(drs_status(S::paused) == "PAUSING");
  static_assert(parse_drs_status("DELETED") == S::deleted);
  static_assert(is_pausable(S::incremental_transfer_failed));
  static_assert(!is_pausable(S::paused));
  static_assert(phase_of(S::full_transfer_failed) == transfer_phase::full);
  SUCCEED();
}

// -- task_kind ----------------------------------------------------------------------------

TEST(TaskKind, WireNames) {
  EXPECT_EQ(task_kind_count, 3U);
  EXPECT_EQ(to_string(task_kind::migration), "migration");
  EXPECT_EQ(to_string(task_kind::sync), "sync");
  EXPECT_EQ(to_string(task_kind::cloud_data_guard), "cloudDataGuard");
  EXPECT_EQ(fmt::format("{}", task_kind::cloud_data_guard), "cloudDataGuard");
}

TEST(TaskKind, ParsesWireNames) {
  EXPECT_EQ(parse_task_kind("migration"), task_kind::migration);
  EXPECT_EQ(parse_task_kind("sync"), task_kind::sync);
  EXPECT_EQ(parse_task_kind("cloudDataGuard"), task_kind::cloud_data_guard);
}

TEST(TaskKind, RejectsOtherSpellings) {
  for (std::string_view text : {"", "Migration", "SYNC", "clouddataguard", "cloud_data_guard",
                                "CloudDataGuard", "dr", " sync", "sync "}) {
    EXPECT_FALSE(parse_task_kind(text)) << '"' << text << '"';
  }
}

TEST(TaskKind, Activities) {
  EXPECT_EQ(activity(task_kind::migration), "migrating");
  EXPECT_EQ(activity(task_kind::sync), "synchronizing");
  EXPECT_EQ(activity(task_kind::cloud_data_guard), "disaster recovery");
}

// -- task_event ---------------------------------------------------------------------------

TEST(TaskEvent, NamesRoundTrip) {
  const std::vector<std::pair<task_event, std::string_view>> names{
      {task_event::start, "start"},
      {task_event::start_succeeded, "start_succeeded"},
      {task_event::start_failed, "start_failed"},
      {task_event::full_transfer_done, "full_transfer_done"},
      {task_event::incremental_started, "incremental_started"},
      {task_event::transfer_failed, "transfer_failed"},
      {task_event::pause, "pause"},
      {task_event::resume, "resume"},
      {task_event::stop, "stop"},
      {task_event::stopped, "stopped"},
      {task_event::remove, "remove"},
      {task_event::schedule_start, "schedule_start"},
      {task_event::start_due, "start_due"},
      {task_event::force_stop, "force_stop"},
      {task_event::confirm, "confirmed"},  // the worker's word for it
  };
  ASSERT_EQ(names.size(), task_event_count);
  for (const auto& [event, name] : names) {
    EXPECT_EQ(to_string(event), name);
    EXPECT_EQ(parse_task_event(name), event);
    EXPECT_EQ(fmt::format("{}", event), name);
  }
  EXPECT_FALSE(parse_task_event(""));
  EXPECT_FALSE(parse_task_event("PAUSE"));
  EXPECT_FALSE(parse_task_event("delete"));
  EXPECT_FALSE(parse_task_event("confirm"));  // the wire name is "confirmed"
  EXPECT_FALSE(parse_task_event("CONFIRMED"));
}

TEST(TaskEvent, AllEventsListsEachEventOnce) {
  ASSERT_EQ(all_task_events.size(), task_event_count);
  for (std::size_t i = 0; i < all_task_events.size(); ++i) {
    EXPECT_EQ(static_cast<std::size_t>(all_task_events[i]), i);
  }
}

TEST(TaskEvent, WorkerEventsAreTheSixReports) {
  // Written out independently of event_rules: what a worker may report: the six events that
  // move a task, and its confirmation of a command it has carried out.
  const std::set<task_event> worker{task_event::start_succeeded,
                                    task_event::start_failed,
                                    task_event::full_transfer_done,
                                    task_event::incremental_started,
                                    task_event::transfer_failed,
                                    task_event::stopped,
                                    task_event::confirm};
  for (task_event e : all_task_events) {
    EXPECT_EQ(is_worker_event(e), worker.contains(e)) << to_string(e);
  }
}

TEST(TaskEvent, EveryEventHasItsOriginScopeAndAction) {
  // The DRS APIs: batch-starting (START), batch-pause-task (PAUSE), batch-retry-task (RETRY),
  // batch-jobs (TERMINATE, FORCE_TERMINATE, DELETE); the schedule fires start_due.
  struct expected {
    task_event event;
    event_origin origin;
    family_scope scope;
    std::string_view action;
    bool awaits_worker;  ///< a worker must carry it out and confirm it
  };
  using O = event_origin;
  using F = family_scope;
  const std::vector<expected> rules{
      {task_event::start, O::command, F::child, "START", true},
      {task_event::start_succeeded, O::worker, F::child, "", false},
      {task_event::start_failed, O::worker, F::child, "", false},
      {task_event::full_transfer_done, O::worker, F::child, "", false},
      {task_event::incremental_started, O::worker, F::child, "", false},
      {task_event::transfer_failed, O::worker, F::child, "", false},
      {task_event::pause, O::command, F::child, "PAUSE", true},
      {task_event::resume, O::command, F::child, "RETRY", true},
      {task_event::stop, O::command, F::family, "TERMINATE", true},
      {task_event::stopped, O::worker, F::child, "", false},
      {task_event::remove, O::command, F::family, "DELETE", false},
      {task_event::schedule_start, O::command, F::child, "START", false},  // nothing to do yet
      {task_event::start_due, O::schedule, F::child, "", true},
      {task_event::force_stop, O::command, F::family, "FORCE_TERMINATE", true},
      {task_event::confirm, O::worker, F::child, "", false},
  };
  ASSERT_EQ(rules.size(), task_event_count);
  ASSERT_EQ(event_rules.size(), task_event_count);
  for (const expected& e : rules) {
    const event_rule& r = rule_of(e.event);
    EXPECT_EQ(r.event, e.event);
    EXPECT_EQ(r.name, to_string(e.event));
    EXPECT_EQ(r.origin, e.origin) << to_string(e.event);
    EXPECT_EQ(r.scope, e.scope) << to_string(e.event);
    EXPECT_EQ(r.action, e.action) << to_string(e.event);
    EXPECT_EQ(is_command(e.event), e.origin == O::command) << to_string(e.event);
    EXPECT_EQ(is_worker_event(e.event), e.origin == O::worker) << to_string(e.event);
    EXPECT_EQ(r.awaits_worker, e.awaits_worker) << to_string(e.event);
    EXPECT_EQ(awaits_worker(e.event), e.awaits_worker) << to_string(e.event);
  }
  EXPECT_FALSE(is_command(static_cast<task_event>(200)));
  EXPECT_FALSE(is_worker_event(static_cast<task_event>(200)));
  EXPECT_FALSE(awaits_worker(static_cast<task_event>(200)));
  EXPECT_FALSE(awaits_worker(static_cast<task_event>(task_event_count)));
}

TEST(TaskEvent, AnAwaitedCommandShowsTheDrsActionAWorkerCarriesOut) {
  // While a task awaits a worker, it shows the DRS action the worker is carrying out; the
  // schedule's own start is the START the user asked for earlier.
  const std::vector<std::pair<task_event, std::string_view>> shown{
      {task_event::start, "START"},    {task_event::start_due, "START"},
      {task_event::pause, "PAUSE"},    {task_event::resume, "RETRY"},
      {task_event::stop, "TERMINATE"}, {task_event::force_stop, "FORCE_TERMINATE"},
  };
  for (const auto& [event, action] : shown) {
    EXPECT_TRUE(awaits_worker(event)) << to_string(event);
    EXPECT_EQ(awaited_action(event), action) << to_string(event);
  }
}

TEST(TaskEvent, DrsActionsAreDistinctInTableOrder) {
  const std::vector<std::string_view> expected{"START",     "PAUSE",  "RETRY",
                                               "TERMINATE", "DELETE", "FORCE_TERMINATE"};
  EXPECT_EQ(std::vector<std::string_view>(drs_actions.begin(), drs_actions.end()), expected);
}

TEST(TaskEvent, OriginAndScopeNames) {
  EXPECT_EQ(to_string(event_origin::command), "command");
  EXPECT_EQ(to_string(event_origin::worker), "worker");
  EXPECT_EQ(to_string(event_origin::schedule), "schedule");
  EXPECT_EQ(to_string(family_scope::child), "child");
  EXPECT_EQ(to_string(family_scope::family), "family");
}

// -- delete_type --------------------------------------------------------------------------

TEST(DeleteType, WireNamesAndEvents) {
  // DRS batch-jobs `delete_type`: terminate, force_terminate, delete.
  const std::vector<std::tuple<delete_type, std::string_view, task_event>> types{
      {delete_type::terminate, "terminate", task_event::stop},
      {delete_type::force_terminate, "force_terminate", task_event::force_stop},
      {delete_type::remove, "delete", task_event::remove},
  };
  for (const auto& [type, name, event] : types) {
    EXPECT_TRUE(is_valid(type));
    EXPECT_EQ(to_string(type), name);
    EXPECT_EQ(parse_delete_type(name), type);
    EXPECT_EQ(event_of(type), event) << name;
  }
  EXPECT_FALSE(is_valid(static_cast<delete_type>(3)));
  for (std::string_view text :
       {"", "remove", "Delete", "TERMINATE", "force-terminate", "forceTerminate", "terminate "}) {
    EXPECT_FALSE(parse_delete_type(text)) << '"' << text << '"';
  }
}

// -- pause_mode ---------------------------------------------------------------------------

TEST(PauseMode, NamesAndParsing) {
  EXPECT_EQ(to_string(pause_mode::target), "target");
  EXPECT_EQ(to_string(pause_mode::all), "all");
  EXPECT_EQ(parse_pause_mode("target"), pause_mode::target);
  EXPECT_EQ(parse_pause_mode("all"), pause_mode::all);
  EXPECT_EQ(fmt::format("{}", pause_mode::all), "all");
  for (std::string_view text : {"", "ALL", "Target", "TARGET", "none", "all ", "targets"}) {
    EXPECT_FALSE(parse_pause_mode(text)) << '"' << text << '"';
  }
}

TEST(PauseMode, MergedKeepsTheStrongerMode) {
  EXPECT_EQ(merged(pause_mode::target, pause_mode::target), pause_mode::target);
  EXPECT_EQ(merged(pause_mode::target, pause_mode::all), pause_mode::all);
  EXPECT_EQ(merged(pause_mode::all, pause_mode::target), pause_mode::all);
  EXPECT_EQ(merged(pause_mode::all, pause_mode::all), pause_mode::all);
  static_assert(pause_mode::target < pause_mode::all);
}

}  // namespace
}  // namespace taskorch
