#include "engine_core.hpp"

#include "operations/command.hpp"
#include "operations/due_starts.hpp"
#include "operations/register.hpp"
#include "operations/subscribe.hpp"
#include "undo.hpp"

#include <boost/system/system_error.hpp>
#include <fmt/core.h>
#include <fmt/format.h>

#include <exception>
#include <future>
#include <stdexcept>
#include <thread>
#include <utility>

namespace taskorch::detail {

namespace {

constexpr std::size_t default_feed_capacity = std::size_t{1} << 16;
constexpr std::size_t max_feed_capacity = std::size_t{1} << 26;

engine_options resolve(engine_options o) {
  if (o.threads == 0) o.threads = std::max(1U, std::thread::hardware_concurrency());
  if (o.shards == 0) o.shards = o.threads;
  if (o.shards > 65535) throw std::invalid_argument("taskorch: at most 65535 shards");
  if (o.max_batch_items >= max_batch_indices) {
    throw std::invalid_argument("taskorch: max_batch_items must be below 2^32 - 1");
  }
  if (o.feed_capacity == 0) o.feed_capacity = default_feed_capacity;
  if (o.feed_capacity > max_feed_capacity) {
    throw std::invalid_argument("taskorch: feed_capacity must be at most 2^26");
  }
  return o;
}

}  // namespace

engine_core::engine_core(engine_options options)
    : options_(resolve(std::move(options))),
      store_(options_.storage.directory.empty() && !options_.storage.store
                 ? nullptr
                 : std::make_unique<storage::store>(options_.storage)),
      feed_(options_.feed_capacity, 1),
      dispatcher_(options_, admission_, pool_, schedule_, feed_),
      pool_(options_.threads, options_.shards, options_.unhandled_exception) {
  if (store_) open_storage();
  schedule_.start([this](wall_time now) { return start_due_tasks(now); });
}

wall_time engine_core::start_due_tasks(wall_time now) {
  std::promise<std::pair<error_code, due_scan>> scanned;
  start<due_starts_op, due_starts_op::signature>(
      [&scanned](error_code ec, due_scan found) {
        scanned.set_value({ec, std::move(found)});
      },
      now);
  auto [ec, found] = scanned.get_future().get();
  std::vector<due_start>& due = found.due;
  if (ec) return now + std::chrono::seconds(1);  // out of memory, or stopping: try again
  std::sort(due.begin(), due.end(),
            [](const due_start& a, const due_start& b) { return a.project < b.project; });
  for (auto first = due.begin(); first != due.end();) {
    const project_id project = first->project;
    std::vector<job_id> ids;
    for (; first != due.end() && first->project == project && ids.size() < options_.max_batch_items;
         ++first) {
      ids.push_back(first->id);
    }
    // A task rescheduled later or terminated meanwhile refuses the start: nothing to do.
    start<command_op<job_id>, engine::batch_signature>(
        [](error_code, const batch_result&) {}, project, batch_command{task_event::start_due, now},
        std::move(ids));
  }
  return found.next;
}

void engine_core::open_storage() {
  std::vector<registration> tasks = std::move(store_->recovered().tasks);
  if (!tasks.empty()) {
    std::promise<std::pair<error_code, batch_result>> registered;
    start<register_op, engine::batch_signature>(
        [&registered](error_code ec, batch_result results) {
          registered.set_value({ec, std::move(results)});
        },
        std::move(tasks));
    auto [ec, results] = registered.get_future().get();
    auto refused = std::find_if(results.begin(), results.end(),
                                [](const item_result& r) { return bool(r.error); });
    if (ec || refused != results.end()) {
      stop();
      throw storage::corruption_error(fmt::format(
          "taskorch: {}: the recovered registry does not register: {}",
          options_.storage.store ? options_.storage.store->name()
                                 : "data directory " + options_.storage.directory.string(),
          ec ? ec.message() : fmt::format("{}: {}", refused->id, refused->error.message())));
    }
  }
  feed_.restore(store_->recovered().events);
  store_->start({.roll_back = [this] { roll_back(); }, .capture = [this] { return capture(); }});
  dispatcher_.set_journal(store_->log());
  if (const storage::journal* log = store_->log()) {
    feed_.set_stored_lsn([log] { return log->stored(); });
  }
}

storage::registry_image engine_core::capture() {
  storage::registry_image image;
  // The copies' memory is taken and written first, outside the gates: fresh pages cost a
  // fault each (a large part of a second at a million tasks on some machines), which commands
  // would otherwise wait for. A table that grows meanwhile is copied all the same.
  std::vector<shard> copies(dispatcher_.shard_count());
  for (std::size_t s = 0; s < copies.size(); ++s) {
    std::size_t capacity = 0;
    dispatcher_.with_gate(static_cast<shard_index>(s),
                          [&](const shard& here) { capacity = here.table_capacity(); });
    copies[s].make_room_for_copy(capacity);
  }
  const auto begin = std::chrono::steady_clock::now();
  dispatcher_.with_every_gate([&](step_context&) {
    const storage::journal* log = store_->log();
    image.lsn = log != nullptr ? store_->log()->cut() : store_->recovered().last_lsn;
    for (std::size_t s = 0; s < copies.size(); ++s) copies[s] = dispatcher_.shards()[s];
    image.events = feed_.retained();
  });
  image.pause = std::chrono::steady_clock::now() - begin;
  for (const shard& copy : copies) copy.export_to(image.tasks);
  return image;
}

void engine_core::roll_back() {
  dispatcher_.with_every_gate([&](step_context& ctx) {
    storage::journal& log = *store_->log();
    undo_changes(ctx, log.take_undo());
    const std::uint64_t stored = log.stored();
    for (std::size_t s = 0; s < dispatcher_.shard_count(); ++s) {
      shard& each = ctx.at(static_cast<shard_index>(s));
      if (each.last_lsn() > stored) each.set_last_lsn(stored);
    }
  });
}

storage_stats engine_core::storage() const { return store_ ? store_->stats() : storage_stats(); }

error_code engine_core::checkpoint() { return store_ ? store_->checkpoint() : error_code(); }

engine_core::~engine_core() {
  // engine::~engine() has stopped the engine before letting it go, so this second stop()
  // returns at once. Should it throw all the same, a destructor cannot report it: the program
  // terminates, as it would with the exception escaping from here.
  try {
    stop();
  } catch (...) {
    std::terminate();
  }
}

void engine_core::stop() {
  if (on_engine_thread()) {
    throw boost::system::system_error(
        errc::would_deadlock, "taskorch::engine::stop() called on one of the engine's threads");
  }
  // Serialized: a second caller waits until the first has drained and joined everything.
  std::lock_guard serial(stop_serial_);
  schedule_.stop();  // its thread starts operations: before admission closes
  admission_.stop();
  if (store_) store_->close();  // a last checkpoint, while the shards are still here
  pool_.join();
}

void engine_core::start_subscribe(change_callback callback,
                                  handler<engine::subscribe_signature> h) {
  completion<engine::subscribe_signature> done(std::move(h));
  if (!admission_.enter()) {
    return dispatcher_.complete_now(done, stopped_error(), subscription());
  }
  admitted guard(admission_);
  std::shared_ptr<subscribe_op> op;
  try {
    op = std::make_shared<subscribe_op>(std::make_shared<subscriber_slot>(std::move(callback)),
                                        weak_from_this());
  } catch (const std::bad_alloc&) {
    return dispatcher_.complete_now(done, out_of_memory_error(), subscription());
  }
  op->done = std::move(done);
  guard.release();
  dispatcher_.subscribers().fetch_add(1);  // from now on, no part runs inline
  dispatcher_.broadcast(op);
}

void engine_core::unsubscribe(const std::shared_ptr<subscriber_slot>& slot) noexcept {
  // The slot is closed: this only frees it. Parts run inline again once it is gone from
  // every shard. A stopping engine, or one out of memory, keeps it (closed) instead.
  if (!admission_.enter()) return;
  admitted guard(admission_);
  try {
    dispatcher_.remove_subscriber(slot);
  } catch (const std::bad_alloc&) {
  }
}

}  // namespace taskorch::detail
