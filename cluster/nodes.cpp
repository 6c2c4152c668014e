#include "nodes.hpp"

#include <array>
#include <string>

namespace taskorch::cluster {

namespace asio = boost::asio;

asio::awaitable<void> announce(pg_connection& db, std::string_view node, std::string_view address,
                               std::chrono::milliseconds timeout) {
  const std::array params{pg_param::text(node), pg_param::text(address)};
  co_await db.query(
      "INSERT INTO taskorch_nodes (name, address) VALUES ($1, $2)"
      " ON CONFLICT (name) DO UPDATE SET address = EXCLUDED.address, seen = now()",
      params, timeout);
}

asio::awaitable<void> forget(pg_connection& db, std::string_view node,
                             std::chrono::milliseconds timeout) {
  const std::array params{pg_param::text(node)};
  co_await db.query("DELETE FROM taskorch_nodes WHERE name = $1", params, timeout);
}

asio::awaitable<std::size_t> live_nodes(pg_connection& db, std::chrono::milliseconds within,
                                        std::chrono::milliseconds timeout) {
  const std::string ms = std::to_string(within.count());
  const std::array params{pg_param::text(ms)};
  pg_rows r = co_await db.query(
      "SELECT count(*) FROM taskorch_nodes"
      " WHERE seen > now() - make_interval(secs => $1::double precision / 1000)",
      params, timeout);
  co_return static_cast<std::size_t>(std::stoull(std::string(r.value(0, 0))));
}

asio::awaitable<std::vector<partition_owner>> partition_owners(pg_connection& db,
                                                               std::chrono::milliseconds timeout) {
  pg_rows r = co_await db.query(
      "SELECT p.id, CASE WHEN p.lease_until > now() THEN p.owner END, n.address, p.epoch"
      "  FROM taskorch_partitions AS p"
      "  LEFT JOIN taskorch_nodes AS n ON n.name = p.owner AND p.lease_until > now()"
      " ORDER BY p.id",
      {}, timeout);
  std::vector<partition_owner> owners;
  owners.reserve(r.rows());
  for (std::size_t i = 0; i < r.rows(); ++i) {
    owners.push_back(
        partition_owner{static_cast<std::uint32_t>(std::stoul(std::string(r.value(i, 0)))),
                        std::string(r.value(i, 1)), std::string(r.value(i, 2)),
                        std::stoll(std::string(r.value(i, 3)))});
  }
  co_return owners;
}

}  // namespace taskorch::cluster
