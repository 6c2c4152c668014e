#pragma once
// leases: who owns which partition, kept in taskorch_partitions (schema.hpp) and judged by the
// database's clock alone (docs/scale-out.md, "Ownership").
//
// A partition has at most one owner. claim() takes a partition whose lease has run out (or
// that nobody holds) and adds one to its epoch; renew() extends the leases a node still holds,
// at the epochs it holds them; release() gives one up at once (SIGTERM). An owner's writes are
// fenced by the epoch, inside their own transaction (fenced_partitions()): a node that froze
// past its lease and was replaced finds its epoch moved and lets go.
//
// A lease's `deadline` is local and monotonic: the time the request was sent plus the lease
// the database granted from its own now(), less a safety margin. Since the database's now()
// comes after the sending, the local deadline passes before the database's lease ends, even
// if the node freezes right after: a node stops serving a partition at its deadline.
//
//   lease_options options{.duration = 10s, .margin = 2s};
//   std::optional<lease> l = co_await claim(db, "node-a", 7, options);
//   std::vector<lease> kept = co_await renew(db, "node-a", held, options);  // the rest: lost
//   co_await release(db, "node-a", *l);

#include "pg_connection.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace taskorch::cluster {

/// How long leases last and how early their holder lets go.
struct lease_options {
  std::chrono::milliseconds duration{10000};  ///< the lease, on the database's clock
  std::chrono::milliseconds margin{2000};     ///< the local deadline comes this much earlier
  std::chrono::milliseconds timeout{3000};    ///< each statement's bound
};

/// A partition held by this node.
struct lease {
  std::uint32_t partition = 0;
  std::int64_t epoch = 0;
  std::chrono::steady_clock::time_point deadline;  ///< stop serving it then, unless renewed

  friend bool operator==(const lease&, const lease&) = default;
};

/// Claims `partition` for `node` when nobody holds it or its lease has run out: its epoch
/// grows by one. Returns nothing when another node holds it. Throws pg_error.
boost::asio::awaitable<std::optional<lease>> claim(pg_connection& db, std::string_view node,
                                                   std::uint32_t partition,
                                                   const lease_options& options);

/// Renews the leases `node` holds in `held`, those whose epoch and owner are still the same;
/// returns them with their new deadlines. A lease not returned is lost. Throws pg_error.
boost::asio::awaitable<std::vector<lease>> renew(pg_connection& db, std::string_view node,
                                                 std::span<const lease> held,
                                                 const lease_options& options);

/// Gives `held` up, when `node` still holds it at its epoch (the epoch stays: the next claim
/// moves it on). Throws pg_error.
boost::asio::awaitable<void> release(pg_connection& db, std::string_view node, const lease& held,
                                     const lease_options& options);

/// Inside a transaction the caller began: locks the rows of `held` (FOR SHARE, so no claim
/// can move them before the transaction ends) and returns the partitions whose epoch or owner
/// moved. The caller aborts its transaction when any is returned. Throws pg_error.
boost::asio::awaitable<std::vector<std::uint32_t>> fenced_partitions(pg_connection& db,
                                                                     std::string_view node,
                                                                     std::span<const lease> held,
                                                                     const lease_options& options);

}  // namespace taskorch::cluster
