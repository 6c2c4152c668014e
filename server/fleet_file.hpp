#pragma once
// fleet_file: the file format of taskorch-server's --fleet: the JSON document that lists the
// tasks an empty data directory (or an in-memory registry) starts with.
//
//   {"jobs":[
//     {"id":"<job id>","project_id":"<32 hex>","name":"<optional>","db_use_type":"migration",
//      "status":"PAUSING","pause_mode":"target","paused_from":"INCRE_TRANSFER_STARTED"},
//     {"id":"<parent id>","project_id":"<32 hex>","db_use_type":"cloudDataGuard",
//      "multi_write":true,"children":[{"id":"<forward child>","status":"..."},
//                                     {"id":"<backward child>","status":"..."}]}
//   ]}
//
// `pause_mode` and `paused_from` appear exactly with status PAUSING (children too); an
// optional `version` sets a task's sequence number. Unknown fields are
// ignored. A malformed document is refused whole, with a message naming the job and field.
// Only a regular file of at most max_fleet_bytes is read (never a FIFO, a device or a folder).

#include <taskorch/task_spec.hpp>

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace taskorch::app {

/// The registrations of a fleet document, or why it was refused.
using fleet_result = std::variant<std::vector<registration>, std::string>;

/// Parses and validates a fleet document.
fleet_result parse_fleet(std::string_view document);

/// The largest fleet file read: 256 MiB (about a million tasks).
inline constexpr std::size_t max_fleet_bytes = std::size_t{256} << 20;

/// Reads and parses a fleet file. The message of a refusal starts with the path.
fleet_result load_fleet_file(const std::filesystem::path& path);

}  // namespace taskorch::app
