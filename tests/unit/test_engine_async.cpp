#include <taskorch/engine.hpp>

// Helpers shared by the engine tests.
#include "engine_test_support.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/system/system_error.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <exception>
#include <future>
#include <memory>
#include <thread>
#include <tuple>
#include <vector>

namespace taskorch::test {
namespace {

using S = task_state;
using E = task_event;

/// Waits for a callback-style completion: returns the handler and the future it fulfils.
template <class Result>
struct callback_waiter {
  std::promise<std::pair<error_code, Result>> promise;
  std::future<std::pair<error_code, Result>> future = promise.get_future();
  std::atomic<int> calls{0};
  auto handler() {
    return [this](error_code ec, Result r) {
      ++calls;
      promise.set_value({ec, std::move(r)});
    };
  }
  std::pair<error_code, Result> get() { return future.get(); }
};

/// Runs a coroutine on a private io_context and rethrows what it threw.
template <class Coroutine>
void run_coroutine(Coroutine coroutine) {
  boost::asio::io_context ctx;
  std::exception_ptr failure;
  bool finished = false;
  boost::asio::co_spawn(ctx, std::move(coroutine), [&](std::exception_ptr e) {
    failure = e;
    finished = true;
  });
  ctx.run();
  EXPECT_TRUE(finished);
  if (failure) std::rethrow_exception(failure);
}

// =========================================================================================
// Every operation with a callback
// =========================================================================================

TEST(EngineAsyncCallback, EveryOperationCompletesOnce) {
  engine eng(small_options());
  const task_spec t = make_task(S::incremental_transfer);
  const task_spec d = make_task(S::configuration);
  {
    callback_waiter<batch_result> w;
    eng.async_register({t, d}, w.handler());
    auto [ec, r] = w.get();
    EXPECT_FALSE(ec);
    expect_all_ok(r, {t.id, d.id});
    EXPECT_EQ(w.calls, 1);
  }
  {
    callback_waiter<subscription> w;
    eng.async_subscribe([](const state_change&) {}, w.handler());
    auto [ec, sub] = w.get();
    EXPECT_FALSE(ec);
    EXPECT_TRUE(sub.active());
  }
  {
    callback_waiter<batch_result> w;
    eng.async_pause(kProject, {pause_item{t.id, pause_mode::all}}, w.handler());
    auto [ec, r] = w.get();
    EXPECT_FALSE(ec);
    expect_all_ok(r, {t.id});
  }
  {
    callback_waiter<batch_result> w;
    eng.async_resume(kProject, {t.id}, w.handler());
    auto [ec, r] = w.get();
    EXPECT_FALSE(ec);
    expect_all_ok(r, {t.id});
  }
  {
    callback_waiter<batch_result> w;
    eng.async_start(kProject, {start_item{d.id}}, w.handler());
    auto [ec, r] = w.get();
    EXPECT_FALSE(ec);
    expect_all_ok(r, {d.id});
    EXPECT_EQ(w.calls, 1);
  }
  {
    callback_waiter<batch_result> w;
    eng.async_report(kProject, {event_item{d.id, E::start_failed}}, w.handler());
    auto [ec, r] = w.get();
    EXPECT_FALSE(ec);
    expect_all_ok(r, {d.id});
  }
  for (delete_type type : {delete_type::force_terminate, delete_type::remove}) {
    callback_waiter<batch_result> w;
    eng.async_delete(kProject, {delete_item{d.id, type}}, w.handler());
    auto [ec, r] = w.get();
    EXPECT_FALSE(ec);
    expect_all_ok(r, {d.id});
    EXPECT_EQ(w.calls, 1);
  }
  {
    callback_waiter<std::vector<status_result>> w;
    eng.async_status(kProject, {t.id, d.id}, w.handler());
    auto [ec, r] = w.get();
    EXPECT_FALSE(ec);
    ASSERT_EQ(r.size(), 2U);
    EXPECT_EQ(r[0].state, S::incremental_transfer);
    EXPECT_EQ(r[1].state, S::deleted);
  }
  {
    callback_waiter<task_snapshot> w;
    eng.async_get(kProject, t.id, w.handler());
    auto [ec, s] = w.get();
    EXPECT_FALSE(ec);
    EXPECT_EQ(s.version, 2U);
  }
  {
    callback_waiter<std::vector<task_snapshot>> w;
    eng.async_list(kProject, w.handler());
    auto [ec, l] = w.get();
    EXPECT_FALSE(ec);
    EXPECT_EQ(l.size(), 2U);
  }
  {
    callback_waiter<state_counts> w;
    eng.async_count(w.handler());
    auto [ec, c] = w.get();
    EXPECT_FALSE(ec);
    EXPECT_EQ(c.total(), 2U);
    EXPECT_EQ(c[S::deleted], 1U);
  }
  {
    callback_waiter<batch_result> w;
    eng.async_purge(kProject, {d.id}, w.handler());
    auto [ec, r] = w.get();
    EXPECT_FALSE(ec);
    expect_all_ok(r, {d.id});
  }
  {
    callback_waiter<std::vector<registration>> w;
    eng.async_export(w.handler());
    auto [ec, regs] = w.get();
    EXPECT_FALSE(ec);
    ASSERT_EQ(regs.size(), 1U);
    EXPECT_EQ(id_of(regs[0]), t.id);
  }
}

TEST(EngineAsyncCallback, WholeBatchErrorsArriveInTheHandler) {
  engine eng(small_options());
  const job_id id = job_id::mint();
  {
    callback_waiter<batch_result> w;
    eng.async_pause(kProject, {}, w.handler());
    EXPECT_EQ(w.get().first, errc::empty_batch);
  }
  {
    callback_waiter<batch_result> w;
    eng.async_resume(kProject, {id, id}, w.handler());
    EXPECT_EQ(w.get().first, errc::duplicate_job_id);
  }
  {
    callback_waiter<batch_result> w;
    eng.async_report(kProject, {event_item{id, E::pause}}, w.handler());
    EXPECT_EQ(w.get().first, errc::not_a_worker_event);
  }
  {
    callback_waiter<batch_result> w;
    eng.async_report(kProject, {event_item{id, E::start}}, w.handler());
    EXPECT_EQ(w.get().first, errc::not_a_worker_event);
  }
  {
    callback_waiter<batch_result> w;
    eng.async_start(kProject, {}, w.handler());
    EXPECT_EQ(w.get().first, errc::empty_batch);
  }
  {
    callback_waiter<batch_result> w;
    eng.async_delete(kProject, {delete_item{id}, delete_item{id, delete_type::remove}},
                     w.handler());
    EXPECT_EQ(w.get().first, errc::duplicate_job_id);
  }
  {
    callback_waiter<batch_result> w;
    eng.async_delete(kProject, {delete_item{id, static_cast<delete_type>(3)}}, w.handler());
    EXPECT_EQ(w.get().first, errc::invalid_item);
  }
  {
    callback_waiter<batch_result> w;
    eng.async_purge(kProject, {}, w.handler());
    EXPECT_EQ(w.get().first, errc::empty_batch);
  }
  {
    callback_waiter<std::vector<status_result>> w;
    eng.async_status(kProject, {}, w.handler());
    EXPECT_EQ(w.get().first, errc::empty_batch);
  }
  {
    callback_waiter<task_snapshot> w;
    eng.async_get(kProject, id, w.handler());
    EXPECT_EQ(w.get().first, errc::task_not_found);
  }
  {
    const task_spec t = make_task();
    callback_waiter<batch_result> w;
    eng.async_register({t, t}, w.handler());
    EXPECT_EQ(w.get().first, errc::duplicate_job_id);
  }
}

TEST(EngineAsyncCallback, ImmediateResultsAreNotDeliveredInsideTheInitiatingCall) {
  engine eng(small_options());
  // A refused batch is known at once; its handler must still run after the call returns,
  // so a handler without an executor runs on an engine thread, not on the caller's.
  for (int i = 0; i < 20; ++i) {
    std::promise<std::thread::id> where;
    eng.async_pause(kProject, {}, [&where](error_code ec, batch_result) {
      EXPECT_EQ(ec, errc::empty_batch);
      where.set_value(std::this_thread::get_id());
    });
    EXPECT_NE(where.get_future().get(), std::this_thread::get_id());
  }
}

TEST(EngineAsyncCallback, HandlerRunsOnItsAssociatedExecutor) {
  engine eng(small_options());
  const task_spec t = make_task(S::incremental_transfer);
  register_ok(eng, {t});
  boost::asio::io_context ctx;
  const std::thread::id me = std::this_thread::get_id();
  int ran = 0;
  // Both a completion known at once and one that crosses the shards.
  eng.async_pause(kProject, {}, boost::asio::bind_executor(ctx, [&](error_code ec, batch_result) {
                    EXPECT_EQ(ec, errc::empty_batch);
                    EXPECT_EQ(std::this_thread::get_id(), me);
                    ++ran;
                  }));
  eng.async_pause(kProject, {pause_item{t.id, pause_mode::target}},
                  boost::asio::bind_executor(ctx, [&](error_code ec, batch_result r) {
                    EXPECT_FALSE(ec);
                    EXPECT_EQ(r.size(), 1U);
                    EXPECT_EQ(std::this_thread::get_id(), me);
                    ++ran;
                  }));
  eng.async_count(boost::asio::bind_executor(ctx, [&](error_code ec, state_counts c) {
    EXPECT_FALSE(ec);
    EXPECT_EQ(c.total(), 1U);
    EXPECT_EQ(std::this_thread::get_id(), me);
    ++ran;
  }));
  EXPECT_EQ(ran, 0) << "nothing runs before the io_context does";
  ctx.run();  // returns only once the engine's completions arrived: work is tracked
  EXPECT_EQ(ran, 3);
}

TEST(EngineAsyncCallback, DeferredStartsOnlyWhenInvoked) {
  engine eng(small_options());
  const task_spec t = make_task(S::incremental_transfer);
  register_ok(eng, {t});
  auto op = eng.async_pause(kProject, {pause_item{t.id, pause_mode::all}}, boost::asio::deferred);
  EXPECT_EQ(state_of(eng, t.id), S::incremental_transfer) << "deferred: not started yet";
  callback_waiter<batch_result> w;
  std::move(op)(w.handler());
  auto [ec, r] = w.get();
  EXPECT_FALSE(ec);
  expect_all_ok(r, {t.id});
  EXPECT_EQ(state_of(eng, t.id), S::paused);
}

// =========================================================================================
// Every operation with asio::use_future
// =========================================================================================

TEST(EngineAsyncFuture, EveryOperationCompletes) {
  engine eng(small_options());
  const task_spec t = make_task(S::start_failed);
  const family_spec f = make_family(S::deleted, S::deleted);
  expect_all_ok(eng.async_register({t, f}, boost::asio::use_future).get(), {t.id, f.id});
  subscription sub = eng.async_subscribe([](const state_change&) {}, boost::asio::use_future).get();
  EXPECT_TRUE(sub.active());
  expect_all_ok(eng.async_resume(kProject, {t.id}, boost::asio::use_future).get(), {t.id});
  expect_all_ok(
      eng.async_report(kProject, {event_item{t.id, E::start_succeeded}}, boost::asio::use_future)
          .get(),
      {t.id});
  expect_all_ok(
      eng.async_pause(kProject, {pause_item{t.id, pause_mode::target}}, boost::asio::use_future)
          .get(),
      {t.id});
  const std::vector<status_result> st =
      eng.async_status(kProject, {t.id, f.id}, boost::asio::use_future).get();
  ASSERT_EQ(st.size(), 2U);
  EXPECT_EQ(st[0].state, S::paused);
  EXPECT_EQ(st[1].state, S::deleted);
  EXPECT_EQ(eng.async_get(kProject, t.id, boost::asio::use_future).get().pause,
            (pause_info{pause_mode::target, S::full_transfer}));
  EXPECT_EQ(eng.async_list(kProject, boost::asio::use_future).get().size(), 4U);
  EXPECT_EQ(eng.async_count(boost::asio::use_future).get().families, 1U);
  EXPECT_EQ(eng.async_export(boost::asio::use_future).get().size(), 2U);
  const batch_result parent_start =
      eng.async_start(kProject, {start_item{f.id}}, boost::asio::use_future).get();
  ASSERT_EQ(parent_start.size(), 1U);
  EXPECT_EQ(parent_start[0].error, errc::parent_task_forbidden);
  expect_all_ok(eng.async_delete(kProject, {delete_item{t.id, delete_type::terminate}},
                                 boost::asio::use_future)
                    .get(),
                {t.id});
  EXPECT_EQ(eng.async_get(kProject, t.id, boost::asio::use_future).get().state, S::stopping);
  expect_all_ok(eng.async_purge(kProject, {f.id}, boost::asio::use_future).get(), {f.id});
  EXPECT_EQ(eng.async_count(boost::asio::use_future).get().total(), 1U);
}

TEST(EngineAsyncFuture, ErrorsAreThrownFromGet) {
  engine eng(small_options());
  auto expect_code = [](auto&& future, errc want) {
    try {
      future.get();
      ADD_FAILURE() << "expected a system_error";
    } catch (const boost::system::system_error& e) {
      EXPECT_EQ(e.code(), want);
    }
  };
  const job_id id = job_id::mint();
  expect_code(eng.async_pause(kProject, {}, boost::asio::use_future), errc::empty_batch);
  expect_code(eng.async_resume(kProject, {id, id}, boost::asio::use_future),
              errc::duplicate_job_id);
  expect_code(eng.async_report(kProject, {event_item{id, E::resume}}, boost::asio::use_future),
              errc::not_a_worker_event);
  expect_code(eng.async_start(kProject, {}, boost::asio::use_future), errc::empty_batch);
  expect_code(
      eng.async_delete(kProject, {delete_item{id}, delete_item{id}}, boost::asio::use_future),
      errc::duplicate_job_id);
  expect_code(eng.async_purge(kProject, {}, boost::asio::use_future), errc::empty_batch);
  expect_code(eng.async_status(kProject, {}, boost::asio::use_future), errc::empty_batch);
  expect_code(eng.async_get(kProject, id, boost::asio::use_future), errc::task_not_found);
  task_spec bad = make_task(S::paused);
  bad.pause.reset();
  expect_code(eng.async_register({bad}, boost::asio::use_future), errc::invalid_task_spec);
}

// =========================================================================================
// Every operation in a coroutine (asio::co_spawn + asio::use_awaitable)
// =========================================================================================

// GCC 12 miscompiles braced temporaries inside a co_await expression: every argument is
// named as a local first.

boost::asio::awaitable<void> every_operation(engine& eng) {
  const task_spec t = make_task(S::configuration);
  const family_spec f = make_family(S::incremental_transfer, S::incremental_transfer);
  std::vector<registration> regs{t, f};
  const batch_result registered =
      co_await eng.async_register(std::move(regs), boost::asio::use_awaitable);
  expect_all_ok(registered, {t.id, f.id});

  std::vector<state_change> heard;
  change_callback cb = [&heard](const state_change& c) { heard.push_back(c); };
  subscription sub = co_await eng.async_subscribe(std::move(cb), boost::asio::use_awaitable);
  EXPECT_TRUE(sub.active());

  std::vector<start_item> starts{start_item{t.id}};
  const batch_result started =
      co_await eng.async_start(kProject, std::move(starts), boost::asio::use_awaitable);
  expect_all_ok(started, {t.id});

  std::vector<pause_item> pauses{pause_item{f.forward.id, pause_mode::all},
                                 pause_item{f.backward.id, pause_mode::target}};
  const batch_result paused =
      co_await eng.async_pause(kProject, std::move(pauses), boost::asio::use_awaitable);
  expect_all_ok(paused, {f.forward.id, f.backward.id});

  std::vector<job_id> status_ids{t.id, f.id};
  const std::vector<status_result> st =
      co_await eng.async_status(kProject, std::move(status_ids), boost::asio::use_awaitable);
  EXPECT_EQ(st.size(), 2U);
  if (st.size() == 2) {
    EXPECT_EQ(st[0].state, S::starting);
    EXPECT_EQ(st[1].state, S::paused);
  }

  std::vector<job_id> resume_ids{f.forward.id};
  const batch_result resumed =
      co_await eng.async_resume(kProject, std::move(resume_ids), boost::asio::use_awaitable);
  expect_all_ok(resumed, {f.forward.id});

  const task_snapshot parent = co_await eng.async_get(kProject, f.id, boost::asio::use_awaitable);
  EXPECT_EQ(parent.state, S::incremental_transfer);
  EXPECT_EQ(parent.role, task_role::parent);

  const std::vector<task_snapshot> listed =
      co_await eng.async_list(kProject, boost::asio::use_awaitable);
  EXPECT_EQ(listed.size(), 4U);

  const state_counts counts = co_await eng.async_count(boost::asio::use_awaitable);
  EXPECT_EQ(counts.families, 1U);

  const std::vector<registration> exported = co_await eng.async_export(boost::asio::use_awaitable);
  EXPECT_EQ(exported.size(), 2U);

  std::vector<event_item> events{event_item{t.id, E::start_failed}};
  const batch_result reported =
      co_await eng.async_report(kProject, std::move(events), boost::asio::use_awaitable);
  expect_all_ok(reported, {t.id});

  std::vector<delete_item> deletes{delete_item{t.id, delete_type::force_terminate}};
  const batch_result terminated =
      co_await eng.async_delete(kProject, std::move(deletes), boost::asio::use_awaitable);
  expect_all_ok(terminated, {t.id});

  std::vector<job_id> purge_ids{t.id};
  const batch_result purged =
      co_await eng.async_purge(kProject, std::move(purge_ids), boost::asio::use_awaitable);
  EXPECT_EQ(purged.size(), 1U);
  if (!purged.empty()) {
    EXPECT_EQ(purged[0].error, errc::invalid_state);  // stopped, not deleted
  }

  // Six changes: the start, the two pauses, the resume, the start failure and the force
  // terminate.
  EXPECT_EQ(heard.size(), 6U);
}

TEST(EngineAsyncCoroutine, EveryOperationCompletes) {
  engine eng(small_options());
  run_coroutine(every_operation(eng));
}

boost::asio::awaitable<void> errors_in_a_coroutine(engine& eng) {
  // With use_awaitable the error is thrown...
  bool thrown = false;
  try {
    std::vector<pause_item> none;
    co_await eng.async_pause(kProject, std::move(none), boost::asio::use_awaitable);
  } catch (const boost::system::system_error& e) {
    thrown = true;
    EXPECT_EQ(e.code(), errc::empty_batch);
  }
  EXPECT_TRUE(thrown);

  // ...and with as_tuple it is returned.
  constexpr auto tuple_token = boost::asio::as_tuple(boost::asio::use_awaitable);
  const job_id unknown = job_id::mint();
  auto [ec, snapshot] = co_await eng.async_get(kProject, unknown, tuple_token);
  EXPECT_EQ(ec, errc::task_not_found);
  (void)snapshot;

  std::vector<job_id> twice{unknown, unknown};
  auto [ec2, results] = co_await eng.async_status(kProject, std::move(twice), tuple_token);
  EXPECT_EQ(ec2, errc::duplicate_job_id);
  EXPECT_TRUE(results.empty());

  std::vector<job_id> one{unknown};
  auto [ec3, items] = co_await eng.async_resume(kProject, std::move(one), tuple_token);
  EXPECT_FALSE(ec3);
  EXPECT_EQ(items.size(), 1U);
  if (!items.empty()) {
    EXPECT_EQ(items[0].error, errc::task_not_found);
  }
}

TEST(EngineAsyncCoroutine, ErrorsAreThrownOrReturned) {
  engine eng(small_options());
  run_coroutine(errors_in_a_coroutine(eng));
}

boost::asio::awaitable<void> many_concurrent_awaits(engine& eng, std::vector<job_id> ids) {
  for (const job_id& id : ids) {
    std::vector<pause_item> items{pause_item{id, pause_mode::target}};
    const batch_result r =
        co_await eng.async_pause(kProject, std::move(items), boost::asio::use_awaitable);
    EXPECT_EQ(r.size(), 1U);
  }
}

TEST(EngineAsyncCoroutine, SeveralCoroutinesOnOneContext) {
  engine eng(small_options());
  std::vector<task_spec> tasks;
  for (int i = 0; i < 60; ++i) tasks.push_back(make_task(S::full_transfer));
  register_ok(eng, registrations(tasks));
  boost::asio::io_context ctx;
  int done = 0;
  for (int k = 0; k < 3; ++k) {
    std::vector<job_id> part;
    for (std::size_t i = static_cast<std::size_t>(k); i < tasks.size(); i += 3)
      part.push_back(tasks[i].id);
    boost::asio::co_spawn(ctx, many_concurrent_awaits(eng, std::move(part)),
                          [&](std::exception_ptr e) {
                            EXPECT_FALSE(e);
                            ++done;
                          });
  }
  ctx.run();
  EXPECT_EQ(done, 3);
  EXPECT_EQ(eng.count()[S::paused], tasks.size());
}

// =========================================================================================
// Blocking wrappers
// =========================================================================================

template <class F>
void expect_throws_code(F f, const error_code& want) {
  try {
    f();
    ADD_FAILURE() << "expected a system_error " << want.message();
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), want);
  }
}

TEST(EngineBlocking, ThrowingAndErrorCodeFormsAgree) {
  engine eng(small_options());
  const job_id id = job_id::mint();
  const task_spec t = make_task();

  expect_throws_code([&] { eng.register_tasks({t, t}); }, errc::duplicate_job_id);
  expect_throws_code([&] { eng.pause(kProject, {}); }, errc::empty_batch);
  expect_throws_code([&] { eng.resume(kProject, {id, id}); }, errc::duplicate_job_id);
  expect_throws_code(
      [&] {
        eng.report(kProject, {event_item{id, E::pause}});
      },
      errc::not_a_worker_event);
  expect_throws_code([&] { eng.start_tasks(kProject, {}); }, errc::empty_batch);
  expect_throws_code(
      [&] {
        eng.delete_tasks(kProject, {delete_item{id}, delete_item{id}});
      },
      errc::duplicate_job_id);
  expect_throws_code([&] { eng.purge(kProject, {}); }, errc::empty_batch);
  expect_throws_code([&] { eng.status(kProject, {}); }, errc::empty_batch);
  expect_throws_code([&] { eng.get(kProject, id); }, errc::task_not_found);

  error_code ec;
  EXPECT_NO_THROW(eng.register_tasks({t, t}, ec));
  EXPECT_EQ(ec, errc::duplicate_job_id);
  EXPECT_NO_THROW(eng.pause(kProject, {}, ec));
  EXPECT_EQ(ec, errc::empty_batch);
  EXPECT_NO_THROW(eng.resume(kProject, {id, id}, ec));
  EXPECT_EQ(ec, errc::duplicate_job_id);
  EXPECT_NO_THROW(eng.report(kProject, {event_item{id, E::resume}}, ec));
  EXPECT_EQ(ec, errc::not_a_worker_event);
  EXPECT_NO_THROW(eng.start_tasks(kProject, {}, ec));
  EXPECT_EQ(ec, errc::empty_batch);
  EXPECT_NO_THROW(eng.delete_tasks(kProject, {delete_item{id}, delete_item{id}}, ec));
  EXPECT_EQ(ec, errc::duplicate_job_id);
  EXPECT_NO_THROW(eng.purge(kProject, {}, ec));
  EXPECT_EQ(ec, errc::empty_batch);
  EXPECT_NO_THROW(eng.status(kProject, {}, ec));
  EXPECT_EQ(ec, errc::empty_batch);
  EXPECT_NO_THROW(eng.get(kProject, id, ec));
  EXPECT_EQ(ec, errc::task_not_found);
}

TEST(EngineBlocking, SuccessClearsTheErrorCode) {
  engine eng(small_options());
  const task_spec t = make_task(S::incremental_transfer);
  const error_code stale = errc::invalid_state;
  error_code ec = stale;
  eng.register_tasks({t}, ec);
  EXPECT_FALSE(ec);
  ec = stale;
  eng.pause(kProject, {pause_item{t.id, pause_mode::target}}, ec);
  EXPECT_FALSE(ec);
  ec = stale;
  eng.resume(kProject, {t.id}, ec);
  EXPECT_FALSE(ec);
  ec = stale;
  eng.start_tasks(kProject, {start_item{t.id}}, ec);  // per-item invalid_state, batch fine
  EXPECT_FALSE(ec);
  ec = stale;
  eng.report(kProject, {event_item{t.id, E::stopped}}, ec);  // per-item invalid_state
  EXPECT_FALSE(ec);
  ec = stale;
  eng.delete_tasks(kProject, {delete_item{t.id, delete_type::terminate}}, ec);
  EXPECT_FALSE(ec);
  ec = stale;
  eng.purge(kProject, {t.id}, ec);  // per-item invalid_state, batch fine
  EXPECT_FALSE(ec);
  ec = stale;
  eng.status(kProject, {t.id}, ec);
  EXPECT_FALSE(ec);
  ec = stale;
  EXPECT_EQ(eng.get(kProject, t.id, ec).state, S::stopping);
  EXPECT_FALSE(ec);
  ec = stale;
  EXPECT_EQ(eng.list(kProject, ec).size(), 1U);
  EXPECT_FALSE(ec);
  ec = stale;
  EXPECT_EQ(eng.count(ec).total(), 1U);
  EXPECT_FALSE(ec);
  ec = stale;
  EXPECT_EQ(eng.export_snapshot(ec).size(), 1U);
  EXPECT_FALSE(ec);
  ec = stale;
  subscription sub = eng.subscribe([](const state_change&) {}, ec);
  EXPECT_FALSE(ec);
  EXPECT_TRUE(sub.active());
}

/// Calls every blocking wrapper, error_code form, and records each error.
std::vector<error_code> call_every_blocking_form(engine& eng) {
  const job_id id = job_id::mint();
  std::vector<error_code> out;
  error_code ec;
  eng.register_tasks({make_task()}, ec);
  out.push_back(ec);
  eng.pause(kProject, {pause_item{id, pause_mode::target}}, ec);
  out.push_back(ec);
  eng.resume(kProject, {id}, ec);
  out.push_back(ec);
  eng.start_tasks(kProject, {start_item{id}}, ec);
  out.push_back(ec);
  eng.delete_tasks(kProject, {delete_item{id}}, ec);
  out.push_back(ec);
  eng.report(kProject, {event_item{id, E::start_succeeded}}, ec);
  out.push_back(ec);
  eng.purge(kProject, {id}, ec);
  out.push_back(ec);
  eng.status(kProject, {id}, ec);
  out.push_back(ec);
  eng.get(kProject, id, ec);
  out.push_back(ec);
  eng.list(kProject, ec);
  out.push_back(ec);
  eng.count(ec);
  out.push_back(ec);
  eng.export_snapshot(ec);
  out.push_back(ec);
  eng.subscribe([](const state_change&) {}, ec);
  out.push_back(ec);
  return out;
}

TEST(EngineBlocking, CallsFromACompletionHandlerWouldDeadlock) {
  engine eng(small_options());
  const task_spec t = make_task(S::incremental_transfer);
  register_ok(eng, {t});
  std::promise<std::vector<error_code>> codes;
  std::promise<error_code> thrown;
  eng.async_count([&](error_code, state_counts) {
    codes.set_value(call_every_blocking_form(eng));
    try {
      eng.pause(kProject, {pause_item{t.id, pause_mode::target}});
      thrown.set_value({});
    } catch (const boost::system::system_error& e) {
      thrown.set_value(e.code());
    }
  });
  const std::vector<error_code> got = codes.get_future().get();
  ASSERT_EQ(got.size(), 13U);
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i], errc::would_deadlock) << "wrapper " << i;
  }
  EXPECT_EQ(thrown.get_future().get(), errc::would_deadlock);
  // Nothing was applied by the refused calls.
  EXPECT_EQ(state_of(eng, t.id), S::incremental_transfer);
  EXPECT_EQ(eng.count().total(), 1U);
}

TEST(EngineBlocking, CallsFromASubscriberWouldDeadlock) {
  engine eng(small_options());
  const task_spec t = make_task(S::configuration);
  register_ok(eng, {t});
  std::promise<error_code> result;
  std::atomic<bool> once{false};
  subscription sub = eng.subscribe([&](const state_change&) {
    if (once.exchange(true)) return;
    error_code ec;
    eng.count(ec);
    result.set_value(ec);
  });
  EXPECT_FALSE(start_one(eng, t.id));
  EXPECT_EQ(result.get_future().get(), errc::would_deadlock);
}

TEST(EngineBlocking, CallsFromAnotherEnginesHandlerAreFine) {
  engine a(small_options());
  engine b(small_options());
  const task_spec t = make_task(S::incremental_transfer);
  register_ok(b, {t});
  std::promise<error_code> result;
  a.async_count([&](error_code, state_counts) {
    error_code ec;
    b.pause(kProject, {pause_item{t.id, pause_mode::target}}, ec);
    result.set_value(ec);
  });
  EXPECT_FALSE(result.get_future().get());
  EXPECT_EQ(state_of(b, t.id), S::paused);
}

// =========================================================================================
// Stopping
// =========================================================================================

TEST(EngineStop, LaterCallsCompleteWithOperationAborted) {
  engine eng(small_options());
  const task_spec t = make_task(S::incremental_transfer);
  register_ok(eng, {t});
  eng.stop();

  const error_code aborted = boost::asio::error::operation_aborted;
  for (const error_code& ec : call_every_blocking_form(eng)) EXPECT_EQ(ec, aborted);
  expect_throws_code([&] { eng.count(); }, aborted);
  expect_throws_code([&] { eng.pause(kProject, {pause_item{t.id, pause_mode::all}}); }, aborted);
  expect_throws_code([&] { eng.subscribe([](const state_change&) {}); }, aborted);

  // Even a batch that would be refused as a whole completes with operation_aborted.
  callback_waiter<batch_result> w;
  eng.async_pause(kProject, {}, w.handler());
  EXPECT_EQ(w.get().first, aborted);
  EXPECT_EQ(w.calls, 1);

  auto f = eng.async_status(kProject, {t.id}, boost::asio::use_future);
  expect_throws_code([&] { f.get(); }, aborted);

  boost::asio::io_context ctx;
  bool coroutine_saw_abort = false;
  boost::asio::co_spawn(
      ctx,
      [&]() -> boost::asio::awaitable<void> {
        constexpr auto tuple_token = boost::asio::as_tuple(boost::asio::use_awaitable);
        auto [ec, counts] = co_await eng.async_count(tuple_token);
        coroutine_saw_abort = ec == boost::asio::error::operation_aborted;
        (void)counts;
      },
      [](std::exception_ptr e) { EXPECT_FALSE(e); });
  ctx.run();
  EXPECT_TRUE(coroutine_saw_abort);
}

TEST(EngineStop, IsIdempotentAndTheDestructorDoesNotHang) {
  auto eng = std::make_unique<engine>(small_options());
  register_ok(*eng, {make_task()});
  eng->stop();
  eng->stop();
  eng.reset();  // joins nothing twice, returns
  SUCCEED();
}

TEST(EngineStop, CompletesEveryOutstandingOperationExactlyOnce) {
  engine eng(small_options());
  std::vector<task_spec> tasks;
  for (int i = 0; i < 200; ++i) tasks.push_back(make_task(S::incremental_transfer));
  register_ok(eng, registrations(tasks));

  constexpr int batches = 300;
  std::atomic<int> calls{0};
  std::atomic<int> wrong{0};
  for (int k = 0; k < batches; ++k) {
    std::vector<pause_item> items;
    for (std::size_t i = static_cast<std::size_t>(k) % 7; i < tasks.size(); i += 7) {
      items.push_back({tasks[i].id, k % 2 ? pause_mode::all : pause_mode::target});
    }
    const std::size_t n = items.size();
    eng.async_pause(kProject, std::move(items), [&, n](error_code ec, batch_result r) {
      ++calls;
      // Success, or aborted by stop(); either way one result per item, each applied or
      // aborted.
      if (ec && ec != boost::asio::error::operation_aborted) ++wrong;
      if (r.size() != n) ++wrong;
      for (const item_result& item : r) {
        if (item.error && item.error != boost::asio::error::operation_aborted) ++wrong;
      }
    });
  }
  eng.stop();
  // stop() joined the threads: every handler (none has an executor of its own) has run.
  EXPECT_EQ(calls.load(), batches);
  EXPECT_EQ(wrong.load(), 0);
}

TEST(EngineStop, DestructorCompletesOutstandingOperations) {
  std::atomic<int> calls{0};
  constexpr int ops = 200;
  {
    engine eng(small_options());
    std::vector<task_spec> tasks;
    for (int i = 0; i < 50; ++i) tasks.push_back(make_task(S::configuration));
    register_ok(eng, registrations(tasks));
    for (int k = 0; k < ops; ++k) {
      if (k % 2) {
        eng.async_count([&](error_code, state_counts) { ++calls; });
      } else {
        eng.async_start(kProject,
                        {start_item{tasks[static_cast<std::size_t>(k) % tasks.size()].id}},
                        [&](error_code, batch_result) { ++calls; });
      }
    }
  }
  EXPECT_EQ(calls.load(), ops);
}

TEST(EngineStop, PendingCompletionOnAnotherContextStillArrives) {
  boost::asio::io_context ctx;
  int ran = 0;
  error_code seen;
  {
    engine eng(small_options());
    eng.async_count(boost::asio::bind_executor(ctx, [&](error_code ec, state_counts) {
      seen = ec;
      ++ran;
    }));
    eng.stop();
  }
  ctx.run();
  EXPECT_EQ(ran, 1);
  EXPECT_TRUE(!seen || seen == boost::asio::error::operation_aborted);
}

}  // namespace
}  // namespace taskorch::test
