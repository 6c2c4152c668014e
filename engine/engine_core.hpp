#pragma once
// engine_core: the shards, the strand pool and the machinery that moves an operation across
// them. An operation is split by shard; each part runs on its shard's strand; an item whose
// task lives on another shard (a family child) is forwarded there; the operation completes
// exactly once, when its last part finishes.
//
// Each shard also has a gate: a mutex held by whatever runs on the shard. A part posted to
// the strand holds it for the part's duration. A caller outside the engine's threads runs
// parts inline, on its own thread, holding the gate, when nothing is queued on the shard's
// strand and the gate is free: all parts of a small batch (no thread wake-up at all), one
// part of a large batch (the engine threads run the others meanwhile). The queue check keeps
// one caller's operations in the order they were started. Nothing waits for a gate but the
// strand's own handlers, and nothing runs inline while anyone is subscribed, so subscriber
// callbacks keep running on engine threads.

#include "batch_validation.hpp"
#include "completion.hpp"
#include "shard.hpp"
#include "strand_pool.hpp"
#include <taskorch/engine.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

namespace taskorch::detail {

/// Where an operation's parts meet: counts the parts still running.
struct operation_base {
  std::atomic<std::size_t> parts{0};
  std::atomic<bool> aborted{false};
};

class engine_core : public std::enable_shared_from_this<engine_core> {
 public:
  template <class Signature>
  using handler = asio::any_completion_handler<Signature>;

  explicit engine_core(const engine_options& options);
  ~engine_core();

  engine_core(const engine_core&) = delete;
  engine_core& operator=(const engine_core&) = delete;

  void stop();
  const engine_options& options() const noexcept { return options_; }

  /// True on one of this engine's threads, or on a caller's thread while it runs a part
  /// inline: places where blocking on the engine, or entering a gate, could deadlock.
  bool on_engine_thread() const noexcept;

  void start_register(std::vector<registration> items, handler<engine::batch_signature> h);
  /// Applies `event` (pause or resume) to every job of `items` (pause_item or job_id), or,
  /// for event_item, each item's own worker event (a pause or resume among them refuses the
  /// batch with errc::not_a_worker_event).
  template <class Item>
  void start_command(project_id project, task_event event, std::vector<Item> items,
                     handler<engine::batch_signature> h);
  void start_purge(project_id project, std::vector<job_id> ids, handler<engine::batch_signature> h);
  void start_status(project_id project, std::vector<job_id> ids,
                    handler<engine::status_signature> h);
  void start_get(project_id project, job_id id, handler<engine::snapshot_signature> h);
  void start_list(project_id project, handler<engine::list_signature> h);
  void start_count(handler<engine::counts_signature> h);
  void start_export(handler<engine::export_signature> h);
  void start_subscribe(change_callback callback, handler<engine::subscribe_signature> h);
  void unsubscribe(std::uint64_t id);
  subscription make_subscription(std::uint64_t id) { return {weak_from_this(), id}; }

  /// The home shard of `id`.
  shard_index home(const job_id& id) const noexcept {
    __extension__ using wide = unsigned __int128;  // multiply-shift: maps the hash onto [0, n)
    return static_cast<shard_index>((static_cast<wide>(id.hash()) * shards_.size()) >> 64);
  }

  shard& shard_at(shard_index i) noexcept { return shards_[i]; }

  /// Completes `op` at once, from the initiating call: posts the handler.
  template <class Signature, class... A>
  void complete_now(completion<Signature>& done, A&&... args) {
    if (stopping_.load()) {
      done.post_via(asio::system_executor(), std::forward<A>(args)...);
    } else {
      done.post_via(pool_.context_executor(0), std::forward<A>(args)...);
    }
  }

  /// Completes `done` where the operation finished: on an engine thread, dispatched to the
  /// handler's executor (or run there when it has none); on a caller's thread that ran the
  /// last part inline, posted (never run inside the initiating call).
  template <class Signature, class... A>
  void complete_here(completion<Signature>& done, A&&... args) {
    if (asio::io_context* here = pool_.current()) {
      done.dispatch_from(here->get_executor(), std::forward<A>(args)...);
    } else {
      complete_now(done, std::forward<A>(args)...);
    }
  }

 private:
  /// Registers an operation as in flight; false once the engine is stopping.
  bool enter() noexcept;
  /// Ends an operation started with enter().
  void leave() noexcept;

  /// Splits `op`'s items by their first shard and runs each part on its strand, or inline.
  template <class Op>
  void scatter(std::shared_ptr<Op> op);
  /// Runs `op` once on every shard.
  template <class Op>
  void broadcast(std::shared_ptr<Op> op);
  /// Posts `work` to shard `s`'s strand, to run holding the shard's gate, then `then`
  /// (which may complete an operation) after the gate is released.
  template <class Work, class Then>
  void post_to_shard(shard_index s, Work work, Then then);
  /// True when the calling thread may run parts inline: it is neither an engine thread nor
  /// inside an inline part, and nobody is subscribed (callbacks run on engine threads only).
  bool may_run_inline() const noexcept;
  /// Takes shard `s`'s gate for an inline part if nothing is queued on its strand and the
  /// gate is free within a few tries; never waits longer. The caller runs the part with
  /// `inline_part_of` set, then unlocks the gate.
  bool try_enter_shard(shard_index s) noexcept;
  /// Runs `items` of `op` on shard `s` (holding its gate) and forwards those that continue
  /// on another shard; the caller then calls finish_part().
  template <class Op>
  void run_part(const std::shared_ptr<Op>& op, shard_index s, std::span<const std::uint32_t> items);
  template <class Op>
  void finish_part(const std::shared_ptr<Op>& op);

  /// What serializes the work on one shard, besides its strand.
  struct alignas(64) shard_gate {
    std::mutex mutex;
    std::atomic<std::uint32_t> queued{0};  ///< parts posted to the strand and not yet done
  };

  engine_options options_;
  std::vector<shard> shards_;
  std::unique_ptr<shard_gate[]> gates_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> in_flight_{0};
  std::mutex stop_serial_;  // held for the whole of stop()
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  std::atomic<std::uint64_t> next_subscriber_{1};
  std::atomic<std::size_t> subscribers_{0};  ///< subscriptions not yet removed everywhere
  strand_pool pool_;                         // last: its threads stop before the shards go
};

}  // namespace taskorch::detail
