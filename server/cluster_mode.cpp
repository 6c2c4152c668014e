#include "cluster_mode.hpp"

#include "seed.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <fmt/format.h>

#include <stdexcept>
#include <utility>

namespace taskorch::app {

namespace asio = boost::asio;

namespace {

cluster::lease_options leases_of(const command_line& o) {
  return {
      .duration = o.lease, .margin = o.lease / 5, .timeout = std::min(o.lease / 3, o.renew * 2)};
}

engine_options engine_of(const command_line& o) {
  // Each partition held has an engine of its own: a few threads each, not one per core, and
  // one shard per thread: a batch's changes on one shard are one transaction, so with the
  // default single thread a batch is one transaction (docs/scale-out.md).
  return {.threads = o.engine_threads != 0 ? o.engine_threads : 1,
          .shards = 0,
          .max_batch_items = o.api.max_jobs,
          .feed_capacity = o.feed_capacity};
}

/// The partitions in `list` as text ("0, 3, 7").
std::string listed(const std::vector<std::uint32_t>& list) {
  return fmt::format("{}", fmt::join(list, ", "));
}

}  // namespace

cluster_mode::cluster_mode(const command_line& o)
    : options_(o), work_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}

cluster_mode::~cluster_mode() {
  stop();
  work_.reset();
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

http::project_home cluster_mode::find(const project_id& project) const {
  const cluster::node* joined = joined_.load(std::memory_order_acquire);
  return joined != nullptr ? joined->find(project) : http::project_home{};
}

std::vector<std::shared_ptr<engine>> cluster_mode::engines() const {
  const cluster::node* joined = joined_.load(std::memory_order_acquire);
  return joined != nullptr ? joined->engines() : std::vector<std::shared_ptr<engine>>();
}

std::string cluster_mode::start(const std::string& advertise, std::vector<registration> tasks,
                                bool fleet_given) {
  const std::string name = options_.node_name.empty() ? advertise : options_.node_name;
  const std::size_t count = tasks.size();
  cluster::seed_options seeding{.conninfo = options_.postgres,
                                .node = name,
                                .partitions = options_.partitions,
                                .leases = leases_of(options_),
                                .engine = engine_of(options_)};
  const cluster::seed_report seeded =
      asio::co_spawn(io_, cluster::seed(io_.get_executor(), std::move(seeding), std::move(tasks)),
                     asio::use_future)
          .get();
  if (fleet_given && !seeded.occupied.empty()) {
    throw std::runtime_error(fmt::format(
        "--fleet: the database already holds tasks of partition(s) {} (or another server holds "
        "them); the fleet is loaded into an empty database only",
        listed(seeded.occupied)));
  }
  node_ = std::make_unique<cluster::node>(io_.get_executor(),
                                          cluster::node_options{.conninfo = options_.postgres,
                                                                .name = name,
                                                                .address = advertise,
                                                                .partitions = options_.partitions,
                                                                .leases = leases_of(options_),
                                                                .renew_interval = options_.renew,
                                                                .engine = engine_of(options_)});
  asio::co_spawn(io_, node_->start(), asio::use_future).get();
  started_ = true;
  joined_.store(node_.get(), std::memory_order_release);
  std::string line = fmt::format("registry: PostgreSQL, node {} at {}, {} partitions, holding {}",
                                 name, advertise, node_->partitions(), listed(node_->held()));
  if (!seeded.seeded.empty()) {
    line += fmt::format("; seeded {} of {} tasks into partition(s) {}", seeded.tasks, count,
                        listed(seeded.seeded));
  }
  return line;
}

void cluster_mode::stop() {
  if (!started_) return;
  started_ = false;
  joined_.store(nullptr, std::memory_order_release);
  asio::co_spawn(io_, node_->stop(), asio::use_future).get();
}

}  // namespace taskorch::app
