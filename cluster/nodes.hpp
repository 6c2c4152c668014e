#pragma once
// nodes: where the nodes of a cluster are, and who serves which partition (taskorch_nodes and
// taskorch_partitions, schema.hpp). A node announces the address its peers forward requests to
// (`--advertise HOST:PORT`) when it starts and at each renewal; any node can then find the
// owner of a partition and its address, so that a client need not know who owns what.
//
//   co_await announce(db, "node-a", "127.0.0.1:18081", 3s);
//   std::vector<partition_owner> map = co_await partition_owners(db, 3s);
//   map[7].owner  // empty while nobody holds partition 7 (no owner, or its lease ran out)

#include "pg_connection.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace taskorch::cluster {

/// Who serves a partition now, as the database sees it.
struct partition_owner {
  std::uint32_t partition = 0;
  std::string owner;    ///< "" when nobody holds it, or its lease has run out
  std::string address;  ///< the owner's announced address ("" when unknown)
  std::int64_t epoch = 0;

  friend bool operator==(const partition_owner&, const partition_owner&) = default;
};

/// Records `node` at `address` (HOST:PORT), or updates its address and when it was seen.
boost::asio::awaitable<void> announce(pg_connection& db, std::string_view node,
                                      std::string_view address, std::chrono::milliseconds timeout);

/// Removes `node`'s record (it stops: SIGTERM, after releasing its partitions).
boost::asio::awaitable<void> forget(pg_connection& db, std::string_view node,
                                    std::chrono::milliseconds timeout);

/// How many nodes announced themselves within `within` (the live ones, which share the
/// partitions).
boost::asio::awaitable<std::size_t> live_nodes(pg_connection& db, std::chrono::milliseconds within,
                                               std::chrono::milliseconds timeout);

/// Every partition with its current owner and that owner's address, by partition.
boost::asio::awaitable<std::vector<partition_owner>> partition_owners(
    pg_connection& db, std::chrono::milliseconds timeout);

}  // namespace taskorch::cluster
