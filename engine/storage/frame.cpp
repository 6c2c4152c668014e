#include "frame.hpp"

#include "crc32c.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace taskorch::storage {

namespace {

constexpr std::string_view journal_magic = "taskjrnl";
constexpr std::string_view checkpoint_magic = "taskckpt";

std::string_view magic_of(file_type type) {
  return type == file_type::journal_segment ? journal_magic : checkpoint_magic;
}

void store_le32(char* out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xFFU);
}

void store_le64(char* out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xFFU);
}

std::uint32_t load_le32(const std::byte* p) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | std::to_integer<std::uint32_t>(p[i]);
  return v;
}

std::uint64_t load_le64(const std::byte* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | std::to_integer<std::uint64_t>(p[i]);
  return v;
}

std::span<const std::byte> as_bytes(const char* p, std::size_t n) {
  return {reinterpret_cast<const std::byte*>(p), n};
}

/// The crc of a frame: over its 4 length bytes, then its payload.
std::uint32_t frame_crc(const std::byte* length_word, std::span<const std::byte> payload) {
  return crc32c(payload, crc32c({length_word, 4}));
}

/// True when a valid frame starts at `at`: a length word 1..max_payload that fits, and a
/// matching crc.
bool valid_frame_at(std::span<const std::byte> file, std::size_t at) {
  if (file.size() - at < frame_overhead) return false;
  const std::uint32_t length = load_le32(file.data() + at);
  if (length == 0 || length > max_payload || length > file.size() - at - frame_overhead) {
    return false;
  }
  return frame_crc(file.data() + at, file.subspan(at + frame_overhead, length)) ==
         load_le32(file.data() + at + 4);
}

bool all_zero(std::span<const std::byte> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](std::byte b) { return b == std::byte{0}; });
}

/// What is wrong with the frame at `at`, or empty when it is valid (or the clean end).
std::string damage_at(std::span<const std::byte> file, std::size_t at) {
  const std::size_t left = file.size() - at;
  if (left < frame_overhead) {
    return fmt::format("a frame header cut short ({} of {} bytes) at the end of the file", left,
                       frame_overhead);
  }
  const std::uint32_t length = load_le32(file.data() + at);
  if (length == 0) return "a zero length word followed by data";
  if (length > max_payload) {
    return fmt::format("length {} exceeds the largest payload ({})", length, max_payload);
  }
  if (length > left - frame_overhead) {
    return fmt::format("length {} runs past the end of the file at {}", length, file.size());
  }
  return "crc mismatch";
}

}  // namespace

void append_header(const file_header& h, std::string& out) {
  std::array<char, header_size> bytes{};
  std::memcpy(bytes.data(), magic_of(h.type).data(), 8);
  store_le32(bytes.data() + 8, format_version);
  store_le64(bytes.data() + 16, h.lsn);
  store_le32(bytes.data() + 24, crc32c(as_bytes(bytes.data(), 24)));
  out.append(bytes.data(), bytes.size());
}

std::optional<file_header> read_header(std::span<const std::byte> bytes, file_type type,
                                       std::string& why) {
  if (bytes.size() < header_size) {
    why = fmt::format("the file is shorter ({} bytes) than a header", bytes.size());
    return std::nullopt;
  }
  const std::string_view magic(reinterpret_cast<const char*>(bytes.data()), 8);
  if (magic != magic_of(type)) {
    why = fmt::format("not a {} (magic number)",
                      type == file_type::journal_segment ? "journal segment" : "checkpoint");
    return std::nullopt;
  }
  if (crc32c(bytes.first(24)) != load_le32(bytes.data() + 24)) {
    why = "header crc mismatch";
    return std::nullopt;
  }
  const std::uint32_t version = load_le32(bytes.data() + 8);
  if (version < oldest_format_version || version > format_version) {
    why = fmt::format("format version {} (this build reads {} to {})", version,
                      oldest_format_version, format_version);
    return std::nullopt;
  }
  if (load_le32(bytes.data() + 12) != 0 || load_le32(bytes.data() + 28) != 0) {
    why = "reserved header bytes are not zero";
    return std::nullopt;
  }
  return file_header{type, load_le64(bytes.data() + 16), version};
}

void append_frame(std::string_view payload, std::string& out) {
  const std::size_t payload_begin = out.size() + frame_overhead;
  out.resize(payload_begin);
  out.append(payload);
  seal_frame(out, payload_begin);
}

void seal_frame(std::string& out, std::size_t payload_begin) {
  char* frame = out.data() + payload_begin - frame_overhead;
  const auto length = static_cast<std::uint32_t>(out.size() - payload_begin);
  store_le32(frame, length);
  const auto crc = frame_crc(reinterpret_cast<const std::byte*>(frame),
                             as_bytes(out.data() + payload_begin, length));
  store_le32(frame + 4, crc);
}

scan_result scan_frames(
    std::span<const std::byte> file, std::size_t begin,
    const std::function<bool(std::span<const std::byte>, std::uint64_t)>& visit) {
  scan_result result;
  std::size_t at = begin;
  result.valid_end = at;
  while (at < file.size()) {
    if (!valid_frame_at(file, at)) {
      if (all_zero(file.subspan(at))) break;  // a preallocated tail
      result.bad_offset = at;
      result.why = damage_at(file, at);
      result.end = scan_end::torn;
      for (std::size_t later = at + 1; later + frame_overhead < file.size(); ++later) {
        if (valid_frame_at(file, later)) {
          result.end = scan_end::corrupt;
          break;
        }
      }
      return result;
    }
    const std::uint32_t length = load_le32(file.data() + at);
    if (!visit(file.subspan(at + frame_overhead, length), at)) {
      result.end = scan_end::corrupt;
      result.bad_offset = at;
      result.why = "record does not decode";
      return result;
    }
    ++result.frames;
    at += frame_overhead + length;
    result.valid_end = at;
  }
  return result;
}

}  // namespace taskorch::storage
