#pragma once
// faulty_files: a file_layer over posix_files() that fails chosen calls on purpose and counts
// every call, for tests of what the storage does when the disk says no.
//
//   auto files = std::make_shared<taskorch::testing::faulty_files>();
//   files->fail(taskorch::testing::file_op::sync_data, 3, EIO);  // the 3rd fdatasync fails
//   ... files->calls(taskorch::testing::file_op::write) ...
//
// Calls are numbered from 1 per operation, over the layer and every file it opened. Thread
// safety: every member may be called from any thread.

#include <taskorch/file_layer.hpp>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace taskorch::testing {

enum class file_op : std::uint8_t {
  create,
  open_existing,
  read_all,
  rename,
  remove,
  sync_directory,
  list,
  write,
  sync_data,
  sync,
  truncate,
  reserve,
};
inline constexpr std::size_t file_op_count = 12;

class faulty_files final : public file_layer {
 public:
  explicit faulty_files(std::shared_ptr<file_layer> inner = posix_files())
      : inner_(std::move(inner)) {}

  /// Makes call number `nth` of `op` (counted since construction, from 1) fail with `error`
  /// without reaching the disk; with `and_after`, every later call of `op` fails too.
  void fail(file_op op, std::uint64_t nth, int error, bool and_after = false) {
    const std::lock_guard lock(plan_->mutex);
    plan_->faults.push_back({op, nth, error, and_after});
  }

  /// Forgets every failure planned.
  void heal() {
    const std::lock_guard lock(plan_->mutex);
    plan_->faults.clear();
  }

  /// How many calls of `op` were made (failed ones included).
  std::uint64_t calls(file_op op) const noexcept {
    return plan_->counts[static_cast<std::size_t>(op)].load();
  }

  std::error_code create(const std::filesystem::path& path,
                         std::unique_ptr<writable_file>& out) override {
    if (std::error_code ec = plan_->enter(file_op::create)) return ec;
    std::unique_ptr<writable_file> inner;
    if (std::error_code ec = inner_->create(path, inner)) return ec;
    out = std::make_unique<file>(plan_, std::move(inner));
    return {};
  }

  std::error_code open_existing(const std::filesystem::path& path,
                                std::unique_ptr<writable_file>& out) override {
    if (std::error_code ec = plan_->enter(file_op::open_existing)) return ec;
    std::unique_ptr<writable_file> inner;
    if (std::error_code ec = inner_->open_existing(path, inner)) return ec;
    out = std::make_unique<file>(plan_, std::move(inner));
    return {};
  }

  std::error_code read_all(const std::filesystem::path& path,
                           std::vector<std::byte>& out) override {
    if (std::error_code ec = plan_->enter(file_op::read_all)) return ec;
    return inner_->read_all(path, out);
  }

  std::error_code rename(const std::filesystem::path& from,
                         const std::filesystem::path& to) override {
    if (std::error_code ec = plan_->enter(file_op::rename)) return ec;
    return inner_->rename(from, to);
  }

  std::error_code remove(const std::filesystem::path& path) override {
    if (std::error_code ec = plan_->enter(file_op::remove)) return ec;
    return inner_->remove(path);
  }

  std::error_code sync_directory(const std::filesystem::path& dir) override {
    if (std::error_code ec = plan_->enter(file_op::sync_directory)) return ec;
    return inner_->sync_directory(dir);
  }

  std::error_code list(const std::filesystem::path& dir, std::vector<std::string>& names) override {
    if (std::error_code ec = plan_->enter(file_op::list)) return ec;
    return inner_->list(dir, names);
  }

 private:
  struct fault {
    file_op op;
    std::uint64_t nth;
    int error;
    bool and_after;
  };

  /// The counts and the failures planned, shared with the files opened (which may outlive
  /// the layer).
  struct plan {
    /// Counts a call of `op`; returns the error planned for it, if any.
    std::error_code enter(file_op op) {
      const std::uint64_t n = counts[static_cast<std::size_t>(op)].fetch_add(1) + 1;
      const std::lock_guard lock(mutex);
      for (const fault& f : faults) {
        if (f.op == op && (n == f.nth || (f.and_after && n > f.nth))) {
          return {f.error, std::system_category()};
        }
      }
      return {};
    }

    std::array<std::atomic<std::uint64_t>, file_op_count> counts{};
    std::mutex mutex;
    std::vector<fault> faults;
  };

  /// A file opened through the layer: its calls are counted and failed by the layer.
  class file final : public writable_file {
   public:
    file(std::shared_ptr<plan> faults, std::unique_ptr<writable_file> inner)
        : plan_(std::move(faults)), inner_(std::move(inner)) {}

    std::error_code write(std::span<const std::byte> bytes) override {
      if (std::error_code ec = plan_->enter(file_op::write)) return ec;
      return inner_->write(bytes);
    }
    std::error_code write_at(std::uint64_t offset, std::span<const std::byte> bytes) override {
      if (std::error_code ec = plan_->enter(file_op::write)) return ec;  // counted as a write
      return inner_->write_at(offset, bytes);
    }
    std::error_code sync_data() override {
      if (std::error_code ec = plan_->enter(file_op::sync_data)) return ec;
      return inner_->sync_data();
    }
    std::error_code sync() override {
      if (std::error_code ec = plan_->enter(file_op::sync)) return ec;
      return inner_->sync();
    }
    std::error_code truncate(std::uint64_t size) override {
      if (std::error_code ec = plan_->enter(file_op::truncate)) return ec;
      return inner_->truncate(size);
    }
    std::error_code reserve(std::uint64_t size) override {
      if (std::error_code ec = plan_->enter(file_op::reserve)) return ec;
      return inner_->reserve(size);
    }

   private:
    std::shared_ptr<plan> plan_;
    std::unique_ptr<writable_file> inner_;
  };

  std::shared_ptr<file_layer> inner_;
  std::shared_ptr<plan> plan_ = std::make_shared<plan>();
};

}  // namespace taskorch::testing
