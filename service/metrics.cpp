#include <taskorch/http/error_table.hpp>
#include <taskorch/http/metrics.hpp>
#include <taskorch/task_state.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

namespace taskorch::http {

void metrics::count_connection(int delta) noexcept {
  connections_.fetch_add(delta, std::memory_order_relaxed);
}

void metrics::count_refused_connection() noexcept {
  refused_.fetch_add(1, std::memory_order_relaxed);
}

void metrics::count_accept_failure(accept_failure why) noexcept {
  accept_failures_[static_cast<std::size_t>(why)].fetch_add(1, std::memory_order_relaxed);
}

void metrics::count_request(endpoint e, unsigned status, double seconds) noexcept {
  const auto code =
      static_cast<std::size_t>(std::find(codes.begin(), codes.end(), status) - codes.begin());
  requests_[static_cast<std::size_t>(e)][code].fetch_add(1, std::memory_order_relaxed);
  const auto bucket = static_cast<std::size_t>(
      std::lower_bound(bounds.begin(), bounds.end(), seconds) - bounds.begin());
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  latency_micros_.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

void metrics::count_items(endpoint e, const batch_result& results) noexcept {
  auto& row = items_[static_cast<std::size_t>(e)];
  for (const item_result& r : results) {
    const std::string_view outcome = r.ok() ? std::string_view("success") : drs_error_code(r.error);
    const auto k = static_cast<std::size_t>(
        std::find(outcomes.begin(), outcomes.end() - 1, outcome) - outcomes.begin());
    row[k].fetch_add(1, std::memory_order_relaxed);
  }
}

std::string metrics::render(const state_counts& tasks) const {
  std::string out;
  auto put = [&out]<class... A>(fmt::format_string<A...> format, A&&... args) {
    fmt::format_to(std::back_inserter(out), format, std::forward<A>(args)...);
  };

  put("# HELP taskorch_http_requests_total HTTP requests answered, by endpoint and status code.\n");
  put("# TYPE taskorch_http_requests_total counter\n");
  for (std::size_t e = 0; e < endpoint_count; ++e) {
    for (std::size_t c = 0; c <= codes.size(); ++c) {
      const std::uint64_t n = requests_[e][c].load(std::memory_order_relaxed);
      if (n == 0) continue;
      const std::string code = c < codes.size() ? fmt::format("{}", codes[c]) : "other";
      put("taskorch_http_requests_total{{endpoint=\"{}\",code=\"{}\"}} {}\n",
          to_string(static_cast<endpoint>(e)), code, n);
    }
  }

  put("# HELP taskorch_batch_items_total Batch items processed, by endpoint and outcome.\n");
  put("# TYPE taskorch_batch_items_total counter\n");
  for (std::size_t e = 0; e < endpoint_count; ++e) {
    for (std::size_t o = 0; o < outcomes.size(); ++o) {
      const std::uint64_t n = items_[e][o].load(std::memory_order_relaxed);
      if (n == 0) continue;
      put("taskorch_batch_items_total{{endpoint=\"{}\",outcome=\"{}\"}} {}\n",
          to_string(static_cast<endpoint>(e)), outcomes[o], n);
    }
  }

  put("# HELP taskorch_http_connections Connections being served (not those refused).\n");
  put("# TYPE taskorch_http_connections gauge\n");
  put("taskorch_http_connections {}\n", connections_.load(std::memory_order_relaxed));
  put("# HELP taskorch_http_connections_refused_total Connections answered 503 over "
      "--max-connections, or shed at the file-descriptor limit.\n");
  put("# TYPE taskorch_http_connections_refused_total counter\n");
  put("taskorch_http_connections_refused_total {}\n", refused_.load(std::memory_order_relaxed));
  put("# HELP taskorch_http_accept_errors_total Failed accepts, by reason; the server backs off "
      "after descriptor and memory failures.\n");
  put("# TYPE taskorch_http_accept_errors_total counter\n");
  for (std::size_t r = 0; r < accept_failures.size(); ++r) {
    put("taskorch_http_accept_errors_total{{reason=\"{}\"}} {}\n", accept_failures[r],
        accept_failures_[r].load(std::memory_order_relaxed));
  }

  put("# HELP taskorch_tasks Tasks in the registry, by DRS status (dual-active parents by "
      "their aggregate status).\n");
  put("# TYPE taskorch_tasks gauge\n");
  for (task_state s : all_task_states)
    put("taskorch_tasks{{status=\"{}\"}} {}\n", drs_status(s), tasks[s]);

  put("# HELP taskorch_http_request_duration_seconds Time from a request's arrival to its "
      "response.\n");
  put("# TYPE taskorch_http_request_duration_seconds histogram\n");
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b < bounds.size(); ++b) {
    cumulative += buckets_[b].load(std::memory_order_relaxed);
    put("taskorch_http_request_duration_seconds_bucket{{le=\"{}\"}} {}\n", bounds[b], cumulative);
  }
  cumulative += buckets_[bounds.size()].load(std::memory_order_relaxed);
  put("taskorch_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {}\n", cumulative);
  put("taskorch_http_request_duration_seconds_sum {}\n",
      static_cast<double>(latency_micros_.load(std::memory_order_relaxed)) / 1e6);
  put("taskorch_http_request_duration_seconds_count {}\n", cumulative);
  return out;
}

}  // namespace taskorch::http
