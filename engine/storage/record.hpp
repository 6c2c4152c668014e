#pragma once
// record: the changes the journal stores, and their bytes (docs/storage.md, "Records").
//
// A record is the after-image of one change to one task or family, never the command that
// caused it: replaying it needs no lifecycle rule, and replaying it twice changes nothing
// more. A checkpoint is a list of put records.

#include <taskorch/feed_event.hpp>
#include <taskorch/task_spec.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>

namespace taskorch::storage {

/// The kinds of record, the first byte of its payload.
enum class record_kind : std::uint8_t {
  put_task = 1,          ///< a standalone task, whole (registered, or restored)
  put_family = 2,        ///< a dual-active family, whole
  set_state = 3,         ///< a task's (or family child's) new state
  erase_task = 4,        ///< a standalone task purged
  erase_family = 5,      ///< a family purged, with its children
  end = 6,               ///< the last record of a checkpoint: how many came before it
  set_family_state = 7,  ///< both children of a family changed at one instant
  feed_event = 8,        ///< an event the feed keeps (a checkpoint's copy of the feed)
};

/// Where a change stands in the event feed, and what made it (format 3): recovery rebuilds
/// the feed's events from the journal's changes.
struct change_note {
  std::uint64_t position = 0;  ///< 0: none (an undo image, or a record of format 1 or 2)
  task_state from = task_state::configuration;
  task_event cause = task_event::start;
  friend bool operator==(const change_note&, const change_note&) = default;
};

/// A task's or a family child's state after a change: what a child_spec holds (id, state,
/// pause, start time, version, time of the change, awaited command), and its note.
struct set_state_record : child_spec {
  change_note note;
  friend bool operator==(const set_state_record&, const set_state_record&) = default;
};
/// Both children of a dual-active family after a change of the whole family (terminate,
/// force terminate, delete): one record, so that no torn write keeps one child's change alone.
struct set_family_state_record {
  set_state_record forward;
  set_state_record backward;
  friend bool operator==(const set_family_state_record&, const set_family_state_record&) = default;
};
struct erase_task_record {
  job_id id;
  friend bool operator==(const erase_task_record&, const erase_task_record&) = default;
};
struct erase_family_record {
  job_id parent;
  friend bool operator==(const erase_family_record&, const erase_family_record&) = default;
};
struct end_record {
  std::uint64_t count = 0;  ///< the records of the checkpoint before this one
  friend bool operator==(const end_record&, const end_record&) = default;
};

/// One decoded record.
using record = std::variant<task_spec, family_spec, set_state_record, erase_task_record,
                            erase_family_record, end_record, set_family_state_record, feed_event>;

/// The size of the smallest put record: a put_task of a task without a name (format 1-2;
/// format 3 adds 17 bytes).
inline constexpr std::size_t smallest_put_size = 83;

/// Appends the payload of `r` (kind byte first) to `out`. Throws std::length_error for a
/// name longer than 65535 bytes.
void encode(const record& r, std::string& out);
/// The same for a put record, without copying the registration into a record first.
void encode(const task_spec& task, std::string& out);
void encode(const family_spec& family, std::string& out);

/// The payload of a set_state record, without wrapping it in a record first (the hot path):
/// the same bytes as encode() of that record.
void encode_set_state(std::string& out, const set_state_record& r);
/// The same for a set_family_state record.
void encode_set_family_state(std::string& out, const set_family_state_record& r);

/// Decodes one payload of a file of format `version`. Empty when it is not a well-formed
/// record: an unknown kind, a size that does not match its kind, an id that does not parse,
/// an enum value outside its enum, pause fields that do not match the state.
std::optional<record> decode(std::span<const std::byte> payload, std::uint32_t version);

}  // namespace taskorch::storage
