#pragma once
// api: the DRS HTTP API over an engine, independent of the transport. A request is checked
// in the order behaviour.md fixes: route (404 unknown path, 405 wrong method), token (401),
// project (403), Content-Type (400), and only then is its body read and handled.
//
//   taskorch::http::api service(eng, tokens, {.max_jobs = 10000});
//   auto checked = service.check(head);            // before reading the body
//   if (auto* refusal = std::get_if<response>(&checked)) send(*refusal);
//   else service.async_handle(std::get<accepted_request>(checked), body, on_response);
//
// Thread safety: check() and async_handle() may be called concurrently.

#include <taskorch/engine.hpp>
#include <taskorch/http/body_parser.hpp>
#include <taskorch/http/metrics.hpp>
#include <taskorch/http/request_error.hpp>
#include <taskorch/http/token_table.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace taskorch::http {

/// Limits the API enforces.
struct api_limits {
  std::size_t max_jobs = 10000;    ///< items per batch request (400 DRS.M00202 above)
  std::size_t max_body = 1 << 20;  ///< request body bytes (413 above)
  std::size_t max_depth = 8;       ///< JSON nesting depth (400 DRS.M00200 above)
};

/// What the API needs of a request before its body.
struct request_head {
  std::string_view method;                       ///< "POST", "GET", ...
  std::string_view target;                       ///< path and optional query
  std::optional<std::string_view> token;         ///< X-Auth-Token
  std::optional<std::string_view> content_type;  ///< Content-Type
  std::string_view language;                     ///< X-Language ("" when absent)
};

/// A response to send.
struct response {
  unsigned status = 200;
  std::string body;
  std::string_view content_type = "application/json";
  std::string_view allow;  ///< the Allow header of a 405
};

/// A request that passed check(): its body may be read.
struct accepted_request {
  endpoint route = endpoint::other;
  project_id project;
  language lang = language::en_us;
};

class api {
 public:
  using handle_signature = void(response);

  api(engine& eng, token_table tokens, api_limits limits = {});

  /// Checks route, token, project and Content-Type. Returns the response to send at once
  /// (the body is then not needed), or the accepted request.
  std::variant<accepted_request, response> check(const request_head& head) const;

  /// Returns the endpoint a request target addresses (`other` when none).
  static endpoint route_of(std::string_view target) noexcept;

  /// Returns the error response for `e` in `lang`.
  static response error_response(const request_error& e, language lang);

  /// Handles the body of an accepted request: parses it, runs the engine operation and
  /// writes the response. Signature: void(response). Never fails: every error is a response.
  template <boost::asio::completion_token_for<handle_signature> CompletionToken>
  auto async_handle(accepted_request request, std::string body, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, handle_signature>(
        [this](auto h, accepted_request r, std::string b) {
          start_handle(r, std::move(b), std::move(h));
        },
        token, request, std::move(body));
  }

  const api_limits& limits() const noexcept { return limits_; }
  http::metrics& stats() noexcept { return metrics_; }

 private:
  using handler = boost::asio::any_completion_handler<handle_signature>;

  void start_handle(accepted_request request, std::string body, handler h);

  /// Lends a body parser for one request (parsers keep buffers; one per concurrent request).
  class parser_lease;

  engine& engine_;
  token_table tokens_;
  api_limits limits_;
  http::metrics metrics_;
  std::mutex parsers_mutex_;
  std::vector<body_parser> parsers_;
};

}  // namespace taskorch::http
