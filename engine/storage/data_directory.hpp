#pragma once
// data_directory: the names of the files in a data directory (docs/storage.md, "Files").
//   journal-<first lsn, 16 hex digits>.seg    a journal segment
//   checkpoint-<lsn, 16 hex digits>.ckpt      a checkpoint covering records up to lsn
//   checkpoint-<lsn>.tmp                      a checkpoint being written (removed at start)
//   LOCK                                      locked (flock) by the engine that uses it

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace taskorch::storage {

std::string segment_name(std::uint64_t first_lsn);
std::string checkpoint_name(std::uint64_t lsn);
std::string checkpoint_temp_name(std::uint64_t lsn);
inline constexpr std::string_view lock_name = "LOCK";

/// The files of a directory listing, by kind, each sorted by lsn.
struct directory_listing {
  struct entry {
    std::uint64_t lsn = 0;
    std::string name;
  };
  std::vector<entry> segments;
  std::vector<entry> checkpoints;
  std::vector<std::string> temporaries;  ///< checkpoint-*.tmp left by a crash
  std::vector<std::string> unknown;      ///< anything else but LOCK
};

/// Sorts `names` (a directory's entries) into a listing.
directory_listing classify(const std::vector<std::string>& names);

}  // namespace taskorch::storage
