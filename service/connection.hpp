#pragma once
// connection: what the server knows of one open connection, shared by its session and the
// server's registry, and the registry itself. A session holds a `registration` for as long as
// it lives: its destructor takes the connection out of the registry (and out of the count the
// cap is checked against), however the session ends: returning, throwing, or its coroutine
// frame destroyed without being resumed.
//
//   auto conn = std::make_shared<detail::connection>(std::move(socket));
//   auto admitted = registry.enter(conn, cap, stats);   // on the acceptor's strand
//   if (admitted) co_spawn(strand, session(..., std::move(*admitted)).run(), detached);

#include <taskorch/http/metrics.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>

namespace taskorch::http::detail {

/// What a session is doing now.
enum class phase : std::uint8_t {
  waiting,    ///< for the first byte of a request
  reading,    ///< a request's head or body
  handling,   ///< the api has the request
  writing,    ///< the response
  lingering,  ///< draining unread request bytes before closing
};

/// One open connection. Everything but construction runs on the stream's strand.
struct connection {
  explicit connection(boost::asio::ip::tcp::socket socket)
      : stream(std::move(socket)), grace(stream.get_executor()) {}

  /// What a shutdown does to the connection: a session waiting, reading or lingering is
  /// cancelled at once; one writing gets `drain` more; one being handled carries on (and writes
  /// its response under `drain`).
  void on_shutdown(const std::shared_ptr<connection>& self, std::chrono::milliseconds drain) {
    switch (state) {
      case phase::waiting:
      case phase::reading:
      case phase::lingering:
        stream.cancel();
        break;
      case phase::writing:
        grace.expires_after(drain);
        grace.async_wait([self](const boost::system::error_code& ec) {
          if (!ec) self->stream.cancel();
        });
        break;
      case phase::handling:
        break;
    }
  }

  boost::beast::tcp_stream stream;
  boost::asio::steady_timer grace;  ///< cuts a response write short after a shutdown
  phase state = phase::waiting;
};

class connection_registry;

/// A connection's place in the registry; leaves it when destroyed. Move-only.
class registration {
 public:
  registration(connection_registry& registry, std::shared_ptr<connection> conn, bool served,
               http::metrics& stats) noexcept;
  ~registration();
  registration(registration&& other) noexcept;
  registration& operator=(registration&&) = delete;
  registration(const registration&) = delete;

  const std::shared_ptr<connection>& conn() const noexcept { return conn_; }
  /// False for a connection over the cap (answered 503, not counted).
  bool served() const noexcept { return served_; }

 private:
  connection_registry* registry_;
  std::shared_ptr<connection> conn_;
  bool served_;
  http::metrics* stats_;
};

/// The open connections. Thread safety: every member may be called concurrently.
class connection_registry {
 public:
  /// Registers `conn`: served when fewer than `cap` are, over the cap otherwise. Empty once
  /// close() has run (the caller then closes the socket).
  std::optional<registration> enter(const std::shared_ptr<connection>& conn, std::size_t cap,
                                    http::metrics& stats) {
    std::lock_guard lock(mutex_);
    if (closed_) return std::nullopt;
    open_.insert(conn);
    const bool served = served_ < cap;
    if (served) ++served_;
    return std::optional<registration>(std::in_place, *this, conn, served, stats);
  }

  /// Refuses every later enter() and calls `each(conn)` for every open connection.
  template <class Each>
  void close(Each&& each) {
    std::lock_guard lock(mutex_);
    closed_ = true;
    for (const std::shared_ptr<connection>& c : open_) each(c);
  }

  /// The connections served now.
  std::size_t served() const {
    std::lock_guard lock(mutex_);
    return served_;
  }

 private:
  friend class registration;

  void leave(const std::shared_ptr<connection>& conn, bool served) noexcept {
    std::lock_guard lock(mutex_);
    open_.erase(conn);
    if (served) --served_;
  }

  mutable std::mutex mutex_;
  std::set<std::shared_ptr<connection>> open_;
  std::size_t served_ = 0;
  bool closed_ = false;
};

inline registration::registration(connection_registry& registry, std::shared_ptr<connection> conn,
                                  bool served, http::metrics& stats) noexcept
    : registry_(&registry), conn_(std::move(conn)), served_(served), stats_(&stats) {
  if (served_) stats_->count_connection(+1);
}

inline registration::registration(registration&& other) noexcept
    : registry_(other.registry_),
      conn_(std::move(other.conn_)),
      served_(other.served_),
      stats_(other.stats_) {
  other.registry_ = nullptr;
}

inline registration::~registration() {
  if (registry_ == nullptr) return;
  registry_->leave(conn_, served_);
  if (served_) stats_->count_connection(-1);
}

}  // namespace taskorch::http::detail
