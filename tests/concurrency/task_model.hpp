#pragma once
// task_model: the sequential specification of one task, or of one dual-active DR family,
// as the linearizability checker needs it.
//
// It is written from docs/behaviour.md, not from taskorch::transition_table, so
// that the engine is checked against the required behaviour rather than against itself:
//   - pause: running (any phase) or transfer failed -> paused, remembering the state left
//     and the mode; paused again: same mode or `target` after `all` is a success without
//     change, `all` after `target` raises the mode (a change); anything else M00304;
//   - resume: paused -> the state it was paused from, except that a transfer-failed origin
//     goes back to running in that phase; transfer failed -> running in that phase; start
//     failed -> starting; running -> success without change; anything else M00304;
//   - start (batch-starting): a configured task, or one waiting for its start: without a
//     start time, or with one not in the future, it starts now (STARTJOBING); with a later
//     one it waits for it (WAITING_FOR_START), and scheduling a waiting task again with
//     another time is a change, with the same time a success without change; anything else
//     M00304. (The tests schedule starts far in the future: the engine's own start never
//     fires during them, and the model has no clock.)
//   - terminate (batch-jobs): configuration, waiting for start, start failed, running,
//     transfer failed or paused -> RELEASE_RESOURCE_STARTED; force terminate: those and
//     starting or stopping -> RELEASE_RESOURCE_COMPLETE; delete: configuration, waiting for
//     start or stopped -> DELETED; anything else M00304. Leaving a pause or a wait forgets it;
//   - a dual-active parent refuses every other command and worker event (M00307) whatever
//     its children's states; terminate, force terminate and delete go to the parent, which
//     applies them to both children at one instant when both allow them, and otherwise
//     changes neither, answering the forward child's refusal (M05004 when deleted, M00304),
//     else the backward's; a child refuses them (M00308) whatever its state;
//     the parent's status is the aggregate: a failed child's status (the forward child's
//     first), else paused when both children are paused, else the forward child's status;
//   - a deleted task: commands fail with M05004, queries show DELETED;
//   - an unknown task, or one of another project: M05003, and nothing changes;
//   - every change raises the task's version by one; a command that changes nothing does
//     not (state_change.hpp);
//   - commands awaiting a worker: a change made by start now, pause, resume, terminate or
//     force terminate leaves the task awaiting the worker's confirmation of that command;
//     any other change (a worker event, a scheduled start, delete) leaves it awaiting
//     nothing; a command that changes nothing leaves the wait as it was. A worker's
//     `confirmed` (op_kind::confirm), naming the command it carried out or not, is refused
//     (M00304) unless the task awaits a command, and the one named when it names one; taken,
//     it ends the wait and is a change (the version grows, the state stays). A parent
//     refuses it (M00307), a deleted task too (M05004).
// The worker events' transitions follow docs/behaviour.md#worker-events: start succeeded/
// failed from STARTJOBING; full transfer done from FULL_TRANSFER_STARTED; incremental
// started from FULL_TRANSFER_COMPLETE; transfer failed from a transfer phase that is running
// (full or incremental); stopped from RELEASE_RESOURCE_STARTED. Nothing else is a worker's
// (the engine refuses such a batch as a whole).
//
// An item that reports operation_aborted did not run (engine.hpp): the model accepts it
// anywhere and changes nothing. An operation whose answer was lost (`unknown`, a request over
// the network) may have run or not: the model accepts any answer and applies it; the checker
// may place it after every other operation (its return stamp is lin::never), where its effect
// is not seen.

#include <taskorch/batch.hpp>
#include <taskorch/pause_mode.hpp>
#include <taskorch/task_event.hpp>
#include <taskorch/task_snapshot.hpp>
#include <taskorch/task_spec.hpp>
#include <taskorch/task_state.hpp>
#include <taskorch/wall_time.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace taskorch::test {

/// The per-item outcome of an operation, as the model knows it.
enum class outcome : std::uint8_t {
  ok,
  not_found,         ///< DRS.M05003
  deleted,           ///< DRS.M05004
  invalid_state,     ///< DRS.M00304
  parent_forbidden,  ///< DRS.M00307
  child_forbidden,   ///< DRS.M00308
  aborted,           ///< the engine stopped before the item ran
  unknown,           ///< the answer was lost: it may have run, with any result, or not
  exists,            ///< registering a registered id
  other,             ///< anything else: never legal
};

/// Maps an engine error code onto an outcome.
outcome classify(const error_code& ec) noexcept;

/// Returns the outcome's name.
const char* to_string(outcome o) noexcept;

/// Which task of a history an operation addresses.
enum class member : std::uint8_t { task, parent, forward, backward };

/// The kinds of operation the model knows.
enum class op_kind : std::uint8_t {
  register_tasks,
  pause,
  resume,
  report,
  status,
  get,
  start,    ///< batch-starting
  remove,   ///< batch-jobs: terminate, force terminate or delete
  confirm,  ///< a worker's confirmation of the command the task awaits
};

/// One task's state as the model keeps it. `mode` and `paused_from` are meaningful only
/// when paused, `start_time` only when waiting for start; they are kept canonical (target,
/// paused, the epoch) otherwise.
struct task_fields {
  task_state state = task_state::configuration;
  pause_mode mode = pause_mode::target;
  task_state paused_from = task_state::paused;
  wall_time start_time{};
  std::uint64_t version = 0;
  std::optional<task_event> awaiting;  ///< the command a worker has yet to confirm
  friend bool operator==(const task_fields&, const task_fields&) = default;
};

/// The input of an operation on one task of a history.
struct model_input {
  op_kind kind = op_kind::status;
  member target = member::task;
  bool foreign = false;                            ///< issued on behalf of another project
  pause_mode mode = pause_mode::target;            ///< for pause
  task_event event = task_event::start_succeeded;  ///< for report
  std::optional<wall_time> start_time;             ///< for start
  delete_type type = delete_type::terminate;       ///< for remove
  std::optional<task_event> confirms;              ///< for confirm: the command named
  /// For register_tasks: the initial task ([0]), or the forward and backward children.
  std::array<task_fields, 2> initial{};
};

/// The observed output of an operation on one task.
struct model_output {
  outcome result = outcome::ok;
  task_state state = task_state::configuration;  ///< status and get, when ok
  std::optional<pause_info> pause;               ///< get, when ok
  std::optional<wall_time> start_time;           ///< get, when ok
  std::uint64_t version = 0;                     ///< get, when ok
  task_role role = task_role::standalone;        ///< get, when ok
  std::optional<task_event> awaiting;            ///< get, when ok
};

/// The state of one history: a standalone task, or a family's two children.
struct model_state {
  bool registered = false;
  bool family = false;
  std::array<task_fields, 2> tasks{};  ///< [0] the task or forward child, [1] backward
  friend bool operator==(const model_state&, const model_state&) = default;
};

/// The sequential model, for lin::check.
class task_model {
 public:
  using state = model_state;
  using input = model_input;
  using output = model_output;

  /// The state before anything is registered.
  static state initial() { return {}; }

  /// The state after `in` when `out` is what the model answers; nothing otherwise.
  std::optional<state> step(const state& s, const input& in, const output& out) const;

  std::size_t hash(const state& s) const noexcept;

  /// The deterministic core: the output `in` must give from `s`, and the state after.
  static std::pair<output, state> apply(const state& s, const input& in);

  /// True when `observed` is what `expected` requires for an operation of kind `kind`
  /// (commands compare the outcome only; status also the state; get the whole snapshot).
  static bool matches(op_kind kind, const output& expected, const output& observed);

  // -- the single-task rules, reused by the subscription test ---------------------------

  /// Applies a pause with `mode` to a registered, non-deleted, standalone or child task.
  static outcome pause(task_fields& t, pause_mode mode);
  /// Applies a resume (retry) likewise.
  static outcome resume(task_fields& t);
  /// Applies a worker event likewise.
  static outcome report(task_fields& t, task_event event);
  /// Applies a start (now, without `at` or with one not after `now`; else scheduled) likewise.
  static outcome start(task_fields& t, std::optional<wall_time> at, wall_time now);
  /// Applies terminate, force terminate or delete to one task (a standalone one, or a child
  /// through its parent) likewise.
  static outcome remove(task_fields& t, delete_type type);
  /// Applies a worker's confirmation of `command` (nullopt: whichever the task awaits)
  /// likewise.
  static outcome confirm(task_fields& t, std::optional<task_event> command);
  /// Applies the change a subscriber or the event feed reports: its cause (with the mode of
  /// a pause), from the task's state. A schedule is to a time other than the task's (a
  /// change does not carry it; the tests schedule far in the future), and a confirmation
  /// must leave the state as it was. `version` is the change's.
  static outcome replay(task_fields& t, task_event cause, std::optional<pause_mode> mode,
                        task_state from, task_state to, std::uint64_t version);
  /// True for the commands a worker carries out and confirms.
  static bool awaits_a_worker(task_event e);
  /// The aggregate status of a dual-active parent.
  static task_state aggregate(task_state forward, task_state backward);

  /// True when the model accepts `out` for `in` in every state where the task is
  /// registered, without changing it: a child's command on a dual-active parent answered
  /// parent_forbidden, a family's command on a child answered child_forbidden. An operation
  /// `always_accepted` anywhere (an item for another project answered not_found) is
  /// `always_accepted(in, out, false)`. Such operations can be taken out of a history (after the
  /// registration, for the first kind) without changing whether it is linearizable; they shrink the
  /// checker's search.
  static bool always_accepted(const input& in, const output& out, bool registered);

  /// Human-readable forms, for failure messages.
  static std::string describe(const input& in);
  static std::string describe(const output& out);
  static std::string describe(const state& s);
};

/// Returns the model fields of a registered task in `state` with `pause`, `version`,
/// `start_time` and what it awaits.
task_fields fields_of(task_state state, const std::optional<pause_info>& pause,
                      std::uint64_t version, const std::optional<wall_time>& start_time = {},
                      const std::optional<task_event>& awaiting = {});

}  // namespace taskorch::test
