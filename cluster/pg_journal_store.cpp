#include "pg_journal_store.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <fmt/format.h>

#include <array>
#include <charconv>
#include <exception>
#include <optional>
#include <span>
#include <stdexcept>
#include <utility>
#include <vector>

namespace taskorch::cluster {

namespace asio = boost::asio;
using std::chrono::milliseconds;

/// One thread's way to the database: a connection, opened when first needed and dropped after
/// any failure, and the io_context that drives it on the calling thread.
struct pg_journal_store::channel {
  std::mutex busy;  ///< one call at a time (the engine makes them from one thread anyway)
  asio::io_context io;
  std::optional<pg_connection> db;  ///< after io: destroyed before it
};

namespace {

asio::awaitable<pg_rows> run(pg_connection& db, std::string_view sql, milliseconds timeout) {
  co_return co_await db.query(sql, {}, timeout);
}

/// Opens a connection whose server side bounds statements, and idling inside a transaction, by
/// `timeout` too.
asio::awaitable<pg_connection> open(asio::any_io_executor ex, std::string conninfo,
                                    pg_connect_options options, milliseconds timeout) {
  pg_connection db = co_await pg_connection::connect(std::move(ex), std::move(conninfo), options);
  const std::string ms = std::to_string(timeout.count());
  const std::array params{pg_param::text(ms)};
  co_await db.query(
      "SELECT set_config('statement_timeout', $1, false),"
      "       set_config('idle_in_transaction_session_timeout', $1, false)",
      params, timeout);
  co_return db;
}

/// Inside a transaction: whether `node` still holds the partition at its epoch; its row stays
/// locked FOR SHARE until the transaction ends, so no claim moves the epoch meanwhile.
asio::awaitable<bool> still_held(pg_connection& db, const pg_journal_store_options& o,
                                 const lease_options& fence) {
  const std::array held{lease{o.partition, o.epoch, {}}};
  const std::vector<std::uint32_t> moved = co_await fenced_partitions(db, o.node, held, fence);
  co_return moved.empty();
}

/// Rolls a fenced transaction back; a failure is ignored: the connection is dropped anyway.
asio::awaitable<void> roll_back(pg_connection& db, milliseconds timeout) {
  try {
    co_await run(db, "ROLLBACK", timeout);
  } catch (const pg_error&) {  // NOLINT(bugprone-empty-catch): nothing to undo, see above
  }
}

std::uint64_t to_lsn(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    throw std::runtime_error(fmt::format("the database returned a bad lsn: \"{}\"", text));
  }
  return value;
}

/// The bytes of encode(..., 'hex').
std::string unhex(std::string_view hex) {
  const auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) throw std::runtime_error("the database returned odd hex bytes");
  std::string out(hex.size() / 2, '\0');
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int high = digit(hex[2 * i]);
    const int low = digit(hex[2 * i + 1]);
    if (high < 0 || low < 0) throw std::runtime_error("the database returned bad hex bytes");
    out[i] = static_cast<char>((high << 4) | low);
  }
  return out;
}

/// libpq sends a parameter with a null pointer as NULL: an empty view must point somewhere.
std::string_view non_null(std::string_view bytes) noexcept {
  return bytes.data() != nullptr ? bytes : std::string_view("");
}

}  // namespace

pg_journal_store::pg_journal_store(std::string conninfo, pg_journal_store_options options)
    : conninfo_(std::move(conninfo)),
      options_(std::move(options)),
      fence_options_{.timeout = options_.statement_timeout},
      writer_(std::make_unique<channel>()),
      checkpointer_(std::make_unique<channel>()) {}

pg_journal_store::~pg_journal_store() = default;

std::string pg_journal_store::name() const {
  return fmt::format("PostgreSQL partition {}", options_.partition);
}

bool pg_journal_store::fenced() const noexcept { return fenced_.load(); }

std::string pg_journal_store::last_failure() const {
  const std::lock_guard lock(failure_mutex_);
  return last_failure_;
}

void pg_journal_store::note_failure(std::string why) {
  const std::lock_guard lock(failure_mutex_);
  last_failure_ = std::move(why);
}

/// Runs `body(connection)` (an awaitable of T) to its end on the channel's io_context, on this
/// thread, connecting first when the channel has no connection. Throws what it threw, after
/// dropping the connection: a failed statement may leave it broken or inside a transaction.
template <class T, class Body>
T pg_journal_store::drive(channel& ch, Body body) {
  std::optional<T> result;
  std::exception_ptr failed;
  auto call = [&]() -> asio::awaitable<void> {
    if (ch.db && !ch.db->ok()) ch.db.reset();
    if (!ch.db) {
      const pg_connect_options connect{.timeout = options_.connect_timeout,
                                       .application_name = options_.application_name};
      pg_connection db =
          co_await open(ch.io.get_executor(), conninfo_, connect, options_.statement_timeout);
      ch.db.emplace(std::move(db));
    }
    T value = co_await body(*ch.db);
    result.emplace(std::move(value));
  };
  ch.io.restart();
  asio::co_spawn(ch.io, call, [&failed](const std::exception_ptr& e) { failed = e; });
  ch.io.run();
  if (failed || !result) {
    ch.db.reset();
    if (failed) std::rethrow_exception(failed);
    throw std::runtime_error("the call to the database did not finish");
  }
  return std::move(*result);
}

/// A fenced write: `body` says whether it wrote or found the partition moved.
template <class Body>
std::error_code pg_journal_store::write(channel& ch, Body body) {
  if (fenced_.load()) return cluster_errc::fenced;
  const std::lock_guard lock(ch.busy);
  outcome o = outcome::written;
  try {
    o = drive<outcome>(ch, std::move(body));
  } catch (const std::exception& e) {
    note_failure(e.what());
    return cluster_errc::database_unavailable;
  }
  if (o == outcome::fenced) {
    fenced_.store(true);
    ch.db.reset();  // never used again
    note_failure(fmt::format("{}: node {} no longer holds the partition at epoch {}", name(),
                             options_.node, options_.epoch));
    return cluster_errc::fenced;
  }
  return {};
}

std::error_code pg_journal_store::append(std::uint64_t first_lsn, std::uint64_t last_lsn,
                                         std::string_view records) {
  const std::string partition = std::to_string(options_.partition);
  const std::string first = std::to_string(first_lsn);
  const std::string last = std::to_string(last_lsn);
  const std::array params{pg_param::text(partition), pg_param::text(first), pg_param::text(last),
                          pg_param::bytes(non_null(records))};
  const milliseconds timeout = options_.statement_timeout;
  return write(*writer_, [&](pg_connection& db) -> asio::awaitable<outcome> {
    co_await run(db, "BEGIN", timeout);
    if (!co_await still_held(db, options_, fence_options_)) {
      co_await roll_back(db, timeout);
      co_return outcome::fenced;
    }
    co_await db.query(
        "INSERT INTO taskorch_journal (partition, first_lsn, last_lsn, records)"
        " VALUES ($1::integer, $2::bigint, $3::bigint, $4::bytea)",
        params, timeout);
    co_await run(db, "COMMIT", timeout);
    co_return outcome::written;
  });
}

std::error_code pg_journal_store::checkpoint(std::uint64_t lsn, std::string_view image) {
  const std::string partition = std::to_string(options_.partition);
  const std::string at = std::to_string(lsn);
  const std::array params{pg_param::text(partition), pg_param::text(at),
                          pg_param::bytes(non_null(image))};
  const std::span<const pg_param> covered(params.data(), 2);
  const milliseconds timeout = options_.statement_timeout;
  return write(*checkpointer_, [&](pg_connection& db) -> asio::awaitable<outcome> {
    co_await run(db, "BEGIN", timeout);
    if (!co_await still_held(db, options_, fence_options_)) {
      co_await roll_back(db, timeout);
      co_return outcome::fenced;
    }
    // A checkpoint older than the stored one is not stored (the groups it covers are covered
    // by the stored one too).
    co_await db.query(
        "INSERT INTO taskorch_checkpoints AS c (partition, lsn, image)"
        " VALUES ($1::integer, $2::bigint, $3::bytea)"
        " ON CONFLICT (partition) DO UPDATE SET lsn = excluded.lsn, image = excluded.image"
        " WHERE c.lsn < excluded.lsn",
        params, timeout);
    co_await db.query(
        "DELETE FROM taskorch_journal WHERE partition = $1::integer AND last_lsn <= $2::bigint",
        covered, timeout);
    co_await run(db, "COMMIT", timeout);
    co_return outcome::written;
  });
}

stored_journal pg_journal_store::load() {
  const std::string partition = std::to_string(options_.partition);
  const std::string bound = std::to_string(options_.load_timeout.count());
  const std::array ids{pg_param::text(partition)};
  const std::array local_timeout{pg_param::text(bound)};
  const milliseconds timeout = options_.load_timeout;
  const std::lock_guard lock(writer_->busy);
  try {
    return drive<stored_journal>(
        *writer_, [&](pg_connection& db) -> asio::awaitable<stored_journal> {
          co_await run(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", timeout);
          co_await db.query(
              "SELECT set_config('statement_timeout', $1, true),"
              "       set_config('idle_in_transaction_session_timeout', $1, true)",
              local_timeout, timeout);
          const pg_rows image = co_await db.query(
              "SELECT lsn, encode(image, 'hex') FROM taskorch_checkpoints"
              " WHERE partition = $1::integer",
              ids, timeout);
          stored_journal j;
          if (image.rows() == 1) j.checkpoint_lsn = to_lsn(image.value(0, 0));
          // A group the checkpoint covers only in part is returned whole: recovery skips the
          // records the checkpoint holds.
          const std::string after = std::to_string(j.checkpoint_lsn);
          const std::array params{pg_param::text(partition), pg_param::text(after)};
          const pg_rows groups = co_await db.query(
              "SELECT first_lsn, last_lsn, encode(records, 'hex') FROM taskorch_journal"
              " WHERE partition = $1::integer AND last_lsn > $2::bigint ORDER BY first_lsn",
              params, timeout);
          co_await run(db, "COMMIT", timeout);
          // The bytes are decoded after the transaction: none of it idles meanwhile.
          if (image.rows() == 1) j.checkpoint = unhex(image.value(0, 1));
          j.groups.reserve(groups.rows());
          for (std::size_t i = 0; i < groups.rows(); ++i) {
            stored_journal::group g;
            g.first_lsn = to_lsn(groups.value(i, 0));
            g.last_lsn = to_lsn(groups.value(i, 1));
            g.records = unhex(groups.value(i, 2));
            j.groups.push_back(std::move(g));
          }
          co_return j;
        });
  } catch (const std::exception& e) {
    note_failure(e.what());
    throw std::runtime_error(fmt::format("{}: cannot load the journal: {}", name(), e.what()));
  }
}

}  // namespace taskorch::cluster
