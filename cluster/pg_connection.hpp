#pragma once
// pg_connection: one connection to PostgreSQL, driven by libpq's asynchronous API on an Asio
// executor, so that no thread ever blocks on the database: connecting (PQconnectStartParams,
// PQconnectPoll), sending one parameterised statement (PQsendQueryParams, non-blocking,
// PQflush) and reading its result (PQconsumeInput, PQisBusy, PQgetResult), each step waiting
// for the socket to be readable or writable.
//
//   auto db = co_await pg_connection::connect(ex, "postgresql://taskorch@127.0.0.1/taskorch",
//                                             {.timeout = 5s, .application_name = "node-a"});
//   const pg_param id = pg_param::text("3");
//   pg_result r = co_await db.query("SELECT epoch FROM taskorch_partitions WHERE id = $1",
//                                   {&id, 1}, 2s);
//   r.rows() == 1; r.value(0, 0) == "7"
//
// Statements are always parameterised: SQL text is never built from what a client sent.
// Errors throw pg_error: a statement refused by the server carries its SQLSTATE (the
// connection stays usable); a connection that fails, or a statement that outlasts its
// timeout, leaves the connection broken (ok() is false, every later call throws): its owner
// opens a new one. A timeout never waits for the server: the connection is closed at once, and
// the server's backend ends its statement when it notices.
//
// Keepalives are on (idle 5 s, then 3 probes 2 s apart) and tcp_user_timeout is 10 s, so a
// half-open connection is noticed in seconds, not in the kernel's default two hours; the
// conninfo may override them.
//
// Thread safety: one statement at a time, from one strand.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

struct pg_conn;
struct pg_result;

namespace taskorch::cluster {

/// A failure of the database or of the connection to it.
class pg_error : public std::runtime_error {
 public:
  pg_error(std::string sqlstate, const std::string& message)
      : std::runtime_error(message), sqlstate_(std::move(sqlstate)) {}
  /// The SQLSTATE the server gave ("40001", "23505", ...), or "" when the connection failed
  /// or timed out.
  const std::string& sqlstate() const noexcept { return sqlstate_; }

 private:
  std::string sqlstate_;
};

/// One parameter of a statement ($1, $2, ...). It views its value: the text must outlive the
/// query (a temporary std::string does not compile).
struct pg_param {
  std::optional<std::string_view> value;  ///< nullopt: SQL NULL
  bool binary = false;                    ///< the bytes as they are (bytea), not text

  static pg_param text(std::string_view v) noexcept { return {v, false}; }
  static pg_param bytes(std::string_view v) noexcept { return {v, true}; }
  static pg_param null() noexcept { return {std::nullopt, false}; }
  static pg_param text(std::string&&) = delete;
  static pg_param bytes(std::string&&) = delete;
};

/// The rows a statement returned, as text.
class pg_rows {
 public:
  explicit pg_rows(::pg_result* result) noexcept;
  std::size_t rows() const noexcept;
  std::size_t columns() const noexcept;
  bool is_null(std::size_t row, std::size_t column) const noexcept;
  /// The text of a value ("" for NULL).
  std::string_view value(std::size_t row, std::size_t column) const noexcept;
  /// The rows an INSERT, UPDATE or DELETE touched (0 for other statements).
  std::size_t affected() const noexcept;

 private:
  struct clear {
    void operator()(::pg_result* r) const noexcept;
  };
  std::unique_ptr<::pg_result, clear> result_;
};

/// How to connect. Trivially destructible on purpose: GCC 12 may destroy a braced temporary
/// inside a co_await expression twice, and `connect(ex, info, {.timeout = 2s})` is one.
struct pg_connect_options {
  std::chrono::milliseconds timeout{5000};  ///< to connect, whatever the conninfo says
  /// Shown in pg_stat_activity ("": libpq's); must stay valid until connect() completes.
  std::string_view application_name;
};

class pg_connection {
 public:
  /// Connects with `conninfo` (a libpq connection string or URI). Throws pg_error.
  static boost::asio::awaitable<pg_connection> connect(boost::asio::any_io_executor ex,
                                                       std::string conninfo,
                                                       pg_connect_options options = {});

  pg_connection(const pg_connection&) = delete;
  pg_connection& operator=(const pg_connection&) = delete;
  pg_connection(pg_connection&&) noexcept;
  pg_connection& operator=(pg_connection&&) noexcept;
  ~pg_connection();

  /// Runs one statement with `params` and returns its rows. Throws pg_error.
  boost::asio::awaitable<pg_rows> query(std::string_view sql, std::span<const pg_param> params,
                                        std::chrono::milliseconds timeout);

  /// False once the connection failed or a statement timed out.
  bool ok() const noexcept;
  /// The server process serving this connection (for pg_terminate_backend in tests).
  int backend_pid() const noexcept;

 private:
  struct state;
  explicit pg_connection(std::unique_ptr<state> s) noexcept;
  std::unique_ptr<state> state_;
};

}  // namespace taskorch::cluster
