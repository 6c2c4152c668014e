#pragma once
// body_parser: validates the JSON bodies of the DRS batch endpoints and of the task list, whole,
// before anything is applied, in the order docs/behaviour.md fixes, in two passes:
//
//   1. A scan of the raw bytes, which stops at the first of: a document that does not start
//      as an object (M00200), nesting deeper than max_depth (M00202 naming the top-level
//      field), more items in `jobs` than max_jobs (M00202 naming the limit). So a body over
//      a limit costs no more than its bytes up to the point where the limit is passed.
//   2. The DOM parse (simdjson) and the checks: JSON syntax and repeated keys (M00200), the
//      `jobs` array (M00201), then item by item in request order: empty fields (M00201)
//      before wrong values (M00202), and a repeated job id at its second occurrence (M00301).
//      The task list has no `jobs` array: its fields are checked one by one, values (M00202)
//      before a repeated id in `name` (M00301).
//
// Unknown fields are ignored; a field sent as null counts as absent. No field of these bodies
// takes a number that is not an integer of 64 bits, so such numbers (2^70, 1e999, 0.5) are
// valid JSON here: accepted in an ignored field, M00202 in start_time, cur_page and per_page.
//
//   taskorch::http::body_parser parser({.max_jobs = 10000});
//   auto parsed = parser.parse_pause(R"({"jobs":[{"job_id":"...","pause_mode":"all"}]})");
//   if (auto* error = std::get_if<taskorch::http::request_error>(&parsed)) ...
//
// A parser keeps its buffers between calls, up to `keep_bytes`; after a larger body it gives
// them back. Thread safety: one parser per thread.

#include <taskorch/batch.hpp>
#include <taskorch/http/request_error.hpp>
#include <taskorch/job_id.hpp>
#include <taskorch/task_kind.hpp>
#include <taskorch/task_state.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace taskorch::http {

/// Limits on request bodies.
struct body_limits {
  std::size_t max_jobs = 10000;      ///< items per request
  std::size_t max_depth = 8;         ///< nesting levels of objects and arrays, the body's own
                                     ///< object included (a batch body needs 3)
  std::size_t keep_bytes = 1 << 20;  ///< buffer capacity kept between calls
};

/// A batch-status query: the ids and the DRS `page_req`.
struct status_query {
  std::vector<job_id> ids;
  std::size_t cur_page = 1;  ///< >= 1
  std::size_t per_page = 0;  ///< 0..100, 0 = all
};

/// A task list query (POST /v3/{project_id}/jobs): DRS's filters and paging.
struct list_query {
  std::optional<task_state> status;  ///< `status`: a DRS status
  std::optional<task_kind> kind;     ///< `db_use_type`
  std::vector<job_id> ids;           ///< `name` holding one or more comma-separated ids
  std::string name;                  ///< `name` holding anything else: a name to search for
  std::size_t cur_page = 1;          ///< 0 = all (per_page is then ignored), else >= 1
  std::size_t per_page = 10;         ///< 1..100; 0 = all
};

/// Either a parsed request or the reason it was refused.
template <class T>
using parse_result = std::variant<T, request_error>;

/// Parses and validates batch request bodies.
class body_parser {
 public:
  explicit body_parser(body_limits limits = {});
  ~body_parser();
  body_parser(body_parser&&) noexcept;
  body_parser& operator=(body_parser&&) noexcept;
  body_parser(const body_parser&) = delete;
  body_parser& operator=(const body_parser&) = delete;

  /// batch-pause-task: `{"jobs":[{"job_id":"<id>","pause_mode":"target|all"}, ...]}`.
  parse_result<std::vector<pause_item>> parse_pause(std::string_view body);

  /// batch-retry-task: `{"jobs":[{"job_id":"<id>","is_sync_re_edit":<bool, optional>}, ...]}`.
  /// `is_sync_re_edit` is validated and then ignored.
  parse_result<std::vector<job_id>> parse_retry(std::string_view body);

  /// batch-status, batch-detail and batch-progress, which take the same body:
  /// `{"jobs":["<id>", ...],"page_req":{"cur_page":1,"per_page":0}}`.
  parse_result<status_query> parse_status(std::string_view body);

  /// batch-starting: `{"jobs":[{"job_id":"<id>","start_time":"<ms>"}, ...]}`. `start_time`
  /// (optional) is milliseconds since the Unix epoch, a string of decimal digits or an integer,
  /// at most 2^63 - 1; absent, null or "" means now (an empty start_time).
  parse_result<std::vector<start_item>> parse_starting(std::string_view body);

  /// batch-jobs (DELETE): `{"jobs":[{"job_id":"<id>","delete_type":"<type>"}, ...]}`, the type
  /// "terminate", "force_terminate" or "delete".
  parse_result<std::vector<delete_item>> parse_delete(std::string_view body);

  /// batch-report, a worker's report on its tasks:
  /// `{"jobs":[{"job_id":"<id>","event":"<name>","progress":"50","incre_trans_delay":"3"}, ...]}`.
  /// `event` is a worker event (is_worker_event), set in report_item::event, or "progress" for
  /// the figures alone, which then needs one of them at least. `progress` (0..100, percent) and
  /// `incre_trans_delay` (0..2^31 - 1, seconds, stored as milliseconds), both optional, are each
  /// a JSON integer or a string of decimal digits. When either is present report_item::figures
  /// is set, the one not sent at 0: a report replaces both figures.
  parse_result<std::vector<report_item>> parse_report(std::string_view body);

  /// The task list (POST /v3/{project_id}/jobs): an object of optional fields, `status`,
  /// `db_use_type`, `name` (up to 100 comma-separated ids, or a name of up to 255 bytes),
  /// `cur_page` (>= 0) and `per_page` (0..100). For this endpoint only, an empty body is
  /// taken as `{}`.
  parse_result<list_query> parse_list(std::string_view body);

  const body_limits& limits() const noexcept { return limits_; }

  /// The bytes of buffer the parser holds now (for tests of memory return).
  std::size_t capacity() const noexcept;

 private:
  struct impl;
  body_limits limits_;
  std::unique_ptr<impl> impl_;
};

}  // namespace taskorch::http
