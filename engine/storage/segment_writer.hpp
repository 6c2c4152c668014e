#pragma once
// segment_writer: the journal's sink in a data directory (docs/storage.md, "Journal and
// durability"): each group is one write(2) at the end of the current segment file, and with
// durability::always one fdatasync(2). A segment is closed past segment_bytes, or when a
// checkpoint's cut falls before the group, so that whole segments can go once a checkpoint
// covers them. While the journal is idle the segment is written with zeros ahead of its data,
// so that a sync does not also commit the file's growth.

#include "journal_sink.hpp"
#include <taskorch/file_layer.hpp>
#include <taskorch/storage_options.hpp>

#include <filesystem>
#include <memory>

namespace taskorch::storage {

class segment_writer final : public journal_sink {
 public:
  /// Starts a new segment of `dir` whose first record will be `next_lsn`. Throws
  /// std::system_error when it cannot be created.
  segment_writer(std::shared_ptr<file_layer> files, std::filesystem::path dir,
                 const storage_options& options, std::uint64_t next_lsn,
                 journal_counters& counters);

  std::error_code write(const journal_group& g, std::uint64_t cut_lsn) override;
  std::optional<clock::time_point> sync_due() const override;
  std::error_code sync() override;
  bool work_when_idle() override;
  std::string where() const override;

 private:
  std::error_code open_segment(std::uint64_t first_lsn);
  /// Writes and syncs the next 256 KiB of zeros past the segment's data. A failure only turns
  /// preallocation off.
  void zero_fill_ahead();

  std::shared_ptr<file_layer> files_;
  std::filesystem::path dir_;
  storage_options options_;
  journal_counters& counters_;
  bool preallocate_;  // off after a failure to write zeros ahead
  bool unsynced_ = false;
  std::unique_ptr<writable_file> file_;
  std::uint64_t file_size_ = 0;   // the bytes of data (header and records)
  std::uint64_t zeroed_end_ = 0;  // the file's zeros, synced, reach this far
  std::uint64_t file_first_lsn_ = 0;
  clock::time_point last_sync_;
};

}  // namespace taskorch::storage
