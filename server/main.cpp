// taskorch-server: the DRS batch API over an engine whose registry lives in a data directory
// (or in memory), or over the engines of the partitions this server holds in a PostgreSQL
// database shared with other servers (--postgres: cluster_mode.hpp). See command_line.cpp for
// the flags (or run it with --help).
#include "cluster_mode.hpp"
#include "command_line.hpp"
#include "demo_fleet.hpp"
#include "fleet_file.hpp"
#include <taskorch/data_directory.hpp>
#include <taskorch/engine.hpp>
#include <taskorch/http/api.hpp>
#include <taskorch/http/server.hpp>

#include <boost/asio/signal_set.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/resource.h>
#include <system_error>
#include <vector>

namespace {

namespace app = taskorch::app;
namespace http = taskorch::http;
using taskorch::batch_result;
using taskorch::durability;
using taskorch::engine;
using taskorch::error_code;
using taskorch::item_result;
using taskorch::project_id;
using taskorch::registration;
using taskorch::storage_stats;
using taskorch::wall_now;
using taskorch::wall_time;

constexpr std::string_view demo_project = "054ba152d480d55b2f5dc0069e7ddef0";

/// Writes one line on stderr. Never throws: a failing stderr (a file past a file-size limit,
/// say) must not turn a report into a crash.
void say(const std::string& line) noexcept {
  (void)std::fputs(line.c_str(), stderr);
  (void)std::fputc('\n', stderr);
  (void)std::fflush(stderr);
}

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

/// The tasks a new registry starts with: --fleet, or the demo fleet.
std::vector<registration> initial_tasks(const app::command_line& o) {
  if (o.fleet_file.empty()) return app::demo_fleet();
  app::fleet_result loaded = app::load_fleet_file(o.fleet_file);
  if (auto* message = std::get_if<std::string>(&loaded)) {
    refuse(fmt::format("--fleet {}", *message));
  }
  return std::get<std::vector<registration>>(std::move(loaded));
}

/// The mode as --durability takes it.
std::string durability_name(const app::command_line& o) {
  if (o.mode == durability::interval) {
    return fmt::format("{}:{}", to_string(o.mode), o.sync_interval.count());
  }
  return std::string(to_string(o.mode));
}

/// The engine's message without its "taskorch: " prefix (main adds "taskorch-server: ").
std::string engine_message(std::string_view what) {
  constexpr std::string_view prefix = "taskorch: ";
  if (what.starts_with(prefix)) what.remove_prefix(prefix.size());
  return std::string(what);
}

/// --check: reads every file of the data directory, changes nothing. 0: sound, 1: damaged;
/// a path that is not a folder is refused (2) like a bad flag.
int check(const app::command_line& o) {
  std::error_code ec;
  const auto status = std::filesystem::status(o.data_dir, ec);
  if (!std::filesystem::is_directory(status)) {
    refuse(fmt::format("--check: data directory {}: {}", o.data_dir,
                       std::filesystem::exists(status) ? "not a folder"
                       : ec                            ? ec.message()
                                                       : "does not exist"));
  }
  const taskorch::directory_check c = taskorch::check_data_directory(o.data_dir);
  for (const std::string& line : c.report) fmt::print("{}\n", line);
  fmt::print("{}: {}\n", o.data_dir, c.sound ? "sound" : "damaged");
  return c.sound ? 0 : 1;
}

/// The engine and what main says and needs about its registry.
struct registry {
  std::unique_ptr<engine> eng;
  std::string line;  ///< "registry: ...", printed after "listening on"
  /// Journal records the last checkpoint covers (those of the initialisation): when no more
  /// were written, stop() needs no last checkpoint.
  std::uint64_t checkpointed_records = 0;
};

/// The engine over the data directory (recovered, or initialised from --fleet or the demo
/// fleet) or in memory.
registry open_registry(const app::command_line& o) {
  taskorch::engine_options options{.threads = o.engine_threads,
                                   .max_batch_items = o.api.max_jobs,
                                   .feed_capacity = o.feed_capacity};
  std::vector<registration> tasks;
  if (o.in_memory) {
    tasks = initial_tasks(o);
  } else {
    // Refused before the directory is touched: a registry there is never mixed with a fleet.
    const bool holds = taskorch::holds_registry(o.data_dir);
    if (holds && !o.fleet_file.empty()) {
      refuse(
          fmt::format("--fleet {}: the data directory {} already holds a registry, which is "
                      "recovered at start; leave out --fleet (or use an empty --data-dir)",
                      o.fleet_file, o.data_dir));
    }
    if (!holds) tasks = initial_tasks(o);
    options.storage.directory = o.data_dir;
    options.storage.mode = o.mode;
    options.storage.sync_interval = o.sync_interval;
  }
  registry r;
  std::unique_ptr<engine>& eng = r.eng;
  try {
    eng = std::make_unique<engine>(std::move(options));
  } catch (const std::runtime_error& e) {
    refuse(engine_message(e.what()));
  }
  const storage_stats stats = eng->storage();
  if (stats.recovered) {
    if (!o.fleet_file.empty()) {  // the registry appeared after holds_registry() looked
      refuse(fmt::format("--fleet {}: the data directory {} already holds a registry", o.fleet_file,
                         o.data_dir));
    }
    const std::size_t count = eng->count().total();
    // What recovery repaired (a torn final record cut, with its file and offset) is logged.
    for (const std::string& note : stats.recovery_notes) {
      fmt::print(stderr, "taskorch-server: recovery: {}\n", note);
    }
    r.line = fmt::format(
        "registry: {} (durability {}), recovered {} tasks ({} journal records) in {:.1f} ms",
        o.data_dir, durability_name(o), count, stats.recovered_records,
        std::chrono::duration<double, std::milli>(stats.recovery_duration).count());
    return r;
  }
  // The fleet's tasks are created now, as far as anyone asking this server can tell.
  const wall_time created = wall_now();
  for (registration& task : tasks) {
    std::visit([created](auto& spec) { spec.created_at = created; }, task);
  }
  error_code ec;
  const batch_result loaded = eng->register_tasks(std::move(tasks), ec);
  if (ec) refuse(fmt::format("the task list was refused: {}", ec.message()));
  for (const item_result& item : loaded) {
    if (!item.ok()) refuse(fmt::format("job {}: {}", item.id, item.error.message()));
  }
  const std::string source = o.fleet_file.empty() ? std::string("the demo fleet") : o.fleet_file;
  if (o.in_memory) {
    r.line = fmt::format("registry: in memory, {} tasks from {}", eng->count().total(), source);
    return r;
  }
  // The start is recorded as a checkpoint: the next start reads it, not the registrations.
  if (const error_code cec = eng->checkpoint()) {
    refuse(fmt::format("data directory {}: the first checkpoint could not be written: {}",
                       o.data_dir, cec.message()));
  }
  r.checkpointed_records = eng->storage().records;
  r.line = fmt::format("registry: initialised {} from {} (durability {}), {} tasks", o.data_dir,
                       source, durability_name(o), eng->count().total());
  return r;
}

/// The last checkpoint (when anything changed since the last one), then the engine's stop.
/// Returns the exit code: 1 only when changes are lost (durability none and no checkpoint);
/// otherwise a failed checkpoint is reported and the journal keeps every acknowledged change
/// for the next start.
int stop_registry(const app::command_line& o, registry& r) {
  engine& eng = *r.eng;
  int rc = 0;
  const storage_stats stats = eng.storage();
  const bool unchanged = o.mode != durability::none && stats.recovered_records == 0 &&
                         stats.records == r.checkpointed_records;
  if (!o.in_memory && !unchanged) {
    if (const error_code ec = eng.checkpoint()) {
      if (o.mode == durability::none) {
        say(
            fmt::format("taskorch-server: the last checkpoint of {} could not be written: {}; "
                        "with --durability none the changes since the start are lost",
                        o.data_dir, ec.message()));
        rc = 1;
      } else {
        say(
            fmt::format("taskorch-server: the last checkpoint of {} could not be written: {}; "
                        "every acknowledged change is in the journal and is recovered at the "
                        "next start",
                        o.data_dir, ec.message()));
      }
    }
  }
  eng.stop();
  return rc;
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

/// The callers of --token and --credential; without any, a random operator token for the
/// demo project, returned in `demo_token`.
http::api_callers make_callers(app::command_line& o, std::string& demo_token) {
  http::api_callers callers;
  for (const auto& [token, grant] : o.tokens) callers.tokens.add(token, grant.project, grant.role);
  for (http::access_key& key : o.credentials) {
    callers.access_keys.add(std::move(key.id), std::move(key.secret_key), key.grant.project,
                            key.grant.role);
  }
  if (callers.tokens.empty() && callers.access_keys.empty()) {
    demo_token = random_token();
    callers.tokens.add(demo_token, *project_id::parse(demo_project));
  }
  return callers;
}

/// The server listening for `service`, stopped by SIGINT and SIGTERM.
struct listening {
  std::optional<http::server> srv;
  std::optional<boost::asio::signal_set> signals;
  std::string host_port;  ///< where it listens, as HOST:PORT
};

void listen(listening& l, http::request_handler& service, app::command_line& o) {
  o.server.max_connections = connection_cap(o);
  try {
    l.srv.emplace(service, o.server);
  } catch (const std::exception& e) {
    refuse(
        fmt::format("--listen {}:{}: cannot listen: {}", o.server.host, o.server.port, e.what()));
  }
  l.signals.emplace(l.srv->get_executor(), SIGINT, SIGTERM);
  l.signals->async_wait([&l](error_code wait_ec, int) {
    if (!wait_ec) l.srv->shutdown();
  });
  const auto where = l.srv->local_endpoint();
  const std::string address = where.address().is_v6()
                                  ? fmt::format("[{}]", where.address().to_string())
                                  : where.address().to_string();
  l.host_port = fmt::format("{}:{}", address, where.port());
}

/// The lines a ready server prints: where it listens, its registry, the demo token's curl.
void print_ready(const listening& l, const std::string& registry_line,
                 const std::string& demo_token) {
  fmt::print("listening on http://{}\n", l.host_port);
  fmt::print("{}\n", registry_line);
  if (!demo_token.empty()) {
    fmt::print(
        "demo token (project {}); try:\n"
        "curl -s -X POST http://{}/v3/{}/jobs/batch-pause-task "
        "-H 'Content-Type: application/json' -H 'X-Auth-Token: {}' "
        "-d "
        "'{{\"jobs\":[{{\"job_id\":\"8d0e8e36-a618-490d-8a46-8c61ac9jb502\",\"pause_mode\":"
        "\"target\"}}]}}'\n",
        demo_project, l.host_port, demo_project, demo_token);
  }
  std::fflush(stdout);
}

/// --postgres: this server's node serves its share of the database's partitions.
int serve_cluster(app::command_line& o) {
  std::string demo_token;
  http::api_callers callers = make_callers(o, demo_token);
  std::vector<registration> tasks = initial_tasks(o);
  const wall_time created = wall_now();
  for (registration& task : tasks) {
    std::visit([created](auto& spec) { spec.created_at = created; }, task);
  }
  app::cluster_mode cluster(o);
  http::api service(cluster, std::move(callers), o.api);
  listening l;
  listen(l, service, o);
  std::string line;
  try {
    line = cluster.start(o.advertise.empty() ? l.host_port : o.advertise, std::move(tasks),
                         !o.fleet_file.empty());
  } catch (const std::exception& e) {
    refuse(fmt::format("--postgres: {}", e.what()));
  }
  print_ready(l, line, demo_token);
  l.srv->run();
  cluster.stop();
  return 0;
}

int serve(int argc, char** argv) {
  auto parsed = app::parse_command_line(argc - 1, argv + 1);
  if (auto* message = std::get_if<std::string>(&parsed)) refuse(*message);
  app::command_line o = std::get<app::command_line>(std::move(parsed));
  if (o.help) {
    fmt::print("{}", app::usage);
    return 0;
  }
  if (o.check) return check(o);
  if (!o.postgres.empty()) return serve_cluster(o);
  registry opened = open_registry(o);
  std::string demo_token;
  http::api service(*opened.eng, make_callers(o, demo_token), o.api);
  listening l;
  listen(l, service, o);
  print_ready(l, opened.line, demo_token);
  l.srv->run();
  return stop_registry(o, opened);
}

}  // namespace

int main(int argc, char** argv) {
  // A write past a file-size limit (ulimit -f) fails with EFBIG, which the journal reports,
  // instead of killing the process.
  std::signal(SIGXFSZ, SIG_IGN);
  try {
    return serve(argc, argv);
  } catch (const refusal& r) {
    say("taskorch-server: " + r.message);
  } catch (const std::exception& e) {
    say(std::string("taskorch-server: ") + e.what());
  }
  return 2;
}
