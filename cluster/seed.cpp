#include "seed.hpp"

#include "partition_map.hpp"
#include "pg_connection.hpp"
#include "pg_journal_store.hpp"
#include "schema.hpp"
#include <taskorch/engine.hpp>

#include <fmt/format.h>

#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>

namespace taskorch::cluster {

namespace asio = boost::asio;

namespace {

const project_id& project_of(const registration& r) {
  return std::visit([](const auto& spec) -> const project_id& { return spec.project; }, r);
}

/// What seeding one claimed partition did.
enum class outcome { seeded, occupied };

/// Seeds one partition held at `held` with `tasks` through an engine on its journal store
/// (blocking: the engine reads and writes the database). Throws std::runtime_error.
outcome seed_partition(const seed_options& options, const lease& held,
                       std::vector<registration> tasks, std::size_t& registered) {
  engine_options o = options.engine;
  o.storage = {};
  o.storage.store = std::make_shared<pg_journal_store>(
      options.conninfo, pg_journal_store_options{.partition = held.partition,
                                                 .node = options.node,
                                                 .epoch = held.epoch,
                                                 .application_name = options.node});
  engine eng(std::move(o));
  if (eng.storage().recovered) return outcome::occupied;
  error_code ec;
  const batch_result results = eng.register_tasks(std::move(tasks), ec);
  if (ec) throw std::runtime_error(ec.message());
  for (const item_result& item : results) {
    if (!item.ok())
      throw std::runtime_error(fmt::format("job {}: {}", item.id, item.error.message()));
  }
  // Recorded as a checkpoint: a node loading the partition reads it, not the registrations.
  if (const error_code checkpointed = eng.checkpoint()) {
    throw std::runtime_error(fmt::format("the checkpoint failed: {}", checkpointed.message()));
  }
  registered += results.size();
  return outcome::seeded;
}

}  // namespace

asio::awaitable<seed_report> seed(asio::any_io_executor ex, seed_options options,
                                  std::vector<registration> tasks) {
  const pg_connect_options how{.timeout = options.leases.timeout, .application_name = options.node};
  pg_connection db = co_await pg_connection::connect(ex, options.conninfo, how);
  const schema_info schema = co_await ensure_schema(db, options.partitions);
  std::map<std::uint32_t, std::vector<registration>> by_partition;
  for (registration& r : tasks) {
    by_partition[partition_of(project_of(r), schema.partitions)].push_back(std::move(r));
  }
  seed_report report;
  for (auto& [partition, part] : by_partition) {
    const std::optional<lease> held = co_await claim(db, options.node, partition, options.leases);
    if (!held) {
      report.occupied.push_back(partition);
      continue;
    }
    std::optional<outcome> done;
    std::string failure;
    try {
      done = seed_partition(options, *held, std::move(part), report.tasks);
    } catch (const std::exception& e) {
      failure = e.what();
    }
    co_await release(db, options.node, *held, options.leases);
    if (!done) throw std::runtime_error(fmt::format("partition {}: {}", partition, failure));
    (*done == outcome::seeded ? report.seeded : report.occupied).push_back(partition);
  }
  co_return report;
}

}  // namespace taskorch::cluster
