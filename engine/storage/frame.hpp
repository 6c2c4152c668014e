#pragma once
// frame: how records sit in files (docs/storage.md, "Header", "Frames"). A journal segment and a
// checkpoint are a 32-byte header followed by frames; a frame is
//   u32 length (of the payload, little-endian), u32 crc32c(length bytes + payload), payload.
// A zero length word ends the data (what a preallocated tail holds).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace taskorch::storage {

inline constexpr std::size_t header_size = 32;
inline constexpr std::size_t frame_overhead = 8;
/// The version written. Version 2 added the waiting_for_start state and its start time;
/// version 3 a task's times and awaited command, and the event feed (docs/storage.md). Older
/// files are read as they are: their records are decoded by their own version's layout.
inline constexpr std::uint32_t format_version = 3;
inline constexpr std::uint32_t oldest_format_version = 1;
/// The largest payload a frame may hold; a longer length word is damage.
inline constexpr std::uint32_t max_payload = 1U << 24;

/// What a file holds, told by the first 8 bytes of its header.
enum class file_type : std::uint8_t { journal_segment, checkpoint };

/// The header: magic ("taskjrnl" or "taskckpt"), u32 format_version, u32 0, u64 lsn
/// (a segment: the sequence number of its first record; a checkpoint: of the last record it
/// covers), u32 crc32c of the 24 bytes before it, u32 0.
struct file_header {
  file_type type = file_type::journal_segment;
  std::uint64_t lsn = 0;
  std::uint32_t version = format_version;  ///< read: the file's; written: always the current
};

/// Appends the 32 header bytes to `out`.
void append_header(const file_header& h, std::string& out);

/// Reads a header; empty (with `why` set) when the bytes are not a valid header of `type`.
std::optional<file_header> read_header(std::span<const std::byte> bytes, file_type type,
                                       std::string& why);

/// Appends one frame holding `payload` to `out`.
void append_frame(std::string_view payload, std::string& out);

/// Appends a frame to `out` around the payload that was appended to it after
/// `payload_begin - frame_overhead` (the caller reserved 8 bytes there): fills in the
/// length and crc words. Lets an encoder write the payload in place.
void seal_frame(std::string& out, std::size_t payload_begin);

/// How a scan of frames ended.
enum class scan_end : std::uint8_t {
  clean,    ///< every byte up to the end (or up to a zero length word and only zeros) read
  torn,     ///< a damaged frame with no valid frame after it: a write cut short
  corrupt,  ///< a damaged frame followed by a valid one: damage in the middle
};

struct scan_result {
  std::uint64_t frames = 0;  ///< valid frames the visitor accepted
  /// The offset just past the last valid frame: where a torn tail is cut.
  std::uint64_t valid_end = 0;
  scan_end end = scan_end::clean;
  std::uint64_t bad_offset = 0;  ///< torn or corrupt: where the damaged frame starts
  std::string why;               ///< torn or corrupt: what is wrong there
};

/// Reads the frames of `file` from offset `begin` (the end of the header), calling
/// `visit(payload, offset)` for each valid one in order. A frame is damaged when its length
/// word is 0 with something other than zeros after it, exceeds max_payload or runs past the
/// end, or when its crc does not match; the scan stops there, and looks at every later
/// offset for a valid frame to tell `corrupt` from `torn`. `visit` returns false for a
/// payload it rejects: the scan stops, ending `corrupt` at that frame ("record does not
/// decode"), which is not counted in `frames`.
scan_result scan_frames(
    std::span<const std::byte> file, std::size_t begin,
    const std::function<bool(std::span<const std::byte>, std::uint64_t)>& visit);

}  // namespace taskorch::storage
