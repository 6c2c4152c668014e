// Batches that run inline, on the caller's thread (engine_options::inline_batch_items): they
// complete the same way as batches the engine threads run, keep one caller's operations in
// order, and never run while anyone is subscribed (callbacks stay on engine threads).

#include <taskorch/engine.hpp>

// Helpers shared by the engine tests.
#include "engine_test_support.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/system/system_error.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace taskorch::test {
namespace {

using S = task_state;

/// A wait that should never come near this long: only there to turn a hang into a failure.
constexpr auto kHangGuard = std::chrono::minutes(2);

/// Engines of the shapes these tests run on: the default inline threshold (256), and 0 (only
/// one part of each batch runs inline).
std::vector<engine_options> option_sets() {
  engine_options no_inline = small_options();
  no_inline.inline_batch_items = 0;
  return {small_options(), no_inline};
}

std::string describe(const engine_options& o) {
  return "threads=" + std::to_string(o.threads) + " shards=" + std::to_string(o.shards) +
         " inline_batch_items=" + std::to_string(o.inline_batch_items);
}

// =========================================================================================
// Completions of inline batches are never delivered inside the initiating call
// =========================================================================================

TEST(EngineInline, CallbackIsNeverInvokedInsideTheInitiatingCall) {
  std::vector<engine_options> sets = option_sets();
  sets.push_back({.threads = 1, .shards = 1});
  for (const engine_options& options : sets) {
    SCOPED_TRACE(describe(options));
    engine eng(options);
    std::vector<task_spec> tasks;
    for (int i = 0; i < 8; ++i) tasks.push_back(make_task(S::incremental_transfer));
    register_ok(eng, registrations(tasks));
    const std::thread::id caller = std::this_thread::get_id();

    struct seen {
      bool on_caller = false;
      error_code ec;
      batch_result results;
    };
    for (int round = 0; round < 200; ++round) {
      // Alternately pause and resume: one task, every task, an unknown id, an empty batch.
      std::vector<pause_item> items;
      switch (round % 4) {
        case 0:
          items.push_back(
              {tasks[static_cast<std::size_t>(round / 4) % tasks.size()].id, pause_mode::target});
          break;
        case 1:
          for (const task_spec& t : tasks) items.push_back({t.id, pause_mode::all});
          break;
        case 2:
          items.push_back({job_id::mint(), pause_mode::target});
          break;
        default:
          break;
      }
      const std::size_t n = items.size();
      std::atomic<int> calls{0};
      std::promise<seen> where;
      if (round % 8 < 4) {
        eng.async_pause(kProject, std::move(items), [&](error_code ec, batch_result r) {
          ++calls;
          where.set_value({std::this_thread::get_id() == caller, ec, std::move(r)});
        });
      } else {
        std::vector<job_id> ids;
        for (const pause_item& p : items) ids.push_back(p.id);
        eng.async_resume(kProject, std::move(ids), [&](error_code ec, batch_result r) {
          ++calls;
          where.set_value({std::this_thread::get_id() == caller, ec, std::move(r)});
        });
      }
      const seen s = where.get_future().get();
      // A handler without an executor runs on an engine thread, never on the caller's
      // (and so never inside the call), even when the caller ran every part itself.
      EXPECT_FALSE(s.on_caller) << "round " << round;
      EXPECT_EQ(calls.load(), 1);
      if (n == 0) {
        EXPECT_EQ(s.ec, errc::empty_batch);
      } else {
        EXPECT_FALSE(s.ec) << s.ec.message();
        ASSERT_EQ(s.results.size(), n);
        const bool unknown = round % 4 == 2;
        for (const item_result& r : s.results) {
          if (unknown) {
            EXPECT_EQ(r.error, errc::task_not_found);
          } else {
            EXPECT_FALSE(r.error) << r.error.message();
          }
        }
      }
    }
  }
}

// A small batch completes while every engine thread is blocked: it ran on the caller's
// thread, which is the path the test above checks (no subscriber: see the next test).
TEST(EngineInline, SmallBatchRunsWhileEveryEngineThreadIsBlocked) {
  engine eng({.threads = 1, .shards = 2});
  const task_spec t = make_task(S::incremental_transfer);
  register_ok(eng, {t});
  // A handler without an executor runs on the engine's only thread; this one holds it.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> holding;
  eng.async_count([&holding, released](error_code, state_counts) {
    holding.set_value();
    released.wait();
  });
  holding.get_future().wait();
  EXPECT_FALSE(pause_one(eng, t.id));  // would hang if it needed the engine thread
  EXPECT_EQ(state_of(eng, t.id), S::paused);
  release.set_value();
}

// =========================================================================================
// Per-item results in request order, whatever ran inline
// =========================================================================================

/// A batch over a registry built for it: items of every outcome, in a shuffled order.
struct scenario {
  std::vector<registration> registry;
  std::vector<pause_item> items;
  std::vector<errc> expected;                 ///< per item; errc{} for success
  std::vector<std::optional<S>> state_after;  ///< per item; empty when the status is unknown
};

scenario make_scenario(std::size_t n, std::uint64_t seed) {
  scenario sc;
  for (std::size_t k = 0; k < n; ++k) {
    switch (k % 5) {
      case 0: {  // a standalone task: paused
        const task_spec t = make_task(S::incremental_transfer);
        sc.registry.push_back(t);
        sc.items.push_back({t.id, pause_mode::target});
        sc.expected.push_back(errc{});
        sc.state_after.push_back(S::paused);
        break;
      }
      case 1: {  // a family child, which usually lives on another shard than its home
        const family_spec f = make_family();
        sc.registry.push_back(f);
        sc.items.push_back({k % 2 ? f.forward.id : f.backward.id, pause_mode::all});
        sc.expected.push_back(errc{});
        sc.state_after.push_back(S::paused);
        break;
      }
      case 2: {  // not pausable
        const task_spec t = make_task(S::configuration);
        sc.registry.push_back(t);
        sc.items.push_back({t.id, pause_mode::target});
        sc.expected.push_back(errc::invalid_state);
        sc.state_after.push_back(S::configuration);
        break;
      }
      case 3:  // unknown
        sc.items.push_back({job_id::mint(), pause_mode::target});
        sc.expected.push_back(errc::task_not_found);
        sc.state_after.push_back(std::nullopt);
        break;
      default: {  // another project's task
        const task_spec t = make_task(S::full_transfer, task_kind::sync, kOtherProject);
        sc.registry.push_back(t);
        sc.items.push_back({t.id, pause_mode::target});
        sc.expected.push_back(errc::task_not_found);
        sc.state_after.push_back(std::nullopt);
        break;
      }
    }
  }
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::shuffle(order.begin(), order.end(), std::mt19937_64(seed));
  scenario shuffled{sc.registry, {}, {}, {}};
  for (const std::size_t i : order) {
    shuffled.items.push_back(sc.items[i]);
    shuffled.expected.push_back(sc.expected[i]);
    shuffled.state_after.push_back(sc.state_after[i]);
  }
  return shuffled;
}

std::vector<job_id> item_ids(const std::vector<pause_item>& items) {
  std::vector<job_id> ids;
  for (const pause_item& p : items) ids.push_back(p.id);
  return ids;
}

/// Checks a pause's results against the scenario; reports the first few mismatches only.
void expect_pause_results(const scenario& sc, const batch_result& r) {
  ASSERT_EQ(r.size(), sc.items.size());
  int reported = 0;
  for (std::size_t i = 0; i < r.size() && reported < 5; ++i) {
    const error_code want = sc.expected[i] == errc{} ? error_code() : error_code(sc.expected[i]);
    if (r[i].id != sc.items[i].id || r[i].error != want) {
      ++reported;
      ADD_FAILURE() << "item " << i << ": id " << r[i].id.to_string() << " error '"
                    << r[i].error.message() << "'; want id " << sc.items[i].id.to_string()
                    << " error '" << want.message() << "'";
    }
  }
}

void expect_status_results(const scenario& sc, const std::vector<status_result>& r) {
  ASSERT_EQ(r.size(), sc.items.size());
  int reported = 0;
  for (std::size_t i = 0; i < r.size() && reported < 5; ++i) {
    const std::optional<S>& want = sc.state_after[i];
    const bool ok = r[i].id == sc.items[i].id && (want ? !r[i].error && r[i].state == *want
                                                       : r[i].error == errc::task_not_found);
    if (!ok) {
      ++reported;
      ADD_FAILURE() << "status item " << i << ": id " << r[i].id.to_string() << " error '"
                    << r[i].error.message() << "' state " << to_string(r[i].state);
    }
  }
}

constexpr std::size_t kBatchSizes[] = {1, 10, 300, 5000};

TEST(EngineInline, FutureResultsAreInRequestOrder) {
  for (const engine_options& options : option_sets()) {
    for (const std::size_t n : kBatchSizes) {
      SCOPED_TRACE(describe(options) + " batch of " + std::to_string(n));
      engine eng(options);
      const scenario sc = make_scenario(n, n);
      expect_all_ok(eng.register_tasks(sc.registry));

      std::future<batch_result> paused =
          eng.async_pause(kProject, sc.items, boost::asio::use_future);
      expect_pause_results(sc, paused.get());
      std::future<std::vector<status_result>> status =
          eng.async_status(kProject, item_ids(sc.items), boost::asio::use_future);
      expect_status_results(sc, status.get());
      if (HasFailure()) return;
    }
  }
}

boost::asio::awaitable<void> pause_then_status(engine& eng, const scenario& sc,
                                               std::optional<batch_result>& paused,
                                               std::optional<std::vector<status_result>>& status) {
  std::vector<pause_item> items = sc.items;
  paused = co_await eng.async_pause(kProject, std::move(items), boost::asio::use_awaitable);
  status = co_await eng.async_status(kProject, item_ids(sc.items), boost::asio::use_awaitable);
}

TEST(EngineInline, CoroutineResultsAreInRequestOrder) {
  for (const engine_options& options : option_sets()) {
    for (const std::size_t n : kBatchSizes) {
      SCOPED_TRACE(describe(options) + " batch of " + std::to_string(n));
      engine eng(options);
      const scenario sc = make_scenario(n, n + 1);
      expect_all_ok(eng.register_tasks(sc.registry));

      boost::asio::io_context ctx;  // the caller's own
      std::optional<batch_result> paused;
      std::optional<std::vector<status_result>> status;
      std::exception_ptr failure;
      bool finished = false;
      boost::asio::co_spawn(ctx, pause_then_status(eng, sc, paused, status),
                            [&](std::exception_ptr e) {
                              failure = e;
                              finished = true;
                            });
      ctx.run();  // returns once the coroutine is done: the engine tracks the context's work
      ASSERT_TRUE(finished);
      ASSERT_FALSE(failure);
      ASSERT_TRUE(paused.has_value());
      ASSERT_TRUE(status.has_value());
      expect_pause_results(sc, *paused);
      expect_status_results(sc, *status);
      if (HasFailure()) return;
    }
  }
}

// A handler bound to an executor the engine cannot post to directly (a strand over a
// type-erased executor) goes through an engine thread first; the io_context it belongs to
// must not run out of work meanwhile: run() returns only after the handler ran.
TEST(EngineInline, HandlerOnAnyExecutorKeepsItsContextBusyUntilItRuns) {
  engine eng(small_options());
  const task_spec t = make_task(S::incremental_transfer);
  register_ok(eng, {t});
  for (int round = 0; round < 200; ++round) {
    boost::asio::io_context io;
    auto strand = boost::asio::make_strand(boost::asio::any_io_executor(io.get_executor()));
    bool ran = false;
    std::vector<pause_item> items{{t.id, pause_mode::target}};
    if (round % 2 == 0) {
      eng.async_pause(kProject, std::move(items),
                      boost::asio::bind_executor(strand, [&](error_code ec, batch_result r) {
                        EXPECT_FALSE(ec);
                        EXPECT_EQ(r.size(), 1U);
                        ran = true;
                      }));
    } else {
      eng.async_resume(kProject, {t.id},
                       boost::asio::bind_executor(strand, [&](error_code ec, batch_result r) {
                         EXPECT_FALSE(ec);
                         EXPECT_EQ(r.size(), 1U);
                         ran = true;
                       }));
    }
    io.run();
    ASSERT_TRUE(ran) << "run() returned before the handler ran, round " << round;
  }
}

// A worker event outside the enum has no row: the item fails, nothing changes.
// =========================================================================================
// Subscribers: callbacks stay on engine threads
// =========================================================================================

TEST(EngineInline, WhileSubscribedCallbacksRunOnEngineThreadsAndRefuseBlockingCalls) {
  engine eng(small_options());
  const task_spec t = make_task(S::incremental_transfer);
  const task_spec other = make_task(S::incremental_transfer);
  register_ok(eng, {t, other});
  const std::thread::id caller = std::this_thread::get_id();

  struct nested_results {
    bool on_caller = false;
    error_code pause_ec;
    std::size_t pause_results = 0;
    error_code count_ec;
    error_code get_thrown;
    bool async_returned_first = false;
    error_code async_ec;
    std::vector<status_result> async_status;
  };
  // Shared with the nested asynchronous call, which outlives the subscriber's call.
  auto nested = std::make_shared<nested_results>();
  std::atomic<bool> acted{false};
  std::promise<void> blocking_done;
  std::promise<void> async_done;
  std::atomic<bool> async_started{false};

  subscription sub = eng.subscribe([&, nested](const state_change& c) {
    if (c.id != t.id || c.to != S::paused || acted.exchange(true)) return;
    nested->on_caller = std::this_thread::get_id() == caller;
    nested->pause_results =
        eng.pause(kProject, {pause_item{other.id, pause_mode::all}}, nested->pause_ec).size();
    eng.count(nested->count_ec);
    try {
      eng.get(kProject, other.id);
    } catch (const boost::system::system_error& e) {
      nested->get_thrown = e.code();
    }
    blocking_done.set_value();

    eng.async_status(
        kProject, {t.id, other.id},
        [nested, &async_started, &async_done](error_code ec, std::vector<status_result> r) {
          nested->async_returned_first = async_started.load();
          nested->async_ec = ec;
          nested->async_status = std::move(r);
          async_done.set_value();
        });
    async_started = true;
  });

  // A batch of one, which would run inline without the subscription.
  EXPECT_FALSE(pause_one(eng, t.id));
  ASSERT_EQ(blocking_done.get_future().wait_for(kHangGuard), std::future_status::ready);
  EXPECT_FALSE(nested->on_caller) << "a callback ran on the calling thread";
  EXPECT_EQ(nested->pause_ec, errc::would_deadlock);
  EXPECT_EQ(nested->pause_results, 0U);
  EXPECT_EQ(nested->count_ec, errc::would_deadlock);
  EXPECT_EQ(nested->get_thrown, errc::would_deadlock);

  // The asynchronous call completed later, normally, after the change that triggered it.
  ASSERT_EQ(async_done.get_future().wait_for(kHangGuard), std::future_status::ready);
  EXPECT_TRUE(nested->async_returned_first) << "completed inside the initiating call";
  EXPECT_FALSE(nested->async_ec) << nested->async_ec.message();
  ASSERT_EQ(nested->async_status.size(), 2U);
  EXPECT_EQ(nested->async_status[0].id, t.id);
  EXPECT_FALSE(nested->async_status[0].error);
  EXPECT_EQ(nested->async_status[0].state, S::paused);
  EXPECT_EQ(nested->async_status[1].id, other.id);
  EXPECT_FALSE(nested->async_status[1].error);
  EXPECT_EQ(nested->async_status[1].state, S::incremental_transfer) << "the refused pause ran";
}

// Once the last subscription is gone from every shard, small batches run inline again.
TEST(EngineInline, SmallBatchesRunInlineAgainAfterUnsubscribing) {
  engine eng({.threads = 1, .shards = 2});
  const task_spec t = make_task(S::incremental_transfer);
  register_ok(eng, {t});
  subscription sub = eng.subscribe([](const state_change&) {});
  sub.reset();
  EXPECT_EQ(eng.count().total(), 1U);  // after the removals posted before it
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> holding;
  eng.async_count([&holding, released](error_code, state_counts) {
    holding.set_value();
    released.wait();
  });
  holding.get_future().wait();
  EXPECT_FALSE(pause_one(eng, t.id));  // would hang if it still needed the engine thread
  release.set_value();
}

// =========================================================================================
// One caller's operations are applied in the order it started them
// =========================================================================================

TEST(EngineInline, OneCallersOperationsApplyInTheOrderStarted) {
  // Each round: a large pause (tracked tasks and fillers: one part may run here, the other
  // is posted), then a small resume and a small pause of one tracked task (inline when its
  // shard has nothing queued), then a large resume. Nothing waits in between, so the small
  // ones would overtake the large pause's posted part if they ran inline regardless.
  engine eng({.threads = 2, .shards = 2});
  std::vector<task_spec> tracked;
  for (int i = 0; i < 8; ++i) tracked.push_back(make_task(S::incremental_transfer));
  std::vector<task_spec> fillers;
  for (int i = 0; i < 400; ++i) fillers.push_back(make_task(S::incremental_transfer));
  std::vector<task_spec> load;
  for (int i = 0; i < 3000; ++i) load.push_back(make_task(S::incremental_transfer));
  register_ok(eng, registrations(tracked));
  register_ok(eng, registrations(fillers));
  register_ok(eng, registrations(load));

  // Load keeps both shards' strands busy: a chain of large batches, each started from the
  // previous one's handler, on an engine thread, so that every part of them is posted.
  // Some of this thread's parts then find their shard's strand with work queued.
  std::vector<pause_item> load_pauses;
  for (const task_spec& l : load) load_pauses.push_back({l.id, pause_mode::target});
  const std::vector<job_id> load_ids = ids_of(load);
  std::atomic<bool> stop_load{false};
  std::atomic<int> load_failures{0};
  std::mutex load_mutex;
  std::condition_variable load_cv;
  bool load_stopped = false;
  std::function<void(bool)> step = [&](bool pause) {
    if (stop_load) {
      std::lock_guard lock(load_mutex);
      load_stopped = true;
      load_cv.notify_all();
      return;
    }
    if (pause) {
      eng.async_pause(kProject, load_pauses, [&](error_code ec, batch_result r) {
        if (ec || r.size() != load_pauses.size()) ++load_failures;
        step(false);
      });
    } else {
      eng.async_resume(kProject, load_ids, [&](error_code ec, batch_result r) {
        if (ec || r.size() != load_ids.size()) ++load_failures;
        step(true);
      });
    }
  };
  step(true);

  std::vector<job_id> large_ids = ids_of(tracked);
  for (const task_spec& f : fillers) large_ids.push_back(f.id);
  std::vector<pause_item> large_pauses;
  for (const job_id& id : large_ids) large_pauses.push_back({id, pause_mode::target});

  std::atomic<int> started{0};
  std::atomic<int> completed{0};
  std::atomic<int> failures{0};
  std::mutex done_mutex;
  std::condition_variable done_cv;
  auto checker = [&](std::size_t n) {
    return [&, n](error_code ec, batch_result r) {
      if (ec || r.size() != n) ++failures;
      for (const item_result& item : r) {
        if (item.error) ++failures;
      }
      std::lock_guard lock(done_mutex);
      ++completed;
      done_cv.notify_all();
    };
  };
  auto wait_for_own = [&] {
    std::unique_lock lock(done_mutex);
    return done_cv.wait_for(lock, kHangGuard, [&] { return completed == started; });
  };
  // Every 25 rounds this thread lets its own operations drain, so that its next ones may
  // find a shard idle or loaded.
  std::vector<std::size_t> small_rounds(tracked.size(), 0);
  int rounds = 0;
  bool drained = true;
  for (; rounds < 2000; ++rounds) {
    const std::size_t k = static_cast<std::size_t>(rounds) % tracked.size();
    ++small_rounds[k];
    started += 4;
    eng.async_pause(kProject, large_pauses, checker(large_pauses.size()));
    eng.async_resume(kProject, {tracked[k].id}, checker(1));
    eng.async_pause(kProject, {pause_item{tracked[k].id, pause_mode::target}}, checker(1));
    eng.async_resume(kProject, large_ids, checker(large_ids.size()));
    if (rounds % 25 == 24 && !(drained = wait_for_own())) {
      ++rounds;
      break;
    }
  }
  if (drained) drained = wait_for_own();
  stop_load = true;
  {
    std::unique_lock lock(load_mutex);
    load_cv.wait(lock, [&] { return load_stopped; });
  }
  EXPECT_EQ(load_failures.load(), 0);
  ASSERT_TRUE(drained) << completed.load() << " of " << started.load() << " completed";
  EXPECT_EQ(failures.load(), 0);
  // Every pause found its task running and every resume found it paused, so each is one
  // change (one version): two per round, four in the rounds of its small batches. A small
  // resume applied before the large pause would change nothing, and the pause after it
  // neither.
  for (std::size_t k = 0; k < tracked.size(); ++k) {
    SCOPED_TRACE("tracked task " + std::to_string(k));
    const task_snapshot snap = eng.get(kProject, tracked[k].id);
    EXPECT_EQ(snap.version, 2 * static_cast<std::size_t>(rounds) + 2 * small_rounds[k]);
    EXPECT_EQ(snap.state, S::incremental_transfer);
  }
}

// =========================================================================================
// stop() while batches are being started
// =========================================================================================

TEST(EngineInline, BatchesStartedConcurrentlyWithStopCompleteExactlyOnce) {
  constexpr std::size_t threads = 4;
  constexpr std::size_t per_thread = 300;
  for (int repeat = 0; repeat < 3; ++repeat) {
    SCOPED_TRACE("repeat " + std::to_string(repeat));
    auto eng = std::make_unique<engine>(engine_options{.threads = 2, .shards = 4});
    std::vector<task_spec> tasks;
    for (int i = 0; i < 800; ++i) tasks.push_back(make_task(S::incremental_transfer));
    register_ok(*eng, registrations(tasks));

    // Shared with the handlers: those of batches started after stop() may run later, on
    // another thread.
    struct shared_state {
      explicit shared_state(std::size_t n) : calls(n) {}
      std::vector<std::atomic<int>> calls;  // per batch
      std::atomic<int> wrong{0};
      std::atomic<int> aborted_batches{0};
      std::atomic<std::size_t> completed{0};
      std::mutex mutex;
      std::condition_variable cv;
    };
    const std::size_t total = threads * (per_thread + 1);
    auto state = std::make_shared<shared_state>(total);
    std::atomic<std::size_t> started{0};
    std::atomic<bool> stop_returned{false};

    // Checks one completion: success, or operation_aborted (then either nothing ran, or
    // one result per item, each applied or aborted).
    auto record = [](shared_state& st, std::size_t batch, const std::vector<job_id>& ids,
                     error_code ec, const batch_result& r) {
      if (++st.calls[batch] != 1) ++st.wrong;
      bool any_aborted = false;
      if (ec && ec != boost::asio::error::operation_aborted) ++st.wrong;
      if (r.empty()) {
        if (ec != boost::asio::error::operation_aborted) ++st.wrong;
      } else if (r.size() != ids.size()) {
        ++st.wrong;
      } else {
        for (std::size_t i = 0; i < r.size(); ++i) {
          if (r[i].id != ids[i]) ++st.wrong;
          if (r[i].error == boost::asio::error::operation_aborted) {
            any_aborted = true;
          } else if (r[i].error) {
            ++st.wrong;
          }
        }
        if (any_aborted != (ec == boost::asio::error::operation_aborted)) ++st.wrong;
      }
      if (ec) ++st.aborted_batches;
      std::lock_guard lock(st.mutex);
      ++st.completed;
      st.cv.notify_all();
    };

    auto worker = [&](std::size_t w) {
      std::mt19937_64 rng(w * 7919 + static_cast<std::size_t>(repeat));
      auto start_batch = [&](std::size_t k, bool blocking) {
        const std::size_t batch = w * (per_thread + 1) + k;
        // Small (inline), medium and large (one part inline, the others posted).
        const std::size_t sizes[] = {1, 10, 400};
        const std::size_t n = sizes[rng() % 3];
        std::vector<job_id> ids;
        const std::size_t first = rng() % tasks.size();
        for (std::size_t i = 0; i < n; ++i) ids.push_back(tasks[(first + i) % tasks.size()].id);
        ++started;
        if (blocking) {
          error_code ec;
          const batch_result r = k % 2 ? eng->resume(kProject, ids, ec)
                                       : eng->pause(kProject, {pause_item{ids[0]}}, ec);
          record(*state, batch, k % 2 ? ids : std::vector<job_id>{ids[0]}, ec, r);
        } else if (k % 2) {
          eng->async_resume(kProject, ids,
                            [state, batch, ids, record](error_code ec, batch_result r) {
                              record(*state, batch, ids, ec, r);
                            });
        } else {
          std::vector<pause_item> items;
          for (const job_id& id : ids) items.push_back({id, pause_mode::all});
          eng->async_pause(kProject, std::move(items),
                           [state, batch, ids, record](error_code ec, batch_result r) {
                             record(*state, batch, ids, ec, r);
                           });
        }
      };
      for (std::size_t k = 0; k < per_thread; ++k) start_batch(k, k % 5 == 4);
      // One more once stop() has returned: it must be aborted at once.
      while (!stop_returned) std::this_thread::yield();
      start_batch(per_thread, false);
    };

    std::vector<std::thread> workers;
    for (std::size_t w = 0; w < threads; ++w) workers.emplace_back(worker, w);
    while (started < threads * per_thread / 4) std::this_thread::yield();
    std::thread second_stopper([&] { eng->stop(); });  // stop() from two threads at once
    eng->stop();
    stop_returned = true;
    second_stopper.join();
    for (std::thread& t : workers) t.join();
    {
      std::unique_lock lock(state->mutex);
      ASSERT_TRUE(state->cv.wait_for(lock, kHangGuard, [&] { return state->completed == total; }))
          << state->completed.load() << " of " << total << " batches completed";
    }
    eng.reset();  // the destructor stops again: nothing left, nothing run twice
    for (std::size_t b = 0; b < total; ++b) EXPECT_EQ(state->calls[b].load(), 1) << "batch " << b;
    EXPECT_EQ(state->wrong.load(), 0);
    // At least the batches started after stop() returned were aborted.
    EXPECT_GE(state->aborted_batches.load(), static_cast<int>(threads));
  }
}

}  // namespace
}  // namespace taskorch::test
