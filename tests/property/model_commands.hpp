#pragma once
// model_commands: the rc::state commands of the model-based properties. Each command is
// generated from the model (so it mostly names known ids), runs once against the engine and
// once against a copy of the model, and asserts that the engine answered item by item as the
// model did, that subscribers heard exactly the model's changes, and that the engine's
// exported registry equals the model's (what each task awaits and when it last changed
// included: a command's changes are stamped with its batch's time, stamp_batch()). `observe`
// also checks the event feed of both projects against the model's changes (check_feed()).
//
//   harness sut;
//   rc::state::check(test_model::registry{}, sut, generate_command(command_mix{}));

#include "property_support.hpp"

#include <rapidcheck.h>
#include <rapidcheck/state.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace taskorch::property {

using model = test_model::registry;
using command = rc::state::Command<model, harness>;
using command_ptr = std::shared_ptr<const command>;

// -- Generators -------------------------------------------------------------------------

/// A value drawn uniformly from [lo, hi), shrinking towards lo. rc::gen::inRange scales its
/// range with the generation size (at small sizes it yields only lo and its neighbours); the
/// sequence length already grows with the size, each choice inside a command must not.
template <class T>
T pick(T lo, T hi) {
  return *rc::gen::resize(rc::kNominalSize, rc::gen::inRange<T>(lo, hi));
}

inline const std::vector<task_state>& pausable_states() {
  static const std::vector<task_state> states = [] {
    std::vector<task_state> out;
    for (task_state s : all_task_states) {
      if (test_model::pausable(s)) out.push_back(s);
    }
    return out;
  }();
  return states;
}

/// The six events a worker reports.
inline const std::vector<task_event>& worker_events() {
  static const std::vector<task_event> events{
      task_event::start_succeeded,     task_event::start_failed,    task_event::full_transfer_done,
      task_event::incremental_started, task_event::transfer_failed, task_event::stopped};
  return events;
}

/// Every event that is not a worker's: the commands, the schedule's own start, and values the
/// enum does not declare. engine::async_report refuses a batch holding one.
inline const std::vector<task_event>& not_worker_events() {
  static const std::vector<task_event> events{task_event::start,
                                              task_event::pause,
                                              task_event::resume,
                                              task_event::stop,
                                              task_event::remove,
                                              task_event::schedule_start,
                                              task_event::start_due,
                                              task_event::force_stop,
                                              static_cast<task_event>(task_event_count),
                                              static_cast<task_event>(0xff)};
  return events;
}

// -- Start times ------------------------------------------------------------------------

/// The scheduled starts of a property run lie around 2100-01-01, so that the engine's schedule
/// never fires during a run (the model has no clock): three of them, so that rescheduling a
/// waiting task meets both its own time (no change) and another (a change).
inline constexpr wall_time far_start{std::chrono::milliseconds(4'102'444'800'000)};

inline wall_time gen_far_start() { return far_start + std::chrono::seconds(pick(0, 3)); }

/// A start time long past (2001-09-09): batch-starting starts the task now.
inline constexpr wall_time past_start{std::chrono::milliseconds(1'000'000'000'000)};

/// The start time of a batch-starting item: none (start now) or one long past, or a far one
/// (scheduled).
inline std::optional<wall_time> gen_start_item_time() {
  const int roll = pick(0, 10);
  if (roll < 3) return std::nullopt;
  if (roll < 4) return past_start;
  return gen_far_start();
}

/// A start time exactly when `s` is waiting for start.
inline std::optional<wall_time> gen_start_time_for(task_state s) {
  if (s != task_state::waiting_for_start) return std::nullopt;
  return gen_far_start();
}

inline delete_type gen_delete_type() { return static_cast<delete_type>(pick(0, 3)); }

/// Project A mostly, project B sometimes.
inline project_id gen_project() { return pick(0, 6) == 0 ? project_b() : project_a(); }

/// One id for a command acting for `project`: mostly a task or parent that project sees,
/// sometimes any registered id (another project's, often), sometimes any pool id (unknown).
inline job_id gen_id(const model& m, const project_id& project) {
  const auto& pool = id_pool();
  const std::vector<job_id> known = m.all_ids();
  std::vector<job_id> visible;
  for (const job_id& id : known) {
    const auto kind = m.classify(project, id);
    if (kind == test_model::target_kind::task || kind == test_model::target_kind::parent) {
      visible.push_back(id);
    }
  }
  const int roll = pick(0, 20);
  if (!visible.empty() && roll < 13) {
    return visible[pick<std::size_t>(0, visible.size())];
  }
  if (!known.empty() && roll < 16) return known[pick<std::size_t>(0, known.size())];
  return pool[pick<std::size_t>(0, pool.size())];
}

/// `n` distinct ids drawn by gen_id, for n in [min, max].
inline std::vector<job_id> gen_distinct_ids(const model& m, const project_id& project,
                                            std::size_t min, std::size_t max) {
  const std::size_t n = pick(min, max + 1);
  std::vector<job_id> out;
  auto add = [&out](const job_id& id) {
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  };
  for (int tries = 0; out.size() < n && tries < 64; ++tries) add(gen_id(m, project));
  for (const job_id& id : id_pool()) {  // while shrinking, draws may keep colliding
    if (out.size() >= n) break;
    add(id);
  }
  return out;
}

/// An id to register: a free pool id five times in six, else any pool id (task_exists).
inline job_id gen_registration_id(const model& m) {
  const auto& pool = id_pool();
  std::vector<job_id> free;
  for (const job_id& id : pool) {
    if (!m.taken(id)) free.push_back(id);
  }
  if (!free.empty() && pick(0, 6) != 0) {
    return free[pick<std::size_t>(0, free.size())];
  }
  return pool[pick<std::size_t>(0, pool.size())];
}

/// A state to register a task in: any state, the three failed ones twice as often (commands
/// soon move tasks out of them, and every (state, command) pair should be reached).
inline task_state gen_state() {
  static const std::vector<task_state> states = [] {
    std::vector<task_state> out(all_task_states.begin(), all_task_states.end());
    for (task_state s : all_task_states) {
      if (test_model::failed_status(s)) out.push_back(s);
    }
    return out;
  }();
  return states[pick<std::size_t>(0, states.size())];
}

inline pause_mode gen_mode() { return pick(0, 2) == 0 ? pause_mode::target : pause_mode::all; }

/// Pause info exactly when `s` is paused, from a pausable state.
inline std::optional<pause_info> gen_pause_for(task_state s) {
  if (s != task_state::paused) return std::nullopt;
  return pause_info{gen_mode(), pausable_states()[pick<std::size_t>(0, pausable_states().size())]};
}

inline std::string gen_name() {
  const int k = pick(0, 3);
  return k == 0 ? std::string() : "name-" + std::to_string(k);
}

inline std::uint64_t gen_version() { return pick<std::uint64_t>(0, 4); }

/// The six commands a worker carries out and confirms (written out, as the model's rule).
inline const std::vector<task_event>& awaitable_commands() {
  static const std::vector<task_event> events{task_event::start, task_event::start_due,
                                              task_event::pause, task_event::resume,
                                              task_event::stop,  task_event::force_stop};
  return events;
}

inline task_event gen_awaitable() {
  return awaitable_commands()[pick<std::size_t>(0, awaitable_commands().size())];
}

/// What a registered task awaits: nothing mostly, else any command that awaits a worker
/// (the engine takes any of them in any state: a restored registry says what it says).
inline std::optional<task_event> gen_awaiting() {
  if (pick(0, 3) != 0) return std::nullopt;
  return gen_awaitable();
}

/// A registered creation or change time: none (0) or one of a few instants of 2023.
inline wall_time gen_registered_time() {
  const int k = pick(0, 3);
  return k == 0 ? wall_time{} : wall_time{std::chrono::milliseconds(1'700'000'000'000 + k)};
}

inline task_spec gen_task_spec(job_id id) {
  task_spec t;
  t.id = id;
  t.project = pick(0, 4) == 0 ? project_b() : project_a();
  t.kind = static_cast<task_kind>(pick(0, 3));
  t.state = gen_state();
  t.pause = gen_pause_for(t.state);
  t.start_time = gen_start_time_for(t.state);
  t.name = gen_name();
  t.version = gen_version();
  t.created_at = gen_registered_time();
  t.changed_at = gen_registered_time();
  t.awaiting = gen_awaiting();
  return t;
}

inline child_spec gen_child(job_id id, std::optional<task_state> like) {
  child_spec c;
  c.id = id;
  c.state = like && pick(0, 10) < 3 ? *like : gen_state();
  c.pause = gen_pause_for(c.state);
  c.start_time = gen_start_time_for(c.state);
  c.version = gen_version();
  c.changed_at = gen_registered_time();
  c.awaiting = gen_awaiting();
  return c;
}

inline family_spec gen_family_spec(job_id parent, job_id forward, job_id backward) {
  family_spec f;
  f.id = parent;
  f.project = pick(0, 4) == 0 ? project_b() : project_a();
  f.name = gen_name();
  f.created_at = gen_registered_time();
  if (pick(0, 8) == 0) {
    // Both children DELETED, so that purging families is exercised often enough.
    f.forward = child_spec{forward, task_state::deleted, std::nullopt, std::nullopt, gen_version()};
    f.backward =
        child_spec{backward, task_state::deleted, std::nullopt, std::nullopt, gen_version()};
    return f;
  }
  f.forward = gen_child(forward, std::nullopt);
  f.backward = gen_child(backward, f.forward.state);
  return f;
}

/// A registration batch without duplicate ids (children included), of 1 to `max` items.
inline std::vector<registration> gen_registrations(const model& m, std::size_t max) {
  const std::size_t n = pick<std::size_t>(1, max + 1);
  std::vector<registration> out;
  std::vector<job_id> used;
  auto fresh = [&](const std::vector<job_id>& ids) {
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (std::find(used.begin(), used.end(), ids[i]) != used.end()) return false;
      for (std::size_t j = 0; j < i; ++j) {
        if (ids[i] == ids[j]) return false;
      }
    }
    return true;
  };
  for (std::size_t k = 0; k < n * 3 && out.size() < n; ++k) {
    if (pick(0, 10) < 7) {
      const job_id id = gen_registration_id(m);
      if (!fresh({id})) continue;
      out.emplace_back(gen_task_spec(id));
      used.push_back(id);
    } else {
      const std::vector<job_id> ids{gen_registration_id(m), gen_registration_id(m),
                                    gen_registration_id(m)};
      if (!fresh(ids)) continue;
      out.emplace_back(gen_family_spec(ids[0], ids[1], ids[2]));
      used.insert(used.end(), ids.begin(), ids.end());
    }
  }
  if (out.empty()) {
    // Every draw collided: fall back to one task under the first unused pool id.
    for (const job_id& id : id_pool()) {
      if (!m.taken(id)) {
        out.emplace_back(gen_task_spec(id));
        break;
      }
    }
    if (out.empty()) out.emplace_back(gen_task_spec(id_pool().front()));
  }
  return out;
}

// -- Running a command against both ----------------------------------------------------

/// The model a command runs from: the harness's, whose changes carry the engine's batch
/// times. rapidcheck's own state (`generated`, which its apply() makes, without the engine)
/// has the same tasks, states and changes, only not their times.
inline const model& current(const model& generated, const harness& sut) {
  RC_ASSERT(generated.changes().size() == sut.model.changes().size());
  RC_ASSERT(generated.all_ids() == sut.model.all_ids());
  return sut.model;
}

/// The engine's clock around one call: the batch it made took its time in [before, after].
struct clock_bracket {
  wall_time before = wall_now();
  wall_time after{};
  void close() { after = wall_now(); }
};

/// Stamps the changes `m` made for one engine batch with the batch's time: the engine took
/// it inside `when` (milliseconds: usually one instant); otherwise it is read back from a
/// task the batch changed, and must lie inside (the registry's comparison then checks that
/// every change of the batch has it).
inline void stamp_batch(model& m, harness& sut, const clock_bracket& when) {
  wall_time at = when.before;
  if (m.unstamped() > 0 && when.after != when.before) {
    const test_model::change& first = m.changes()[m.changes().size() - m.unstamped()];
    error_code ec;
    const task_snapshot s = sut.eng.get(first.project, first.id, ec);
    if (ec) RC_FAIL("get " + show_id(first.id) + " after its change: " + show_error(ec));
    if (s.changed_at < when.before || s.changed_at > when.after) {
      RC_FAIL(fmt::format("{} changed at {}, outside the batch's [{}, {}]", show_id(first.id),
                          s.changed_at.time_since_epoch().count(),
                          when.before.time_since_epoch().count(),
                          when.after.time_since_epoch().count()));
    }
    at = s.changed_at;
  }
  m.stamp(at);
}

/// After a command: subscribers heard exactly the model's new changes, the engine's registry
/// equals the model's, and the harness remembers the model.
inline void check_after(const model& before, const model& after, harness& sut) {
  const auto& all = after.changes();
  const std::vector<test_model::change> want(
      all.begin() + static_cast<std::ptrdiff_t>(before.changes().size()), all.end());
  const std::string changes = diff_changes(want, sut.recorder.take_new());
  if (!changes.empty()) RC_FAIL(changes);
  const std::string registry = diff_registrations(after.export_all(), sut.eng.export_snapshot());
  if (!registry.empty()) RC_FAIL(registry);
  sut.model = after;
  ++coverage().commands;
}

inline void show_ids(std::ostream& os, const std::vector<job_id>& ids) {
  os << "[";
  for (std::size_t i = 0; i < ids.size(); ++i) os << (i ? " " : "") << show_id(ids[i]);
  os << "]";
}

// -- Commands ---------------------------------------------------------------------------

/// Registers standalone tasks and dual-active families in random states.
struct register_batch : command {
  std::vector<registration> items;

  explicit register_batch(const model& m) : items(gen_registrations(m, 4)) {}

  void apply(model& m) const override {
    for (const auto& r : items) m.add(r);
  }
  void run(const model& generated, harness& sut) const override {
    const model s0 = current(generated, sut);
    model m = s0;
    std::vector<job_id> ids;
    std::vector<error_code> want;
    for (const auto& r : items) {
      ids.push_back(id_of(r));
      want.push_back(m.add(r));
      coverage().note(std::string("register ") +
                      (std::holds_alternative<task_spec>(r) ? "task" : "family") +
                      (want.back() ? " -> task_exists" : " -> ok"));
    }
    error_code ec;
    const batch_result got = sut.eng.register_tasks(items, ec);
    if (ec) RC_FAIL("registration refused as a whole: " + show_error(ec));
    const std::string diff = diff_items(ids, want, got);
    if (!diff.empty()) RC_FAIL("register: " + diff);
    check_after(s0, m, sut);
  }
  void show(std::ostream& os) const override {
    os << "register {";
    for (const auto& r : items) os << "\n    " << show_spec(r);
    os << " }";
  }
};

/// batch-pause-task over known, unknown, other-project and parent ids, random modes.
struct pause_batch : command {
  project_id project;
  std::vector<pause_item> items;

  explicit pause_batch(const model& m) : project(gen_project()) {
    for (const job_id& id : gen_distinct_ids(m, project, 1, 8)) items.push_back({id, gen_mode()});
  }
  void apply(model& m) const override {
    for (const auto& it : items) m.pause(project, it.id, it.mode);
  }
  void run(const model& generated, harness& sut) const override {
    const model s0 = current(generated, sut);
    model m = s0;
    std::vector<job_id> ids;
    std::vector<error_code> want;
    for (const auto& it : items) {
      note_pause(m, it);
      ids.push_back(it.id);
      want.push_back(m.pause(project, it.id, it.mode));
    }
    error_code ec;
    clock_bracket when;
    const batch_result got = sut.eng.pause(project, items, ec);
    when.close();
    if (ec) RC_FAIL("pause refused as a whole: " + show_error(ec));
    const std::string diff = diff_items(ids, want, got);
    if (!diff.empty()) RC_FAIL("pause: " + diff);
    stamp_batch(m, sut, when);
    check_after(s0, m, sut);
  }
  void note_pause(const model& m, const pause_item& it) const {
    coverage().hit(m, project, it.id,
                   it.mode == pause_mode::target ? op_column::pause_target : op_column::pause_all);
    if (const test_model::task* t = m.find_task(project, it.id);
        t != nullptr && t->state == task_state::paused) {
      coverage().note(
          fmt::format("re-pause {} with {}", to_string(t->pause->mode), to_string(it.mode)));
    }
  }
  void show(std::ostream& os) const override {
    os << "pause " << show_project(project) << " [";
    for (std::size_t i = 0; i < items.size(); ++i) {
      os << (i ? " " : "") << show_id(items[i].id) << ":" << to_string(items[i].mode);
    }
    os << "]";
  }
};

/// batch-retry-task.
struct resume_batch : command {
  project_id project;
  std::vector<job_id> ids;

  explicit resume_batch(const model& m)
      : project(gen_project()), ids(gen_distinct_ids(m, project, 1, 8)) {}

  void apply(model& m) const override {
    for (const auto& id : ids) m.resume(project, id);
  }
  void run(const model& generated, harness& sut) const override {
    const model s0 = current(generated, sut);
    model m = s0;
    std::vector<error_code> want;
    for (const auto& id : ids) {
      coverage().hit(m, project, id, op_column::resume);
      if (const test_model::task* t = m.find_task(project, id);
          t != nullptr && t->state == task_state::paused) {
        coverage().note(fmt::format("resume paused from {}", to_string(t->pause->from)));
      }
      want.push_back(m.resume(project, id));
    }
    error_code ec;
    clock_bracket when;
    const batch_result got = sut.eng.resume(project, ids, ec);
    when.close();
    if (ec) RC_FAIL("resume refused as a whole: " + show_error(ec));
    const std::string diff = diff_items(ids, want, got);
    if (!diff.empty()) RC_FAIL("resume: " + diff);
    stamp_batch(m, sut, when);
    check_after(s0, m, sut);
  }
  void show(std::ostream& os) const override {
    os << "resume " << show_project(project) << " ";
    show_ids(os, ids);
  }
};

/// batch-starting: start now (no time, or one long past) or at a far time (a schedule, or a
/// reschedule of a waiting task), over known, unknown, other-project and parent ids.
struct start_batch : command {
  project_id project;
  std::vector<start_item> items;

  explicit start_batch(const model& m) : project(gen_project()) {
    for (const job_id& id : gen_distinct_ids(m, project, 1, 8)) {
      items.push_back({id, gen_start_item_time()});
    }
  }
  void apply(model& m) const override {
    const wall_time now = wall_now();
    for (const auto& it : items) m.start(project, it.id, it.start_time, now);
  }
  void run(const model& generated, harness& sut) const override {
    const model s0 = current(generated, sut);
    model m = s0;
    const wall_time now = wall_now();
    std::vector<job_id> ids;
    std::vector<error_code> want;
    for (const auto& it : items) {
      const bool scheduled = it.start_time && *it.start_time > now;
      coverage().hit(m, project, it.id, scheduled ? op_column::schedule : op_column::start);
      if (const test_model::task* t = m.find_task(project, it.id);
          t != nullptr && t->state == task_state::waiting_for_start) {
        coverage().note(!scheduled                       ? "start a waiting task now"
                        : t->start_time == it.start_time ? "reschedule at the same time"
                                                         : "reschedule at another time");
      }
      if (it.start_time == past_start) coverage().note("start with a time long past");
      ids.push_back(it.id);
      want.push_back(m.start(project, it.id, it.start_time, now));
    }
    error_code ec;
    clock_bracket when;
    const batch_result got = sut.eng.start_tasks(project, items, ec);
    when.close();
    if (ec) RC_FAIL("start refused as a whole: " + show_error(ec));
    const std::string diff = diff_items(ids, want, got);
    if (!diff.empty()) RC_FAIL("start: " + diff);
    stamp_batch(m, sut, when);
    check_after(s0, m, sut);
  }
  void show(std::ostream& os) const override {
    os << "start " << show_project(project) << " [";
    for (std::size_t i = 0; i < items.size(); ++i) {
      os << (i ? " " : "") << show_id(items[i].id);
      if (items[i].start_time) os << "@" << items[i].start_time->time_since_epoch().count();
    }
    os << "]";
  }
};

/// batch-jobs: terminate, force terminate or delete standalone tasks, and families through
/// their parents (both children at once, or neither); their children refuse.
struct delete_batch : command {
  project_id project;
  std::vector<delete_item> items;

  explicit delete_batch(const model& m) : project(gen_project()) {
    for (const job_id& id : gen_distinct_ids(m, project, 1, 8)) {
      items.push_back({id, gen_delete_type()});
    }
  }
  void apply(model& m) const override {
    for (const auto& it : items) m.delete_task(project, it.id, it.type);
  }
  void run(const model& generated, harness& sut) const override {
    const model s0 = current(generated, sut);
    model m = s0;
    std::vector<job_id> ids;
    std::vector<error_code> want;
    for (const auto& it : items) {
      coverage().hit(m, project, it.id, column_of(event_of(it.type)));
      const bool parent = m.classify(project, it.id) == test_model::target_kind::parent;
      ids.push_back(it.id);
      want.push_back(m.delete_task(project, it.id, it.type));
      if (parent) {
        coverage().note(fmt::format("{} family -> {}", to_string(it.type),
                                    want.back() ? "refused" : "both children"));
      }
    }
    error_code ec;
    clock_bracket when;
    const batch_result got = sut.eng.delete_tasks(project, items, ec);
    when.close();
    if (ec) RC_FAIL("delete refused as a whole: " + show_error(ec));
    const std::string diff = diff_items(ids, want, got);
    if (!diff.empty()) RC_FAIL("delete: " + diff);
    stamp_batch(m, sut, when);
    check_after(s0, m, sut);
  }
  void show(std::ostream& os) const override {
    os << "delete " << show_project(project) << " [";
    for (std::size_t i = 0; i < items.size(); ++i) {
      os << (i ? " " : "") << show_id(items[i].id) << ":" << to_string(items[i].type);
    }
    os << "]";
  }
};

/// Notes which case of a confirmation an item meets, for the coverage report.
inline void note_confirm(const model& m, const project_id& project, const job_id& id,
                         std::optional<task_event> named) {
  const test_model::task* t = m.find_task(project, id);
  if (t == nullptr || t->state == task_state::deleted) return;
  const char* naming = named ? "named" : "unnamed";
  if (!t->awaiting) {
    coverage().note(fmt::format("confirm ({}) awaiting nothing", naming));
  } else if (!named || *named == *t->awaiting) {
    coverage().note(fmt::format("confirm ({}) {}", naming, to_string(*t->awaiting)));
  } else {
    coverage().note("confirm named another command");
  }
}

/// Worker events.
struct report_batch : command {
  project_id project;
  std::vector<event_item> items;

  explicit report_batch(const model& m) : project(gen_project()) {
    for (const job_id& id : gen_distinct_ids(m, project, 1, 8)) {
      // Now and then the worker's confirmation, of whichever command the task awaits.
      items.push_back({id, pick(0, 8) == 0
                               ? task_event::confirm
                               : worker_events()[pick<std::size_t>(0, worker_events().size())]});
    }
  }
  void apply(model& m) const override {
    for (const auto& it : items) m.report(project, it.id, it.event);
  }
  void run(const model& generated, harness& sut) const override {
    const model s0 = current(generated, sut);
    model m = s0;
    std::vector<job_id> ids;
    std::vector<error_code> want;
    for (const auto& it : items) {
      coverage().hit(m, project, it.id, column_of(it.event));
      if (it.event == task_event::confirm) note_confirm(m, project, it.id, std::nullopt);
      ids.push_back(it.id);
      want.push_back(m.report(project, it.id, it.event));
    }
    error_code ec;
    clock_bracket when;
    const batch_result got = sut.eng.report(project, items, ec);
    when.close();
    if (ec) RC_FAIL("report refused as a whole: " + show_error(ec));
    const std::string diff = diff_items(ids, want, got);
    if (!diff.empty()) RC_FAIL("report: " + diff);
    stamp_batch(m, sut, when);
    check_after(s0, m, sut);
  }
  void show(std::ostream& os) const override {
    os << "report " << show_project(project) << " [";
    for (std::size_t i = 0; i < items.size(); ++i) {
      os << (i ? " " : "") << show_id(items[i].id) << ":" << to_string(items[i].event);
    }
    os << "]";
  }
};

/// Workers' reports (engine::worker_report): confirmations of the command a task awaits,
/// unnamed or naming it, naming another one, or for a task awaiting nothing; now and then
/// another worker event, or figures alone, with or without figures alongside.
struct worker_report_batch : command {
  project_id project;
  std::vector<report_item> items;

  explicit worker_report_batch(const model& m) : project(gen_project()) {
    for (const job_id& id : gen_distinct_ids(m, project, 1, 8)) {
      report_item item{id, task_event::confirm, std::nullopt, std::nullopt};
      const test_model::task* t = m.find_task(project, id);
      const int roll = pick(0, 20);
      if (roll < 8) {
        // the command the task awaits, when it awaits one
        if (t != nullptr && t->awaiting) item.confirms = t->awaiting;
      } else if (roll < 12) {
        item.confirms = gen_awaitable();  // often another command than the awaited one
      } else if (roll < 15) {
        // unnamed: whichever the task awaits
      } else if (roll < 18) {
        item.event = worker_events()[pick<std::size_t>(0, worker_events().size())];
      } else {
        item.event.reset();  // figures alone
      }
      if (!item.event || pick(0, 4) == 0) {
        item.figures = transfer_figures{static_cast<std::uint8_t>(pick(0, 101)),
                                        std::chrono::milliseconds(pick(0, 5000))};
      }
      items.push_back(item);
    }
  }
  void apply(model& m) const override {
    for (const auto& it : items) m.worker_report(project, it);
  }
  void run(const model& generated, harness& sut) const override {
    const model s0 = current(generated, sut);
    model m = s0;
    std::vector<job_id> ids;
    std::vector<error_code> want;
    for (const auto& it : items) {
      if (it.event) coverage().hit(m, project, it.id, column_of(*it.event));
      if (it.event == task_event::confirm) note_confirm(m, project, it.id, it.confirms);
      if (!it.event) coverage().note("report figures alone");
      ids.push_back(it.id);
      want.push_back(m.worker_report(project, it));
    }
    error_code ec;
    clock_bracket when;
    const batch_result got = sut.eng.worker_report(project, items, ec);
    when.close();
    if (ec) RC_FAIL("worker report refused as a whole: " + show_error(ec));
    const std::string diff = diff_items(ids, want, got);
    if (!diff.empty()) RC_FAIL("worker report: " + diff);
    stamp_batch(m, sut, when);
    check_after(s0, m, sut);
  }
  void show(std::ostream& os) const override {
    os << "worker report " << show_project(project) << " [";
    for (std::size_t i = 0; i < items.size(); ++i) {
      const report_item& it = items[i];
      os << (i ? " " : "") << show_id(it.id) << ":" << (it.event ? to_string(*it.event) : "-");
      if (it.confirms) os << "(" << to_string(*it.confirms) << ")";
      if (it.figures) os << "+" << static_cast<int>(it.figures->progress) << "%";
    }
    os << "]";
  }
};

/// Purge of DELETED tasks and families.
struct purge_batch : command {
  project_id project;
  std::vector<job_id> ids;

  explicit purge_batch(const model& m)
      : project(gen_project()), ids(gen_distinct_ids(m, project, 1, 8)) {}

  void apply(model& m) const override {
    for (const auto& id : ids) m.purge(project, id);
  }
  void run(const model& generated, harness& sut) const override {
    const model s0 = current(generated, sut);
    model m = s0;
    std::vector<error_code> want;
    for (const auto& id : ids) {
      coverage().hit(m, project, id, op_column::purge);
      const bool parent = m.classify(project, id) == test_model::target_kind::parent;
      want.push_back(m.purge(project, id));
      if (parent && !want.back()) coverage().note("purge family -> ok");
    }
    // A child listed with its parent, whose purge succeeds, may be reached before the purge
    // (child_task_forbidden) or after it (task_not_found): a batch is not atomic across
    // tasks, and its items run in no promised order.
    std::vector<std::optional<error_code>> also(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const test_model::task* t = s0.find_task(project, ids[i]);
      if (t == nullptr || !t->parent) continue;
      for (std::size_t j = 0; j < ids.size(); ++j) {
        if (ids[j] == *t->parent && !want[j]) {
          also[i] = want[i] == errc::child_task_forbidden ? errc::task_not_found
                                                          : errc::child_task_forbidden;
          coverage().note("purge family with its child in one batch");
        }
      }
    }
    error_code ec;
    const batch_result got = sut.eng.purge(project, ids, ec);
    if (ec) RC_FAIL("purge refused as a whole: " + show_error(ec));
    const std::string diff = diff_items(ids, want, got, also);
    if (!diff.empty()) RC_FAIL("purge: " + diff);
    check_after(s0, m, sut);
  }
  void show(std::ostream& os) const override {
    os << "purge " << show_project(project) << " ";
    show_ids(os, ids);
  }
};

/// batch-status: states (a parent's aggregate) or task_not_found, in request order.
struct status_batch : command {
  project_id project;
  std::vector<job_id> ids;

  explicit status_batch(const model& m)
      : project(gen_project()), ids(gen_distinct_ids(m, project, 1, 8)) {}

  void run(const model& generated, harness& sut) const override {
    const model s0 = current(generated, sut);
    std::string diff;
    error_code ec;
    const std::vector<status_result> got = sut.eng.status(project, ids, ec);
    if (ec) RC_FAIL("status refused as a whole: " + show_error(ec));
    if (got.size() != ids.size())
      diff += fmt::format("{} results for {} ids\n", got.size(), ids.size());
    for (std::size_t i = 0; i < std::min(got.size(), ids.size()); ++i) {
      coverage().hit(s0, project, ids[i], op_column::status);
      const status_result want = s0.status(project, ids[i]);
      if (got[i].id != want.id || got[i].error != want.error ||
          (!want.error && got[i].state != want.state)) {
        diff += fmt::format("item {} ({}): engine {} {} / model {} {}\n", i, show_id(ids[i]),
                            show_error(got[i].error), got[i].error ? "" : to_string(got[i].state),
                            show_error(want.error), want.error ? "" : to_string(want.state));
      }
    }
    if (!diff.empty()) RC_FAIL("status: " + diff);
    check_after(s0, s0, sut);
  }
  void show(std::ostream& os) const override {
    os << "status " << show_project(project) << " ";
    show_ids(os, ids);
  }
};

/// One task's snapshot.
struct get_one : command {
  project_id project;
  std::vector<job_id> ids;

  explicit get_one(const model& m)
      : project(gen_project()), ids(gen_distinct_ids(m, project, 1, 3)) {}

  void run(const model& generated, harness& sut) const override {
    const model s0 = current(generated, sut);
    for (const job_id& id : ids) {
      coverage().hit(s0, project, id, op_column::get);
      error_code ec;
      const task_snapshot got = sut.eng.get(project, id, ec);
      const std::optional<task_snapshot> want = s0.get(project, id);
      if (!want) {
        if (ec != errc::task_not_found) {
          RC_FAIL("get " + show_id(id) + ": " + show_error(ec) + ", model: task_not_found");
        }
      } else {
        if (ec) RC_FAIL("get: " + show_error(ec) + ", model: " + show_snapshot(*want));
        if (!(got == *want)) {
          RC_FAIL("get: engine " + show_snapshot(got) + "\n     model  " + show_snapshot(*want));
        }
      }
    }
    check_after(s0, s0, sut);
  }
  void show(std::ostream& os) const override {
    os << "get " << show_project(project) << " ";
    show_ids(os, ids);
  }
};

/// list(A), list(B), count() and the event feed of both projects against the model.
struct observe : command {
  explicit observe(const model&) {}

  void run(const model& generated, harness& sut) const override {
    const model s0 = current(generated, sut);
    for (const project_id& p : {project_a(), project_b()}) {
      const std::string diff = diff_snapshots(s0.list(p), sut.eng.list(p));
      if (!diff.empty()) RC_FAIL("list " + show_project(p) + ": " + diff);
    }
    const state_counts got = sut.eng.count();
    const state_counts want = s0.count();
    if (got.tasks != want.tasks || got.families != want.families || got.awaiting != want.awaiting ||
        got.awaiting_since != want.awaiting_since) {
      std::string out = "count differs (state: engine/model):";
      for (task_state s : all_task_states) {
        out += fmt::format(" {}={}/{}", to_string(s), got[s], want[s]);
      }
      const auto since = [](const std::optional<wall_time>& t) {
        return t ? fmt::format("{}", t->time_since_epoch().count()) : std::string("-");
      };
      out += fmt::format(" families={}/{} awaiting={}/{} since {}/{}", got.families, want.families,
                         got.awaiting, want.awaiting, since(got.awaiting_since),
                         since(want.awaiting_since));
      RC_FAIL(out);
    }
    if (const std::string feed = check_feed(s0, sut.eng); !feed.empty()) RC_FAIL(feed);
    check_after(s0, s0, sut);
  }
  void show(std::ostream& os) const override { os << "observe (list A, list B, count, feed)"; }
};

/// A batch the engine must refuse as a whole, changing nothing.
struct rejected_batch : command {
  enum class target : std::uint8_t {
    pause,
    resume,
    report,
    purge,
    status,
    start,
    remove,  ///< batch-jobs
    registration,
    worker_report,
  };
  enum class fault : std::uint8_t {
    empty,                    ///< no items
    duplicate,                ///< the same id twice (children included, for a registration)
    too_large,                ///< more than max_batch_items
    too_large_and_duplicate,  ///< the limit is checked before the items
    not_worker_event,         ///< a command or the schedule's event reported as a worker's
    inconsistent_spec,        ///< pause info or a start time that does not match the state
    family_reuses_own_id,     ///< a family naming one id twice
    invalid_item,             ///< a pause mode or a delete type outside its enum
    bad_confirmation,         ///< naming a command not awaited by a worker, or not confirming
    bad_figures,              ///< a report of neither event nor figures, or progress over 100
  };

  target on = target::pause;
  fault why = fault::empty;
  project_id project;
  std::vector<job_id> ids;                       // every command
  std::vector<pause_mode> modes;                 // pause
  std::vector<task_event> events;                // report
  std::vector<std::optional<wall_time>> starts;  // start
  std::vector<delete_type> types;                // batch-jobs
  std::vector<registration> specs;               // registration
  std::vector<report_item> reports;              // worker report
  std::vector<error_code> acceptable;

  explicit rejected_batch(const model& m) : project(gen_project()) {
    on = static_cast<target>(pick(0, 9));
    if (on == target::registration) {
      make_registration(m);
    } else {
      make_command(m);
    }
  }

  void make_command(const model& m) {
    const std::size_t max = test_options().max_batch_items;
    std::vector<fault> faults{fault::empty, fault::duplicate, fault::too_large,
                              fault::too_large_and_duplicate};
    if (on == target::report || on == target::worker_report) {
      faults.push_back(fault::not_worker_event);
    }
    if (on == target::pause || on == target::remove) faults.push_back(fault::invalid_item);
    if (on == target::worker_report) {
      faults.push_back(fault::bad_confirmation);
      faults.push_back(fault::bad_figures);
    }
    why = faults[pick<std::size_t>(0, faults.size())];
    switch (why) {
      case fault::empty:
        acceptable = {errc::empty_batch};
        break;
      case fault::duplicate:
        ids = gen_distinct_ids(m, project, 1, max - 1);
        add_duplicate();
        acceptable = {errc::duplicate_job_id};
        break;
      case fault::too_large:
        ids = gen_distinct_ids(m, project, max + 1, max + 4);
        acceptable = {errc::batch_too_large};
        break;
      case fault::too_large_and_duplicate:
        ids = gen_distinct_ids(m, project, max, max + 3);
        add_duplicate();
        acceptable = {errc::batch_too_large};
        break;
      case fault::invalid_item:
      case fault::bad_confirmation:
      case fault::bad_figures:
        ids = gen_distinct_ids(m, project, 1, max);
        acceptable = {errc::invalid_item};
        break;
      default:
        ids = gen_distinct_ids(m, project, 1, max);
        acceptable = {errc::not_a_worker_event};
        break;
    }
    for (std::size_t i = 0; i < ids.size(); ++i) {
      modes.push_back(gen_mode());
      events.push_back(worker_events()[pick<std::size_t>(0, worker_events().size())]);
      starts.push_back(gen_start_item_time());
      types.push_back(gen_delete_type());
    }
    if (why == fault::not_worker_event) {
      const auto k = pick<std::size_t>(0, events.size());
      events[k] = not_worker_events()[pick<std::size_t>(0, not_worker_events().size())];
    }
    if (why == fault::invalid_item) {
      const auto k = pick<std::size_t>(0, ids.size());
      const int bad = pick(0, 2) == 0 ? 0xff : (on == target::pause ? 2 : 3);
      modes[k] = static_cast<pause_mode>(bad);
      types[k] = static_cast<delete_type>(bad);
    }
    // A worker report's items: confirmations, named or not, or the events above.
    for (std::size_t i = 0; i < ids.size(); ++i) {
      report_item r{ids[i], events[i], std::nullopt, std::nullopt};
      if (pick(0, 2) == 0) {
        r.event = task_event::confirm;
        if (pick(0, 2) == 0) r.confirms = gen_awaitable();
      }
      if (pick(0, 3) == 0) r.figures = transfer_figures{100, std::chrono::milliseconds(1)};
      reports.push_back(r);
    }
    if (why == fault::not_worker_event) {
      const auto k = pick<std::size_t>(0, reports.size());
      reports[k].event = not_worker_events()[pick<std::size_t>(0, not_worker_events().size())];
      reports[k].confirms.reset();
    }
    if (why == fault::bad_confirmation) {
      // Only a confirmation names a command, and only one a worker carries out.
      static const std::vector<task_event> not_awaited{
          task_event::remove,           task_event::schedule_start,
          task_event::confirm,          task_event::stopped,
          task_event::start_succeeded,  static_cast<task_event>(task_event_count),
          static_cast<task_event>(0xff)};
      report_item& r = reports[pick<std::size_t>(0, reports.size())];
      if (pick(0, 2) == 0) {
        r.event = task_event::confirm;
        r.confirms = not_awaited[pick<std::size_t>(0, not_awaited.size())];
      } else {
        r.event = pick(0, 2) == 0 ? std::optional<task_event>()
                                  : worker_events()[pick<std::size_t>(0, worker_events().size())];
        r.confirms = gen_awaitable();
        if (!r.event) r.figures = transfer_figures{1, std::chrono::milliseconds(1)};
      }
    }
    if (why == fault::bad_figures) {
      report_item& r = reports[pick<std::size_t>(0, reports.size())];
      r.confirms.reset();
      if (pick(0, 2) == 0) {
        r.event.reset();  // nothing reported at all
        r.figures.reset();
      } else {
        r.figures = transfer_figures{static_cast<std::uint8_t>(pick(101, 256)),
                                     std::chrono::milliseconds(0)};
      }
    }
  }

  void add_duplicate() {
    const auto from = pick<std::size_t>(0, ids.size());
    const auto at = pick<std::size_t>(from + 1, ids.size() + 1);
    ids.insert(ids.begin() + static_cast<std::ptrdiff_t>(at), ids[from]);
  }

  void make_registration(const model& m) {
    specs = gen_registrations(m, 3);
    why = static_cast<fault>(pick(0, 3) + 1);  // duplicate, too_large -> spec, self
    if (why == fault::too_large) why = fault::inconsistent_spec;
    if (why == fault::duplicate) {
      std::vector<job_id> used;
      for (const auto& r : specs) {
        used.push_back(id_of(r));
        if (const auto* f = std::get_if<family_spec>(&r)) {
          used.push_back(f->forward.id);
          used.push_back(f->backward.id);
        }
      }
      const job_id again = used[pick<std::size_t>(0, used.size())];
      std::vector<job_id> spare;  // ids not used by the batch, for the rest of the extra item
      for (const job_id& id : id_pool()) {
        if (std::find(used.begin(), used.end(), id) == used.end()) spare.push_back(id);
      }
      const auto x = pick<std::size_t>(0, spare.size() - 1);
      const job_id a = spare[x];
      const job_id b = spare[pick<std::size_t>(x + 1, spare.size())];
      registration extra;
      switch (pick(0, 4)) {
        case 0:
          extra = gen_task_spec(again);
          break;
        case 1:
          extra = gen_family_spec(again, a, b);
          break;
        case 2:
          extra = gen_family_spec(a, again, b);
          break;
        default:
          extra = gen_family_spec(a, b, again);
          break;
      }
      acceptable = {errc::duplicate_job_id};
      specs.insert(
          specs.begin() + static_cast<std::ptrdiff_t>(pick<std::size_t>(0, specs.size() + 1)),
          extra);
    } else if (why == fault::inconsistent_spec) {
      auto& r = specs[pick<std::size_t>(0, specs.size())];
      auto spoil = [](task_state& state, std::optional<pause_info>& pause,
                      std::optional<wall_time>& start_time, std::optional<task_event>& awaiting) {
        switch (pick(0, 7)) {
          case 0:  // paused without pause info
            state = task_state::paused;
            pause.reset();
            break;
          case 1:  // pause info on a task that is not paused
            while (state == task_state::paused) state = gen_state();
            pause = pause_info{gen_mode(), pausable_states()[0]};
            break;
          case 2: {  // paused from a state that cannot be paused
            state = task_state::paused;
            task_state from = gen_state();
            while (test_model::pausable(from)) from = gen_state();
            pause = pause_info{gen_mode(), from};
            start_time.reset();
            break;
          }
          case 3:  // waiting for start without a start time
            state = task_state::waiting_for_start;
            pause.reset();
            start_time.reset();
            break;
          case 4:  // a start time on a task that is not waiting
            while (state == task_state::waiting_for_start) state = gen_state();
            pause = gen_pause_for(state);
            start_time = gen_far_start();
            break;
          case 5: {  // awaiting an event no worker carries out or confirms
            static const std::vector<task_event> not_awaited{
                task_event::remove,          task_event::schedule_start,
                task_event::confirm,         task_event::stopped,
                task_event::transfer_failed, static_cast<task_event>(task_event_count)};
            awaiting = not_awaited[pick<std::size_t>(0, not_awaited.size())];
            break;
          }
          default:  // waiting for a start time that is not after the epoch
            state = task_state::waiting_for_start;
            pause.reset();
            start_time = wall_time{} - std::chrono::milliseconds(pick(0, 2));
            break;
        }
      };
      if (auto* t = std::get_if<task_spec>(&r)) {
        spoil(t->state, t->pause, t->start_time, t->awaiting);
      } else {
        auto& f = std::get<family_spec>(r);
        if (pick(0, 2) == 0) {
          spoil(f.forward.state, f.forward.pause, f.forward.start_time, f.forward.awaiting);
        } else {
          spoil(f.backward.state, f.backward.pause, f.backward.start_time, f.backward.awaiting);
        }
      }
      acceptable = {errc::invalid_task_spec};
    } else {
      why = fault::family_reuses_own_id;
      const job_id a = gen_registration_id(m);
      const job_id b = gen_registration_id(m);
      family_spec f;
      switch (pick(0, 3)) {
        case 0:
          f = gen_family_spec(a, b, b);
          break;
        case 1:
          f = gen_family_spec(a, a, b);
          break;
        default:
          f = gen_family_spec(a, b, a);
          break;
      }
      specs.emplace_back(f);
      acceptable = {errc::duplicate_job_id, errc::invalid_task_spec};
    }
  }

  static const char* name_of(target t) {
    static constexpr std::array<const char*, 9> names{"pause",  "resume",   "report",
                                                      "purge",  "status",   "start",
                                                      "delete", "register", "worker report"};
    return names[static_cast<std::size_t>(t)];
  }
  static const char* name_of(fault f) {
    static constexpr std::array<const char*, 10> names{"empty",
                                                       "duplicate",
                                                       "too_large",
                                                       "too_large+duplicate",
                                                       "not_worker_event",
                                                       "inconsistent_spec",
                                                       "family_reuses_own_id",
                                                       "invalid_item",
                                                       "bad_confirmation",
                                                       "bad_figures"};
    return names[static_cast<std::size_t>(f)];
  }

  error_code call(harness& sut, std::size_t& results) const {
    error_code ec;
    switch (on) {
      case target::pause: {
        std::vector<pause_item> items;
        for (std::size_t i = 0; i < ids.size(); ++i) items.push_back({ids[i], modes[i]});
        results = sut.eng.pause(project, items, ec).size();
        break;
      }
      case target::resume:
        results = sut.eng.resume(project, ids, ec).size();
        break;
      case target::report: {
        std::vector<event_item> items;
        for (std::size_t i = 0; i < ids.size(); ++i) items.push_back({ids[i], events[i]});
        results = sut.eng.report(project, items, ec).size();
        break;
      }
      case target::purge:
        results = sut.eng.purge(project, ids, ec).size();
        break;
      case target::start: {
        std::vector<start_item> items;
        for (std::size_t i = 0; i < ids.size(); ++i) items.push_back({ids[i], starts[i]});
        results = sut.eng.start_tasks(project, items, ec).size();
        break;
      }
      case target::remove: {
        std::vector<delete_item> items;
        for (std::size_t i = 0; i < ids.size(); ++i) items.push_back({ids[i], types[i]});
        results = sut.eng.delete_tasks(project, items, ec).size();
        break;
      }
      case target::status:
        results = sut.eng.status(project, ids, ec).size();
        break;
      case target::registration:
        results = sut.eng.register_tasks(specs, ec).size();
        break;
      case target::worker_report:
        results = sut.eng.worker_report(project, reports, ec).size();
        break;
    }
    return ec;
  }

  void run(const model& generated, harness& sut) const override {
    const model s0 = current(generated, sut);
    coverage().note(fmt::format("rejected {} {}", name_of(on), name_of(why)));
    const std::vector<registration> before = sut.eng.export_snapshot();
    std::size_t results = 0;
    const error_code ec = call(sut, results);
    if (std::find(acceptable.begin(), acceptable.end(), ec) == acceptable.end()) {
      std::string want;
      for (const auto& a : acceptable) want += " " + show_error(a);
      RC_FAIL(fmt::format("{} batch ({}): engine answered {}, expected one of{}", name_of(on),
                          name_of(why), show_error(ec), want));
    }
    if (results != 0) RC_FAIL(fmt::format("a refused batch returned {} results", results));
    const std::string changed = diff_registrations(before, sut.eng.export_snapshot());
    if (!changed.empty()) RC_FAIL("a refused batch changed the registry: " + changed);
    check_after(s0, s0, sut);
  }

  void show(std::ostream& os) const override {
    os << "refused " << name_of(on) << " (" << name_of(why) << ") " << show_project(project) << " ";
    if (on == target::registration) {
      os << "{";
      for (const auto& r : specs) os << "\n    " << show_spec(r);
      os << " }";
    } else if (on == target::report) {
      os << "[";
      for (std::size_t i = 0; i < ids.size(); ++i) {
        os << (i ? " " : "") << show_id(ids[i]) << ":" << to_string(events[i]);
      }
      os << "]";
    } else if (on == target::worker_report) {
      os << "[";
      for (std::size_t i = 0; i < reports.size(); ++i) {
        const report_item& r = reports[i];
        os << (i ? " " : "") << show_id(r.id) << ":" << (r.event ? to_string(*r.event) : "-");
        if (r.confirms) os << "(" << static_cast<int>(*r.confirms) << ")";
        if (r.figures) os << "+" << static_cast<int>(r.figures->progress) << "%";
      }
      os << "]";
    } else if (on == target::pause) {
      os << "[";
      for (std::size_t i = 0; i < ids.size(); ++i) {
        os << (i ? " " : "") << show_id(ids[i]) << ":" << static_cast<int>(modes[i]);
      }
      os << "]";
    } else if (on == target::remove) {
      os << "[";
      for (std::size_t i = 0; i < ids.size(); ++i) {
        os << (i ? " " : "") << show_id(ids[i]) << ":" << static_cast<int>(types[i]);
      }
      os << "]";
    } else {
      show_ids(os, ids);
    }
  }
};

/// Subscribes a new recorder in the middle of a sequence.
struct subscribe_late : command {
  explicit subscribe_late(const model&) {}

  void run(const model& generated, harness& sut) const override {
    const model s0 = current(generated, sut);
    auto late = std::make_unique<late_subscriber>();
    late->model_changes_before = s0.changes().size();
    late->sub = sut.eng.subscribe(late->recorder.callback());
    sut.late.push_back(std::move(late));
    check_after(s0, s0, sut);
  }
  void show(std::ostream& os) const override { os << "subscribe (late)"; }
};

// -- The command mix --------------------------------------------------------------------

/// Relative weights of the commands in generated sequences.
struct command_mix {
  std::size_t registration = 4, pause = 4, resume = 3, report = 6, purge = 2, status = 2, get = 2,
              observe = 1, rejected = 2, late_subscriber = 0, start = 3, remove = 3,
              worker_report = 3;
};

/// The generation function of rc::state::check for a given mix: picks a kind of command by
/// weight, then builds it from the model.
inline auto generate_command(command_mix mix) {
  return [mix](const model& m) {
    return rc::gen::exec([mix, m]() -> command_ptr {
      const std::array<std::size_t, 13> weights{
          mix.registration, mix.pause,   mix.resume,   mix.report, mix.purge,  mix.status,
          mix.get,          mix.observe, mix.rejected, mix.start,  mix.remove, mix.late_subscriber,
          mix.worker_report};
      std::size_t total = 0;
      for (std::size_t w : weights) total += w;
      std::size_t roll = pick<std::size_t>(0, total);
      std::size_t kind = 0;
      while (roll >= weights[kind]) roll -= weights[kind++];
      switch (kind) {
        case 0:
          return std::make_shared<const register_batch>(m);
        case 1:
          return std::make_shared<const pause_batch>(m);
        case 2:
          return std::make_shared<const resume_batch>(m);
        case 3:
          return std::make_shared<const report_batch>(m);
        case 4:
          return std::make_shared<const purge_batch>(m);
        case 5:
          return std::make_shared<const status_batch>(m);
        case 6:
          return std::make_shared<const get_one>(m);
        case 7:
          return std::make_shared<const observe>(m);
        case 8:
          return std::make_shared<const rejected_batch>(m);
        case 9:
          return std::make_shared<const start_batch>(m);
        case 10:
          return std::make_shared<const delete_batch>(m);
        case 11:
          return std::make_shared<const subscribe_late>(m);
        default:
          return std::make_shared<const worker_report_batch>(m);
      }
    });
  };
}

}  // namespace taskorch::property
