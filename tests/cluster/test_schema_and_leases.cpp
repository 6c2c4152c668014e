// The cluster's tables and leases against a real PostgreSQL (pg_test_support.hpp), each test in
// a schema of its own: ensure_schema() creating and then reading the tables, concurrent
// creators, a newer version refused; claim, renew, release and the fence; partition_of; the
// nodes' addresses and the partitions' owners.

#include "leases.hpp"
#include "nodes.hpp"
#include "partition_map.hpp"
#include "pg_test_support.hpp"
#include "schema.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace taskorch::cluster {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using pg_testing::fresh_schema;
using pg_testing::require_cluster;
using pg_testing::run;

TEST(PartitionMap, IsFixedAndSpreadsProjects) {
  // Fixed values: the mapping is part of the stored format (partition_map.hpp).
  const project_id demo = *project_id::parse("054ba152d480d55b2f5dc0069e7ddef0");
  const project_id neighbour = *project_id::parse("6a1f0c8e2b4d4f7e9c3a5b7d9e1f2a3b");
  EXPECT_EQ(partition_of(demo, 64), partition_of(demo, 64));
  EXPECT_EQ(partition_of(demo, 1), 0U);
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a by hand, as an independent oracle
  for (const char c : std::string("054ba152d480d55b2f5dc0069e7ddef0")) {
    h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  }
  EXPECT_EQ(partition_of(demo, 64), h % 64);
  EXPECT_EQ(partition_of(demo, 4096), h % 4096);
  EXPECT_NE(partition_of(demo, 4096), partition_of(neighbour, 4096));
  // 6400 random-looking projects over 64 partitions: none empty, none over twice its share.
  std::map<std::uint32_t, int> counts;
  for (int i = 0; i < 6400; ++i) {
    const std::string text = fmt::format("{:016x}{:016x}", std::uint64_t(i) * 0x9e3779b97f4a7c15ULL,
                                         std::uint64_t(i) * 0xbf58476d1ce4e5b9ULL);
    ++counts[partition_of(*project_id::parse(text), 64)];
  }
  EXPECT_EQ(counts.size(), 64U);
  for (const auto& [p, n] : counts) EXPECT_LT(n, 200) << "partition " << p;
}

class ClusterTables : public ::testing::Test {
 protected:
  void SetUp() override {
    require_cluster();
    conninfo_ = fresh_schema();
  }
  std::string conninfo_;
};

TEST_F(ClusterTables, AreCreatedOnceThenRead) {
  run([this](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto db = co_await pg_connection::connect(ex, conninfo_);
    const schema_info made = co_await ensure_schema(db, 8);
    EXPECT_TRUE(made.created);
    EXPECT_EQ(made.version, schema_version);
    EXPECT_EQ(made.partitions, 8U);
    const schema_info read = co_await ensure_schema(db, 16);  // the database's count wins
    EXPECT_FALSE(read.created);
    EXPECT_EQ(read.partitions, 8U);
    pg_rows rows = co_await db.query(
        "SELECT count(*), min(id), max(id), count(owner), max(epoch) FROM taskorch_partitions", {},
        5s);
    EXPECT_EQ(rows.value(0, 0), "8");
    EXPECT_EQ(rows.value(0, 1), "0");
    EXPECT_EQ(rows.value(0, 2), "7");
    EXPECT_EQ(rows.value(0, 3), "0");
    EXPECT_EQ(rows.value(0, 4), "0");
  });
}

TEST_F(ClusterTables, ConcurrentCreatorsMakeOneSchema) {
  const int created = run([this](asio::any_io_executor ex) -> asio::awaitable<int> {
    std::vector<pg_connection> dbs;
    for (int i = 0; i < 4; ++i) {
      pg_connection c = co_await pg_connection::connect(ex, conninfo_);
      dbs.push_back(std::move(c));
    }
    // Four creators on one thread, interleaved by their statements' round trips.
    std::vector<std::future<schema_info>> results;
    for (auto& db : dbs) {
      results.push_back(asio::co_spawn(ex, ensure_schema(db, 4), asio::use_future));
    }
    int n = 0;
    for (auto& r : results) {
      while (r.wait_for(0s) != std::future_status::ready) {
        asio::steady_timer pause(ex, 10ms);
        co_await pause.async_wait(asio::use_awaitable);
      }
      n += r.get().created ? 1 : 0;
    }
    co_return n;
  });
  EXPECT_EQ(created, 1);
}

TEST_F(ClusterTables, ANewerSchemaIsRefusedAndLeftAlone) {
  run([this](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto db = co_await pg_connection::connect(ex, conninfo_);
    co_await ensure_schema(db, 2);
    co_await db.query("UPDATE taskorch_schema SET version = version + 1", {}, 5s);
    std::string why;
    try {
      co_await ensure_schema(db, 2);
    } catch (const std::runtime_error& e) {
      why = e.what();
    }
    EXPECT_NE(why.find("version 2"), std::string::npos) << why;
    pg_rows v = co_await db.query("SELECT version FROM taskorch_schema", {}, 5s);
    EXPECT_EQ(v.value(0, 0), "2");
  });
}

TEST_F(ClusterTables, BadPartitionCountsAreRefused) {
  run([this](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto db = co_await pg_connection::connect(ex, conninfo_);
    for (const std::uint32_t n : {0U, max_partitions + 1}) {
      bool refused = false;
      try {
        co_await ensure_schema(db, n);
      } catch (const std::invalid_argument&) {
        refused = true;
      }
      EXPECT_TRUE(refused) << n;
    }
    pg_rows none = co_await db.query("SELECT to_regclass('taskorch_schema') IS NULL", {}, 5s);
    EXPECT_EQ(none.value(0, 0), "t");
  });
}

class Leases : public ClusterTables {};

const lease_options quick{.duration = 1500ms, .margin = 500ms, .timeout = 5s};

TEST_F(Leases, OneOwnerAtATimeAndEachClaimMovesTheEpoch) {
  run([this](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto db = co_await pg_connection::connect(ex, conninfo_);
    co_await ensure_schema(db, 4);
    const auto before = std::chrono::steady_clock::now();
    std::optional<lease> a = co_await claim(db, "node-a", 2, quick);
    EXPECT_TRUE(a.has_value());
    if (!a) co_return;
    EXPECT_EQ(a->partition, 2U);
    EXPECT_EQ(a->epoch, 1);
    // The local deadline: at most the lease less the margin after the request was sent.
    EXPECT_LE(a->deadline, std::chrono::steady_clock::now() + quick.duration - quick.margin);
    EXPECT_GT(a->deadline, before);
    std::optional<lease> b = co_await claim(db, "node-b", 2, quick);
    EXPECT_FALSE(b.has_value()) << "a held lease is not taken";
    std::optional<lease> again = co_await claim(db, "node-a", 2, quick);
    EXPECT_FALSE(again.has_value()) << "not even by its holder: it may be a second process";

    // Renewed, it stays; not renewed, it runs out and another node takes it, at epoch 2.
    const std::array held{*a};
    std::vector<lease> kept = co_await renew(db, "node-a", held, quick);
    EXPECT_EQ(kept.size(), 1U);
    if (!kept.empty()) {
      EXPECT_GT(kept[0].deadline, a->deadline);
    }
    asio::steady_timer wait(ex, quick.duration + 200ms);
    co_await wait.async_wait(asio::use_awaitable);
    b = co_await claim(db, "node-b", 2, quick);
    EXPECT_TRUE(b.has_value());
    if (b) {
      EXPECT_EQ(b->epoch, 2);
    }
    // node-a wakes up: its renewal and its fence both say it lost the partition.
    kept = co_await renew(db, "node-a", held, quick);
    EXPECT_TRUE(kept.empty());
    co_await db.query("BEGIN", {}, 5s);
    std::vector<std::uint32_t> moved = co_await fenced_partitions(db, "node-a", held, quick);
    co_await db.query("ROLLBACK", {}, 5s);
    EXPECT_EQ(moved, std::vector<std::uint32_t>{2});
  });
}

TEST_F(Leases, ReleaseHandsAPartitionOverAtOnce) {
  run([this](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto db = co_await pg_connection::connect(ex, conninfo_);
    co_await ensure_schema(db, 2);
    std::optional<lease> a = co_await claim(db, "node-a", 0, quick);
    EXPECT_TRUE(a.has_value());
    if (!a) co_return;
    // A stale epoch releases nothing.
    lease stale = *a;
    stale.epoch -= 1;
    co_await release(db, "node-a", stale, quick);
    EXPECT_FALSE((co_await claim(db, "node-b", 0, quick)).has_value());
    co_await release(db, "node-a", *a, quick);
    std::optional<lease> b = co_await claim(db, "node-b", 0, quick);
    EXPECT_TRUE(b.has_value());
    if (b) {
      EXPECT_EQ(b->epoch, 2);
    }
  });
}

TEST_F(Leases, TheFenceHoldsOffAClaimUntilTheWriteCommits) {
  run([this](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto writer = co_await pg_connection::connect(ex, conninfo_);
    auto other = co_await pg_connection::connect(ex, conninfo_);
    co_await ensure_schema(writer, 2);
    std::optional<lease> a = co_await claim(writer, "node-a", 1, quick);
    EXPECT_TRUE(a.has_value());
    if (!a) co_return;
    const std::array held{*a};
    co_await writer.query("BEGIN", {}, 5s);
    std::vector<std::uint32_t> moved = co_await fenced_partitions(writer, "node-a", held, quick);
    EXPECT_TRUE(moved.empty());
    // The lease runs out while the write is open: another node's claim waits for the row...
    asio::steady_timer wait(ex, quick.duration + 200ms);
    co_await wait.async_wait(asio::use_awaitable);
    auto claimed = asio::co_spawn(ex, claim(other, "node-b", 1, quick), asio::use_future);
    asio::steady_timer moment(ex, 300ms);
    co_await moment.async_wait(asio::use_awaitable);
    EXPECT_NE(claimed.wait_for(0s), std::future_status::ready) << "the claim waits for the write";
    co_await writer.query("COMMIT", {}, 5s);
    while (claimed.wait_for(0s) != std::future_status::ready) {
      co_await moment.async_wait(asio::use_awaitable);
    }
    // ...and takes it once the write is committed: the write was made under epoch 1, the
    // claim after it moved the epoch to 2.
    std::optional<lease> b = claimed.get();
    EXPECT_TRUE(b.has_value());
    if (b) {
      EXPECT_EQ(b->epoch, 2);
    }
  });
}

TEST_F(Leases, RenewKeepsOnlyWhatIsStillHeld) {
  run([this](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto db = co_await pg_connection::connect(ex, conninfo_);
    co_await ensure_schema(db, 4);
    std::vector<lease> held;
    for (std::uint32_t p = 0; p < 4; ++p) {
      std::optional<lease> l = co_await claim(db, "node-a", p, quick);
      EXPECT_TRUE(l.has_value());
      if (l) held.push_back(*l);
    }
    co_await release(db, "node-a", held[1], quick);
    co_await db.query("UPDATE taskorch_partitions SET owner = 'node-x' WHERE id = 3", {}, 5s);
    std::vector<lease> kept = co_await renew(db, "node-a", held, quick);
    std::vector<std::uint32_t> ids;
    for (const lease& l : kept) ids.push_back(l.partition);
    EXPECT_EQ(ids, (std::vector<std::uint32_t>{0, 2}));
  });
}

TEST_F(Leases, OwnersAreListedWithTheirAddressesWhileTheirLeasesLast) {
  run([this](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto db = co_await pg_connection::connect(ex, conninfo_);
    co_await ensure_schema(db, 3);
    co_await announce(db, "node-a", "127.0.0.1:1001", 5s);
    co_await announce(db, "node-b", "127.0.0.1:2002", 5s);
    co_await announce(db, "node-a", "127.0.0.1:1111", 5s);  // a restart on another port
    const lease_options longer{.duration = 60s, .margin = 5s, .timeout = 5s};
    std::optional<lease> a = co_await claim(db, "node-a", 0, longer);
    std::optional<lease> b = co_await claim(db, "node-b", 2, quick);
    EXPECT_TRUE(a.has_value() && b.has_value());
    std::vector<partition_owner> owners = co_await partition_owners(db, 5s);
    EXPECT_EQ(owners, (std::vector<partition_owner>{{0, "node-a", "127.0.0.1:1111", 1},
                                                    {1, "", "", 0},
                                                    {2, "node-b", "127.0.0.1:2002", 1}}));
    // node-b's lease runs out: nobody serves partition 2 until it is claimed again.
    asio::steady_timer wait(ex, quick.duration + 200ms);
    co_await wait.async_wait(asio::use_awaitable);
    owners = co_await partition_owners(db, 5s);
    EXPECT_EQ(owners.at(2), (partition_owner{2, "", "", 1}));
    // A node that stops releases its partitions and is forgotten.
    if (a) co_await release(db, "node-a", *a, longer);
    co_await forget(db, "node-a", 5s);
    owners = co_await partition_owners(db, 5s);
    EXPECT_EQ(owners.at(0), (partition_owner{0, "", "", 1}));
    pg_rows left = co_await db.query("SELECT name FROM taskorch_nodes ORDER BY name", {}, 5s);
    EXPECT_EQ(left.rows(), 1U);
    EXPECT_EQ(left.value(0, 0), "node-b");
  });
}

}  // namespace
}  // namespace taskorch::cluster
