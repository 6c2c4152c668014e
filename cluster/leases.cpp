#include "leases.hpp"

#include <algorithm>
#include <array>
#include <string>

namespace taskorch::cluster {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

namespace {

/// A PostgreSQL array literal of `values`, e.g. "{1,2,3}".
template <class Values, class Text>
std::string array_literal(const Values& values, Text text) {
  std::string out = "{";
  for (const auto& v : values) {
    if (out.size() > 1) out += ',';
    out += text(v);
  }
  out += '}';
  return out;
}

/// The local deadline of a lease the database granted for `remaining_ms` more milliseconds,
/// asked at `sent`.
clock::time_point deadline_of(clock::time_point sent, std::string_view remaining_ms,
                              const lease_options& options) {
  const std::chrono::milliseconds remaining(std::stoll(std::string(remaining_ms)));
  return sent + remaining - options.margin;
}

std::uint32_t to_partition(std::string_view text) {
  return static_cast<std::uint32_t>(std::stoul(std::string(text)));
}

}  // namespace

asio::awaitable<std::optional<lease>> claim(pg_connection& db, std::string_view node,
                                            std::uint32_t partition, const lease_options& options) {
  const std::string id = std::to_string(partition);
  const std::string duration = std::to_string(options.duration.count());
  const std::array params{pg_param::text(id), pg_param::text(node), pg_param::text(duration)};
  const clock::time_point sent = clock::now();
  pg_rows r = co_await db.query(
      "UPDATE taskorch_partitions"
      "   SET owner = $2, epoch = epoch + 1,"
      "       lease_until = now() + $3::bigint * interval '1 millisecond'"
      " WHERE id = $1::integer AND (owner IS NULL OR lease_until < now())"
      " RETURNING epoch, (extract(epoch FROM lease_until - now()) * 1000)::bigint",
      params, options.timeout);
  if (r.rows() == 0) co_return std::nullopt;
  co_return lease{partition, std::stoll(std::string(r.value(0, 0))),
                  deadline_of(sent, r.value(0, 1), options)};
}

asio::awaitable<std::vector<lease>> renew(pg_connection& db, std::string_view node,
                                          std::span<const lease> held,
                                          const lease_options& options) {
  std::vector<lease> kept;
  if (held.empty()) co_return kept;
  const std::string duration = std::to_string(options.duration.count());
  const std::string ids =
      array_literal(held, [](const lease& l) { return std::to_string(l.partition); });
  const std::string epochs =
      array_literal(held, [](const lease& l) { return std::to_string(l.epoch); });
  const std::array params{pg_param::text(node), pg_param::text(duration), pg_param::text(ids),
                          pg_param::text(epochs)};
  const clock::time_point sent = clock::now();
  pg_rows r = co_await db.query(
      "UPDATE taskorch_partitions AS p"
      "   SET lease_until = now() + $2::bigint * interval '1 millisecond'"
      "  FROM unnest($3::integer[], $4::bigint[]) AS mine(id, epoch)"
      " WHERE p.id = mine.id AND p.epoch = mine.epoch AND p.owner = $1"
      " RETURNING p.id, p.epoch, (extract(epoch FROM p.lease_until - now()) * 1000)::bigint",
      params, options.timeout);
  kept.reserve(r.rows());
  for (std::size_t i = 0; i < r.rows(); ++i) {
    kept.push_back(lease{to_partition(r.value(i, 0)), std::stoll(std::string(r.value(i, 1))),
                         deadline_of(sent, r.value(i, 2), options)});
  }
  std::sort(kept.begin(), kept.end(),
            [](const lease& a, const lease& b) { return a.partition < b.partition; });
  co_return kept;
}

asio::awaitable<void> release(pg_connection& db, std::string_view node, const lease& held,
                              const lease_options& options) {
  const std::string id = std::to_string(held.partition);
  const std::string epoch = std::to_string(held.epoch);
  const std::array params{pg_param::text(id), pg_param::text(epoch), pg_param::text(node)};
  co_await db.query(
      "UPDATE taskorch_partitions SET owner = NULL, lease_until = NULL"
      " WHERE id = $1::integer AND epoch = $2::bigint AND owner = $3",
      params, options.timeout);
}

asio::awaitable<std::vector<std::uint32_t>> fenced_partitions(pg_connection& db,
                                                              std::string_view node,
                                                              std::span<const lease> held,
                                                              const lease_options& options) {
  std::vector<std::uint32_t> moved;
  if (held.empty()) co_return moved;
  const std::string ids =
      array_literal(held, [](const lease& l) { return std::to_string(l.partition); });
  const std::array params{pg_param::text(ids)};
  pg_rows r = co_await db.query(
      "SELECT id, epoch, owner FROM taskorch_partitions WHERE id = ANY($1::integer[])"
      " ORDER BY id FOR SHARE",
      params, options.timeout);
  for (const lease& l : held) {
    bool same = false;
    for (std::size_t i = 0; i < r.rows(); ++i) {
      if (to_partition(r.value(i, 0)) != l.partition) continue;
      same = std::stoll(std::string(r.value(i, 1))) == l.epoch && !r.is_null(i, 2) &&
             r.value(i, 2) == node;
    }
    if (!same) moved.push_back(l.partition);
  }
  co_return moved;
}

}  // namespace taskorch::cluster
