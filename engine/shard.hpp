#pragma once
// shard: one slice of the registry and the state machine applied to it.
//
// A shard is plain single-threaded data: the engine makes every call holding the shard's
// gate (on its strand, or inline on a caller's thread), so nothing here locks. A task lives on its
// home shard (hash of its id), except the children of a dual-active family, which live with their
// parent; the child's home shard then keeps a redirect record that forwards commands to the
// family's shard.

#include "task_table.hpp"
#include <taskorch/batch.hpp>
#include <taskorch/job_id.hpp>
#include <taskorch/project_id.hpp>
#include <taskorch/state_change.hpp>
#include <taskorch/task_snapshot.hpp>
#include <taskorch/task_spec.hpp>

#include <boost/unordered/unordered_flat_map.hpp>

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
};

/// A subscriber as a shard holds it.
struct subscriber {
  std::uint64_t id;
  std::shared_ptr<const change_callback> callback;
};

/// One slice of the registry. Thread safety: none; the engine serializes all calls.
class shard {
 public:
  // -- commands -------------------------------------------------------------------------

  /// Applies `event` (with `mode`, for a pause) to `id` on behalf of `project`.
  outcome apply(const project_id& project, const job_id& id, task_event event, pause_mode mode);

  /// Removes a DELETED task (or a family whose children are both DELETED). The ids of the
  /// removed family children are appended to `children`, so their stubs can go too.
  outcome purge(const project_id& project, const job_id& id, std::vector<job_id>& children);

  // -- queries --------------------------------------------------------------------------

  /// Reads the state (a parent's aggregate) of `id`.
  outcome read_state(const project_id& project, const job_id& id, task_state& state) const;

  /// Reads a full snapshot of `id`.
  outcome read(const project_id& project, const job_id& id, task_snapshot& out) const;

  /// Appends snapshots of every task of `project` held here (stubs excluded).
  void list(const project_id& project, std::vector<task_snapshot>& out) const;

  /// Adds this shard's tasks to `counts`.
  void count(state_counts& counts) const;

  /// Appends a registration for every standalone task and family held here.
  void export_to(std::vector<registration>& out) const;

  // -- registration ---------------------------------------------------------------------

  /// Inserts a standalone task; errc::task_exists when the id is taken.
  error_code insert(const task_spec& spec);

  /// Inserts a family (parent and both children); errc::task_exists when an id is taken.
  error_code insert(const family_spec& spec);

  /// Inserts a stub that forwards `id` to `family_shard`; false when the id is taken.
  bool insert_redirect(const job_id& id, shard_index family_shard);

  /// Erases the stub of `id`, if it is one.
  void erase_redirect(const job_id& id);

  // -- subscriptions --------------------------------------------------------------------

  void add_subscriber(subscriber s) { subscribers_.push_back(std::move(s)); }
  void remove_subscriber(std::uint64_t id);

  /// Starts loading the record of `id`, which a batch is about to reach.
  [[gnu::always_inline]] void prefetch(const job_id& id) const noexcept { tasks_.prefetch(id); }

  /// The number of records held, stubs included.
  std::size_t size() const noexcept { return tasks_.size(); }

 private:
  /// Finds `id` as seen by `project`: nullptr when absent or of another project; the
  /// record itself (which may be a redirect) otherwise.
  const task_record* find(const project_id& project, const job_id& id, outcome& result) const;
  task_record* find(const project_id& project, const job_id& id, outcome& result);

  /// The index of `project` in projects_, added when new.
  std::uint32_t project_index(const project_id& project);
  const task_record& at(const job_id& id) const { return *tasks_.find(id); }
  task_state aggregate_state(const job_id& parent) const;
  task_snapshot snapshot_of(const job_id& id, const task_record& rec) const;
  child_spec child_spec_of(const job_id& id) const;
  void adjust_count(task_state s, int delta) { counts_[static_cast<std::size_t>(s)] += delta; }
  void notify(const state_change& change) const noexcept;

  task_table tasks_;
  std::vector<project_id> projects_;  ///< the projects of this shard's tasks
  boost::unordered_flat_map<project_id, std::uint32_t, project_id_hash> project_indices_;
  boost::unordered_flat_map<job_id, family_links, job_id_hash> families_;
  boost::unordered_flat_map<job_id, job_id, job_id_hash> parent_of_;
  boost::unordered_flat_map<job_id, std::string, job_id_hash> names_;
  std::array<std::size_t, task_state_count> counts_{};  ///< non-parent tasks by state
  std::vector<subscriber> subscribers_;
};

/// Checks a registration on its own: pause info present exactly when paused, and from a
/// pausable state. Returns errc::invalid_task_spec when it is inconsistent.
error_code validate(const registration& r);

}  // namespace taskorch::detail
