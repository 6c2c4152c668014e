#pragma once
// body_parser: validates the JSON bodies of the DRS batch endpoints, whole, before anything
// is applied, in the order behaviour.md fixes: JSON syntax and repeated keys (M00200), the
// `jobs` array (M00201), the item limit (M00202), then item by item in request order: empty
// fields (M00201) before wrong values (M00202), and a repeated job id at its second
// occurrence (M00301). Unknown fields are ignored; a field sent as null counts as absent.
//
//   taskorch::http::body_parser parser({.max_jobs = 10000});
//   auto parsed = parser.parse_pause(R"({"jobs":[{"job_id":"...","pause_mode":"all"}]})");
//   if (auto* error = std::get_if<taskorch::http::request_error>(&parsed)) ...
//
// Thread safety: one parser per thread; it keeps its buffers between calls.

#include <taskorch/batch.hpp>
#include <taskorch/http/request_error.hpp>
#include <taskorch/job_id.hpp>

#include <cstddef>
#include <memory>
#include <string_view>
#include <variant>
#include <vector>

namespace taskorch::http {

/// Limits on request bodies.
struct body_limits {
  std::size_t max_jobs = 10000;  ///< items per request
  std::size_t max_depth = 8;     ///< JSON nesting depth (a batch body needs 3)
};

/// A batch-status query: the ids and the DRS `page_req`.
struct status_query {
  std::vector<job_id> ids;
  std::size_t cur_page = 1;  ///< >= 1
  std::size_t per_page = 0;  ///< 0..100, 0 = all
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

  /// batch-pause-task: `{"jobs":[{"job_id":"<id>","pause_mode":"target|all"}, ...]}`.
  parse_result<std::vector<pause_item>> parse_pause(std::string_view body);

  /// batch-retry-task: `{"jobs":[{"job_id":"<id>","is_sync_re_edit":<bool, optional>}, ...]}`.
  /// `is_sync_re_edit` is validated and then ignored.
  parse_result<std::vector<job_id>> parse_retry(std::string_view body);

  /// batch-status: `{"jobs":["<id>", ...],"page_req":{"cur_page":1,"per_page":0}}`.
  parse_result<status_query> parse_status(std::string_view body);

  const body_limits& limits() const noexcept { return limits_; }

 private:
  struct impl;
  body_limits limits_;
  std::unique_ptr<impl> impl_;
};

}  // namespace taskorch::http
