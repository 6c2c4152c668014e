#pragma once
// shard: one slice of the registry and the lifecycle applied to it.
//
// A shard is plain single-threaded data: the engine makes every call holding the shard's
// gate (shard_gate.hpp), so nothing here locks. A task lives on its home shard (placement.hpp),
// except the children of a dual-active family, which live with their parent; the child's home
// shard then keeps a redirect stub that forwards commands to the family's shard.
//
// Every call that changes the shard either succeeds or throws std::bad_alloc having changed
// nothing; the calls a multi-shard step makes after reserving room (reserve_family(),
// reserve_stubs()) cannot throw, so such a step changes all its shards or none.
//
// Journaling: every change is also recorded, as a record and its undo, into the change log
// of the part the calling thread runs (storage/change_log.hpp), when there is one; the shard
// remembers the lsn of its last journaled change (last_lsn()), which a query that reads it
// waits for. The undo primitives (restore_state(), erase_task(), ...) put back what a record
// changed, when the journal could not store it; they record nothing.

#include "event_feed.hpp"
#include "placement.hpp"
#include "start_schedule.hpp"
#include "storage/record.hpp"
#include "subscriber_slot.hpp"
#include "task_table.hpp"
#include <taskorch/batch.hpp>
#include <taskorch/job_id.hpp>
#include <taskorch/project_id.hpp>
#include <taskorch/state_change.hpp>
#include <taskorch/task_snapshot.hpp>
#include <taskorch/task_spec.hpp>
#include <taskorch/transition_table.hpp>

#include <boost/unordered/unordered_flat_map.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace taskorch::detail {

/// What a call on one id did: its error, or the shard to run it on instead.
struct outcome {
  error_code error;
  std::optional<shard_index> forward_to;  ///< the id is a family child living elsewhere
  static outcome ok() { return {}; }
  static outcome fail(errc e) { return {e, std::nullopt}; }
  static outcome forward(shard_index s) { return {{}, s}; }
};

/// The two children of a dual-active parent.
struct family_links {
  job_id forward;
  job_id backward;
  friend bool operator==(const family_links&, const family_links&) = default;
};

/// A task that is due to start: what start_schedule's scan finds.
struct due_start {
  project_id project;
  job_id id;
};

/// One slice of the registry. Thread safety: none; the engine serializes all calls.
class shard {
 public:
  /// Tells `schedule` of every start time this shard stores from now on.
  void set_schedule(start_schedule* schedule) noexcept { schedule_ = schedule; }
  /// Gives every change this shard makes from now on a position in `feed`, and stages it
  /// for the part that made it (event_feed.hpp).
  void set_feed(event_feed* feed) noexcept { feed_ = feed; }

  // -- commands -------------------------------------------------------------------------

  /// Applies `event` (with `args`) to `id` on behalf of `project`. An event of family scope
  /// sent to a dual-active parent applies to both its children at one instant, or to neither.
  outcome apply(const project_id& project, const job_id& id, task_event event,
                const event_arguments& args);

  /// Applies a worker's report on `item.id` at `now`: its event (as apply()), then its
  /// figures; either makes it the task's latest report. Refused as its event would be, or,
  /// for figures alone, as any worker event would be (a parent, a deleted task).
  outcome report(const project_id& project, const report_item& item, wall_time now);

  // -- schedule -------------------------------------------------------------------------

  /// Appends the tasks waiting for a start time not after `now`; lowers `earliest` to the
  /// earliest start time after it.
  void due_starts(wall_time now, std::vector<due_start>& out, wall_time& earliest) const;

  // -- queries --------------------------------------------------------------------------

  /// Reads the state (a parent's aggregate) of `id`.
  outcome read_state(const project_id& project, const job_id& id, task_state& state) const;

  /// Reads a full snapshot of `id`.
  outcome read(const project_id& project, const job_id& id, task_snapshot& out) const;

  /// Reads a full snapshot of `id` and, for a dual-active parent, of its children.
  outcome read_detail(const project_id& project, const job_id& id, task_snapshot& out,
                      std::vector<task_snapshot>& children) const;

  /// Reads the state of `id` and what its worker last reported (into `out`).
  outcome read_progress(const project_id& project, const job_id& id, progress_result& out) const;

  /// Appends snapshots of every task of `project` held here (stubs excluded).
  void list(const project_id& project, std::vector<task_snapshot>& out) const;

  /// Adds this shard's tasks to `counts`.
  void count(state_counts& counts) const;

  /// Appends a registration for every standalone task and family held here.
  void export_to(std::vector<registration>& out) const;

  // -- registration ---------------------------------------------------------------------

  /// The record of `id` held here (a task, family member or stub), or nullptr.
  const task_record* record_of(const job_id& id) const noexcept { return tasks_.find(id); }
  /// The children of the family `parent` held here.
  family_links links_of(const job_id& parent) const { return families_.at(parent); }

  /// True when `id` is taken here: by a task, a family member or a redirect stub.
  bool holds(const job_id& id) const noexcept { return tasks_.find(id) != nullptr; }

  /// Inserts a standalone task; errc::task_exists when the id is taken.
  error_code insert(const task_spec& spec);

  /// Makes room for the family `spec`, so that insert_family() cannot throw.
  void reserve_family(const family_spec& spec);
  /// Records the registration of the family `spec` in the change log, if any: the last step
  /// that may throw before insert_family().
  void record_family_insert(const family_spec& spec);
  /// Inserts a family (parent and both children), taking its name. The caller has checked
  /// that its ids are free and reserved room for it.
  void insert_family(family_spec&& spec) noexcept;

  /// Makes room for `n` redirect stubs, so that insert_redirect() cannot throw.
  void reserve_stubs(std::size_t n) { tasks_.reserve(n); }
  /// Inserts a stub that forwards `id` to `family_shard`; the id is free and room reserved.
  void insert_redirect(const job_id& id, shard_index family_shard) noexcept;

  // -- purge ----------------------------------------------------------------------------

  /// Removes `id` when it is a deleted standalone task. A family child fails with
  /// child_task_forbidden. When `id` is a parent whose children are both deleted, nothing is
  /// removed yet: `ready_family` is set to its children, for the caller to remove the family
  /// and its stubs at one instant (erase_family(), erase_redirect()).
  outcome purge(const project_id& project, const job_id& id,
                std::optional<family_links>& ready_family);
  /// Records the purge of the family of `parent` in the change log, if any: the last step
  /// that may throw before erase_family().
  void record_family_erase(const job_id& parent);
  /// Removes the family of `parent` (both children deleted, as purge() found it).
  void erase_family(const job_id& parent) noexcept;
  /// Erases the stub of `id`.
  void erase_redirect(const job_id& id) noexcept;

  // -- undo of changes the journal could not store (never recorded) ---------------------

  /// Sets the state of `change.id` held here (a task or family child; not a stub).
  void restore_state(const storage::set_state_record& change) noexcept;
  /// Removes the standalone task `id`.
  void erase_task(const job_id& id) noexcept;

  // -- journaling -----------------------------------------------------------------------

  /// The lsn of the last journaled change to this shard (0: none since the start).
  std::uint64_t last_lsn() const noexcept { return last_lsn_; }
  void set_last_lsn(std::uint64_t lsn) noexcept { last_lsn_ = lsn; }

  // -- subscriptions --------------------------------------------------------------------

  void add_subscriber(std::shared_ptr<subscriber_slot> s) { subscribers_.push_back(std::move(s)); }
  void remove_subscriber(const subscriber_slot* s) noexcept;

  /// Starts loading the record of `id`, which a batch is about to reach.
  [[gnu::always_inline]] void prefetch(const job_id& id) const noexcept { tasks_.prefetch(id); }

  /// The number of records held, stubs included.
  std::size_t size() const noexcept { return tasks_.size(); }

  /// The slots of the task table (for make_room_for_copy()).
  std::size_t table_capacity() const noexcept { return tasks_.capacity(); }
  /// Gives this shard, still empty, a task table of `capacity` slots with its memory written:
  /// a copy of a shard of that capacity assigned into it then takes no page faults.
  void make_room_for_copy(std::size_t capacity) { tasks_ = task_table(capacity); }

  /// The number of projects this shard's tasks belong to.
  std::size_t project_count() const noexcept { return projects_.size(); }

 private:
  /// Finds `id` as seen by `project`, and sets `result`: nullptr when absent or of another
  /// project (task_not_found) or a redirect stub (forward to the family's shard); the record
  /// otherwise (ok).
  const task_record* find(const project_id& project, const job_id& id, outcome& result) const;
  task_record* find(const project_id& project, const job_id& id, outcome& result);
  /// Sets `result` for `rec`, what the table holds for an id, as find() does; true when the
  /// record is the task `project` asks for.
  bool visible(const project_id& project, const task_record* rec, outcome& result) const;

  /// Makes room for one more project, so that project_index() cannot throw.
  void reserve_project();
  /// The index of `project` in projects_, added when new (room reserved).
  std::uint32_t project_index(const project_id& project) noexcept;
  const task_record& at(const job_id& id) const { return *tasks_.find(id); }
  task_state aggregate_state(const job_id& parent) const;
  task_snapshot snapshot_of(const job_id& id, const task_record& rec) const;
  child_spec child_spec_of(const job_id& id) const;
  std::optional<wall_time> start_time_of(const job_id& id, const task_record& rec) const;
  /// Counts `rec` (a task or family child) in, or out, of the counts by state and the count
  /// of tasks awaiting a worker.
  void count(const task_record& rec, int delta) noexcept {
    counts_[static_cast<std::size_t>(rec.state)] += static_cast<std::size_t>(delta);
    if (rec.awaiting) awaiting_ += static_cast<std::size_t>(delta);
  }
  void notify(const state_change& change) const noexcept;

  /// The lifecycle fields of one task, as apply_event reads and changes them.
  struct lifecycle_view {
    task_state state = task_state::configuration;
    pause_mode mode = pause_mode::target;
    task_state paused_from = task_state::paused;
    wall_time start_time{};
    std::optional<task_event> awaiting;
  };
  lifecycle_view view_of(const job_id& id, const task_record& rec) const noexcept;
  static storage::set_state_record record_of(const job_id& id, const lifecycle_view& v,
                                             std::uint64_t version, wall_time changed_at,
                                             const storage::change_note& note);
  /// Makes room for `n` more events in the part's staging area, so that commit() and
  /// give_back_position() cannot throw.
  static void reserve_events(std::size_t n);
  /// The feed position of a change about to be made (0: the change goes to no feed).
  std::uint64_t take_position() noexcept;
  /// A position taken for a change that was not made after all: published void.
  static void give_back_position(std::uint64_t position) noexcept;
  /// Makes room for the start time of `id` when `v` waits for one, so that commit() cannot
  /// throw.
  void reserve_start_time(const job_id& id, const lifecycle_view& v);
  /// Makes `v` the task's lifecycle fields, changed at `now`: a new version, counts,
  /// schedule, the feed's event at `position` (none at 0), subscribers.
  void commit(const project_id& project, const job_id& id, task_record& rec,
              const lifecycle_view& v, task_event cause, wall_time now,
              std::uint64_t position) noexcept;
  /// Stores the start time of `id` (room reserved) and tells the schedule.
  void store_start_time(const job_id& id, wall_time at) noexcept;
  outcome apply_to_family(const project_id& project, const job_id& parent, task_event event,
                          const event_arguments& args);

  task_spec task_spec_of(const job_id& id, const task_record& rec) const;
  family_spec family_spec_of(const job_id& parent, const task_record& rec) const;

  task_table tasks_;
  std::uint64_t last_lsn_ = 0;
  std::vector<project_id> projects_;  ///< the projects of this shard's tasks
  boost::unordered_flat_map<project_id, std::uint32_t, project_id_hash> project_indices_;
  boost::unordered_flat_map<job_id, family_links, job_id_hash> families_;
  boost::unordered_flat_map<job_id, job_id, job_id_hash> parent_of_;
  boost::unordered_flat_map<job_id, std::string, job_id_hash> names_;
  /// Start times of tasks that are (or were, since the entry is kept until the task is
  /// erased, so that an undo never allocates) waiting for a scheduled start.
  boost::unordered_flat_map<job_id, wall_time, job_id_hash> start_times_;
  start_schedule* schedule_ = nullptr;
  event_feed* feed_ = nullptr;
  /// The latest worker report of each task reported on (not journaled: workers report again).
  struct worker_report {
    std::optional<transfer_figures> figures;
    wall_time at{};
  };
  boost::unordered_flat_map<job_id, worker_report, job_id_hash> reports_;
  std::array<std::size_t, task_state_count> counts_{};  ///< non-parent tasks by state
  std::size_t awaiting_ = 0;                            ///< tasks awaiting a worker's confirmation
  std::vector<std::shared_ptr<subscriber_slot>> subscribers_;
};

/// Checks a registration on its own: every enum value declared, pause info present exactly
/// when paused and from a pausable state, a start time exactly when waiting for a start, a
/// family's ids distinct. Returns
/// errc::invalid_task_spec when it is inconsistent.
error_code validate(const registration& r);

}  // namespace taskorch::detail
