// taskorch-server: the DRS batch API over an in-memory engine.
#include <taskorch/engine.hpp>
#include <taskorch/http/api.hpp>
#include <taskorch/http/fleet_file.hpp>
#include <taskorch/http/server.hpp>

#include <boost/asio/signal_set.hpp>
#include <fmt/core.h>

#include <charconv>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace taskorch;

constexpr std::string_view usage = R"(usage: taskorch-server [options]

Serves the DRS batch API (batch-pause-task, batch-retry-task, batch-status, /metrics) over an
in-memory task registry.

  --listen HOST:PORT       address to listen on (default 127.0.0.1:8080; port 0 picks a free
                           port). When ready, prints "listening on http://HOST:PORT".
  --fleet FILE             load tasks from a fleet file (JSON); default: the built-in demo
                           fleet (project 054ba152d480d55b2f5dc0069e7ddef0).
  --state-file FILE        load the registry from FILE when it exists (it wins over --fleet);
                           on SIGINT/SIGTERM write the registry there atomically, then exit 0.
  --token TOKEN:PROJECT_ID bind an X-Auth-Token to a project (repeatable). Without any, a random
                           token is made for the demo project and a curl command is printed.
  --threads N              HTTP threads (default 1)
  --engine-threads N       engine threads (default: hardware concurrency)
  --max-jobs N             items per batch request (default 10000)
  --max-body BYTES         request body size limit (default 1048576)
  --max-connections N      concurrent connections (default 1024; 503 above)
  --read-timeout-ms N      time to receive a whole request (default 10000)
  --idle-timeout-ms N      keep-alive wait for the next request (default 30000)
  --help                   print this help
)";

struct options {
  std::string host = "127.0.0.1";
  unsigned short port = 8080;
  std::string fleet_file;
  std::string state_file;
  std::vector<std::pair<std::string, project_id>> tokens;
  std::size_t threads = 1;
  std::size_t engine_threads = 0;
  http::api_limits limits;
  http::server_options server;
};

[[noreturn]] void die(std::string_view message) {
  fmt::print(stderr, "taskorch-server: {}\n", message);
  std::exit(2);
}

std::size_t number(std::string_view flag, std::string_view text) {
  std::size_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    die(fmt::format("{} needs a number, got \"{}\"", flag, text));
  }
  return value;
}

options parse_options(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      fmt::print("{}", usage);
      std::exit(0);
    }
    if (i + 1 >= argc) die(fmt::format("unknown option or missing value: {}", flag));
    const std::string_view value = argv[++i];
    if (flag == "--listen") {
      const std::size_t colon = value.rfind(':');
      if (colon == std::string_view::npos) die("--listen needs HOST:PORT");
      o.host = std::string(value.substr(0, colon));
      const std::size_t port = number(flag, value.substr(colon + 1));
      if (port > 65535) die("--listen: port out of range");
      o.port = static_cast<unsigned short>(port);
    } else if (flag == "--fleet") {
      o.fleet_file = value;
    } else if (flag == "--state-file") {
      o.state_file = value;
    } else if (flag == "--token") {
      const std::size_t colon = value.rfind(':');
      if (colon == std::string_view::npos || colon == 0) die("--token needs TOKEN:PROJECT_ID");
      auto project = project_id::parse(value.substr(colon + 1));
      if (!project) die("--token: PROJECT_ID must be 32 lowercase hexadecimal characters");
      o.tokens.emplace_back(std::string(value.substr(0, colon)), *project);
    } else if (flag == "--threads") {
      o.threads = std::max<std::size_t>(1, number(flag, value));
    } else if (flag == "--engine-threads") {
      o.engine_threads = number(flag, value);
    } else if (flag == "--max-jobs") {
      o.limits.max_jobs = std::max<std::size_t>(1, number(flag, value));
    } else if (flag == "--max-body") {
      o.limits.max_body = std::max<std::size_t>(1, number(flag, value));
    } else if (flag == "--max-connections") {
      o.server.max_connections = std::max<std::size_t>(1, number(flag, value));
    } else if (flag == "--read-timeout-ms") {
      o.server.read_timeout = std::chrono::milliseconds(number(flag, value));
    } else if (flag == "--idle-timeout-ms") {
      o.server.idle_timeout = std::chrono::milliseconds(number(flag, value));
    } else {
      die(fmt::format("unknown option: {}", flag));
    }
  }
  o.server.host = o.host;
  o.server.port = o.port;
  o.server.threads = o.threads;
  return o;
}

std::string random_token() {
  std::random_device entropy;
  constexpr std::string_view alphabet = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string token;
  for (int i = 0; i < 40; ++i) token += alphabet[entropy() % alphabet.size()];
  return token;
}

std::vector<registration> initial_tasks(const options& o) {
  std::string source;
  if (!o.state_file.empty() && std::filesystem::exists(o.state_file)) {
    source = o.state_file;
  } else if (!o.fleet_file.empty()) {
    source = o.fleet_file;
  } else {
    return http::demo_fleet();
  }
  http::fleet_result loaded = http::load_fleet_file(source);
  if (auto* message = std::get_if<std::string>(&loaded)) die(*message);
  return std::get<std::vector<registration>>(std::move(loaded));
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse_options(argc, argv);
  engine eng({.threads = o.engine_threads,
              .max_batch_items = std::max<std::size_t>(o.limits.max_jobs, 1)});

  error_code ec;
  const batch_result loaded = eng.register_tasks(initial_tasks(o), ec);
  if (ec) die(fmt::format("the task list was refused: {}", ec.message()));
  for (const item_result& r : loaded) {
    if (!r.ok()) die(fmt::format("job {}: {}", r.id, r.error.message()));
  }

  http::token_table tokens;
  std::string demo_token;
  for (const auto& [token, project] : o.tokens) tokens.add(token, project);
  if (tokens.empty()) {
    demo_token = random_token();
    tokens.add(demo_token, *project_id::parse("054ba152d480d55b2f5dc0069e7ddef0"));
  }

  http::api service(eng, std::move(tokens), o.limits);
  std::optional<http::server> srv;
  try {
    srv.emplace(service, o.server);
  } catch (const std::exception& e) {
    die(fmt::format("cannot listen on {}:{}: {}", o.host, o.port, e.what()));
  }

  boost::asio::signal_set signals(srv->get_executor(), SIGINT, SIGTERM);
  signals.async_wait([&](error_code wait_ec, int) {
    if (!wait_ec) srv->shutdown();
  });

  const auto where = srv->local_endpoint();
  fmt::print("listening on http://{}:{}\n", where.address().to_string(), where.port());
  if (!demo_token.empty()) {
    fmt::print(
        "demo token (project 054ba152d480d55b2f5dc0069e7ddef0); try:\n"
        "curl -s -X POST http://{}:{}/v3/054ba152d480d55b2f5dc0069e7ddef0/jobs/batch-pause-task "
        "-H 'Content-Type: application/json' -H 'X-Auth-Token: {}' "
        "-d "
        "'{{\"jobs\":[{{\"job_id\":\"8d0e8e36-a618-490d-8a46-8c61ac9jb502\",\"pause_mode\":"
        "\"target\"}}]}}'\n",
        where.address().to_string(), where.port(), demo_token);
  }
  std::fflush(stdout);

  srv->run();

  if (!o.state_file.empty()) {
    const std::vector<registration> snapshot = eng.export_snapshot(ec);
    if (ec) die(fmt::format("cannot export the registry: {}", ec.message()));
    if (std::string error = http::save_fleet_file(o.state_file, snapshot); !error.empty()) {
      die(error);
    }
    fmt::print(stderr, "taskorch-server: wrote {} tasks to {}\n", snapshot.size(), o.state_file);
  }
  return 0;
}
