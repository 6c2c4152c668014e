#include <taskorch/http/error_table.hpp>
#include <taskorch/http/metrics.hpp>
#include <taskorch/task_state.hpp>
#include <taskorch/wall_time.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iterator>
#include <string_view>

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

void metrics::count_stream(int delta) noexcept {
  streams_.fetch_add(delta, std::memory_order_relaxed);
}

void metrics::count_stream_events(std::size_t n) noexcept {
  stream_events_.fetch_add(n, std::memory_order_relaxed);
}

void metrics::count_stream_cut_off(stream_cut_off why) noexcept {
  cut_offs_[static_cast<std::size_t>(why)].fetch_add(1, std::memory_order_relaxed);
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

namespace {

double seconds(std::chrono::nanoseconds d) { return static_cast<double>(d.count()) / 1e9; }

/// The storage figures (docs/http-api.md, "Metrics"): only taskorch_storage_enabled 0 without
/// a data directory.
template <class Put>
void render_storage(const storage_stats& s, Put&& put) {
  put("# HELP taskorch_storage_enabled 1 when the registry is kept in a data directory, 0 when "
      "in memory only.\n");
  put("# TYPE taskorch_storage_enabled gauge\n");
  put("taskorch_storage_enabled {}\n", s.enabled ? 1 : 0);
  if (!s.enabled) return;
  put("# HELP taskorch_storage_durability The durability mode in force (--durability), as a "
      "label.\n");
  put("# TYPE taskorch_storage_durability gauge\n");
  for (durability d : {durability::always, durability::interval, durability::none}) {
    put("taskorch_storage_durability{{mode=\"{}\"}} {}\n", to_string(d), d == s.mode ? 1 : 0);
  }
  put("# HELP taskorch_storage_journal_failed 1 once a journal write or sync has failed: "
      "changes are refused (503 TASKORCH.0507) until the server is restarted.\n");
  put("# TYPE taskorch_storage_journal_failed gauge\n");
  put("taskorch_storage_journal_failed {}\n", s.failed ? 1 : 0);
  put("# HELP taskorch_storage_journal_bytes_total Journal bytes written since the start.\n");
  put("# TYPE taskorch_storage_journal_bytes_total counter\n");
  put("taskorch_storage_journal_bytes_total {}\n", s.journal_bytes);
  put("# HELP taskorch_storage_journal_records_total Journal records (changes) written since "
      "the start.\n");
  put("# TYPE taskorch_storage_journal_records_total counter\n");
  put("taskorch_storage_journal_records_total {}\n", s.records);
  put("# HELP taskorch_storage_journal_commits_total Group commits (one write and at most one "
      "sync for all the records waiting) since the start.\n");
  put("# TYPE taskorch_storage_journal_commits_total counter\n");
  put("taskorch_storage_journal_commits_total {}\n", s.commits);
  put("# HELP taskorch_storage_journal_records_per_commit Mean group size since the start: "
      "records / commits.\n");
  put("# TYPE taskorch_storage_journal_records_per_commit gauge\n");
  put("taskorch_storage_journal_records_per_commit {}\n",
      s.commits == 0 ? 0.0 : static_cast<double>(s.records) / static_cast<double>(s.commits));
  put("# HELP taskorch_storage_journal_syncs_total fdatasync calls on the journal since the "
      "start.\n");
  put("# TYPE taskorch_storage_journal_syncs_total counter\n");
  put("taskorch_storage_journal_syncs_total {}\n", s.syncs);
  put("# HELP taskorch_storage_journal_sync_duration_seconds Time an fdatasync of the journal "
      "took.\n");
  put("# TYPE taskorch_storage_journal_sync_duration_seconds histogram\n");
  // Bucket i counts syncs below 2^i microseconds; the last one, everything above.
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b + 1 < latency_histogram::buckets; ++b) {
    cumulative += s.sync_latency.counts[b];
    put("taskorch_storage_journal_sync_duration_seconds_bucket{{le=\"{}\"}} {}\n",
        static_cast<double>(std::uint64_t{1} << b) / 1e6, cumulative);
  }
  cumulative += s.sync_latency.counts[latency_histogram::buckets - 1];
  put("taskorch_storage_journal_sync_duration_seconds_bucket{{le=\"+Inf\"}} {}\n", cumulative);
  put("taskorch_storage_journal_sync_duration_seconds_sum {}\n",
      static_cast<double>(s.sync_latency.total_ns) / 1e9);
  put("taskorch_storage_journal_sync_duration_seconds_count {}\n", cumulative);
  put("# HELP taskorch_storage_checkpoints_total Checkpoints written since the start.\n");
  put("# TYPE taskorch_storage_checkpoints_total counter\n");
  put("taskorch_storage_checkpoints_total {}\n", s.checkpoints);
  put("# HELP taskorch_storage_last_checkpoint_duration_seconds Time the last checkpoint took "
      "to write.\n");
  put("# TYPE taskorch_storage_last_checkpoint_duration_seconds gauge\n");
  put("taskorch_storage_last_checkpoint_duration_seconds {}\n",
      seconds(s.last_checkpoint_duration));
  put("# HELP taskorch_storage_longest_checkpoint_pause_seconds Longest time a checkpoint held "
      "every shard (commands waited at most that long) since the start.\n");
  put("# TYPE taskorch_storage_longest_checkpoint_pause_seconds gauge\n");
  put("taskorch_storage_longest_checkpoint_pause_seconds {}\n",
      seconds(s.longest_checkpoint_pause));
  put("# HELP taskorch_storage_recovery_duration_seconds Time the recovery of the data "
      "directory took at start.\n");
  put("# TYPE taskorch_storage_recovery_duration_seconds gauge\n");
  put("taskorch_storage_recovery_duration_seconds {}\n", seconds(s.recovery_duration));
  put("# HELP taskorch_storage_recovered_records Journal records replayed at start.\n");
  put("# TYPE taskorch_storage_recovered_records gauge\n");
  put("taskorch_storage_recovered_records {}\n", s.recovered_records);
  put("# HELP taskorch_storage_recovered 1 when the data directory held a registry at start.\n");
  put("# TYPE taskorch_storage_recovered gauge\n");
  put("taskorch_storage_recovered {}\n", s.recovered ? 1 : 0);
}

}  // namespace

std::string metrics::render(const state_counts& tasks, const storage_stats& storage) const {
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

  put("# HELP taskorch_event_streams_open Event streams (GET events) open now.\n");
  put("# TYPE taskorch_event_streams_open gauge\n");
  put("taskorch_event_streams_open {}\n", streams_.load(std::memory_order_relaxed));
  put("# HELP taskorch_event_stream_events_total Events written to event streams.\n");
  put("# TYPE taskorch_event_stream_events_total counter\n");
  put("taskorch_event_stream_events_total {}\n", stream_events_.load(std::memory_order_relaxed));
  put("# HELP taskorch_event_streams_cut_off_total Event streams the server ended because their "
      "client did not take the events in time, by reason: write_timeout (a write outlasted "
      "--sse-write-timeout-ms) or fell_behind (the feed dropped the stream's position); or "
      "because their project is now served by another server: moved (scale-out).\n");
  put("# TYPE taskorch_event_streams_cut_off_total counter\n");
  for (std::size_t r = 0; r < cut_off_reasons.size(); ++r) {
    put("taskorch_event_streams_cut_off_total{{reason=\"{}\"}} {}\n", cut_off_reasons[r],
        cut_offs_[r].load(std::memory_order_relaxed));
  }

  put("# HELP taskorch_tasks Tasks in the registry, by DRS status (dual-active parents by "
      "their aggregate status).\n");
  put("# TYPE taskorch_tasks gauge\n");
  for (task_state s : all_task_states)
    put("taskorch_tasks{{status=\"{}\"}} {}\n", drs_status(s), tasks[s]);
  put("# HELP taskorch_commands_awaiting_worker Tasks whose latest command (start, pause, resume, "
      "terminate) no worker has confirmed yet.\n");
  put("# TYPE taskorch_commands_awaiting_worker gauge\n");
  put("taskorch_commands_awaiting_worker {}\n", tasks.awaiting);
  put("# HELP taskorch_oldest_awaiting_command_age_seconds How long the oldest unconfirmed "
      "command has waited for a worker (0 when none waits).\n");
  put("# TYPE taskorch_oldest_awaiting_command_age_seconds gauge\n");
  const auto waited = tasks.awaiting_since ? std::max(wall_now() - *tasks.awaiting_since,
                                                      wall_time::duration::zero())
                                           : wall_time::duration::zero();
  put("taskorch_oldest_awaiting_command_age_seconds {:.3f}\n",
      std::chrono::duration<double>(waited).count());

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
  render_storage(storage, put);
  return out;
}

}  // namespace taskorch::http
