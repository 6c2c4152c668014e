#pragma once
// api: the DRS HTTP API over an engine, independent of the transport. A request is checked in
// the order docs/behaviour.md fixes: route (404 unknown path, 405 wrong method), the caller
// (401: an X-Auth-Token, or an AK/SK signature whose head is checked here), project (403), the
// caller's role (403, role.hpp), Content-Type (400); then its body is read, a signed request's
// signature checked against it (401, check_body), and only then is the body handled. Paths
// under /console are the operator console's files instead (docs/console.md), open to anyone.
//
//   taskorch::http::api service(eng, {.tokens = tokens, .access_keys = keys}, {.max_jobs = 10000});
//   auto checked = service.check(head);            // before reading the body
//   if (auto* refusal = std::get_if<response>(&checked)) send(*refusal);
//   else service.async_handle(std::get<accepted_request>(checked), body, on_response);
//
// Bodies larger than `offload_bytes` are parsed on the api's own parse threads, so that a huge
// body does not hold the caller's thread (a server's HTTP thread); smaller ones on the calling
// thread. Either way the response is posted to the handler's associated executor.
//
// Thread safety: check() and async_handle() may be called concurrently.

#include <taskorch/engine.hpp>
#include <taskorch/http/access_key_table.hpp>
#include <taskorch/http/body_parser.hpp>
#include <taskorch/http/engine_directory.hpp>
#include <taskorch/http/metrics.hpp>
#include <taskorch/http/request_handler.hpp>
#include <taskorch/http/token_table.hpp>

#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace taskorch::http {

namespace detail {
class response_completion;
}

/// Limits and threads of the API.
struct api_options {
  std::size_t max_jobs = 10000;             ///< items per batch request (400 DRS.M00202 above)
  std::size_t max_body = 1 << 20;           ///< request body bytes (413 above)
  std::size_t max_depth = 8;                ///< JSON nesting levels (400 DRS.M00202 above)
  std::size_t offload_bytes = 64 * 1024UL;  ///< bodies above are parsed on a parse thread
  std::size_t parse_threads = 1;            ///< threads for large bodies (at least 1)
  /// How far a signed request's X-Sdk-Date may be from the clock, either way (401 beyond).
  std::chrono::seconds signature_window = std::chrono::minutes(15);
};

/// Who may call the API: holders of a token (X-Auth-Token), and of an access key (requests
/// signed with SDK-HMAC-SHA256).
struct api_callers {
  token_table tokens;
  access_key_table access_keys;
};

/// The DRS API: a request_handler over an engine, or over the engines of a directory (each
/// project's requests go to the engine find() gives; none: 503 partition_unavailable).
class api final : public request_handler {
 public:
  api(engine& eng, api_callers callers, api_options options = {});
  /// `engines` must outlive the api.
  api(const engine_directory& engines, api_callers callers, api_options options = {});
  ~api() override;

  api(const api&) = delete;
  api& operator=(const api&) = delete;

  std::variant<accepted_request, response> check(const request_head& head) const override;
  std::optional<response> check_body(const accepted_request& request,
                                     const signed_request& received) const override;
  std::size_t max_body() const noexcept override { return options_.max_body; }
  http::metrics& stats() noexcept override { return metrics_; }

 private:
  using completion = detail::response_completion;
  using batch_handler = boost::asio::any_completion_handler<void(error_code, batch_result)>;
  class parser_lease;

  void start_handle(accepted_request request, std::string body, handler h) override;
  void handle_metrics(completion done);
  /// The refusal of a request for a project no engine here serves.
  static response unavailable(language lang);
  void handle_body(const accepted_request& request, std::string body, completion done);
  /// Answers a refused body, or starts the engine's command with the parsed items; its
  /// per-item results are answered with `status`.
  template <class Items, class Start>
  void run_command(const accepted_request& request, parse_result<Items> parsed, unsigned status,
                   completion done, Start start);
  /// Answers a refused body, or starts the engine's query (which may take what it needs out
  /// of the parsed query), whose result `write` answers.
  template <class Query, class Start, class Write>
  void run_query(const accepted_request& request, parse_result<Query> parsed, completion done,
                 Start start, Write write);
  batch_handler batch_completion(const accepted_request& request, unsigned status, completion done);
  /// The caller of a request that names one: its grant, and for a signed request what
  /// check_body needs; or the refusal.
  struct caller {
    token_grant grant;
    std::shared_ptr<const pending_signature> signature;
  };
  std::variant<caller, request_error> identify(const request_head& head) const;
  std::variant<caller, request_error> identify_signer(const request_head& head) const;

  std::unique_ptr<const single_engine> own_directory_;  // api(engine&, ...)
  const engine_directory& engines_;
  api_callers callers_;
  signature_policy signing_;
  api_options options_;
  http::metrics metrics_;
  std::mutex parsers_mutex_;
  std::vector<body_parser> parsers_;
  boost::asio::thread_pool parse_pool_;
};

}  // namespace taskorch::http
