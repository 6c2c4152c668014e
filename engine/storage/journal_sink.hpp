#pragma once
// journal_sink: where the journal's writer puts each group of records (journal.hpp): the data
// directory's segment files (segment_writer.hpp), or a journal_store the embedder gives
// (store_sink.hpp). The writer thread alone calls a sink, so a sink needs no locking.

#include <taskorch/storage_options.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>

namespace taskorch::storage {

/// Records the journal hands its sink in one piece: lsns first..last, framed (frame.hpp).
struct journal_group {
  std::string redo;
  std::string undo;  ///< before-images, for a rollback when the group is not stored
  std::uint64_t first = 0;
  std::uint64_t last = 0;
};

/// Counters the writer keeps, read by storage_stats. A sink counts its syncs: fdatasync
/// calls, or a journal_store's appends.
struct journal_counters {
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<std::uint64_t> records{0};
  std::atomic<std::uint64_t> syncs{0};
  std::atomic<std::uint64_t> commits{0};
  std::atomic<std::uint64_t> sync_ns{0};
  std::array<std::atomic<std::uint64_t>, latency_histogram::buckets> sync_buckets{};

  /// Counts one sync that took `took`.
  void count_sync(std::chrono::nanoseconds took) noexcept;
};

class journal_sink {
 public:
  using clock = std::chrono::steady_clock;

  virtual ~journal_sink() = default;

  /// Stores `g` (durably with durability::always); on failure none of it counts. `cut_lsn`:
  /// records after it belong to a journal a checkpoint at cut_lsn does not cover.
  virtual std::error_code write(const journal_group& g, std::uint64_t cut_lsn) = 0;
  /// When what is written waits for a sync (durability::interval): the time it is due.
  virtual std::optional<clock::time_point> sync_due() const { return std::nullopt; }
  virtual std::error_code sync() { return {}; }
  /// Does a step of the work a sink does while the journal is idle; false when there is none.
  virtual bool work_when_idle() { return false; }
  /// What the sink writes, as a failure message names it ("the journal in DIR").
  virtual std::string where() const = 0;
};

}  // namespace taskorch::storage
