#pragma once
// server: a Boost.Beast HTTP/1.1 server for the DRS API, with the limits a public endpoint
// needs: header size, body size (413), a read timeout that cuts off slow clients, an idle
// keep-alive timeout and a cap on concurrent connections (503 above it).
//
//   taskorch::http::server srv(service, {.host = "127.0.0.1", .port = 0});
//   std::cout << srv.local_endpoint().port();
//   srv.run();  // until shutdown() has drained every connection
//
// Thread safety: shutdown() may be called from any thread, including a signal handler's
// completion; run() from one thread at a time (it runs `threads` threads itself).

#include <taskorch/http/api.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace taskorch::http {

/// Construction options of server.
struct server_options {
  std::string host = "127.0.0.1";
  unsigned short port = 8080;  ///< 0 picks a free port
  std::size_t threads = 1;
  std::size_t header_limit = 8 * 1024;             ///< bytes of request line + headers
  std::chrono::milliseconds read_timeout{10'000};  ///< to receive a whole request
  std::chrono::milliseconds idle_timeout{30'000};  ///< keep-alive wait for the next one
  std::size_t max_connections = 1024;
};

class server {
 public:
  /// Binds and listens; throws boost::system::system_error when it cannot.
  server(api& service, server_options options);
  ~server();

  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// The address actually bound (the real port when 0 was asked for).
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  /// Serves until shutdown() has completed; runs `threads` threads, this one included.
  void run();

  /// Stops accepting, closes idle connections, lets in-flight requests finish. Idempotent.
  void shutdown();

  /// The number of open connections.
  std::size_t connections() const noexcept { return connections_.load(); }

  /// The executor the server runs on (for a signal_set, for instance).
  boost::asio::io_context::executor_type get_executor() noexcept { return io_.get_executor(); }

 private:
  struct connection;

  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve(std::shared_ptr<connection> conn,
                                     boost::asio::ip::tcp::socket socket, bool over_capacity);

  api& api_;
  server_options options_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> connections_{0};
  std::mutex connections_mutex_;
  std::set<std::shared_ptr<connection>> open_;
};

}  // namespace taskorch::http
