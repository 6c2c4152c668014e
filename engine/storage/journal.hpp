#pragma once
// journal: the append-only log of changes, and the thread that writes it (docs/storage.md,
// "Journal and durability").
//
// Parts of operations append their change logs (change_log.hpp) holding their shards' gates,
// so the journal's order of the changes to one task is the order they were made in. Each
// record gets the next sequence number (lsn). One writer thread takes everything appended
// since its last write as one group: one write(2), then, with durability::always, one
// fdatasync(2); operations wait for the lsn of their last change (when_stored()) and complete
// when it is stored, so concurrent operations share a sync (group commit) and no engine
// thread ever waits for the disk.
//
// A failed write or sync fails the journal for good (like PostgreSQL after a failed fsync,
// nothing later is trusted to cover what was lost): the file is cut back to what was
// stored, every change not stored is rolled back in memory by the engine (roll_back hook,
// newest first, holding every gate), its operations complete with errc::journal_failed, and
// later appends are rolled back the same way. Queries keep working on what is stored.

#include "change_log.hpp"
#include <taskorch/error.hpp>
#include <taskorch/file_layer.hpp>
#include <taskorch/storage_options.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
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

/// Counters the writer keeps, read by storage_stats.
struct journal_counters {
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<std::uint64_t> records{0};
  std::atomic<std::uint64_t> syncs{0};
  std::atomic<std::uint64_t> commits{0};
  std::atomic<std::uint64_t> sync_ns{0};
  std::array<std::atomic<std::uint64_t>, latency_histogram::buckets> sync_buckets{};
};

/// Thread safety: every member may be called from any thread.
class journal {
 public:
  /// Starts a journal whose first record will be `next_lsn`, in a new segment of `dir`.
  /// Throws std::system_error when the segment cannot be created.
  journal(std::shared_ptr<file_layer> files, std::filesystem::path dir,
          const storage_options& options, std::uint64_t next_lsn, journal_hooks hooks);
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

  const journal_counters& counters() const noexcept { return counters_; }

 private:
  struct group {
    std::string redo;
    std::string undo;
    std::uint64_t first = 0;
    std::uint64_t last = 0;
  };

  /// The writer thread: commits what is pending, syncs when an interval is due, zero-fills
  /// ahead when idle, or, once failed, rolls back and answers the waiters.
  void run();
  /// Once failed: the rollback due and the waiters; false when the writer may stop.
  bool serve_failed(std::unique_lock<std::mutex>& lock);
  /// Writes (and syncs) what is pending as one group and completes its waiters.
  void commit_pending(std::unique_lock<std::mutex>& lock);
  /// durability::interval: syncs what is written once the interval is up (or at stop).
  void sync_when_due(std::unique_lock<std::mutex>& lock);
  std::error_code open_segment(std::uint64_t first_lsn);
  /// Writes and syncs the next 256 KiB of zeros past the segment's data; the writer calls it
  /// when it has nothing else to do. A failure only turns preallocation off.
  void zero_fill_ahead();
  /// Writes `g`, in a new segment when a cut at `cut_lsn` falls before it (or the segment is
  /// full), and syncs it with durability::always. On failure the file is cut back to where
  /// the group began.
  std::error_code write_group(const group& g, std::uint64_t cut_lsn);
  std::error_code sync_now();
  void complete_waiters(std::unique_lock<std::mutex>& lock);

  std::shared_ptr<file_layer> files_;
  std::filesystem::path dir_;
  storage_options options_;
  journal_hooks hooks_;
  journal_counters counters_;

  mutable std::mutex mutex_;  // everything below, but the writer's file
  std::condition_variable wake_;
  std::condition_variable stored_changed_;
  group pending_;
  std::string rolled_back_undo_;  // undo of a failed group, until take_undo()
  std::uint64_t next_lsn_;
  std::atomic<std::uint64_t> stored_;
  std::atomic<bool> failed_{false};
  std::string failure_;
  std::size_t appending_ = 0;  // operations between expect_more() and done_appending()
  std::uint64_t cut_lsn_ = 0;  // records after it go to a new segment
  std::uint64_t bytes_since_cut_ = 0;
  std::vector<std::pair<std::uint64_t, std::function<void(error_code)>>> waiters_;
  bool stopping_ = false;
  bool rollback_due_ = false;
  bool checkpoint_asked_ = false;

  // The writer thread's own.
  bool preallocate_;  // off after a failure to write zeros ahead
  bool unsynced_ = false;
  std::unique_ptr<writable_file> file_;
  std::uint64_t file_size_ = 0;   // the bytes of data (header and records)
  std::uint64_t zeroed_end_ = 0;  // the file's zeros, synced, reach this far
  std::uint64_t file_first_lsn_ = 0;
  std::chrono::steady_clock::time_point last_sync_;

  std::thread writer_;  // last: starts once everything above is ready
};

}  // namespace taskorch::storage
