#pragma once
// fleet_file: the JSON document that lists tasks to load at start (a fleet) or that the
// server writes at shutdown (a snapshot). One format for both: loading a snapshot rebuilds
// the same registry.
//
//   {"jobs":[
//     {"id":"<job id>","project_id":"<32 hex>","name":"<optional>","db_use_type":"migration",
//      "status":"PAUSING","pause_mode":"target","paused_from":"INCRE_TRANSFER_STARTED"},
//     {"id":"<parent id>","project_id":"<32
//     hex>","db_use_type":"cloudDataGuard","multi_write":true,
//      "children":[{"id":"<forward child>","status":"..."},{"id":"<backward
//      child>","status":"..."}]}
//   ]}
//
// `pause_mode` and `paused_from` appear exactly with status PAUSING (children too); an
// optional `version` keeps a task's sequence number across a restart. Unknown fields are
// ignored. A malformed document is refused whole, with a message naming the job and field.

#include <taskorch/task_spec.hpp>

#include <filesystem>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace taskorch::http {

/// The registrations of a fleet document, or why it was refused.
using fleet_result = std::variant<std::vector<registration>, std::string>;

/// Parses and validates a fleet or snapshot document.
fleet_result parse_fleet(std::string_view document);

/// Reads and parses a fleet or snapshot file.
fleet_result load_fleet_file(const std::filesystem::path& path);

/// Writes `tasks` as a fleet document.
std::string write_fleet(const std::vector<registration>& tasks);

/// Writes `tasks` to `path` atomically: a temporary file in the same folder, flushed to
/// disk, then renamed over `path`. Returns an error message, empty on success.
std::string save_fleet_file(const std::filesystem::path& path,
                            const std::vector<registration>& tasks);

/// The built-in demo fleet: project 054ba152d480d55b2f5dc0069e7ddef0 holding the DRS
/// example job 8d0e8e36-a618-490d-8a46-8c61ac9jb502 in FULL_TRANSFER_STARTED, dual-active
/// families, and a few thousand tasks over every status, plus a second project.
std::vector<registration> demo_fleet();

}  // namespace taskorch::http
