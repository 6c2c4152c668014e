// Unsubscribing under concurrent commands. After subscription::reset() (or the destructor)
// returns on a thread that is not the engine's, the callback is never invoked again and no
// invocation is still running, so whatever it captured may be destroyed at once. Each round
// subscribes a callback that touches a heap object, lets it hear changes made by other
// threads, resets it and frees the object: a late call is counted, and under
// AddressSanitizer it is also a heap-use-after-free. An async_subscribe that races stop()
// and completes with operation_aborted leaves no callback behind either.
//
// Environment: TASKORCH_RESET_ROUNDS (default 300).
#include "stress_driver.hpp"
#include <taskorch/engine.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>
#include <vector>

namespace taskorch::test {
namespace {

const project_id project = *project_id::parse("054ba152d480d55b2f5dc0069e7ddef0");

std::vector<task_spec> running_tasks(std::size_t n) {
  std::vector<task_spec> out;
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(task_spec{
        .id = job_id::mint(), .project = project, .state = task_state::incremental_transfer});
  }
  return out;
}

/// Pauses and resumes `tasks` from `threads` threads until the returned object is destroyed.
class churn {
 public:
  churn(engine& eng, const std::vector<task_spec>& tasks, std::size_t threads) {
    for (std::size_t t = 0; t < threads; ++t) {
      workers_.emplace_back([this, &eng, &tasks, t] {
        std::vector<pause_item> pauses;
        std::vector<job_id> ids;
        for (std::size_t i = t; i < tasks.size(); i += 2) {
          pauses.push_back({tasks[i].id, pause_mode::all});
          ids.push_back(tasks[i].id);
        }
        error_code ec;  // operation_aborted once the engine stops
        while (!done_.load()) {
          eng.pause(project, pauses, ec);
          eng.resume(project, ids, ec);
        }
      });
    }
  }
  ~churn() {
    done_.store(true);
    for (std::thread& w : workers_) w.join();
  }
  churn(const churn&) = delete;
  churn& operator=(const churn&) = delete;

 private:
  std::atomic<bool> done_{false};
  std::vector<std::thread> workers_;
};

TEST(SubscriptionReset, NoCallbackRunsOnceResetHasReturned) {
  const std::size_t rounds = env_or("TASKORCH_RESET_ROUNDS", 150);
  engine eng({.threads = 3, .shards = 6});
  const std::vector<task_spec> tasks = running_tasks(96);
  eng.register_tasks({tasks.begin(), tasks.end()});
  churn load(eng, tasks, 2);

  // Flags per round, kept for the whole test: a late call may come during a later round.
  struct round_flags {
    std::atomic<bool> entered{false};
    std::atomic<bool> reset_returned{false};
  };
  std::vector<std::unique_ptr<round_flags>> flags;
  std::atomic<std::size_t> late_calls{0};
  std::size_t heard = 0;
  for (std::size_t round = 0; round < rounds; ++round) {
    auto touched = std::make_unique<std::atomic<std::size_t>>(0);
    round_flags& f = *flags.emplace_back(std::make_unique<round_flags>());
    std::atomic<bool>& entered = f.entered;
    std::atomic<bool>& reset_returned = f.reset_returned;
    subscription s = eng.subscribe(
        [&reset_returned, &late_calls, &entered, counter = touched.get()](const state_change&) {
          // A callback that takes a while, as real ones do (it logs, it queues work); reset()
          // is called while it runs.
          if (reset_returned.load()) late_calls.fetch_add(1);
          entered.store(true);
          std::this_thread::sleep_for(std::chrono::microseconds(500));
          if (reset_returned.load()) late_calls.fetch_add(1);
          counter->fetch_add(1);  // freed right after reset(): a late call touches freed memory
        });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!entered.load() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    ASSERT_TRUE(entered.load()) << "round " << round << ": the callback never ran";
    if (round % 2 == 0) {
      s.reset();
    } else {
      subscription moved = std::move(s);  // the destructor unsubscribes too
    }
    reset_returned.store(true);
    heard += touched->load();
    touched.reset();
  }
  EXPECT_EQ(late_calls.load(), 0U) << "calls after reset() returned, over " << rounds << " rounds";
  std::printf("[ subscription reset ] %zu rounds, %zu changes heard\n", rounds, heard);
}

TEST(SubscriptionReset, ResetInsideItsOwnCallbackStopsLaterCalls) {
  engine eng({.threads = 2, .shards = 4});
  const std::vector<task_spec> tasks = running_tasks(8);
  eng.register_tasks({tasks.begin(), tasks.end()});
  std::atomic<std::size_t> calls{0};
  subscription s;
  std::promise<void> first;
  std::atomic<bool> said{false};
  s = eng.subscribe([&](const state_change&) {
    calls.fetch_add(1);
    if (!said.exchange(true)) first.set_value();
  });
  // A second subscription resets the first from inside a callback: it must not wait for
  // itself, nor deadlock.
  std::atomic<bool> reset_done{false};
  subscription resetter = eng.subscribe([&](const state_change&) {
    if (!reset_done.exchange(true)) s.reset();
  });
  churn load(eng, tasks, 1);
  first.get_future().wait();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!reset_done.load() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  ASSERT_TRUE(reset_done.load());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const std::size_t after = calls.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(calls.load(), after) << "the reset subscription still hears changes";
}

TEST(SubscriptionReset, SubscribeAbortedByStopLeavesNoCallback) {
  const std::size_t rounds = env_or("TASKORCH_RESET_ROUNDS", 300) / 3;
  std::size_t aborted = 0;
  for (std::size_t round = 0; round < rounds; ++round) {
    auto eng = std::make_unique<engine>(engine_options{.threads = 3, .shards = 6});
    const std::vector<task_spec> tasks = running_tasks(24);
    eng->register_tasks({tasks.begin(), tasks.end()});
    std::atomic<bool> completed{false};
    std::atomic<std::size_t> late_calls{0};
    auto touched = std::make_unique<std::atomic<std::size_t>>(0);
    std::promise<error_code> result;
    subscription kept;
    {
      churn load(*eng, tasks, 2);
      std::this_thread::sleep_for(std::chrono::microseconds(200 * (round % 5)));
      eng->async_subscribe(
          [&completed, &late_calls, counter = touched.get()](const state_change&) {
            if (completed.load()) late_calls.fetch_add(1);
            counter->fetch_add(1);
          },
          [&](error_code ec, subscription s) {
            // Aborted: nobody can reset it, so it must be gone already.
            if (ec) completed.store(true);
            kept = std::move(s);
            result.set_value(ec);
          });
      std::thread stopper([&] { eng->stop(); });
      const error_code ec = result.get_future().get();
      if (ec) {
        ++aborted;
      } else {
        kept.reset();
        completed.store(true);
      }
      touched.reset();
      stopper.join();
    }
    eng.reset();
    EXPECT_EQ(late_calls.load(), 0U) << "round " << round;
  }
  std::printf("[ subscription reset ] %zu of %zu subscriptions aborted by stop()\n", aborted,
              rounds);
}

}  // namespace
}  // namespace taskorch::test
