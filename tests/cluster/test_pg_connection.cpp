// pg_connection against a real PostgreSQL: the cluster the ctest fixture started
// (pg_test_support.hpp). Every case runs its coroutine on one io_context with a bound, so a
// hang fails the case instead of the suite.

#include "pg_connection.hpp"
#include "pg_test_support.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace taskorch::cluster {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using pg_testing::conninfo;
using pg_testing::require_cluster;
using pg_testing::run;

class PgConnection : public ::testing::Test {
 protected:
  void SetUp() override { require_cluster(); }
};

TEST_F(PgConnection, RunsParameterisedStatements) {
  const auto answer =
      run([](asio::any_io_executor ex) -> asio::awaitable<std::vector<std::string>> {
        auto db = co_await pg_connection::connect(ex, conninfo());
        EXPECT_TRUE(db.ok());
        EXPECT_GT(db.backend_pid(), 0);
        const std::string quote = "it's; DROP TABLE x; --";
        const std::string bytes("\0\x01\xff", 3);
        const std::array params{pg_param::text(quote), pg_param::null(), pg_param::bytes(bytes)};
        pg_rows r = co_await db.query(
            "SELECT $1::text, $2::text IS NULL, encode($3::bytea, 'hex'), length($3::bytea)",
            params, 5s);
        EXPECT_EQ(r.rows(), 1U);
        EXPECT_EQ(r.columns(), 4U);
        std::vector<std::string> values;
        for (std::size_t c = 0; c < r.columns(); ++c) values.emplace_back(r.value(0, c));
        co_return values;
      });
  EXPECT_EQ(answer, (std::vector<std::string>{"it's; DROP TABLE x; --", "t", "0001ff", "3"}));
}

TEST_F(PgConnection, AStatementErrorKeepsTheConnection) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto db = co_await pg_connection::connect(ex, conninfo());
    std::string state;
    try {
      co_await db.query("SELECT 1/0", {}, 5s);
    } catch (const pg_error& e) {
      state = e.sqlstate();
    }
    EXPECT_EQ(state, "22012");  // division_by_zero
    EXPECT_TRUE(db.ok());
    pg_rows r = co_await db.query("SELECT 42", {}, 5s);
    EXPECT_EQ(r.value(0, 0), "42");
    pg_rows none = co_await db.query("CREATE TEMP TABLE t (v int)", {}, 5s);
    EXPECT_EQ(none.rows(), 0U);
    pg_rows inserted = co_await db.query("INSERT INTO t SELECT generate_series(1, 7)", {}, 5s);
    EXPECT_EQ(inserted.affected(), 7U);
  });
}

TEST_F(PgConnection, AStatementPastItsTimeoutBreaksTheConnection) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto db = co_await pg_connection::connect(ex, conninfo());
    const auto started = std::chrono::steady_clock::now();
    bool thrown = false;
    try {
      co_await db.query("SELECT pg_sleep(10)", {}, 300ms);
    } catch (const pg_error& e) {
      thrown = true;
      EXPECT_EQ(e.sqlstate(), "");
      EXPECT_NE(std::string(e.what()).find("timed out"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(thrown);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
    EXPECT_FALSE(db.ok());
    bool refused = false;
    try {
      co_await db.query("SELECT 1", {}, 5s);
    } catch (const pg_error&) {
      refused = true;
    }
    EXPECT_TRUE(refused);
  });
}

TEST_F(PgConnection, ABackendTerminatedByTheServerIsNoticed) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto victim = co_await pg_connection::connect(ex, conninfo(), {.application_name = "victim"});
    auto killer = co_await pg_connection::connect(ex, conninfo());
    const std::string pid = std::to_string(victim.backend_pid());
    const std::array params{pg_param::text(pid)};
    pg_rows r = co_await killer.query("SELECT pg_terminate_backend($1::int)", params, 5s);
    EXPECT_EQ(r.value(0, 0), "t");
    bool thrown = false;
    try {
      co_await victim.query("SELECT 1", {}, 5s);
    } catch (const pg_error&) {
      thrown = true;
    }
    EXPECT_TRUE(thrown);
    EXPECT_FALSE(victim.ok());
    EXPECT_TRUE(killer.ok());
  });
}

TEST_F(PgConnection, NoServerIsAFailureWithinTheTimeout) {
  // A port nobody listens on: refused at once.
  asio::io_context probe;
  asio::ip::tcp::acceptor closed(probe, {asio::ip::make_address("127.0.0.1"), 0});
  const unsigned short refused_port = closed.local_endpoint().port();
  closed.close();
  run([refused_port](asio::any_io_executor ex) -> asio::awaitable<void> {
    bool thrown = false;
    try {
      co_await pg_connection::connect(
          ex, "postgresql://taskorch@127.0.0.1:" + std::to_string(refused_port) + "/taskorch",
          {.timeout = 2s});
    } catch (const pg_error& e) {
      thrown = true;
      EXPECT_NE(std::string(e.what()).find("cannot connect"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(thrown);
  });
}

TEST_F(PgConnection, AServerThatNeverAnswersTimesOut) {
  // A listener that accepts and then says nothing, as a frozen server would.
  asio::io_context silent;
  asio::ip::tcp::acceptor listener(silent, {asio::ip::make_address("127.0.0.1"), 0});
  const unsigned short port = listener.local_endpoint().port();
  run([port](asio::any_io_executor ex) -> asio::awaitable<void> {
    const auto started = std::chrono::steady_clock::now();
    bool thrown = false;
    try {
      co_await pg_connection::connect(
          ex, "postgresql://taskorch@127.0.0.1:" + std::to_string(port) + "/taskorch",
          {.timeout = 500ms});
    } catch (const pg_error& e) {
      thrown = true;
      EXPECT_NE(std::string(e.what()).find("timed out"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(thrown);
    const auto took = std::chrono::steady_clock::now() - started;
    EXPECT_GE(took, 400ms);
    EXPECT_LT(took, 5s);
  });
}

TEST_F(PgConnection, ManyConnectionsShareOneThread) {
  const int total = run([](asio::any_io_executor ex) -> asio::awaitable<int> {
    std::vector<pg_connection> connections;
    for (int i = 0; i < 8; ++i) {
      pg_connection c = co_await pg_connection::connect(ex, conninfo());
      connections.push_back(std::move(c));
    }
    int sum = 0;
    for (int round = 0; round < 20; ++round) {
      for (std::size_t i = 0; i < connections.size(); ++i) {
        const std::string n = std::to_string(i);
        const std::array params{pg_param::text(n)};
        pg_rows r = co_await connections[i].query("SELECT $1::int + 1", params, 5s);
        sum += std::stoi(std::string(r.value(0, 0)));
      }
    }
    co_return sum;
  });
  EXPECT_EQ(total, 20 * (1 + 2 + 3 + 4 + 5 + 6 + 7 + 8));
}

}  // namespace
}  // namespace taskorch::cluster
