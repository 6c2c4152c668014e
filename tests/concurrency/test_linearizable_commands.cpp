// Linearizability of commands on shared tasks: client threads issue overlapping batches
// (pause with random modes, resume, worker events, workers' confirmations of the command a
// task awaits, start, terminate / force terminate / delete, status, get; sometimes for another
// project) on a handful of tasks and one dual-active family, and every per-task and
// per-family history of every round must be linearizable against the model of
// docs/behaviour.md (task_model.hpp).
//
// With `journaled`, the engine journals to a data directory (durability::always): every
// batch then completes from the journal's thread after its sync, and queries wait for the
// changes they see; the histories must be as linearizable (a quarter of the rounds: each
// waits for fdatasync).
//
// Environment: TASKORCH_STRESS_ROUNDS (rounds per engine configuration; the default
// differs under ThreadSanitizer), TASKORCH_STRESS_SEED.
#include "stress_driver.hpp"
#include "temp_directory.hpp"
#include <taskorch/engine.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>

namespace taskorch::test {
namespace {

struct engine_config {
  std::size_t threads;
  std::size_t shards;
  std::size_t clients;        ///< client threads issuing batches
  std::size_t max_in_flight;  ///< batches each client keeps outstanding, at most
  bool journaled = false;     ///< with a data directory (durability::always)
};

void PrintTo(const engine_config& c, std::ostream* os) {
  *os << "threads=" << c.threads << " shards=" << c.shards << " clients=" << c.clients
      << " in_flight=" << c.max_in_flight << (c.journaled ? " journaled" : "");
}

/// Rounds per configuration: 6 tasks + 1 family = 7 checked histories a round, so 1450
/// rounds check over 10,000 histories in each configuration (about 6-12 s each in a Debug
/// build on two cores). A clang -O1 TSan build runs a round in ~15 ms, so it runs more
/// rounds and spends about two minutes on the three configurations.
constexpr std::size_t default_rounds = 1450;
constexpr std::size_t tsan_rounds = 2400;

class LinearizableCommands : public ::testing::TestWithParam<engine_config> {};

TEST_P(LinearizableCommands, EveryTaskAndFamilyHistoryIsLinearizable) {
  const engine_config config = GetParam();
  const std::size_t rounds =
      env_or("TASKORCH_STRESS_ROUNDS", under_tsan() ? tsan_rounds : default_rounds) /
      (config.journaled ? 4 : 1);
  const std::uint64_t seed =
      env_or("TASKORCH_STRESS_SEED", 0x5eed0000 + config.threads * 16 + config.shards);

  testing::temp_directory dir;
  engine_options engine_config{.threads = config.threads, .shards = config.shards};
  if (config.journaled) engine_config.storage.directory = dir.path();
  std::optional<engine> running(std::in_place, engine_config);
  engine& eng = *running;
  driver_options options;  // 8 batches per client, 6 tasks + 1 family, 1 unknown id
  options.clients = config.clients;
  options.max_in_flight = config.max_in_flight;
  round_driver driver(eng, options, seed);
  // The search is exponential in the number of overlapping operations at worst. Over some
  // 200,000 family histories of these configurations the heaviest took under a million
  // steps (Debug and TSan); the cache stays small (13 MB peak at 350k steps), so the budget
  // leaves a twentyfold margin.
  const lin::options budget{.max_steps = 20'000'000, .max_time = std::chrono::seconds(120)};

  check_summary total;
  std::size_t batches = 0;
  const auto started = std::chrono::steady_clock::now();
  for (std::size_t round = 0; round < rounds; ++round) {
    const round_record r = driver.run_round();
    ASSERT_TRUE(r.anomalies.empty()) << "round " << round << ": " << r.anomalies.front();
    batches += r.batches;
    total.add(check_round(r, budget));
    if (total.illegal + total.unknown >= 5) break;  // enough to diagnose
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  std::printf(
      "[ linearizability ] threads=%zu shards=%zu clients=%zu seed=%llu: %zu histories checked "
      "(%zu task, %zu family; %zu unknown-id) from %zu batches, %zu operations (%zu overlapping "
      "another batch's on their history, %zu state-independent; longest searched history %zu), "
      "%zu illegal, %zu unknown, %llu model steps (at most %llu for one history, %zu over "
      "100k), %.2f s\n",
      config.threads, config.shards, config.clients, static_cast<unsigned long long>(seed),
      total.histories, total.task_histories, total.family_histories, total.unknown_id_histories,
      batches, total.operations, total.concurrent_operations, total.state_independent,
      total.max_operations, total.illegal, total.unknown,
      static_cast<unsigned long long>(total.steps),
      static_cast<unsigned long long>(total.max_steps), total.hard, seconds);
  for (const std::string& f : total.failures) ADD_FAILURE() << f;
  EXPECT_EQ(total.illegal, 0U);
  EXPECT_EQ(total.unknown, 0U);
  if (rounds >= default_rounds) {
    EXPECT_GE(total.histories, 10'000U);
  }
  if (config.journaled) {
    // What the journal holds rebuilds exactly the registry the rounds left.
    const std::vector<registration> before = eng.export_snapshot();
    running.reset();
    engine recovered(engine_config);
    EXPECT_EQ(recovered.export_snapshot(), before);
  }
}

TEST(LinearizableCommandsPipeline, StaleReadsInjectedIntoRealHistoriesAreFlagged) {
  // End to end: take histories the engine really produced, append a get made after the
  // round was over that reports the task's registered (stale) state and version although
  // the task changed since, and expect every such history to be flagged illegal.
  engine eng({.threads = 2, .shards = 3});
  round_driver driver(eng, driver_options{}, 4242);
  const lin::options budget{.max_steps = 8'000'000, .max_time = std::chrono::seconds(60)};
  std::size_t injected = 0;
  std::size_t clean_illegal = 0;
  std::size_t flagged = 0;
  for (int round = 0; round < 150; ++round) {
    round_record r = driver.run_round();
    ASSERT_TRUE(r.anomalies.empty()) << r.anomalies.front();
    clean_illegal += check_round(r, budget).illegal;
    std::uint64_t last = 0;
    for (const auto& h : r.histories) {
      for (const task_op& op : h) last = std::max(last, op.ret);
    }
    round_record bad = r;
    std::size_t injected_here = 0;
    for (const auto& [id, where] : r.slots) {
      const auto initial = r.initial.find(id);
      if (initial == r.initial.end()) continue;  // parents and unknown ids
      const task_snapshot& now = r.final_snapshots.at(id);
      if (now.version == initial->second.version) continue;  // unchanged: not stale
      task_op stale;
      stale.input.kind = op_kind::get;
      stale.input.target = where.who;
      stale.output.state = initial->second.state;
      stale.output.version = initial->second.version;
      stale.output.role = now.role;
      stale.output.awaiting = initial->second.awaiting;
      if (initial->second.state == task_state::paused) {
        stale.output.pause = pause_info{initial->second.mode, initial->second.paused_from};
      }
      stale.call = last + 1;
      stale.ret = last + 2;
      bad.histories[where.history].push_back(stale);
      ++injected_here;
      break;  // one per round, so each illegal history is one injection
    }
    injected += injected_here;
    flagged += check_round(bad, budget, 0).illegal;
  }
  std::printf("[ linearizability ] injected stale reads: %zu of %zu flagged illegal\n", flagged,
              injected);
  EXPECT_EQ(clean_illegal, 0U);
  EXPECT_EQ(flagged, injected);
  EXPECT_GT(injected, 100U);
}

INSTANTIATE_TEST_SUITE_P(Engines, LinearizableCommands,
                         ::testing::Values(engine_config{2, 2, 4, 3}, engine_config{3, 3, 6, 2},
                                           engine_config{4, 4, 8, 2},
                                           engine_config{2, 2, 4, 3, true},
                                           engine_config{3, 3, 6, 2, true}),
                         [](const ::testing::TestParamInfo<engine_config>& p) {
                           return "Threads" + std::to_string(p.param.threads) + "Shards" +
                                  std::to_string(p.param.shards) + "Clients" +
                                  std::to_string(p.param.clients) +
                                  (p.param.journaled ? "Journaled" : "");
                         });

}  // namespace
}  // namespace taskorch::test
