#pragma once
// engine_core: the shards, the strand pool and the machinery that moves an operation across
// them. An operation is split by shard; each part runs on its shard's strand; an item whose
// task lives on another shard (a family child) is forwarded there; the operation completes
// exactly once, when its last part finishes.

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

  /// True on one of this engine's threads.
  bool on_engine_thread() const noexcept { return pool_.current() != nullptr; }

  void start_register(std::vector<registration> items, handler<engine::batch_signature> h);
  /// Applies commands; `worker_events_only` refuses a batch holding a pause or a resume.
  void start_command(project_id project, std::vector<command> items, bool worker_events_only,
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

  /// Completes `done` on the engine thread that finished the operation.
  template <class Signature, class... A>
  void complete_here(completion<Signature>& done, A&&... args) {
    done.dispatch_from(pool_.current()->get_executor(), std::forward<A>(args)...);
  }

 private:
  /// Registers an operation as in flight; false once the engine is stopping.
  bool enter() noexcept;
  /// Ends an operation started with enter().
  void leave() noexcept;

  /// Splits `op`'s items by their first shard and runs each part on its strand.
  template <class Op>
  void scatter(std::shared_ptr<Op> op);
  /// Runs `op` once on every shard.
  template <class Op>
  void broadcast(std::shared_ptr<Op> op);
  template <class Op>
  void run_part(const std::shared_ptr<Op>& op, shard_index s, std::span<const std::uint32_t> items);
  template <class Op>
  void finish_part(const std::shared_ptr<Op>& op);

  engine_options options_;
  std::vector<shard> shards_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> in_flight_{0};
  std::mutex stop_serial_;  // held for the whole of stop()
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  std::atomic<std::uint64_t> next_subscriber_{1};
  strand_pool pool_;  // last: its threads stop before the shards go
};

}  // namespace taskorch::detail
