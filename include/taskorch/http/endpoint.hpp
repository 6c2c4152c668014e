#pragma once
// endpoint: the routes of the DRS HTTP API, as data. Each route has a path pattern (with at
// most one `{project_id}` segment), the methods it allows (its Allow header) and the kind of
// call it is (command, query, worker report, event stream, or open: no token). api.cpp checks
// requests against this table (a token's role may call some kinds only, role.hpp); metrics
// label requests with the route's name.
//
//   route_match m = taskorch::http::match_route("/v3/054b.../jobs/batch-status?x=1");
//   m.found->id == endpoint::batch_status; m.project == "054b...";

#include <array>
#include <cstdint>
#include <string_view>

namespace taskorch::http {

/// The routes the service knows; `other` is any unknown path.
enum class endpoint : std::uint8_t {
  batch_pause,
  batch_retry,
  batch_status,
  batch_starting,
  batch_jobs,
  batch_detail,
  batch_progress,
  list_jobs,
  batch_report,
  events,
  metrics,
  other,
};

/// The number of endpoints, `other` included.
inline constexpr std::size_t endpoint_count = 12;

/// What a route does, which decides who may call it (role.hpp).
enum class call_kind : std::uint8_t {
  command,  ///< changes tasks on an operator's order (pause, retry, start, delete)
  query,    ///< reads tasks, changes nothing
  report,   ///< a worker reports progress of its tasks
  events,   ///< the event stream
  open,     ///< no token needed (/metrics)
};

/// One route of the API.
struct route {
  endpoint id;
  std::string_view name;     ///< the metric label, e.g. "batch-pause-task"
  std::string_view pattern;  ///< the path; `{project_id}` stands for one non-empty segment
  std::string_view allow;    ///< the methods allowed, as the Allow header lists them
  call_kind kind;            ///< all but `open` need X-Auth-Token, for the path's project
};

// clang-format off
/// Every route, in the enum's order (`other` has none).
inline constexpr std::array routes{
  route{endpoint::batch_pause,    "batch-pause-task", "/v3/{project_id}/jobs/batch-pause-task", "POST",      call_kind::command},
  route{endpoint::batch_retry,    "batch-retry-task", "/v3/{project_id}/jobs/batch-retry-task", "POST",      call_kind::command},
  route{endpoint::batch_status,   "batch-status",     "/v3/{project_id}/jobs/batch-status",     "POST",      call_kind::query},
  route{endpoint::batch_starting, "batch-starting",   "/v3/{project_id}/jobs/batch-starting",   "POST",      call_kind::command},
  route{endpoint::batch_jobs,     "batch-jobs",       "/v3/{project_id}/jobs/batch-jobs",       "DELETE",    call_kind::command},
  route{endpoint::batch_detail,   "batch-detail",     "/v3/{project_id}/jobs/batch-detail",     "POST",      call_kind::query},
  route{endpoint::batch_progress, "batch-progress",   "/v3/{project_id}/jobs/batch-progress",   "POST",      call_kind::query},
  route{endpoint::list_jobs,      "jobs",             "/v3/{project_id}/jobs",                  "POST",      call_kind::query},
  route{endpoint::batch_report,   "batch-report",     "/v3/{project_id}/jobs/batch-report",     "POST",      call_kind::report},
  route{endpoint::events,         "events",           "/v3/{project_id}/events",                "GET",       call_kind::events},
  route{endpoint::metrics,        "metrics",          "/metrics",                               "GET, HEAD", call_kind::open},
};
// clang-format on

static_assert(
    [] {
      for (std::size_t i = 0; i < routes.size(); ++i) {
        if (static_cast<std::size_t>(routes[i].id) != i) return false;
      }
      return routes.size() + 1 == endpoint_count;
    }(),
    "routes lists every endpoint but `other` once, in the enum's order");

/// Returns the endpoint's name as used in metric labels ("other" for `other`).
constexpr std::string_view to_string(endpoint e) noexcept {
  const auto i = static_cast<std::size_t>(e);
  return i < routes.size() ? routes[i].name : std::string_view("other");
}

/// The route a request target addresses.
struct route_match {
  const route* found = nullptr;  ///< nullptr when no route matches
  std::string_view project;      ///< the `{project_id}` segment, unchecked ("" when none)

  endpoint id() const noexcept { return found != nullptr ? found->id : endpoint::other; }
};

/// Matches `target` (a path with an optional query, which is ignored) against the routes.
constexpr route_match match_route(std::string_view target) noexcept {
  target = target.substr(0, target.find('?'));
  constexpr std::string_view placeholder = "{project_id}";
  for (const route& r : routes) {
    const std::size_t at = r.pattern.find(placeholder);
    if (at == std::string_view::npos) {
      if (target == r.pattern) return {&r, {}};
      continue;
    }
    const std::string_view before = r.pattern.substr(0, at);
    const std::string_view after = r.pattern.substr(at + placeholder.size());
    if (target.size() <= before.size() + after.size() || !target.starts_with(before) ||
        !target.ends_with(after)) {
      continue;
    }
    const std::string_view segment =
        target.substr(before.size(), target.size() - before.size() - after.size());
    if (segment.find('/') == std::string_view::npos) return {&r, segment};
  }
  return {};
}

/// True when `method` is one of the methods `r` allows.
constexpr bool allows(const route& r, std::string_view method) noexcept {
  std::string_view list = r.allow;
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (item.starts_with(' ')) item.remove_prefix(1);
    if (item == method) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace taskorch::http
