#include "schema.hpp"

#include "partition_map.hpp"

#include <fmt/format.h>

#include <array>
#include <chrono>
#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>

namespace taskorch::cluster {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr auto statement_timeout = 30s;

// clang-format off
/// The tables of version 1, created in this order.
constexpr std::array create_tables{
  std::string_view{R"(CREATE TABLE taskorch_schema (
      version    integer     NOT NULL,
      partitions integer     NOT NULL CHECK (partitions > 0),
      created    timestamptz NOT NULL DEFAULT now()))"},
  std::string_view{R"(CREATE TABLE taskorch_partitions (
      id          integer     PRIMARY KEY,
      owner       text,
      epoch       bigint      NOT NULL DEFAULT 0,
      lease_until timestamptz,
      CHECK ((owner IS NULL) = (lease_until IS NULL))))"},
  std::string_view{R"(CREATE TABLE taskorch_nodes (
      name    text        PRIMARY KEY,
      address text        NOT NULL,
      seen    timestamptz NOT NULL DEFAULT now()))"},
  std::string_view{R"(CREATE TABLE taskorch_journal (
      partition integer NOT NULL,
      first_lsn bigint  NOT NULL,
      last_lsn  bigint  NOT NULL,
      records   bytea   NOT NULL,
      PRIMARY KEY (partition, first_lsn)))"},
  std::string_view{R"(CREATE TABLE taskorch_checkpoints (
      partition integer PRIMARY KEY,
      lsn       bigint  NOT NULL,
      image     bytea   NOT NULL))"},
};
// clang-format on

asio::awaitable<pg_rows> run(pg_connection& db, std::string_view sql) {
  co_return co_await db.query(sql, {}, statement_timeout);
}

/// Creates the tables, or reads the schema row; inside the caller's transaction.
asio::awaitable<schema_info> create_or_read(pg_connection& db, std::uint32_t partitions) {
  // Serialises creators; released at commit or rollback.
  co_await run(db, "SELECT pg_advisory_xact_lock(hashtext('taskorch_schema'))");
  pg_rows exists = co_await run(db, "SELECT to_regclass('taskorch_schema') IS NOT NULL");
  schema_info info;
  if (exists.value(0, 0) == "t") {
    pg_rows row = co_await run(db, "SELECT version, partitions FROM taskorch_schema");
    if (row.rows() != 1) throw std::runtime_error("taskorch_schema must hold exactly one row");
    info.version = std::stoi(std::string(row.value(0, 0)));
    info.partitions = static_cast<std::uint32_t>(std::stoul(std::string(row.value(0, 1))));
    co_return info;
  }
  for (const std::string_view table : create_tables) {
    co_await run(db, table);
  }
  const std::string version = std::to_string(schema_version);
  const std::string count = std::to_string(partitions);
  const std::array params{pg_param::text(version), pg_param::text(count)};
  co_await db.query("INSERT INTO taskorch_schema (version, partitions) VALUES ($1, $2)", params,
                    statement_timeout);
  const std::string last_id = std::to_string(partitions - 1);
  const std::array last{pg_param::text(last_id)};
  co_await db.query("INSERT INTO taskorch_partitions (id) SELECT generate_series(0, $1::integer)",
                    last, statement_timeout);
  co_return schema_info{schema_version, partitions, true};
}

}  // namespace

asio::awaitable<schema_info> ensure_schema(pg_connection& db, std::uint32_t partitions) {
  if (partitions == 0 || partitions > max_partitions) {
    throw std::invalid_argument(fmt::format("the number of partitions must be 1 to {}, not {}",
                                            max_partitions, partitions));
  }
  co_await run(db, "BEGIN");
  std::exception_ptr failed;
  schema_info info;
  try {
    info = co_await create_or_read(db, partitions);
    co_await run(db, "COMMIT");
  } catch (...) {
    failed = std::current_exception();
  }
  if (failed) {
    // co_await is not allowed in a handler: the rollback runs after it.
    if (db.ok()) {
      co_await run(db, "ROLLBACK");
    }
    std::rethrow_exception(failed);
  }
  if (info.version != schema_version) {
    throw std::runtime_error(
        fmt::format("the database's taskorch schema has version {}; this server knows version {}",
                    info.version, schema_version));
  }
  co_return info;
}

}  // namespace taskorch::cluster
