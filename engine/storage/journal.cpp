#include "journal.hpp"

#include "data_directory.hpp"

#include <fmt/core.h>

#include <bit>
#include <system_error>

namespace taskorch::storage {

namespace {

using clock = std::chrono::steady_clock;

/// The longest the writer holds a group for operations still appending (journal::expect_more).
constexpr auto max_linger = std::chrono::milliseconds(1);

std::size_t latency_bucket(std::chrono::nanoseconds t) {
  const auto us =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(t).count());
  const auto b = static_cast<std::size_t>(std::bit_width(us));
  return std::min(b, latency_histogram::buckets - 1);
}

}  // namespace

journal::journal(std::shared_ptr<file_layer> files, std::filesystem::path dir,
                 const storage_options& options, std::uint64_t next_lsn, journal_hooks hooks)
    : files_(std::move(files)),
      dir_(std::move(dir)),
      options_(options),
      hooks_(std::move(hooks)),
      next_lsn_(next_lsn),
      stored_(next_lsn - 1),
      cut_lsn_(next_lsn - 1),
      preallocate_(options.preallocate) {
  if (std::error_code ec = open_segment(next_lsn)) {
    throw std::system_error(ec, fmt::format("taskorch: cannot start the journal segment {} in {}",
                                            segment_name(next_lsn), dir_.string()));
  }
  last_sync_ = clock::now();
  writer_ = std::thread([this] { run(); });
}

journal::~journal() { close(); }

void journal::close() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (writer_.joinable()) writer_.join();
}

void journal::zero_fill_ahead() {
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

std::uint64_t journal::append(const change_log& log) {
  std::unique_lock lock(mutex_);
  const std::uint64_t first = next_lsn_;
  next_lsn_ += log.count();
  const std::uint64_t last = next_lsn_ - 1;
  if (failed_.load(std::memory_order_relaxed)) {
    // Made after the failure, by an operation already under way: rolled back like the rest.
    pending_.undo += log.undo();
    rollback_due_ = true;
  } else {
    if (pending_.redo.empty()) pending_.first = first;
    pending_.redo += log.redo();
    pending_.undo += log.undo();
    pending_.last = last;
    bytes_since_cut_ += log.redo().size();
  }
  lock.unlock();
  wake_.notify_one();
  return last;
}

void journal::expect_more() {
  std::lock_guard lock(mutex_);
  ++appending_;
}

void journal::done_appending() {
  {
    std::lock_guard lock(mutex_);
    if (--appending_ != 0) return;
  }
  wake_.notify_one();
}

std::uint64_t journal::appended() const {
  std::lock_guard lock(mutex_);
  return next_lsn_ - 1;
}

std::string journal::failure() const {
  std::lock_guard lock(mutex_);
  return failure_;
}

bool journal::when_stored(std::uint64_t lsn, std::function<void(error_code)> then) {
  std::unique_lock lock(mutex_);
  if (stored_.load(std::memory_order_relaxed) >= lsn) return false;
  waiters_.emplace_back(lsn, std::move(then));
  const bool failed = failed_.load(std::memory_order_relaxed);
  lock.unlock();
  if (failed) wake_.notify_one();  // the writer answers it after any rollback due
  return true;
}

bool journal::wait_stored(std::uint64_t lsn) {
  std::unique_lock lock(mutex_);
  stored_changed_.wait(lock, [&] {
    return stored_.load(std::memory_order_relaxed) >= lsn ||
           (failed_.load(std::memory_order_relaxed) && !rollback_due_);
  });
  return stored_.load(std::memory_order_relaxed) >= lsn;
}

std::string journal::take_undo() {
  std::lock_guard lock(mutex_);
  std::string undo = std::move(rolled_back_undo_);
  undo += pending_.undo;
  rolled_back_undo_.clear();
  pending_ = {};
  rollback_due_ = false;
  return undo;
}

std::uint64_t journal::cut() {
  std::lock_guard lock(mutex_);
  cut_lsn_ = next_lsn_ - 1;
  bytes_since_cut_ = 0;
  checkpoint_asked_ = false;
  return cut_lsn_;
}

std::error_code journal::open_segment(std::uint64_t first_lsn) {
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
      if (std::error_code ec = sync_now()) return ec;
    }
  }
  file_ = std::move(file);
  file_size_ = header.size();
  zeroed_end_ = file_size_;
  file_first_lsn_ = first_lsn;
  return {};
}

std::error_code journal::sync_now() {
  const auto begin = clock::now();
  std::error_code ec = file_->sync_data();
  const auto took = clock::now() - begin;
  last_sync_ = clock::now();
  if (ec) return ec;
  unsynced_ = false;
  counters_.syncs.fetch_add(1, std::memory_order_relaxed);
  counters_.sync_ns.fetch_add(
      static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(took).count()),
      std::memory_order_relaxed);
  counters_.sync_buckets[latency_bucket(took)].fetch_add(1, std::memory_order_relaxed);
  return {};
}

std::error_code journal::write_group(const group& g, std::uint64_t cut_lsn) {
  const bool cut_due = g.first > cut_lsn && file_first_lsn_ <= cut_lsn;
  if (cut_due || file_size_ >= options_.segment_bytes) {
    if (std::error_code ec = open_segment(g.first)) return ec;
  }
  const std::uint64_t before = file_size_;
  std::error_code ec = file_->write_at(before, std::as_bytes(std::span(g.redo)));
  if (!ec && options_.mode == durability::always) ec = sync_now();
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

void journal::complete_waiters(std::unique_lock<std::mutex>& lock) {
  const std::uint64_t stored = stored_.load(std::memory_order_relaxed);
  const bool failed = failed_.load(std::memory_order_relaxed) && !rollback_due_;
  std::vector<std::pair<std::uint64_t, std::function<void(error_code)>>> ready;
  std::erase_if(waiters_, [&](auto& w) {
    if (w.first > stored && !failed) return false;
    ready.push_back(std::move(w));
    return true;
  });
  if (ready.empty()) return;
  lock.unlock();
  for (auto& [lsn, then] : ready) {
    then(lsn <= stored ? error_code() : error_code(errc::journal_failed));
  }
  lock.lock();
}

void journal::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (failed_.load(std::memory_order_relaxed)) {
      if (!serve_failed(lock)) break;
    } else if (!pending_.redo.empty()) {
      commit_pending(lock);
    } else if (unsynced_) {
      sync_when_due(lock);
    } else if (stopping_) {
      break;
    } else if (preallocate_ && std::max(zeroed_end_, file_size_) < options_.segment_bytes) {
      // Idle: zeros a little further ahead of the data, then looks for work again.
      lock.unlock();
      zero_fill_ahead();
      lock.lock();
    } else {
      wake_.wait(lock);
    }
  }
}

bool journal::serve_failed(std::unique_lock<std::mutex>& lock) {
  if (rollback_due_) {
    lock.unlock();
    hooks_.roll_back();  // takes every gate, then take_undo()
    lock.lock();
    stored_changed_.notify_all();
  }
  complete_waiters(lock);
  if (stopping_ && !rollback_due_) return false;
  wake_.wait(lock, [&] { return rollback_due_ || !waiters_.empty() || stopping_; });
  return true;
}

void journal::commit_pending(std::unique_lock<std::mutex>& lock) {
  if (options_.mode == durability::always && appending_ > 0 && !stopping_) {
    // Half a batch in this group would cost the batch a second sync: wait for the rest
    // (that batch cannot complete before it anyway), for 1 ms at most.
    wake_.wait_for(lock, max_linger, [&] { return appending_ == 0 || stopping_; });
  }
  group g = std::move(pending_);
  pending_ = {};
  const std::uint64_t cut_lsn = cut_lsn_;
  const bool ask_checkpoint = bytes_since_cut_ >= options_.checkpoint_bytes && !checkpoint_asked_;
  checkpoint_asked_ = checkpoint_asked_ || ask_checkpoint;
  lock.unlock();
  if (ask_checkpoint && hooks_.wants_checkpoint) hooks_.wants_checkpoint();
  const std::error_code ec = write_group(g, cut_lsn);
  lock.lock();
  if (ec) {
    failed_.store(true, std::memory_order_release);
    failure_ = fmt::format("writing the journal in {} failed: {}", dir_.string(), ec.message());
    rolled_back_undo_ = std::move(g.undo);
    rollback_due_ = true;
    return;
  }
  counters_.bytes.fetch_add(g.redo.size(), std::memory_order_relaxed);
  counters_.records.fetch_add(g.last - g.first + 1, std::memory_order_relaxed);
  counters_.commits.fetch_add(1, std::memory_order_relaxed);
  stored_.store(g.last, std::memory_order_release);
  stored_changed_.notify_all();
  complete_waiters(lock);
}

void journal::sync_when_due(std::unique_lock<std::mutex>& lock) {
  const auto due = last_sync_ + options_.sync_interval;
  if (!stopping_ && clock::now() < due) {
    wake_.wait_until(lock, due);
    return;
  }
  lock.unlock();
  const std::error_code ec = sync_now();
  lock.lock();
  if (ec) {
    // The records written since the last sync were acknowledged (interval's loss window);
    // from now on nothing more is taken.
    failed_.store(true, std::memory_order_release);
    failure_ = fmt::format("syncing the journal in {} failed: {}", dir_.string(), ec.message());
    rollback_due_ = !pending_.undo.empty();
    stored_changed_.notify_all();
  }
}

}  // namespace taskorch::storage
