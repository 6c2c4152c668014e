#include "checkpoint_file.hpp"

#include "data_directory.hpp"
#include "frame.hpp"
#include "record.hpp"

#include <fmt/format.h>

#include <limits>

namespace taskorch::storage {

namespace {

/// The bytes are written whenever this many have been built.
constexpr std::size_t write_chunk = 1U << 20;

std::span<const std::byte> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

/// Appends one frame holding the payload of `r` (a record, or a task or family spec).
template <typename Record>
void append_record(const Record& r, std::string& out) {
  const std::size_t payload_begin = out.size() + frame_overhead;
  out.resize(payload_begin);
  encode(r, out);
  seal_frame(out, payload_begin);
}

/// Builds the checkpoint's bytes in `chunk`, handing them to `flush` whenever they pass
/// `flush_at` and at the end (flush may clear the chunk); stops at flush's first error.
template <typename Flush>
std::error_code build_checkpoint(std::uint64_t lsn, const std::vector<registration>& tasks,
                                 const std::vector<feed_event>& events, std::string& chunk,
                                 std::size_t flush_at, Flush flush) {
  append_header({file_type::checkpoint, lsn}, chunk);
  for (const registration& r : tasks) {
    std::visit([&chunk](const auto& spec) { append_record(spec, chunk); }, r);
    if (chunk.size() >= flush_at) {
      if (std::error_code ec = flush(chunk)) return ec;
    }
  }
  for (const feed_event& e : events) {
    append_record(record{e}, chunk);
    if (chunk.size() >= flush_at) {
      if (std::error_code ec = flush(chunk)) return ec;
    }
  }
  append_record(record{end_record{tasks.size() + events.size()}}, chunk);
  return flush(chunk);
}

/// Creates the temporary file and writes and syncs the checkpoint into it.
std::error_code write_temp(file_layer& files, const std::filesystem::path& temp, std::uint64_t lsn,
                           const std::vector<registration>& tasks,
                           const std::vector<feed_event>& events) {
  std::unique_ptr<writable_file> file;
  if (std::error_code ec = files.create(temp, file)) return ec;
  std::string chunk;
  chunk.reserve(write_chunk + (64U << 10));
  const std::error_code ec =
      build_checkpoint(lsn, tasks, events, chunk, write_chunk, [&file](std::string& bytes) {
        std::error_code written = file->write(as_bytes(bytes));
        bytes.clear();
        return written;
      });
  return ec ? ec : file->sync();
}

/// Adds a put or feed_event record to `out`; returns what is wrong with it, or nothing: a
/// record of another kind, a put after the feed's events, feed events out of order.
std::string take_record(record&& r, checkpoint_contents& out) {
  if (const auto* event = std::get_if<feed_event>(&r)) {
    if (!out.events.empty() && out.events.back().position >= event->position) {
      return "feed events out of order";
    }
    out.events.push_back(*event);
    return {};
  }
  if (!std::holds_alternative<task_spec>(r) && !std::holds_alternative<family_spec>(r)) {
    return "a record other than put_task, put_family, feed_event or end";
  }
  if (!out.events.empty()) return "a put record after the feed's events";
  if (auto* task = std::get_if<task_spec>(&r)) {
    out.tasks.emplace_back(std::move(*task));
  } else {
    out.tasks.emplace_back(std::move(std::get<family_spec>(r)));
  }
  return {};
}

}  // namespace

std::error_code write_checkpoint(file_layer& files, const std::filesystem::path& dir,
                                 std::uint64_t lsn, const std::vector<registration>& tasks,
                                 const std::vector<feed_event>& events) {
  const std::filesystem::path temp = dir / checkpoint_temp_name(lsn);
  const std::filesystem::path final_path = dir / checkpoint_name(lsn);
  (void)files.remove(temp);  // a stale one, left by a crash; usually there is none
  std::error_code ec = write_temp(files, temp, lsn, tasks, events);
  if (!ec) ec = files.rename(temp, final_path);
  if (ec) {
    (void)files.remove(temp);
    return ec;
  }
  // The file is whole and synced, and has replaced any checkpoint of the same lsn: it stays
  // even when the new name may not be on disk yet (the caller then keeps the journal).
  return files.sync_directory(dir);
}

std::string checkpoint_bytes(std::uint64_t lsn, const std::vector<registration>& tasks,
                             const std::vector<feed_event>& events) {
  std::string bytes;
  (void)build_checkpoint(lsn, tasks, events, bytes, std::numeric_limits<std::size_t>::max(),
                         [](const std::string&) { return std::error_code(); });
  return bytes;
}

bool read_checkpoint(file_layer& files, const std::filesystem::path& path, checkpoint_contents& out,
                     std::string& why) {
  std::vector<std::byte> bytes;
  if (std::error_code ec = files.read_all(path, bytes)) {
    why = fmt::format("{}: {}", path.string(), ec.message());
    return false;
  }
  return parse_checkpoint(bytes, path.string(), out, why);
}

bool parse_checkpoint(std::span<const std::byte> bytes, const std::string& name,
                      checkpoint_contents& out, std::string& why) {
  std::string header_why;
  const auto header = read_header(bytes, file_type::checkpoint, header_why);
  if (!header) {
    why = fmt::format("{}: {} at offset 0", name, header_why);
    return false;
  }
  out.lsn = header->lsn;
  out.tasks.clear();
  out.events.clear();
  // At most one registration per smallest frame (a put_task of a task without a name).
  out.tasks.reserve((bytes.size() - header_size) / (frame_overhead + smallest_put_size));
  std::optional<std::uint64_t> end_count;
  std::uint64_t end_offset = 0;
  std::string problem;
  const scan_result scan = scan_frames(
      bytes, header_size, [&](std::span<const std::byte> payload, std::uint64_t offset) {
        if (end_count) {
          problem = "a record after the end record";
          return false;
        }
        std::optional<record> r = decode(payload, header->version);
        if (!r) return false;
        if (const auto* end = std::get_if<end_record>(&*r)) {
          end_count = end->count;
          end_offset = offset;
          return true;
        }
        problem = take_record(std::move(*r), out);
        return problem.empty();
      });
  if (scan.end != scan_end::clean) {
    why = fmt::format("{}: {} at offset {}", name, problem.empty() ? scan.why : problem,
                      scan.bad_offset);
    return false;
  }
  if (!end_count) {
    why = fmt::format("{}: no end record at offset {}", name, scan.valid_end);
    return false;
  }
  if (*end_count != out.tasks.size() + out.events.size()) {
    why = fmt::format("{}: the end record counts {} records, the file holds {}, at offset {}", name,
                      *end_count, out.tasks.size() + out.events.size(), end_offset);
    return false;
  }
  if (scan.valid_end != bytes.size()) {
    why = fmt::format("{}: bytes after the end record at offset {}", name, scan.valid_end);
    return false;
  }
  return true;
}

}  // namespace taskorch::storage
