#include "segment_writer.hpp"

#include "data_directory.hpp"
#include "frame.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <span>
#include <string>
#include <vector>

namespace taskorch::storage {

segment_writer::segment_writer(std::shared_ptr<file_layer> files, std::filesystem::path dir,
                               const storage_options& options, std::uint64_t next_lsn,
                               journal_counters& counters)
    : files_(std::move(files)),
      dir_(std::move(dir)),
      options_(options),
      counters_(counters),
      preallocate_(options.preallocate) {
  if (std::error_code ec = open_segment(next_lsn)) {
    throw std::system_error(ec, fmt::format("taskorch: cannot start the journal segment {} in {}",
                                            segment_name(next_lsn), dir_.string()));
  }
  last_sync_ = clock::now();
}

std::string segment_writer::where() const {
  return fmt::format("the journal in {}", dir_.string());
}

std::error_code segment_writer::open_segment(std::uint64_t first_lsn) {
  std::unique_ptr<writable_file> file;
  const std::filesystem::path path = dir_ / segment_name(first_lsn);
  if (std::error_code ec = files_->create(path, file)) return ec;
  std::string header;
  append_header({file_type::journal_segment, first_lsn}, header);
  if (std::error_code ec = file->write(std::as_bytes(std::span(header)))) return ec;
  // The header and the new name are on disk before any record in the segment counts.
  if (std::error_code ec = file->sync_data()) return ec;
  if (std::error_code ec = files_->sync_directory(dir_)) return ec;
  if (file_) {
    // The segment before is complete; what it holds is synced (interval: sync it now).
    if (unsynced_) {
      if (std::error_code ec = sync()) return ec;
    }
  }
  file_ = std::move(file);
  file_size_ = header.size();
  zeroed_end_ = file_size_;
  file_first_lsn_ = first_lsn;
  return {};
}

std::error_code segment_writer::write(const journal_group& g, std::uint64_t cut_lsn) {
  const bool cut_due = g.first > cut_lsn && file_first_lsn_ <= cut_lsn;
  if (cut_due || file_size_ >= options_.segment_bytes) {
    if (std::error_code ec = open_segment(g.first)) return ec;
  }
  const std::uint64_t before = file_size_;
  std::error_code ec = file_->write_at(before, std::as_bytes(std::span(g.redo)));
  if (!ec && options_.mode == durability::always) ec = sync();
  if (ec) {
    // What reached the file is cut away: a restart must not find changes that were
    // reported as failed. Best effort: the disk may refuse this too.
    (void)file_->truncate(before);
    (void)file_->sync_data();
    return ec;
  }
  file_size_ += g.redo.size();
  unsynced_ = options_.mode != durability::always;
  return {};
}

std::optional<journal_sink::clock::time_point> segment_writer::sync_due() const {
  if (!unsynced_) return std::nullopt;
  return last_sync_ + options_.sync_interval;
}

std::error_code segment_writer::sync() {
  const auto begin = clock::now();
  std::error_code ec = file_->sync_data();
  last_sync_ = clock::now();
  if (ec) return ec;
  unsynced_ = false;
  counters_.count_sync(last_sync_ - begin);
  return {};
}

bool segment_writer::work_when_idle() {
  if (!preallocate_ || std::max(zeroed_end_, file_size_) >= options_.segment_bytes) return false;
  zero_fill_ahead();
  return true;
}

void segment_writer::zero_fill_ahead() {
  constexpr std::size_t step = 256U << 10;
  static const std::vector<std::byte> zeros(step);
  const std::uint64_t from = std::max(zeroed_end_, file_size_);
  const std::size_t n = std::min<std::uint64_t>(step, options_.segment_bytes - from);
  std::error_code ec = file_->write_at(from, std::span(zeros.data(), n));
  if (!ec) ec = file_->sync_data();
  if (ec) {
    // Not a failure of the journal: the segment then grows as it is written. The zeros
    // written past the data read as the end of the data at recovery.
    preallocate_ = false;
    return;
  }
  zeroed_end_ = from + n;
}

}  // namespace taskorch::storage
