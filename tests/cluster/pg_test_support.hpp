#pragma once
// What the cluster tests share: the test cluster's conninfo (from the ctest fixture's state
// file, or TASKORCH_TEST_POSTGRES), a PostgreSQL schema of the test's own (tests run in
// parallel processes against one database), and running a coroutine to its end with a bound.

#include "pg_connection.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <iterator>
#include <string>
#include <unistd.h>

namespace taskorch::cluster::pg_testing {

/// The test cluster's conninfo, or "" when none was given.
inline std::string conninfo() {
  if (const char* c = std::getenv("TASKORCH_TEST_POSTGRES")) return c;
  const char* state = std::getenv("TASKORCH_TEST_POSTGRES_STATE");
  if (state == nullptr) return {};
  std::ifstream in(state);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(text, ec);
  if (ec || !doc.is_object() || !doc.as_object().contains("conninfo")) return {};
  return std::string(doc.at("conninfo").as_string());
}

/// Fails the test when no cluster was given.
inline void require_cluster() {
  if (conninfo().empty()) {
    GTEST_FAIL() << "no test cluster: run through ctest (its fixture starts PostgreSQL and sets "
                    "TASKORCH_TEST_POSTGRES_STATE) or tests/support/postgres_cluster.py run -- "
                    "... (TASKORCH_TEST_POSTGRES)";
  }
}

/// Runs `body` (a function of an executor returning an awaitable) to its end on a fresh
/// io_context; fails the test when it takes more than `bound`. Returns its result.
template <class Body>
auto run(Body body, std::chrono::seconds bound = std::chrono::seconds(30)) {
  boost::asio::io_context io;
  auto done = boost::asio::co_spawn(io, body(io.get_executor()), boost::asio::use_future);
  const auto until = std::chrono::steady_clock::now() + bound;
  while (done.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    if (std::chrono::steady_clock::now() > until) {
      ADD_FAILURE() << "the coroutine did not end in " << bound.count() << " s";
      io.stop();
      break;
    }
    io.run_for(std::chrono::milliseconds(50));
  }
  return done.get();
}

/// The conninfo of the test cluster with `schema` first in the search_path.
inline std::string conninfo_in(const std::string& schema) {
  const std::string base = conninfo();
  const char joint = base.find("://") != std::string::npos
                         ? (base.find('?') == std::string::npos ? '?' : '&')
                         : ' ';
  if (joint == ' ') return base + " options='-c search_path=" + schema + "'";
  return base + joint + "options=-c%20search_path%3D" + schema;
}

/// A fresh, empty schema for this test (the cluster is thrown away after the tests); returns
/// the conninfo that uses it.
inline std::string fresh_schema() {
  static std::atomic<int> counter{0};
  const std::string schema =
      "t" + std::to_string(::getpid()) + "_" + std::to_string(counter.fetch_add(1));
  run([&](boost::asio::any_io_executor ex) -> boost::asio::awaitable<void> {
    auto db = co_await pg_connection::connect(ex, conninfo());
    co_await db.query("CREATE SCHEMA " + schema, {}, std::chrono::seconds(10));
  });
  ::testing::Test::RecordProperty("schema", schema);
  return conninfo_in(schema);
}

}  // namespace taskorch::cluster::pg_testing
