// The event feed under concurrent batches: while client threads run batches on shared tasks,
// a reader thread polls engine::read_feed() for one project. What it reads must have
// positions strictly increasing across pages (no duplicate, no step back), only that
// project's events, and in the end exactly the changes the batches made: per task, as many
// events of each cause as items of that kind succeeded on it (a family's terminate, force
// terminate or delete counting for both children), in the order of the task's versions
// (registered version + 1, + 2, ...), each a legal step of the model (task_model.hpp) from
// where the previous one left the task, what it awaits included, the last one agreeing with
// get().
//
// Every command of the workload changes its task whenever it succeeds, so that successes
// count changes exactly: worker events, workers' confirmations (named or not), start now,
// a scheduled start at a time never used before (a reschedule to another time is a change),
// terminate, force terminate, delete. Pause and resume, whose success may change nothing,
// are the linearizability tests' business. Tasks run out of moves, so the work comes in
// waves, each on freshly registered tasks; the reader reads across all of them.
//
// Environment: TASKORCH_FEED_WAVES (waves per configuration; 150 by default, a quarter of
// them with a journal).
#include "stress_driver.hpp"
#include "task_model.hpp"
#include "temp_directory.hpp"
#include <taskorch/engine.hpp>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace taskorch::test {
namespace {

/// About 0.5 s per configuration in a Debug build, a few seconds under TSan.
constexpr std::size_t default_waves = 150;

struct feed_config {
  std::size_t threads;
  std::size_t shards;
  std::size_t clients;
  bool journaled = false;
};

void PrintTo(const feed_config& c, std::ostream* os) {
  *os << "threads=" << c.threads << " shards=" << c.shards << " clients=" << c.clients
      << (c.journaled ? " journaled" : "");
}

const project_id& project_a() {
  static const project_id p = *project_id::parse("054ba152d480d55b2f5dc0069e7ddef0");
  return p;
}
const project_id& project_b() {
  static const project_id p = *project_id::parse("b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0");
  return p;
}

std::string show(const feed_event& e) {
  return fmt::format("@{} {} {} -> {} by {}{} v{}{}", e.position, e.id.to_string(), e.from, e.to,
                     e.cause, e.mode ? fmt::format(" ({})", *e.mode) : std::string(), e.version,
                     e.awaiting ? fmt::format(" awaits {}", *e.awaiting) : std::string());
}

/// Polls one project's feed until told to stop and caught up, checking each page as it comes.
class feed_reader {
 public:
  feed_reader(const engine& eng, project_id project) : eng_(eng), project_(project) {}

  void run() {
    std::uint64_t after = 0;
    std::uint64_t last = 0;
    for (;;) {
      const bool stopping = stop_.load(std::memory_order_acquire);
      if (!stopping) live_ = events_.size();
      // Everything is made before stop_ is set: the feed's last position then is the end.
      const std::uint64_t end = stopping ? eng_.feed_position() : 0;
      const feed_page page = eng_.read_feed(project_, after, 16);
      ++reads_;
      if (page.gone)
        return fail(fmt::format("read after {}: gone (oldest {})", after, page.oldest));
      if (page.next < after) return fail(fmt::format("read after {}: next {}", after, page.next));
      if (page.events.size() > 16) fail(fmt::format("{} events for 16", page.events.size()));
      for (const feed_event& e : page.events) {
        if (e.position <= last) {
          fail(fmt::format("position {} after {} (read after {}): {}", e.position, last, after,
                           show(e)));
        }
        if (e.position <= after || e.position > page.next) {
          fail(fmt::format("position {} outside the page ({}, {}]", e.position, after, page.next));
        }
        if (e.project != project_) fail("another project's event: " + show(e));
        last = e.position;
        events_.push_back(e);
      }
      const bool progressed = page.next > after;
      after = page.next;
      if (stopping && after >= end) return;
      if (!progressed) std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  }

  void stop() { stop_.store(true, std::memory_order_release); }
  const std::vector<feed_event>& events() const { return events_; }
  const std::vector<std::string>& problems() const { return problems_; }
  std::size_t reads() const { return reads_; }
  /// How many events were read before stop(): while the batches ran.
  std::size_t live() const { return live_; }

 private:
  void fail(std::string problem) {
    if (problems_.size() < 10) problems_.push_back(std::move(problem));
  }

  const engine& eng_;
  project_id project_;
  std::atomic<bool> stop_{false};
  std::vector<feed_event> events_;
  std::vector<std::string> problems_;
  std::size_t reads_ = 0;
  std::size_t live_ = 0;
};

/// The commands of the workload: each one changes its task when it succeeds.
enum class kind : std::uint8_t { report, confirm, start_now, schedule, remove };

/// One registered task (standalone or child) of the run.
struct tracked {
  project_id project;
  task_fields initial;
};

/// What the run registered and what its batches did, per task.
struct ledger {
  std::mutex mutex;
  std::map<job_id, tracked> tasks;                          // standalone tasks and children
  std::map<job_id, std::pair<job_id, job_id>> families;     // parent -> its children
  std::map<job_id, std::map<task_event, std::size_t>> won;  // successful items, by cause
  std::size_t items = 0;
  std::size_t successes = 0;
};

/// The ids one wave's batches draw from, per project.
struct wave_pool {
  std::vector<job_id> ids;  // tasks, children, parents and one unknown id
};

/// Registers one wave's tasks and families for `project` in random states.
wave_pool register_wave(engine& eng, const project_id& project, std::size_t tasks,
                        std::size_t families, ledger& book, std::mt19937_64& rng) {
  wave_pool pool;
  std::vector<registration> regs;
  auto fill = [&rng](auto& spec) {
    spec.state = random_state(rng);
    if (spec.state == task_state::paused) spec.pause = random_pause(rng);
    if (spec.state == task_state::waiting_for_start) spec.start_time = random_far_start(rng);
    spec.version = std::uniform_int_distribution<std::uint64_t>(0, 3)(rng);
    spec.awaiting = random_awaiting(rng);
  };
  for (std::size_t i = 0; i < tasks; ++i) {
    task_spec t{.id = job_id::mint(), .project = project};
    fill(t);
    book.tasks[t.id] = {project, fields_of(t.state, t.pause, t.version, t.start_time, t.awaiting)};
    pool.ids.push_back(t.id);
    regs.emplace_back(t);
  }
  for (std::size_t i = 0; i < families; ++i) {
    family_spec f{.id = job_id::mint(), .project = project};
    f.forward.id = job_id::mint();
    f.backward.id = job_id::mint();
    fill(f.forward);
    fill(f.backward);
    for (const child_spec* c : {&f.forward, &f.backward}) {
      book.tasks[c->id] = {project,
                           fields_of(c->state, c->pause, c->version, c->start_time, c->awaiting)};
    }
    book.families[f.id] = {f.forward.id, f.backward.id};
    pool.ids.insert(pool.ids.end(), {f.id, f.forward.id, f.backward.id});
    regs.emplace_back(f);
  }
  pool.ids.push_back(job_id::mint());  // never registered
  for (const item_result& r : eng.register_tasks(regs)) {
    EXPECT_TRUE(r.ok()) << "registering " << r.id.to_string() << ": " << r.error.message();
  }
  return pool;
}

/// The cause an item of `k` is reported with.
task_event cause_of(kind k, task_event event, delete_type type) {
  switch (k) {
    case kind::report:
      return event;
    case kind::confirm:
      return task_event::confirm;
    case kind::start_now:
      return task_event::start;
    case kind::schedule:
      return task_event::schedule_start;
    case kind::remove:
      return type == delete_type::terminate         ? task_event::stop
             : type == delete_type::force_terminate ? task_event::force_stop
                                                    : task_event::remove;
  }
  return task_event::start;
}

/// One client: `batches` random batches on the wave's pools, counting what succeeded.
void run_client(engine& eng, const std::map<project_id, wave_pool>& pools, std::size_t batches,
                std::uint64_t seed, std::atomic<std::int64_t>& next_start, ledger& book) {
  std::mt19937_64 rng(seed);
  std::map<job_id, std::map<task_event, std::size_t>> won;
  std::size_t items = 0;
  std::size_t successes = 0;
  for (std::size_t b = 0; b < batches; ++b) {
    const project_id& project =
        std::uniform_int_distribution<int>(0, 5)(rng) == 0 ? project_b() : project_a();
    std::vector<job_id> ids = pools.at(project).ids;
    std::shuffle(ids.begin(), ids.end(), rng);
    ids.resize(
        std::uniform_int_distribution<std::size_t>(1, std::min<std::size_t>(4, ids.size()))(rng));
    const int roll = std::uniform_int_distribution<int>(0, 99)(rng);
    const kind k = roll < 40   ? kind::report
                   : roll < 62 ? kind::confirm
                   : roll < 72 ? kind::start_now
                   : roll < 84 ? kind::schedule
                               : kind::remove;
    std::vector<task_event> events;
    std::vector<delete_type> types;
    batch_result results;
    switch (k) {
      case kind::report: {
        std::vector<event_item> list;
        for (const job_id& id : ids) {
          events.push_back(random_event(rng));
          list.push_back({id, events.back()});
        }
        results = eng.report(project, std::move(list));
        break;
      }
      case kind::confirm: {
        std::vector<report_item> list;
        for (const job_id& id : ids) {
          list.push_back({id, task_event::confirm, std::nullopt, random_confirms(rng)});
        }
        results = eng.worker_report(project, std::move(list));
        break;
      }
      case kind::start_now: {
        std::vector<start_item> list;
        for (const job_id& id : ids) list.push_back({id, std::nullopt});
        results = eng.start_tasks(project, std::move(list));
        break;
      }
      case kind::schedule: {
        // A time no item used before, nor any registration (random_far_start(): the first
        // seconds of 2100): every successful (re)schedule is a change.
        std::vector<start_item> list;
        for (const job_id& id : ids) {
          list.push_back({id, wall_time(std::chrono::milliseconds(4'102'444'900'000 +
                                                                  next_start.fetch_add(1)))});
        }
        results = eng.start_tasks(project, std::move(list));
        break;
      }
      case kind::remove: {
        std::vector<delete_item> list;
        for (const job_id& id : ids) {
          types.push_back(random_delete_type(rng));
          list.push_back({id, types.back()});
        }
        results = eng.delete_tasks(project, std::move(list));
        break;
      }
    }
    EXPECT_EQ(results.size(), ids.size());
    for (std::size_t i = 0; i < std::min(results.size(), ids.size()); ++i) {
      ++items;
      EXPECT_EQ(results[i].id, ids[i]);
      if (!results[i].ok()) continue;
      ++successes;
      const task_event cause = cause_of(k, events.empty() ? task_event::start_succeeded : events[i],
                                        types.empty() ? delete_type::terminate : types[i]);
      if (auto family = book.families.find(ids[i]); family != book.families.end()) {
        ++won[family->second.first][cause];  // a family command moves both children
        ++won[family->second.second][cause];
      } else {
        ++won[ids[i]][cause];
      }
    }
  }
  std::lock_guard lock(book.mutex);
  for (const auto& [id, causes] : won) {
    for (const auto& [cause, n] : causes) book.won[id][cause] += n;
  }
  book.items += items;
  book.successes += successes;
}

/// Replays `events` of one task from `t` through the model; returns the first problem.
std::string replay(task_fields& t, const std::vector<feed_event>& events) {
  for (const feed_event& e : events) {
    if (e.version != t.version + 1) {
      return fmt::format("version {} after version {}: {}", e.version, t.version, show(e));
    }
    if (e.from != t.state)
      return fmt::format("from {} but the task was {}: {}", e.from, t.state, show(e));
    task_fields next = t;
    const outcome o = task_model::replay(next, e.cause, e.mode, e.from, e.to, e.version);
    if (o != outcome::ok || next.state != e.to || next.version != e.version) {
      return "not a legal step of the model: " + show(e);
    }
    if (next.awaiting != e.awaiting) {
      const auto name = [](const std::optional<task_event>& a) {
        return a ? to_string(*a) : std::string_view("nothing");
      };
      return fmt::format("awaits {} after the change, the model {}: {}", name(e.awaiting),
                         name(next.awaiting), show(e));
    }
    if (e.mode.has_value() != (e.to == task_state::paused))
      return "a mode outside paused: " + show(e);
    if (e.at == wall_time{}) return "no time: " + show(e);
    t = next;
  }
  return {};
}

/// Checks every task of `project` against what `feed` lists for it. Returns the events seen.
std::size_t check_tasks(engine& eng, const project_id& project, const ledger& book,
                        const std::vector<feed_event>& feed) {
  std::map<job_id, std::vector<feed_event>> by_task;
  for (const feed_event& e : feed) by_task[e.id].push_back(e);
  std::size_t checked = 0;
  for (const auto& [id, task] : book.tasks) {
    if (task.project != project) continue;
    const std::vector<feed_event>& events = by_task[id];
    checked += events.size();
    // As many events of each cause as items of that kind succeeded on the task.
    std::map<task_event, std::size_t> listed;
    for (const feed_event& e : events) ++listed[e.cause];
    const auto won = book.won.find(id);
    const std::map<task_event, std::size_t> expected =
        won == book.won.end() ? std::map<task_event, std::size_t>{} : won->second;
    EXPECT_EQ(listed, expected) << "task " << id.to_string()
                                << ": events by cause vs successful items by kind";
    task_fields t = task.initial;
    const std::string problem = replay(t, events);
    EXPECT_TRUE(problem.empty()) << "task " << id.to_string() << ": " << problem;
    if (!problem.empty()) continue;
    error_code ec;
    const task_snapshot now = eng.get(project, id, ec);
    EXPECT_FALSE(ec) << id.to_string() << ": " << ec.message();
    if (ec) continue;
    EXPECT_EQ(t.version, now.version) << "task " << id.to_string() << ": last event vs get()";
    EXPECT_EQ(t.state, now.state) << "task " << id.to_string() << ": last event vs get()";
    EXPECT_EQ(t.awaiting, now.awaiting) << "task " << id.to_string() << ": last event vs get()";
    if (!events.empty()) {
      EXPECT_EQ(events.back().at, now.changed_at) << "task " << id.to_string();
    }
  }
  for (const auto& [id, events] : by_task) {
    const auto it = book.tasks.find(id);
    EXPECT_TRUE(it != book.tasks.end() && it->second.project == project)
        << "events of " << id.to_string() << ", not a task of the project";
  }
  return checked;
}

class FeedOrder : public ::testing::TestWithParam<feed_config> {};

TEST_P(FeedOrder, AReaderSeesEveryChangeOnceInOrderWhileBatchesRun) {
  const feed_config config = GetParam();
  const std::size_t waves = std::max<std::size_t>(
      1, env_or("TASKORCH_FEED_WAVES", default_waves) / (config.journaled ? 4 : 1));
  testing::temp_directory dir;
  engine_options options{.threads = config.threads, .shards = config.shards};
  if (config.journaled) options.storage.directory = dir.path();
  engine eng(options);
  std::mt19937_64 rng(0xfeed0000 + config.threads * 16 + config.shards);

  ledger book;
  feed_reader reader(eng, project_a());
  std::thread reading([&reader] { reader.run(); });
  std::atomic<std::int64_t> next_start{0};
  const auto started = std::chrono::steady_clock::now();
  for (std::size_t wave = 0; wave < waves; ++wave) {
    std::map<project_id, wave_pool> pools;
    pools[project_a()] = register_wave(eng, project_a(), 8, 2, book, rng);
    pools[project_b()] = register_wave(eng, project_b(), 3, 1, book, rng);
    std::vector<std::thread> clients;
    for (std::size_t c = 0; c < config.clients; ++c) {
      clients.emplace_back(run_client, std::ref(eng), std::cref(pools), 12, rng(),
                           std::ref(next_start), std::ref(book));
    }
    for (std::thread& t : clients) t.join();
  }
  reader.stop();
  reading.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  for (const std::string& p : reader.problems()) ADD_FAILURE() << "reader: " << p;
  const std::size_t a_events = check_tasks(eng, project_a(), book, reader.events());
  EXPECT_EQ(a_events, reader.events().size()) << "events of tasks the run did not register";

  // Project B, read at the end in one go: the same, and none of A's.
  std::vector<feed_event> b_feed;
  for (std::uint64_t after = 0;;) {
    const feed_page page = eng.read_feed(project_b(), after, 1000);
    ASSERT_FALSE(page.gone);
    for (const feed_event& e : page.events) {
      EXPECT_EQ(e.project, project_b()) << show(e);
      if (!b_feed.empty()) {
        EXPECT_GT(e.position, b_feed.back().position) << show(e);
      }
      b_feed.push_back(e);
    }
    if (page.next == after) break;
    after = page.next;
  }
  const std::size_t b_events = check_tasks(eng, project_b(), book, b_feed);

  std::printf(
      "[ feed ] threads=%zu shards=%zu clients=%zu%s: %zu waves, %zu items (%zu succeeded), "
      "%zu events of A read in %zu reads (%zu while the batches ran), %zu of B; %.2f s\n",
      config.threads, config.shards, config.clients, config.journaled ? " journaled" : "", waves,
      book.items, book.successes, reader.events().size(), reader.reads(), reader.live(), b_events,
      seconds);
  EXPECT_GT(a_events, waves * 4) << "the waves do change tasks";
  EXPECT_GT(reader.live(), 0U) << "the reader read nothing while the batches ran";
  EXPECT_GT(b_events, 0U);
}

INSTANTIATE_TEST_SUITE_P(Engines, FeedOrder,
                         ::testing::Values(feed_config{2, 3, 4}, feed_config{3, 4, 6},
                                           feed_config{2, 3, 4, true}),
                         [](const ::testing::TestParamInfo<feed_config>& p) {
                           return "Threads" + std::to_string(p.param.threads) + "Shards" +
                                  std::to_string(p.param.shards) + "Clients" +
                                  std::to_string(p.param.clients) +
                                  (p.param.journaled ? "Journaled" : "");
                         });

}  // namespace
}  // namespace taskorch::test
