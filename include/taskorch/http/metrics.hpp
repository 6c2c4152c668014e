#pragma once
// metrics: the service's Prometheus counters, written in the text exposition format 0.0.4.
//
//   taskorch_http_requests_total{endpoint="batch-pause-task",code="200"} 12
//   taskorch_batch_items_total{endpoint="batch-pause-task",outcome="DRS.M05003"} 1
//   taskorch_tasks{status="PAUSING"} 3
//   taskorch_http_request_duration_seconds_bucket{le="0.001"} 10
//
// Only counts: never ids or tokens. Thread safety: every member may be called concurrently.

#include <taskorch/batch.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace taskorch::http {

/// The routes the service knows; `other` is any unknown path.
enum class endpoint : std::uint8_t { batch_pause, batch_retry, batch_status, metrics, other };

/// Returns the endpoint's name as used in metric labels, e.g. "batch-pause-task".
std::string_view to_string(endpoint e) noexcept;

/// Request and item counters plus a latency histogram.
class metrics {
 public:
  /// Counts one answered request and its latency.
  void count_request(endpoint e, unsigned status, double seconds) noexcept;

  /// Counts the per-item outcomes of one batch.
  void count_items(endpoint e, const batch_result& results) noexcept;

  /// Renders every metric; `tasks` gives the task gauges.
  std::string render(const state_counts& tasks) const;

 private:
  static constexpr std::size_t endpoint_count = 5;
  static constexpr std::array<unsigned, 10> codes{200, 400, 401, 403, 404, 405, 413, 431, 500, 503};
  static constexpr std::array<std::string_view, 8> outcomes{
      "success",    "DRS.M05003", "DRS.M05004", "DRS.M00304",
      "DRS.M00307", "DRS.M00308", "DRS.M00004", "other"};
  static constexpr std::array<double, 12> bounds{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                 0.01,   0.025,   0.05,   0.1,   0.25,   1.0};

  std::array<std::array<std::atomic<std::uint64_t>, codes.size() + 1>, endpoint_count> requests_{};
  std::array<std::array<std::atomic<std::uint64_t>, outcomes.size()>, endpoint_count> items_{};
  std::array<std::atomic<std::uint64_t>, bounds.size() + 1> buckets_{};  // last: +Inf
  std::atomic<std::uint64_t> latency_micros_{0};
};

}  // namespace taskorch::http
