#include "node.hpp"

#include "partition_map.hpp"
#include "schema.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <exception>
#include <functional>
#include <map>
#include <string_view>
#include <utility>

namespace taskorch::cluster {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

node::node(const asio::any_io_executor& ex, node_options options)
    : ex_(asio::make_strand(ex)), options_(std::move(options)), timer_(ex_) {}

node::~node() { loader_.join(); }

bool node::serving(const holding& h, clock::time_point now) noexcept {
  return h.eng && now < h.held.deadline && !h.store->fenced();
}

std::uint32_t node::share(std::size_t live) const noexcept {
  const auto n = static_cast<std::uint32_t>(std::max<std::size_t>(live, 1));
  return (partitions_ + n - 1) / n;
}

bool node::someone_short(const std::vector<partition_owner>& owners, std::size_t live) const {
  const std::size_t nodes = std::max<std::size_t>(live, 1);
  const std::size_t floor = partitions_ / nodes;
  if (floor == 0 || partitions_ % nodes == 0) return false;  // the share is everyone's fair part
  std::map<std::string_view, std::size_t> held_by;
  for (const partition_owner& o : owners) {
    if (o.owner.empty()) return false;  // a free partition: the short node can take it
    ++held_by[o.owner];
  }
  if (held_by.size() < nodes) return true;  // a live node holds nothing
  return std::ranges::any_of(held_by, [&](const auto& entry) { return entry.second < floor; });
}

http::project_home node::find(const project_id& project) const {
  std::lock_guard lock(mutex_);
  if (partitions_ == 0) return {};
  const std::uint32_t p = partition_of(project, partitions_);
  if (auto it = holdings_.find(p); it != holdings_.end()) {
    // Held here but past its deadline or fenced: nobody may serve it until it is renewed or
    // claimed again.
    if (serving(it->second, clock::now())) return {it->second.eng, {}};
    return {};
  }
  if (p < owners_.size() && owners_[p].owner != options_.name) return {nullptr, owners_[p].address};
  return {};
}

std::vector<std::shared_ptr<engine>> node::engines() const {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<engine>> out;
  for (const auto& [p, h] : holdings_) {
    if (h.eng) out.push_back(h.eng);
  }
  return out;
}

std::vector<std::uint32_t> node::held() const {
  std::lock_guard lock(mutex_);
  std::vector<std::uint32_t> out;
  const auto now = clock::now();
  for (const auto& [p, h] : holdings_) {
    if (serving(h, now)) out.push_back(p);
  }
  return out;
}

asio::awaitable<void> node::connect() {
  if (db_ && db_->ok()) co_return;
  db_.reset();
  const pg_connect_options how{.timeout = options_.leases.timeout,
                               .application_name = options_.name};
  pg_connection fresh = co_await pg_connection::connect(ex_, options_.conninfo, how);
  db_.emplace(std::move(fresh));
}

asio::awaitable<void> node::start() {
  // Everything the node does runs on its strand.
  co_await asio::co_spawn(ex_, begin(), asio::use_awaitable);
}

asio::awaitable<void> node::stop() { co_await asio::co_spawn(ex_, end(), asio::use_awaitable); }

asio::awaitable<void> node::begin() {
  co_await connect();
  const schema_info schema = co_await ensure_schema(*db_, options_.partitions);
  {
    std::lock_guard lock(mutex_);
    partitions_ = schema.partitions;
  }
  co_await round();
  keeping_ = true;
  asio::co_spawn(ex_, keep(), asio::detached);
}

asio::awaitable<void> node::keep() {
  while (!stopping_) {
    timer_.expires_after(options_.renew_interval);
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (stopping_) break;
    try {
      co_await round();
    } catch (const std::exception&) {
      // The database failed or could not be reached: a new connection next round. Meanwhile
      // each partition stops being served at its deadline (find()), and a renewal that comes
      // back in time serves it again.
      db_.reset();
    }
  }
  keeping_ = false;
}

asio::awaitable<node::holding> node::load(lease held) {
  auto store = std::make_shared<pg_journal_store>(
      options_.conninfo, pg_journal_store_options{.partition = held.partition,
                                                  .node = options_.name,
                                                  .epoch = held.epoch,
                                                  .statement_timeout = options_.write_timeout,
                                                  .connect_timeout = options_.leases.timeout,
                                                  .application_name = options_.name});
  engine_options o = options_.engine;
  o.storage = {};
  o.storage.store = store;
  // Constructing the engine reads the partition from the database: on the loader thread.
  // (Named, not a temporary inside co_await: GCC 12 destroys those twice.)
  auto construct = [o = std::move(o)]() -> asio::awaitable<std::shared_ptr<engine>> {
    co_return std::make_shared<engine>(o);
  };
  std::shared_ptr<engine> eng =
      co_await asio::co_spawn(loader_.get_executor(), std::move(construct), asio::use_awaitable);
  holding loaded{held, std::move(store), std::move(eng)};
  co_return loaded;
}

asio::awaitable<void> node::retire(std::shared_ptr<engine> eng) {
  if (!eng) co_return;
  // Stopping an engine waits for its threads and its last checkpoint: on the loader thread.
  // Operations under way fail with operation_aborted.
  auto stop = [eng = std::move(eng)]() -> asio::awaitable<void> {
    eng->stop();
    co_return;
  };
  co_await asio::co_spawn(loader_.get_executor(), std::move(stop), asio::use_awaitable);
}

asio::awaitable<bool> node::take(std::uint32_t partition) {
  const std::optional<lease> got = co_await claim(*db_, options_.name, partition, options_.leases);
  if (!got) co_return false;
  {
    // Nobody else serves it now: while it loads, its requests are refused (503), not sent to
    // its last owner, which may be frozen.
    std::lock_guard lock(mutex_);
    if (partition < owners_.size()) owners_[partition].owner = options_.name;
  }
  bool loaded = false;
  try {
    holding h = co_await load(*got);
    std::lock_guard lock(mutex_);
    holdings_.insert_or_assign(partition, std::move(h));
    loaded = true;
  } catch (const std::exception&) {
    // The partition cannot be loaded now (the database failed meanwhile, or it holds what
    // this server cannot read): give it up for another node, or this one later.
  }
  if (!loaded) {
    co_await release(*db_, options_.name, *got, options_.leases);
  }
  co_return loaded;
}

asio::awaitable<void> node::let_go(std::uint32_t partition, bool give_up) {
  holding h;
  {
    std::lock_guard lock(mutex_);
    auto it = holdings_.find(partition);
    if (it == holdings_.end()) co_return;
    h = std::move(it->second);
    holdings_.erase(it);
  }
  co_await retire(std::move(h.eng));
  if (give_up) {
    co_await release(*db_, options_.name, h.held, options_.leases);
  }
}

asio::awaitable<void> node::round() {
  co_await connect();
  co_await renew_held();
  co_await balance();
}

asio::awaitable<void> node::renew_held() {
  // What is not renewed is lost.
  std::vector<lease> mine;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [p, h] : holdings_) mine.push_back(h.held);
  }
  const std::vector<lease> renewed = co_await renew(*db_, options_.name, mine, options_.leases);
  std::vector<std::uint32_t> lost;
  std::vector<lease> failed;  // partitions whose journal failed, to load again
  {
    std::lock_guard lock(mutex_);
    for (const lease& l : mine) {
      auto r = std::find_if(renewed.begin(), renewed.end(),
                            [&](const lease& x) { return x.partition == l.partition; });
      holding& h = holdings_.at(l.partition);
      if (r == renewed.end() || h.store->fenced()) {
        lost.push_back(l.partition);
      } else {
        h.held = *r;
        if (h.eng->storage().failed) failed.push_back(*r);
      }
    }
  }
  for (const std::uint32_t p : lost) {
    co_await let_go(p, false);
  }
  for (const lease& held : failed) {
    // The database failed a write: what it holds is the truth. The failed engine answers
    // queries until a fresh one is loaded from it.
    holding fresh = co_await load(held);
    holding old;
    {
      std::lock_guard lock(mutex_);
      old = std::exchange(holdings_.at(held.partition), std::move(fresh));
    }
    co_await retire(std::move(old.eng));
  }
}

asio::awaitable<void> node::balance() {
  const std::chrono::milliseconds timeout = options_.leases.timeout;
  co_await announce(*db_, options_.name, options_.address, timeout);
  const std::size_t live = co_await live_nodes(*db_, options_.leases.duration, timeout);
  const std::uint32_t target = share(live);
  std::vector<partition_owner> owners = co_await partition_owners(*db_, timeout);
  std::size_t holding_now = 0;
  {
    std::lock_guard lock(mutex_);
    holding_now = holdings_.size();
  }
  if (holding_now < target) {
    // Each node looks from a point of its own, so that nodes starting together do not all
    // race for the same partitions.
    const auto from =
        static_cast<std::uint32_t>(std::hash<std::string>{}(options_.name) % partitions_);
    for (std::uint32_t i = 0; i < partitions_ && holding_now < target; ++i) {
      const std::uint32_t p = (from + i) % partitions_;
      if (p < owners.size() && owners[p].owner.empty() && !holds(p) && co_await take(p)) {
        ++holding_now;
      }
    }
    owners = co_await partition_owners(*db_, timeout);
  } else if (holding_now > target || (holding_now == target && someone_short(owners, live))) {
    // Over the share, or at it while another node holds less than its fair part and no
    // partition is free for it: let the highest go (docs/scale-out.md, "The node", step 3).
    const std::size_t give = holding_now > target ? holding_now - target : 1;
    std::vector<std::uint32_t> surplus = held();
    surplus.erase(surplus.begin(), surplus.end() - static_cast<std::ptrdiff_t>(give));
    for (const std::uint32_t p : surplus) {
      co_await let_go(p, true);
    }
  }
  std::lock_guard lock(mutex_);
  owners_ = std::move(owners);
}

bool node::holds(std::uint32_t partition) const {
  std::lock_guard lock(mutex_);
  return holdings_.contains(partition);
}

asio::awaitable<void> node::end() {
  stopping_ = true;
  timer_.cancel();
  asio::steady_timer wait(ex_);
  while (keeping_) {
    wait.expires_after(std::chrono::milliseconds(20));
    co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  std::vector<std::uint32_t> partitions;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [p, h] : holdings_) partitions.push_back(p);
  }
  for (const std::uint32_t p : partitions) {
    bool released = false;
    try {
      co_await connect();
      co_await let_go(p, true);
      released = true;
    } catch (const std::exception&) {
      db_.reset();  // the lease runs out instead
    }
    if (!released) {
      co_await let_go(p, false);
    }
  }
  try {
    co_await connect();
    co_await forget(*db_, options_.name, options_.leases.timeout);
  } catch (const std::exception&) {
    db_.reset();  // its record goes stale: it no longer counts as live
  }
  std::lock_guard lock(mutex_);
  owners_.clear();
}

}  // namespace taskorch::cluster
