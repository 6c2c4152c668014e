#pragma once
// reference_model: a plain, single-threaded model of the taskorch registry, used as the oracle
// of the model-based property tests.
//
// It is written from the product rules (docs/behaviour.md) and the API
// contract of include/taskorch/engine.hpp, on purpose without taskorch::next_state(), the
// transition table, parent_state(), merged() or the is_*() helpers of task_state.hpp: the
// engine and the model must agree because both follow the rules, not because they share code.
// Only the vocabulary (ids, enums, specs, snapshots, error codes) is shared.
//
//   taskorch::test_model::registry m;
//   m.add(taskorch::task_spec{.id = id, .project = p, .state = task_state::full_transfer});
//   m.pause(p, id, pause_mode::all);      // success; the task is paused, version 1
//   m.pause(p, id, pause_mode::target);   // success, no change: `all` is kept
//
// Which worker event and which command is allowed where follows docs/behaviour.md
// (#lifecycle, #worker-events), restated next to each rule. The commands of DRS
// batch-starting (start now, or at a later time) and batch-jobs (terminate, force terminate,
// delete) are written out here too, with the family rule: terminate, force terminate and
// delete go to a dual-active parent, which applies them to both children at once or to
// neither, and a child refuses them.
//
// Commands awaiting a worker are written out too: a change made by start (now, or the
// schedule's), pause, resume, terminate or force terminate leaves the task awaiting the
// worker's confirmation of that command; any other change (a worker event, a scheduled start,
// delete) leaves it awaiting nothing; a command that changes nothing leaves the wait as it
// was. The worker's `confirmed` is taken only while the task awaits a command (the one it
// names, when it names one) and only ends the wait: a change from a state to itself.
//
// Every change is made at the time of the batch that made it (the engine's clock, which the
// model does not have): a command's changes are stamped with it afterwards (stamp()).
//
// Thread safety: none; a plain value type.

#include <taskorch/batch.hpp>
#include <taskorch/error.hpp>
#include <taskorch/job_id.hpp>
#include <taskorch/pause_mode.hpp>
#include <taskorch/project_id.hpp>
#include <taskorch/task_event.hpp>
#include <taskorch/task_snapshot.hpp>
#include <taskorch/task_spec.hpp>
#include <taskorch/task_state.hpp>
#include <taskorch/wall_time.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace taskorch::test_model {

// -- The rules, written out --------------------------------------------------------------

/// Running: migrating, synchronizing or disaster recovery, in any of the three phases.
inline bool running(task_state s) {
  return s == task_state::full_transfer || s == task_state::full_transfer_complete ||
         s == task_state::incremental_transfer;
}

/// Transfer failed in phase full or incremental.
inline bool transfer_failed(task_state s) {
  return s == task_state::full_transfer_failed || s == task_state::incremental_transfer_failed;
}

/// The failed DRS statuses a dual-active parent reports first.
inline bool failed_status(task_state s) {
  return s == task_state::start_failed || transfer_failed(s);
}

/// Pause applies to running (any phase) or transfer-failed tasks.
inline bool pausable(task_state s) { return running(s) || transfer_failed(s); }

/// Where resuming (retrying) a non-paused task goes; nullopt when resume is refused.
/// Transfer failed: running again in the same phase. Start failed: starting. Running: stays.
inline std::optional<task_state> resume_target(task_state s) {
  switch (s) {
    case task_state::full_transfer_failed:
      return task_state::full_transfer;
    case task_state::incremental_transfer_failed:
      return task_state::incremental_transfer;
    case task_state::start_failed:
      return task_state::starting;
    default:
      if (running(s)) return s;
      return std::nullopt;
  }
}

/// Where a worker event moves a task; nullopt when the event is not allowed in `s`, or is not
/// a worker's (the commands have their own rules below).
/// Where the events apply (docs/behaviour.md#worker-events):
///  - start_succeeded / start_failed: only while starting;
///  - full_transfer_done: only in the full phase; incremental_started: only after it;
///  - transfer_failed: only while a transfer runs in phase full or incremental (docs/behaviour.md
///    names only these two failed phases; nothing is transferred in full_transfer_complete);
///  - stopped: only while stopping.
inline std::optional<task_state> worker_target(task_state s, task_event e) {
  switch (e) {
    case task_event::start_succeeded:
      if (s == task_state::starting) return task_state::full_transfer;
      break;
    case task_event::start_failed:
      if (s == task_state::starting) return task_state::start_failed;
      break;
    case task_event::full_transfer_done:
      if (s == task_state::full_transfer) return task_state::full_transfer_complete;
      break;
    case task_event::incremental_started:
      if (s == task_state::full_transfer_complete) return task_state::incremental_transfer;
      break;
    case task_event::transfer_failed:
      if (s == task_state::full_transfer) return task_state::full_transfer_failed;
      if (s == task_state::incremental_transfer) return task_state::incremental_transfer_failed;
      break;
    case task_event::stopped:
      if (s == task_state::stopping) return task_state::stopped;
      break;
    case task_event::start:
    case task_event::pause:
    case task_event::resume:
    case task_event::stop:
    case task_event::remove:
    case task_event::schedule_start:
    case task_event::start_due:
    case task_event::force_stop:
    case task_event::confirm:
      break;
  }
  return std::nullopt;
}

/// True for the events a worker reports (engine::async_report takes only these): the six
/// that move a task, and its confirmation of a command.
inline bool reported_by_worker(task_event e) {
  return e == task_event::start_succeeded || e == task_event::start_failed ||
         e == task_event::full_transfer_done || e == task_event::incremental_started ||
         e == task_event::transfer_failed || e == task_event::stopped || e == task_event::confirm;
}

/// The commands a worker must carry out and confirm: starting a task (the user's start now,
/// or the schedule's when its time comes), pausing, resuming, terminating and force
/// terminating it. A scheduled start has nothing to carry out yet, delete nothing at all.
inline bool awaits_a_worker(task_event e) {
  return e == task_event::start || e == task_event::start_due || e == task_event::pause ||
         e == task_event::resume || e == task_event::stop || e == task_event::force_stop;
}

/// Start (batch-starting), now or at a later time: a configured task, or one already waiting
/// for its start (started now, or rescheduled).
inline bool startable(task_state s) {
  return s == task_state::configuration || s == task_state::waiting_for_start;
}

/// Where batch-jobs takes a task, by `delete_type`; nullopt when it is not allowed in `s`:
///  - terminate: configuration, waiting for start, start failed, running, transfer failed or
///    paused (the DRS Stop column, and a task that failed to start or waits to start) ->
///    RELEASE_RESOURCE_STARTED, until the worker reports `stopped`;
///  - force terminate: wherever terminate is allowed, and also while starting or while the
///    release runs -> RELEASE_RESOURCE_COMPLETE at once;
///  - delete: a task never started (configuration, waiting for start) or stopped -> DELETED.
inline std::optional<task_state> delete_target(task_state s, delete_type type) {
  const bool terminable = s == task_state::configuration || s == task_state::waiting_for_start ||
                          s == task_state::start_failed || s == task_state::paused || running(s) ||
                          transfer_failed(s);
  switch (type) {
    case delete_type::terminate:
      if (terminable) return task_state::stopping;
      break;
    case delete_type::force_terminate:
      if (terminable || s == task_state::starting || s == task_state::stopping) {
        return task_state::stopped;
      }
      break;
    case delete_type::remove:
      if (s == task_state::configuration || s == task_state::waiting_for_start ||
          s == task_state::stopped) {
        return task_state::deleted;
      }
      break;
  }
  return std::nullopt;
}

/// The event a delete type is reported as to subscribers.
inline task_event delete_cause(delete_type type) {
  switch (type) {
    case delete_type::terminate:
      return task_event::stop;
    case delete_type::force_terminate:
      return task_event::force_stop;
    case delete_type::remove:
      return task_event::remove;
  }
  return task_event::stop;
}

/// The aggregate DRS status of a dual-active parent (docs/behaviour.md#kinds-and-families).
inline task_state aggregate(task_state forward, task_state backward) {
  if (failed_status(forward)) return forward;
  if (failed_status(backward)) return backward;
  if (forward == task_state::paused && backward == task_state::paused) return task_state::paused;
  return forward;
}

/// A registration is consistent in itself: pause info present exactly when paused, from a
/// pausable state; a start time present exactly when waiting for start, after the epoch; a
/// family's three ids are distinct.
inline bool pause_consistent(task_state state, const std::optional<pause_info>& pause) {
  if (state != task_state::paused) return !pause.has_value();
  return pause.has_value() && pausable(pause->from);
}
inline bool start_time_consistent(task_state state, const std::optional<wall_time>& start_time) {
  if (state != task_state::waiting_for_start) return !start_time.has_value();
  return start_time.has_value() && *start_time > wall_time{};
}
/// A registered task may await a worker's confirmation only of a command that awaits one.
inline bool awaiting_consistent(const std::optional<task_event>& awaiting) {
  return !awaiting || awaits_a_worker(*awaiting);
}

// -- The registry ----------------------------------------------------------------------

/// One change, as a subscriber must see it.
struct change {
  job_id id;
  project_id project;
  task_state from = task_state::configuration;
  task_state to = task_state::configuration;
  task_event cause = task_event::start;
  std::optional<pause_mode> mode;
  std::uint64_t sequence = 0;
  friend bool operator==(const change&, const change&) = default;
};

/// What the event feed also says of a change (feed_event), besides what subscribers hear.
struct change_detail {
  std::optional<task_event> awaiting;  ///< what the task awaits after the change
  wall_time at{};                      ///< the time of the batch that made it (stamp())
  std::uint64_t batch = 0;             ///< which stamped batch made it, counting from 1
  friend bool operator==(const change_detail&, const change_detail&) = default;
};

/// A standalone task or a family child.
struct task {
  project_id project;
  task_kind kind = task_kind::migration;
  task_state state = task_state::configuration;
  std::optional<pause_info> pause;      ///< exactly when paused
  std::optional<wall_time> start_time;  ///< exactly when waiting for start
  std::string name;
  std::uint64_t version = 0;
  task_role role = task_role::standalone;
  std::optional<job_id> parent;
  wall_time created_at{};
  wall_time changed_at{};
  std::optional<task_event> awaiting;  ///< the command a worker has yet to confirm
};

/// A dual-active parent: no state of its own.
struct family {
  project_id project;
  std::string name;
  job_id forward;
  job_id backward;
  wall_time created_at{};
};

/// One registration of an id: the task's change count and version at that moment. An id that
/// is purged and registered again starts a new chain of sequence numbers.
struct incarnation {
  std::size_t first_change = 0;  ///< how many changes of this id came before it
  std::uint64_t version = 0;     ///< the registered version
};

/// What a command finds under an id, as seen by one project.
enum class target_kind : std::uint8_t { unknown, other_project, parent, task };

class registry {
 public:
  // -- registration ---------------------------------------------------------------------

  /// True when `id` is taken by anything (any project, parents and children included).
  bool taken(const job_id& id) const { return tasks_.contains(id) || families_.contains(id); }

  /// Registers one item of an accepted batch: errc::task_exists when one of its ids is taken.
  error_code add(const registration& r) {
    if (const auto* t = std::get_if<task_spec>(&r)) {
      if (taken(t->id)) return errc::task_exists;
      tasks_[t->id] = task{t->project,    t->kind,       t->state,      t->pause,
                           t->start_time, t->name,       t->version,    task_role::standalone,
                           std::nullopt,  t->created_at, t->changed_at, t->awaiting};
      born(t->id, t->version);
      return {};
    }
    const auto& f = std::get<family_spec>(r);
    if (taken(f.id) || taken(f.forward.id) || taken(f.backward.id)) return errc::task_exists;
    families_[f.id] = family{f.project, f.name, f.forward.id, f.backward.id, f.created_at};
    // The children were created with their family.
    tasks_[f.forward.id] = task{f.project,         task_kind::cloud_data_guard, f.forward.state,
                                f.forward.pause,   f.forward.start_time,        "",
                                f.forward.version, task_role::forward_child,    f.id,
                                f.created_at,      f.forward.changed_at,        f.forward.awaiting};
    tasks_[f.backward.id] =
        task{f.project,          task_kind::cloud_data_guard, f.backward.state,
             f.backward.pause,   f.backward.start_time,       "",
             f.backward.version, task_role::backward_child,   f.id,
             f.created_at,       f.backward.changed_at,       f.backward.awaiting};
    born(f.forward.id, f.forward.version);
    born(f.backward.id, f.backward.version);
    return {};
  }

  // -- commands -------------------------------------------------------------------------

  /// What `id` is for `project`.
  target_kind classify(const project_id& project, const job_id& id) const {
    if (auto f = families_.find(id); f != families_.end()) {
      return f->second.project == project ? target_kind::parent : target_kind::other_project;
    }
    if (auto t = tasks_.find(id); t != tasks_.end()) {
      return t->second.project == project ? target_kind::task : target_kind::other_project;
    }
    return target_kind::unknown;
  }

  /// The task (standalone or child) `project` sees under `id`, or nullptr.
  const task* find_task(const project_id& project, const job_id& id) const {
    if (classify(project, id) != target_kind::task) return nullptr;
    return &tasks_.at(id);
  }

  /// batch-pause-task, one item.
  error_code pause(const project_id& project, const job_id& id, pause_mode mode) {
    task* t = nullptr;
    if (error_code ec = lookup(project, id, t)) return ec;
    if (t->state == task_state::paused) {
      // Same mode, or target after all: success, nothing changes. All after target: raise.
      if (t->pause->mode == pause_mode::all || mode == pause_mode::target) return {};
      t->pause->mode = pause_mode::all;
      record(id, *t, task_state::paused, task_event::pause);
      return {};
    }
    if (!pausable(t->state)) return errc::invalid_state;
    const task_state from = t->state;
    t->state = task_state::paused;
    t->pause = pause_info{mode, from};
    record(id, *t, from, task_event::pause);
    return {};
  }

  /// batch-retry-task, one item.
  error_code resume(const project_id& project, const job_id& id) {
    task* t = nullptr;
    if (error_code ec = lookup(project, id, t)) return ec;
    std::optional<task_state> to;
    if (t->state == task_state::paused) {
      // Back to the state it was paused from; from transfer failed, that phase resumed.
      to = resume_target(t->pause->from);
    } else {
      to = resume_target(t->state);
    }
    if (!to) return errc::invalid_state;
    if (*to == t->state) return {};  // already running: success, no change
    const task_state from = t->state;
    t->state = *to;
    t->pause.reset();
    record(id, *t, from, task_event::resume);
    return {};
  }

  /// One worker event (one a worker reports: the batch refuses any other). `confirmed`
  /// (task_event::confirm) confirms whichever command the task awaits.
  error_code report(const project_id& project, const job_id& id, task_event e) {
    if (e == task_event::confirm) return confirm(project, id, std::nullopt);
    task* t = nullptr;
    if (error_code ec = lookup(project, id, t)) return ec;
    const std::optional<task_state> to = worker_target(t->state, e);
    if (!to) return errc::invalid_state;
    move(id, *t, *to, e);
    return {};
  }

  /// A worker's confirmation that it carried out `command` (nullopt: whichever the task
  /// awaits). A parent refuses it (its children confirm their own), a DELETED task too;
  /// a task awaiting nothing, or another command than the one named, refuses it (M00304).
  /// Taken, it ends the wait and is a change that leaves the state as it is.
  error_code confirm(const project_id& project, const job_id& id,
                     std::optional<task_event> command) {
    task* t = nullptr;
    if (error_code ec = lookup(project, id, t)) return ec;
    if (!t->awaiting) return errc::invalid_state;
    if (command && *command != *t->awaiting) return errc::invalid_state;
    record(id, *t, t->state, task_event::confirm);
    return {};
  }

  /// One item of a worker's report (engine::worker_report): its event as report(), naming
  /// the command it confirms; figures alone change no state but meet a worker event's
  /// guards (unknown: M05003, a parent: M00307, DELETED: M05004).
  error_code worker_report(const project_id& project, const report_item& item) {
    if (item.event == task_event::confirm) return confirm(project, item.id, item.confirms);
    if (item.event) return report(project, item.id, *item.event);
    task* t = nullptr;
    return lookup(project, item.id, t);
  }

  /// batch-starting, one item: without a start time, or with one not after `now`, the task
  /// starts now (STARTJOBING); with a later one it waits for it (WAITING_FOR_START), and
  /// scheduling a waiting task again with another time reschedules it (a change; the same
  /// time changes nothing). A parent refuses (M00307): its children start one by one.
  error_code start(const project_id& project, const job_id& id, std::optional<wall_time> at,
                   wall_time now) {
    task* t = nullptr;
    if (error_code ec = lookup(project, id, t)) return ec;
    if (!startable(t->state)) return errc::invalid_state;
    if (!at || *at <= now) {
      move(id, *t, task_state::starting, task_event::start);
      return {};
    }
    if (t->state == task_state::waiting_for_start && t->start_time == at) return {};
    const task_state from = t->state;
    t->state = task_state::waiting_for_start;
    t->start_time = at;
    record(id, *t, from, task_event::schedule_start);
    return {};
  }

  /// batch-jobs, one item. A standalone task takes it alone. A dual-active parent applies it
  /// to both children at one instant when both allow it; otherwise neither changes and the
  /// forward child's refusal answers (deleted: M05004, not allowed: M00304), else the
  /// backward's. A child refuses it (M00308), whatever its state.
  error_code delete_task(const project_id& project, const job_id& id, delete_type type) {
    switch (classify(project, id)) {
      case target_kind::unknown:
      case target_kind::other_project:
        return errc::task_not_found;
      case target_kind::parent: {
        const family f = families_.at(id);
        task& forward = tasks_.at(f.forward);
        task& backward = tasks_.at(f.backward);
        if (error_code ec = delete_refusal(forward, type)) return ec;
        if (error_code ec = delete_refusal(backward, type)) return ec;
        move(f.forward, forward, *delete_target(forward.state, type), delete_cause(type));
        move(f.backward, backward, *delete_target(backward.state, type), delete_cause(type));
        return {};
      }
      case target_kind::task:
        break;
    }
    task& t = tasks_.at(id);
    if (t.role != task_role::standalone) return errc::child_task_forbidden;
    if (error_code ec = delete_refusal(t, type)) return ec;
    move(id, t, *delete_target(t.state, type), delete_cause(type));
    return {};
  }

  /// Purge, one item: a DELETED standalone task, or a family whose children are both DELETED.
  error_code purge(const project_id& project, const job_id& id) {
    switch (classify(project, id)) {
      case target_kind::unknown:
      case target_kind::other_project:
        return errc::task_not_found;
      case target_kind::parent: {
        const family f = families_.at(id);
        if (tasks_.at(f.forward).state != task_state::deleted ||
            tasks_.at(f.backward).state != task_state::deleted) {
          return errc::invalid_state;
        }
        tasks_.erase(f.forward);
        tasks_.erase(f.backward);
        families_.erase(id);
        return {};
      }
      case target_kind::task: {
        const task& t = tasks_.at(id);
        if (t.role != task_role::standalone) return errc::child_task_forbidden;
        if (t.state != task_state::deleted) return errc::invalid_state;
        tasks_.erase(id);
        return {};
      }
    }
    return {};
  }

  // -- queries --------------------------------------------------------------------------

  /// batch-status, one item.
  status_result status(const project_id& project, const job_id& id) const {
    status_result r{id, {}, task_state::configuration};
    switch (classify(project, id)) {
      case target_kind::unknown:
      case target_kind::other_project:
        r.error = errc::task_not_found;
        break;
      case target_kind::parent:
        r.state = parent_state_of(id);
        break;
      case target_kind::task:
        r.state = tasks_.at(id).state;
        break;
    }
    return r;
  }

  /// One task's snapshot, or nullopt (task_not_found).
  std::optional<task_snapshot> get(const project_id& project, const job_id& id) const {
    switch (classify(project, id)) {
      case target_kind::unknown:
      case target_kind::other_project:
        return std::nullopt;
      case target_kind::parent:
      case target_kind::task:
        return snapshot(id);
    }
    return std::nullopt;
  }

  /// A project's tasks, parents and children included, sorted by id.
  std::vector<task_snapshot> list(const project_id& project) const {
    std::vector<task_snapshot> out;
    for (const job_id& id : all_ids()) {
      std::optional<task_snapshot> s = get(project, id);
      if (s) out.push_back(*s);
    }
    return out;
  }

  /// Counts by state: every task and child by its state, every parent by its aggregate; the
  /// tasks and children awaiting a worker's confirmation, and the earliest of their last
  /// changes (since when the oldest wait has lasted).
  state_counts count() const {
    state_counts c;
    for (const auto& [id, t] : tasks_) {
      ++c.tasks[static_cast<std::size_t>(t.state)];
      if (!t.awaiting) continue;
      ++c.awaiting;
      if (!c.awaiting_since || t.changed_at < *c.awaiting_since) c.awaiting_since = t.changed_at;
    }
    for (const auto& [id, f] : families_) {
      ++c.tasks[static_cast<std::size_t>(parent_state_of(id))];
      ++c.families;
    }
    return c;
  }

  /// The registry as registrations sorted by id (a family under its parent's id).
  std::vector<registration> export_all() const {
    std::vector<registration> out;
    for (const job_id& id : all_ids()) {
      if (auto f = families_.find(id); f != families_.end()) {
        out.emplace_back(family_spec{id, f->second.project, f->second.name,
                                     child_of(f->second.forward), child_of(f->second.backward),
                                     f->second.created_at});
      } else {
        const task& t = tasks_.at(id);
        if (t.role != task_role::standalone) continue;
        out.emplace_back(task_spec{id, t.project, t.kind, t.state, t.pause, t.start_time, t.name,
                                   t.version, t.created_at, t.changed_at, t.awaiting});
      }
    }
    return out;
  }

  /// Every id in use, sorted (parents, children and standalone tasks).
  std::vector<job_id> all_ids() const {
    std::map<job_id, bool> ids;
    for (const auto& [id, t] : tasks_) ids[id] = true;
    for (const auto& [id, f] : families_) ids[id] = true;
    std::vector<job_id> out;
    for (const auto& [id, unused] : ids) out.push_back(id);
    return out;
  }

  /// The changes made so far, in order.
  const std::vector<change>& changes() const { return log_; }

  /// What the feed says of each change besides (changes()[i] has details()[i]).
  const std::vector<change_detail>& details() const { return details_; }

  /// Gives the changes made since the last stamp the time `at` of the batch that made them
  /// (one engine batch, one time): each change's feed time, and its task's changed_at.
  /// Counts a batch even when it made no change.
  void stamp(wall_time at) {
    ++batches_;
    for (std::size_t i = stamped_; i < log_.size(); ++i) {
      details_[i].at = at;
      details_[i].batch = batches_;
      if (auto t = tasks_.find(log_[i].id); t != tasks_.end()) t->second.changed_at = at;
    }
    stamped_ = log_.size();
  }

  /// The number of changes not stamped yet.
  std::size_t unstamped() const { return log_.size() - stamped_; }

  bool empty() const { return tasks_.empty() && families_.empty(); }

  /// Every registration of task `id` (standalone or child), oldest first.
  std::vector<incarnation> incarnations(const job_id& id) const {
    auto it = incarnations_.find(id);
    return it == incarnations_.end() ? std::vector<incarnation>{} : it->second;
  }

 private:
  /// Finds the task a command acts on, or the per-item error: unknown or another project's
  /// (M05003), a dual-active parent (M00307), a DELETED task (M05004).
  error_code lookup(const project_id& project, const job_id& id, task*& out) {
    switch (classify(project, id)) {
      case target_kind::unknown:
      case target_kind::other_project:
        return errc::task_not_found;
      case target_kind::parent:
        return errc::parent_task_forbidden;
      case target_kind::task:
        break;
    }
    out = &tasks_.at(id);
    if (out->state == task_state::deleted) return errc::task_deleted;
    return {};
  }

  /// Why batch-jobs refuses `t` (addressed on its own or through its parent), or nothing.
  static error_code delete_refusal(const task& t, delete_type type) {
    if (t.state == task_state::deleted) return errc::task_deleted;
    if (!delete_target(t.state, type)) return errc::invalid_state;
    return {};
  }

  /// Moves `t` to `to` because of `cause`, leaving a pause or a wait behind: a change.
  void move(const job_id& id, task& t, task_state to, task_event cause) {
    const task_state from = t.state;
    t.state = to;
    t.pause.reset();
    t.start_time.reset();
    record(id, t, from, cause);
  }

  /// Records a real change: the version grows by one; the task awaits a worker's
  /// confirmation of `cause` when it is a command that awaits one, and nothing otherwise
  /// (a confirmation, a worker event, a scheduled start, delete).
  void record(const job_id& id, task& t, task_state from, task_event cause) {
    ++t.version;
    t.awaiting.reset();
    if (awaits_a_worker(cause)) t.awaiting = cause;
    std::optional<pause_mode> mode;
    if (t.state == task_state::paused) mode = t.pause->mode;
    log_.push_back(change{id, t.project, from, t.state, cause, mode, t.version});
    details_.push_back(change_detail{t.awaiting, {}, 0});
    ++change_count_[id];
  }

  void born(const job_id& id, std::uint64_t version) {
    incarnations_[id].push_back(incarnation{change_count_[id], version});
  }

  task_state parent_state_of(const job_id& parent) const {
    const family& f = families_.at(parent);
    return aggregate(tasks_.at(f.forward).state, tasks_.at(f.backward).state);
  }

  child_spec child_of(const job_id& id) const {
    const task& t = tasks_.at(id);
    return child_spec{id, t.state, t.pause, t.start_time, t.version, t.changed_at, t.awaiting};
  }

  task_snapshot snapshot(const job_id& id) const {
    task_snapshot s;
    s.id = id;
    if (auto f = families_.find(id); f != families_.end()) {
      s.project = f->second.project;
      s.name = f->second.name;
      s.kind = task_kind::cloud_data_guard;
      s.role = task_role::parent;
      s.state = parent_state_of(id);
      s.forward_child = f->second.forward;
      s.backward_child = f->second.backward;
      s.version = 0;
      s.created_at = f->second.created_at;
      // A family changes when a child does: its last change is the later of theirs. It
      // awaits nothing itself (its children do).
      s.changed_at = std::max(tasks_.at(f->second.forward).changed_at,
                              tasks_.at(f->second.backward).changed_at);
      return s;
    }
    const task& t = tasks_.at(id);
    s.project = t.project;
    s.name = t.name;
    s.kind = t.kind;
    s.role = t.role;
    s.state = t.state;
    s.pause = t.pause;
    s.start_time = t.start_time;
    s.parent = t.parent;
    s.version = t.version;
    s.created_at = t.created_at;
    s.changed_at = t.changed_at;
    s.awaiting = t.awaiting;
    return s;
  }

  std::map<job_id, task> tasks_;       ///< standalone tasks and family children
  std::map<job_id, family> families_;  ///< dual-active parents
  std::vector<change> log_;
  std::vector<change_detail> details_;  ///< parallel to log_
  std::size_t stamped_ = 0;             ///< log_[0, stamped_) have their time
  std::uint64_t batches_ = 0;           ///< stamps so far
  std::map<job_id, std::size_t> change_count_;
  std::map<job_id, std::vector<incarnation>> incarnations_;
};

}  // namespace taskorch::test_model
