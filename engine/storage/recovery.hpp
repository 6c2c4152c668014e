#pragma once
// recovery: rebuilds the registry from a data directory, or from what a journal_store holds:
// the latest checkpoint, then every journal record after it, in order (docs/storage.md,
// "Recovery"). A torn final record (a write cut short by a crash) is cut off and reported with its
// file and offset; any other damage (a bad record with good ones after it, a missing segment, a
// record that does not fit the registry) refuses the directory with a message naming the file and
// the offset.

#include <taskorch/feed_event.hpp>
#include <taskorch/file_layer.hpp>
#include <taskorch/journal_store.hpp>
#include <taskorch/task_spec.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace taskorch::storage {

/// The directory cannot be recovered without losing data; what() names the file and offset.
class corruption_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// What recovery found.
struct recovered_registry {
  bool found = false;                ///< the directory held a checkpoint or a journal segment
  std::vector<registration> tasks;   ///< sorted by id
  std::vector<feed_event> events;    ///< the event feed's, sorted by position
  std::uint64_t checkpoint_lsn = 0;  ///< the checkpoint used (0: none)
  std::uint64_t last_lsn = 0;        ///< the last record recovered (or checkpoint_lsn)
  std::uint64_t records_replayed = 0;
  std::vector<std::string> notes;  ///< what was repaired or ignored, one line each
};

/// How recover() treats a torn tail.
enum class repair : bool {
  no,   ///< report it (an offline check)
  yes,  ///< cut the file there (an engine about to write new segments)
};

/// Recovers the registry of `dir`. Throws corruption_error (damage) or std::system_error (a
/// file that cannot be read).
recovered_registry recover(file_layer& files, const std::filesystem::path& dir, repair mode);

/// Recovers the registry a journal_store returned (storage_options::store): its checkpoint,
/// then each group after it, which must follow on without a gap (a group may begin before the
/// checkpoint's end: a checkpoint is cut between two appends, not between two groups).
/// Nothing is repaired: a store keeps each group whole. Throws corruption_error, naming
/// `where` (the store) and the group or checkpoint, at the first record that does not fit.
recovered_registry recover(const stored_journal& stored, const std::string& where);

}  // namespace taskorch::storage
