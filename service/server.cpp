#include "connection.hpp"
#include "session.hpp"
#include <taskorch/http/json_writer.hpp>
#include <taskorch/http/metrics.hpp>
#include <taskorch/http/server.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <fcntl.h>
#include <filesystem>
#include <limits>
#include <sys/resource.h>
#include <sys/socket.h>
#include <system_error>
#include <thread>
#include <unistd.h>
#include <vector>

namespace taskorch::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::chrono::milliseconds first_backoff{10};
constexpr std::chrono::milliseconds last_backoff{1000};

/// The address to bind: `host` as an address, or its first IPv4 address, else its first one.
tcp::endpoint resolve(const std::string& host, unsigned short port) {
  boost::system::error_code ec;
  const asio::ip::address address = asio::ip::make_address(host, ec);
  if (!ec) return {address, port};
  asio::io_context io;
  tcp::resolver resolver(io);
  const auto results = resolver.resolve(host, std::to_string(port),
                                        tcp::resolver::numeric_service | tcp::resolver::passive);
  if (results.empty()) throw boost::system::system_error(asio::error::host_not_found);
  for (const auto& entry : results) {
    if (entry.endpoint().address().is_v4()) return entry.endpoint();
  }
  return results.begin()->endpoint();
}

/// The whole 503 response sent to a connection shed at the descriptor limit.
std::string shed_answer() {
  const request_error e = request_error::of(request_errc::over_capacity);
  std::string body;
  write_error(body, e.code, e.en);
  return fmt::format(
      "HTTP/1.1 503 Service Unavailable\r\nServer: taskorch\r\nContent-Type: application/json\r\n"
      "Content-Length: {}\r\nConnection: close\r\n\r\n{}",
      body.size(), body);
}

int open_spare_descriptor() noexcept {
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-vararg): open(2) is variadic in C
  return ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

}  // namespace

server::server(request_handler& handler, server_options options)
    : handler_(handler),
      options_(std::move(options)),
      shed_answer_(shed_answer()),
      registry_(std::make_unique<detail::connection_registry>()),
      io_(static_cast<int>(std::max<std::size_t>(1, options_.threads))),
      acceptor_(asio::make_strand(io_)),
      backoff_(acceptor_.get_executor()) {
  const tcp::endpoint where = resolve(options_.host, options_.port);
  acceptor_.open(where.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(where);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  // Not in the initializer list: opened after binding, which throws when the address is
  // taken, and a constructor that throws runs no destructor to close it.
  // NOLINTNEXTLINE(cppcoreguidelines-prefer-member-initializer)
  spare_descriptor_ = open_spare_descriptor();
  asio::co_spawn(acceptor_.get_executor(), accept_loop(), asio::detached);
}

server::~server() {
  if (spare_descriptor_ >= 0) ::close(spare_descriptor_);
}

tcp::endpoint server::local_endpoint() const { return acceptor_.local_endpoint(); }

std::size_t server::connections() const noexcept { return registry_->served(); }

void server::run() {
  std::vector<std::thread> helpers;
  for (std::size_t i = 1; i < options_.threads; ++i) helpers.emplace_back([this] { io_.run(); });
  io_.run();
  for (std::thread& t : helpers) t.join();
}

void server::shutdown() {
  if (stopping_.exchange(true)) return;
  asio::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    backoff_.cancel();
  });
  // Connections accepted from now on are refused by the registry, so none escapes this.
  registry_->close([drain = options_.drain_timeout](const std::shared_ptr<detail::connection>& c) {
    asio::post(c->stream.get_executor(), [c, drain] { c->on_shutdown(c, drain); });
  });
}

asio::awaitable<void> server::accept_loop() {
  std::chrono::milliseconds delay = first_backoff;
  while (!stopping_) {
    auto strand = asio::make_strand(io_);
    auto [ec, socket] = co_await acceptor_.async_accept(strand, use_tuple);
    if (ec) {
      if (stopping_ || ec == asio::error::operation_aborted) break;
      if (ec == asio::error::no_descriptors ||
          ec == boost::system::errc::too_many_files_open_in_system) {
        // No descriptor for a new connection: answer one waiting client 503 through the spare
        // descriptor, then wait before trying again rather than spinning on the error.
        handler_.stats().count_accept_failure(accept_failure::descriptors);
        shed_one_connection();
        co_await back_off(delay);
      } else if (ec == asio::error::no_buffer_space || ec == asio::error::no_memory) {
        handler_.stats().count_accept_failure(accept_failure::memory);
        co_await back_off(delay);
      } else {
        handler_.stats().count_accept_failure(accept_failure::other);
      }
      continue;
    }
    delay = first_backoff;
    auto conn = std::make_shared<detail::connection>(std::move(socket));
    // Admitted on the acceptor's strand: the cap sees connections in arrival order.
    std::optional<detail::registration> admitted =
        registry_->enter(conn, options_.max_connections, options_.max_refusing, handler_.stats());
    if (!admitted) break;  // shutting down: the socket closes with `conn`
    asio::co_spawn(strand,
                   detail::session::serve(detail::session(handler_, options_, stopping_,
                                                          event_streams_, std::move(*admitted))),
                   asio::detached);
  }
}

asio::awaitable<void> server::back_off(std::chrono::milliseconds& delay) {
  backoff_.expires_after(delay);
  co_await backoff_.async_wait(asio::as_tuple(asio::use_awaitable));
  delay = std::min(delay * 2, last_backoff);
}

void server::shed_one_connection() noexcept {
  if (spare_descriptor_ >= 0) {
    ::close(spare_descriptor_);
    spare_descriptor_ = -1;
  }
  const int fd =
      ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) {
    static_cast<void>(::send(fd, shed_answer_.data(), shed_answer_.size(), MSG_NOSIGNAL));
    ::shutdown(fd, SHUT_WR);
    ::close(fd);
    handler_.stats().count_refused_connection();
  }
  spare_descriptor_ = open_spare_descriptor();
}

std::size_t server::descriptor_capacity(std::size_t reserve) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
    return std::numeric_limits<std::size_t>::max();
  }
  std::size_t open = 0;
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++open;
  }
  if (ec || open == 0) open = 3;  // no /proc: count the standard streams only
  const auto soft = static_cast<std::size_t>(limit.rlim_cur);
  return soft > open + reserve ? soft - open - reserve : 1;
}

}  // namespace taskorch::http
