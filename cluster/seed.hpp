#pragma once
// seed: the tasks a cluster's database starts with (taskorch-server --postgres with --fleet, or
// the demo fleet), written partition by partition (docs/scale-out.md, "Starting"). Each
// partition that has tasks to seed is claimed, loaded, checked to hold nothing, given its
// tasks (one batch: one transaction) and released, so that two servers seeding at once never
// both write one partition, and a partition that holds tasks already is never added to.
//
//   seed_report r = co_await seed(ex, {.conninfo = c, .node = "node-a", .partitions = 16},
//                                 std::move(tasks));
//   r.seeded;     // partitions given their tasks by this call
//   r.occupied;   // partitions that held tasks already, or that another node held

#include "leases.hpp"
#include <taskorch/engine_options.hpp>
#include <taskorch/task_spec.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace taskorch::cluster {

/// Where and as whom to seed.
struct seed_options {
  std::string conninfo;
  std::string node;
  std::uint32_t partitions = 16;  ///< of a database this call creates
  lease_options leases;
  engine_options engine;  ///< of the engine each partition is seeded through
};

/// What seeding did, by partition.
struct seed_report {
  std::vector<std::uint32_t> seeded;    ///< given their tasks
  std::vector<std::uint32_t> occupied;  ///< left alone: holding tasks, or held by a node
  std::size_t tasks = 0;                ///< registered in all
};

/// Creates the tables when missing, then seeds each partition that `tasks` has tasks of.
/// Throws pg_error or std::runtime_error when the database fails, or a registration is
/// refused (a task that does not register: the partition is then released unseeded).
boost::asio::awaitable<seed_report> seed(boost::asio::any_io_executor ex, seed_options options,
                                         std::vector<registration> tasks);

}  // namespace taskorch::cluster
