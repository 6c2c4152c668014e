#pragma once
// command_line: the flags of taskorch-server, parsed and checked. A refusal is one line that
// names the flag and says what is wrong; nothing is half-applied.
//
//   auto parsed = taskorch::app::parse_command_line(argc, argv);
//   if (auto* refusal = std::get_if<std::string>(&parsed)) die(*refusal);

#include <taskorch/http/access_key_table.hpp>
#include <taskorch/http/api.hpp>
#include <taskorch/http/server.hpp>
#include <taskorch/http/token_table.hpp>
#include <taskorch/project_id.hpp>
#include <taskorch/storage_options.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace taskorch::app {

/// The text --help prints.
extern const std::string_view usage;

/// What the command line asks for.
struct command_line {
  bool help = false;
  bool check = false;      ///< --check: verify the data directory offline, serve nothing
  bool in_memory = false;  ///< --in-memory: no data directory at all
  std::string fleet_file;  ///< "" : the demo fleet
  std::string data_dir = "taskorch-data";
  bool data_dir_given = false;
  durability mode = durability::always;
  std::chrono::milliseconds sync_interval{100};  ///< with durability::interval
  bool durability_given = false;
  /// --token, in order: each token with its project and role.
  std::vector<std::pair<std::string, http::token_grant>> tokens;
  /// --credential, in order: each access key with its secret key, project and role.
  std::vector<http::access_key> credentials;
  /// --postgres: the scale-out mode (docs/scale-out.md), a libpq conninfo; "": a data
  /// directory (or memory).
  std::string postgres;
  std::string node_name;                   ///< --node-name; "": the advertised address
  std::string advertise;                   ///< --advertise HOST:PORT; "": the listening address
  std::uint32_t partitions = 16;           ///< --partitions, for a database this server creates
  std::chrono::milliseconds lease{10000};  ///< --lease-ms
  std::chrono::milliseconds renew{2000};   ///< --renew-ms
  std::size_t engine_threads = 0;          ///< 0: one per hardware thread
  std::size_t feed_capacity = 0;  ///< --feed-capacity: the event feed's size; 0: the engine's
  http::api_options api;
  /// host, port, threads, timeouts, connection cap, event streams
  http::server_options server;
  bool max_connections_given = false;  ///< --max-connections was given (else: derived)
};

/// Parses the arguments (argv[0] excluded). Returns the options, or the reason they are
/// refused, in one line naming the flag.
std::variant<command_line, std::string> parse_command_line(int argc, const char* const* argv);

}  // namespace taskorch::app
