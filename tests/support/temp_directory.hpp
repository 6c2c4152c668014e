#pragma once
// temp_directory: a fresh directory under the system's temporary folder (mkdtemp), removed
// with everything in it when the object goes.
//
//   taskorch::testing::temp_directory dir;
//   write_file(dir.path() / "x", ...);

#include <filesystem>
#include <stdlib.h>
#include <string>
#include <system_error>

namespace taskorch::testing {

class temp_directory {
 public:
  temp_directory() {
    std::string name = (std::filesystem::temp_directory_path() / "taskorch-test-XXXXXX").string();
    if (::mkdtemp(name.data()) == nullptr) {
      throw std::system_error(errno, std::system_category(), "mkdtemp " + name);
    }
    path_ = name;
  }
  ~temp_directory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  temp_directory(const temp_directory&) = delete;
  temp_directory& operator=(const temp_directory&) = delete;

  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace taskorch::testing
