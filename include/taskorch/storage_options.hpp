#pragma once
// storage_options: where and how durably an engine keeps its registry on disk
// (docs/storage.md). With a directory, every change is written to a journal before the
// operation that made it completes, and the registry is recovered from that directory when
// an engine is constructed on it again.
//
//   taskorch::engine eng({.storage = {.directory = "taskorch-data"}});

#include <taskorch/file_layer.hpp>
#include <taskorch/journal_store.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace taskorch {

/// When a change counts as stored.
enum class durability : std::uint8_t {
  /// After fdatasync(2): a change whose operation completed survives a crash of the machine.
  always,
  /// After write(2), with an fdatasync every storage_options::sync_interval: a change survives
  /// a crash of the process at once, and a crash of the machine after the next sync.
  interval,
  /// Not journaled: the registry is written at stop() only (a checkpoint) and a crash loses
  /// every change since the last start.
  none,
};

/// True for a value durability declares.
constexpr bool is_valid(durability d) noexcept { return d <= durability::none; }

/// The mode's name: "always", "interval" or "none" (what taskorch-server's --durability and
/// /metrics say); "" for a value outside the enum.
constexpr std::string_view to_string(durability d) noexcept {
  constexpr std::array<std::string_view, 3> names{"always", "interval", "none"};
  return is_valid(d) ? names[static_cast<std::size_t>(d)] : std::string_view();
}

/// Storage of an engine. Neither a directory nor a store: the registry is in memory only.
struct storage_options {
  /// The data directory: created when missing, recovered when it holds a registry, locked
  /// for the engine's lifetime (a second engine on it fails to construct).
  std::filesystem::path directory;
  durability mode = durability::always;
  /// durability::interval: the longest time between a completed change and its fdatasync.
  std::chrono::milliseconds sync_interval{100};
  /// A checkpoint is taken when the journal written since the last one passes this size.
  std::uint64_t checkpoint_bytes = 64ULL << 20;
  /// A journal segment is closed, and a new one started, past this size.
  std::uint64_t segment_bytes = 16ULL << 20;
  /// Segments are written with zeros ahead of their data while the journal is idle, so that a
  /// sync writes over allocated blocks and does not commit the file's growth each time (on
  /// ext4 that made fdatasync up to 8x faster: docs/benchmarks.md).
  bool preallocate = true;
  /// The file operations; nullptr: posix_files().
  std::shared_ptr<file_layer> files;
  /// Keeps the registry in this store instead of a directory (journal_store.hpp): recovered
  /// from it when the engine is constructed, every change appended to it before its operation
  /// completes (as with durability::always, which `mode` must then be), checkpoints written to
  /// it. The directory must then be empty; `files`, `sync_interval`, `segment_bytes` and
  /// `preallocate` do not apply.
  std::shared_ptr<journal_store> store;
};

/// How many operations waited for fsync for how long: bucket i counts latencies below
/// 2^i microseconds (the last bucket: everything above).
struct latency_histogram {
  static constexpr std::size_t buckets = 24;
  std::array<std::uint64_t, buckets> counts{};
  std::uint64_t total_ns = 0;
};

/// What the storage has done since the engine was constructed.
struct storage_stats {
  bool enabled = false;  ///< a data directory or a journal_store is in use
  durability mode = durability::none;
  /// The journal refuses changes after a failed write or sync, until the engine is
  /// constructed again; queries still work.
  bool failed = false;
  std::uint64_t journal_bytes = 0;  ///< journal bytes written
  std::uint64_t records = 0;        ///< journal records written
  std::uint64_t syncs = 0;          ///< fdatasync calls on the journal
  std::uint64_t commits = 0;        ///< group commits (one write, maybe one sync, each)
  latency_histogram sync_latency;
  std::uint64_t checkpoints = 0;
  std::chrono::nanoseconds last_checkpoint_duration{0};
  /// The longest time a checkpoint held every shard (commands waited that long at most).
  std::chrono::nanoseconds longest_checkpoint_pause{0};
  std::chrono::nanoseconds recovery_duration{0};
  std::uint64_t recovered_records = 0;  ///< journal records replayed at construction
  bool recovered = false;               ///< the directory held a registry at construction
  /// What recovery repaired or left alone, one line each: a torn final record cut (with its
  /// file and offset), a damaged older checkpoint passed over, an unknown file.
  std::vector<std::string> recovery_notes;
  /// Why the journal failed (empty while it has not).
  std::string failure;
};

}  // namespace taskorch
