#pragma once
// checkpoint_file: a snapshot of the whole registry in one file, written atomically: to
// checkpoint-<lsn>.tmp, fsync, rename to checkpoint-<lsn>.ckpt, fsync of the directory
// (docs/storage.md, "Checkpoints"). Its frames are one put record per task or family, then
// (format 3) one feed_event record per event the feed keeps, oldest first, then an end
// record with the count of both: a file without its end record is not a checkpoint.

#include <taskorch/feed_event.hpp>
#include <taskorch/file_layer.hpp>
#include <taskorch/task_spec.hpp>

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace taskorch::storage {

/// Writes a checkpoint of `tasks` and the feed's `events` covering the journal up to `lsn`
/// into `dir`. On failure the temporary file is removed (as far as the disk lets it) and no
/// checkpoint is published.
std::error_code write_checkpoint(file_layer& files, const std::filesystem::path& dir,
                                 std::uint64_t lsn, const std::vector<registration>& tasks,
                                 const std::vector<feed_event>& events);

/// The bytes of a checkpoint of `tasks` and `events` covering the journal up to `lsn`: what
/// write_checkpoint() writes, for a journal_store.
std::string checkpoint_bytes(std::uint64_t lsn, const std::vector<registration>& tasks,
                             const std::vector<feed_event>& events);

/// A checkpoint read back.
struct checkpoint_contents {
  std::uint64_t lsn = 0;
  std::vector<registration> tasks;
  std::vector<feed_event> events;  ///< sorted by position
};

/// Reads and checks the checkpoint file `path`. On failure returns false with `why` naming
/// the file and the offset of the damage.
bool read_checkpoint(file_layer& files, const std::filesystem::path& path, checkpoint_contents& out,
                     std::string& why);
/// The same for a checkpoint's `bytes`; `name` says where they are from in `why`.
bool parse_checkpoint(std::span<const std::byte> bytes, const std::string& name,
                      checkpoint_contents& out, std::string& why);

}  // namespace taskorch::storage
