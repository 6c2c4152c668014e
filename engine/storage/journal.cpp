#include "journal.hpp"

#include <fmt/core.h>

#include <bit>
#include <system_error>

namespace taskorch::storage {

namespace {

/// The longest the writer holds a group for operations still appending (journal::expect_more).
constexpr auto max_linger = std::chrono::milliseconds(1);

std::size_t latency_bucket(std::chrono::nanoseconds t) {
  const auto us =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(t).count());
  const auto b = static_cast<std::size_t>(std::bit_width(us));
  return std::min(b, latency_histogram::buckets - 1);
}

}  // namespace

void journal_counters::count_sync(std::chrono::nanoseconds took) noexcept {
  syncs.fetch_add(1, std::memory_order_relaxed);
  sync_ns.fetch_add(static_cast<std::uint64_t>(took.count()), std::memory_order_relaxed);
  sync_buckets[latency_bucket(took)].fetch_add(1, std::memory_order_relaxed);
}

journal::journal(std::unique_ptr<journal_sink> sink, journal_counters& counters,
                 storage_options options, std::uint64_t next_lsn, journal_hooks hooks)
    : sink_(std::move(sink)),
      options_(std::move(options)),
      hooks_(std::move(hooks)),
      counters_(counters),
      next_lsn_(next_lsn),
      stored_(next_lsn - 1),
      cut_lsn_(next_lsn - 1) {
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
    } else if (const auto due = sink_->sync_due()) {
      sync_when_due(lock, *due);
    } else if (stopping_) {
      break;
    } else {
      // Idle: the sink's own work (a step at a time), then looks for work again.
      lock.unlock();
      const bool worked = sink_->work_when_idle();
      lock.lock();
      if (!worked && pending_.redo.empty() && !stopping_ && !failed_.load()) wake_.wait(lock);
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
  journal_group g = std::move(pending_);
  pending_ = {};
  const std::uint64_t cut_lsn = cut_lsn_;
  const bool ask_checkpoint = bytes_since_cut_ >= options_.checkpoint_bytes && !checkpoint_asked_;
  checkpoint_asked_ = checkpoint_asked_ || ask_checkpoint;
  lock.unlock();
  if (ask_checkpoint && hooks_.wants_checkpoint) hooks_.wants_checkpoint();
  const std::error_code ec = sink_->write(g, cut_lsn);
  lock.lock();
  if (ec) {
    failed_.store(true, std::memory_order_release);
    failure_ = fmt::format("writing {} failed: {}", sink_->where(), ec.message());
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

void journal::sync_when_due(std::unique_lock<std::mutex>& lock,
                            journal_sink::clock::time_point due) {
  if (!stopping_ && journal_sink::clock::now() < due) {
    wake_.wait_until(lock, due);
    return;
  }
  lock.unlock();
  const std::error_code ec = sink_->sync();
  lock.lock();
  if (ec) {
    // The records written since the last sync were acknowledged (interval's loss window);
    // from now on nothing more is taken.
    failed_.store(true, std::memory_order_release);
    failure_ = fmt::format("syncing {} failed: {}", sink_->where(), ec.message());
    rollback_due_ = !pending_.undo.empty();
    stored_changed_.notify_all();
  }
}

}  // namespace taskorch::storage
