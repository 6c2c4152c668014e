#include "engine_core.hpp"

#include "operations.hpp"

#include <boost/asio/post.hpp>
#include <boost/container/small_vector.hpp>

#include <limits>
#include <stdexcept>
#include <thread>

namespace taskorch::detail {

namespace {

/// The most items an operation may hold: indices are 32 bits wide.
constexpr std::size_t max_items = std::numeric_limits<std::uint32_t>::max();

engine_options resolve(engine_options o) {
  if (o.threads == 0) o.threads = std::max(1U, std::thread::hardware_concurrency());
  if (o.shards == 0) o.shards = o.threads;
  if (o.shards > 65535) throw std::invalid_argument("taskorch: at most 65535 shards");
  // Item indices are 32 bits (routing arrays, the duplicate check).
  if (o.max_batch_items >= max_items) {
    throw std::invalid_argument("taskorch: max_batch_items must be below 2^32 - 1");
  }
  return o;
}

/// A per-batch array: inline up to N elements, on huge pages when large.
template <class T, std::size_t N>
using local_array = boost::container::small_vector<T, N, huge_page_allocator<T>>;

/// The item indices of a posted part.
using index_array = std::vector<std::uint32_t, huge_page_allocator<std::uint32_t>>;

/// The engine whose shard gate the calling thread holds for an inline part, if any.
thread_local const engine_core* inline_part_of = nullptr;

}  // namespace

/// Adds a subscriber on every shard.
struct subscribe_op : operation_base {
  subscribe_op(std::uint64_t i, change_callback c, completion<engine::subscribe_signature> h)
      : id(i),
        callback(std::make_shared<const change_callback>(std::move(c))),
        done(std::move(h)) {}
  void run_shard(engine_core& core, shard_index s) {
    core.shard_at(s).add_subscriber({id, callback});
  }
  void complete(engine_core& core) {
    if (aborted) {
      core.complete_here(done, error_code(asio::error::operation_aborted), subscription());
    } else {
      core.complete_here(done, error_code(), core.make_subscription(id));
    }
  }
  std::uint64_t id;
  std::shared_ptr<const change_callback> callback;
  completion<engine::subscribe_signature> done;
};

engine_core::engine_core(const engine_options& options)
    : options_(resolve(options)),
      shards_(options_.shards),
      gates_(std::make_unique<shard_gate[]>(options_.shards)),
      pool_(options_.threads, options_.shards) {}

engine_core::~engine_core() { stop(); }

void engine_core::stop() {
  // Serialized: a second caller waits until the first has drained and joined everything.
  std::lock_guard serial(stop_serial_);
  if (!stopping_.exchange(true)) {
    std::unique_lock lock(stop_mutex_);
    stop_cv_.wait(lock, [this] { return in_flight_.load() == 0; });
  }
  pool_.join();
}

bool engine_core::on_engine_thread() const noexcept {
  return pool_.current() != nullptr || inline_part_of == this;
}

template <class Work, class Then>
void engine_core::post_to_shard(shard_index s, Work work, Then then) {
  gates_[s].queued.fetch_add(1);
  asio::post(pool_.strand(s), [this, s, work = std::move(work), then = std::move(then)]() mutable {
    {
      std::lock_guard lock(gates_[s].mutex);
      work();
    }
    gates_[s].queued.fetch_sub(1);
    then();
  });
}

bool engine_core::may_run_inline() const noexcept {
  return pool_.current() == nullptr && inline_part_of == nullptr && subscribers_.load() == 0;
}

bool engine_core::try_enter_shard(shard_index s) noexcept {
  // A few tries, then give up: waiting here could deadlock with whatever the gate's holder
  // waits for, so a busy shard gets a post instead.
  constexpr int tries = 16;
  for (int i = 0; i < tries; ++i) {
    if (gates_[s].queued.load() != 0) return false;
    if (gates_[s].mutex.try_lock()) {
      // A subscription may have reached this shard since may_run_inline() was asked: its
      // part ran under this gate, so the count is up to date now.
      if (subscribers_.load() == 0) return true;
      gates_[s].mutex.unlock();
      return false;
    }
    std::this_thread::yield();
  }
  return false;
}

bool engine_core::enter() noexcept {
  in_flight_.fetch_add(1);
  if (!stopping_.load()) return true;
  leave();
  return false;
}

void engine_core::leave() noexcept {
  if (in_flight_.fetch_sub(1) == 1 && stopping_.load()) {
    std::lock_guard lock(stop_mutex_);
    stop_cv_.notify_all();
  }
}

// -- the machinery ------------------------------------------------------------------------

template <class Op>
void engine_core::scatter(std::shared_ptr<Op> op) {
  const std::size_t n = op->size();
  const std::size_t shard_count = shards_.size();
  // Counting sort of the item indices by first shard: one flat array, one span per shard.
  // Batches small enough to run inline (by default) keep these arrays on the stack.
  local_array<shard_index, 256> first(n);
  local_array<std::size_t, 16> begin(shard_count + 1, 0);
  for (std::size_t i = 0; i < n; ++i) {
    first[i] = op->first_shard(*this, i);
    ++begin[first[i] + 1];
  }
  for (std::size_t s = 0; s < shard_count; ++s) begin[s + 1] += begin[s];
  local_array<std::uint32_t, 256> order(n);
  local_array<std::size_t, 16> fill(begin.begin(), begin.end() - 1);
  for (std::size_t i = 0; i < n; ++i) order[fill[first[i]]++] = static_cast<std::uint32_t>(i);

  std::size_t parts = 0;
  for (std::size_t s = 0; s < shard_count; ++s) parts += begin[s + 1] > begin[s] ? 1 : 0;
  op->parts.store(parts);
  // The caller runs every part of a small batch itself: waking an engine thread would cost
  // more than the work. Of a large batch it runs one part, after posting the others, so the
  // engine threads work on them meanwhile. A shard that is busy, or has queued parts, gets a
  // post instead.
  const bool small = n <= options_.inline_batch_items;
  const bool may_inline = may_run_inline();
  std::size_t last = shard_count;
  for (std::size_t s = 0; s < shard_count; ++s) last = begin[s + 1] > begin[s] ? s : last;
  const auto part = [&order, &begin](std::size_t s) {
    return std::span<const std::uint32_t>(order.data() + begin[s], begin[s + 1] - begin[s]);
  };
  const auto post_part = [&](shard_index s) {
    const std::span<const std::uint32_t> items = part(s);
    auto indices = std::make_shared<const index_array>(items.begin(), items.end());
    post_to_shard(
        s, [this, op, indices, s] { run_part(op, s, std::span<const std::uint32_t>(*indices)); },
        [this, op] { finish_part(op); });
  };
  local_array<shard_index, 16> mine;
  for (std::size_t s = 0; s < shard_count; ++s) {
    if (begin[s + 1] == begin[s]) continue;
    const auto index = static_cast<shard_index>(s);
    if (may_inline && (small || s == last)) {
      mine.push_back(index);
    } else {
      post_part(index);
    }
  }
  for (const shard_index s : mine) {
    if (!try_enter_shard(s)) {
      post_part(s);
      continue;
    }
    // noexcept: an exception here (only bad_alloc can reach it) would leave a part
    // unfinished for good; it terminates, as it does in a part run by an engine thread.
    [&]() noexcept {
      std::unique_lock gate(gates_[s].mutex, std::adopt_lock);
      inline_part_of = this;
      run_part(op, s, part(s));
      inline_part_of = nullptr;
    }();
    finish_part(op);  // may complete the operation: outside the gate
  }
}

template <class Op>
void engine_core::run_part(const std::shared_ptr<Op>& op, shard_index s,
                           std::span<const std::uint32_t> items) {
  if (stopping_.load()) {
    for (std::uint32_t i : items) op->abort(i);
    return;
  }
  // Each item's record is prefetched `ahead` items before it is applied: a batch over a
  // large registry is bound by memory latency, and this overlaps the loads.
  constexpr std::size_t ahead = 8;
  const shard& here = shards_[s];
  for (std::size_t k = 0; k < std::min(ahead, items.size()); ++k)
    here.prefetch(op->id_at(items[k]));
  std::vector<std::pair<shard_index, std::uint32_t>> forwards;
  for (std::size_t k = 0; k < items.size(); ++k) {
    if (k + ahead < items.size()) here.prefetch(op->id_at(items[k + ahead]));
    const std::uint32_t i = items[k];
    if (std::optional<shard_index> next = op->run(*this, s, i)) forwards.emplace_back(*next, i);
  }
  if (forwards.empty()) return;
  std::sort(forwards.begin(), forwards.end());
  for (std::size_t k = 0; k < forwards.size();) {
    const shard_index target = forwards[k].first;
    auto group = std::make_shared<std::vector<std::uint32_t>>();
    for (; k < forwards.size() && forwards[k].first == target; ++k) {
      group->push_back(forwards[k].second);
    }
    op->parts.fetch_add(1);
    post_to_shard(
        target,
        [this, op, group, target] { run_part(op, target, std::span<const std::uint32_t>(*group)); },
        [this, op] { finish_part(op); });
  }
}

template <class Op>
void engine_core::broadcast(std::shared_ptr<Op> op) {
  op->parts.store(shards_.size());
  for (std::size_t s = 0; s < shards_.size(); ++s) {
    post_to_shard(
        static_cast<shard_index>(s),
        [this, op, s] {
          if (stopping_.load()) {
            op->aborted = true;
          } else {
            op->run_shard(*this, static_cast<shard_index>(s));
          }
        },
        [this, op] { finish_part(op); });
  }
}

template <class Op>
void engine_core::finish_part(const std::shared_ptr<Op>& op) {
  if (op->parts.fetch_sub(1) != 1) return;
  // The inputs go before the handler runs: a caller woken by it may measure or reuse the
  // memory while the last part's handler object, and with it the operation, still lives.
  if constexpr (requires { op->release_inputs(); }) op->release_inputs();
  op->complete(*this);
  leave();
}

// -- operations ---------------------------------------------------------------------------

void engine_core::start_register(std::vector<registration> items,
                                 handler<engine::batch_signature> h) {
  completion<engine::batch_signature> done(std::move(h));
  if (!enter())
    return complete_now(done, error_code(asio::error::operation_aborted), batch_result());
  error_code ec = items.size() >= max_items ? errc::batch_too_large : validate_registrations(items);
  if (ec || items.empty()) {
    complete_now(done, ec, batch_result());
    return leave();
  }
  scatter(std::make_shared<register_op>(std::move(items), std::move(done)));
}

template <class Item>
void engine_core::start_command(project_id project, task_event event, std::vector<Item> items,
                                handler<engine::batch_signature> h) {
  completion<engine::batch_signature> done(std::move(h));
  if (!enter())
    return complete_now(done, error_code(asio::error::operation_aborted), batch_result());
  error_code ec = validate_batch(items, options_.max_batch_items);
  if constexpr (std::is_same_v<Item, event_item>) {
    if (!ec && std::any_of(items.begin(), items.end(),
                           [](const event_item& e) { return !is_worker_event(e.event); })) {
      ec = errc::not_a_worker_event;
    }
  }
  if (ec) {
    complete_now(done, ec, batch_result());
    return leave();
  }
  scatter(std::make_shared<command_op<Item>>(project, event, std::move(items), std::move(done)));
}

template void engine_core::start_command(project_id, task_event, std::vector<pause_item>,
                                         handler<engine::batch_signature>);
template void engine_core::start_command(project_id, task_event, std::vector<job_id>,
                                         handler<engine::batch_signature>);
template void engine_core::start_command(project_id, task_event, std::vector<event_item>,
                                         handler<engine::batch_signature>);

void engine_core::start_purge(project_id project, std::vector<job_id> ids,
                              handler<engine::batch_signature> h) {
  completion<engine::batch_signature> done(std::move(h));
  if (!enter())
    return complete_now(done, error_code(asio::error::operation_aborted), batch_result());
  if (error_code ec = validate_batch(ids, options_.max_batch_items)) {
    complete_now(done, ec, batch_result());
    return leave();
  }
  scatter(std::make_shared<purge_op>(project, std::move(ids), std::move(done)));
}

void engine_core::start_status(project_id project, std::vector<job_id> ids,
                               handler<engine::status_signature> h) {
  completion<engine::status_signature> done(std::move(h));
  if (!enter()) {
    return complete_now(done, error_code(asio::error::operation_aborted),
                        std::vector<status_result>());
  }
  if (error_code ec = validate_batch(ids, options_.max_batch_items)) {
    complete_now(done, ec, std::vector<status_result>());
    return leave();
  }
  scatter(std::make_shared<status_op>(project, std::move(ids), std::move(done)));
}

void engine_core::start_get(project_id project, job_id id, handler<engine::snapshot_signature> h) {
  completion<engine::snapshot_signature> done(std::move(h));
  if (!enter()) {
    return complete_now(done, error_code(asio::error::operation_aborted), task_snapshot());
  }
  scatter(std::make_shared<get_op>(project, id, std::move(done)));
}

void engine_core::start_list(project_id project, handler<engine::list_signature> h) {
  completion<engine::list_signature> done(std::move(h));
  if (!enter()) {
    return complete_now(done, error_code(asio::error::operation_aborted),
                        std::vector<task_snapshot>());
  }
  broadcast(std::make_shared<list_op>(project, shards_.size(), std::move(done)));
}

void engine_core::start_count(handler<engine::counts_signature> h) {
  completion<engine::counts_signature> done(std::move(h));
  if (!enter())
    return complete_now(done, error_code(asio::error::operation_aborted), state_counts());
  broadcast(std::make_shared<count_op>(shards_.size(), std::move(done)));
}

void engine_core::start_export(handler<engine::export_signature> h) {
  completion<engine::export_signature> done(std::move(h));
  if (!enter()) {
    return complete_now(done, error_code(asio::error::operation_aborted),
                        std::vector<registration>());
  }
  broadcast(std::make_shared<export_op>(shards_.size(), std::move(done)));
}

void engine_core::start_subscribe(change_callback callback,
                                  handler<engine::subscribe_signature> h) {
  completion<engine::subscribe_signature> done(std::move(h));
  if (!enter())
    return complete_now(done, error_code(asio::error::operation_aborted), subscription());
  subscribers_.fetch_add(1);  // from now on, no part runs inline (see may_run_inline)
  broadcast(std::make_shared<subscribe_op>(next_subscriber_.fetch_add(1), std::move(callback),
                                           std::move(done)));
}

void engine_core::unsubscribe(std::uint64_t id) {
  if (!enter()) return;
  // Parts may run inline again once the callback is gone from every shard.
  auto shards_left = std::make_shared<std::atomic<std::size_t>>(shards_.size());
  for (std::size_t s = 0; s < shards_.size(); ++s) {
    post_to_shard(
        static_cast<shard_index>(s), [this, s, id] { shards_[s].remove_subscriber(id); },
        [this, shards_left] {
          if (shards_left->fetch_sub(1) == 1) subscribers_.fetch_sub(1);
        });
  }
  leave();
}

}  // namespace taskorch::detail
