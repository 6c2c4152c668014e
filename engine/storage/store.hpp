#pragma once
// store: an engine's data directory, or the journal_store its embedder gave. It locks the
// directory, recovers the registry from it (recovery.hpp), runs the journal (journal.hpp,
// writing segment files or appending to the journal_store) and takes checkpoints
// (checkpoint_file.hpp): when the journal has grown past storage_options::checkpoint_bytes,
// on a thread of its own, and at close. A checkpoint holds every gate only while the engine copies
// its shards; the copy is written while commands go on.

#include "journal.hpp"
#include "recovery.hpp"
#include <taskorch/feed_event.hpp>
#include <taskorch/storage_options.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace taskorch::storage {

/// What the engine hands a checkpoint: the registry at one instant, and the last record it
/// reflects.
struct registry_image {
  std::uint64_t lsn = 0;
  std::vector<registration> tasks;
  std::vector<feed_event> events;     ///< the event feed's retained events
  std::chrono::nanoseconds pause{0};  ///< how long every gate was held to take it
};

/// What the store needs from the engine.
struct store_hooks {
  /// Rolls memory back to what is stored (journal_hooks::roll_back).
  std::function<void()> roll_back;
  /// Copies the registry holding every gate, and cuts the journal there (journal::cut(), when
  /// it journals).
  std::function<registry_image()> capture;
};

/// Thread safety: every member may be called from any thread.
class store {
 public:
  /// Opens `options.directory` (creating it when missing), locks it and recovers it; or
  /// recovers what `options.store` holds. Throws std::runtime_error with a message that names
  /// the directory when it cannot be used (not a folder, not writable, locked by another
  /// process, too little space) or the store's when it cannot be read, corruption_error when
  /// either is damaged, std::invalid_argument for options that do not go together.
  explicit store(storage_options options);
  /// close().
  ~store();
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  /// The registry found at opening (moved out by the engine, which registers it).
  recovered_registry& recovered() noexcept { return recovered_; }

  /// Starts the journal (unless durability::none) and the checkpoint thread.
  void start(store_hooks hooks);
  /// The journal, or nullptr (durability::none, or before start()).
  journal* log() noexcept { return journal_.get(); }

  /// Takes a checkpoint now. An error when it could not be written (the journal then still
  /// holds everything).
  error_code checkpoint();

  /// Takes a last checkpoint (when anything changed since the last one, and the journal has
  /// not failed), then stops the journal and the checkpoint thread. Idempotent.
  void close();

  storage_stats stats() const;

 private:
  /// The constructor's part for a journal_store.
  void open_journal_store();
  void run_checkpoints();
  void remove_covered(std::uint64_t lsn);

  storage_options options_;
  int lock_fd_ = -1;
  recovered_registry recovered_;
  std::chrono::nanoseconds recovery_duration_{0};
  store_hooks hooks_;
  bool started_ = false;  // start() completed: the engine's hooks may be called
  journal_counters counters_;
  std::unique_ptr<journal> journal_;

  std::mutex checkpoint_serial_;  // one checkpoint at a time
  std::uint64_t checkpoint_lsn_ = 0;
  std::atomic<std::uint64_t> checkpoints_{0};
  std::atomic<std::int64_t> last_checkpoint_ns_{0};
  std::atomic<std::int64_t> longest_pause_ns_{0};

  std::mutex wake_mutex_;
  std::condition_variable wake_;
  bool checkpoint_due_ = false;
  bool closing_ = false;
  std::thread checkpointer_;
};

}  // namespace taskorch::storage
