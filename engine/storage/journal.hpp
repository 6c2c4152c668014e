#pragma once
// journal: the append-only log of changes, and the thread that writes it (docs/storage.md,
// "Journal and durability").
//
// Parts of operations append their change logs (change_log.hpp) holding their shards' gates,
// so the journal's order of the changes to one task is the order they were made in. Each
// record gets the next sequence number (lsn). One writer thread takes everything appended
// since its last write as one group and hands it to its sink (journal_sink.hpp): in a data
// directory one write(2), then, with durability::always, one fdatasync(2); with a
// journal_store one append. Operations wait for the lsn of their last change (when_stored())
// and complete when it is stored, so concurrent operations share a sync (group commit) and no
// engine thread ever waits for the disk or the store.
//
// A failed write or sync fails the journal for good (like PostgreSQL after a failed fsync,
// nothing later is trusted to cover what was lost): the sink keeps nothing of the group, every
// change not stored is rolled back in memory by the engine (roll_back hook, newest first, holding
// every gate), its operations complete with errc::journal_failed, and later appends are rolled back
// the same way. Queries keep working on what is stored.

#include "change_log.hpp"
#include "journal_sink.hpp"
#include <taskorch/error.hpp>
#include <taskorch/storage_options.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace taskorch::storage {

/// What the journal needs from the engine.
struct journal_hooks {
  /// Rolls memory back by `undo` (frames, applied last to first) to the state of the stored
  /// records, holding every shard's gate. Called on the writer thread; it must take the gates
  /// first and only then call journal::take_undo() for the frames.
  std::function<void()> roll_back;
  /// The journal written since the last cut() passed storage_options::checkpoint_bytes.
  std::function<void()> wants_checkpoint;
};

/// Thread safety: every member may be called from any thread.
class journal {
 public:
  /// Starts a journal whose first record will be `next_lsn`, written to `sink`, which counts
  /// its syncs into `counters` (they outlive the journal).
  journal(std::unique_ptr<journal_sink> sink, journal_counters& counters, storage_options options,
          std::uint64_t next_lsn, journal_hooks hooks);
  /// Writes what is appended, syncs it and stops the writer (close()).
  ~journal();
  journal(const journal&) = delete;
  journal& operator=(const journal&) = delete;

  /// Appends `log`'s records; returns the lsn of the last. Called holding the gates of the
  /// shards the log changed. Once the journal has failed the records are not written but
  /// rolled back, and the lsn returned is never stored.
  std::uint64_t append(const change_log& log);

  /// The last lsn stored (durability::interval: written).
  std::uint64_t stored() const noexcept { return stored_.load(std::memory_order_acquire); }
  /// The last lsn appended.
  std::uint64_t appended() const;
  /// True once a write or sync has failed.
  bool failed() const noexcept { return failed_.load(std::memory_order_acquire); }
  /// Why it failed (empty while it has not).
  std::string failure() const;

  /// Calls `then` on the writer thread once `lsn` is stored (with an empty error) or can
  /// never be (errc::journal_failed, after the rollback). Returns false without calling it
  /// when `lsn` is stored already.
  bool when_stored(std::uint64_t lsn, std::function<void(error_code)> then);
  /// Blocks until `lsn` is stored; false when it never will be.
  bool wait_stored(std::uint64_t lsn);

  /// An operation has appended some of its changes and will append more (its other parts
  /// are still running): with durability::always the writer holds its next group (1 ms at
  /// most) until every such operation is done, so that one batch does not pay for two syncs.
  /// Each call is matched by one done_appending().
  void expect_more();
  void done_appending();

  /// For roll_back: the undo frames of every record not stored, oldest first, taken out of
  /// the journal. Called holding every gate.
  std::string take_undo();

  /// For a checkpoint, called holding every gate: returns the last lsn appended; records after
  /// it will go to a new segment, so that the segments before it can go once the checkpoint
  /// is published.
  std::uint64_t cut();

  /// Writes and syncs what is appended, then stops the writer. Idempotent.
  void close();

 private:
  /// The writer thread: commits what is pending, syncs when the sink asks, lets the sink
  /// work when idle, or, once failed, rolls back and answers the waiters.
  void run();
  /// Once failed: the rollback due and the waiters; false when the writer may stop.
  bool serve_failed(std::unique_lock<std::mutex>& lock);
  /// Hands what is pending to the sink as one group and completes its waiters.
  void commit_pending(std::unique_lock<std::mutex>& lock);
  /// durability::interval: syncs what is written once `due` (or at stop).
  void sync_when_due(std::unique_lock<std::mutex>& lock, journal_sink::clock::time_point due);
  void complete_waiters(std::unique_lock<std::mutex>& lock);

  std::unique_ptr<journal_sink> sink_;  // the writer thread's own
  storage_options options_;
  journal_hooks hooks_;
  journal_counters& counters_;

  mutable std::mutex mutex_;  // everything below
  std::condition_variable wake_;
  std::condition_variable stored_changed_;
  journal_group pending_;
  std::string rolled_back_undo_;  // undo of a failed group, until take_undo()
  std::uint64_t next_lsn_;
  std::atomic<std::uint64_t> stored_;
  std::atomic<bool> failed_{false};
  std::string failure_;
  std::size_t appending_ = 0;  // operations between expect_more() and done_appending()
  std::uint64_t cut_lsn_ = 0;  // records after it are not covered by a checkpoint at it
  std::uint64_t bytes_since_cut_ = 0;
  std::vector<std::pair<std::uint64_t, std::function<void(error_code)>>> waiters_;
  bool stopping_ = false;
  bool rollback_due_ = false;
  bool checkpoint_asked_ = false;

  std::thread writer_;  // last: starts once everything above is ready
};

}  // namespace taskorch::storage
