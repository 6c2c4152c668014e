#pragma once
// engine_core: what the engine facade drives. It admits operations (admission.hpp), checks
// and builds them (operations/), and hands them to the dispatcher (dispatcher.hpp), which
// owns the shards and their gates and runs the parts on the strand pool's threads
// (strand_pool.hpp). Subscriptions are slots (subscriber_slot.hpp) held by every shard. With
// a data directory, the store (storage/store.hpp) recovers the registry at construction,
// journals every change and takes checkpoints; the core gives it the two things that need
// every gate: a copy of the registry, and a rollback of what the journal failed to store.

#include "admission.hpp"
#include "dispatcher.hpp"
#include "start_schedule.hpp"
#include "storage/store.hpp"
#include "strand_pool.hpp"
#include "subscriber_slot.hpp"
#include <taskorch/engine.hpp>

#include <memory>
#include <mutex>

namespace taskorch::detail {

class engine_core : public std::enable_shared_from_this<engine_core> {
 public:
  template <class Signature>
  using handler = asio::any_completion_handler<Signature>;

  explicit engine_core(engine_options options);
  ~engine_core();

  engine_core(const engine_core&) = delete;
  engine_core& operator=(const engine_core&) = delete;

  /// Refuses new operations, completes the outstanding ones and joins the threads.
  /// Idempotent. Throws boost::system::system_error (errc::would_deadlock) on an engine
  /// thread, which it would wait for.
  void stop();
  bool stopped() const noexcept { return admission_.stopping(); }
  const engine_options& options() const noexcept { return options_; }

  /// True on one of this engine's threads, or on a caller's thread while it runs a part
  /// inline: places where blocking on the engine, or entering a gate, could deadlock.
  bool on_engine_thread() const noexcept { return dispatcher_.on_engine_thread(); }

  /// Starts an operation of type Op with `args` (validated by Op::validate): admits it,
  /// checks it, builds it and dispatches it. Every path after admission completes the handler
  /// exactly once: with the whole-batch error, with operation_aborted after stop(), with
  /// errc::not_enough_memory when memory runs out before it could run, or with the
  /// operation's result. Only when memory runs out for handing the completion on is the
  /// handler destroyed uncalled, and std::bad_alloc thrown.
  template <class Op, class Signature, class... Args>
  void start(handler<Signature> h, Args... args);

  /// Subscribes `callback` (see engine::async_subscribe).
  void start_subscribe(change_callback callback, handler<engine::subscribe_signature> h);

  /// Takes a closed slot off every shard.
  void unsubscribe(const std::shared_ptr<subscriber_slot>& slot) noexcept;

  /// What the storage has done (storage_stats::enabled false without a data directory).
  storage_stats storage() const;
  /// Takes a checkpoint now (nothing to do without a data directory).
  error_code checkpoint();

  /// The event feed (engine::read_feed()).
  const event_feed& feed() const noexcept { return feed_; }

 private:
  /// Registers the recovered registry, then starts journaling.
  void open_storage();
  /// Starts the tasks whose scheduled start has come at `now`; returns the earliest start
  /// time still ahead (start_schedule's fire function).
  wall_time start_due_tasks(wall_time now);
  storage::registry_image capture();
  void roll_back();

  engine_options options_;
  std::unique_ptr<storage::store> store_;  // before the shards: it outlives them
  admission admission_;
  std::mutex stop_serial_;   // held for the whole of stop()
  start_schedule schedule_;  // before the shards, which tell it of start times
  event_feed feed_;          // before the shards, which publish their changes to it
  dispatcher dispatcher_;    // the shards: they outlive the threads below
  strand_pool pool_;         // last: its threads stop before the shards go
};

template <class Op, class Signature, class... Args>
void engine_core::start(handler<Signature> h, Args... args) {
  completion<Signature> done(std::move(h));
  if (!admission_.enter()) {
    return std::apply([&](auto&&... a) { dispatcher_.complete_now(done, std::move(a)...); },
                      refusal<Signature>::of(stopped_error()));
  }
  admitted guard(admission_);
  std::shared_ptr<Op> op;
  error_code refused;
  try {
    refused = Op::validate(args..., options_);
    if constexpr (requires { Op::changes_registry; }) {
      const storage::journal* log = dispatcher_.journal();
      if (!refused && log != nullptr && log->failed()) refused = errc::journal_failed;
    }
    if (!refused) {
      if constexpr (requires { &Op::run_shard; }) {
        op = std::make_shared<Op>(std::move(args)..., dispatcher_.shard_count());
      } else {
        op = std::make_shared<Op>(std::move(args)...);
      }
    }
  } catch (const std::bad_alloc&) {
    refused = out_of_memory_error();
  }
  if (refused) {
    return std::apply([&](auto&&... a) { dispatcher_.complete_now(done, std::move(a)...); },
                      refusal<Signature>::of(refused));
  }
  op->done = std::move(done);
  guard.release();  // from here the operation leaves when it finishes
  if constexpr (requires { &Op::run_shard; }) {
    dispatcher_.broadcast(op);
  } else {
    dispatcher_.scatter(op);
  }
}

}  // namespace taskorch::detail
