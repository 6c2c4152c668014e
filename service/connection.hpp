#pragma once
// connection: what the server knows of one open connection, shared by its session and the
// server's registry, and the registry itself. A session holds a `registration` for as long as
// it lives: its destructor takes the connection out of the registry (and out of the count the
// cap is checked against), however the session ends: returning, throwing, or its coroutine
// frame destroyed without being resumed.
//
//   auto conn = std::make_shared<detail::connection>(std::move(socket));
//   auto admitted = registry.enter(conn, cap, max_refusing, stats);  // on the acceptor's strand
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
  streaming,  ///< an event stream: the rest of the connection is its events
};

/// One open connection. Everything but construction runs on the stream's strand.
struct connection {
  explicit connection(boost::asio::ip::tcp::socket socket)
      : stream(std::move(socket)), grace(stream.get_executor()) {}

  /// What a shutdown does to the connection: a session waiting, reading or lingering, or an
  /// event stream, is cancelled at once; one writing gets `drain` more; one being handled
  /// carries on (and writes its response under `drain`).
  void on_shutdown(const std::shared_ptr<connection>& self, std::chrono::milliseconds drain) {
    switch (state) {
      case phase::waiting:
      case phase::reading:
      case phase::lingering:
      case phase::streaming:
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

/// What the registry admitted a connection as.
enum class admission : std::uint8_t {
  served,   ///< under the cap: its requests are served
  refused,  ///< over the cap: answered 503, then closed after draining what the client sends
  shed,     ///< over the cap while many are being refused: answered 503 and closed at once
};

/// A connection's place in the registry; leaves it when destroyed. Move-only.
class registration {
 public:
  registration(connection_registry& registry, std::shared_ptr<connection> conn, admission kind,
               http::metrics& stats) noexcept;
  ~registration();
  registration(registration&& other) noexcept;
  registration& operator=(registration&&) = delete;
  registration(const registration&) = delete;
  registration& operator=(const registration&) = delete;

  const std::shared_ptr<connection>& conn() const noexcept { return conn_; }
  admission kind() const noexcept { return kind_; }

 private:
  connection_registry* registry_;
  std::shared_ptr<connection> conn_;
  admission kind_;
  http::metrics* stats_;
};

/// The open connections. Two counts bound the descriptors they hold: the connections served
/// (the cap) and those being refused with a drain (`max_refusing`); over both, a connection is
/// shed. Thread safety: every member may be called concurrently.
class connection_registry {
 public:
  /// Registers `conn`. Empty once close() has run (the caller then closes the socket).
  std::optional<registration> enter(const std::shared_ptr<connection>& conn, std::size_t cap,
                                    std::size_t max_refusing, http::metrics& stats) {
    std::lock_guard lock(mutex_);
    if (closed_) return std::nullopt;
    open_.insert(conn);
    admission kind = admission::shed;
    if (served_ < cap) {
      kind = admission::served;
      ++served_;
    } else if (refusing_ < max_refusing) {
      kind = admission::refused;
      ++refusing_;
    }
    return std::optional<registration>(std::in_place, *this, conn, kind, stats);
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

  void leave(const std::shared_ptr<connection>& conn, admission kind) noexcept {
    std::lock_guard lock(mutex_);
    open_.erase(conn);
    if (kind == admission::served) --served_;
    if (kind == admission::refused) --refusing_;
  }

  mutable std::mutex mutex_;
  std::set<std::shared_ptr<connection>> open_;
  std::size_t served_ = 0;
  std::size_t refusing_ = 0;
  bool closed_ = false;
};

inline registration::registration(connection_registry& registry, std::shared_ptr<connection> conn,
                                  admission kind, http::metrics& stats) noexcept
    : registry_(&registry), conn_(std::move(conn)), kind_(kind), stats_(&stats) {
  if (kind_ == admission::served) stats_->count_connection(+1);
}

inline registration::registration(registration&& other) noexcept
    : registry_(other.registry_),
      conn_(std::move(other.conn_)),
      kind_(other.kind_),
      stats_(other.stats_) {
  other.registry_ = nullptr;
}

inline registration::~registration() {
  if (registry_ == nullptr) return;
  registry_->leave(conn_, kind_);
  if (kind_ == admission::served) stats_->count_connection(-1);
}

}  // namespace taskorch::http::detail
