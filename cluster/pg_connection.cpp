#include "pg_connection.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <array>
#include <libpq-fe.h>
#include <utility>
#include <vector>

namespace taskorch::cluster {

namespace asio = boost::asio;
// NOLINTNEXTLINE(misc-unused-using-decls): used by wait(), for `a || b` of two awaitables
using boost::asio::experimental::awaitable_operators::operator||;
using descriptor = asio::posix::stream_descriptor;
using clock = std::chrono::steady_clock;

void pg_rows::clear::operator()(::pg_result* r) const noexcept { PQclear(r); }

pg_rows::pg_rows(::pg_result* result) noexcept : result_(result) {}

std::size_t pg_rows::rows() const noexcept {
  return static_cast<std::size_t>(PQntuples(result_.get()));
}

std::size_t pg_rows::columns() const noexcept {
  return static_cast<std::size_t>(PQnfields(result_.get()));
}

bool pg_rows::is_null(std::size_t row, std::size_t column) const noexcept {
  return PQgetisnull(result_.get(), static_cast<int>(row), static_cast<int>(column)) != 0;
}

std::string_view pg_rows::value(std::size_t row, std::size_t column) const noexcept {
  const int r = static_cast<int>(row);
  const int c = static_cast<int>(column);
  return {PQgetvalue(result_.get(), r, c),
          static_cast<std::size_t>(PQgetlength(result_.get(), r, c))};
}

std::size_t pg_rows::affected() const noexcept {
  const std::string_view n = PQcmdTuples(result_.get());
  std::size_t count = 0;
  for (const char c : n) count = count * 10 + static_cast<std::size_t>(c - '0');
  return count;
}

struct result_clear {
  void operator()(::pg_result* r) const noexcept { PQclear(r); }
};
using result = std::unique_ptr<::pg_result, result_clear>;

struct pg_connection::state {
  explicit state(const asio::any_io_executor& ex) : socket(ex) {}
  state(const state&) = delete;
  state& operator=(const state&) = delete;
  ~state() { close(); }

  /// Forgets the socket (libpq owns it), then closes the connection.
  void close() noexcept {
    if (socket.is_open()) socket.release();
    if (conn != nullptr) PQfinish(conn);
    conn = nullptr;
  }

  /// Watches libpq's current socket.
  void watch() {
    if (socket.is_open()) socket.release();
    socket.assign(PQsocket(conn));
  }

  /// Marks the connection broken and throws why.
  [[noreturn]] void fail(const std::string& why) {
    std::string message = why;
    if (conn != nullptr && *PQerrorMessage(conn) != '\0') {
      message += ": " + std::string(PQerrorMessage(conn));
    }
    while (!message.empty() && message.back() == '\n') message.pop_back();
    close();
    throw pg_error("", message);
  }

  /// Waits until the socket is ready for `what`s (read, write or both); throws a broken
  /// connection's pg_error at `deadline`.
  asio::awaitable<void> wait(bool read, bool write, clock::time_point deadline, const char* doing) {
    asio::steady_timer timer(socket.get_executor(), deadline);
    if (read && write) {
      auto readable = socket.async_wait(descriptor::wait_read, asio::use_awaitable);
      auto writable = socket.async_wait(descriptor::wait_write, asio::use_awaitable);
      auto expired = timer.async_wait(asio::use_awaitable);
      auto first = co_await (std::move(readable) || std::move(writable) || std::move(expired));
      if (first.index() == 2) fail(std::string(doing) + " timed out");
      co_return;
    }
    auto ready = socket.async_wait(read ? descriptor::wait_read : descriptor::wait_write,
                                   asio::use_awaitable);
    auto expired = timer.async_wait(asio::use_awaitable);
    auto first = co_await (std::move(ready) || std::move(expired));
    if (first.index() == 1) fail(std::string(doing) + " timed out");
  }

  /// Sends one statement and its parameters, all of it (the socket may take it in pieces).
  asio::awaitable<void> send(std::string_view sql, std::span<const pg_param> params,
                             clock::time_point deadline) {
    // libpq reads text parameters up to their NUL: they are copied; binary ones are not.
    const std::string statement(sql);
    std::vector<std::string> texts;
    texts.reserve(params.size());
    std::vector<const char*> values(params.size());
    std::vector<int> lengths(params.size());
    std::vector<int> formats(params.size());
    for (std::size_t i = 0; i < params.size(); ++i) {
      const pg_param& p = params[i];
      if (!p.value) continue;
      formats[i] = p.binary ? 1 : 0;
      lengths[i] = static_cast<int>(p.value->size());
      values[i] = p.binary ? p.value->data() : texts.emplace_back(*p.value).c_str();
    }
    if (PQsendQueryParams(conn, statement.c_str(), static_cast<int>(params.size()), nullptr,
                          values.data(), lengths.data(), formats.data(), 0) == 0) {
      fail("cannot send a statement to PostgreSQL");
    }
    for (int flushed = PQflush(conn); flushed != 0; flushed = PQflush(conn)) {
      if (flushed < 0) fail("cannot send a statement to PostgreSQL");
      co_await wait(true, true, deadline, "sending a statement to PostgreSQL");
      if (PQconsumeInput(conn) == 0) fail("the connection to PostgreSQL failed");
    }
  }

  /// Reads the statement's results to the end: its rows, or the server's error as pg_error
  /// (the connection stays usable then).
  asio::awaitable<pg_rows> receive(clock::time_point deadline) {
    result last;
    result error;
    for (;;) {
      while (PQisBusy(conn) != 0) {
        co_await wait(true, false, deadline, "waiting for PostgreSQL");
        if (PQconsumeInput(conn) == 0) fail("the connection to PostgreSQL failed");
      }
      result r(PQgetResult(conn));
      if (!r) break;
      const ExecStatusType status = PQresultStatus(r.get());
      const bool failed = status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE ||
                          status == PGRES_NONFATAL_ERROR;
      if (!failed) {
        last = std::move(r);
      } else if (!error) {
        error = std::move(r);
      }
    }
    if (PQstatus(conn) != CONNECTION_OK) fail("the connection to PostgreSQL failed");
    if (error) {
      const char* code = PQresultErrorField(error.get(), PG_DIAG_SQLSTATE);
      std::string message = PQresultErrorMessage(error.get());
      while (!message.empty() && message.back() == '\n') message.pop_back();
      throw pg_error(code != nullptr ? code : "", message);
    }
    if (!last) throw pg_error("", "PostgreSQL answered nothing");
    co_return pg_rows(last.release());
  }

  descriptor socket;
  PGconn* conn = nullptr;
  int pid = 0;
};

asio::awaitable<pg_connection> pg_connection::connect(asio::any_io_executor ex,
                                                      std::string conninfo,
                                                      pg_connect_options options) {
  auto s = std::make_unique<state>(ex);
  // Defaults first: what the conninfo (expanded from dbname, last) says overrides them.
  std::vector<const char*> keywords{"keepalives", "keepalives_idle", "keepalives_interval",
                                    "keepalives_count", "tcp_user_timeout"};
  std::vector<const char*> values{"1", "5", "2", "3", "10000"};
  const std::string application_name(options.application_name);
  if (!application_name.empty()) {
    keywords.push_back("application_name");
    values.push_back(application_name.c_str());
  }
  keywords.push_back("dbname");
  values.push_back(conninfo.c_str());
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  s->conn = PQconnectStartParams(keywords.data(), values.data(), 1);
  if (s->conn == nullptr) throw pg_error("", "cannot connect to PostgreSQL: out of memory");
  if (PQstatus(s->conn) == CONNECTION_BAD) s->fail("cannot connect to PostgreSQL");

  const clock::time_point deadline = clock::now() + options.timeout;
  PostgresPollingStatusType polling = PGRES_POLLING_WRITING;
  while (polling != PGRES_POLLING_OK) {
    if (polling == PGRES_POLLING_FAILED) s->fail("cannot connect to PostgreSQL");
    // libpq may close its socket and open another between polls (another host, SSL
    // fallback): the socket is watched anew each time.
    s->watch();
    co_await s->wait(polling == PGRES_POLLING_READING, polling == PGRES_POLLING_WRITING, deadline,
                     "connecting to PostgreSQL");
    s->socket.release();
    polling = PQconnectPoll(s->conn);
  }
  if (PQsetnonblocking(s->conn, 1) != 0) s->fail("cannot use PostgreSQL's connection");
  s->watch();
  s->pid = PQbackendPID(s->conn);
  co_return pg_connection(std::move(s));
}

pg_connection::pg_connection(std::unique_ptr<state> s) noexcept : state_(std::move(s)) {}
pg_connection::pg_connection(pg_connection&&) noexcept = default;
pg_connection& pg_connection::operator=(pg_connection&&) noexcept = default;
pg_connection::~pg_connection() = default;

bool pg_connection::ok() const noexcept {
  return state_ && state_->conn != nullptr && PQstatus(state_->conn) == CONNECTION_OK;
}

int pg_connection::backend_pid() const noexcept { return state_ ? state_->pid : 0; }

asio::awaitable<pg_rows> pg_connection::query(std::string_view sql,
                                              std::span<const pg_param> params,
                                              std::chrono::milliseconds timeout) {
  if (!ok()) throw pg_error("", "the connection to PostgreSQL is closed");
  const clock::time_point deadline = clock::now() + timeout;
  co_await state_->send(sql, params, deadline);
  co_return co_await state_->receive(deadline);
}

}  // namespace taskorch::cluster
