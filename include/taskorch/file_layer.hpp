#pragma once
// file_layer: the few file operations the engine's storage makes, behind an interface, so
// that tests can fail any write or sync on purpose (and embedders can count or redirect
// them). posix_files() is the real one.
//
//   auto files = taskorch::posix_files();
//   std::unique_ptr<taskorch::writable_file> f;
//   if (std::error_code ec = files->create(dir / "x.tmp", f)) ...

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace taskorch {

/// A file open for writing at its end. Thread safety: one thread at a time.
class writable_file {
 public:
  virtual ~writable_file() = default;
  /// Writes all of `bytes` at the end of the file, or fails (a short write is retried; an
  /// error after part of it was written leaves that part).
  virtual std::error_code write(std::span<const std::byte> bytes) = 0;
  /// Writes all of `bytes` at `offset` (pwrite(2)), over what is there or past the end.
  virtual std::error_code write_at(std::uint64_t offset, std::span<const std::byte> bytes) = 0;
  /// fdatasync(2): the data written so far, and the size, are on disk.
  virtual std::error_code sync_data() = 0;
  /// fsync(2).
  virtual std::error_code sync() = 0;
  /// Cuts the file to `size` bytes; later writes go there.
  virtual std::error_code truncate(std::uint64_t size) = 0;
  /// Reserves `size` bytes of disk for the file without changing what it holds
  /// (fallocate(2) with FALLOC_FL_KEEP_SIZE).
  virtual std::error_code reserve(std::uint64_t size) = 0;
};

/// Files and folders. Thread safety: every member may be called from any thread.
class file_layer {
 public:
  virtual ~file_layer() = default;
  /// Creates `path`, which must not exist, empty and open for writing.
  virtual std::error_code create(const std::filesystem::path& path,
                                 std::unique_ptr<writable_file>& out) = 0;
  /// Opens the existing `path` for writing at its end.
  virtual std::error_code open_existing(const std::filesystem::path& path,
                                        std::unique_ptr<writable_file>& out) = 0;
  /// Reads the whole of `path` into `out`.
  virtual std::error_code read_all(const std::filesystem::path& path,
                                   std::vector<std::byte>& out) = 0;
  /// rename(2): atomically replaces `to`.
  virtual std::error_code rename(const std::filesystem::path& from,
                                 const std::filesystem::path& to) = 0;
  /// Removes the file `path`.
  virtual std::error_code remove(const std::filesystem::path& path) = 0;
  /// fsync(2) of the folder, so that names created, renamed or removed in it are on disk.
  virtual std::error_code sync_directory(const std::filesystem::path& dir) = 0;
  /// The names of the entries of `dir` (not "." or "..").
  virtual std::error_code list(const std::filesystem::path& dir,
                               std::vector<std::string>& names) = 0;
};

/// The POSIX file layer (open, write, fdatasync, rename, ...).
std::shared_ptr<file_layer> posix_files();

}  // namespace taskorch
