#pragma once
// node: one taskorch-server's part of a cluster (docs/scale-out.md). It creates or checks the
// shared tables, announces where peers reach it, and holds leases on its share of the
// partitions: the partitions divided by the nodes seen within a lease, rounded up. For each
// partition it holds it keeps an engine, loaded from PostgreSQL and journaling into it through
// a pg_journal_store fenced by the lease's epoch. It lets go of a partition as soon as it may
// no longer serve it: at the lease's local deadline unless renewed, when renewing finds the
// lease lost, when a write finds the epoch moved (fenced), or when the partition's journal
// failed (its engine is dropped and the partition loaded again, from what the database holds).
// A node holding more than its share releases the rest, so that a node joining gets some.
//
// The node's own work (claims, renewals, the map of owners) runs as a coroutine on the
// executor it is given; loading and dropping engines, which block, on a thread of its own.
//
//   cluster::node self(io.get_executor(), {.conninfo = "...", .name = "node-a",
//                                          .address = "127.0.0.1:18081"});
//   co_await self.start();                 // throws when the database cannot be used
//   http::api service(self, callers);      // the node is the api's engine_directory
//   ...
//   co_await self.stop();                  // engines stopped, leases released at once

#include "leases.hpp"
#include "nodes.hpp"
#include "pg_connection.hpp"
#include "pg_journal_store.hpp"
#include <taskorch/engine_options.hpp>
#include <taskorch/http/engine_directory.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace taskorch::cluster {

/// How a node joins its cluster.
struct node_options {
  std::string conninfo;  ///< libpq's connection string or URI (--postgres)
  std::string name;      ///< unique in the cluster (--node-name)
  std::string address;   ///< HOST:PORT where peers forward requests (--advertise)
  /// Partitions of a database this node creates (--partitions); an existing one keeps its own.
  std::uint32_t partitions = 16;
  lease_options leases;
  /// How often the node renews its leases, claims or releases partitions and reads the owners.
  std::chrono::milliseconds renew_interval{2000};
  /// The engine of each partition held (its storage is the partition's pg_journal_store).
  engine_options engine;
  /// Each write's bound (pg_journal_store_options::statement_timeout).
  std::chrono::milliseconds write_timeout{5000};
};

/// Thread safety: find(), engines() and held() may be called from any thread; start() and
/// stop() are awaited on the node's executor, once each.
class node final : public http::engine_directory {
 public:
  node(const boost::asio::any_io_executor& ex, node_options options);
  /// Must follow stop() (or a start() that threw).
  ~node() override;
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// Connects, creates or checks the tables, announces the node, claims its first partitions
  /// and starts keeping them. Throws pg_error or std::runtime_error.
  boost::asio::awaitable<void> start();
  /// Stops serving: every engine is stopped (operations under way fail with
  /// operation_aborted), its leases are released and the node forgotten, so that the others
  /// claim its partitions at once. When the database cannot be reached the leases run out.
  boost::asio::awaitable<void> stop();

  http::project_home find(const project_id& project) const override;
  std::vector<std::shared_ptr<engine>> engines() const override;

  /// The partitions this node serves now, in order.
  std::vector<std::uint32_t> held() const;
  /// The number of partitions of the cluster (known once started).
  std::uint32_t partitions() const noexcept { return partitions_; }

 private:
  /// A partition this node holds, and its engine once loaded.
  struct holding {
    lease held;
    std::shared_ptr<pg_journal_store> store;
    std::shared_ptr<engine> eng;
  };

  /// start() and stop(), on the node's strand.
  boost::asio::awaitable<void> begin();
  boost::asio::awaitable<void> end();
  boost::asio::awaitable<void> keep();
  /// One round: renew_held(), then balance(). Throws pg_error when the database fails (the
  /// connection is then dropped).
  boost::asio::awaitable<void> round();
  /// Renews the leases; lets go of what was lost or fenced, loads again what failed.
  boost::asio::awaitable<void> renew_held();
  /// Announces the node, claims up to its share or releases above it, reads the owners.
  boost::asio::awaitable<void> balance();
  /// True when this node holds `partition` (serving it or not).
  bool holds(std::uint32_t partition) const;
  boost::asio::awaitable<void> connect();
  /// Claims `partition` and loads its engine; false when another node got it first or it
  /// could not be loaded (the lease is then released).
  boost::asio::awaitable<bool> take(std::uint32_t partition);
  /// Stops serving `partition` and drops its engine; with `give_up`, releases its lease too.
  boost::asio::awaitable<void> let_go(std::uint32_t partition, bool give_up);
  /// Stops `eng` (on the loader thread: it blocks).
  boost::asio::awaitable<void> retire(std::shared_ptr<engine> eng);
  /// Builds the engine of a partition held at `held` (on the loader thread: it blocks).
  boost::asio::awaitable<holding> load(lease held);
  /// The share of partitions for `live` nodes.
  std::uint32_t share(std::size_t live) const noexcept;
  /// True when every partition in `owners` is held and one of the `live` nodes holds fewer
  /// than partitions / live (rounded down), the least any node's fair part is.
  bool someone_short(const std::vector<partition_owner>& owners, std::size_t live) const;
  /// True while `h` may serve: before its local deadline, not fenced, its journal working.
  static bool serving(const holding& h, std::chrono::steady_clock::time_point now) noexcept;

  boost::asio::any_io_executor ex_;
  node_options options_;
  std::uint32_t partitions_ = 0;
  std::optional<pg_connection> db_;
  boost::asio::steady_timer timer_;
  boost::asio::thread_pool loader_{1};
  bool stopping_ = false;
  bool keeping_ = false;  // keep() is running

  mutable std::mutex mutex_;                   // the two below
  std::map<std::uint32_t, holding> holdings_;  // partition -> what this node holds
  std::vector<partition_owner> owners_;        // the owners last read, by partition
};

}  // namespace taskorch::cluster
