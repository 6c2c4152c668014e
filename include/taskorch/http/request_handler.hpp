#pragma once
// request_handler: what the HTTP server asks of the API behind it, in three steps: check() a
// request from its head (before the body is read), check_body() a signed request's signature
// once its body is read, then async_handle() the accepted request's body.
// taskorch::http::api is the DRS implementation; the server knows only this interface.
//
//   auto checked = handler.check(head);
//   if (auto* refusal = std::get_if<response>(&checked)) return send(*refusal);
//   auto& accepted = std::get<accepted_request>(checked);
//   ... read the body ...
//   if (auto refusal = handler.check_body(accepted, received)) return send(*refusal);
//   handler.async_handle(accepted, body, on_response);

#include <taskorch/http/endpoint.hpp>
#include <taskorch/http/language.hpp>
#include <taskorch/http/request_error.hpp>
#include <taskorch/http/request_signature.hpp>
#include <taskorch/project_id.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace taskorch::http {

class metrics;
class event_source;

/// What the API needs of a request before its body.
struct request_head {
  std::string_view method;                         ///< "POST", "GET", ...
  std::string_view target;                         ///< path and optional query
  std::optional<std::string_view> token;           ///< X-Auth-Token (the first when repeated)
  std::optional<std::string_view> content_type;    ///< Content-Type (the first when repeated)
  std::string_view language;                       ///< X-Language ("" when absent)
  bool repeated_token = false;                     ///< X-Auth-Token appears more than once
  bool repeated_content_type = false;              ///< Content-Type appears more than once
  std::optional<std::string_view> authorization;   ///< Authorization (the first when repeated)
  bool repeated_authorization = false;             ///< Authorization appears more than once
  std::optional<std::string_view> project_header;  ///< X-Project-Id (the first when repeated)
  bool repeated_project_header = false;            ///< X-Project-Id appears more than once
  /// Every header field, when the request has an Authorization header (a signature covers
  /// some of them); empty otherwise.
  std::span<const header_field> headers;
  /// The request came from another server (X-Taskorch-Forwarded): it is never sent on.
  bool forwarded = false;
};

/// A response to send.
struct response {
  unsigned status = 200;
  std::string body;
  std::string_view content_type = "application/json";
  std::string_view allow;               ///< the Allow header of a 405
  std::chrono::seconds retry_after{0};  ///< the Retry-After header, when not zero
  std::string location;                 ///< the Location header of a redirect (307, 308)
  /// More header fields, as they are (the console's security headers, console_files.hpp);
  /// they must outlive the response (static strings).
  std::span<const header_field> headers;
  /// Set by the event stream's endpoint: the server streams these events (Server-Sent
  /// Events) instead of sending this response (service/event_stream.hpp, event_source.hpp).
  std::shared_ptr<const event_source> stream;
};

/// What checking a signed request's signature needs once its body is read.
struct pending_signature {
  sdk_authorization authorization;  ///< the parsed Authorization header
  std::string_view secret_key;      ///< the access key's SK, kept by the handler
};

/// A request that passed check(): its body may be read.
struct accepted_request {
  endpoint route = endpoint::other;
  project_id project;
  language lang = language::en_us;
  /// Set when the request is signed with an access key: its signature is checked by
  /// check_body() once the body is read, before async_handle().
  std::shared_ptr<const pending_signature> signature;
  /// Set when another server serves the project (HOST:PORT): the server sends the request
  /// there once its body is read, and answers what that server answers.
  std::string forward_to;
};

/// Returns the error response for `e` in `lang`: its status and `{"error_code","error_msg"}`.
response error_response(const request_error& e, language lang);

/// The API behind a server. Thread safety: check() and async_handle() may be called
/// concurrently; implementations say so.
class request_handler {
 public:
  using handle_signature = void(response);

  virtual ~request_handler() = default;

  /// Checks a request from its head. Returns the response to send at once (the body is then
  /// not needed), or the accepted request.
  virtual std::variant<accepted_request, response> check(const request_head& head) const = 0;

  /// Checks the signature of a request that check() accepted with `request.signature` set,
  /// against the request as received (`received.body`: the whole body). Returns the response
  /// to send instead of handling it (401), or nothing when the signature holds.
  virtual std::optional<response> check_body(const accepted_request& request,
                                             const signed_request& received) const = 0;

  /// The largest body accepted, in bytes (413 above).
  virtual std::size_t max_body() const noexcept = 0;

  /// The counters the server adds its own to.
  virtual http::metrics& stats() noexcept = 0;

  /// Handles the body of an accepted request. Signature: void(response). Never fails: every
  /// error is a response. The handler runs on its associated executor (posted, never inside
  /// this call).
  template <boost::asio::completion_token_for<handle_signature> CompletionToken>
  auto async_handle(accepted_request request, std::string body, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, handle_signature>(
        // NOLINTNEXTLINE(performance-unnecessary-value-param): moved (llvm/llvm-project#62276)
        [this](auto h, accepted_request r, std::string b) {
          start_handle(r, std::move(b), std::move(h));
        },
        token, request, std::move(body));
  }

 protected:
  using handler = boost::asio::any_completion_handler<handle_signature>;

  /// Starts handling; completes `h` exactly once, through its associated executor.
  virtual void start_handle(accepted_request request, std::string body, handler h) = 0;
};

}  // namespace taskorch::http
