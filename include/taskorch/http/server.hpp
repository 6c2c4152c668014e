#pragma once
// server: a Boost.Beast HTTP/1.1 server for a request_handler (the DRS api), with the limits a
// public endpoint needs: the header size (431), the body size (413), a read timeout that cuts
// off slow clients, a keep-alive idle timeout, a cap on the connections served at once (503
// above it), and a bounded drain of unread request bytes before a connection is closed, so that
// an early answer (401, 413) is not destroyed by a reset.
//
//   taskorch::http::server srv(service, {.host = "127.0.0.1", .port = 0});
//   std::cout << srv.local_endpoint().port();
//   srv.run();  // until shutdown() has drained every connection
//
// Each connection runs one session (service/session.cpp) in steps: wait for a request, read its
// head, check it, read its body, handle it, write the response; then wait again or close. A
// request the handler answers with an event stream (response::stream) keeps the connection:
// the session writes its events as Server-Sent Events (service/event_stream.cpp) until the
// client goes, the server shuts down or the client is cut off for not taking them in time.
// When no file descriptor is left, the accept loop backs off (and sheds one waiting connection
// with a 503 through a descriptor it keeps in reserve) instead of spinning.
//
// Thread safety: shutdown() may be called from any thread, including a signal handler's
// completion; run() from one thread at a time (it runs `threads` threads itself).

#include <taskorch/http/request_handler.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace taskorch::http {

namespace detail {
class connection_registry;
}  // namespace detail

/// Construction options of server.
struct server_options {
  /// An IPv4 or IPv6 address, or a host name (its first IPv4 address, else its first IPv6 one).
  std::string host = "127.0.0.1";
  unsigned short port = 8080;  ///< 0 picks a free port
  std::size_t threads = 1;     ///< HTTP threads
  /// Bytes of the request line and header fields, each with its CRLF, and the empty line.
  std::size_t header_limit = 8 * 1024UL;
  /// To receive a whole request, from its first byte (a new connection's first request: from
  /// the accept, so a client that never sends a byte is cut off after it).
  std::chrono::milliseconds read_timeout{10'000};
  /// The most a request sent on to the server that serves its project may take, from the
  /// connection to the whole answer (503 beyond; the scale-out mode).
  std::chrono::milliseconds forward_timeout{30'000};
  /// Keep-alive wait for the next request; 0: no keep-alive (one request per connection,
  /// answered with `Connection: close`).
  std::chrono::milliseconds idle_timeout{30'000};
  std::size_t max_connections = 1024;  ///< connections served at once; 503 above
  /// Connections over the cap answered 503 with a drain (see linger_timeout) at once; more are
  /// answered 503 and closed without it, so that refusing holds at most this many descriptors.
  std::size_t max_refusing = 16;
  /// At shutdown, the most a response being written may still take.
  std::chrono::milliseconds drain_timeout{1'000};
  /// Before closing a connection whose request was not read to its end (an early 401 or 413,
  /// a 503), the server stops sending and reads what the client still sends, for at most this
  /// long and `linger_bytes`, so that closing does not reset the answer away.
  std::chrono::milliseconds linger_timeout{2'000};
  std::size_t linger_bytes = std::size_t{16} << 20;
  /// Event streams (GET /v3/{project_id}/events) open at once; 503 above. Each holds at most
  /// one read of the feed's frames (a few hundred KiB) while its client takes them.
  std::size_t max_event_streams = 256;
  /// How long an event stream with nothing new to send waits before it reads the feed again.
  std::chrono::milliseconds event_poll_interval{25};
  /// An event stream that wrote nothing for this long writes a keep-alive comment.
  std::chrono::milliseconds event_heartbeat{15'000};
  /// The most one write to an event stream may take: a client that does not take the events
  /// that fast is cut off (the connection is closed).
  std::chrono::milliseconds event_write_timeout{10'000};
};

class server {
 public:
  /// Resolves `host`, binds and listens; throws boost::system::system_error when it cannot.
  server(request_handler& handler, server_options options);
  ~server();

  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// The address actually bound (the real port when 0 was asked for).
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  /// Serves until shutdown() has completed; runs `threads` threads, this one included.
  void run();

  /// Stops accepting; closes connections waiting for or reading a request, and event
  /// streams, at once; lets requests being handled finish, and gives responses being written
  /// `drain_timeout`. Idempotent.
  void shutdown();

  /// The number of connections being served (those refused with 503 not included).
  std::size_t connections() const noexcept;

  /// The executor the server runs on (for a signal_set, for instance).
  boost::asio::io_context::executor_type get_executor() noexcept { return io_.get_executor(); }

  /// How many connections the process's file-descriptor limit (RLIMIT_NOFILE) leaves room for,
  /// counting the descriptors open now and keeping `reserve` for the server's own: listening
  /// socket and its spare, event loop, state file, and the `max_refusing` connections being
  /// refused over the cap. At least 1.
  static std::size_t descriptor_capacity(std::size_t reserve = 32);

 private:
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> back_off(std::chrono::milliseconds& delay);
  void shed_one_connection() noexcept;

  request_handler& handler_;
  server_options options_;
  std::string shed_answer_;  ///< the whole 503 response written to a shed connection
  // Declared before io_: sessions destroyed with the io_context leave the registry.
  std::unique_ptr<detail::connection_registry> registry_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> event_streams_{0};  ///< event streams open now (max_event_streams)
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer backoff_;
  int spare_descriptor_ = -1;  ///< kept open to shed a connection at the descriptor limit
};

}  // namespace taskorch::http
