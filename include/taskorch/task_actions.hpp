#pragma once
// task_actions: the DRS actions (`job_action`) a task offers now, computed from the lifecycle
// tables: an action is available when one of the commands that offer it (event_rules) would
// be taken by the task in its state (transition_table, with its guards) and change it (a
// pause with the strongest mode; so RETRY is not offered to a running task, nor PAUSE to a
// task paused with `all`). A dual-active parent offers the actions of its family's commands
// when both children would take them and one would change.
//
//   taskorch::task_actions a = taskorch::actions_of(snapshot, children);
//   a.available == {"PAUSE", "TERMINATE", "FORCE_TERMINATE"}  // a task in full transfer

#include <taskorch/task_snapshot.hpp>
#include <taskorch/transition_table.hpp>

#include <span>
#include <string_view>
#include <vector>

namespace taskorch {

/// The actions a task offers, and those it does not, both in the order of drs_actions.
struct task_actions {
  std::vector<std::string_view> available;
  std::vector<std::string_view> unavailable;
};

namespace detail {

/// The lifecycle fields of a snapshot, as apply_event reads them.
struct snapshot_lifecycle {
  task_state state;
  pause_mode mode;
  task_state paused_from;
  wall_time start_time;
  std::optional<task_event> awaiting;

  explicit snapshot_lifecycle(const task_snapshot& s) noexcept
      : state(s.state),
        mode(s.pause ? s.pause->mode : pause_mode::target),
        paused_from(s.pause ? s.pause->from : task_state::paused),
        start_time(s.start_time.value_or(wall_time{})),
        awaiting(s.awaiting) {}
};

/// What command `e` would do to `task`, addressed as `addressed` (a pause with mode `all`, a
/// schedule with a start time no task has).
inline step_outcome try_command(const task_snapshot& task, task_role addressed,
                                task_event e) noexcept {
  snapshot_lifecycle copy(task);
  return apply_event(copy, addressed, e, {.mode = pause_mode::all, .at = wall_time::max()});
}

}  // namespace detail

/// Returns the actions `task` offers; `children` are a dual-active parent's two children
/// (ignored for any other task).
inline task_actions actions_of(const task_snapshot& task, std::span<const task_snapshot> children) {
  task_actions out;
  for (std::string_view action : drs_actions) {
    bool offered = false;
    for (const event_rule& r : event_rules) {
      if (r.action != action) continue;
      if (task.role == task_role::parent) {
        if (r.scope != family_scope::family || children.size() != 2) continue;
        const step_outcome f = detail::try_command(children[0], task_role::parent, r.event);
        const step_outcome b = detail::try_command(children[1], task_role::parent, r.event);
        offered =
            offered || (f.refusal == errc{} && b.refusal == errc{} && (f.changed || b.changed));
      } else {
        const step_outcome o = detail::try_command(task, task.role, r.event);
        offered = offered || (o.refusal == errc{} && o.changed);
      }
    }
    (offered ? out.available : out.unavailable).push_back(action);
  }
  return out;
}

}  // namespace taskorch
