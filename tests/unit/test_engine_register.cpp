#include <taskorch/engine.hpp>

// Helpers shared by the engine tests.
#include "engine_test_support.hpp"

#include <boost/system/system_error.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <vector>

namespace taskorch::test {
namespace {

using S = task_state;

// -- construction -------------------------------------------------------------------------

TEST(EngineOptions, ResolvesZerosAndKeepsLimits) {
  engine eng({.threads = 0, .shards = 0, .max_batch_items = 17});
  EXPECT_GE(eng.options().threads, 1U);
  EXPECT_EQ(eng.options().shards, eng.options().threads);
  EXPECT_EQ(eng.options().max_batch_items, 17U);
}

TEST(EngineOptions, KeepsExplicitSizes) {
  engine eng(small_options());
  EXPECT_EQ(eng.options().threads, 2U);
  EXPECT_EQ(eng.options().shards, 4U);
  EXPECT_EQ(eng.options().max_batch_items, engine_options().max_batch_items);
}

TEST(EngineOptions, RefusesTooManyShards) {
  EXPECT_THROW(engine({.threads = 1, .shards = 65536}), std::invalid_argument);
  engine ok({.threads = 1, .shards = 65535});
  EXPECT_EQ(ok.options().shards, 65535U);
}

TEST(EngineOptions, RefusesBatchLimitsBeyond32BitIndices) {
  EXPECT_THROW(engine({.threads = 1, .max_batch_items = 0xffff'ffffULL}), std::invalid_argument);
  engine ok({.threads = 1, .max_batch_items = 0xffff'fffeULL});
  EXPECT_EQ(ok.options().max_batch_items, 0xffff'fffeULL);
}

// -- registering standalone tasks ---------------------------------------------------------

TEST(EngineRegister, RegistersASingleTask) {
  engine eng(small_options());
  task_spec t = make_task(S::incremental_transfer, task_kind::sync);
  t.name = "orders";
  t.version = 41;
  const batch_result r = eng.register_tasks({t});
  expect_all_ok(r, {t.id});

  const task_snapshot s = snap(eng, t.id);
  EXPECT_EQ(s.id, t.id);
  EXPECT_EQ(s.project, kProject);
  EXPECT_EQ(s.name, "orders");
  EXPECT_EQ(s.kind, task_kind::sync);
  EXPECT_EQ(s.role, task_role::standalone);
  EXPECT_EQ(s.state, S::incremental_transfer);
  EXPECT_FALSE(s.pause);
  EXPECT_FALSE(s.parent);
  EXPECT_FALSE(s.forward_child);
  EXPECT_FALSE(s.backward_child);
  EXPECT_EQ(s.version, 41U);
}

TEST(EngineRegister, RegistersEveryStateAndKind) {
  engine eng(small_options());
  std::vector<task_spec> specs;
  for (task_state s : all_task_states) {
    for (task_kind k : {task_kind::migration, task_kind::sync, task_kind::cloud_data_guard}) {
      specs.push_back(make_task(s, k));
    }
  }
  register_ok(eng, registrations(specs));
  for (const task_spec& t : specs) {
    const task_snapshot s = snap(eng, t.id);
    EXPECT_EQ(s.state, t.state);
    EXPECT_EQ(s.kind, t.kind);
    EXPECT_EQ(s.pause, t.pause);
    EXPECT_EQ(s.start_time, t.start_time);
  }
}

TEST(EngineRegister, RegistersPausedTasksFromEveryPausableStateAndMode) {
  engine eng(small_options());
  std::vector<task_spec> specs;
  for (task_state from : pausable_states()) {
    for (pause_mode m : {pause_mode::target, pause_mode::all})
      specs.push_back(make_paused_task(from, m));
  }
  register_ok(eng, registrations(specs));
  for (const task_spec& t : specs) {
    const task_snapshot s = snap(eng, t.id);
    EXPECT_EQ(s.state, S::paused);
    ASSERT_TRUE(s.pause);
    EXPECT_EQ(*s.pause, *t.pause);
  }
}

TEST(EngineRegister, ResultsComeInRequestOrder) {
  engine eng(small_options());
  std::vector<task_spec> specs;
  for (int i = 0; i < 200; ++i) specs.push_back(make_task(S::full_transfer));
  const batch_result r = eng.register_tasks(registrations(specs));
  expect_all_ok(r, ids_of(specs));
}

TEST(EngineRegister, TakenIdFailsPerItemWithTaskExists) {
  engine eng(small_options());
  const task_spec original = make_task(S::incremental_transfer);
  register_ok(eng, {original});

  task_spec clash = original;
  clash.state = S::configuration;
  clash.name = "clash";
  const task_spec before = make_task(S::configuration);
  const task_spec after = make_task(S::stopped);
  const batch_result r = eng.register_tasks({before, clash, after});
  ASSERT_EQ(r.size(), 3U);
  EXPECT_EQ(r[0].id, before.id);
  EXPECT_FALSE(r[0].error);
  EXPECT_EQ(r[1].id, original.id);
  EXPECT_EQ(r[1].error, errc::task_exists);
  EXPECT_EQ(r[2].id, after.id);
  EXPECT_FALSE(r[2].error);

  const task_snapshot s = snap(eng, original.id);
  EXPECT_EQ(s.state, S::incremental_transfer);
  EXPECT_EQ(s.name, "");
  EXPECT_EQ(state_of(eng, before.id), S::configuration);
  EXPECT_EQ(state_of(eng, after.id), S::stopped);
}

TEST(EngineRegister, TakenIdOfAnotherProjectFailsToo) {
  engine eng(small_options());
  const task_spec original = make_task(S::configuration, task_kind::sync, kOtherProject);
  register_ok(eng, {original});
  task_spec mine = original;
  mine.project = kProject;
  const batch_result r = eng.register_tasks({mine});
  ASSERT_EQ(r.size(), 1U);
  EXPECT_EQ(r[0].error, errc::task_exists);
  EXPECT_EQ(get_error(eng, original.id), errc::task_not_found);
  EXPECT_EQ(snap(eng, original.id, kOtherProject).project, kOtherProject);
}

TEST(EngineRegister, DuplicateIdRefusesTheWholeBatch) {
  engine eng(small_options());
  const task_spec a = make_task();
  const task_spec b = make_task();
  error_code ec;
  const batch_result r = eng.register_tasks({a, b, a}, ec);
  EXPECT_EQ(ec, errc::duplicate_job_id);
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(get_error(eng, a.id), errc::task_not_found);
  EXPECT_EQ(get_error(eng, b.id), errc::task_not_found);
  EXPECT_EQ(eng.count().total(), 0U);
}

TEST(EngineRegister, DuplicateIdThrowsFromTheThrowingWrapper) {
  engine eng(small_options());
  const task_spec a = make_task();
  try {
    eng.register_tasks({a, a});
    FAIL() << "expected a system_error";
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), errc::duplicate_job_id);
  }
  EXPECT_EQ(get_error(eng, a.id), errc::task_not_found);
}

TEST(EngineRegister, DuplicateAcrossFamilyChildrenRefusesTheWholeBatch) {
  engine eng(small_options());
  const task_spec t = make_task();
  family_spec f = make_family();
  f.backward.id = t.id;  // a child naming a task of the same batch
  error_code ec;
  eng.register_tasks({t, f}, ec);
  EXPECT_EQ(ec, errc::duplicate_job_id);
  EXPECT_EQ(get_error(eng, t.id), errc::task_not_found);
  EXPECT_EQ(get_error(eng, f.id), errc::task_not_found);

  // Two families sharing a child.
  family_spec g = make_family();
  family_spec h = make_family();
  h.forward.id = g.backward.id;
  eng.register_tasks({g, h}, ec);
  EXPECT_EQ(ec, errc::duplicate_job_id);
  EXPECT_EQ(get_error(eng, g.id), errc::task_not_found);
  EXPECT_EQ(get_error(eng, h.id), errc::task_not_found);

  // A family whose child is another family's parent.
  family_spec k = make_family();
  family_spec m = make_family();
  m.forward.id = k.id;
  eng.register_tasks({k, m}, ec);
  EXPECT_EQ(ec, errc::duplicate_job_id);
  EXPECT_EQ(eng.count().total(), 0U);
}

TEST(EngineRegister, FamilyNamingAnIdTwiceIsRefused) {
  engine eng(small_options());
  const task_spec bystander = make_task();
  for (int which = 0; which < 3; ++which) {
    family_spec f = make_family();
    if (which == 0) f.backward.id = f.forward.id;
    if (which == 1) f.forward.id = f.id;
    if (which == 2) f.backward.id = f.id;
    error_code ec;
    eng.register_tasks({bystander, f}, ec);
    EXPECT_TRUE(ec == errc::duplicate_job_id || ec == errc::invalid_task_spec)
        << "case " << which << ": " << ec.message();
    EXPECT_EQ(get_error(eng, f.id), errc::task_not_found);
    EXPECT_EQ(get_error(eng, bystander.id), errc::task_not_found);
  }
  EXPECT_EQ(eng.count().total(), 0U);
}

TEST(EngineRegister, PauseInfoOnANonPausedTaskIsInvalid) {
  engine eng(small_options());
  for (task_state s : all_task_states) {
    if (s == S::paused) continue;
    task_spec bad = make_task(s);
    bad.pause = pause_info{pause_mode::all, S::incremental_transfer};
    const task_spec good = make_task();
    error_code ec;
    const batch_result r = eng.register_tasks({good, bad}, ec);
    EXPECT_EQ(ec, errc::invalid_task_spec) << to_string(s);
    EXPECT_TRUE(r.empty());
    EXPECT_EQ(get_error(eng, good.id), errc::task_not_found) << "nothing may be registered";
    EXPECT_EQ(get_error(eng, bad.id), errc::task_not_found);
  }
}

TEST(EngineRegister, PausedWithoutPauseInfoIsInvalid) {
  engine eng(small_options());
  task_spec bad = make_task(S::paused);
  bad.pause.reset();
  error_code ec;
  eng.register_tasks({bad}, ec);
  EXPECT_EQ(ec, errc::invalid_task_spec);
  EXPECT_EQ(get_error(eng, bad.id), errc::task_not_found);
  EXPECT_THROW(eng.register_tasks({bad}), boost::system::system_error);
}

TEST(EngineRegister, PausedFromANonPausableStateIsInvalid) {
  engine eng(small_options());
  for (task_state from : all_task_states) {
    if (is_pausable(from)) continue;
    task_spec bad = make_paused_task(from);
    error_code ec;
    eng.register_tasks({bad}, ec);
    EXPECT_EQ(ec, errc::invalid_task_spec) << "paused from " << to_string(from);
    EXPECT_EQ(get_error(eng, bad.id), errc::task_not_found);
  }
}

TEST(EngineRegister, AStartTimeExactlyWhileWaitingForStart) {
  engine eng(small_options());
  std::vector<registration> bad;
  for (task_state s : all_task_states) {
    if (s == S::waiting_for_start) continue;
    task_spec t = make_task(s);
    t.start_time = kFarStart;
    bad.emplace_back(t);
    family_spec f = make_family(s, S::incremental_transfer);
    f.forward.start_time = kFarStart;
    bad.emplace_back(f);
  }
  {
    task_spec t = make_task(S::waiting_for_start);
    t.start_time.reset();
    bad.emplace_back(t);
    family_spec f = make_family(S::incremental_transfer, S::waiting_for_start);
    f.backward.start_time.reset();
    bad.emplace_back(f);
  }
  // A start time must be after the epoch (DRS sends milliseconds since it).
  for (const wall_time at : {wall_time{}, wall_time{} - std::chrono::milliseconds(1)}) {
    task_spec t = make_task(S::waiting_for_start);
    t.start_time = at;
    bad.emplace_back(t);
    family_spec f = make_family(S::waiting_for_start, S::waiting_for_start);
    f.forward.start_time = at;
    bad.emplace_back(f);
  }
  for (const registration& r : bad) {
    const task_spec good = make_task(S::waiting_for_start);
    error_code ec;
    const batch_result result = eng.register_tasks({good, r}, ec);
    EXPECT_EQ(ec, errc::invalid_task_spec) << id_of(r).to_string();
    EXPECT_TRUE(result.empty());
    EXPECT_EQ(get_error(eng, good.id), errc::task_not_found) << "nothing may be registered";
    EXPECT_EQ(get_error(eng, id_of(r)), errc::task_not_found);
  }
  EXPECT_EQ(eng.count().total(), 0U);

  // Consistent ones register, and show their start time (a parent has none of its own).
  task_spec soon = make_task(S::waiting_for_start);
  soon.start_time = wall_time{} + std::chrono::milliseconds(1);  // long due: starts at once
  const task_spec later = make_task(S::waiting_for_start);
  family_spec f = make_family(S::waiting_for_start, S::configuration);
  f.forward.start_time = kFarStart + std::chrono::hours(1);
  register_ok(eng, {later, f});
  EXPECT_EQ(snap(eng, later.id).start_time, kFarStart);
  EXPECT_EQ(snap(eng, f.forward.id).start_time, kFarStart + std::chrono::hours(1));
  EXPECT_FALSE(snap(eng, f.backward.id).start_time);
  EXPECT_FALSE(snap(eng, f.id).start_time);
  EXPECT_EQ(snap(eng, f.id).state, S::waiting_for_start) << "the forward child's state";
  register_ok(eng, {soon});
}

TEST(EngineRegister, InconsistentFamilyChildIsInvalid) {
  engine eng(small_options());
  std::vector<family_spec> bad;
  {
    family_spec f = make_family(S::paused, S::incremental_transfer);
    f.forward.pause.reset();
    bad.push_back(f);
  }
  {
    family_spec f = make_family(S::incremental_transfer, S::incremental_transfer);
    f.backward.pause = pause_info{pause_mode::target, S::full_transfer};
    bad.push_back(f);
  }
  {
    family_spec f = make_family(S::incremental_transfer, S::paused);
    f.backward.pause = pause_info{pause_mode::target, S::stopped};
    bad.push_back(f);
  }
  for (const family_spec& f : bad) {
    error_code ec;
    eng.register_tasks({f}, ec);
    EXPECT_EQ(ec, errc::invalid_task_spec);
    EXPECT_EQ(get_error(eng, f.id), errc::task_not_found);
    EXPECT_EQ(get_error(eng, f.forward.id), errc::task_not_found);
    EXPECT_EQ(get_error(eng, f.backward.id), errc::task_not_found);
  }
}

TEST(EngineRegister, ValuesOutsideTheirEnumsAreInvalidTaskSpecs) {
  // A value cast from an integer that the enum does not declare: 13 is one past the last
  // state, 0xff also the task table's mark of a vacant slot. Nothing may be registered, and
  // the registry must stay whole: the id registers once afterwards, and not twice.
  engine eng(small_options());
  const auto state = [](int v) { return static_cast<task_state>(v); };
  std::vector<registration> bad;
  for (int v : {static_cast<int>(task_state_count), 0x7f, 0xff}) {
    task_spec t = make_task();
    t.state = state(v);
    bad.emplace_back(t);
    task_spec paused_from = make_paused_task(S::full_transfer);
    paused_from.pause->from = state(v);
    bad.emplace_back(paused_from);
    family_spec f = make_family();
    f.forward.state = state(v);
    bad.emplace_back(f);
    family_spec g = make_family();
    g.backward.state = state(v);
    bad.emplace_back(g);
  }
  for (int v : {3, 0xff}) {
    task_spec t = make_task();
    t.kind = static_cast<task_kind>(v);
    bad.emplace_back(t);
  }
  for (int v : {2, 0xff}) {
    task_spec t = make_paused_task(S::full_transfer);
    t.pause->mode = static_cast<pause_mode>(v);
    bad.emplace_back(t);
    family_spec f = make_family(S::paused, S::full_transfer);
    f.forward.pause = pause_info{static_cast<pause_mode>(v), S::incremental_transfer};
    bad.emplace_back(f);
  }
  for (const registration& r : bad) {
    error_code ec;
    const batch_result result = eng.register_tasks({r}, ec);
    EXPECT_EQ(ec, errc::invalid_task_spec) << id_of(r).to_string();
    EXPECT_TRUE(result.empty());
    EXPECT_EQ(get_error(eng, id_of(r)), errc::task_not_found);
  }
  EXPECT_EQ(eng.count().total(), 0U);

  const task_spec twice = make_task(S::full_transfer);
  task_spec vacant = twice;
  vacant.state = state(0xff);
  error_code ec;
  eng.register_tasks({vacant}, ec);
  EXPECT_EQ(ec, errc::invalid_task_spec);
  register_ok(eng, {twice});
  const batch_result again = eng.register_tasks({twice});
  ASSERT_EQ(again.size(), 1U);
  EXPECT_EQ(again[0].error, errc::task_exists);
  const state_counts counts = eng.count();
  EXPECT_EQ(counts.total(), 1U);
  EXPECT_EQ(counts[S::full_transfer], 1U);
}

TEST(EngineRegister, EmptyBatchSucceedsWithNoResults) {
  // An empty snapshot must load: registration accepts an empty batch.
  engine eng(small_options());
  error_code ec;
  const batch_result r = eng.register_tasks({}, ec);
  EXPECT_FALSE(ec);
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(eng.count().total(), 0U);
}

TEST(EngineRegister, HasNoBatchSizeLimit) {
  // A whole registry's snapshot registers in one call, whatever max_batch_items says.
  engine eng({.threads = 2, .shards = 4, .max_batch_items = 3});
  std::vector<task_spec> specs;
  for (int i = 0; i < 4; ++i) specs.push_back(make_task());
  error_code ec;
  const batch_result r = eng.register_tasks(registrations(specs), ec);
  EXPECT_FALSE(ec);
  ASSERT_EQ(r.size(), 4U);
  EXPECT_EQ(eng.count().total(), 4U);
}

// -- registering families -----------------------------------------------------------------

TEST(EngineRegister, RegistersAFamily) {
  engine eng(small_options());
  family_spec f = make_family(S::incremental_transfer, S::full_transfer_complete);
  f.name = "dr-pair";
  f.forward.version = 5;
  f.backward.version = 9;
  register_ok(eng, {f});

  const task_snapshot parent = snap(eng, f.id);
  EXPECT_EQ(parent.role, task_role::parent);
  EXPECT_EQ(parent.kind, task_kind::cloud_data_guard);
  EXPECT_EQ(parent.name, "dr-pair");
  EXPECT_EQ(parent.project, kProject);
  EXPECT_EQ(parent.state, S::incremental_transfer);  // the forward child's
  EXPECT_EQ(parent.forward_child, f.forward.id);
  EXPECT_EQ(parent.backward_child, f.backward.id);
  EXPECT_FALSE(parent.parent);
  EXPECT_FALSE(parent.pause);
  EXPECT_EQ(parent.version, 0U);

  const task_snapshot fwd = snap(eng, f.forward.id);
  EXPECT_EQ(fwd.role, task_role::forward_child);
  EXPECT_EQ(fwd.kind, task_kind::cloud_data_guard);
  EXPECT_EQ(fwd.parent, f.id);
  EXPECT_EQ(fwd.state, S::incremental_transfer);
  EXPECT_EQ(fwd.version, 5U);
  EXPECT_FALSE(fwd.forward_child);

  const task_snapshot bwd = snap(eng, f.backward.id);
  EXPECT_EQ(bwd.role, task_role::backward_child);
  EXPECT_EQ(bwd.parent, f.id);
  EXPECT_EQ(bwd.state, S::full_transfer_complete);
  EXPECT_EQ(bwd.version, 9U);
}

TEST(EngineRegister, RegistersManyFamiliesAcrossShards) {
  engine eng(small_options());
  const std::vector<family_spec> families = make_families(64);
  register_ok(eng, registrations(families));
  for (const family_spec& f : families) {
    EXPECT_EQ(snap(eng, f.id).role, task_role::parent);
    EXPECT_EQ(snap(eng, f.forward.id).parent, f.id);
    EXPECT_EQ(snap(eng, f.backward.id).parent, f.id);
    EXPECT_EQ(get_error(eng, f.forward.id, kOtherProject), errc::task_not_found);
  }
  const state_counts c = eng.count();
  EXPECT_EQ(c.families, 64U);
  EXPECT_EQ(c[S::incremental_transfer], 3U * 64U);  // two children and the parent's aggregate
}

TEST(EngineRegister, FamilyChildrenMayBePausedOrDeleted) {
  engine eng(small_options());
  family_spec f = make_family(S::paused, S::deleted);
  f.forward.pause = pause_info{pause_mode::all, S::incremental_transfer_failed};
  register_ok(eng, {f});
  EXPECT_EQ(snap(eng, f.forward.id).pause, f.forward.pause);
  EXPECT_EQ(state_of(eng, f.backward.id), S::deleted);
}

TEST(EngineRegister, FamilyWhoseChildIdIsTakenFailsAndLeavesNothing) {
  engine eng(small_options());
  // Standalone tasks whose ids the families below reuse as children: many, so that both
  // same-shard and cross-shard children are exercised.
  std::vector<task_spec> taken;
  for (int i = 0; i < 48; ++i) taken.push_back(make_task(S::full_transfer));
  register_ok(eng, registrations(taken));

  std::vector<family_spec> families;
  for (std::size_t i = 0; i < taken.size(); ++i) {
    family_spec f = make_family();
    if (i % 3 == 0) f.forward.id = taken[i].id;
    if (i % 3 == 1) f.backward.id = taken[i].id;
    if (i % 3 == 2) f.id = taken[i].id;
    families.push_back(f);
  }
  const batch_result r = eng.register_tasks(registrations(families));
  ASSERT_EQ(r.size(), families.size());
  for (std::size_t i = 0; i < families.size(); ++i) {
    EXPECT_EQ(r[i].id, families[i].id);
    EXPECT_EQ(r[i].error, errc::task_exists) << "family " << i;
  }
  for (std::size_t i = 0; i < families.size(); ++i) {
    const family_spec& f = families[i];
    // The standalone task is untouched.
    const task_snapshot s = snap(eng, taken[i].id);
    EXPECT_EQ(s.role, task_role::standalone);
    EXPECT_EQ(s.state, S::full_transfer);
    // The family's other ids stayed unknown.
    for (const job_id& id : {f.id, f.forward.id, f.backward.id}) {
      if (id == taken[i].id) continue;
      EXPECT_EQ(get_error(eng, id), errc::task_not_found) << "family " << i;
    }
  }
  EXPECT_EQ(eng.count().families, 0U);

  // The ids the failed families did not take are free again: the same families, with the
  // clashing id replaced, register.
  for (std::size_t i = 0; i < families.size(); ++i) {
    if (i % 3 == 0) families[i].forward.id = job_id::mint();
    if (i % 3 == 1) families[i].backward.id = job_id::mint();
    if (i % 3 == 2) families[i].id = job_id::mint();
  }
  register_ok(eng, registrations(families));
  EXPECT_EQ(eng.count().families, families.size());
}

TEST(EngineRegister, StandaloneWithTheIdOfAFamilyMemberFails) {
  engine eng(small_options());
  const std::vector<family_spec> families = make_families(32, S::full_transfer, S::paused);
  register_ok(eng, registrations(families));
  std::vector<task_spec> clashes;
  for (const family_spec& f : families) {
    for (const job_id& id : {f.id, f.forward.id, f.backward.id}) {
      task_spec t = make_task(S::configuration);
      t.id = id;
      clashes.push_back(t);
    }
  }
  const batch_result r = eng.register_tasks(registrations(clashes));
  ASSERT_EQ(r.size(), clashes.size());
  for (std::size_t i = 0; i < r.size(); ++i) EXPECT_EQ(r[i].error, errc::task_exists) << i;
  for (const family_spec& f : families) {
    EXPECT_EQ(snap(eng, f.id).role, task_role::parent);
    EXPECT_EQ(snap(eng, f.forward.id).state, S::full_transfer);
    EXPECT_EQ(snap(eng, f.backward.id).state, S::paused);
  }
}

TEST(EngineRegister, RegisteringTheSameFamilyTwiceFails) {
  engine eng(small_options());
  const std::vector<family_spec> families = make_families(16);
  register_ok(eng, registrations(families));
  const batch_result r = eng.register_tasks(registrations(families));
  ASSERT_EQ(r.size(), families.size());
  for (const item_result& item : r) EXPECT_EQ(item.error, errc::task_exists);
  // Still intact and commandable through every child.
  for (const family_spec& f : families) {
    EXPECT_FALSE(pause_one(eng, f.forward.id));
    EXPECT_FALSE(pause_one(eng, f.backward.id));
    EXPECT_EQ(state_of(eng, f.id), S::paused);
  }
}

}  // namespace
}  // namespace taskorch::test
