#pragma once
// schema: the tables the nodes of a cluster share in PostgreSQL (docs/scale-out.md), created and
// versioned by the servers themselves. ensure_schema() creates them in one transaction when the
// database has none, and otherwise reads what they say: a database made by a newer server is
// refused, never altered.
//
//   schema_info s = co_await ensure_schema(db, 64);  // 64 partitions, if it creates them
//   s.partitions;                                     // what the database says, in any case
//
// Tables (in the connection's search_path):
//   taskorch_schema      (version, partitions, created)   one row
//   taskorch_partitions  (id, owner, epoch, lease_until)  one row per partition (leases.hpp)
//   taskorch_nodes       (name, address, seen)            the nodes and where peers reach them
//   taskorch_journal     (partition, first_lsn, last_lsn, records)
//                                                 each partition's journal groups, one a row
//   taskorch_checkpoints (partition, lsn, image)  each partition's last checkpoint
//                                                 (the last two: pg_journal_store.hpp)
//
// Two servers creating the schema at once are serialised by a transaction-scoped advisory
// lock: the second finds the first's tables. (Only creation takes it; ownership never relies
// on advisory locks.)

#include "pg_connection.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>

namespace taskorch::cluster {

/// The version of the tables this server reads and writes.
inline constexpr std::int32_t schema_version = 1;

/// What the database's schema row says.
struct schema_info {
  std::int32_t version = 0;
  std::uint32_t partitions = 0;
  bool created = false;  ///< this call created the tables
};

/// Creates the tables with `partitions` partitions (1..max_partitions) when the database has
/// none; returns the schema's row. Throws pg_error when the database fails, or when its schema
/// has another version (std::runtime_error, naming both versions).
boost::asio::awaitable<schema_info> ensure_schema(pg_connection& db, std::uint32_t partitions);

}  // namespace taskorch::cluster
