// pg_journal_store against a real PostgreSQL (pg_test_support.hpp), each test in a schema of its
// own: groups and checkpoints read back byte for byte (a group the checkpoint covers in part is
// kept), a 10 MB group, the fence (a replaced owner, a node that never held the partition, a
// fenced store staying fenced), append and checkpoint at once from two threads, a backend
// terminated by the server, a statement past its timeout, no server at all; the error codes.
//
// The store blocks its calling thread, as the engine's journal writer and checkpointer expect:
// the tests call it directly, and drive their own statements through a blocking `session`.

#include "cluster_error.hpp"
#include "leases.hpp"
#include "pg_journal_store.hpp"
#include "pg_test_support.hpp"
#include "schema.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <latch>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <unistd.h>
#include <vector>

namespace taskorch::cluster {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using pg_testing::fresh_schema;
using pg_testing::require_cluster;

/// A connection of the test's own, each call run to its end on the calling thread.
class session {
 public:
  explicit session(const std::string& conninfo) {
    pg_connection db = finish(pg_connection::connect(io_.get_executor(), conninfo));
    db_.emplace(std::move(db));
  }

  /// Runs `f(connection)`, an awaitable, and returns its result.
  template <class F>
  auto call(F f) {
    return finish(f(*db_));
  }

  /// Runs one statement with text parameters.
  pg_rows query(const std::string& sql, const std::vector<std::string>& texts = {}) {
    return call([&](pg_connection& db) { return ask(db, sql, texts); });
  }

 private:
  template <class T>
  static asio::awaitable<void> keep(asio::awaitable<T> work, std::optional<T>& out) {
    T value = co_await std::move(work);
    out.emplace(std::move(value));
  }

  /// Runs `work` to its end (asio's use_future wants a default-constructible result).
  template <class T>
  T finish(asio::awaitable<T> work) {
    std::optional<T> out;
    finish(keep(std::move(work), out));
    return std::move(*out);
  }

  void finish(asio::awaitable<void> work) {
    io_.restart();
    std::exception_ptr failed;
    asio::co_spawn(io_, std::move(work), [&failed](const std::exception_ptr& e) { failed = e; });
    io_.run();
    if (failed) std::rethrow_exception(failed);
  }

  static asio::awaitable<pg_rows> ask(pg_connection& db, const std::string& sql,
                                      const std::vector<std::string>& texts) {
    std::vector<pg_param> params;
    for (const std::string& t : texts) params.push_back(pg_param::text(t));
    co_return co_await db.query(sql, params, 10s);
  }

  asio::io_context io_;
  std::optional<pg_connection> db_;  // after io_: destroyed before it
};

using group_rows = std::vector<std::tuple<std::uint64_t, std::uint64_t, std::string>>;

group_rows groups_of(const stored_journal& j) {
  group_rows out;
  for (const stored_journal::group& g : j.groups)
    out.emplace_back(g.first_lsn, g.last_lsn, g.records);
  return out;
}

const lease_options long_lease{.duration = 60s, .margin = 5s, .timeout = 5s};

class PgJournalStore : public ::testing::Test {
 protected:
  void SetUp() override {
    require_cluster();
    conninfo_ = fresh_schema();
    admin_.emplace(conninfo_);
    admin_->call([](pg_connection& db) { return ensure_schema(db, 4); });
    const std::optional<lease> a = take(2, "node-a");
    ASSERT_TRUE(a.has_value());
    held_ = *a;
  }

  std::optional<lease> take(std::uint32_t partition, const char* node) {
    return admin_->call([&](pg_connection& db) { return claim(db, node, partition, long_lease); });
  }

  /// The options of node-a's store of partition 2, at the epoch it claimed.
  pg_journal_store_options as_a() const {
    return {.partition = 2, .node = "node-a", .epoch = held_.epoch};
  }

  /// The groups stored for partition 2, as "first..last".
  std::vector<std::string> journal_rows() {
    const pg_rows r = admin_->query(
        "SELECT first_lsn, last_lsn FROM taskorch_journal WHERE partition = 2 ORDER BY first_lsn");
    std::vector<std::string> out;
    for (std::size_t i = 0; i < r.rows(); ++i) {
      out.push_back(fmt::format("{}..{}", r.value(i, 0), r.value(i, 1)));
    }
    return out;
  }

  std::string count(const std::string& table) {
    return std::string(admin_->query("SELECT count(*) FROM " + table).value(0, 0));
  }

  std::string conninfo_;
  std::optional<session> admin_;
  lease held_;
};

TEST(ClusterErrors, AreDistinctCodesOfTheirOwnCategory) {
  const std::error_code fenced = cluster_errc::fenced;
  const std::error_code unavailable = cluster_errc::database_unavailable;
  EXPECT_TRUE(fenced);
  EXPECT_EQ(fenced, cluster_errc::fenced);
  EXPECT_NE(fenced, unavailable);
  EXPECT_EQ(fenced.category(), cluster_category());
  EXPECT_STREQ(cluster_category().name(), "taskorch.cluster");
  EXPECT_NE(fenced.message().find("another node owns the partition"), std::string::npos);
  EXPECT_NE(unavailable.message().find("PostgreSQL"), std::string::npos);
  EXPECT_NE(fenced.message(), unavailable.message());
}

TEST_F(PgJournalStore, GroupsAndCheckpointsLoadBackExactly) {
  std::string every_byte;
  for (int b = 0; b < 256; ++b) every_byte.push_back(static_cast<char>(b));
  const std::string nuls("\0\xff\0a\0", 5);
  const std::string image("ckpt\0\xff\x01 at 6", 13);
  {
    pg_journal_store store(conninfo_, as_a());
    EXPECT_EQ(store.name(), "PostgreSQL partition 2");
    const stored_journal empty = store.load();
    EXPECT_EQ(empty.checkpoint_lsn, 0U);
    EXPECT_TRUE(empty.checkpoint.empty());
    EXPECT_TRUE(empty.groups.empty());
    EXPECT_EQ(store.append(1, 1, nuls), std::error_code());
    EXPECT_EQ(store.append(2, 4, every_byte), std::error_code());
    EXPECT_EQ(store.append(5, 7, "\xff"), std::error_code());
    EXPECT_EQ(store.append(8, 8, std::string_view()), std::error_code());  // no bytes at all
    EXPECT_EQ(store.append(9, 9, "z"), std::error_code());
  }
  // Another partition's journal is kept apart.
  const std::optional<lease> other = take(1, "node-a");
  ASSERT_TRUE(other.has_value());
  pg_journal_store neighbour(conninfo_, {.partition = 1, .node = "node-a", .epoch = other->epoch});
  EXPECT_EQ(neighbour.append(1, 1, "neighbour"), std::error_code());

  pg_journal_store store(conninfo_, as_a());  // a new store reads what the first one wrote
  stored_journal j = store.load();
  EXPECT_EQ(j.checkpoint_lsn, 0U);
  EXPECT_EQ(
      groups_of(j),
      (group_rows{{1, 1, nuls}, {2, 4, every_byte}, {5, 7, "\xff"}, {8, 8, ""}, {9, 9, "z"}}));

  // The checkpoint at 6 covers 1..1 and 2..4 whole, and 5..7 in part: that one is kept.
  EXPECT_EQ(store.checkpoint(6, image), std::error_code());
  EXPECT_EQ(journal_rows(), (std::vector<std::string>{"5..7", "8..8", "9..9"}));
  j = store.load();
  EXPECT_EQ(j.checkpoint_lsn, 6U);
  EXPECT_EQ(j.checkpoint, image);
  EXPECT_EQ(groups_of(j), (group_rows{{5, 7, "\xff"}, {8, 8, ""}, {9, 9, "z"}}));

  // An older checkpoint does not replace a newer one.
  EXPECT_EQ(store.checkpoint(3, "older"), std::error_code());
  j = store.load();
  EXPECT_EQ(j.checkpoint_lsn, 6U);
  EXPECT_EQ(j.checkpoint, image);
  EXPECT_EQ(j.groups.size(), 3U);

  // A later one does, and leaves nothing to replay.
  EXPECT_EQ(store.checkpoint(9, "all"), std::error_code());
  j = store.load();
  EXPECT_EQ(j.checkpoint_lsn, 9U);
  EXPECT_EQ(j.checkpoint, "all");
  EXPECT_TRUE(j.groups.empty());
  EXPECT_TRUE(journal_rows().empty());

  const stored_journal apart = neighbour.load();
  EXPECT_EQ(groups_of(apart), (group_rows{{1, 1, "neighbour"}}));
  EXPECT_EQ(apart.checkpoint_lsn, 0U);
}

TEST_F(PgJournalStore, ATenMegabyteGroupIsOneRow) {
  std::string big(10U << 20U, '\0');
  std::mt19937_64 random(11);
  for (char& c : big) c = static_cast<char>(random() & 0xffU);
  pg_journal_store store(conninfo_, as_a());
  EXPECT_EQ(store.append(1, 5000, big), std::error_code());
  const pg_rows r = admin_->query(
      "SELECT count(*), sum(octet_length(records)) FROM taskorch_journal WHERE partition = 2");
  EXPECT_EQ(r.value(0, 0), "1");
  EXPECT_EQ(r.value(0, 1), std::to_string(big.size()));
  const stored_journal j = store.load();
  ASSERT_EQ(j.groups.size(), 1U);
  EXPECT_EQ(j.groups[0].first_lsn, 1U);
  EXPECT_EQ(j.groups[0].last_lsn, 5000U);
  EXPECT_TRUE(j.groups[0].records == big) << "the 10 MB group came back different";
}

TEST_F(PgJournalStore, AReplacedOwnerIsFencedForGood) {
  pg_journal_store a(conninfo_, as_a());
  pg_journal_store a_checkpointer(conninfo_, as_a());
  EXPECT_EQ(a.append(1, 1, "a1"), std::error_code());
  // node-a lets go (or its lease runs out) and node-b claims the partition: the epoch moves.
  admin_->call([&](pg_connection& db) { return release(db, "node-a", held_, long_lease); });
  const std::optional<lease> b = take(2, "node-b");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->epoch, held_.epoch + 1);

  EXPECT_EQ(a.append(2, 2, "a2"), cluster_errc::fenced);
  EXPECT_TRUE(a.fenced());
  EXPECT_NE(a.last_failure().find("node-a"), std::string::npos) << a.last_failure();
  EXPECT_EQ(a_checkpointer.checkpoint(1, "a's image"), cluster_errc::fenced);
  EXPECT_EQ(journal_rows(), (std::vector<std::string>{"1..1"}));
  EXPECT_EQ(count("taskorch_checkpoints"), "0");

  pg_journal_store b_store(conninfo_, {.partition = 2, .node = "node-b", .epoch = b->epoch});
  EXPECT_EQ(b_store.append(2, 2, "b2"), std::error_code());

  // Even were the database to say node-a holds it again at its old epoch, a fenced store
  // stays fenced, without asking.
  admin_->query("UPDATE taskorch_partitions SET owner = 'node-a', epoch = $1::bigint WHERE id = 2",
                {std::to_string(held_.epoch)});
  EXPECT_EQ(a.append(3, 3, "a3"), cluster_errc::fenced);
  EXPECT_EQ(a.checkpoint(2, "a's image"), cluster_errc::fenced);
  EXPECT_EQ(journal_rows(), (std::vector<std::string>{"1..1", "2..2"}));
  EXPECT_EQ(count("taskorch_checkpoints"), "0");
}

TEST_F(PgJournalStore, ANodeThatDoesNotHoldThePartitionIsFenced) {
  // Partition 2 is node-a's: node-c, even at node-a's epoch, writes nothing.
  pg_journal_store c(conninfo_, {.partition = 2, .node = "node-c", .epoch = held_.epoch});
  EXPECT_EQ(c.append(1, 1, "c1"), cluster_errc::fenced);
  pg_journal_store c_checkpointer(conninfo_,
                                  {.partition = 2, .node = "node-c", .epoch = held_.epoch});
  EXPECT_EQ(c_checkpointer.checkpoint(1, "c's image"), cluster_errc::fenced);
  // Nobody holds partition 3, nor is there a partition 9.
  pg_journal_store unowned(conninfo_, {.partition = 3, .node = "node-a", .epoch = 0});
  EXPECT_EQ(unowned.append(1, 1, "u1"), cluster_errc::fenced);
  pg_journal_store missing(conninfo_, {.partition = 9, .node = "node-a", .epoch = 0});
  EXPECT_EQ(missing.checkpoint(1, "m"), cluster_errc::fenced);
  EXPECT_EQ(count("taskorch_journal"), "0");
  EXPECT_EQ(count("taskorch_checkpoints"), "0");
  // The holder itself writes.
  pg_journal_store a(conninfo_, as_a());
  EXPECT_EQ(a.append(1, 1, "a1"), std::error_code());
  EXPECT_EQ(count("taskorch_journal"), "1");
}

TEST_F(PgJournalStore, AppendAndCheckpointRunAtOnce) {
  pg_journal_store store(conninfo_, as_a());
  for (std::uint64_t lsn = 1; lsn <= 5; ++lsn) {
    ASSERT_EQ(store.append(lsn, lsn, fmt::format("r{}", lsn)), std::error_code());
  }
  std::latch start(2);
  std::atomic<bool> written{false};
  std::vector<std::error_code> appended;
  std::vector<std::error_code> checkpointed;
  std::thread writer([&] {
    start.arrive_and_wait();
    for (std::uint64_t lsn = 6; lsn <= 60; ++lsn) {
      appended.push_back(store.append(lsn, lsn, fmt::format("r{}", lsn)));
    }
    written.store(true);
  });
  std::thread checkpointer([&] {
    start.arrive_and_wait();
    for (std::uint64_t lsn = 1; lsn <= 5; ++lsn) {
      checkpointed.push_back(store.checkpoint(lsn, fmt::format("image {}", lsn)));
    }
    // Again while the writer writes (the same lsn: nothing changes).
    while (!written.load()) checkpointed.push_back(store.checkpoint(5, "image 5"));
  });
  writer.join();
  checkpointer.join();
  EXPECT_EQ(appended, std::vector<std::error_code>(55));
  EXPECT_GE(checkpointed.size(), 5U);
  EXPECT_EQ(checkpointed, std::vector<std::error_code>(checkpointed.size()));
  const stored_journal j = store.load();
  EXPECT_EQ(j.checkpoint_lsn, 5U);
  EXPECT_EQ(j.checkpoint, "image 5");
  group_rows expected;
  for (std::uint64_t lsn = 6; lsn <= 60; ++lsn)
    expected.emplace_back(lsn, lsn, fmt::format("r{}", lsn));
  EXPECT_EQ(groups_of(j), expected);
  EXPECT_EQ(count("taskorch_journal"), "55");
}

TEST_F(PgJournalStore, AnAppendThatMeetsADeadConnectionFails) {
  // The rule: the append that meets a dead connection fails (the engine then fails its
  // journal); the store opens a new connection on its next call.
  pg_journal_store_options options = as_a();
  options.application_name = fmt::format("journal-victim-{}", ::getpid());
  pg_journal_store store(conninfo_, options);
  EXPECT_EQ(store.append(1, 1, "one"), std::error_code());
  const pg_rows killed = admin_->query(
      "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE application_name = $1",
      {options.application_name});
  ASSERT_EQ(killed.rows(), 1U);
  EXPECT_EQ(killed.value(0, 0), "t");
  EXPECT_EQ(store.append(2, 2, "two"), cluster_errc::database_unavailable);
  EXPECT_FALSE(store.last_failure().empty());
  EXPECT_FALSE(store.fenced());
  EXPECT_EQ(journal_rows(), (std::vector<std::string>{"1..1"}));
  EXPECT_EQ(store.append(2, 2, "two"), std::error_code());
  EXPECT_EQ(journal_rows(), (std::vector<std::string>{"1..1", "2..2"}));
}

TEST_F(PgJournalStore, AnAppendPastItsStatementTimeoutFails) {
  pg_journal_store_options options = as_a();
  options.statement_timeout = 300ms;
  options.application_name = fmt::format("journal-waiter-{}", ::getpid());
  pg_journal_store store(conninfo_, options);
  // Another transaction holds the partition's row: the append's fence (FOR SHARE) waits.
  session locker(conninfo_);
  locker.query("BEGIN");
  locker.query("SELECT id FROM taskorch_partitions WHERE id = 2 FOR UPDATE");
  const auto began = std::chrono::steady_clock::now();
  EXPECT_EQ(store.append(1, 1, "one"), cluster_errc::database_unavailable);
  // Loosely: well under the default 5 s, so the option bounded it.
  EXPECT_LT(std::chrono::steady_clock::now() - began, 4s);
  EXPECT_FALSE(store.last_failure().empty());
  // The server ends the statement too (its statement_timeout): no backend of the store's is
  // left waiting for the row while the other transaction goes on.
  std::string left = "?";
  for (int i = 0; i < 100 && left != "0"; ++i) {
    std::this_thread::sleep_for(30ms);
    left = admin_
               ->query("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                       {options.application_name})
               .value(0, 0);
  }
  EXPECT_EQ(left, "0");
  locker.query("ROLLBACK");
  EXPECT_TRUE(journal_rows().empty());
  EXPECT_EQ(store.append(1, 1, "one"), std::error_code());
  EXPECT_EQ(journal_rows(), (std::vector<std::string>{"1..1"}));
}

TEST(PgJournalStoreWithoutServer, IsUnavailableAndLoadThrows) {
  // A port nobody listens on: refused at once.
  asio::io_context probe;
  asio::ip::tcp::acceptor closed(probe, {asio::ip::make_address("127.0.0.1"), 0});
  const unsigned short port = closed.local_endpoint().port();
  closed.close();
  pg_journal_store store(fmt::format("postgresql://taskorch@127.0.0.1:{}/taskorch", port),
                         {.partition = 5, .node = "node-a", .epoch = 1, .connect_timeout = 2s});
  EXPECT_EQ(store.append(1, 1, "one"), cluster_errc::database_unavailable);
  EXPECT_NE(store.last_failure().find("cannot connect"), std::string::npos) << store.last_failure();
  EXPECT_EQ(store.checkpoint(1, "image"), cluster_errc::database_unavailable);
  EXPECT_FALSE(store.fenced());
  std::string why;
  try {
    store.load();
  } catch (const std::runtime_error& e) {
    why = e.what();
  }
  EXPECT_NE(why.find("PostgreSQL partition 5: cannot load the journal"), std::string::npos) << why;
}

}  // namespace
}  // namespace taskorch::cluster
