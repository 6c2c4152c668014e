#pragma once
// journal_store: where an engine keeps its registry when not in a data directory of its own
// (storage_options::store). The engine hands it bytes that only the engine reads back: groups
// of journal records, each stored whole or not at all, and checkpoints (an image of the whole
// registry after a given record). They are the data directory's formats (docs/storage.md):
// a group is the bytes of a journal segment holding just its records, a checkpoint a
// checkpoint file's bytes. The
// scale-out mode keeps them in PostgreSQL, each write fenced by the owner's epoch
// (docs/scale-out.md).
//
// Sequence numbers (lsn) count records from 1, without gaps: each group's first record follows
// the previous group's last, and a checkpoint at lsn N covers records 1..N.

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace taskorch {

/// What a journal_store holds, as load() returns it.
struct stored_journal {
  /// One group of records, first_lsn..last_lsn, as append() was given it.
  struct group {
    std::uint64_t first_lsn = 0;
    std::uint64_t last_lsn = 0;
    std::string records;
  };
  std::uint64_t checkpoint_lsn = 0;  ///< the last record the checkpoint covers (0: none)
  std::string checkpoint;            ///< its bytes (empty: none)
  /// The groups holding records after the checkpoint, in lsn order (the first may begin
  /// before it: a checkpoint is taken between two changes, not between two groups).
  std::vector<group> groups;
};

/// Thread safety: load() is called once, before anything else. append() is called by one
/// thread (the journal's writer) and checkpoint() by another: they may run at the same time.
class journal_store {
 public:
  virtual ~journal_store() = default;

  /// Everything stored. Throws std::runtime_error when it cannot be read.
  virtual stored_journal load() = 0;

  /// Stores the records first_lsn..last_lsn durably, whole or not at all, before it returns.
  /// An error fails the engine's journal for good: the changes not stored are rolled back in
  /// memory, their operations fail with errc::journal_failed, and later changes are refused.
  virtual std::error_code append(std::uint64_t first_lsn, std::uint64_t last_lsn,
                                 std::string_view records) = 0;

  /// Stores `image`, the registry after record `lsn`; the groups up to `lsn` are no longer
  /// needed. An error leaves everything as it was (the groups still hold every change).
  virtual std::error_code checkpoint(std::uint64_t lsn, std::string_view image) = 0;

  /// The store as messages name it ("PostgreSQL partition 7").
  virtual std::string name() const = 0;
};

}  // namespace taskorch
