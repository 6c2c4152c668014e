// The benchmark's implementations against taskorch::engine: for the same fleet and the same
// batches, every implementation returns what the engine returns, item for item (ids, error
// codes, states), alone and from two threads on disjoint halves; handler_floor answers the
// same bytes as taskorch::http::api.
#include "baselines/cuckoo_map.hpp"
#include "baselines/floor_table.hpp"
#include "baselines/handler_floor.hpp"
#include "baselines/mutex_map.hpp"
#include "baselines/shared_mutex_map.hpp"
#include "baselines/tbb_map.hpp"
#include "engine_impl.hpp"
#include "workload.hpp"
#include <taskorch/http/api.hpp>

#include <boost/asio/use_future.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <latch>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

namespace taskorch::bench {
namespace {

constexpr std::size_t fleet_size = 3000;
constexpr std::size_t max_batch = 1000;

/// A batch that owns its ids, for batches that are not windows of an id_stream.
struct owned_batch {
  std::vector<job_id> ids;
  std::vector<std::string> texts;

  void add(const job_id& id, std::string text) {
    ids.push_back(id);
    texts.push_back(std::move(text));
  }
  batch_view view() const noexcept { return {ids, texts}; }
};

/// floor_shards as its driver runs it, on one thread: two floor_tables, each given the ids
/// of its shard, the results merged back in request order.
class floor_shards {
 public:
  explicit floor_shards(const fleet& f) : shards_{floor_table(f, 0, 2), floor_table(f, 1, 2)} {}

  batch_result command(batch_view batch, task_event event, pause_mode mode) {
    return merged<item_result>(
        batch, [&](floor_table& t, batch_view part) { return t.command(part, event, mode); });
  }

  std::vector<status_result> status(batch_view batch) {
    return merged<status_result>(batch,
                                 [](floor_table& t, batch_view part) { return t.status(part); });
  }

 private:
  template <class Result, class Apply>
  std::vector<Result> merged(batch_view batch, Apply apply) {
    std::vector<Result> results(batch.size());
    for (std::size_t s = 0; s < shards_.size(); ++s) {
      owned_batch part;
      std::vector<std::size_t> positions;
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (shard_of(batch.ids[i], shards_.size()) != s) continue;
        part.add(batch.ids[i], batch.texts[i]);
        positions.push_back(i);
      }
      const auto part_results = apply(shards_[s], part.view());
      for (std::size_t k = 0; k < positions.size(); ++k) results[positions[k]] = part_results[k];
    }
    return results;
  }

  std::array<floor_table, 2> shards_;
};

std::string describe(const item_result& r) {
  return fmt::format("{} {}:{}", r.id, r.error.category().name(), r.error.value());
}

std::string describe(const status_result& r) {
  return fmt::format("{} {}:{} {}", r.id, r.error.category().name(), r.error.value(),
                     r.error ? "-" : to_string(r.state));
}

/// Expects `got` to equal the engine's `want`, item for item; reports the first difference.
template <class Result>
void expect_same(const std::vector<Result>& want, const std::vector<Result>& got,
                 std::string_view what) {
  ASSERT_EQ(want.size(), got.size()) << what;
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (describe(want[i]) != describe(got[i])) {
      ADD_FAILURE() << what << ", item " << i << ": engine " << describe(want[i]) << ", got "
                    << describe(got[i]);
      return;
    }
  }
}

/// How often each outcome occurred in the engine's results, so that a test can show that it
/// met the outcomes it is about.
class outcomes {
 public:
  template <class Result>
  void count(const std::vector<Result>& results) {
    for (const Result& r : results) ++counts_[r.error.value()];
  }
  std::size_t operator[](errc e) const { return at(static_cast<int>(e)); }
  std::size_t successes() const { return at(0); }

 private:
  std::size_t at(int value) const {
    const auto it = counts_.find(value);
    return it == counts_.end() ? 0 : it->second;
  }
  std::map<int, std::size_t> counts_;
};

/// Applies `event` to `batch` on the engine through the operation that takes it: batch-jobs
/// for terminate, force terminate and delete, batch-starting for a start, else engine_impl
/// (pause, resume, worker events).
batch_result engine_command(engine_impl& engine, const project_id& project, batch_view batch,
                            task_event event, pause_mode mode) {
  const auto* type = std::find(delete_type_events.begin(), delete_type_events.end(), event);
  if (type != delete_type_events.end()) {
    std::vector<delete_item> items;
    for (const job_id& id : batch.ids) {
      items.push_back({id, static_cast<delete_type>(type - delete_type_events.begin())});
    }
    return engine.engine().delete_tasks(project, std::move(items));
  }
  if (event == task_event::start) {
    std::vector<start_item> items;
    for (const job_id& id : batch.ids) items.push_back({id});
    return engine.engine().start_tasks(project, std::move(items));
  }
  return engine.command(batch, event, mode);
}

/// Runs one operation on the engine and on `impl`, and compares their results.
template <class Impl>
void run_both(engine_impl& engine, const project_id& project, Impl& impl, batch_view batch,
              mixed_op op, pause_mode mode, outcomes& seen, std::string_view what) {
  if (op.kind == mixed_op::status) {
    const auto want = engine.status(batch);
    seen.count(want);
    expect_same(want, impl.status(batch), what);
  } else {
    const auto want = engine_command(engine, project, batch, op.event, mode);
    seen.count(want);
    expect_same(want, impl.command(batch, op.event, mode), what);
  }
}

/// Compares the state of every task of the fleet.
template <class Impl>
void expect_same_fleet(engine_impl& engine, Impl& impl, const id_stream& all) {
  for (std::size_t k = 0; k * max_batch < all.distinct(); ++k) {
    const batch_view batch = all.window(k, max_batch);
    expect_same(engine.status(batch), impl.status(batch), "final status");
  }
}

template <class Impl>
class implementations_agree : public testing::Test {};

using all_implementations =
    testing::Types<mutex_map, shared_mutex_map, tbb_map, cuckoo_map, floor_table, floor_shards>;
TYPED_TEST_SUITE(implementations_agree, all_implementations);

TYPED_TEST(implementations_agree, mixed_cycle_over_windows) {
  const fleet f = make_fleet(fleet_size);
  const id_stream stream(f, max_batch);
  engine_impl engine(f, {.threads = 2, .shards = 4});
  TypeParam impl(f);
  outcomes seen;

  std::size_t k = 0;
  for (const std::size_t b : {1, 10, 100, 1000}) {
    for (const pause_mode mode : {pause_mode::target, pause_mode::all}) {
      for (const mixed_op& op : mixed_cycle) {
        const std::string what =
            fmt::format("batch {} of {} ({}, {}, {})", k, b,
                        op.kind == mixed_op::status ? "status" : "command", op.event, mode);
        run_both(engine, f.project, impl, stream.window(k++, b), op, mode, seen, what);
      }
    }
  }
  expect_same_fleet(engine, impl, stream);

  EXPECT_GT(seen.successes(), 0u);
  EXPECT_GT(seen[errc::invalid_state], 0u);
}

TYPED_TEST(implementations_agree, unknown_deleted_and_repaused_tasks) {
  const fleet f = make_fleet(fleet_size);
  const fleet strangers = make_fleet(50, 99);
  const id_stream stream(f, max_batch);
  engine_impl engine(f, {.threads = 2, .shards = 4});
  TypeParam impl(f);
  outcomes seen;

  // 600 tasks of the fleet, with an unknown id (the all-zero one first) after every twelfth.
  owned_batch batch;
  batch.add(job_id(), job_id().to_string());
  const batch_view known = stream.window(1, 600);
  for (std::size_t i = 0; i < known.size(); ++i) {
    batch.add(known.ids[i], known.texts[i]);
    if (i % 12 == 0) batch.add(strangers.tasks[i / 12].id, strangers.tasks[i / 12].text);
  }

  // A `target` pause, then `all` over it; a lifecycle to DELETED; commands on deleted tasks.
  const mixed_op read{mixed_op::status, task_event::pause};
  const std::array<std::pair<mixed_op, pause_mode>, 10> ops{{
      {read, pause_mode::target},
      {{mixed_op::command, task_event::pause}, pause_mode::target},
      {{mixed_op::command, task_event::pause}, pause_mode::all},
      {read, pause_mode::target},
      {{mixed_op::command, task_event::stop}, pause_mode::target},
      {{mixed_op::command, task_event::stopped}, pause_mode::target},
      {{mixed_op::command, task_event::remove}, pause_mode::target},
      {{mixed_op::command, task_event::pause}, pause_mode::all},
      {{mixed_op::command, task_event::resume}, pause_mode::target},
      {read, pause_mode::target},
  }};
  for (std::size_t i = 0; i < ops.size(); ++i) {
    run_both(engine, f.project, impl, batch.view(), ops[i].first, ops[i].second, seen,
             fmt::format("operation {}", i));
  }
  expect_same_fleet(engine, impl, stream);

  EXPECT_EQ(seen[errc::task_not_found], ops.size() * 51);
  EXPECT_GT(seen[errc::task_deleted], 0u);
  EXPECT_GT(seen[errc::invalid_state], 0u);
  EXPECT_GT(seen.successes(), 0u);
}

/// What one thread saw: its results, in order.
struct trace {
  std::vector<batch_result> commands;
  std::vector<std::vector<status_result>> statuses;
};

/// The sequence of one thread: the mixed cycle over windows of its half of the fleet.
template <class Impl>
trace run_half(Impl& impl, const id_stream& half) {
  trace t;
  std::size_t k = 0;
  for (const std::size_t b : {1, 10, 100}) {
    for (std::size_t round = 0; round < 10; ++round) {
      const pause_mode mode = round % 2 == 0 ? pause_mode::target : pause_mode::all;
      for (const mixed_op& op : mixed_cycle) {
        const batch_view batch = half.window(k++, b);
        if (op.kind == mixed_op::status) {
          t.statuses.push_back(impl.status(batch));
        } else {
          t.commands.push_back(impl.command(batch, op.event, mode));
        }
      }
    }
  }
  return t;
}

void expect_same_trace(const trace& want, const trace& got, std::string_view half) {
  ASSERT_EQ(want.commands.size(), got.commands.size());
  ASSERT_EQ(want.statuses.size(), got.statuses.size());
  for (std::size_t i = 0; i < want.commands.size(); ++i) {
    expect_same(want.commands[i], got.commands[i], fmt::format("{}, command {}", half, i));
  }
  for (std::size_t i = 0; i < want.statuses.size(); ++i) {
    expect_same(want.statuses[i], got.statuses[i], fmt::format("{}, status {}", half, i));
  }
}

template <class Impl>
class thread_safe_implementations : public testing::Test {};

using thread_safe = testing::Types<mutex_map, shared_mutex_map, tbb_map, cuckoo_map>;
TYPED_TEST_SUITE(thread_safe_implementations, thread_safe);

TYPED_TEST(thread_safe_implementations, two_threads_on_disjoint_halves) {
  const fleet f = make_fleet(fleet_size);
  const id_stream all(f, max_batch);
  const std::array<id_stream, 2> halves{
      id_stream(f, 100, 3, [](const job_id& id) { return shard_of(id, 2) == 0; }),
      id_stream(f, 100, 3, [](const job_id& id) { return shard_of(id, 2) == 1; })};
  ASSERT_EQ(halves[0].distinct() + halves[1].distinct(), fleet_size);

  TypeParam impl(f);
  std::array<trace, 2> got;
  std::latch start(2);
  std::array<std::thread, 2> threads;
  for (std::size_t h = 0; h < 2; ++h) {
    threads[h] = std::thread([&, h] {
      start.arrive_and_wait();
      got[h] = run_half(impl, halves[h]);
    });
  }
  for (std::thread& t : threads) t.join();

  // The halves share no task, so each thread's results do not depend on the other's.
  engine_impl engine(f, {.threads = 2, .shards = 4});
  for (std::size_t h = 0; h < 2; ++h) {
    expect_same_trace(run_half(engine, halves[h]), got[h], fmt::format("half {}", h));
  }
  expect_same_fleet(engine, impl, all);
}

/// The body of a batch-pause-task request for `batch`, modes alternating from `first`.
std::string pause_body(batch_view batch, pause_mode first, std::string_view space = "") {
  const pause_mode second = first == pause_mode::target ? pause_mode::all : pause_mode::target;
  std::string body = fmt::format("{{{0}\"jobs\"{0}:{0}[", space);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const pause_mode mode = i % 2 == 0 ? first : second;
    if (i != 0) body += ',';
    if (i % 3 == 2) {  // some items name their mode first
      body += fmt::format("{{\"pause_mode\":{0}\"{1}\",{0}\"job_id\":\"{2}\"}}", space, mode,
                          batch.texts[i]);
    } else {
      body += fmt::format("{{{0}\"job_id\":\"{1}\",\"pause_mode\":\"{2}\"{0}}}", space,
                          batch.texts[i], mode);
    }
  }
  return body + "]" + std::string(space) + "}";
}

TEST(handler_floor, answers_the_bytes_of_the_api) {
  const fleet f = make_fleet(fleet_size);
  const fleet strangers = make_fleet(20, 99);
  const id_stream stream(f, max_batch);
  engine_impl engine(f, {.threads = 2, .shards = 4});
  http::token_table tokens;
  tokens.add("bench-token", f.project);
  http::api service(engine.engine(), {.tokens = tokens});
  const std::string target = fmt::format("/v3/{}/jobs/batch-pause-task", f.project);
  const http::request_head head{"POST", target, "bench-token", "application/json", ""};
  const auto checked = service.check(head);
  ASSERT_TRUE(std::holds_alternative<http::accepted_request>(checked));
  const auto& accepted = std::get<http::accepted_request>(checked);
  handler_floor floor(f);

  owned_batch mixed;  // 300 tasks of the fleet and 20 unknown ids
  const batch_view known = stream.window(2, 300);
  for (std::size_t i = 0; i < known.size(); ++i) {
    mixed.add(known.ids[i], known.texts[i]);
    if (i % 15 == 0) mixed.add(strangers.tasks[i / 15].id, strangers.tasks[i / 15].text);
  }
  // The same tasks twice (the second time most are PAUSING), then other sizes and layouts.
  const std::vector<std::string> bodies{
      pause_body(mixed.view(), pause_mode::target),
      pause_body(mixed.view(), pause_mode::all, " "),
      pause_body(stream.window(0, 1), pause_mode::all),
      pause_body(stream.window(1, 1000), pause_mode::target, "\n  "),
  };
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    const http::response want =
        service.async_handle(accepted, bodies[i], boost::asio::use_future).get();
    ASSERT_EQ(want.status, 200u) << want.body;
    EXPECT_EQ(floor.handle(bodies[i]), want.body) << "body " << i;
    if (i < 2) {
      EXPECT_NE(want.body.find("\"status\":\"success\""), std::string::npos);
      EXPECT_NE(want.body.find("DRS.M05003"), std::string::npos);
      EXPECT_NE(want.body.find("DRS.M00304"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace taskorch::bench
