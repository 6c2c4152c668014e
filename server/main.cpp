// taskorch-server: the DRS batch API over an in-memory engine. See command_line.cpp for the
// flags (or run it with --help).
#include "command_line.hpp"
#include "demo_fleet.hpp"
#include "fleet_file.hpp"
#include <taskorch/engine.hpp>
#include <taskorch/http/api.hpp>
#include <taskorch/http/server.hpp>

#include <boost/asio/signal_set.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <sys/resource.h>
#include <system_error>
#include <vector>

namespace {

namespace app = taskorch::app;
namespace http = taskorch::http;
using taskorch::batch_result;
using taskorch::engine;
using taskorch::error_code;
using taskorch::item_result;
using taskorch::project_id;
using taskorch::registration;

constexpr std::string_view demo_project = "054ba152d480d55b2f5dc0069e7ddef0";

/// A start-up failure: main prints its one line and exits 2.
struct refusal {
  std::string message;
};

[[noreturn]] void refuse(std::string message) { throw refusal{std::move(message)}; }

std::string random_token() {
  std::random_device entropy;
  constexpr std::string_view alphabet = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string token;
  for (int i = 0; i < 40; ++i) token += alphabet[entropy() % alphabet.size()];
  return token;
}

/// Checks --state-file before anything is loaded: an existing regular file, or a missing file in
/// an existing folder. Returns whether the file exists.
bool check_state_file(const std::string& path) {
  std::error_code ec;
  const std::filesystem::file_status status = std::filesystem::status(path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    refuse(fmt::format("--state-file {}: {}", path, ec.message()));
  }
  if (std::filesystem::exists(status)) {
    if (!std::filesystem::is_regular_file(status)) {
      refuse(fmt::format("--state-file {}: not a regular file", path));
    }
    return true;
  }
  const std::filesystem::path folder =
      std::filesystem::absolute(std::filesystem::path(path), ec).parent_path();
  if (ec || !std::filesystem::is_directory(folder, ec)) {
    refuse(fmt::format("--state-file {}: its folder does not exist", path));
  }
  return false;
}

std::vector<registration> initial_tasks(const app::command_line& o) {
  std::string_view flag;
  std::string source;
  if (!o.state_file.empty() && check_state_file(o.state_file)) {
    flag = "--state-file";
    source = o.state_file;
  } else if (!o.fleet_file.empty()) {
    flag = "--fleet";
    source = o.fleet_file;
  } else {
    return app::demo_fleet();
  }
  app::fleet_result loaded = app::load_fleet_file(source);
  if (auto* message = std::get_if<std::string>(&loaded)) {
    refuse(fmt::format("{} {}", flag, *message));
  }
  return std::get<std::vector<registration>>(std::move(loaded));
}

/// The connection cap: --max-connections, or 1024, lowered to what the file-descriptor limit
/// leaves room for (with a warning when it was given).
std::size_t connection_cap(const app::command_line& o) {
  const std::size_t room = http::server::descriptor_capacity();
  const std::size_t asked = o.max_connections_given ? o.server.max_connections : 1024;
  if (asked <= room) return asked;
  if (o.max_connections_given) {
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    fmt::print(stderr,
               "taskorch-server: --max-connections {} lowered to {}: the file-descriptor limit "
               "(ulimit -n) is {}\n",
               asked, room, static_cast<unsigned long long>(limit.rlim_cur));
  }
  return room;
}

int serve(int argc, char** argv) {
  auto parsed = app::parse_command_line(argc - 1, argv + 1);
  if (auto* message = std::get_if<std::string>(&parsed)) refuse(*message);
  app::command_line o = std::get<app::command_line>(std::move(parsed));
  if (o.help) {
    fmt::print("{}", app::usage);
    return 0;
  }
  engine eng({.threads = o.engine_threads, .max_batch_items = o.api.max_jobs});
  error_code ec;
  const batch_result loaded = eng.register_tasks(initial_tasks(o), ec);
  if (ec) refuse(fmt::format("the task list was refused: {}", ec.message()));
  for (const item_result& r : loaded) {
    if (!r.ok()) refuse(fmt::format("job {}: {}", r.id, r.error.message()));
  }

  http::token_table tokens;
  std::string demo_token;
  for (const auto& [token, project] : o.tokens) tokens.add(token, project);
  if (tokens.empty()) {
    demo_token = random_token();
    tokens.add(demo_token, *project_id::parse(demo_project));
  }

  http::api service(eng, std::move(tokens), o.api);
  o.server.max_connections = connection_cap(o);
  std::optional<http::server> srv;
  try {
    srv.emplace(service, o.server);
  } catch (const std::exception& e) {
    refuse(
        fmt::format("--listen {}:{}: cannot listen: {}", o.server.host, o.server.port, e.what()));
  }

  boost::asio::signal_set signals(srv->get_executor(), SIGINT, SIGTERM);
  signals.async_wait([&](error_code wait_ec, int) {
    if (!wait_ec) srv->shutdown();
  });

  const auto where = srv->local_endpoint();
  const std::string address = where.address().is_v6()
                                  ? fmt::format("[{}]", where.address().to_string())
                                  : where.address().to_string();
  fmt::print("listening on http://{}:{}\n", address, where.port());
  if (!demo_token.empty()) {
    fmt::print(
        "demo token (project {}); try:\n"
        "curl -s -X POST http://{}:{}/v3/{}/jobs/batch-pause-task "
        "-H 'Content-Type: application/json' -H 'X-Auth-Token: {}' "
        "-d "
        "'{{\"jobs\":[{{\"job_id\":\"8d0e8e36-a618-490d-8a46-8c61ac9jb502\",\"pause_mode\":"
        "\"target\"}}]}}'\n",
        demo_project, address, where.port(), demo_project, demo_token);
  }
  std::fflush(stdout);

  srv->run();

  if (!o.state_file.empty()) {
    const std::vector<registration> snapshot = eng.export_snapshot(ec);
    if (ec) refuse(fmt::format("cannot export the registry: {}", ec.message()));
    if (std::string error = app::save_fleet_file(o.state_file, snapshot); !error.empty()) {
      refuse(error);
    }
    fmt::print(stderr, "taskorch-server: wrote {} tasks to {}\n", snapshot.size(), o.state_file);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return serve(argc, argv);
  } catch (const refusal& r) {
    fmt::print(stderr, "taskorch-server: {}\n", r.message);
  } catch (const std::exception& e) {
    fmt::print(stderr, "taskorch-server: {}\n", e.what());
  }
  return 2;
}
