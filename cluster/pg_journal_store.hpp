#pragma once
// pg_journal_store: one partition's engine journal kept in PostgreSQL (docs/scale-out.md): the
// journal_store an engine writes through when it serves a partition of the shared database.
// Each group of records is a row of taskorch_journal, the checkpoint the partition's row of
// taskorch_checkpoints (schema.hpp).
//
// Every write is one transaction fenced by the partition's epoch (leases.hpp,
// fenced_partitions): it locks the partition's row FOR SHARE, checks that this node still
// holds it at the epoch it claimed, then writes and commits. A node that was replaced gets
// cluster_errc::fenced and writes nothing, then and ever after (without asking the database
// again). A database that refuses a write, or cannot be reached in time, gives
// cluster_errc::database_unavailable: the connection is dropped (the server rolls the
// transaction back) and the next call opens a new one. The engine fails its journal on either.
//
// The engine calls from threads of its own, which may block: each call drives a pg_connection
// on an io_context of the store's, run on the calling thread until the call is done. append()
// and checkpoint() may run at the same time: each has its own connection and io_context.
//
//   const lease_options leases;
//   std::optional<lease> l = co_await claim(db, "node-a", 7, leases);
//   pg_journal_store store(conninfo, {.partition = 7, .node = "node-a", .epoch = l->epoch});
//   stored_journal j = store.load();                    // throws std::runtime_error
//   std::error_code ec = store.append(1, 3, records);   // cluster_errc::fenced: let go
//
// The session's statement_timeout and idle_in_transaction_session_timeout are the store's
// statement timeout, so that the server too ends what a timed-out call left, and a node that
// froze inside a write cannot hold the partition's row lock (and a claim) for long.

#include "cluster_error.hpp"
#include "leases.hpp"
#include <taskorch/journal_store.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>

namespace taskorch::cluster {

/// What a pg_journal_store writes for, and how it connects.
struct pg_journal_store_options {
  std::uint32_t partition = 0;
  std::string node;        ///< the node that claimed the partition
  std::int64_t epoch = 0;  ///< the epoch it claimed it at (lease::epoch)
  /// Bounds each statement of append() and checkpoint(), on both sides of the connection.
  std::chrono::milliseconds statement_timeout{5000};
  /// Bounds each statement of load(), which reads the whole journal.
  std::chrono::milliseconds load_timeout{60000};
  std::chrono::milliseconds connect_timeout{5000};
  std::string application_name;  ///< shown in pg_stat_activity ("": libpq's)
};

class pg_journal_store final : public journal_store {
 public:
  /// Connects lazily: the first call opens its connection. `conninfo` is libpq's.
  pg_journal_store(std::string conninfo, pg_journal_store_options options);
  pg_journal_store(const pg_journal_store&) = delete;
  pg_journal_store& operator=(const pg_journal_store&) = delete;
  ~pg_journal_store() override;

  /// The partition's checkpoint and the groups it does not cover whole (last_lsn past it),
  /// read in one snapshot. Not fenced (the caller claimed the partition first). Throws
  /// std::runtime_error, naming the store and why.
  stored_journal load() override;

  /// Stores the group as one row, in a fenced transaction. Returns cluster_errc::fenced or
  /// cluster_errc::database_unavailable when nothing was stored. (A connection lost during
  /// COMMIT leaves it unknown whether the row was stored: database_unavailable.)
  std::error_code append(std::uint64_t first_lsn, std::uint64_t last_lsn,
                         std::string_view records) override;

  /// Stores `image` as the partition's checkpoint unless a later one is stored, and deletes the
  /// groups it covers whole, in one fenced transaction. Same errors as append().
  std::error_code checkpoint(std::uint64_t lsn, std::string_view image) override;

  /// "PostgreSQL partition 7".
  std::string name() const override;

  /// True once a write found that another node owns the partition: every later write is
  /// refused with cluster_errc::fenced.
  bool fenced() const noexcept;

  /// Why the last call failed, as the database or the connection said ("" when none has).
  std::string last_failure() const;

 private:
  struct channel;
  enum class outcome { written, fenced };

  template <class T, class Body>
  T drive(channel& ch, Body body);
  template <class Body>
  std::error_code write(channel& ch, Body body);
  void note_failure(std::string why);

  const std::string conninfo_;
  const pg_journal_store_options options_;
  const lease_options fence_options_;
  std::unique_ptr<channel> writer_;        ///< append() and load()
  std::unique_ptr<channel> checkpointer_;  ///< checkpoint()
  std::atomic<bool> fenced_{false};
  mutable std::mutex failure_mutex_;
  std::string last_failure_;
};

}  // namespace taskorch::cluster
