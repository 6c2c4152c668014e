// Subscriptions under concurrent commands: every subscriber sees each task's changes in the
// task's order, with sequence numbers rising by exactly one from the registered version;
// every change is a legal step of the model (from the previous change's state, by its
// cause: a worker's confirmation only while the task awaits a command); the last sequence of
// each task equals the version get() reports at the end, and what the changes leave the task
// awaiting is what get() shows.
//
// Environment: TASKORCH_SUBSCRIPTION_ROUNDS.
#include "stress_driver.hpp"
#include "task_model.hpp"
#include <taskorch/engine.hpp>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace taskorch::test {
namespace {

constexpr std::size_t default_rounds = 400;
constexpr std::size_t tsan_rounds = 400;  // ~7 s under clang TSan

/// What one subscriber heard, by task. Callbacks run on several strands at once.
struct change_log {
  std::mutex mutex;
  std::map<job_id, std::vector<state_change>> by_task;
  void record(const state_change& c) {
    std::lock_guard lock(mutex);
    by_task[c.id].push_back(c);
  }
  std::vector<state_change> take(const job_id& id) {
    std::lock_guard lock(mutex);
    auto it = by_task.find(id);
    if (it == by_task.end()) return {};
    std::vector<state_change> out = std::move(it->second);
    by_task.erase(it);
    return out;
  }
};

std::string show(const state_change& c) {
  return fmt::format("#{} {} -> {} by {}{}", c.sequence, c.from, c.to, c.cause,
                     c.mode ? fmt::format(" ({})", *c.mode) : std::string());
}

/// Replays `changes` of one task from `start` through the model; returns the first
/// problem, or an empty string. `start` ends as the task's last state.
std::string replay(task_fields& t, const std::vector<state_change>& changes,
                   const project_id& project) {
  for (const state_change& c : changes) {
    if (c.project != project) return "change of another project: " + show(c);
    if (c.sequence != t.version + 1) {
      return fmt::format("sequence {} after version {}: {}", c.sequence, t.version, show(c));
    }
    if (c.from != t.state)
      return fmt::format("from {} but the task was {}: {}", c.from, t.state, show(c));
    task_fields next = t;
    if (c.cause == task_event::pause && !c.mode) return "a pause without a mode: " + show(c);
    const outcome o = task_model::replay(next, c.cause, c.mode, c.from, c.to, c.sequence);
    if (o != outcome::ok || next.version != c.sequence || next.state != c.to) {
      return "not a legal step of the model: " + show(c);
    }
    if (c.to == task_state::paused && c.mode != next.mode) return "wrong mode: " + show(c);
    if (c.to != task_state::paused && c.mode) return "a mode outside paused: " + show(c);
    t = next;
  }
  return {};
}

TEST(SubscriptionOrder, EveryTaskChangeArrivesInOrderWithSequenceStepOne) {
  const std::size_t rounds =
      env_or("TASKORCH_SUBSCRIPTION_ROUNDS", under_tsan() ? tsan_rounds : default_rounds);
  engine eng({.threads = 3, .shards = 4});
  auto logs = std::make_shared<std::array<change_log, 2>>();
  subscription first = eng.subscribe([logs](const state_change& c) { (*logs)[0].record(c); });
  subscription second = eng.subscribe([logs](const state_change& c) { (*logs)[1].record(c); });

  round_driver driver(eng, driver_options{}, 0xabcdef);
  const lin::options budget{.max_steps = 8'000'000, .max_time = std::chrono::seconds(60)};
  std::size_t changes = 0;
  std::size_t tasks = 0;
  check_summary lin_total;
  for (std::size_t round = 0; round < rounds; ++round) {
    const round_record r = driver.run_round();
    ASSERT_TRUE(r.anomalies.empty()) << r.anomalies.front();
    lin_total.add(check_round(r, budget));
    for (const auto& [id, where] : r.slots) {
      std::vector<state_change> heard[2] = {(*logs)[0].take(id), (*logs)[1].take(id)};
      const auto initial = r.initial.find(id);
      if (initial == r.initial.end()) {
        // A dual-active parent has no state of its own; an unknown id does not exist.
        EXPECT_TRUE(heard[0].empty() && heard[1].empty())
            << "changes reported for " << id.to_string() << " (" << static_cast<int>(where.who)
            << ")";
        continue;
      }
      ++tasks;
      changes += heard[0].size();
      const task_snapshot& last = r.final_snapshots.at(id);
      for (int s = 0; s < 2; ++s) {
        task_fields t = initial->second;
        const std::string problem = replay(t, heard[s], driver.project());
        ASSERT_TRUE(problem.empty())
            << "subscriber " << s << ", task " << id.to_string() << ": " << problem;
        EXPECT_EQ(t.version, last.version)
            << "task " << id.to_string() << ": last sequence vs get()";
        EXPECT_EQ(t.state, last.state) << "task " << id.to_string() << ": last change vs get()";
        EXPECT_EQ(t.awaiting, last.awaiting)
            << "task " << id.to_string() << ": what the changes leave awaited vs get()";
      }
      ASSERT_EQ(heard[0].size(), heard[1].size()) << "task " << id.to_string();
      for (std::size_t k = 0; k < heard[0].size(); ++k) {
        EXPECT_EQ(show(heard[0][k]), show(heard[1][k])) << "task " << id.to_string();
      }
    }
  }
  std::printf(
      "[ subscriptions ] %zu rounds, %zu tasks, %zu changes delivered to 2 subscribers "
      "in order; %zu histories linearizable (%zu illegal, %zu unknown)\n",
      rounds, tasks, changes, lin_total.histories, lin_total.illegal, lin_total.unknown);
  for (const std::string& f : lin_total.failures) ADD_FAILURE() << f;
  EXPECT_EQ(lin_total.illegal + lin_total.unknown, 0U);
  EXPECT_GT(changes, rounds);  // the rounds do change tasks
}

TEST(SubscriptionOrder, LateSubscriberHearsASuffixAndEverythingAfterItsCompletion) {
  const std::size_t rounds =
      env_or("TASKORCH_SUBSCRIPTION_ROUNDS", under_tsan() ? tsan_rounds : default_rounds) / 4;
  engine eng({.threads = 2, .shards = 3});
  auto full = std::make_shared<change_log>();
  subscription always = eng.subscribe([full](const state_change& c) { full->record(c); });
  round_driver driver(eng, driver_options{}, 0x1a7e);
  std::mt19937_64 rng(99);
  std::size_t suffixes = 0;
  for (std::size_t round = 0; round < rounds; ++round) {
    auto late = std::make_shared<change_log>();
    subscription late_sub;
    const auto delay = std::chrono::microseconds(rng() % 400);
    std::thread subscriber([&] {
      std::this_thread::sleep_for(delay);
      late_sub = eng.subscribe([late](const state_change& c) { late->record(c); });
    });
    const round_record r = driver.run_round();
    subscriber.join();
    ASSERT_TRUE(r.anomalies.empty()) << r.anomalies.front();

    // A change made after subscribe() returned must be heard.
    task_spec probe{.id = job_id::mint(),
                    .project = driver.project(),
                    .state = task_state::incremental_transfer};
    ASSERT_TRUE(eng.register_tasks({probe}).front().ok());
    ASSERT_TRUE(eng.pause(driver.project(), {{probe.id, pause_mode::all}}).front().ok());
    const std::vector<state_change> probe_heard = late->take(probe.id);
    ASSERT_EQ(probe_heard.size(), 1U);
    EXPECT_EQ(probe_heard[0].sequence, 1U);
    EXPECT_EQ(probe_heard[0].to, task_state::paused);
    full->take(probe.id);

    for (const auto& [id, where] : r.slots) {
      const std::vector<state_change> all = full->take(id);
      const std::vector<state_change> tail = late->take(id);
      ASSERT_LE(tail.size(), all.size()) << "task " << id.to_string();
      for (std::size_t k = 0; k < tail.size(); ++k) {
        EXPECT_EQ(show(tail[k]), show(all[all.size() - tail.size() + k]))
            << "task " << id.to_string() << ": the late subscriber's changes are not a suffix";
      }
      if (!tail.empty()) ++suffixes;
    }
    late_sub.reset();
  }
  std::printf("[ subscriptions ] late subscribers: %zu rounds, %zu non-empty suffixes\n", rounds,
              suffixes);
}

}  // namespace
}  // namespace taskorch::test
