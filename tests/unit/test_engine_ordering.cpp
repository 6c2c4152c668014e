// The order of one caller's operations (docs/architecture.md, "Threading and ordering
// guarantees"). Operations a thread starts one after another reach each shard in that order,
// so two operations that reach a task by the same route take effect on it in call order, and
// a family registration or purge takes all its shards at one instant. A step forwarded from a
// family child's home shard to its family's shard is queued there only when its first step
// runs: an operation started later that goes to the family's shard directly may overtake it.
//
// With one engine thread, handlers posted to idle strands run in the order they were posted,
// so each case below is deterministic: the engine thread is held in a subscriber callback (on
// a fourth shard, so that the three shards the family uses stay idle) while the test starts
// its operations (a subscriber also keeps every part off the caller's thread), then released.
#include "engine_test_support.hpp"
#include <taskorch/engine.hpp>

#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <future>

namespace taskorch::test {
namespace {

using S = task_state;

/// The shard the engine places `id` on among `shards` (a multiply-shift of its hash).
std::size_t home_of(const job_id& id, std::size_t shards) {
  __extension__ using wide = unsigned __int128;
  return static_cast<std::size_t>((static_cast<wide>(id.hash()) * shards) >> 64);
}

/// A fresh id whose home is `shard` of `shards`.
job_id id_on(std::size_t shard, std::size_t shards) {
  for (;;) {
    const job_id id = job_id::mint();
    if (home_of(id, shards) == shard) return id;
  }
}

constexpr std::size_t shards = 4;

/// An engine with one thread and four shards, a blocker task on shard 3, and a subscriber
/// that holds the engine thread while the blocker is paused, until release() is called.
class held_engine {
 public:
  held_engine() : eng_({.threads = 1, .shards = shards}) {
    blocker_.id = id_on(3, shards);
    blocker_.project = kProject;
    blocker_.state = S::incremental_transfer;
    register_ok(eng_, {blocker_});
    held_ = eng_.subscribe([this](const state_change& c) {
      if (c.id == blocker_.id && c.to == S::paused) {
        entered_.set_value();
        release_.get_future().wait_for(std::chrono::seconds(30));
      }
    });
  }
  ~held_engine() { held_.reset(); }
  held_engine(const held_engine&) = delete;
  held_engine& operator=(const held_engine&) = delete;

  engine& get() { return eng_; }

  /// Holds the engine thread: returns once it waits in the callback.
  void hold() {
    eng_.async_pause(kProject, {{blocker_.id, pause_mode::target}},
                     [](error_code, batch_result) {});
    entered_.get_future().wait();
  }
  void release() { release_.set_value(); }

 private:
  engine eng_;
  task_spec blocker_;
  subscription held_;
  std::promise<void> entered_;
  std::promise<void> release_;
};

/// A family with its parent on shard 0 and its children on shards 1 and 2.
family_spec spread_family(S forward, S backward) {
  family_spec f = make_family(forward, backward);
  f.id = id_on(0, shards);
  f.forward.id = id_on(1, shards);
  f.backward.id = id_on(2, shards);
  return f;
}

TEST(CallerOrder, AChildCommandedAfterItsFamilyIsRegisteredFindsIt) {
  held_engine held;
  engine& eng = held.get();
  const family_spec f = spread_family(S::incremental_transfer, S::incremental_transfer);
  held.hold();
  std::future<batch_result> registered = eng.async_register({f}, boost::asio::use_future);
  std::future<batch_result> paused =
      eng.async_pause(kProject, {{f.forward.id, pause_mode::all}}, boost::asio::use_future);
  held.release();
  expect_all_ok(registered.get(), {f.id});
  expect_all_ok(paused.get(), {f.forward.id});
  EXPECT_EQ(eng.get(kProject, f.forward.id).state, S::paused);
}

TEST(CallerOrder, AChildRegisteredAfterItsFamilyIsPurgedIsNew) {
  held_engine held;
  engine& eng = held.get();
  const family_spec f = spread_family(S::deleted, S::deleted);
  register_ok(eng, {f});
  task_spec reborn = make_task(S::configuration);
  reborn.id = f.forward.id;
  held.hold();
  std::future<batch_result> purged = eng.async_purge(kProject, {f.id}, boost::asio::use_future);
  std::future<batch_result> registered = eng.async_register({reborn}, boost::asio::use_future);
  held.release();
  expect_all_ok(purged.get(), {f.id});
  expect_all_ok(registered.get(), {reborn.id});
  EXPECT_EQ(eng.get(kProject, reborn.id).role, task_role::standalone);
}

TEST(CallerOrder, AForwardedStepMayBeOvertakenByALaterOperation) {
  // The pause names the forward child: its first step runs on the child's home shard (1),
  // which forwards it to the family's shard (0). The status of the parent, started after the
  // pause, goes to shard 0 directly and was queued there first: it reads the family before
  // the pause. Waiting for the pause's completion orders them.
  held_engine held;
  engine& eng = held.get();
  const family_spec f = spread_family(S::incremental_transfer, S::paused);
  register_ok(eng, {f});
  held.hold();
  std::future<batch_result> paused =
      eng.async_pause(kProject, {{f.forward.id, pause_mode::all}}, boost::asio::use_future);
  std::future<std::vector<status_result>> before =
      eng.async_status(kProject, {f.id}, boost::asio::use_future);
  held.release();
  expect_all_ok(paused.get(), {f.forward.id});
  const std::vector<status_result> overtaken = before.get();
  ASSERT_EQ(overtaken.size(), 1U);
  EXPECT_EQ(overtaken[0].state, S::incremental_transfer) << "read before the forwarded pause";
  const std::vector<status_result> after = eng.status(kProject, {f.id});
  ASSERT_EQ(after.size(), 1U);
  EXPECT_EQ(after[0].state, S::paused) << "both children paused, once the pause completed";
}

TEST(CallerOrder, OperationsOnTheSameRouteKeepCallOrder) {
  held_engine held;
  engine& eng = held.get();
  const family_spec f = spread_family(S::incremental_transfer, S::incremental_transfer);
  const task_spec t = make_task(S::full_transfer);
  register_ok(eng, {f, t});
  held.hold();
  std::vector<std::future<batch_result>> commands;
  for (const job_id& id : {f.forward.id, t.id}) {
    commands.push_back(
        eng.async_pause(kProject, {{id, pause_mode::target}}, boost::asio::use_future));
    commands.push_back(eng.async_pause(kProject, {{id, pause_mode::all}}, boost::asio::use_future));
    commands.push_back(eng.async_resume(kProject, {id}, boost::asio::use_future));
    commands.push_back(
        eng.async_pause(kProject, {{id, pause_mode::target}}, boost::asio::use_future));
  }
  std::future<std::vector<status_result>> read =
      eng.async_status(kProject, {f.forward.id, t.id}, boost::asio::use_future);
  held.release();
  for (auto& c : commands) expect_all_ok(c.get());
  // Five changes each, in call order: paused (target), raised to all, resumed, paused again.
  EXPECT_EQ(eng.get(kProject, f.forward.id).version, 4U);
  EXPECT_EQ(eng.get(kProject, t.id).version, 4U);
  const std::vector<status_result> states = read.get();
  ASSERT_EQ(states.size(), 2U);
  EXPECT_EQ(states[0].state, S::paused);
  EXPECT_EQ(states[1].state, S::paused);
  EXPECT_EQ(eng.get(kProject, t.id).pause->mode, pause_mode::target);
}

}  // namespace
}  // namespace taskorch::test
