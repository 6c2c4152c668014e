#include "command_line.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <set>

namespace taskorch::app {

const std::string_view usage = R"(usage: taskorch-server [options]
       taskorch-server --check [--data-dir DIR]

Serves the DRS v3 batch API (pause, retry, status, starting, batch-jobs, detail, progress, the
task list), workers' batch-report, the event stream (GET /v3/PROJECT_ID/events, Server-Sent
Events) and /metrics over a task registry kept in a data directory (or in memory with
--in-memory).

  --listen HOST:PORT       address to listen on (default 127.0.0.1:8080): an IPv4 address, a
                           bracketed IPv6 address ([::1]:8080) or a host name (its first IPv4
                           address, else its first IPv6 one); port 0 picks a free port. When
                           ready, prints "listening on http://HOST:PORT", then a "registry:"
                           line saying where the registry lives and whether it was recovered.
  --data-dir DIR           the data directory (default: taskorch-data in the working
                           directory; a symbolic link is followed). Created when missing. A
                           directory that holds a registry is recovered from it; an empty one
                           is initialised from --fleet or the demo fleet. One server per
                           directory: a second one on it refuses to start.
  --durability MODE        when a change counts as stored, before its request is answered:
                           always (default: after fdatasync), interval:MS (after write; an
                           fdatasync at most MS milliseconds later, 1..86400000) or none (the
                           registry is written at shutdown only; a crash loses every change
                           since the start)
  --in-memory              no data directory: the registry lives in memory and is lost at exit
                           (not with --data-dir or --durability)
  --fleet FILE             the tasks an empty data directory (or --in-memory) starts with: a
                           fleet file (JSON, a regular file of at most 256 MiB); default: the
                           built-in demo fleet (project 054ba152d480d55b2f5dc0069e7ddef0).
                           Refused when the data directory already holds a registry.
  --token TOKEN:PROJECT_ID[:ROLE]
                           bind an X-Auth-Token to a project, with a role (repeatable, each
                           token once): operator (the default: commands, queries and the
                           event stream), worker (worker reports, queries and the event
                           stream) or reader (queries and the event stream only); a call
                           outside the role is refused with 403 TASKORCH.0403. Without any
                           --token or --credential, a random operator token is made for the
                           demo project and a curl command is printed.
  --credential AK:SK:PROJECT_ID[:ROLE]
                           an access key (AK) and its secret key (SK) that requests may be
                           signed with (SDK-HMAC-SHA256, as the official Huawei Cloud SDKs
                           sign them), bound to a project with a role as for --token
                           (repeatable, each AK once; AK: letters, digits, '-', '_', '.'; SK:
                           any text without ':'). A request carries either an X-Auth-Token or
                           a signature. Secret keys are never logged.
  --signature-window SECONDS
                           how far a signed request's X-Sdk-Date may be from this server's
                           clock, either way, 1..86400 (default 900); 401 beyond
  --postgres CONNINFO      the scale-out mode (instead of --data-dir): several servers share
                           the projects of one PostgreSQL database (a libpq connection string
                           or URI), each serving the partitions it holds and answering 503
                           (Retry-After: 1) for the others; the tables are created when
                           missing; an empty database is seeded from --fleet or the demo fleet,
                           partition by partition (docs/scale-out.md)
  --node-name NAME         this server's name in the cluster, unique (default: its --advertise
                           address); 1..63 characters
  --advertise HOST:PORT    where the other servers reach this one (default: the address it
                           listens on)
  --partitions N           partitions of a database this server creates, 1..4096 (default 16;
                           an existing database keeps its own)
  --lease-ms N             how long a partition's lease lasts, 300..3600000 (default 10000);
                           a server stops serving a partition a fifth of it before it ends
  --renew-ms N             how often leases are renewed and partitions claimed, 50..600000
                           (default 2000); at most a third of --lease-ms
  --threads N              HTTP threads, 1..256 (default 1)
  --engine-threads N       engine threads, 0..1024 (default 0: one per hardware thread)
  --max-jobs N             items per batch request, 1..1000000 (default 10000)
  --max-body BYTES         request body size limit, 1..1073741824 (default 1048576)
  --max-connections N      connections served at once, 1..1000000; 503 above. Default: 1024,
                           or fewer when the file-descriptor limit (ulimit -n) leaves room for
                           fewer; a larger value is lowered to that room, with a warning.
  --read-timeout-ms N      time to receive a whole request, 1..86400000 (default 10000); a new
                           connection's first request counts from the accept
  --idle-timeout-ms N      keep-alive wait for the next request, 0..86400000 (default 30000);
                           0: no keep-alive, one request per connection
  --feed-capacity N        how many of the latest task changes the event feed keeps for event
                           streams to resume from, 0..67108864 (default 0: 65536); a stream
                           resuming from an older position is answered 410
  --max-event-streams N    event streams open at once, 1..1000000 (default 256); 503 above
  --sse-heartbeat-ms N     an event stream that sent nothing for N ms sends a keep-alive
                           comment, 1..86400000 (default 15000)
  --sse-write-timeout-ms N the most one write to an event stream may take, 1..86400000
                           (default 10000); a client that does not take its events that fast
                           is cut off (disconnected)
  --check                  verify the data directory offline (read only; safe while a server
                           uses it), print what was found and exit: 0 when sound, 1 when
                           damaged (the report names the file and offset). Serves nothing.
  --help                   print this help

SIGINT or SIGTERM: stop accepting, end event streams, let requests in flight finish, write a
last checkpoint of the registry, exit 0. Every flag but --token and --credential may be given
once. A bad flag or value, or a data directory that cannot be used, stops the start with one
line on stderr and exit code 2.
)";

namespace {

/// The longest part of a value shown in a message.
std::string shown(std::string_view value) {
  constexpr std::size_t most = 120;
  if (value.size() <= most) return fmt::format("\"{}\"", value);
  return fmt::format("\"{}...\" ({} characters)", value.substr(0, most), value.size());
}

/// A whole number from `min` to `max`, or the refusal.
std::variant<std::size_t, std::string> whole_number(std::string_view flag, std::string_view text,
                                                    std::size_t min, std::size_t max) {
  std::size_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return fmt::format("{} needs a whole number from {} to {}, got {}", flag, min, max,
                       shown(text));
  }
  return value;
}

/// HOST:PORT, with an IPv6 address in brackets.
std::optional<std::string> parse_listen(std::string_view value, http::server_options& server) {
  const auto refuse = [&] {
    return fmt::format(
        "--listen needs HOST:PORT (an IPv6 address in brackets, as in [::1]:8080), got {}",
        shown(value));
  };
  std::string_view host;
  std::string_view port;
  if (value.starts_with('[')) {
    const std::size_t close = value.find(']');
    if (close == std::string_view::npos || close == 1 || value.substr(close + 1, 1) != ":") {
      return refuse();
    }
    host = value.substr(1, close - 1);
    port = value.substr(close + 2);
  } else {
    const std::size_t colon = value.find(':');
    if (colon == std::string_view::npos || value.find(':', colon + 1) != std::string_view::npos) {
      return refuse();
    }
    host = value.substr(0, colon);
    port = value.substr(colon + 1);
  }
  if (host.empty() || port.empty()) return refuse();
  const auto number = whole_number("--listen", port, 0, 65535);
  if (std::holds_alternative<std::string>(number)) {
    return fmt::format("--listen: the port must be a whole number from 0 to 65535, got {}",
                       shown(port));
  }
  server.host = std::string(host);
  server.port = static_cast<unsigned short>(std::get<std::size_t>(number));
  return std::nullopt;
}

/// TOKEN:PROJECT_ID[:ROLE]. The token may hold colons: the last field is the project, or the
/// role when the one before it is a project.
std::optional<std::string> parse_token(std::string_view value, command_line& o) {
  const std::string needs("--token needs TOKEN:PROJECT_ID[:ROLE]");
  std::size_t colon = value.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return needs;
  std::optional<project_id> project = project_id::parse(value.substr(colon + 1));
  http::role role = http::default_role;
  if (!project) {
    const std::size_t before = value.rfind(':', colon - 1);
    if (before != std::string_view::npos) {
      project = project_id::parse(value.substr(before + 1, colon - before - 1));
    }
    if (project) {
      if (before == 0) return needs;
      const std::string_view role_name = value.substr(colon + 1);
      const std::optional<http::role> named = http::parse_role(role_name);
      if (!named) {
        return fmt::format(
            "--token: ROLE must be operator, worker or reader (TOKEN:PROJECT_ID[:ROLE]), got {}",
            shown(role_name));
      }
      role = *named;
      colon = before;
    }
  }
  if (!project) {
    return std::string(
        "--token: PROJECT_ID must be 32 lowercase hexadecimal characters "
        "(TOKEN:PROJECT_ID[:ROLE])");
  }
  const std::string token(value.substr(0, colon));
  for (const auto& bound : o.tokens) {
    // The token itself is never shown.
    if (bound.first == token) return std::string("--token: the same token is given twice");
  }
  o.tokens.emplace_back(token, http::token_grant{*project, role});
  return std::nullopt;
}

/// AK:SK:PROJECT_ID[:ROLE]. The secret key is never shown in a refusal.
std::optional<std::string> parse_credential(std::string_view value, command_line& o) {
  const std::string needs("--credential needs AK:SK:PROJECT_ID[:ROLE]");
  std::vector<std::string_view> fields;
  for (std::size_t from = 0;;) {
    const std::size_t colon = value.find(':', from);
    fields.push_back(value.substr(from, colon - from));
    if (colon == std::string_view::npos) break;
    from = colon + 1;
  }
  if (fields.size() < 3 || fields.size() > 4 || fields[0].empty() || fields[1].empty()) {
    return needs;
  }
  const std::string_view access_key = fields[0];
  const bool plain = std::all_of(access_key.begin(), access_key.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
  if (!plain || access_key.size() > 128) {
    return std::string(
        "--credential: AK must be 1 to 128 letters, digits, '-', '_' or '.' "
        "(AK:SK:PROJECT_ID[:ROLE])");
  }
  const std::optional<project_id> project = project_id::parse(fields[2]);
  if (!project) {
    return std::string(
        "--credential: PROJECT_ID must be 32 lowercase hexadecimal characters "
        "(AK:SK:PROJECT_ID[:ROLE])");
  }
  http::role role = http::default_role;
  if (fields.size() == 4) {
    const std::optional<http::role> named = http::parse_role(fields[3]);
    if (!named) {
      return fmt::format(
          "--credential: ROLE must be operator, worker or reader (AK:SK:PROJECT_ID[:ROLE]), got {}",
          shown(fields[3]));
    }
    role = *named;
  }
  for (const http::access_key& known : o.credentials) {
    if (known.id == access_key) {
      return fmt::format("--credential: the access key {} is given twice", access_key);
    }
  }
  o.credentials.push_back(
      http::access_key{std::string(access_key), std::string(fields[1]), {*project, role}});
  return std::nullopt;
}

/// always, interval:MS or none.
std::optional<std::string> parse_durability(std::string_view value, command_line& o) {
  o.durability_given = true;
  for (durability mode : {durability::always, durability::none}) {
    if (value == to_string(mode)) {
      o.mode = mode;
      return std::nullopt;
    }
  }
  const std::string interval = fmt::format("{}:", to_string(durability::interval));
  if (value.starts_with(interval)) {
    const auto ms = whole_number("--durability", value.substr(interval.size()), 1, 86'400'000);
    if (std::holds_alternative<std::size_t>(ms)) {
      o.mode = durability::interval;
      o.sync_interval =
          std::chrono::milliseconds(static_cast<std::int64_t>(std::get<std::size_t>(ms)));
      return std::nullopt;
    }
  }
  return fmt::format(
      "--durability needs always, interval:MS (MS a whole number of milliseconds from 1 to "
      "86400000) or none, got {}",
      shown(value));
}

std::chrono::milliseconds milliseconds(std::size_t n) {
  return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(n));
}

/// A flag that takes a whole number: its range, and what it sets.
struct number_flag {
  std::string_view name;
  std::size_t min;
  std::size_t max;
  void (*apply)(command_line&, std::size_t);
};

constexpr std::size_t day_ms = 86'400'000;

// clang-format off
/// Every flag that takes a whole number.
constexpr std::array number_flags{
  number_flag{"--threads", 1, 256, [](command_line& o, std::size_t n) { o.server.threads = n; }},
  number_flag{"--engine-threads", 0, 1024, [](command_line& o, std::size_t n) { o.engine_threads = n; }},
  number_flag{"--max-jobs", 1, 1'000'000, [](command_line& o, std::size_t n) { o.api.max_jobs = n; }},
  number_flag{"--max-body", 1, std::size_t{1} << 30, [](command_line& o, std::size_t n) { o.api.max_body = n; }},
  number_flag{"--max-connections", 1, 1'000'000, [](command_line& o, std::size_t n) {
    o.server.max_connections = n;
    o.max_connections_given = true;
  }},
  number_flag{"--read-timeout-ms", 1, day_ms, [](command_line& o, std::size_t n) { o.server.read_timeout = milliseconds(n); }},
  number_flag{"--idle-timeout-ms", 0, day_ms, [](command_line& o, std::size_t n) { o.server.idle_timeout = milliseconds(n); }},
  number_flag{"--feed-capacity", 0, std::size_t{1} << 26, [](command_line& o, std::size_t n) { o.feed_capacity = n; }},
  number_flag{"--max-event-streams", 1, 1'000'000, [](command_line& o, std::size_t n) { o.server.max_event_streams = n; }},
  number_flag{"--sse-heartbeat-ms", 1, day_ms, [](command_line& o, std::size_t n) { o.server.event_heartbeat = milliseconds(n); }},
  number_flag{"--signature-window", 1, 86'400, [](command_line& o, std::size_t n) { o.api.signature_window = std::chrono::seconds(static_cast<std::int64_t>(n)); }},
  number_flag{"--sse-write-timeout-ms", 1, day_ms, [](command_line& o, std::size_t n) { o.server.event_write_timeout = milliseconds(n); }},
  number_flag{"--partitions", 1, 4096, [](command_line& o, std::size_t n) { o.partitions = static_cast<std::uint32_t>(n); }},
  number_flag{"--lease-ms", 300, 3'600'000, [](command_line& o, std::size_t n) { o.lease = milliseconds(n); }},
  number_flag{"--renew-ms", 50, 600'000, [](command_line& o, std::size_t n) { o.renew = milliseconds(n); }},
};
// clang-format on

/// Applies one flag that takes a number, and its value; returns the refusal, if any.
std::optional<std::string> apply_number(std::string_view flag, std::string_view value,
                                        command_line& o) {
  for (const number_flag& f : number_flags) {
    if (f.name != flag) continue;
    auto parsed = whole_number(flag, value, f.min, f.max);
    if (auto* message = std::get_if<std::string>(&parsed)) return *message;
    f.apply(o, std::get<std::size_t>(parsed));
    break;
  }
  return std::nullopt;
}

/// Applies one flag and its value; returns the refusal, if any.
std::optional<std::string> apply(std::string_view flag, std::string_view value, command_line& o) {
  if (flag == "--listen") return parse_listen(value, o.server);
  if (flag == "--token") return parse_token(value, o);
  if (flag == "--credential") return parse_credential(value, o);
  if (flag == "--durability") return parse_durability(value, o);
  if (flag == "--fleet") {
    o.fleet_file = value;
  } else if (flag == "--postgres") {
    o.postgres = value;
  } else if (flag == "--node-name") {
    if (value.size() > 63)
      return fmt::format("--node-name takes 1 to 63 characters, got {}", shown(value));
    o.node_name = value;
  } else if (flag == "--advertise") {
    http::server_options where;
    if (parse_listen(value, where)) {
      return fmt::format("--advertise needs HOST:PORT (an IPv6 address in brackets), got {}",
                         shown(value));
    }
    if (where.port == 0)
      return fmt::format("--advertise needs a port other than 0, got {}", shown(value));
    o.advertise = value;
  } else if (flag == "--data-dir") {
    o.data_dir = value;
    o.data_dir_given = true;
  } else {
    return apply_number(flag, value, o);
  }
  return std::nullopt;
}

constexpr std::array<std::string_view, 27> flags{"--listen",
                                                 "--postgres",
                                                 "--node-name",
                                                 "--advertise",
                                                 "--partitions",
                                                 "--lease-ms",
                                                 "--renew-ms",
                                                 "--fleet",
                                                 "--data-dir",
                                                 "--durability",
                                                 "--in-memory",
                                                 "--check",
                                                 "--token",
                                                 "--credential",
                                                 "--signature-window",
                                                 "--threads",
                                                 "--engine-threads",
                                                 "--max-jobs",
                                                 "--max-body",
                                                 "--max-connections",
                                                 "--read-timeout-ms",
                                                 "--idle-timeout-ms",
                                                 "--feed-capacity",
                                                 "--max-event-streams",
                                                 "--sse-heartbeat-ms",
                                                 "--sse-write-timeout-ms",
                                                 "--help"};

/// The scale-out flags' combinations refused: --postgres with a data directory's flags, its
/// own flags without it, a renewal too slow for the lease.
std::optional<std::string> check_cluster_combination(const command_line& o,
                                                     const std::set<std::string_view>& given) {
  if (!o.postgres.empty()) {
    for (std::string_view other : {"--data-dir", "--in-memory", "--durability"}) {
      if (given.contains(other)) return fmt::format("--postgres and {} exclude each other", other);
    }
    if (o.renew * 3 > o.lease) {
      return fmt::format("--renew-ms {} must be at most a third of --lease-ms {}", o.renew.count(),
                         o.lease.count());
    }
  } else {
    for (std::string_view needs :
         {"--node-name", "--advertise", "--partitions", "--lease-ms", "--renew-ms"}) {
      if (given.contains(needs)) return fmt::format("{} needs --postgres", needs);
    }
  }
  return std::nullopt;
}

/// The combinations refused: --in-memory without a data directory's flags, --check with
/// --data-dir only, and those of check_cluster_combination().
std::optional<std::string> check_combination(const command_line& o,
                                             const std::set<std::string_view>& given) {
  if (o.check) {
    for (std::string_view flag : given) {
      if (flag != "--check" && flag != "--data-dir") {
        return fmt::format("--check takes --data-dir only, not {}", flag);
      }
    }
    return std::nullopt;
  }
  if (o.in_memory) {
    if (o.data_dir_given) return std::string("--in-memory and --data-dir exclude each other");
    if (o.durability_given) return std::string("--in-memory and --durability exclude each other");
  }
  return check_cluster_combination(o, given);
  return std::nullopt;
}

}  // namespace

std::variant<command_line, std::string> parse_command_line(int argc, const char* const* argv) {
  command_line o;
  std::set<std::string_view> given;
  for (int i = 0; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      o.help = true;
      continue;
    }
    if (std::find(flags.begin(), flags.end(), flag) == flags.end()) {
      return fmt::format("unknown option {} (see --help)", shown(flag));
    }
    if (flag != "--token" && flag != "--credential" && !given.insert(flag).second) {
      return fmt::format("{} is given twice", flag);
    }
    if (flag == "--in-memory" || flag == "--check") {
      (flag == "--check" ? o.check : o.in_memory) = true;
      continue;
    }
    if (i + 1 >= argc || std::string_view(argv[i + 1]).empty()) {
      return fmt::format("{} needs a value", flag);
    }
    if (auto refused = apply(flag, argv[++i], o)) return *refused;
  }
  if (o.help) return o;
  if (auto refused = check_combination(o, given)) return *refused;
  return o;
}

}  // namespace taskorch::app
