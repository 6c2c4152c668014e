#pragma once
// metrics: the service's Prometheus counters, written in the text exposition format 0.0.4.
//
//   taskorch_http_requests_total{endpoint="batch-pause-task",code="200"} 12
//   taskorch_batch_items_total{endpoint="batch-pause-task",outcome="DRS.M05003"} 1
//   taskorch_http_connections 3
//   taskorch_http_connections_refused_total 0
//   taskorch_http_accept_errors_total{reason="descriptors"} 0
//   taskorch_event_streams_open 2
//   taskorch_event_streams_cut_off_total{reason="write_timeout"} 1
//   taskorch_tasks{status="PAUSING"} 3
//   taskorch_http_request_duration_seconds_bucket{le="0.001"} 10
//   taskorch_storage_enabled 1
//   taskorch_storage_journal_records_total 1234
//
// Only counts: never ids or tokens. Thread safety: every member may be called concurrently.

#include <taskorch/batch.hpp>
#include <taskorch/http/endpoint.hpp>
#include <taskorch/storage_options.hpp>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace taskorch::http {

/// Why accepting a connection failed.
enum class accept_failure : std::uint8_t {
  descriptors,  ///< no file descriptor left (EMFILE, ENFILE)
  memory,       ///< no kernel memory (ENOBUFS, ENOMEM)
  other,        ///< anything else (the connection was aborted before it was accepted...)
};

/// Why the server ended an event stream (GET /v3/{project_id}/events) on its own.
enum class stream_cut_off : std::uint8_t {
  write_timeout,  ///< a write to the client did not complete within the write timeout
  fell_behind,    ///< the feed dropped the stream's position while its client was slow
  moved,          ///< the project's events are now served by another server (scale-out)
};

/// Request and item counters, connection counts and a latency histogram.
class metrics {
 public:
  /// Counts one answered request and its latency.
  void count_request(endpoint e, unsigned status, double seconds) noexcept;

  /// Counts the per-item outcomes of one batch.
  void count_items(endpoint e, const batch_result& results) noexcept;

  /// Counts a connection being served (+1) or closed (-1).
  void count_connection(int delta) noexcept;

  /// Counts a connection refused (503) at the cap or shed at the descriptor limit.
  void count_refused_connection() noexcept;

  /// Counts a failed accept.
  void count_accept_failure(accept_failure why) noexcept;

  /// Counts an event stream opened (+1) or ended (-1).
  void count_stream(int delta) noexcept;

  /// Counts `n` events written to an event stream.
  void count_stream_events(std::size_t n) noexcept;

  /// Counts an event stream the server cut off.
  void count_stream_cut_off(stream_cut_off why) noexcept;

  /// Renders every metric; `tasks` gives the task gauges, `storage` the storage figures
  /// (only taskorch_storage_enabled 0 when storage.enabled is false).
  std::string render(const state_counts& tasks, const storage_stats& storage = {}) const;

 private:
  static constexpr std::array<unsigned, 11> codes{200, 400, 401, 403, 404, 405,
                                                  410, 413, 431, 500, 503};
  static constexpr std::array<std::string_view, 8> outcomes{
      "success",    "DRS.M05003", "DRS.M05004", "DRS.M00304",
      "DRS.M00307", "DRS.M00308", "DRS.M00004", "other"};
  static constexpr std::array<std::string_view, 3> accept_failures{"descriptors", "memory",
                                                                   "other"};
  static constexpr std::array<std::string_view, 3> cut_off_reasons{"write_timeout", "fell_behind",
                                                                   "moved"};
  static constexpr std::array<double, 12> bounds{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                 0.01,   0.025,   0.05,   0.1,   0.25,   1.0};

  std::array<std::array<std::atomic<std::uint64_t>, codes.size() + 1>, endpoint_count> requests_{};
  std::array<std::array<std::atomic<std::uint64_t>, outcomes.size()>, endpoint_count> items_{};
  std::array<std::atomic<std::uint64_t>, bounds.size() + 1> buckets_{};  // last: +Inf
  std::atomic<std::uint64_t> latency_micros_{0};
  std::atomic<std::int64_t> connections_{0};
  std::atomic<std::uint64_t> refused_{0};
  std::array<std::atomic<std::uint64_t>, accept_failures.size()> accept_failures_{};
  std::atomic<std::int64_t> streams_{0};
  std::atomic<std::uint64_t> stream_events_{0};
  std::array<std::atomic<std::uint64_t>, cut_off_reasons.size()> cut_offs_{};
};

}  // namespace taskorch::http
