#include "store.hpp"

#include "checkpoint_file.hpp"
#include "data_directory.hpp"
#include "segment_writer.hpp"
#include "store_sink.hpp"

#include <fmt/core.h>

#include <array>
#include <cerrno>
#include <fcntl.h>
#include <stdexcept>
#include <string>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace taskorch::storage {

namespace {

using clock = std::chrono::steady_clock;

[[noreturn]] void refuse(const std::filesystem::path& dir, const std::string& why) {
  throw std::runtime_error(fmt::format("taskorch: data directory {}: {}", dir.string(), why));
}

/// Creates `dir` when missing; refuses anything that is not a folder (a symlink to one is
/// followed).
void prepare_directory(const std::filesystem::path& dir) {
  std::error_code ec;
  const auto status = std::filesystem::status(dir, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) refuse(dir, ec.message());
  if (std::filesystem::exists(status)) {
    if (!std::filesystem::is_directory(status)) refuse(dir, "exists and is not a folder");
    return;
  }
  std::filesystem::create_directories(dir, ec);
  if (ec) refuse(dir, fmt::format("cannot be created: {}", ec.message()));
}

std::string system_message(int error) {
  return std::error_code(error, std::system_category()).message();
}

/// Locks `dir` for this process's lifetime; returns the descriptor holding the lock.
int lock_directory(const std::filesystem::path& dir) {
  const std::filesystem::path path = dir / lock_name;
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-vararg): open(2) is variadic in C
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) refuse(dir, fmt::format("cannot write {}: {}", path.string(), system_message(errno)));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    std::array<char, 32> holder{};
    const ssize_t n = ::pread(fd, holder.data(), holder.size() - 1, 0);
    ::close(fd);
    if (err == EWOULDBLOCK) {
      std::string pid = n > 0 ? std::string(holder.data(), static_cast<std::size_t>(n)) : "";
      while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
      refuse(dir, fmt::format("in use by another process{} (its {} is locked)",
                              pid.empty() ? "" : " (pid " + pid + ")", lock_name));
    }
    refuse(dir, fmt::format("cannot lock {}: {}", path.string(), system_message(err)));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    const int err = errno;
    ::close(fd);
    refuse(dir, fmt::format("cannot write {}: {}", path.string(), system_message(err)));
  }
  return fd;
}

/// The bytes of the registry's files: a checkpoint needs about as much again.
std::uint64_t registry_bytes(const std::filesystem::path& dir) {
  std::uint64_t total = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::error_code size_ec;
    const auto size = entry.file_size(size_ec);
    if (!size_ec) total += size;
  }
  return total;
}

void check_space(const std::filesystem::path& dir) {
  struct statvfs fs {};
  if (::statvfs(dir.c_str(), &fs) != 0) return;
  const std::uint64_t free_bytes = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
  const std::uint64_t needed = std::max<std::uint64_t>(1ULL << 20, registry_bytes(dir));
  if (free_bytes < needed) {
    refuse(dir, fmt::format("{} bytes free, a checkpoint needs about {}", free_bytes, needed));
  }
}

}  // namespace

store::store(storage_options options) : options_(std::move(options)) {
  if (!options_.files) options_.files = posix_files();
  if (!is_valid(options_.mode)) throw std::invalid_argument("taskorch: invalid durability mode");
  if (options_.store) {
    open_journal_store();
    return;
  }
  prepare_directory(options_.directory);
  lock_fd_ = lock_directory(options_.directory);
  try {
    check_space(options_.directory);
    const auto begin = clock::now();
    recovered_ = recover(*options_.files, options_.directory, repair::yes);
    recovery_duration_ = clock::now() - begin;
    checkpoint_lsn_ = recovered_.checkpoint_lsn;
  } catch (...) {
    ::close(lock_fd_);
    throw;
  }
}

void store::open_journal_store() {
  if (!options_.directory.empty()) {
    throw std::invalid_argument(
        "taskorch: the storage takes a data directory or a journal_store, "
        "not both");
  }
  if (options_.mode != durability::always) {
    throw std::invalid_argument("taskorch: a journal_store is written with durability::always");
  }
  const auto begin = clock::now();
  recovered_ = recover(options_.store->load(), options_.store->name());
  recovery_duration_ = clock::now() - begin;
  checkpoint_lsn_ = recovered_.checkpoint_lsn;
}

store::~store() {
  close();
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

void store::start(store_hooks hooks) {
  hooks_ = std::move(hooks);
  if (options_.mode != durability::none) {
    const std::uint64_t next = recovered_.last_lsn + 1;
    std::unique_ptr<journal_sink> sink;
    if (options_.store) {
      sink = std::make_unique<store_sink>(options_.store, counters_);
    } else {
      // A segment that was started by the last run but got no record has the new one's name.
      (void)options_.files->remove(options_.directory / segment_name(next));
      sink = std::make_unique<segment_writer>(options_.files, options_.directory, options_, next,
                                              counters_);
    }
    journal_ = std::make_unique<journal>(
        std::move(sink), counters_, options_, next,
        journal_hooks{.roll_back = hooks_.roll_back, .wants_checkpoint = [this] {
                        {
                          std::lock_guard lock(wake_mutex_);
                          checkpoint_due_ = true;
                        }
                        wake_.notify_one();
                      }});
  }
  checkpointer_ = std::thread([this] { run_checkpoints(); });
  started_ = true;  // from here a close() takes a last checkpoint
}

void store::run_checkpoints() {
  std::unique_lock lock(wake_mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return checkpoint_due_ || closing_; });
    if (closing_) return;
    checkpoint_due_ = false;
    lock.unlock();
    (void)checkpoint();  // on failure the journal still holds everything; the next try is
                         // when it has grown by checkpoint_bytes again
    lock.lock();
  }
}

error_code store::checkpoint() {
  std::lock_guard serial(checkpoint_serial_);
  if (journal_ && journal_->failed()) return errc::journal_failed;
  const auto begin = clock::now();
  registry_image image = hooks_.capture();
  // A checkpoint must not hold a change the journal could still fail to store (and roll back).
  if (journal_ && !journal_->wait_stored(image.lsn)) return errc::journal_failed;
  if (options_.store) {
    const std::string bytes = checkpoint_bytes(image.lsn, image.tasks, image.events);
    if (std::error_code ec = options_.store->checkpoint(image.lsn, bytes)) return {ec};
    checkpoint_lsn_ = image.lsn;  // the store lets the groups it covers go
  } else {
    if (std::error_code ec = write_checkpoint(*options_.files, options_.directory, image.lsn,
                                              image.tasks, image.events)) {
      return {ec};
    }
    checkpoint_lsn_ = image.lsn;
    remove_covered(image.lsn);
  }
  checkpoints_.fetch_add(1);
  last_checkpoint_ns_.store(
      std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - begin).count());
  const std::int64_t pause = image.pause.count();
  std::int64_t longest = longest_pause_ns_.load();
  while (pause > longest && !longest_pause_ns_.compare_exchange_weak(longest, pause)) {
  }
  return {};
}

void store::remove_covered(std::uint64_t lsn) {
  std::vector<std::string> names;
  if (options_.files->list(options_.directory, names)) return;
  const directory_listing listing = classify(names);
  bool removed = false;
  for (const auto& c : listing.checkpoints) {
    if (c.lsn < lsn) removed = !options_.files->remove(options_.directory / c.name) || removed;
  }
  // A segment whose successor starts at or before lsn + 1 holds records up to lsn only.
  for (std::size_t i = 0; i + 1 < listing.segments.size(); ++i) {
    if (listing.segments[i + 1].lsn <= lsn + 1) {
      removed = !options_.files->remove(options_.directory / listing.segments[i].name) || removed;
    }
  }
  if (removed) (void)options_.files->sync_directory(options_.directory);
}

void store::close() {
  {
    std::lock_guard lock(wake_mutex_);
    if (closing_) return;
    closing_ = true;
  }
  wake_.notify_one();
  if (checkpointer_.joinable()) checkpointer_.join();
  if (started_) {
    const bool changed = !journal_ || journal_->appended() > checkpoint_lsn_;
    if (changed) (void)checkpoint();
  }
  if (journal_) journal_->close();
}

storage_stats store::stats() const {
  storage_stats s;
  s.enabled = true;
  s.mode = options_.mode;
  s.recovered = recovered_.found;
  s.recovered_records = recovered_.records_replayed;
  s.recovery_duration = recovery_duration_;
  s.recovery_notes = recovered_.notes;
  s.checkpoints = checkpoints_.load();
  s.last_checkpoint_duration = std::chrono::nanoseconds(last_checkpoint_ns_.load());
  s.longest_checkpoint_pause = std::chrono::nanoseconds(longest_pause_ns_.load());
  if (journal_) {
    const journal_counters& c = counters_;
    s.failed = journal_->failed();
    s.failure = journal_->failure();
    s.journal_bytes = c.bytes.load();
    s.records = c.records.load();
    s.syncs = c.syncs.load();
    s.commits = c.commits.load();
    s.sync_latency.total_ns = c.sync_ns.load();
    for (std::size_t i = 0; i < latency_histogram::buckets; ++i) {
      s.sync_latency.counts[i] = c.sync_buckets[i].load();
    }
  }
  return s;
}

}  // namespace taskorch::storage
