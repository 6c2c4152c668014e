#include "shard.hpp"

#include "storage/change_log.hpp"
#include <taskorch/transition_table.hpp>

#include <algorithm>

namespace taskorch::detail {

namespace {

bool pause_info_consistent(task_state state, const std::optional<pause_info>& pause) {
  if (!is_valid(state)) return false;
  if (state != task_state::paused) return !pause.has_value();
  return pause.has_value() && is_valid(pause->mode) && is_pausable(pause->from);
}

bool start_time_consistent(task_state state, const std::optional<wall_time>& start_time) {
  if (state != task_state::waiting_for_start) return !start_time.has_value();
  return start_time.has_value() && *start_time > wall_time{};
}

template <class Spec>
bool lifecycle_consistent(const Spec& spec) {
  return pause_info_consistent(spec.state, spec.pause) &&
         start_time_consistent(spec.state, spec.start_time) &&
         (!spec.awaiting || awaits_worker(*spec.awaiting));
}

void set_pause(task_record& rec, task_state state, const std::optional<pause_info>& pause) {
  rec.state = state;
  if (pause) {
    rec.mode = pause->mode;
    rec.paused_from = pause->from;
  }
}

std::optional<pause_info> pause_of(const task_record& rec) {
  if (rec.state != task_state::paused) return std::nullopt;
  return pause_info{rec.mode, rec.paused_from};
}

/// A confirmation that names the version of the change that asked for it is refused once a
/// later change has replaced the wait or ended it (while a task awaits, its version is that
/// change's); the guards answer first, as for any confirmation.
errc stale_confirmation(const task_record& rec, const report_item& item) {
  if (!item.confirms_version || *item.confirms_version == rec.version) return {};
  if (const errc refused = guard_refusal(rec.role, task_event::confirm, rec.state);
      refused != errc{}) {
    return refused;
  }
  return no_row_refusal;
}

}  // namespace

error_code validate(const registration& r) {
  return std::visit(
      [](const auto& spec) -> error_code {
        using spec_type = std::decay_t<decltype(spec)>;
        if constexpr (std::is_same_v<spec_type, task_spec>) {
          if (!is_valid(spec.kind) || !lifecycle_consistent(spec)) {
            return errc::invalid_task_spec;
          }
        } else {
          if (!lifecycle_consistent(spec.forward) || !lifecycle_consistent(spec.backward) ||
              spec.forward.id == spec.backward.id || spec.forward.id == spec.id ||
              spec.backward.id == spec.id) {
            return errc::invalid_task_spec;
          }
        }
        return {};
      },
      r);
}

bool shard::visible(const project_id& project, const task_record* rec, outcome& result) const {
  if (rec == nullptr) {
    result = outcome::fail(errc::task_not_found);
    return false;
  }
  if (rec->redirect) {
    result = outcome::forward(rec->family_shard);
    return false;
  }
  if (projects_[rec->project] != project) {
    result = outcome::fail(errc::task_not_found);
    return false;
  }
  result = outcome::ok();
  return true;
}

const task_record* shard::find(const project_id& project, const job_id& id, outcome& result) const {
  const task_record* rec = tasks_.find(id);
  return visible(project, rec, result) ? rec : nullptr;
}

task_record* shard::find(const project_id& project, const job_id& id, outcome& result) {
  task_record* rec = tasks_.find(id);
  return visible(project, rec, result) ? rec : nullptr;
}

void shard::reserve_project() {
  projects_.reserve(projects_.size() + 1);
  project_indices_.reserve(project_indices_.size() + 1);
}

std::uint32_t shard::project_index(const project_id& project) noexcept {
  auto [it, added] =
      project_indices_.try_emplace(project, static_cast<std::uint32_t>(projects_.size()));
  if (added) projects_.push_back(project);
  return it->second;
}

shard::lifecycle_view shard::view_of(const job_id& id, const task_record& rec) const noexcept {
  lifecycle_view v{rec.state, rec.mode, rec.paused_from, {}, rec.awaiting};
  if (rec.state == task_state::waiting_for_start) {
    if (auto it = start_times_.find(id); it != start_times_.end()) v.start_time = it->second;
  }
  return v;
}

storage::set_state_record shard::record_of(const job_id& id, const lifecycle_view& v,
                                           std::uint64_t version, wall_time changed_at,
                                           const storage::change_note& note) {
  storage::set_state_record r{
      {id, v.state, std::nullopt, std::nullopt, version, changed_at, v.awaiting}, note};
  if (v.state == task_state::paused) r.pause = pause_info{v.mode, v.paused_from};
  if (v.state == task_state::waiting_for_start) r.start_time = v.start_time;
  return r;
}

void shard::reserve_start_time(const job_id& id, const lifecycle_view& v) {
  if (v.state == task_state::waiting_for_start) start_times_.try_emplace(id);
}

void shard::store_start_time(const job_id& id, wall_time at) noexcept {
  // Room was made (try_emplace) before the change: this finds the entry.
  if (auto it = start_times_.find(id); it != start_times_.end()) it->second = at;
  if (schedule_ != nullptr) schedule_->lower(at);
}

void shard::reserve_events(std::size_t n) {
  if (feed_staging* staging = feed_staging::current()) staging->reserve(n);
}

std::uint64_t shard::take_position() noexcept {
  feed_staging* staging = feed_staging::current();
  return feed_ != nullptr && staging != nullptr ? staging->take_position(*feed_) : 0;
}

void shard::give_back_position(std::uint64_t position) noexcept {
  if (position != 0) feed_staging::current()->add_void(position);
}

void shard::commit(const project_id& project, const job_id& id, task_record& rec,
                   const lifecycle_view& v, task_event cause, wall_time now,
                   std::uint64_t position) noexcept {
  const task_state from = rec.state;
  count(rec, -1);
  rec.state = v.state;
  rec.mode = v.mode;
  rec.paused_from = v.paused_from;
  rec.awaiting = v.awaiting;
  rec.changed_at = now;
  ++rec.version;
  if (v.state == task_state::waiting_for_start) store_start_time(id, v.start_time);
  count(rec, +1);
  std::optional<pause_mode> shown_mode;
  if (rec.state == task_state::paused) shown_mode = rec.mode;
  if (position != 0) {
    feed_event& e = feed_staging::current()->add();
    e.position = position;
    e.id = id;
    e.project = project;
    e.from = from;
    e.to = rec.state;
    e.cause = cause;
    e.mode = shown_mode;
    e.awaiting = rec.awaiting;
    e.at = now;
    e.version = rec.version;
  }
  if (!subscribers_.empty()) {
    notify({id, project, from, rec.state, cause, shown_mode, rec.version});
  }
}

outcome shard::apply(const project_id& project, const job_id& id, task_event event,
                     const event_arguments& args) {
  outcome result;
  task_record* rec = find(project, id, result);
  if (rec == nullptr) return result;
  if (rec->role == task_role::parent && is_valid(event) &&
      rule_of(event).scope == family_scope::family) {
    return apply_to_family(project, id, event, args);
  }
  const lifecycle_view before = view_of(id, *rec);
  lifecycle_view after = before;
  const step_outcome step = apply_event(after, rec->role, event, args);
  if (step.refusal != errc{}) return outcome::fail(step.refusal);
  if (!step.changed) return result;
  reserve_start_time(id, after);
  reserve_events(1);
  const std::uint64_t position = take_position();
  if (auto* log = storage::change_log::current()) {
    try {
      log->set_state(
          *this, record_of(id, after, rec->version + 1, args.now, {position, rec->state, event}),
          record_of(id, before, rec->version, rec->changed_at, {}));
    } catch (...) {
      give_back_position(position);
      throw;
    }
  }
  commit(project, id, *rec, after, event, args.now, position);
  return result;
}

outcome shard::apply_to_family(const project_id& project, const job_id& parent, task_event event,
                               const event_arguments& args) {
  const family_links links = families_.at(parent);
  task_record& forward = *tasks_.find(links.forward);
  task_record& backward = *tasks_.find(links.backward);
  const lifecycle_view forward_before = view_of(links.forward, forward);
  const lifecycle_view backward_before = view_of(links.backward, backward);
  lifecycle_view forward_after = forward_before;
  lifecycle_view backward_after = backward_before;
  // Both children must take the event: the first refusal (the forward child's) answers.
  const step_outcome f = apply_event(forward_after, task_role::parent, event, args);
  if (f.refusal != errc{}) return outcome::fail(f.refusal);
  const step_outcome b = apply_event(backward_after, task_role::parent, event, args);
  if (b.refusal != errc{}) return outcome::fail(b.refusal);
  reserve_start_time(links.forward, forward_after);
  reserve_start_time(links.backward, backward_after);
  reserve_events(2);
  const std::uint64_t forward_position = f.changed ? take_position() : 0;
  const std::uint64_t backward_position = b.changed ? take_position() : 0;
  if (auto* log = storage::change_log::current()) {
    const auto fa = record_of(links.forward, forward_after, forward.version + 1, args.now,
                              {forward_position, forward.state, event});
    const auto fb =
        record_of(links.forward, forward_before, forward.version, forward.changed_at, {});
    const auto ba = record_of(links.backward, backward_after, backward.version + 1, args.now,
                              {backward_position, backward.state, event});
    const auto bb =
        record_of(links.backward, backward_before, backward.version, backward.changed_at, {});
    try {
      if (f.changed && b.changed) {
        log->set_family_state(*this, fa, fb, ba, bb);
      } else if (f.changed) {
        log->set_state(*this, fa, fb);
      } else if (b.changed) {
        log->set_state(*this, ba, bb);
      }
    } catch (...) {
      give_back_position(forward_position);
      give_back_position(backward_position);
      throw;
    }
  }
  if (f.changed) {
    commit(project, links.forward, forward, forward_after, event, args.now, forward_position);
  }
  if (b.changed) {
    commit(project, links.backward, backward, backward_after, event, args.now, backward_position);
  }
  return outcome::ok();
}

outcome shard::report(const project_id& project, const report_item& item, wall_time now) {
  outcome result;
  const task_record* rec = find(project, item.id, result);
  if (rec == nullptr) return result;
  if (const errc stale = stale_confirmation(*rec, item); stale != errc{}) {
    return outcome::fail(stale);
  }
  const bool added = reports_.try_emplace(item.id).second;  // before any change: may throw
  if (item.event) {
    try {
      result = apply(project, item.id, *item.event, {.confirms = item.confirms, .now = now});
    } catch (...) {
      if (added) reports_.erase(item.id);
      throw;
    }
  } else if (const errc refused =
                 guard_refusal(rec->role, task_event::full_transfer_done, rec->state);
             refused != errc{}) {
    // Figures alone are a worker's report: the guards of a worker event apply.
    result = outcome::fail(refused);
  }
  if (result.error) {
    if (added) reports_.erase(item.id);
    return result;
  }
  worker_report& latest = reports_.find(item.id)->second;
  if (item.figures) latest.figures = item.figures;
  latest.at = now;
  return result;
}

outcome shard::read_progress(const project_id& project, const job_id& id,
                             progress_result& out) const {
  outcome result;
  const task_record* rec = find(project, id, result);
  if (rec == nullptr) return result;
  out.state = rec->role == task_role::parent ? aggregate_state(id) : rec->state;
  const task_record* awaiting = rec;
  if (rec->role == task_role::parent) {
    const family_links& links = families_.at(id);
    awaiting = at(links.forward).awaiting ? &at(links.forward) : &at(links.backward);
  }
  if (awaiting->awaiting) out.awaiting = awaited_command{*awaiting->awaiting, awaiting->changed_at};
  if (auto it = reports_.find(id); it != reports_.end()) {
    out.figures = it->second.figures;
    out.reported_at = it->second.at;
  }
  return result;
}

void shard::due_starts(wall_time now, std::vector<due_start>& out, wall_time& earliest) const {
  for (const auto& [id, at] : start_times_) {
    const task_record* rec = tasks_.find(id);
    if (rec == nullptr || rec->state != task_state::waiting_for_start) continue;
    if (at <= now) {
      out.push_back({projects_[rec->project], id});
    } else if (at < earliest) {
      earliest = at;
    }
  }
}

outcome shard::purge(const project_id& project, const job_id& id,
                     std::optional<family_links>& ready_family) {
  outcome result;
  const task_record* rec = find(project, id, result);
  if (rec == nullptr) return result;
  switch (rec->role) {
    case task_role::forward_child:
    case task_role::backward_child:
      return outcome::fail(errc::child_task_forbidden);
    case task_role::standalone:
      if (rec->state != task_state::deleted) return outcome::fail(errc::invalid_state);
      if (auto* log = storage::change_log::current())
        log->erase_task(*this, task_spec_of(id, *rec));
      erase_task(id);
      return result;
    case task_role::parent: {
      const family_links links = families_.at(id);
      if (at(links.forward).state != task_state::deleted ||
          at(links.backward).state != task_state::deleted) {
        return outcome::fail(errc::invalid_state);
      }
      ready_family = links;
      return result;
    }
  }
  return result;
}

void shard::erase_family(const job_id& parent) noexcept {
  const family_links links = families_.at(parent);
  for (const job_id& child : {links.forward, links.backward}) {
    count(at(child), -1);
    tasks_.erase(child);
    parent_of_.erase(child);
    start_times_.erase(child);
    reports_.erase(child);
  }
  families_.erase(parent);
  tasks_.erase(parent);
  names_.erase(parent);
}

void shard::erase_redirect(const job_id& id) noexcept {
  if (const task_record* rec = tasks_.find(id); rec != nullptr && rec->redirect) tasks_.erase(id);
}

task_state shard::aggregate_state(const job_id& parent) const {
  const family_links& links = families_.at(parent);
  return parent_state(at(links.forward).state, at(links.backward).state);
}

outcome shard::read_state(const project_id& project, const job_id& id, task_state& state) const {
  outcome result;
  const task_record* rec = find(project, id, result);
  if (rec != nullptr) state = rec->role == task_role::parent ? aggregate_state(id) : rec->state;
  return result;
}

task_snapshot shard::snapshot_of(const job_id& id, const task_record& rec) const {
  task_snapshot snap;
  snap.id = id;
  snap.project = projects_[rec.project];
  snap.kind = rec.kind;
  snap.role = rec.role;
  snap.version = rec.version;
  snap.created_at = rec.created_at;
  snap.changed_at = rec.changed_at;
  snap.awaiting = rec.awaiting;
  if (auto name = names_.find(id); name != names_.end()) snap.name = name->second;
  if (rec.role == task_role::parent) {
    const family_links& links = families_.at(id);
    snap.state = aggregate_state(id);
    snap.forward_child = links.forward;
    snap.backward_child = links.backward;
    // The family changes when a child does.
    snap.changed_at = std::max(at(links.forward).changed_at, at(links.backward).changed_at);
  } else {
    snap.state = rec.state;
    snap.pause = pause_of(rec);
    snap.start_time = start_time_of(id, rec);
    if (auto parent = parent_of_.find(id); parent != parent_of_.end()) {
      snap.parent = parent->second;
    }
  }
  return snap;
}

outcome shard::read(const project_id& project, const job_id& id, task_snapshot& out) const {
  outcome result;
  if (const task_record* rec = find(project, id, result)) out = snapshot_of(id, *rec);
  return result;
}

outcome shard::read_detail(const project_id& project, const job_id& id, task_snapshot& out,
                           std::vector<task_snapshot>& children) const {
  outcome result;
  const task_record* rec = find(project, id, result);
  if (rec == nullptr) return result;
  out = snapshot_of(id, *rec);
  if (rec->role == task_role::parent) {
    const family_links& links = families_.at(id);
    children = {snapshot_of(links.forward, at(links.forward)),
                snapshot_of(links.backward, at(links.backward))};
  }
  return result;
}

void shard::list(const project_id& project, std::vector<task_snapshot>& out) const {
  tasks_.for_each([&](const job_id& id, const task_record& rec) {
    if (!rec.redirect && projects_[rec.project] == project) out.push_back(snapshot_of(id, rec));
  });
}

void shard::count(state_counts& counts) const {
  for (std::size_t i = 0; i < task_state_count; ++i) counts.tasks[i] += counts_[i];
  if (awaiting_ != 0) {
    // The age of the oldest wait is not kept up to date by every change: found here, by one
    // pass over the table, only while something awaits a worker.
    counts.awaiting += awaiting_;
    tasks_.for_each([&](const job_id&, const task_record& rec) {
      if (rec.awaiting && (!counts.awaiting_since || rec.changed_at < *counts.awaiting_since)) {
        counts.awaiting_since = rec.changed_at;
      }
    });
  }
  for (const auto& [parent, links] : families_) {
    counts.tasks[static_cast<std::size_t>(aggregate_state(parent))] += 1;
    counts.families += 1;
  }
}

child_spec shard::child_spec_of(const job_id& id) const {
  const task_record& rec = at(id);
  return {id,          rec.state,      pause_of(rec), start_time_of(id, rec),
          rec.version, rec.changed_at, rec.awaiting};
}

std::optional<wall_time> shard::start_time_of(const job_id& id, const task_record& rec) const {
  if (rec.state != task_state::waiting_for_start) return std::nullopt;
  return view_of(id, rec).start_time;
}

void shard::export_to(std::vector<registration>& out) const {
  tasks_.for_each([&](const job_id& id, const task_record& rec) {
    if (rec.redirect) return;
    if (rec.role == task_role::standalone) {
      out.emplace_back(task_spec_of(id, rec));
    } else if (rec.role == task_role::parent) {
      out.emplace_back(family_spec_of(id, rec));
    }
  });
}

error_code shard::insert(const task_spec& spec) {
  if (holds(spec.id)) return errc::task_exists;  // before anything grows
  // Everything that can throw happens before the first change.
  std::string name = spec.name;
  if (!name.empty()) names_.reserve(names_.size() + 1);
  if (spec.start_time) start_times_.try_emplace(spec.id);
  reserve_project();
  tasks_.reserve(1);
  task_record rec;
  rec.project = project_index(spec.project);
  rec.version = spec.version;
  rec.created_at = spec.created_at;
  rec.changed_at = spec.changed_at;
  rec.awaiting = spec.awaiting;
  rec.kind = spec.kind;
  set_pause(rec, spec.state, spec.pause);
  if (auto* log = storage::change_log::current()) log->put_task(*this, spec);
  tasks_.insert(spec.id, rec);
  if (!name.empty()) names_.emplace(spec.id, std::move(name));
  if (spec.start_time) store_start_time(spec.id, *spec.start_time);
  count(rec, +1);
  return {};
}

void shard::reserve_family(const family_spec& spec) {
  tasks_.reserve(3);
  reserve_project();
  parent_of_.reserve(parent_of_.size() + 2);
  families_.reserve(families_.size() + 1);
  if (!spec.name.empty()) names_.reserve(names_.size() + 1);
  for (const child_spec* child : {&spec.forward, &spec.backward}) {
    if (child->start_time) start_times_.try_emplace(child->id);
  }
}

void shard::insert_family(family_spec&& spec) noexcept {
  task_record parent;
  parent.project = project_index(spec.project);
  parent.kind = task_kind::cloud_data_guard;
  parent.role = task_role::parent;
  parent.created_at = spec.created_at;
  tasks_.insert(spec.id, parent);
  for (const auto& [child, role] : {std::pair{&spec.forward, task_role::forward_child},
                                    std::pair{&spec.backward, task_role::backward_child}}) {
    task_record rec;
    rec.project = parent.project;
    rec.version = child->version;
    rec.created_at = spec.created_at;
    rec.changed_at = child->changed_at;
    rec.awaiting = child->awaiting;
    rec.kind = task_kind::cloud_data_guard;
    rec.role = role;
    set_pause(rec, child->state, child->pause);
    tasks_.insert(child->id, rec);
    parent_of_.emplace(child->id, spec.id);
    if (child->start_time) store_start_time(child->id, *child->start_time);
    count(rec, +1);
  }
  families_.emplace(spec.id, family_links{spec.forward.id, spec.backward.id});
  if (!spec.name.empty()) names_.emplace(spec.id, std::move(spec.name));
}

void shard::record_family_insert(const family_spec& spec) {
  if (auto* log = storage::change_log::current()) log->put_family(*this, spec);
}

void shard::record_family_erase(const job_id& parent) {
  if (auto* log = storage::change_log::current()) {
    log->erase_family(*this, family_spec_of(parent, at(parent)));
  }
}

task_spec shard::task_spec_of(const job_id& id, const task_record& rec) const {
  std::string name;
  if (auto it = names_.find(id); it != names_.end()) name = it->second;
  return {id,
          projects_[rec.project],
          rec.kind,
          rec.state,
          pause_of(rec),
          start_time_of(id, rec),
          std::move(name),
          rec.version,
          rec.created_at,
          rec.changed_at,
          rec.awaiting};
}

family_spec shard::family_spec_of(const job_id& parent, const task_record& rec) const {
  const family_links& links = families_.at(parent);
  std::string name;
  if (auto it = names_.find(parent); it != names_.end()) name = it->second;
  return {parent,
          projects_[rec.project],
          std::move(name),
          child_spec_of(links.forward),
          child_spec_of(links.backward),
          rec.created_at};
}

void shard::restore_state(const storage::set_state_record& change) noexcept {
  task_record* rec = tasks_.find(change.id);
  count(*rec, -1);
  set_pause(*rec, change.state, change.pause);
  rec->version = change.version;
  rec->changed_at = change.changed_at;
  rec->awaiting = change.awaiting;
  if (change.start_time) store_start_time(change.id, *change.start_time);
  count(*rec, +1);
}

void shard::erase_task(const job_id& id) noexcept {
  count(at(id), -1);
  tasks_.erase(id);
  names_.erase(id);
  start_times_.erase(id);
  reports_.erase(id);
}

void shard::insert_redirect(const job_id& id, shard_index family_shard) noexcept {
  task_record stub;
  stub.redirect = true;
  stub.family_shard = family_shard;
  tasks_.insert(id, stub);
}

void shard::remove_subscriber(const subscriber_slot* s) noexcept {
  std::erase_if(subscribers_, [s](const auto& held) { return held.get() == s; });
}

void shard::notify(const state_change& change) const noexcept {
  for (const auto& s : subscribers_) s->deliver(change);
}

}  // namespace taskorch::detail
