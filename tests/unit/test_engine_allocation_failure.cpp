// Allocation failures injected into every operation, one allocation at a time (the way
// SQLite tests its malloc failures): the N-th allocation after an operation is started throws
// std::bad_alloc, for N = 0, 1, 2, ... until the operation runs through without meeting one.
// Whatever allocation fails, the operation calls its handler exactly once, except when the
// allocation that failed was the one handing the completion on: then the handler is destroyed
// uncalled and std::bad_alloc is thrown, from the initiating call or into the engine thread's
// exception hook. And stop() returns: nothing stays in flight.
//
// This binary replaces the global operator new, so it holds these tests only.
#include "engine_test_support.hpp"
#include <taskorch/engine.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <new>
#include <optional>
#include <string>
#include <thread>

namespace {

/// Allocations left before one fails; negative: none fails.
std::atomic<long> allocations_left{-1};
/// Allocations made to fail so far.
std::atomic<long> failed_allocations{0};

void* allocate(std::size_t n,
               std::align_val_t align = std::align_val_t{alignof(std::max_align_t)}) {
  if (allocations_left.load(std::memory_order_relaxed) >= 0 &&
      allocations_left.fetch_sub(1, std::memory_order_relaxed) == 0) {
    failed_allocations.fetch_add(1, std::memory_order_relaxed);
    throw std::bad_alloc();
  }
  const auto a = static_cast<std::size_t>(align);
  void* p = a <= alignof(std::max_align_t) ? std::malloc(n == 0 ? 1 : n)
                                           : std::aligned_alloc(a, (n + a - 1) / a * a);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace

void* operator new(std::size_t n) { return allocate(n); }
void* operator new[](std::size_t n) { return allocate(n); }
void* operator new(std::size_t n, std::align_val_t a) { return allocate(n, a); }
void* operator new[](std::size_t n, std::align_val_t a) { return allocate(n, a); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return allocate(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return allocate(n);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace taskorch::test {
namespace {

using S = task_state;

/// What one armed run saw.
struct run_record {
  bool threw = false;  ///< the initiating call threw std::bad_alloc
  std::atomic<int> handler_calls{0};
  std::atomic<int> hooked{0};  ///< std::bad_alloc handed to the engine thread's hook
  long failures = 0;           ///< allocations made to fail while armed
};

/// Calls `f` while the watchdog runs; aborts the whole binary (a hang cannot be recovered
/// from) when `f` takes longer than `limit`.
void within(std::chrono::seconds limit, const std::string& what, const std::function<void()>& f) {
  std::promise<void> done;
  std::thread watchdog([&, future = done.get_future()] {
    if (future.wait_for(limit) == std::future_status::timeout) {
      std::fprintf(stderr, "watchdog: %s did not return within %lld s\n", what.c_str(),
                   static_cast<long long>(limit.count()));
      std::fflush(stderr);
      std::abort();
    }
  });
  f();
  done.set_value();
  watchdog.join();
}

/// An operation to inject failures into: starts it on `eng` with `handler`.
using starter = std::function<void(engine& eng, std::function<void()> handler)>;

/// Runs `start` with the n-th allocation failing, for n = 0, 1, ... until a run meets no
/// failure. Each run uses a fresh engine made by `make` (registered as `setup` says).
void inject_failures(const std::string& name, engine_options options,
                     const std::function<void(engine&)>& setup, const starter& start) {
  long n = 0;
  for (;; ++n) {
    ASSERT_LT(n, 100'000) << name << ": no run completed without a failure";
    run_record record;
    engine_options with_hook = options;
    with_hook.unhandled_exception = [&record](std::exception_ptr e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::bad_alloc&) {
        record.hooked.fetch_add(1);
      }
    };
    auto eng = std::make_unique<engine>(with_hook);
    setup(*eng);
    allocations_left.store(n);
    failed_allocations.store(0);
    try {
      start(*eng, [&record] { record.handler_calls.fetch_add(1); });
    } catch (const std::bad_alloc&) {
      record.threw = true;
    }
    allocations_left.store(-1);
    // The handler runs on an engine thread; stop() waits for every operation in flight.
    within(std::chrono::seconds(20), name + " n=" + std::to_string(n) + ": stop()",
           [&] { eng->stop(); });
    record.failures = failed_allocations.load();
    const int calls = record.handler_calls.load();
    if (record.threw) {
      EXPECT_EQ(calls, 0) << name << " n=" << n << ": threw and called its handler";
    } else if (record.hooked.load() > 0) {
      EXPECT_LE(calls, 1) << name << " n=" << n << ": handler called " << calls << " times";
    } else {
      EXPECT_EQ(calls, 1) << name << " n=" << n << ": handler called " << calls << " times";
    }
    within(std::chrono::seconds(20), name + " n=" + std::to_string(n) + ": ~engine",
           [&] { eng.reset(); });
    if (record.failures == 0) break;
  }
  std::printf("[ allocation failures ] %s: %ld runs\n", name.c_str(), n + 1);
}

std::vector<task_spec> tasks(std::size_t n, S state) {
  std::vector<task_spec> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(make_task(state));
  return out;
}

std::vector<pause_item> pause_items(const std::vector<task_spec>& specs) {
  std::vector<pause_item> out;
  for (const task_spec& t : specs) out.push_back({t.id, pause_mode::all});
  return out;
}

/// The configurations: everything inline on the caller's thread, or parts posted to the
/// engine's threads (inline_batch_items = 0 runs one part inline, posts the others).
const std::vector<std::pair<std::string, engine_options>> configurations{
    {"inline", {.threads = 1, .shards = 2}},
    {"posted", {.threads = 2, .shards = 3, .inline_batch_items = 0}},
};

TEST(EngineAllocationFailure, Register) {
  for (const auto& [config, options] : configurations) {
    const std::vector<task_spec> specs = tasks(20, S::full_transfer);
    const std::vector<family_spec> families = make_families(3);
    inject_failures(
        "register/" + config, options, [](engine&) {},
        [&](engine& eng, auto h) {
          std::vector<registration> items = registrations(specs);
          items.insert(items.end(), families.begin(), families.end());
          eng.async_register(std::move(items), [h](error_code, batch_result) { h(); });
        });
  }
}

TEST(EngineAllocationFailure, Pause) {
  for (const auto& [config, options] : configurations) {
    const std::vector<task_spec> specs = tasks(20, S::incremental_transfer);
    const std::vector<family_spec> families = make_families(3);
    inject_failures(
        "pause/" + config, options,
        [&](engine& eng) {
          register_ok(eng, registrations(specs));
          register_ok(eng, registrations(families));
        },
        [&](engine& eng, auto h) {
          std::vector<pause_item> items = pause_items(specs);
          for (const family_spec& f : families) items.push_back({f.forward.id, pause_mode::all});
          eng.async_pause(kProject, std::move(items), [h](error_code, batch_result) { h(); });
        });
  }
}

TEST(EngineAllocationFailure, StartAndDelete) {
  for (const auto& [config, options] : configurations) {
    const std::vector<task_spec> configured = tasks(12, S::configuration);
    const std::vector<task_spec> waiting = tasks(4, S::waiting_for_start);
    const std::vector<task_spec> running = tasks(12, S::incremental_transfer);
    const std::vector<family_spec> families = make_families(3);
    const auto setup = [&](engine& eng) {
      register_ok(eng, registrations(configured));
      register_ok(eng, registrations(waiting));
      register_ok(eng, registrations(running));
      register_ok(eng, registrations(families));
    };
    // Starts now and scheduled far ahead (a start time to store), and reschedules.
    inject_failures("start/" + config, options, setup, [&](engine& eng, auto h) {
      std::vector<start_item> items;
      for (std::size_t i = 0; i < configured.size(); ++i) {
        items.push_back(
            {configured[i].id, i % 2 == 0 ? std::optional<wall_time>(kFarStart) : std::nullopt});
      }
      for (const task_spec& t : waiting) items.push_back({t.id, kFarStart + std::chrono::hours(1)});
      eng.async_start(kProject, std::move(items), [h](error_code, batch_result) { h(); });
    });
    // Terminate standalone tasks, and families through their parents (both children).
    inject_failures("delete/" + config, options, setup, [&](engine& eng, auto h) {
      std::vector<delete_item> items;
      for (const task_spec& t : running) items.push_back({t.id, delete_type::terminate});
      for (const family_spec& f : families) items.push_back({f.id, delete_type::force_terminate});
      eng.async_delete(kProject, std::move(items), [h](error_code, batch_result) { h(); });
    });
  }
}

TEST(EngineAllocationFailure, StatusAndGet) {
  for (const auto& [config, options] : configurations) {
    const std::vector<task_spec> specs = tasks(20, S::incremental_transfer);
    inject_failures(
        "status/" + config, options, [&](engine& eng) { register_ok(eng, registrations(specs)); },
        [&](engine& eng, auto h) {
          eng.async_status(kProject, ids_of(specs),
                           [h](error_code, std::vector<status_result>) { h(); });
        });
    inject_failures(
        "get/" + config, options, [&](engine& eng) { register_ok(eng, registrations(specs)); },
        [&](engine& eng, auto h) {
          eng.async_get(kProject, specs[0].id, [h](error_code, task_snapshot) { h(); });
        });
  }
}

TEST(EngineAllocationFailure, Purge) {
  for (const auto& [config, options] : configurations) {
    const std::vector<task_spec> specs = tasks(20, S::deleted);
    const std::vector<family_spec> families = make_families(3, S::deleted, S::deleted);
    inject_failures(
        "purge/" + config, options,
        [&](engine& eng) {
          register_ok(eng, registrations(specs));
          register_ok(eng, registrations(families));
        },
        [&](engine& eng, auto h) {
          std::vector<job_id> ids = ids_of(specs);
          for (const family_spec& f : families) ids.push_back(f.id);
          eng.async_purge(kProject, std::move(ids), [h](error_code, batch_result) { h(); });
        });
  }
}

TEST(EngineAllocationFailure, BroadcastQueries) {
  for (const auto& [config, options] : configurations) {
    const std::vector<task_spec> specs = tasks(20, S::incremental_transfer);
    const auto setup = [&](engine& eng) { register_ok(eng, registrations(specs)); };
    inject_failures("list/" + config, options, setup, [&](engine& eng, auto h) {
      eng.async_list(kProject, [h](error_code, std::vector<task_snapshot>) { h(); });
    });
    inject_failures("count/" + config, options, setup, [&](engine& eng, auto h) {
      eng.async_count([h](error_code, state_counts) { h(); });
    });
    inject_failures("export/" + config, options, setup, [&](engine& eng, auto h) {
      eng.async_export([h](error_code, std::vector<registration>) { h(); });
    });
  }
}

TEST(EngineAllocationFailure, Subscribe) {
  for (const auto& [config, options] : configurations) {
    const std::vector<task_spec> specs = tasks(4, S::incremental_transfer);
    inject_failures(
        "subscribe/" + config, options,
        [&](engine& eng) { register_ok(eng, registrations(specs)); },
        [&](engine& eng, auto h) {
          eng.async_subscribe([](const state_change&) {},
                              [h](error_code, subscription s) {
                                s.reset();
                                h();
                              });
        });
  }
}

}  // namespace
}  // namespace taskorch::test
