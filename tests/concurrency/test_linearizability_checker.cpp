// Self-tests of the linearizability checker and of the task model: known-bad histories must
// be flagged illegal, known-good concurrent ones ok, and an exhausted budget unknown.
#include "linearizability.hpp"
#include "stress_driver.hpp"
#include "task_model.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <random>
#include <stdexcept>

namespace taskorch::test {
namespace {

using S = task_state;

// -- a register, the textbook model ------------------------------------------------------

/// A register of one int: a write (input set) accepts any output, a read must see the value.
struct register_model {
  using state = int;
  using input = std::optional<int>;  // a value: write it; empty: read
  using output = int;
  std::optional<int> step(int s, const input& in, int out) const {
    if (in) return *in;
    if (out == s) return s;
    return std::nullopt;
  }
  std::size_t hash(int s) const { return std::hash<int>{}(s); }
};
using reg_op = lin::operation<std::optional<int>, int>;

reg_op write(int v, std::uint64_t call, std::uint64_t ret) { return {v, 0, call, ret}; }
reg_op read(int v, std::uint64_t call, std::uint64_t ret) { return {std::nullopt, v, call, ret}; }

lin::verdict check_register(const std::vector<reg_op>& h, lin::options opt = {}) {
  return lin::check(register_model{}, 0, h, opt).result;
}

TEST(LinearizabilityChecker, EmptyHistoryIsOk) { EXPECT_EQ(check_register({}), lin::verdict::ok); }

TEST(LinearizabilityChecker, ReadConcurrentWithWriteMaySeeEitherValue) {
  EXPECT_EQ(check_register({write(1, 1, 4), read(1, 2, 3)}), lin::verdict::ok);
  EXPECT_EQ(check_register({write(1, 1, 4), read(0, 2, 3)}), lin::verdict::ok);
}

TEST(LinearizabilityChecker, StaleReadAfterCompletedWriteIsIllegal) {
  EXPECT_EQ(check_register({write(1, 1, 2), read(0, 3, 4)}), lin::verdict::illegal);
}

TEST(LinearizabilityChecker, NewThenOldReadsDuringOneWriteAreIllegal) {
  // The write overlaps both reads, but once a read has returned the new value a later read
  // (called after that one returned) cannot see the old value again.
  EXPECT_EQ(check_register({write(1, 1, 10), read(1, 2, 3), read(0, 4, 5)}), lin::verdict::illegal);
  EXPECT_EQ(check_register({write(1, 1, 10), read(0, 2, 3), read(1, 4, 5)}), lin::verdict::ok);
}

TEST(LinearizabilityChecker, BacktracksOverAnEarlyWrongChoice) {
  // Linearizing write(1) then write(2) (in call order) dead-ends at read(1); only
  // write(2), read(2), write(1), read(1) works, so the checker must undo its first choices.
  EXPECT_EQ(check_register({write(1, 1, 6), write(2, 2, 7), read(2, 3, 4), read(1, 8, 9)}),
            lin::verdict::ok);
  // Once both writes are over and a read saw 1, the register holds 1 for good.
  EXPECT_EQ(check_register(
                {write(1, 1, 6), write(2, 2, 7), read(2, 3, 4), read(1, 8, 9), read(2, 10, 11)}),
            lin::verdict::illegal);
}

TEST(LinearizabilityChecker, NeverReturningOperationMayTakeEffectLate) {
  EXPECT_EQ(check_register({write(2, 1, lin::never), read(0, 3, 4), read(2, 5, 6)}),
            lin::verdict::ok);
  EXPECT_EQ(check_register({write(2, 1, lin::never), read(2, 3, 4), read(0, 5, 6)}),
            lin::verdict::illegal);
}

TEST(LinearizabilityChecker, ExhaustedBudgetIsUnknown) {
  // Many overlapping writes and a final impossible read: the search must try many orders.
  std::vector<reg_op> h;
  for (int i = 0; i < 12; ++i) h.push_back(write(i + 1, 1 + i, 100 + i));
  h.push_back(read(-1, 200, 201));
  EXPECT_EQ(check_register(h, {.max_steps = 50}), lin::verdict::unknown);
  EXPECT_EQ(check_register(h), lin::verdict::illegal);
}

TEST(LinearizabilityChecker, LongHistoriesBeyondTheInlineSetWork) {
  // 300 operations: the linearized set no longer fits the checker's inline words.
  std::vector<reg_op> h;
  for (int i = 0; i < 150; ++i) {
    const auto t = static_cast<std::uint64_t>(10 * i);
    h.push_back(write(i, t + 1, t + 6));
    h.push_back(read(i, t + 5, t + 9));  // overlaps its write: may see it or the one before
  }
  EXPECT_EQ(check_register(h), lin::verdict::ok);
  h.push_back(read(3, 5000, 5001));  // long after the last write of 149
  EXPECT_EQ(check_register(h), lin::verdict::illegal);
}

TEST(LinearizabilityChecker, RejectsAnOperationReturningBeforeItsCall) {
  EXPECT_THROW(check_register({read(0, 5, 4)}), std::invalid_argument);
}

TEST(LinearizabilityChecker, ReportsTheLongestLegalOrderOfAnIllegalHistory) {
  const std::vector<reg_op> h{write(1, 1, 2), read(1, 3, 4), read(0, 5, 6)};
  const lin::report rep = lin::check(register_model{}, 0, h);
  ASSERT_EQ(rep.result, lin::verdict::illegal);
  EXPECT_EQ(rep.longest_prefix, (std::vector<std::size_t>{0, 1}));
}

// -- the task model: known-bad histories ----------------------------------------------------

task_fields fields(S state, std::uint64_t version = 0) { return fields_of(state, {}, version); }
task_fields paused_fields(pause_mode m, S from, std::uint64_t version = 0) {
  return fields_of(S::paused, pause_info{m, from}, version);
}

model_input in(op_kind kind, member who = member::task) {
  model_input i;
  i.kind = kind;
  i.target = who;
  return i;
}
model_input pause_in(pause_mode m, member who = member::task) {
  model_input i = in(op_kind::pause, who);
  i.mode = m;
  return i;
}
model_input report_in(task_event e, member who = member::task) {
  model_input i = in(op_kind::report, who);
  i.event = e;
  return i;
}
model_input start_in(std::optional<wall_time> at = {}, member who = member::task) {
  model_input i = in(op_kind::start, who);
  i.start_time = at;
  return i;
}
model_input delete_in(delete_type t, member who = member::task) {
  model_input i = in(op_kind::remove, who);
  i.type = t;
  return i;
}
model_input confirm_in(std::optional<task_event> command = {}, member who = member::task) {
  model_input i = in(op_kind::confirm, who);
  i.confirms = command;
  return i;
}
/// Far start times: the engine's schedule never reaches them during a test.
const wall_time far_start{std::chrono::milliseconds(4'102'444'800'000)};
model_output result(outcome o) { return {.result = o}; }
/// `out`, showing the task awaiting a worker's confirmation of `command`.
model_output awaiting(model_output out, task_event command) {
  out.awaiting = command;
  return out;
}
model_output status_out(S s) { return {.result = outcome::ok, .state = s}; }
model_output get_out(S s, std::uint64_t version, std::optional<pause_info> p = {},
                     task_role role = task_role::standalone,
                     std::optional<wall_time> start_time = {},
                     std::optional<task_event> awaiting = {}) {
  return {.result = outcome::ok,
          .state = s,
          .pause = p,
          .start_time = start_time,
          .version = version,
          .role = role,
          .awaiting = awaiting};
}

/// A history on one task or family; the registration comes first, at stamps 1-2.
class history {
 public:
  explicit history(task_fields t) {
    model_input r = in(op_kind::register_tasks);
    r.initial[0] = t;
    ops_.push_back({r, result(outcome::ok), 1, 2});
  }
  history(task_fields forward, task_fields backward) {
    model_input r = in(op_kind::register_tasks, member::parent);
    r.initial = {forward, backward};
    ops_.push_back({r, result(outcome::ok), 1, 2});
  }
  history& add(model_input i, model_output o, std::uint64_t call, std::uint64_t ret) {
    ops_.push_back({i, o, call, ret});
    return *this;
  }
  /// Checks the history; shows it when the verdict is not `expected`.
  lin::verdict check(lin::verdict expected) const {
    const lin::report rep = lin::check(task_model{}, task_model::initial(), ops_);
    if (rep.result != expected) std::printf("%s", show_history(ops_, rep, "self-test").c_str());
    return rep.result;
  }

 private:
  std::vector<task_op> ops_;
};

TEST(TaskModelHistory, SecondSequentialPauseReportingInvalidStateIsIllegal) {
  history bad(fields(S::incremental_transfer));
  bad.add(pause_in(pause_mode::target), result(outcome::ok), 10, 11)
      .add(pause_in(pause_mode::all), result(outcome::invalid_state), 12, 13);
  EXPECT_EQ(bad.check(lin::verdict::illegal), lin::verdict::illegal);

  history good(fields(S::incremental_transfer));
  good.add(pause_in(pause_mode::target), result(outcome::ok), 10, 11)
      .add(pause_in(pause_mode::all), result(outcome::ok), 12, 13)
      .add(in(op_kind::get),
           awaiting(get_out(S::paused, 2, pause_info{pause_mode::all, S::incremental_transfer}),
                    task_event::pause),
           14, 15);
  EXPECT_EQ(good.check(lin::verdict::ok), lin::verdict::ok);
}

TEST(TaskModelHistory, ResumeObservedBeforeThePauseThatCompletedEarlierIsIllegal) {
  // The pause completed before the resume was called, so the resume must undo it; a later
  // status still showing PAUSING is explained only by resume-then-pause.
  history bad(fields(S::incremental_transfer));
  bad.add(pause_in(pause_mode::all), result(outcome::ok), 10, 11)
      .add(in(op_kind::resume), result(outcome::ok), 12, 13)
      .add(in(op_kind::status), status_out(S::paused), 14, 15);
  EXPECT_EQ(bad.check(lin::verdict::illegal), lin::verdict::illegal);

  // Overlapping pause and resume: either order is allowed.
  history good(fields(S::incremental_transfer));
  good.add(pause_in(pause_mode::all), result(outcome::ok), 10, 13)
      .add(in(op_kind::resume), result(outcome::ok), 11, 12)
      .add(in(op_kind::status), status_out(S::paused), 14, 15);
  EXPECT_EQ(good.check(lin::verdict::ok), lin::verdict::ok);
}

TEST(TaskModelHistory, StatusThatNoOrderExplainsIsIllegal) {
  history bad(fields(S::full_transfer));
  bad.add(pause_in(pause_mode::target), result(outcome::ok), 10, 13)
      .add(report_in(task_event::full_transfer_done), result(outcome::invalid_state), 11, 14)
      .add(in(op_kind::status), status_out(S::stopped), 12, 15);
  EXPECT_EQ(bad.check(lin::verdict::illegal), lin::verdict::illegal);

  history good(fields(S::full_transfer));
  good.add(pause_in(pause_mode::target), result(outcome::ok), 10, 13)
      .add(report_in(task_event::full_transfer_done), result(outcome::invalid_state), 11, 14)
      .add(in(op_kind::status), status_out(S::paused), 12, 15);
  EXPECT_EQ(good.check(lin::verdict::ok), lin::verdict::ok);
}

TEST(TaskModelHistory, StaleReadAfterCompletedWriteIsIllegal) {
  history bad(fields(S::full_transfer));
  bad.add(report_in(task_event::full_transfer_done), result(outcome::ok), 10, 11)
      .add(in(op_kind::status), status_out(S::full_transfer), 12, 13);
  EXPECT_EQ(bad.check(lin::verdict::illegal), lin::verdict::illegal);

  history good(fields(S::full_transfer));
  good.add(report_in(task_event::full_transfer_done), result(outcome::ok), 10, 13)
      .add(in(op_kind::status), status_out(S::full_transfer), 11, 12);
  EXPECT_EQ(good.check(lin::verdict::ok), lin::verdict::ok);
}

TEST(TaskModelHistory, LostUpdateIsIllegal) {
  // pause and resume overlap; whichever order, the version rises by one or two, and
  // "running at version+1" matches neither (pause-then-resume: v+2; resume-then-pause:
  // paused at v+1).
  history bad(fields(S::full_transfer, 5));
  bad.add(pause_in(pause_mode::target), result(outcome::ok), 10, 13)
      .add(in(op_kind::resume), result(outcome::ok), 11, 12)
      .add(in(op_kind::get), awaiting(get_out(S::full_transfer, 6), task_event::resume), 14, 15);
  EXPECT_EQ(bad.check(lin::verdict::illegal), lin::verdict::illegal);

  history good(fields(S::full_transfer, 5));
  good.add(pause_in(pause_mode::target), result(outcome::ok), 10, 13)
      .add(in(op_kind::resume), result(outcome::ok), 11, 12)
      .add(in(op_kind::get), awaiting(get_out(S::full_transfer, 7), task_event::resume), 14, 15);
  EXPECT_EQ(good.check(lin::verdict::ok), lin::verdict::ok);
}

TEST(TaskModelHistory, NoOpChangingTheVersionIsIllegal) {
  history bad(paused_fields(pause_mode::all, S::full_transfer, 3));
  bad.add(pause_in(pause_mode::target), result(outcome::ok), 10, 11)
      .add(in(op_kind::get),
           awaiting(get_out(S::paused, 4, pause_info{pause_mode::all, S::full_transfer}),
                    task_event::pause),
           12, 13);
  EXPECT_EQ(bad.check(lin::verdict::illegal), lin::verdict::illegal);

  history good(paused_fields(pause_mode::target, S::full_transfer, 3));
  good.add(pause_in(pause_mode::all), result(outcome::ok), 10, 11)
      .add(in(op_kind::get),
           awaiting(get_out(S::paused, 4, pause_info{pause_mode::all, S::full_transfer}),
                    task_event::pause),
           12, 13);
  EXPECT_EQ(good.check(lin::verdict::ok), lin::verdict::ok);
}

TEST(TaskModelHistory, ResumingATransferFailedOriginRetries) {
  history bad(paused_fields(pause_mode::target, S::incremental_transfer_failed));
  bad.add(in(op_kind::resume), result(outcome::ok), 10, 11)
      .add(in(op_kind::status), status_out(S::incremental_transfer_failed), 12, 13);
  EXPECT_EQ(bad.check(lin::verdict::illegal), lin::verdict::illegal);

  history good(paused_fields(pause_mode::target, S::incremental_transfer_failed));
  good.add(in(op_kind::resume), result(outcome::ok), 10, 11)
      .add(in(op_kind::status), status_out(S::incremental_transfer), 12, 13);
  EXPECT_EQ(good.check(lin::verdict::ok), lin::verdict::ok);
}

TEST(TaskModelHistory, DeletedTaskMustAnswerM05004) {
  history bad(fields(S::deleted));
  bad.add(pause_in(pause_mode::all), result(outcome::invalid_state), 10, 11);
  EXPECT_EQ(bad.check(lin::verdict::illegal), lin::verdict::illegal);

  history good(fields(S::deleted));
  good.add(pause_in(pause_mode::all), result(outcome::deleted), 10, 11)
      .add(in(op_kind::resume), result(outcome::deleted), 12, 13)
      .add(in(op_kind::status), status_out(S::deleted), 14, 15);
  EXPECT_EQ(good.check(lin::verdict::ok), lin::verdict::ok);
}

TEST(TaskModelHistory, AnotherProjectSeesNothingAndChangesNothing) {
  history bad(fields(S::full_transfer));
  model_input foreign = pause_in(pause_mode::all);
  foreign.foreign = true;
  bad.add(foreign, result(outcome::ok), 10, 11);
  EXPECT_EQ(bad.check(lin::verdict::illegal), lin::verdict::illegal);

  history good(fields(S::full_transfer));
  good.add(foreign, result(outcome::not_found), 10, 11)
      .add(in(op_kind::status), status_out(S::full_transfer), 12, 13);
  EXPECT_EQ(good.check(lin::verdict::ok), lin::verdict::ok);
}

TEST(TaskModelHistory, AbortedItemDidNotRun) {
  history bad(fields(S::full_transfer));
  bad.add(pause_in(pause_mode::all), result(outcome::aborted), 10, 11)
      .add(in(op_kind::status), status_out(S::paused), 12, 13);
  EXPECT_EQ(bad.check(lin::verdict::illegal), lin::verdict::illegal);

  history good(fields(S::full_transfer));
  good.add(pause_in(pause_mode::all), result(outcome::aborted), 10, 11)
      .add(in(op_kind::status), status_out(S::full_transfer), 12, 13);
  EXPECT_EQ(good.check(lin::verdict::ok), lin::verdict::ok);
}

TEST(TaskModelHistory, OperationBeforeRegistrationSeesNothing) {
  task_op early{in(op_kind::status), result(outcome::not_found), 1, 2};
  std::vector<task_op> h;
  model_input r = in(op_kind::register_tasks);
  r.initial[0] = fields(S::starting);
  h.push_back({r, result(outcome::ok), 3, 6});
  h.push_back(early);  // returned before the registration was called: fine
  h.push_back({in(op_kind::status), result(outcome::not_found), 4, 5});  // overlapping: fine
  EXPECT_EQ(lin::check(task_model{}, task_model::initial(), h).result, lin::verdict::ok);
  h.push_back({in(op_kind::status), result(outcome::not_found), 7, 8});  // after: illegal
  EXPECT_EQ(lin::check(task_model{}, task_model::initial(), h).result, lin::verdict::illegal);
}

TEST(TaskModelHistory, PausingTheParentIsForbiddenWhateverTheChildren) {
  history bad(fields(S::full_transfer), fields(S::incremental_transfer));
  bad.add(pause_in(pause_mode::target, member::parent), result(outcome::ok), 10, 11);
  EXPECT_EQ(bad.check(lin::verdict::illegal), lin::verdict::illegal);

  history bad_resume(fields(S::start_failed), fields(S::start_failed));
  bad_resume.add(in(op_kind::resume, member::parent), result(outcome::ok), 10, 11);
  EXPECT_EQ(bad_resume.check(lin::verdict::illegal), lin::verdict::illegal);

  history good(fields(S::deleted), fields(S::deleted));
  good.add(pause_in(pause_mode::target, member::parent), result(outcome::parent_forbidden), 10, 11)
      .add(report_in(task_event::stopped, member::parent), result(outcome::parent_forbidden), 12,
           13)
      .add(start_in({}, member::parent), result(outcome::parent_forbidden), 14, 15)
      .add(pause_in(pause_mode::target, member::forward), result(outcome::deleted), 16, 17);
  EXPECT_EQ(good.check(lin::verdict::ok), lin::verdict::ok);
}

TEST(TaskModelHistory, AScheduledStartWaitsAndARescheduleChangesOnlyTheTime) {
  history bad(fields(S::configuration));
  bad.add(start_in(far_start), result(outcome::ok), 10, 11)
      .add(in(op_kind::status), status_out(S::starting), 12, 13);
  EXPECT_EQ(bad.check(lin::verdict::illegal), lin::verdict::illegal);

  history same_time(fields(S::configuration));
  same_time.add(start_in(far_start), result(outcome::ok), 10, 11)
      .add(start_in(far_start), result(outcome::ok), 12, 13)
      .add(in(op_kind::get), get_out(S::waiting_for_start, 2, {}, task_role::standalone, far_start),
           14, 15);
  EXPECT_EQ(same_time.check(lin::verdict::illegal), lin::verdict::illegal)
      << "the same time again changes nothing";

  history good(fields(S::configuration));
  good.add(start_in(far_start), result(outcome::ok), 10, 11)
      .add(start_in(far_start), result(outcome::ok), 12, 13)
      .add(start_in(far_start + std::chrono::seconds(1)), result(outcome::ok), 14, 15)
      .add(in(op_kind::get),
           get_out(S::waiting_for_start, 2, {}, task_role::standalone,
                   far_start + std::chrono::seconds(1)),
           16, 17)
      .add(start_in(), result(outcome::ok), 18, 19)
      .add(in(op_kind::get), awaiting(get_out(S::starting, 3), task_event::start), 20, 21)
      .add(start_in(far_start), result(outcome::invalid_state), 22, 23);
  EXPECT_EQ(good.check(lin::verdict::ok), lin::verdict::ok);
}

TEST(TaskModelHistory, AFamilyCommandChangesBothChildrenAtOnce) {
  // The terminate completed before both reads were called: neither child may still run.
  history bad(fields(S::full_transfer), fields(S::incremental_transfer));
  bad.add(delete_in(delete_type::terminate, member::parent), result(outcome::ok), 10, 11)
      .add(in(op_kind::status, member::forward), status_out(S::stopping), 12, 13)
      .add(in(op_kind::status, member::backward), status_out(S::incremental_transfer), 14, 15);
  EXPECT_EQ(bad.check(lin::verdict::illegal), lin::verdict::illegal);

  // A read overlapping the terminate may see the family before it, but not half of it.
  history torn(fields(S::full_transfer), fields(S::incremental_transfer));
  torn.add(delete_in(delete_type::terminate, member::parent), result(outcome::ok), 10, 20)
      .add(in(op_kind::status, member::forward), status_out(S::stopping), 11, 12)
      .add(in(op_kind::status, member::backward), status_out(S::incremental_transfer), 13, 14);
  EXPECT_EQ(torn.check(lin::verdict::illegal), lin::verdict::illegal);

  history good(fields(S::full_transfer), fields(S::incremental_transfer));
  good.add(delete_in(delete_type::terminate, member::parent), result(outcome::ok), 10, 20)
      .add(in(op_kind::status, member::backward), status_out(S::incremental_transfer), 11, 12)
      .add(in(op_kind::status, member::forward), status_out(S::stopping), 13, 14)
      .add(in(op_kind::get, member::backward),
           awaiting(get_out(S::stopping, 1, {}, task_role::backward_child), task_event::stop), 21,
           22);
  EXPECT_EQ(good.check(lin::verdict::ok), lin::verdict::ok);
}

TEST(TaskModelHistory, AFamilyCommandOneChildRefusesChangesNeither) {
  history bad(fields(S::stopped), fields(S::incremental_transfer));
  bad.add(delete_in(delete_type::terminate, member::parent), result(outcome::invalid_state), 10, 11)
      .add(in(op_kind::status, member::backward), status_out(S::stopping), 12, 13);
  EXPECT_EQ(bad.check(lin::verdict::illegal), lin::verdict::illegal);

  history wrong_answer(fields(S::starting), fields(S::deleted));
  wrong_answer.add(delete_in(delete_type::terminate, member::parent), result(outcome::deleted), 10,
                   11);
  EXPECT_EQ(wrong_answer.check(lin::verdict::illegal), lin::verdict::illegal)
      << "the forward child's refusal answers first";

  history good(fields(S::stopped), fields(S::incremental_transfer));
  good.add(delete_in(delete_type::terminate, member::parent), result(outcome::invalid_state), 10,
           11)
      .add(in(op_kind::get, member::backward),
           get_out(S::incremental_transfer, 0, {}, task_role::backward_child), 12, 13)
      .add(delete_in(delete_type::remove, member::forward), result(outcome::child_forbidden), 14,
           15)
      .add(delete_in(delete_type::force_terminate, member::parent), result(outcome::invalid_state),
           16, 17);
  EXPECT_EQ(good.check(lin::verdict::ok), lin::verdict::ok);

  history child(fields(S::stopped), fields(S::stopped));
  child.add(delete_in(delete_type::remove, member::backward), result(outcome::ok), 10, 11);
  EXPECT_EQ(child.check(lin::verdict::illegal), lin::verdict::illegal) << "a child refuses";
}

TEST(TaskModelHistory, ParentStatusIsTheAggregateOfItsChildren) {
  // Only the forward child paused: the parent shows the forward child's state.
  history one(fields(S::full_transfer), fields(S::incremental_transfer));
  one.add(pause_in(pause_mode::target, member::forward), result(outcome::ok), 10, 11)
      .add(in(op_kind::status, member::parent), status_out(S::paused), 12, 13)
      .add(pause_in(pause_mode::target, member::backward), result(outcome::ok), 14, 15);
  EXPECT_EQ(one.check(lin::verdict::ok), lin::verdict::ok);

  history partial(fields(S::full_transfer), fields(S::incremental_transfer));
  partial.add(pause_in(pause_mode::target, member::backward), result(outcome::ok), 10, 11)
      .add(in(op_kind::status, member::parent), status_out(S::paused), 12, 13);
  EXPECT_EQ(partial.check(lin::verdict::illegal), lin::verdict::illegal);

  history both(fields(S::full_transfer), fields(S::incremental_transfer));
  both.add(pause_in(pause_mode::target, member::backward), result(outcome::ok), 10, 11)
      .add(pause_in(pause_mode::all, member::forward), result(outcome::ok), 12, 13)
      .add(in(op_kind::status, member::parent), status_out(S::paused), 14, 15)
      .add(in(op_kind::get, member::parent), get_out(S::paused, 0, {}, task_role::parent), 16, 17);
  EXPECT_EQ(both.check(lin::verdict::ok), lin::verdict::ok);

  // A failed child wins, the forward one first.
  history failed(fields(S::incremental_transfer_failed), fields(S::start_failed));
  failed.add(in(op_kind::status, member::parent), status_out(S::start_failed), 10, 11);
  EXPECT_EQ(failed.check(lin::verdict::illegal), lin::verdict::illegal);
  history failed_ok(fields(S::full_transfer), fields(S::start_failed));
  failed_ok.add(in(op_kind::status, member::parent), status_out(S::start_failed), 10, 11);
  EXPECT_EQ(failed_ok.check(lin::verdict::ok), lin::verdict::ok);
}

TEST(TaskModelHistory, AConfirmationIsTakenOnceAndOnlyForTheAwaitedCommand) {
  // Two confirmations one after the other: the second finds nothing awaited.
  history twice(fields(S::full_transfer));
  twice.add(pause_in(pause_mode::target), result(outcome::ok), 10, 11)
      .add(confirm_in(), result(outcome::ok), 12, 13)
      .add(confirm_in(task_event::pause), result(outcome::ok), 14, 15);
  EXPECT_EQ(twice.check(lin::verdict::illegal), lin::verdict::illegal);

  // Overlapping, either may be taken: one succeeds, the other is refused.
  history overlapping(fields(S::full_transfer));
  overlapping.add(pause_in(pause_mode::target), result(outcome::ok), 10, 11)
      .add(confirm_in(), result(outcome::invalid_state), 12, 15)
      .add(confirm_in(task_event::pause), result(outcome::ok), 13, 16)
      .add(in(op_kind::get),
           get_out(S::paused, 2, pause_info{pause_mode::target, S::full_transfer}), 17, 18);
  EXPECT_EQ(overlapping.check(lin::verdict::ok), lin::verdict::ok);

  // Naming another command than the awaited one is refused, and leaves the wait.
  history other(fields(S::incremental_transfer_failed));
  other.add(in(op_kind::resume), result(outcome::ok), 10, 11)
      .add(confirm_in(task_event::pause), result(outcome::ok), 12, 13);
  EXPECT_EQ(other.check(lin::verdict::illegal), lin::verdict::illegal);
  history refused(fields(S::incremental_transfer_failed));
  refused.add(in(op_kind::resume), result(outcome::ok), 10, 11)
      .add(confirm_in(task_event::pause), result(outcome::invalid_state), 12, 13)
      .add(in(op_kind::get),
           get_out(S::incremental_transfer, 1, {}, task_role::standalone, {}, task_event::resume),
           14, 15);
  EXPECT_EQ(refused.check(lin::verdict::ok), lin::verdict::ok);

  // A worker event ends the wait unconfirmed; a no-op command keeps it.
  const task_fields starting = fields_of(S::starting, {}, 3, {}, task_event::start);
  history confirmed(starting);
  confirmed.add(confirm_in(task_event::start), result(outcome::ok), 10, 11);
  EXPECT_EQ(confirmed.check(lin::verdict::ok), lin::verdict::ok);
  history moved(starting);
  moved.add(report_in(task_event::start_succeeded), result(outcome::ok), 10, 11)
      .add(confirm_in(), result(outcome::ok), 12, 13);
  EXPECT_EQ(moved.check(lin::verdict::illegal), lin::verdict::illegal);
  history kept(fields(S::full_transfer_failed));
  kept.add(in(op_kind::resume), result(outcome::ok), 10, 11)
      .add(in(op_kind::resume), result(outcome::ok), 12, 13)  // running: no change
      .add(confirm_in(task_event::resume), result(outcome::ok), 14, 15)
      .add(in(op_kind::get), get_out(S::full_transfer, 2), 16, 17);
  EXPECT_EQ(kept.check(lin::verdict::ok), lin::verdict::ok);

  // A read after a confirmation shows the version it made and nothing awaited.
  history read(fields(S::configuration));
  read.add(start_in(), result(outcome::ok), 10, 11)
      .add(confirm_in(task_event::start), result(outcome::ok), 12, 13)
      .add(in(op_kind::get),
           get_out(S::starting, 2, {}, task_role::standalone, {}, task_event::start), 14, 15);
  EXPECT_EQ(read.check(lin::verdict::illegal), lin::verdict::illegal);
  history read_ok(fields(S::configuration));
  read_ok.add(start_in(), result(outcome::ok), 10, 11)
      .add(confirm_in(task_event::start), result(outcome::ok), 12, 13)
      .add(in(op_kind::get), get_out(S::starting, 2), 14, 15);
  EXPECT_EQ(read_ok.check(lin::verdict::ok), lin::verdict::ok);

  // A scheduled start awaits nothing; a parent refuses confirmations, its children take
  // their own.
  history scheduled(fields(S::configuration));
  scheduled.add(start_in(far_start), result(outcome::ok), 10, 11)
      .add(confirm_in(), result(outcome::ok), 12, 13);
  EXPECT_EQ(scheduled.check(lin::verdict::illegal), lin::verdict::illegal);
  history family(fields(S::full_transfer), fields(S::full_transfer));
  family.add(delete_in(delete_type::terminate, member::parent), result(outcome::ok), 10, 11)
      .add(confirm_in({}, member::parent), result(outcome::parent_forbidden), 12, 13)
      .add(confirm_in(task_event::stop, member::forward), result(outcome::ok), 14, 15)
      .add(confirm_in(task_event::stop, member::backward), result(outcome::ok), 16, 17)
      .add(confirm_in({}, member::backward), result(outcome::invalid_state), 18, 19);
  EXPECT_EQ(family.check(lin::verdict::ok), lin::verdict::ok);
}

TEST(TaskModelHistory, ChildrenOfAFamilyAreOneHistory) {
  // A parent read that saw both children paused cannot be followed by a child read
  // showing a child that was never resumed as running.
  history bad(paused_fields(pause_mode::target, S::full_transfer),
              paused_fields(pause_mode::all, S::incremental_transfer));
  bad.add(in(op_kind::resume, member::forward), result(outcome::ok), 10, 13)
      .add(in(op_kind::status, member::parent), status_out(S::full_transfer), 11, 12)
      .add(in(op_kind::status, member::backward), status_out(S::incremental_transfer), 14, 15);
  EXPECT_EQ(bad.check(lin::verdict::illegal), lin::verdict::illegal);
}

// -- random histories --------------------------------------------------------------------------

/// A random operation on a standalone task or a family.
model_input random_input(std::mt19937_64& rng, bool family) {
  static constexpr std::array<op_kind, 8> kinds{op_kind::pause, op_kind::resume, op_kind::report,
                                                op_kind::start, op_kind::remove, op_kind::status,
                                                op_kind::get,   op_kind::confirm};
  model_input i;
  i.kind = kinds[std::uniform_int_distribution<std::size_t>(0, kinds.size() - 1)(rng)];
  i.target =
      family ? static_cast<member>(std::uniform_int_distribution<int>(1, 3)(rng)) : member::task;
  i.mode =
      std::uniform_int_distribution<int>(0, 1)(rng) != 0 ? pause_mode::all : pause_mode::target;
  i.event = random_event(rng);
  i.start_time = random_start_item_time(rng);
  i.type = random_delete_type(rng);
  i.confirms = random_confirms(rng);
  i.foreign = std::uniform_int_distribution<int>(0, 19)(rng) == 0;
  return i;
}

task_fields random_fields(std::mt19937_64& rng) {
  const task_state s = random_state(rng);
  std::optional<pause_info> p;
  if (s == task_state::paused) p = random_pause(rng);
  std::optional<wall_time> at;
  if (s == task_state::waiting_for_start) at = random_far_start(rng);
  return fields_of(s, p, std::uniform_int_distribution<std::uint64_t>(0, 3)(rng), at,
                   random_awaiting(rng));
}

/// A history produced by a linearizable system: each operation takes effect at a distinct
/// instant inside its [call, ret] interval. `slack` 0 makes it sequential.
std::vector<task_op> simulated_history(std::mt19937_64& rng, std::size_t n, bool family,
                                       std::uint64_t slack) {
  std::vector<task_op> h;
  model_input r;
  r.kind = op_kind::register_tasks;
  r.target = family ? member::parent : member::task;
  r.initial = {random_fields(rng), random_fields(rng)};
  model_state s = task_model::initial();
  auto place = [&](model_input input, std::uint64_t at) {
    auto [out, next] = task_model::apply(s, input);
    s = next;
    const std::uint64_t before = slack == 0 ? 1 : 1 + rng() % slack;
    const std::uint64_t after = slack == 0 ? 1 : 1 + rng() % slack;
    h.push_back({input, out, at - before, at + after});
  };
  place(r, 1000);
  for (std::size_t k = 1; k <= n; ++k) place(random_input(rng, family), 1000 + 10 * k);
  return h;
}

/// Changes one output of `h` so that it no longer matches what the model answers there.
bool mutate(std::mt19937_64& rng, std::vector<task_op>& h, std::size_t& which) {
  std::vector<std::size_t> candidates(h.size() - 1);
  std::iota(candidates.begin(), candidates.end(), 1);
  std::shuffle(candidates.begin(), candidates.end(), rng);
  static constexpr std::array<outcome, 6> outcomes{outcome::ok,
                                                   outcome::not_found,
                                                   outcome::deleted,
                                                   outcome::invalid_state,
                                                   outcome::parent_forbidden,
                                                   outcome::child_forbidden};
  for (std::size_t i : candidates) {
    task_op& op = h[i];
    model_output m = op.output;
    if (m.result == outcome::ok &&
        (op.input.kind == op_kind::status || op.input.kind == op_kind::get) && rng() % 2 == 0) {
      const auto n = static_cast<int>(task_state_count);
      m.state = static_cast<task_state>(
          (static_cast<int>(m.state) + 1 + static_cast<int>(rng() % (n - 1))) % n);
    } else if (m.result == outcome::ok && op.input.kind == op_kind::get && rng() % 2 == 0) {
      m.version += 1 + rng() % 2;
    } else if (m.result == outcome::ok && op.input.kind == op_kind::get && rng() % 3 == 0) {
      m.awaiting = m.awaiting ? std::nullopt : std::optional(random_awaitable(rng));
    } else {
      m.result = outcomes[rng() % outcomes.size()];
    }
    if (task_model::matches(op.input.kind, op.output, m)) continue;
    op.output = m;
    which = i;
    return true;
  }
  return false;
}

TEST(TaskModelHistory, RandomSequentialHistoriesAreOkAndEveryWrongOutputIsIllegal) {
  std::mt19937_64 rng(20261129);
  std::size_t flagged = 0;
  std::size_t mutated = 0;
  for (int round = 0; round < 2000; ++round) {
    const bool family = round % 2 == 1;
    std::vector<task_op> h = simulated_history(rng, 5 + rng() % 30, family, 0);
    ASSERT_EQ(lin::check(task_model{}, task_model::initial(), h).result, lin::verdict::ok);
    std::size_t which = 0;
    if (!mutate(rng, h, which)) continue;
    ++mutated;
    const lin::report rep = lin::check(task_model{}, task_model::initial(), h);
    if (rep.result == lin::verdict::illegal) {
      ++flagged;
    } else {
      ADD_FAILURE() << "operation #" << which << " was changed but the history is "
                    << lin::to_string(rep.result) << "\n"
                    << show_history(h, rep, "mutated");
    }
  }
  std::printf("[ checker ] %zu of %zu known-bad sequential histories flagged illegal\n", flagged,
              mutated);
  EXPECT_EQ(flagged, mutated);
  EXPECT_GT(mutated, 1900U);
}

TEST(TaskModelHistory, RandomConcurrentLinearizableHistoriesAreOk) {
  std::mt19937_64 rng(7);
  std::size_t checked = 0;
  for (int round = 0; round < 2000; ++round) {
    const bool family = round % 3 == 0;
    // Each operation's interval spans up to ~8 neighbours on each side: heavy overlap.
    const std::vector<task_op> h = simulated_history(rng, 10 + rng() % 30, family, 80);
    const lin::report rep = lin::check(task_model{}, task_model::initial(), h);
    ASSERT_EQ(rep.result, lin::verdict::ok) << show_history(h, rep, "simulated");
    ++checked;
  }
  std::printf("[ checker ] %zu known-good concurrent histories flagged ok\n", checked);
}

}  // namespace
}  // namespace taskorch::test
