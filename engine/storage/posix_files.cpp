// The POSIX file layer: plain system calls, errno turned into std::error_code.

#include <taskorch/file_layer.hpp>

#include <cerrno>
#include <cstdio>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace taskorch {

namespace {

std::error_code last_error() { return {errno, std::system_category()}; }

/// Closes a descriptor when it goes out of scope.
class descriptor {
 public:
  explicit descriptor(int fd) noexcept : fd_(fd) {}
  ~descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  descriptor(const descriptor&) = delete;
  descriptor& operator=(const descriptor&) = delete;
  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }

 private:
  int fd_;
};

class posix_file final : public writable_file {
 public:
  explicit posix_file(int fd) noexcept : fd_(fd) {}

  std::error_code write(std::span<const std::byte> bytes) override {
    while (!bytes.empty()) {
      const ssize_t n = ::write(fd_.get(), bytes.data(), bytes.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return last_error();
      }
      bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
    return {};
  }

  std::error_code write_at(std::uint64_t offset, std::span<const std::byte> bytes) override {
    while (!bytes.empty()) {
      const ssize_t n = ::pwrite(fd_.get(), bytes.data(), bytes.size(), static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        return last_error();
      }
      bytes = bytes.subspan(static_cast<std::size_t>(n));
      offset += static_cast<std::uint64_t>(n);
    }
    return {};
  }

  std::error_code sync_data() override {
    return ::fdatasync(fd_.get()) == 0 ? std::error_code{} : last_error();
  }

  std::error_code sync() override {
    return ::fsync(fd_.get()) == 0 ? std::error_code{} : last_error();
  }

  std::error_code truncate(std::uint64_t size) override {
    if (::ftruncate(fd_.get(), static_cast<off_t>(size)) != 0) return last_error();
    if (::lseek(fd_.get(), 0, SEEK_END) < 0) return last_error();
    return {};
  }

  std::error_code reserve(std::uint64_t size) override {
    if (::fallocate(fd_.get(), FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(size)) != 0) {
      return last_error();
    }
    return {};
  }

 private:
  descriptor fd_;
};

std::error_code open_file(const std::filesystem::path& path, int flags, mode_t mode,
                          std::unique_ptr<writable_file>& out) {
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-vararg): open(2) is variadic in C
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return last_error();
  out = std::make_unique<posix_file>(fd);
  return {};
}

class posix_file_layer final : public file_layer {
 public:
  std::error_code create(const std::filesystem::path& path,
                         std::unique_ptr<writable_file>& out) override {
    return open_file(path, O_WRONLY | O_CREAT | O_EXCL, 0644, out);
  }

  std::error_code open_existing(const std::filesystem::path& path,
                                std::unique_ptr<writable_file>& out) override {
    if (std::error_code ec = open_file(path, O_WRONLY, 0, out)) return ec;
    std::error_code ec;
    const std::uintmax_t size = std::filesystem::file_size(path, ec);
    return ec ? ec : out->truncate(size);  // writes go at the end
  }

  std::error_code read_all(const std::filesystem::path& path,
                           std::vector<std::byte>& out) override {
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-vararg): open(2) is variadic in C
    const descriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return last_error();
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0) return last_error();
    out.clear();
    out.resize(static_cast<std::size_t>(info.st_size));
    std::size_t filled = 0;
    for (;;) {
      if (filled == out.size()) out.resize(out.size() + 4096);  // the file grew
      const ssize_t n = ::read(fd.get(), out.data() + filled, out.size() - filled);
      if (n < 0) {
        if (errno == EINTR) continue;
        return last_error();
      }
      if (n == 0) break;
      filled += static_cast<std::size_t>(n);
    }
    out.resize(filled);
    return {};
  }

  std::error_code rename(const std::filesystem::path& from,
                         const std::filesystem::path& to) override {
    return ::rename(from.c_str(), to.c_str()) == 0 ? std::error_code{} : last_error();
  }

  std::error_code remove(const std::filesystem::path& path) override {
    return ::unlink(path.c_str()) == 0 ? std::error_code{} : last_error();
  }

  std::error_code sync_directory(const std::filesystem::path& dir) override {
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-vararg): open(2) is variadic in C
    const descriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) return last_error();
    return ::fsync(fd.get()) == 0 ? std::error_code{} : last_error();
  }

  std::error_code list(const std::filesystem::path& dir, std::vector<std::string>& names) override {
    DIR* stream = ::opendir(dir.c_str());
    if (stream == nullptr) return last_error();
    names.clear();
    std::error_code result;
    for (;;) {
      errno = 0;
      // NOLINTNEXTLINE(concurrency-mt-unsafe): safe on a stream only this call uses (glibc)
      const dirent* entry = ::readdir(stream);
      if (entry == nullptr) {
        if (errno != 0) result = last_error();
        break;
      }
      const std::string_view name = static_cast<const char*>(entry->d_name);
      if (name != "." && name != "..") names.emplace_back(name);
    }
    ::closedir(stream);
    return result;
  }
};

}  // namespace

std::shared_ptr<file_layer> posix_files() { return std::make_shared<posix_file_layer>(); }

}  // namespace taskorch
