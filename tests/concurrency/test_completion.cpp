// Completion exactly once: every operation's handler runs exactly once, never inside the
// initiating call, under concurrent load from several threads and while engine.stop() (or
// the destructor) races with in-flight batches; after stop every operation completes,
// with operation_aborted where it did not run; nothing hangs (every wait has a timeout,
// and a missed one aborts the test program rather than hanging ctest).
//
// Handlers come in three flavours: plain callbacks (run on an engine thread), callbacks
// bound to a user io_context (the engine must keep that context's work counted until it
// completes, and release it then: the context's run() must return), and asio::use_future.
//
// Environment: TASKORCH_STOP_ROUNDS.
#include "stress_driver.hpp"
#include <taskorch/engine.hpp>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/system/system_error.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <latch>
#include <memory>
#include <optional>
#include <random>
#include <thread>
#include <vector>

namespace taskorch::test {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

const std::chrono::seconds wait_limit = under_tsan() ? 180s : 30s;
/// stop() waits for at most a few hundred queued operations: seconds are plenty.
const std::chrono::seconds stop_limit = under_tsan() ? 60s : 10s;

/// Ends the program when something hangs: a hung engine would otherwise hang ctest too.
[[noreturn]] void fail_hard(const std::string& what) {
  std::fprintf(stderr, "FATAL (hang): %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

/// Waits for `f`, or fails hard after the limit.
template <class T>
void wait_or_die(std::future<T>& f, const std::string& what) {
  if (f.wait_for(wait_limit) != std::future_status::ready) fail_hard(what);
}

/// Runs `fn` on its own thread and waits for it, or fails hard after the limit.
template <class Fn>
void run_or_die(Fn fn, const std::string& what, std::chrono::seconds limit = wait_limit) {
  std::packaged_task<void()> task(std::move(fn));
  std::future<void> done = task.get_future();
  std::thread t(std::move(task));
  if (done.wait_for(limit) != std::future_status::ready) {
    t.detach();
    fail_hard(what);
  }
  t.join();
  done.get();
}

/// Set on a client thread while it is inside an initiating function.
thread_local bool initiating = false;

enum class kind : int {
  pause,
  resume,
  report,
  status,
  get,
  list,
  count,
  export_all,
  register_one,
  purge,
  empty_batch,
  duplicate_ids,
  not_a_worker_event,
  subscribe,
  pause_future,
  start,
  remove,  ///< batch-jobs
  kinds
};

/// One operation and what its handler saw.
struct op_state {
  kind what = kind::pause;
  std::size_t requested = 0;  ///< items asked for
  bool after_stop = false;    ///< started after stop() returned
  bool bound = false;         ///< handler bound to the user io_context
  std::atomic<int> calls{0};
  std::atomic<bool> inline_call{false};
  error_code ec;
  std::size_t answers = 0;  ///< items answered (batches, status)
  std::size_t aborted_items = 0;
  bool ids_in_order = true;
  bool subscribed = false;
  std::promise<void> done;
  std::future<void> future = done.get_future();
  std::future<batch_result> result_future;  ///< for pause_future
};
using op_ptr = std::shared_ptr<op_state>;

void summarize(op_state& st, const batch_result& r, const std::vector<job_id>& ids) {
  st.answers = r.size();
  for (std::size_t i = 0; i < r.size(); ++i) {
    if (r[i].error == asio::error::operation_aborted) ++st.aborted_items;
    if (i < ids.size() && r[i].id != ids[i]) st.ids_in_order = false;
  }
}

void summarize(op_state& st, const std::vector<status_result>& r, const std::vector<job_id>& ids) {
  st.answers = r.size();
  for (std::size_t i = 0; i < r.size(); ++i) {
    if (r[i].error == asio::error::operation_aborted) ++st.aborted_items;
    if (i < ids.size() && r[i].id != ids[i]) st.ids_in_order = false;
  }
}

void summarize(op_state& st, subscription& s, const std::vector<job_id>&) {
  st.subscribed = s.active();
  s.reset();
}

template <class T>
void summarize(op_state&, const T&, const std::vector<job_id>&) {}

/// The tasks an engine is loaded with, and the operations issued on them.
class workload {
 public:
  workload(engine& eng, std::uint64_t seed) : eng_(eng), rng_(seed) {
    project_ = *project_id::parse("0123456789abcdef0123456789abcdef");
    std::vector<registration> regs;
    for (int i = 0; i < 6; ++i) {
      task_spec t{.id = job_id::mint(), .project = project_};
      t.state = random_state(rng_);
      if (t.state == task_state::paused) t.pause = random_pause(rng_);
      if (t.state == task_state::waiting_for_start) t.start_time = random_far_start(rng_);
      ids_.push_back(t.id);
      regs.emplace_back(t);
    }
    family_spec f{.id = job_id::mint(), .project = project_};
    f.forward = {.id = job_id::mint(), .state = task_state::full_transfer};
    f.backward = {.id = job_id::mint(), .state = task_state::incremental_transfer};
    ids_.insert(ids_.end(), {f.id, f.forward.id, f.backward.id});
    regs.emplace_back(f);
    for (const item_result& r : eng_.register_tasks(std::move(regs))) {
      if (!r.ok()) ADD_FAILURE() << "registration failed: " << r.error.message();
    }
  }

  /// Starts one random operation; `ctx` receives bound handlers.
  op_ptr start(std::mt19937_64& rng, asio::io_context& ctx, bool after_stop) {
    auto st = std::make_shared<op_state>();
    st->what = static_cast<kind>(rng() % static_cast<int>(kind::kinds));
    st->after_stop = after_stop;
    st->bound = rng() % 4 == 0;
    std::vector<job_id> ids = pick(rng);
    if (st->what == kind::register_one) ids = {job_id::mint()};  // a fresh task
    st->requested = ids.size();

    auto handler = [st, ids](error_code ec, auto result) mutable {
      if (initiating) st->inline_call = true;
      if (st->calls.fetch_add(1) != 0) return;  // counted; a second call changes nothing else
      st->ec = ec;
      summarize(*st, result, ids);
      st->done.set_value();
    };
    initiating = true;
    if (st->bound) {
      dispatch(rng, *st, ids, asio::bind_executor(ctx.get_executor(), std::move(handler)));
    } else {
      dispatch(rng, *st, ids, std::move(handler));
    }
    initiating = false;
    return st;
  }

  const project_id& project() const noexcept { return project_; }

 private:
  std::vector<job_id> pick(std::mt19937_64& rng) {
    std::vector<job_id> pool = ids_;
    std::shuffle(pool.begin(), pool.end(), rng);
    pool.resize(1 + rng() % 4);
    return pool;
  }

  template <class Handler>
  void dispatch(std::mt19937_64& rng, op_state& st, const std::vector<job_id>& ids, Handler&& h) {
    std::vector<pause_item> pauses;
    std::vector<event_item> events;
    std::vector<start_item> starts;
    std::vector<delete_item> deletes;
    for (const job_id& id : ids) {
      pauses.push_back({id, rng() % 2 == 0 ? pause_mode::all : pause_mode::target});
      events.push_back({id, random_event(rng)});
      starts.push_back({id, random_start_item_time(rng)});
      deletes.push_back({id, random_delete_type(rng)});
    }
    switch (st.what) {
      case kind::pause:
        eng_.async_pause(project_, pauses, std::forward<Handler>(h));
        break;
      case kind::resume:
        eng_.async_resume(project_, ids, std::forward<Handler>(h));
        break;
      case kind::report:
        eng_.async_report(project_, events, std::forward<Handler>(h));
        break;
      case kind::status:
        eng_.async_status(project_, ids, std::forward<Handler>(h));
        break;
      case kind::get:
        eng_.async_get(project_, ids.front(), std::forward<Handler>(h));
        break;
      case kind::list:
        eng_.async_list(project_, std::forward<Handler>(h));
        break;
      case kind::count:
        eng_.async_count(std::forward<Handler>(h));
        break;
      case kind::export_all:
        eng_.async_export(std::forward<Handler>(h));
        break;
      case kind::register_one: {
        st.requested = 1;
        task_spec t{.id = ids.front(), .project = project_, .state = task_state::full_transfer};
        eng_.async_register({t}, std::forward<Handler>(h));
        break;
      }
      case kind::purge:
        eng_.async_purge(project_, ids, std::forward<Handler>(h));
        break;
      case kind::empty_batch:
        st.requested = 0;
        eng_.async_pause(project_, {}, std::forward<Handler>(h));
        break;
      case kind::duplicate_ids: {
        st.requested = 2;
        eng_.async_resume(project_, {ids.front(), ids.front()}, std::forward<Handler>(h));
        break;
      }
      case kind::not_a_worker_event:
        // A command (or the schedule's start) reported as a worker's event.
        eng_.async_report(project_,
                          {{ids.front(), rng() % 2 == 0 ? task_event::pause : task_event::stop}},
                          std::forward<Handler>(h));
        break;
      case kind::subscribe:
        eng_.async_subscribe([](const state_change&) {}, std::forward<Handler>(h));
        break;
      case kind::start:
        eng_.async_start(project_, starts, std::forward<Handler>(h));
        break;
      case kind::remove:
        eng_.async_delete(project_, deletes, std::forward<Handler>(h));
        break;
      case kind::pause_future:
        // The completion token decides; use_future has its own once-only promise.
        st.result_future = eng_.async_pause(project_, pauses, asio::use_future);
        st.calls = 1;
        st.done.set_value();
        break;
      case kind::kinds:
        break;
    }
  }

  engine& eng_;
  std::mt19937_64 rng_;
  project_id project_;
  std::vector<job_id> ids_;
};

/// Checks what one operation's handler saw; returns the problem, or an empty string.
std::string verify(op_state& st) {
  const bool aborted = st.ec == asio::error::operation_aborted;
  if (st.calls.load() != 1) return fmt::format("handler ran {} times", st.calls.load());
  if (st.inline_call) return "handler ran inside the initiating function";
  if (st.what == kind::pause_future) {
    try {
      const batch_result r = st.result_future.get();
      if (st.after_stop) return "use_future: succeeded after stop";
      if (r.size() != st.requested) return "use_future: wrong number of results";
      for (const item_result& i : r) {
        if (i.error == asio::error::operation_aborted) return "use_future: aborted item, ok batch";
      }
    } catch (const boost::system::system_error& e) {
      if (e.code() != asio::error::operation_aborted) {
        return "use_future: unexpected error " + e.code().message();
      }
    }
    return {};
  }
  if (st.after_stop) {
    if (!aborted) return "started after stop but completed with: " + st.ec.message();
    if (st.answers != 0) return "started after stop but answered items";
    return {};
  }
  if (!st.ids_in_order) return "results not in request order";
  switch (st.what) {
    case kind::empty_batch:
      return st.ec == errc::empty_batch || aborted ? "" : "empty batch: " + st.ec.message();
    case kind::duplicate_ids:
      return st.ec == errc::duplicate_job_id || aborted ? "" : "duplicates: " + st.ec.message();
    case kind::not_a_worker_event:
      return st.ec == errc::not_a_worker_event || aborted
                 ? ""
                 : "a command as a worker event: " + st.ec.message();
    case kind::get:
      return !st.ec || st.ec == errc::task_not_found || aborted ? "" : "get: " + st.ec.message();
    case kind::list:
    case kind::count:
    case kind::export_all:
      return !st.ec || aborted ? "" : "broadcast: " + st.ec.message();
    case kind::subscribe:
      if (st.ec && !aborted) return "subscribe: " + st.ec.message();
      return st.subscribed == !st.ec ? "" : "subscribe: subscription vs error code";
    default:
      break;
  }
  // Item batches: pause, resume, report, start, delete, status, register, purge.
  if (st.ec && !aborted) return "batch refused: " + st.ec.message();
  if (!aborted) {
    if (st.answers != st.requested) return "a complete batch with missing items";
    if (st.aborted_items != 0) return "an aborted item in a batch that did not abort";
    return {};
  }
  if (st.answers == 0) return {};  // refused whole, before anything ran
  if (st.answers != st.requested) return "an aborted batch with missing items";
  if (st.aborted_items == 0) return "an aborted batch without an aborted item";
  return {};
}

/// Runs a user io_context on its own thread until its work runs out.
class user_context {
 public:
  user_context() : guard_(asio::make_work_guard(ctx_)), thread_([this] { ctx_.run(); }) {}
  ~user_context() {
    guard_.reset();
    if (thread_.joinable()) thread_.join();
  }
  asio::io_context& get() noexcept { return ctx_; }
  /// Drops the guard: run() returns once the engine's outstanding work is released.
  void finish(const std::string& what) {
    guard_.reset();
    run_or_die([this] { thread_.join(); }, what);
  }

 private:
  asio::io_context ctx_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::thread thread_;
};

struct totals {
  std::size_t ops = 0;
  std::size_t aborted = 0;
  std::size_t after_stop = 0;
  std::size_t bound = 0;
  std::size_t partly_run = 0;  ///< aborted batches in which some items ran
};

/// Waits for every op, then verifies each.
void settle(std::vector<op_ptr>& ops, totals& t, const std::string& where) {
  for (const op_ptr& op : ops) {
    wait_or_die(op->future, where + ": an operation never completed");
    if (op->what == kind::pause_future) {
      wait_or_die(op->result_future, where + ": a use_future operation never completed");
    }
  }
  for (const op_ptr& op : ops) {
    const std::string problem = verify(*op);
    EXPECT_TRUE(problem.empty()) << where << ": op kind " << static_cast<int>(op->what)
                                 << (op->bound ? " (bound)" : "") << ": " << problem;
    ++t.ops;
    if (op->ec == asio::error::operation_aborted) ++t.aborted;
    if (op->after_stop) ++t.after_stop;
    if (op->bound) ++t.bound;
    if (op->aborted_items != 0 && op->aborted_items < op->answers) ++t.partly_run;
  }
}

constexpr std::size_t clients = 4;

TEST(CompletionExactlyOnce, EveryHandlerRunsOnceUnderConcurrentLoad) {
  engine eng({.threads = 3, .shards = 4});
  user_context ctx;
  workload load(eng, 1);
  constexpr std::size_t per_client = 1500;
  std::vector<std::vector<op_ptr>> issued(clients);
  std::latch start(clients);
  std::vector<std::thread> threads;
  for (std::size_t c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      std::mt19937_64 rng(100 + c);
      start.arrive_and_wait();
      for (std::size_t i = 0; i < per_client; ++i) {
        issued[c].push_back(load.start(rng, ctx.get(), false));
        // Keep a bounded number in flight so the load stays overlapping but finite.
        if (i >= 64) wait_or_die(issued[c][i - 64]->future, "load: an operation hung");
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::vector<op_ptr> all;
  for (auto& v : issued) all.insert(all.end(), v.begin(), v.end());
  totals t;
  settle(all, t, "load");
  ctx.finish("load: the user io_context kept outstanding work");
  eng.stop();
  for (const op_ptr& op : all) EXPECT_EQ(op->calls.load(), 1);
  EXPECT_EQ(t.aborted, 0U);
  std::printf(
      "[ completion ] %zu operations from %zu threads, %zu with bound handlers: each "
      "handler ran once\n",
      t.ops, clients, t.bound);
}

/// One round of stop (or destruction) racing with clients.
enum class ending { stop, stop_twice, destroy };

totals stop_round(std::uint64_t seed, ending how) {
  std::mt19937_64 rng(seed);
  const std::size_t threads = 2 + rng() % 3;
  const std::size_t shards = 2 + rng() % 3;
  user_context ctx;
  auto eng = std::make_unique<engine>(engine_options{.threads = threads, .shards = shards});
  workload load(*eng, seed);
  std::atomic<bool> stopped{false};
  std::atomic<std::size_t> started{0};
  constexpr std::size_t per_client = 200;
  std::vector<std::vector<op_ptr>> issued(clients);
  std::latch start(clients + 1);
  std::vector<std::thread> workers;
  const std::string where = fmt::format("stop round {} (threads={} shards={} ending={})", seed,
                                        threads, shards, static_cast<int>(how));
  for (std::size_t c = 0; c < clients; ++c) {
    workers.emplace_back([&, c] {
      std::mt19937_64 r(seed * 31 + c);
      start.arrive_and_wait();
      for (std::size_t i = 0; i < per_client; ++i) {
        issued[c].push_back(load.start(r, ctx.get(), stopped.load()));
        started.fetch_add(1);
        if (r() % 8 == 0) std::this_thread::yield();
      }
    });
  }
  start.arrive_and_wait();
  // Stop once a random share of the operations has started, so that some are queued on
  // the strands, some half done, and some start after stop.
  const std::size_t stop_after = 20 + rng() % (clients * per_client - 40);
  while (started.load() < stop_after) std::this_thread::yield();
  totals t;
  switch (how) {
    case ending::stop:
      run_or_die([&] { eng->stop(); }, where + ": stop() hung", stop_limit);
      stopped = true;
      break;
    case ending::stop_twice:
      run_or_die(
          [&] {
            std::thread other([&] { eng->stop(); });
            eng->stop();
            other.join();
          },
          where + ": concurrent stop() calls hung", stop_limit);
      stopped = true;
      break;
    case ending::destroy:
      break;
  }
  for (std::thread& w : workers) w.join();
  if (how == ending::destroy) {
    run_or_die([&] { eng.reset(); }, where + ": the destructor hung", stop_limit);
  } else {
    // Blocking wrappers after stop fail at once, without hanging.
    run_or_die(
        [&] {
          error_code ec;
          eng->count(ec);
          EXPECT_EQ(ec, asio::error::operation_aborted);
          eng->pause(load.project(), {{job_id::mint(), pause_mode::all}}, ec);
          EXPECT_EQ(ec, asio::error::operation_aborted);
        },
        where + ": a blocking call after stop hung");
    run_or_die([&] { eng->stop(); }, where + ": a second stop() hung", stop_limit);
  }
  std::vector<op_ptr> all;
  for (auto& v : issued) all.insert(all.end(), v.begin(), v.end());
  settle(all, t, where);
  ctx.finish(where + ": the user io_context kept outstanding work");
  eng.reset();
  // Nothing may run a handler a second time later, either.
  for (const op_ptr& op : all) EXPECT_EQ(op->calls.load(), 1) << where;
  return t;
}

std::size_t stop_rounds() {
  return env_or("TASKORCH_STOP_ROUNDS", 60);  // ~3 s in Debug, ~5 s under clang TSan
}

TEST(CompletionExactlyOnce, StopRacingWithInFlightBatchesCompletesEveryOperationOnce) {
  totals sum;
  const std::size_t rounds = stop_rounds();
  for (std::size_t round = 0; round < rounds; ++round) {
    const totals t = stop_round(1000 + round, ending::stop);
    sum.ops += t.ops;
    sum.aborted += t.aborted;
    sum.after_stop += t.after_stop;
    sum.bound += t.bound;
    sum.partly_run += t.partly_run;
    if (HasFailure()) break;
  }
  std::printf(
      "[ completion ] stop racing: %zu rounds, %zu operations (%zu aborted, of which "
      "%zu started after stop and %zu partly run; %zu bound): each handler ran once\n",
      rounds, sum.ops, sum.aborted, sum.after_stop, sum.partly_run, sum.bound);
  EXPECT_GT(sum.aborted, 0U);
}

TEST(CompletionExactlyOnce, DestroyingTheEngineCompletesEveryOperationOnce) {
  totals sum;
  const std::size_t rounds = stop_rounds() / 2;
  for (std::size_t round = 0; round < rounds; ++round) {
    const totals t = stop_round(5000 + round, ending::destroy);
    sum.ops += t.ops;
    sum.aborted += t.aborted;
    if (HasFailure()) break;
  }
  std::printf("[ completion ] destructor racing: %zu rounds, %zu operations (%zu aborted)\n",
              rounds, sum.ops, sum.aborted);
}

TEST(CompletionExactlyOnce, ConcurrentStopCallsFromTwoThreads) {
  // engine.hpp: every member function may be called concurrently from any thread except
  // that stop() must not run on an engine thread, and stop() is idempotent.
  totals sum;
  const std::size_t rounds = stop_rounds() / 2;
  for (std::size_t round = 0; round < rounds; ++round) {
    const totals t = stop_round(9000 + round, ending::stop_twice);
    sum.ops += t.ops;
    sum.aborted += t.aborted;
    if (HasFailure()) break;
  }
  std::printf("[ completion ] concurrent stop() calls: %zu rounds, %zu operations\n", rounds,
              sum.ops);
}

}  // namespace
}  // namespace taskorch::test
