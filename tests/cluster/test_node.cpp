// cluster::node against the real PostgreSQL, several nodes in one process: partitions held and
// served, shared when a node joins, released at once when a node stops, taken over with every
// acknowledged change when a node freezes past its lease, the frozen node fenced when it wakes,
// and a partition reloaded when the database ends a node's connections (docs/scale-out.md).
// Leases are short (1.5 s) so that each test takes a few seconds.

#include "node.hpp"
#include "nodes.hpp"
#include "partition_map.hpp"
#include "pg_test_support.hpp"
#include <taskorch/engine.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace taskorch::cluster {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

constexpr std::uint32_t kPartitions = 4;

/// A node with an io_context and thread of its own, which a test can freeze and wake.
class test_node {
 public:
  test_node(const std::string& conninfo, const std::string& name)
      : node_(io_.get_executor(), options(conninfo, name)) {
    wake();
  }
  ~test_node() {
    if (!stopped_) {
      wake();
      stop();
    }
    freeze();
  }
  test_node(const test_node&) = delete;
  test_node& operator=(const test_node&) = delete;

  void start() { asio::co_spawn(io_, node_.start(), asio::use_future).get(); }
  void stop() {
    asio::co_spawn(io_, node_.stop(), asio::use_future).get();
    stopped_ = true;
  }
  /// Stops running the node's work, as a process stopped with SIGSTOP: no renewal, no round.
  void freeze() {
    guard_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }
  /// Runs the node's work again, as SIGCONT (when frozen).
  void wake() {
    if (thread_.joinable()) return;
    io_.restart();
    guard_.emplace(io_.get_executor());
    thread_ = std::thread([this] { io_.run(); });
  }

  cluster::node& operator*() { return node_; }
  cluster::node* operator->() { return &node_; }

 private:
  static node_options options(const std::string& conninfo, const std::string& name) {
    node_options o;
    o.conninfo = conninfo;
    o.name = name;
    o.address = "127.0.0.1:1" + std::to_string(name.size());  // never dialled here
    o.partitions = kPartitions;
    o.leases = {.duration = 1500ms, .margin = 400ms, .timeout = 3000ms};
    o.renew_interval = 200ms;
    o.engine = {.threads = 1, .shards = 2};
    o.write_timeout = 3000ms;
    return o;
  }

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::thread thread_;
  cluster::node node_;
  bool stopped_ = false;
};

/// Waits up to `bound` for `done`; true when it came.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds bound = 10s) {
  const auto until = std::chrono::steady_clock::now() + bound;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return done();
}

/// A project of `partition` (of kPartitions).
project_id project_in(std::uint32_t partition) {
  for (unsigned i = 0;; ++i) {
    const std::string text = fmt::format("{:032x}", 0xabc000U + i);
    const project_id p = *project_id::parse(text);
    if (partition_of(p, kPartitions) == partition) return p;
  }
}

task_spec running_task(const project_id& project) {
  task_spec t;
  t.id = job_id::mint();
  t.project = project;
  t.name = "migration";
  t.state = task_state::incremental_transfer;
  return t;
}

std::vector<partition_owner> owners(const std::string& conninfo) {
  return pg_testing::run(
      [&](asio::any_io_executor ex) -> asio::awaitable<std::vector<partition_owner>> {
        pg_connection db = co_await pg_connection::connect(ex, conninfo);
        co_return co_await partition_owners(db, 3s);
      });
}

TEST(Node, ASingleNodeServesEveryPartitionAndANewOneLoadsWhatItAcknowledged) {
  pg_testing::require_cluster();
  const std::string conninfo = pg_testing::fresh_schema();
  const project_id project = project_in(2);
  const task_spec task = running_task(project);
  {
    test_node a(conninfo, "node-a");
    a.start();
    EXPECT_EQ(a->partitions(), kPartitions);
    EXPECT_EQ(a->held(), (std::vector<std::uint32_t>{0, 1, 2, 3}));
    const http::project_home home = a->find(project);
    ASSERT_TRUE(home.local);
    ASSERT_FALSE(home.local->register_tasks({task}).at(0).error);
    ASSERT_FALSE(home.local->pause(project, {{task.id, pause_mode::all}}).at(0).error);
    EXPECT_EQ(a->engines().size(), kPartitions);
    a.stop();
    // Released at once, not when the lease runs out.
    for (const partition_owner& o : owners(conninfo)) EXPECT_EQ(o.owner, "") << o.partition;
    EXPECT_FALSE(a->find(project).local);
  }
  test_node b(conninfo, "node-b");
  b.start();
  const http::project_home home = b->find(project);
  ASSERT_TRUE(home.local);
  const task_snapshot t = home.local->get(project, task.id);
  EXPECT_EQ(t.state, task_state::paused);
  EXPECT_EQ(t.pause, (pause_info{pause_mode::all, task_state::incremental_transfer}));
  EXPECT_EQ(t.version, 1U);
  // Only the project's own partition has it.
  EXPECT_EQ(b->find(project_in(1)).local->count().total(), 0U);
}

TEST(Node, ANodeThatJoinsGetsItsShareAndPeersKnowWhereEachPartitionIs) {
  pg_testing::require_cluster();
  const std::string conninfo = pg_testing::fresh_schema();
  test_node a(conninfo, "node-a");
  a.start();
  ASSERT_EQ(a->held().size(), kPartitions);
  test_node b(conninfo, "node-bb");
  b.start();
  ASSERT_TRUE(eventually([&] { return a->held().size() == 2 && b->held().size() == 2; }))
      << a->held().size() << " + " << b->held().size();
  // Each knows where the other's partitions are served.
  ASSERT_TRUE(eventually([&] {
    for (std::uint32_t p : b->held()) {
      const http::project_home home = a->find(project_in(p));
      if (home.local || home.owner != "127.0.0.1:17") return false;
    }
    return true;
  }));
  for (std::uint32_t p : a->held()) EXPECT_TRUE(a->find(project_in(p)).local) << p;
  // One leaves: the other takes everything at once.
  b.stop();
  EXPECT_TRUE(eventually([&] { return a->held().size() == kPartitions; }, 5s));
}

TEST(Node, AFrozenOwnerIsReplacedWithItsAcknowledgedChangesAndFencedWhenItWakes) {
  pg_testing::require_cluster();
  const std::string conninfo = pg_testing::fresh_schema();
  const project_id project = project_in(3);
  const task_spec task = running_task(project);
  const task_spec other = running_task(project);
  test_node a(conninfo, "node-a");
  a.start();
  const std::shared_ptr<engine> old = a->find(project).local;
  ASSERT_TRUE(old);
  ASSERT_FALSE(old->register_tasks({task, other}).at(0).error);
  ASSERT_FALSE(old->pause(project, {{task.id, pause_mode::target}}).at(0).error);

  a.freeze();  // no more renewals: its leases run out in the database
  test_node b(conninfo, "node-b");
  b.start();
  ASSERT_TRUE(eventually([&] { return b->held().size() == kPartitions; }, 10s));
  const std::shared_ptr<engine> now = b->find(project).local;
  ASSERT_TRUE(now);
  EXPECT_EQ(now->get(project, task.id).state, task_state::paused);  // acknowledged: kept
  EXPECT_FALSE(a->find(project).local);  // past its local deadline, even frozen

  // The old owner's engine still runs (only its node's rounds were frozen): its next write
  // is refused by the fence, and changes nothing.
  error_code ec;
  const batch_result r = old->pause(project, {{other.id, pause_mode::all}}, ec);
  EXPECT_EQ(ec, errc::journal_failed);
  EXPECT_EQ(r.at(0).error, errc::journal_failed);
  EXPECT_EQ(now->get(project, other.id).state, task_state::incremental_transfer);
  EXPECT_EQ(now->get(project, other.id).version, 0U);

  a.wake();  // its next round finds its leases lost and lets go of everything
  EXPECT_TRUE(eventually([&] { return a->engines().empty(); }, 5s));
  EXPECT_TRUE(a->held().empty());
  // The new owner goes on writing.
  EXPECT_FALSE(now->pause(project, {{other.id, pause_mode::all}}).at(0).error);
}

TEST(Node, AConnectionEndedByTheDatabaseFailsOneWriteThenThePartitionIsLoadedAgain) {
  pg_testing::require_cluster();
  const std::string conninfo = pg_testing::fresh_schema();
  const project_id project = project_in(0);
  const task_spec task = running_task(project);
  test_node a(conninfo, "node-kill");
  a.start();
  ASSERT_FALSE(a->find(project).local->register_tasks({task}).at(0).error);
  // The database ends every connection of the node: its own and its engines' stores.
  const int ended = pg_testing::run([&](asio::any_io_executor ex) -> asio::awaitable<int> {
    pg_connection db = co_await pg_connection::connect(ex, pg_testing::conninfo());
    const std::string_view node_name = "node-kill";
    const std::array name{pg_param::text(node_name)};
    pg_rows r = co_await db.query(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE application_name = $1",
        name, 3s);
    co_return std::stoi(std::string(r.value(0, 0)));
  });
  EXPECT_GT(ended, 0);
  // The write that meets the ended connection fails; nothing half-done stays.
  const std::shared_ptr<engine> before = a->find(project).local;
  error_code ec;
  (void)before->pause(project, {{task.id, pause_mode::target}}, ec);
  EXPECT_EQ(ec, errc::journal_failed);
  EXPECT_EQ(before->get(project, task.id).state, task_state::incremental_transfer);
  // Queries still answer meanwhile; the node loads the partition again from the database.
  ASSERT_TRUE(eventually([&] {
    const std::shared_ptr<engine> e = a->find(project).local;
    return e && e != before;
  })) << "the partition was not loaded again";
  const std::shared_ptr<engine> after = a->find(project).local;
  EXPECT_EQ(after->get(project, task.id).state, task_state::incremental_transfer);
  EXPECT_FALSE(after->pause(project, {{task.id, pause_mode::target}}).at(0).error);
  EXPECT_EQ(a->held().size(), kPartitions);  // no lease was lost
}

}  // namespace
}  // namespace taskorch::cluster
