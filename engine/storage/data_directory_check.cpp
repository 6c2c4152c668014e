// The public queries of include/taskorch/data_directory.hpp.
#include "data_directory.hpp"
#include "recovery.hpp"
#include <taskorch/data_directory.hpp>

#include <fmt/core.h>

#include <system_error>

namespace taskorch {

bool holds_registry(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  if (posix_files()->list(dir, names)) return false;
  const storage::directory_listing listing = storage::classify(names);
  return !listing.segments.empty() || !listing.checkpoints.empty();
}

directory_check check_data_directory(const std::filesystem::path& dir) {
  directory_check check;
  try {
    storage::recovered_registry r = storage::recover(*posix_files(), dir, storage::repair::no);
    check.tasks = r.tasks.size();
    check.checkpoint_lsn = r.checkpoint_lsn;
    check.last_lsn = r.last_lsn;
    check.records = r.records_replayed;
    if (!r.found) {
      check.report.push_back(fmt::format("{}: holds no registry", dir.string()));
    } else {
      check.report.push_back(fmt::format(
          "{}: checkpoint at record {}, {} journal records after it, {} tasks and families",
          dir.string(), r.checkpoint_lsn, r.records_replayed, r.tasks.size()));
    }
    for (std::string& note : r.notes) check.report.push_back(std::move(note));
    check.sound = true;
  } catch (const storage::corruption_error& e) {
    check.report.emplace_back(e.what());
  } catch (const std::system_error& e) {
    check.report.emplace_back(e.what());
  }
  return check;
}

}  // namespace taskorch
