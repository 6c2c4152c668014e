#pragma once
// session: serves one connection, request after request, in steps: wait for a request, read
// its head, check it, read its body, handle it, write the response; then wait for the next one,
// or close (after draining what the client still sends, when its request was not read to its
// end). A request the handler answers with an event stream (response::stream) is the
// connection's last: once its start is checked (400, 410) and a place is free among the
// streams (503), event_stream.hpp serves the rest of the connection. Runs on the connection's
// strand. An exception ends the session with a 500 when the response was not started, and the
// registration it holds always leaves the registry.
//
//   co_spawn(strand, session::serve(session(handler, options, stopping, streams,
//                                           std::move(admitted))),
//            detached);

#include "connection.hpp"
#include "event_frames.hpp"
#include <taskorch/http/request_handler.hpp>
#include <taskorch/http/server.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <variant>

namespace taskorch::http::detail {

class session {
 public:
  /// `streams`: the event streams open on the server now (at most
  /// options.max_event_streams).
  session(request_handler& handler, const server_options& options,
          const std::atomic<bool>& stopping, std::atomic<std::size_t>& streams,
          registration admitted)
      : handler_(handler),
        options_(options),
        stopping_(stopping),
        streams_(streams),
        admitted_(std::move(admitted)),
        conn_(*admitted_.conn()) {}

  /// Serves the connection until it closes; the coroutine's frame owns the session.
  static boost::asio::awaitable<void> serve(session s) { co_await s.run(); }

 private:
  using parser_type = boost::beast::http::request_parser<boost::beast::http::string_body>;

  boost::asio::awaitable<void> run();

  /// What became of one request.
  struct exchange {
    std::optional<response> answer;  ///< empty: cut off (timeout, client gone), close silently
    endpoint route = endpoint::other;
    unsigned version = 11;
    bool head = false;                ///< a HEAD request: the response has no body
    bool keep_alive = false;          ///< the request allows another one on this connection
    bool read_whole = false;          ///< the request was read to its end
    language lang = language::en_us;  ///< of an accepted request
    stream_start events_from;         ///< where an event stream starts (endpoint::events)
  };

  /// The outcome of a reading step: go on, cut off silently, or refuse with an error.
  struct step {
    bool cut = false;
    std::optional<response> refusal;
    bool head = false;  ///< read_head: the request line starts with HEAD (even when refused)
  };

  boost::asio::awaitable<bool> wait_for_request(bool first);
  boost::asio::awaitable<exchange> serve_request();
  boost::asio::awaitable<step> read_head(parser_type& parser);
  std::variant<accepted_request, response> check(const parser_type& parser,
                                                 std::span<const header_field> fields) const;
  boost::asio::awaitable<step> read_body(parser_type& parser, const accepted_request& accepted);
  boost::asio::awaitable<bool> write(const exchange& done, response res);
  /// Serves the event stream `done.answer` holds, to the connection's end; or returns the
  /// answer to send instead (410, 503).
  boost::asio::awaitable<std::optional<response>> stream_events(
      const exchange& done, std::chrono::steady_clock::time_point started);
  boost::asio::awaitable<void> linger();
  void close() noexcept;

  request_handler& handler_;
  const server_options& options_;
  const std::atomic<bool>& stopping_;
  std::atomic<std::size_t>& streams_;
  registration admitted_;
  connection& conn_;
  boost::beast::flat_buffer buffer_;
};

}  // namespace taskorch::http::detail
