#pragma once
// data_directory: what can be asked of an engine's data directory without opening an engine
// on it (docs/storage.md): whether it holds a registry, and an offline check of every file.
//
//   taskorch::directory_check c = taskorch::check_data_directory("taskorch-data");
//   for (const auto& line : c.report) std::puts(line.c_str());

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace taskorch {

/// True when `dir` holds a registry: a checkpoint or a journal segment.
bool holds_registry(const std::filesystem::path& dir);

/// The result of check_data_directory().
struct directory_check {
  bool sound = false;               ///< every file reads back whole, and they fit together
  std::vector<std::string> report;  ///< what was found, one line each (damage included)
  std::uint64_t tasks = 0;          ///< tasks and families the registry would hold
  std::uint64_t checkpoint_lsn = 0;
  std::uint64_t last_lsn = 0;
  std::uint64_t records = 0;  ///< journal records after the checkpoint
};

/// Reads every checkpoint and journal record of `dir` without changing anything (a torn
/// tail is reported, not cut). Safe while an engine uses the directory.
directory_check check_data_directory(const std::filesystem::path& dir);

}  // namespace taskorch
