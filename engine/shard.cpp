#include "shard.hpp"

#include "storage/change_log.hpp"
#include <taskorch/transition_table.hpp>

namespace taskorch::detail {

namespace {

bool pause_info_consistent(task_state state, const std::optional<pause_info>& pause) {
  if (!is_valid(state)) return false;
  if (state != task_state::paused) return !pause.has_value();
  return pause.has_value() && is_valid(pause->mode) && is_pausable(pause->from);
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

storage::set_state_record state_of(const job_id& id, const task_record& rec) {
  return {id, rec.state, pause_of(rec), rec.version};
}

}  // namespace

error_code validate(const registration& r) {
  return std::visit(
      [](const auto& spec) -> error_code {
        using spec_type = std::decay_t<decltype(spec)>;
        if constexpr (std::is_same_v<spec_type, task_spec>) {
          if (!is_valid(spec.kind) || !pause_info_consistent(spec.state, spec.pause)) {
            return errc::invalid_task_spec;
          }
        } else {
          if (!pause_info_consistent(spec.forward.state, spec.forward.pause) ||
              !pause_info_consistent(spec.backward.state, spec.backward.pause) ||
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

outcome shard::apply(const project_id& project, const job_id& id, task_event event,
                     pause_mode mode) {
  outcome result;
  task_record* rec = find(project, id, result);
  if (rec == nullptr) return result;
  const task_state from = rec->state;
  const task_record before = *rec;
  const step_outcome step = apply_event(*rec, rec->role == task_role::parent, event, mode);
  if (step.refusal != errc{}) return outcome::fail(step.refusal);
  if (!step.changed) return result;
  ++rec->version;
  if (auto* log = storage::change_log::current()) {
    try {
      log->set_state(*this, state_of(id, *rec), state_of(id, before));
    } catch (...) {
      *rec = before;  // not recorded: not made
      throw;
    }
  }
  adjust_count(from, -1);
  adjust_count(rec->state, +1);
  if (!subscribers_.empty()) {
    std::optional<pause_mode> shown_mode;
    if (rec->state == task_state::paused) shown_mode = rec->mode;
    notify({id, project, from, rec->state, event, shown_mode, rec->version});
  }
  return result;
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
    adjust_count(at(child).state, -1);
    tasks_.erase(child);
    parent_of_.erase(child);
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
  if (auto name = names_.find(id); name != names_.end()) snap.name = name->second;
  if (rec.role == task_role::parent) {
    const family_links& links = families_.at(id);
    snap.state = aggregate_state(id);
    snap.forward_child = links.forward;
    snap.backward_child = links.backward;
  } else {
    snap.state = rec.state;
    snap.pause = pause_of(rec);
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

void shard::list(const project_id& project, std::vector<task_snapshot>& out) const {
  tasks_.for_each([&](const job_id& id, const task_record& rec) {
    if (!rec.redirect && projects_[rec.project] == project) out.push_back(snapshot_of(id, rec));
  });
}

void shard::count(state_counts& counts) const {
  for (std::size_t i = 0; i < task_state_count; ++i) counts.tasks[i] += counts_[i];
  for (const auto& [parent, links] : families_) {
    counts.tasks[static_cast<std::size_t>(aggregate_state(parent))] += 1;
    counts.families += 1;
  }
}

child_spec shard::child_spec_of(const job_id& id) const {
  const task_record& rec = at(id);
  return {id, rec.state, pause_of(rec), rec.version};
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
  reserve_project();
  tasks_.reserve(1);
  task_record rec;
  rec.project = project_index(spec.project);
  rec.version = spec.version;
  rec.kind = spec.kind;
  set_pause(rec, spec.state, spec.pause);
  if (auto* log = storage::change_log::current()) log->put_task(*this, spec);
  tasks_.insert(spec.id, rec);
  if (!name.empty()) names_.emplace(spec.id, std::move(name));
  adjust_count(spec.state, +1);
  return {};
}

void shard::reserve_family(const family_spec& spec) {
  tasks_.reserve(3);
  reserve_project();
  parent_of_.reserve(parent_of_.size() + 2);
  families_.reserve(families_.size() + 1);
  if (!spec.name.empty()) names_.reserve(names_.size() + 1);
}

void shard::insert_family(family_spec&& spec) noexcept {
  task_record parent;
  parent.project = project_index(spec.project);
  parent.kind = task_kind::cloud_data_guard;
  parent.role = task_role::parent;
  tasks_.insert(spec.id, parent);
  for (const auto& [child, role] : {std::pair{&spec.forward, task_role::forward_child},
                                    std::pair{&spec.backward, task_role::backward_child}}) {
    task_record rec;
    rec.project = parent.project;
    rec.version = child->version;
    rec.kind = task_kind::cloud_data_guard;
    rec.role = role;
    set_pause(rec, child->state, child->pause);
    tasks_.insert(child->id, rec);
    parent_of_.emplace(child->id, spec.id);
    adjust_count(child->state, +1);
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
  return {id,         projects_[rec.project], rec.kind, rec.state, pause_of(rec), std::move(name),
          rec.version};
}

family_spec shard::family_spec_of(const job_id& parent, const task_record& rec) const {
  const family_links& links = families_.at(parent);
  std::string name;
  if (auto it = names_.find(parent); it != names_.end()) name = it->second;
  return {parent, projects_[rec.project], std::move(name), child_spec_of(links.forward),
          child_spec_of(links.backward)};
}

void shard::restore_state(const storage::set_state_record& change) noexcept {
  task_record* rec = tasks_.find(change.id);
  adjust_count(rec->state, -1);
  set_pause(*rec, change.state, change.pause);
  rec->version = change.version;
  adjust_count(rec->state, +1);
}

void shard::erase_task(const job_id& id) noexcept {
  adjust_count(at(id).state, -1);
  tasks_.erase(id);
  names_.erase(id);
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
