#pragma once
// engine: the in-memory task registry and the facade of taskorch.
//
// The registry is split into shards; each shard is owned by one strand of a fixed pool of
// threads (one io_context per thread) and guarded by a gate, and no task is touched except
// under its shard's gate. A batch is split by shard; each part runs on its shard's strand,
// or, for a small batch on idle shards, on the calling thread (engine_options::
// inline_batch_items); the results come back per item, in request order. A dual-active DR
// family lives on one shard.
//
// Every asynchronous operation takes a completion token: a callback, asio::use_future,
// asio::use_awaitable or asio::deferred.
//
//   taskorch::engine eng;
//   eng.register_tasks({taskorch::task_spec{.id = id, .project = project,
//                                           .state = taskorch::task_state::full_transfer}});
//   co_await eng.async_pause(project, {{id, taskorch::pause_mode::target}},
//                            asio::use_awaitable);
//
// Thread safety: every member function may be called concurrently from any thread, except
// stop() and the destructor, which must not run on one of the engine's own threads (stop()
// throws errc::would_deadlock there; the destructor aborts the program). Completion
// handlers without an associated executor run on an engine thread: they must not block. The
// blocking wrappers (pause(), status(), ...) must not be called from an engine thread: they
// fail with errc::would_deadlock there.
//
// Ordering: operations one thread starts one after another reach each shard in that order,
// so two that reach a task by the same route take effect on it in call order. A step
// forwarded from a family child's home shard to its family's shard may be overtaken by a
// later operation that goes there directly: to order dependent operations, start the second
// after the first completes (docs/architecture.md, "Threading and ordering guarantees").
//
// Failures: every admitted operation completes exactly once. Items the engine could not run
// fail with boost::asio::error::operation_aborted (stop()) or errc::not_enough_memory of the
// generic category, and the operation's `ec` is that error. Only when memory runs out for
// handing the completion itself on is the handler destroyed uncalled, and std::bad_alloc
// thrown from the initiating call or handed to engine_options::unhandled_exception.
//
// Cancellation: per-operation cancellation is not supported. stop() completes every
// outstanding operation; items that had not run yet fail with operation_aborted.

#include <taskorch/batch.hpp>
#include <taskorch/detail/blocking.hpp>
#include <taskorch/engine_options.hpp>
#include <taskorch/error.hpp>
#include <taskorch/feed_event.hpp>
#include <taskorch/project_id.hpp>
#include <taskorch/state_change.hpp>
#include <taskorch/storage_options.hpp>
#include <taskorch/task_snapshot.hpp>
#include <taskorch/task_spec.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>

#include <functional>
#include <memory>
#include <vector>

namespace taskorch {

namespace detail {
class engine_core;
class subscriber_slot;
struct subscribe_op;
}  // namespace detail

/// A registered state-change callback. Destroying or resetting it unsubscribes.
///
/// After reset() (or the destructor) returns on a thread that is not one of the engine's,
/// the callback is never called again and no call of it is still running: whatever it
/// captured may be destroyed at once. Called on an engine thread (inside a callback, this
/// subscription's own included), it returns at once: no new call starts, but a call running
/// on another engine thread may still finish. Like std::stop_callback's destructor, reset()
/// may wait for a running call: do not call it holding a lock that the callback takes.
/// Thread safety: not thread-safe itself.
class subscription {
 public:
  subscription() = default;
  subscription(subscription&& other) noexcept;
  subscription& operator=(subscription&& other) noexcept;
  subscription(const subscription&) = delete;
  subscription& operator=(const subscription&) = delete;
  ~subscription();

  /// Unsubscribes now (see above for what is guaranteed when it returns). Idempotent.
  void reset() noexcept;

  /// True while subscribed.
  bool active() const noexcept { return slot_ != nullptr; }

 private:
  friend struct detail::subscribe_op;
  subscription(std::weak_ptr<detail::engine_core> core,
               std::shared_ptr<detail::subscriber_slot> slot) noexcept;
  std::weak_ptr<detail::engine_core> core_;
  std::shared_ptr<detail::subscriber_slot> slot_;
};

/// The task registry and its strand pool.
class engine {
 public:
  using batch_signature = void(error_code, batch_result);
  using status_signature = void(error_code, std::vector<status_result>);
  using detail_signature = void(error_code, std::vector<detail_result>);
  using progress_signature = void(error_code, std::vector<progress_result>);
  using snapshot_signature = void(error_code, task_snapshot);
  using list_signature = void(error_code, std::vector<task_snapshot>);
  using counts_signature = void(error_code, state_counts);
  using export_signature = void(error_code, std::vector<registration>);
  using subscribe_signature = void(error_code, subscription);

  /// Starts the threads; with a data directory (engine_options::storage), recovers the
  /// registry kept there first and journals every change from then on. Throws
  /// std::invalid_argument for more than 65535 shards or a max_batch_items of 2^32 - 1 or
  /// more, std::system_error when a thread cannot start, std::runtime_error with a message
  /// naming the directory and, for damage, the file and offset, when the data directory
  /// cannot be used (docs/storage.md).
  explicit engine(engine_options options = {});

  /// Stops the engine (see stop()) and joins its threads. On one of the engine's own
  /// threads it cannot: it says so on stderr and aborts the program.
  ~engine();

  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  /// Stops accepting work, completes every outstanding operation (items that had not run
  /// fail with operation_aborted), takes a last checkpoint when it has a data directory, and
  /// joins the threads. Idempotent. Operations started afterwards complete at once with
  /// operation_aborted. Throws boost::system::system_error (errc::would_deadlock) on one of
  /// the engine's own threads, which it would wait for.
  void stop();
  /// True once stop() has begun: the engine takes no more operations.
  bool stopped() const noexcept;

  /// The options in force (zeros resolved).
  const engine_options& options() const noexcept;

  /// What the storage has done: journal writes and syncs, checkpoints, recovery; whether
  /// the journal has failed. Thread-safe; cheap enough for every metrics scrape.
  storage_stats storage() const;

  /// Takes a checkpoint now, while operations go on (they wait only while the shards are
  /// copied). Returns the error when it could not be written (the journal still holds
  /// everything then); nothing to do without a data directory.
  error_code checkpoint();

  // The initiations below move their arguments into the start_ call; clang-tidy 14 takes that
  // for a const use, because the call depends on the handler's type (llvm/llvm-project#62276).
  // NOLINTBEGIN(performance-unnecessary-value-param)

  // -- Registration ---------------------------------------------------------------------

  /// Registers tasks and dual-active families, in bulk.
  /// Signature: void(error_code, batch_result). The whole batch is refused (ec set, nothing
  /// registered) when it names an id twice (children included: errc::duplicate_job_id) or
  /// holds an inconsistent spec (errc::invalid_task_spec: pause info present exactly when
  /// paused, from a pausable state). Otherwise each item is registered or fails with
  /// errc::task_exists. Unlike commands, registration is not held to max_batch_items (a
  /// snapshot of a whole registry is registered in one call; only 2^32 - 1 items or more
  /// fail, with errc::batch_too_large) and an empty batch succeeds with no results.
  template <boost::asio::completion_token_for<batch_signature> CompletionToken>
  auto async_register(std::vector<registration> items, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, batch_signature>(
        [this](auto h, std::vector<registration> r) { start_register(std::move(r), std::move(h)); },
        token, std::move(items));
  }

  // -- Commands -------------------------------------------------------------------------

  /// Pauses every listed task of `project` concurrently, each under its shard's gate.
  /// Signature: void(error_code, batch_result). `ec` is set only when the whole batch is
  /// refused (errc::empty_batch, errc::batch_too_large, errc::duplicate_job_id). Per-item
  /// failures: task_not_found, task_deleted, invalid_state, parent_task_forbidden.
  /// Re-pausing a paused task succeeds; `all` raises a `target` pause.
  template <boost::asio::completion_token_for<batch_signature> CompletionToken>
  auto async_pause(project_id project, std::vector<pause_item> items, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, batch_signature>(
        [this](auto h, project_id p, std::vector<pause_item> i) {
          start_pause(p, std::move(i), std::move(h));
        },
        token, project, std::move(items));
  }

  /// Resumes paused tasks and retries failed ones (DRS batch-retry-task).
  /// Signature: void(error_code, batch_result); errors as for async_pause. A running task
  /// succeeds unchanged.
  template <boost::asio::completion_token_for<batch_signature> CompletionToken>
  auto async_resume(project_id project, std::vector<job_id> ids, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, batch_signature>(
        [this](auto h, project_id p, std::vector<job_id> i) {
          start_resume(p, std::move(i), std::move(h));
        },
        token, project, std::move(ids));
  }

  /// Starts tasks (DRS batch-starting): an item without a start time, or with one not in the
  /// future, starts now (CONFIGURATION or WAITING_FOR_START to STARTJOBING); one with a
  /// future start time waits for it (WAITING_FOR_START; again: rescheduled), and the engine
  /// starts it then by itself, after a restart too when it has a data directory.
  /// Signature: void(error_code, batch_result); errors as for async_pause.
  template <boost::asio::completion_token_for<batch_signature> CompletionToken>
  auto async_start(project_id project, std::vector<start_item> items, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, batch_signature>(
        [this](auto h, project_id p, std::vector<start_item> i) {
          start_start(p, std::move(i), std::move(h));
        },
        token, project, std::move(items));
  }

  /// Terminates, force-terminates or deletes tasks (DRS batch-jobs). For a dual-active
  /// family, only the parent takes these, for both children at one instant (a child fails
  /// with errc::child_task_forbidden). Signature: void(error_code, batch_result); errors as
  /// for async_pause, and errc::invalid_item for a delete type outside its enum.
  template <boost::asio::completion_token_for<batch_signature> CompletionToken>
  auto async_delete(project_id project, std::vector<delete_item> items, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, batch_signature>(
        [this](auto h, project_id p, std::vector<delete_item> i) {
          start_delete(p, std::move(i), std::move(h));
        },
        token, project, std::move(items));
  }

  /// Applies worker events (start_succeeded, start_failed, full_transfer_done,
  /// incremental_started, transfer_failed, stopped). Signature: void(error_code,
  /// batch_result). The whole batch is refused with errc::not_a_worker_event when an item is
  /// an event no worker reports (a command, or the schedule's); otherwise as async_pause.
  template <boost::asio::completion_token_for<batch_signature> CompletionToken>
  auto async_report(project_id project, std::vector<event_item> items, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, batch_signature>(
        [this](auto h, project_id p, std::vector<event_item> i) {
          start_report(p, std::move(i), std::move(h));
        },
        token, project, std::move(items));
  }

  /// Applies workers' reports: each item's worker event (as async_report), then its
  /// transfer figures, which async_progress shows with the time of the report. The figures
  /// are kept in memory only: after a restart a task has none until its worker reports again.
  /// Signature: void(error_code, batch_result). Refused whole like async_report, and with
  /// errc::invalid_item for an item with neither an event nor figures, or a progress above
  /// 100. Per item: as async_report; an item whose event is refused changes nothing.
  template <boost::asio::completion_token_for<batch_signature> CompletionToken>
  auto async_worker_report(project_id project, std::vector<report_item> items,
                           CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, batch_signature>(
        [this](auto h, project_id p, std::vector<report_item> i) {
          start_worker_report(p, std::move(i), std::move(h));
        },
        token, project, std::move(items));
  }

  /// Removes DELETED tasks for good; afterwards their ids are unknown.
  /// Signature: void(error_code, batch_result). Per item: invalid_state unless DELETED (for
  /// a family: unless both children are), child_task_forbidden for a family child.
  template <boost::asio::completion_token_for<batch_signature> CompletionToken>
  auto async_purge(project_id project, std::vector<job_id> ids, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, batch_signature>(
        [this](auto h, project_id p, std::vector<job_id> i) {
          start_purge(p, std::move(i), std::move(h));
        },
        token, project, std::move(ids));
  }

  // -- Queries --------------------------------------------------------------------------

  /// Reads the state of each listed task (a parent's aggregate, DELETED included).
  /// Signature: void(error_code, std::vector<status_result>), one per id, in order;
  /// whole-batch errors as for async_pause, task_not_found per item.
  template <boost::asio::completion_token_for<status_signature> CompletionToken>
  auto async_status(project_id project, std::vector<job_id> ids, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, status_signature>(
        [this](auto h, project_id p, std::vector<job_id> i) {
          start_status(p, std::move(i), std::move(h));
        },
        token, project, std::move(ids));
  }

  /// Reads each listed task whole (DRS batch-detail): its snapshot and, for a dual-active
  /// parent, its children's, read at one instant. Signature: void(error_code,
  /// std::vector<detail_result>), one per id, in order; errors as for async_status.
  template <boost::asio::completion_token_for<detail_signature> CompletionToken>
  auto async_detail(project_id project, std::vector<job_id> ids, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, detail_signature>(
        [this](auto h, project_id p, std::vector<job_id> i) {
          start_detail(p, std::move(i), std::move(h));
        },
        token, project, std::move(ids));
  }

  /// Reads what the workers last reported of each listed task (DRS batch-progress): its
  /// state, its transfer figures and the time of the report. Signature: void(error_code,
  /// std::vector<progress_result>), one per id, in order; errors as for async_status.
  template <boost::asio::completion_token_for<progress_signature> CompletionToken>
  auto async_progress(project_id project, std::vector<job_id> ids, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, progress_signature>(
        [this](auto h, project_id p, std::vector<job_id> i) {
          start_progress(p, std::move(i), std::move(h));
        },
        token, project, std::move(ids));
  }

  /// Reads one task. Signature: void(error_code, task_snapshot); errc::task_not_found.
  template <boost::asio::completion_token_for<snapshot_signature> CompletionToken>
  auto async_get(project_id project, job_id id, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, snapshot_signature>(
        [this](auto h, project_id p, job_id i) { start_get(p, i, std::move(h)); }, token, project,
        id);
  }

  /// Lists a project's tasks (parents and children included), sorted by id.
  /// Signature: void(error_code, std::vector<task_snapshot>). Each task is read atomically;
  /// the list as a whole is not one instant across shards.
  template <boost::asio::completion_token_for<list_signature> CompletionToken>
  auto async_list(project_id project, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, list_signature>(
        [this](auto h, project_id p) { start_list(p, std::move(h)); }, token, project);
  }

  /// Counts all tasks by state. Signature: void(error_code, state_counts).
  template <boost::asio::completion_token_for<counts_signature> CompletionToken>
  auto async_count(CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, counts_signature>(
        [this](auto h) { start_count(std::move(h)); }, token);
  }

  /// Exports the whole registry as registrations sorted by id; registering them in an empty
  /// engine rebuilds the same registry. Signature: void(error_code, std::vector<registration>).
  template <boost::asio::completion_token_for<export_signature> CompletionToken>
  auto async_export(CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, export_signature>(
        [this](auto h) { start_export(std::move(h)); }, token);
  }

  // -- Subscriptions --------------------------------------------------------------------

  /// Subscribes `callback` to every state change. Signature: void(error_code, subscription);
  /// every change that happens after completion is delivered. The callback runs on the
  /// changed task's strand: one callback may run on several engine threads at once (for
  /// changes of tasks on different shards), so it must be safe to call concurrently.
  template <boost::asio::completion_token_for<subscribe_signature> CompletionToken>
  auto async_subscribe(change_callback callback, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, subscribe_signature>(
        [this](auto h, change_callback c) { start_subscribe(std::move(c), std::move(h)); }, token,
        std::move(callback));
  }

  // NOLINTEND(performance-unnecessary-value-param)

  // -- Event feed -----------------------------------------------------------------------

  /// Reads the events of `project` after position `after` (0: from the oldest kept, never
  /// gone), at most
  /// `max_events` of them, examining at most a bounded number of positions per call (read
  /// again from `next`). Returns at once: it never waits for the engine's threads, takes a
  /// lock only to copy, and never slows a command down for longer than that copy.
  /// Thread-safe. See feed_event.hpp for what is guaranteed.
  feed_page read_feed(const project_id& project, std::uint64_t after, std::size_t max_events) const;

  /// The last position readable now (0 while the feed is empty).
  std::uint64_t feed_position() const;

  // -- Blocking wrappers: `f(x)` throws boost::system::system_error, `f(x, ec)` never throws.
  // Each starts the asynchronous operation and waits for it (detail/blocking.hpp).

  batch_result register_tasks(std::vector<registration> items) {
    return async_register(std::move(items), blocking());
  }
  batch_result register_tasks(std::vector<registration> items, error_code& ec) {
    return async_register(std::move(items), blocking(ec));
  }
  batch_result pause(project_id project, std::vector<pause_item> items) {
    return async_pause(project, std::move(items), blocking());
  }
  batch_result pause(project_id project, std::vector<pause_item> items, error_code& ec) {
    return async_pause(project, std::move(items), blocking(ec));
  }
  batch_result resume(project_id project, std::vector<job_id> ids) {
    return async_resume(project, std::move(ids), blocking());
  }
  batch_result resume(project_id project, std::vector<job_id> ids, error_code& ec) {
    return async_resume(project, std::move(ids), blocking(ec));
  }
  batch_result start_tasks(project_id project, std::vector<start_item> items) {
    return async_start(project, std::move(items), blocking());
  }
  batch_result start_tasks(project_id project, std::vector<start_item> items, error_code& ec) {
    return async_start(project, std::move(items), blocking(ec));
  }
  batch_result delete_tasks(project_id project, std::vector<delete_item> items) {
    return async_delete(project, std::move(items), blocking());
  }
  batch_result delete_tasks(project_id project, std::vector<delete_item> items, error_code& ec) {
    return async_delete(project, std::move(items), blocking(ec));
  }
  batch_result report(project_id project, std::vector<event_item> items) {
    return async_report(project, std::move(items), blocking());
  }
  batch_result report(project_id project, std::vector<event_item> items, error_code& ec) {
    return async_report(project, std::move(items), blocking(ec));
  }
  batch_result worker_report(project_id project, std::vector<report_item> items) {
    return async_worker_report(project, std::move(items), blocking());
  }
  batch_result worker_report(project_id project, std::vector<report_item> items, error_code& ec) {
    return async_worker_report(project, std::move(items), blocking(ec));
  }
  std::vector<progress_result> progress(project_id project, std::vector<job_id> ids) {
    return async_progress(project, std::move(ids), blocking());
  }
  std::vector<progress_result> progress(project_id project, std::vector<job_id> ids,
                                        error_code& ec) {
    return async_progress(project, std::move(ids), blocking(ec));
  }
  batch_result purge(project_id project, std::vector<job_id> ids) {
    return async_purge(project, std::move(ids), blocking());
  }
  batch_result purge(project_id project, std::vector<job_id> ids, error_code& ec) {
    return async_purge(project, std::move(ids), blocking(ec));
  }
  std::vector<status_result> status(project_id project, std::vector<job_id> ids) {
    return async_status(project, std::move(ids), blocking());
  }
  std::vector<status_result> status(project_id project, std::vector<job_id> ids, error_code& ec) {
    return async_status(project, std::move(ids), blocking(ec));
  }
  std::vector<detail_result> detail(project_id project, std::vector<job_id> ids) {
    return async_detail(project, std::move(ids), blocking());
  }
  std::vector<detail_result> detail(project_id project, std::vector<job_id> ids, error_code& ec) {
    return async_detail(project, std::move(ids), blocking(ec));
  }
  task_snapshot get(project_id project, job_id id) { return async_get(project, id, blocking()); }
  task_snapshot get(project_id project, job_id id, error_code& ec) {
    return async_get(project, id, blocking(ec));
  }
  std::vector<task_snapshot> list(project_id project) { return async_list(project, blocking()); }
  std::vector<task_snapshot> list(project_id project, error_code& ec) {
    return async_list(project, blocking(ec));
  }
  state_counts count() { return async_count(blocking()); }
  state_counts count(error_code& ec) { return async_count(blocking(ec)); }
  std::vector<registration> export_snapshot() { return async_export(blocking()); }
  std::vector<registration> export_snapshot(error_code& ec) { return async_export(blocking(ec)); }
  subscription subscribe(change_callback callback) {
    return async_subscribe(std::move(callback), blocking());
  }
  subscription subscribe(change_callback callback, error_code& ec) {
    return async_subscribe(std::move(callback), blocking(ec));
  }

 private:
  template <class Signature>
  using handler = boost::asio::any_completion_handler<Signature>;

  detail::blocking_token blocking() const noexcept { return {core_.get(), nullptr}; }
  detail::blocking_token blocking(error_code& ec) const noexcept { return {core_.get(), &ec}; }

  void start_register(std::vector<registration> items, handler<batch_signature> h);
  void start_pause(project_id project, std::vector<pause_item> items, handler<batch_signature> h);
  void start_resume(project_id project, std::vector<job_id> ids, handler<batch_signature> h);
  void start_start(project_id project, std::vector<start_item> items, handler<batch_signature> h);
  void start_delete(project_id project, std::vector<delete_item> items, handler<batch_signature> h);
  void start_report(project_id project, std::vector<event_item> items, handler<batch_signature> h);
  void start_worker_report(project_id project, std::vector<report_item> items,
                           handler<batch_signature> h);
  void start_progress(project_id project, std::vector<job_id> ids, handler<progress_signature> h);
  void start_purge(project_id project, std::vector<job_id> ids, handler<batch_signature> h);
  void start_status(project_id project, std::vector<job_id> ids, handler<status_signature> h);
  void start_detail(project_id project, std::vector<job_id> ids, handler<detail_signature> h);
  void start_get(project_id project, job_id id, handler<snapshot_signature> h);
  void start_list(project_id project, handler<list_signature> h);
  void start_count(handler<counts_signature> h);
  void start_export(handler<export_signature> h);
  void start_subscribe(change_callback callback, handler<subscribe_signature> h);

  std::shared_ptr<detail::engine_core> core_;
};

}  // namespace taskorch
