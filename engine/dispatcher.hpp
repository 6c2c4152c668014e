#pragma once
// dispatcher: moves an admitted operation across the shards and completes it.
//
// An item operation is split by shard (a counting sort of its items by the shard of their
// first step); each part runs under its shard's gate, on the shard's strand or inline on the
// calling thread; an item whose next step is on another shard (a family child's stub, a
// step that needs the lowest of several shards) is forwarded there as a new part. A
// broadcast operation runs once on every shard. The part that brings the operation's parts
// counter to zero finishes it: finish() is the one place where every operation completes.
//
// Inline parts: a caller outside the engine's threads runs parts itself, holding the gate,
// when nothing is queued on the shard's strand and the gate is free (all parts of a small
// batch, one part of a large one); a shard with queued parts always gets a post, which keeps
// one caller's operations in the order it started them on every shard. Nothing runs inline
// while anyone is subscribed: callbacks run on engine threads only.
//
// Journaling (storage/journal.hpp): with a journal, a part records the changes its items make
// into a change log and appends it to the journal before it releases the gates of the
// shards it changed (after each multi-shard step, and at the end of the part). Every part
// notes the lsn of the last change it made or saw on its shard (shard::last_lsn()), and
// finish() completes the operation only once the journal has stored that lsn: a command is
// acknowledged, and a query answers, only with what a crash cannot undo. When the journal
// fails, the operation's unstored items fail with errc::journal_failed.
//
// Failures: the engine never drops an admitted operation. An item the engine could not run
// (it stopped, or memory ran out routing or posting it) fails with operation_aborted or
// errc::not_enough_memory, and the operation completes with that error; items that ran keep
// their outcomes. Only when memory runs out for handing the completion itself on is the
// handler destroyed uncalled; std::bad_alloc then propagates (from the initiating call, or
// into the engine thread's exception hook).

#include "admission.hpp"
#include "completion.hpp"
#include "operations/operation.hpp"
#include "placement.hpp"
#include "shard.hpp"
#include "shard_gate.hpp"
#include "step_context.hpp"
#include "storage/change_log.hpp"
#include "storage/journal.hpp"
#include "strand_pool.hpp"
#include "undo.hpp"

#include <boost/asio/post.hpp>
#include <boost/container/small_vector.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <thread>
#include <utility>
#include <vector>

namespace taskorch::detail {

/// Thread safety: every member may be called from any thread.
class dispatcher {
 public:
  dispatcher(const engine_options& options, admission& admitted_ops, strand_pool& pool,
             start_schedule& schedule, event_feed& feed)
      : options_(options),
        placement_(options.shards),
        shards_(options.shards),
        gates_(options.shards),
        admission_(admitted_ops),
        pool_(pool),
        feed_(&feed) {
    for (shard& s : shards_) {
      s.set_schedule(&schedule);
      s.set_feed(&feed);
    }
  }

  /// Runs an admitted item operation: splits it by shard and runs or posts each part.
  template <class Op>
  void scatter(const std::shared_ptr<Op>& op);

  /// Runs an admitted broadcast operation once on every shard.
  template <class Op>
  void broadcast(const std::shared_ptr<Op>& op);

  /// Posts `work` to run on shard `s`'s strand holding its gate, then `then` (outside the
  /// gate). Throws std::bad_alloc, having posted nothing, when the post cannot be allocated.
  template <class Work, class Then>
  void post_to_shard(shard_index s, Work work, Then then);

  /// Completes `done` from outside the engine's threads (the initiating call): posts it.
  template <class Signature, class... A>
  void complete_now(completion<Signature>& done, A&&... args) {
    if (admission_.stopping()) {
      done.post_via(asio::system_executor(), std::forward<A>(args)...);
    } else {
      done.post_via(pool_.context_executor(0), std::forward<A>(args)...);
    }
  }

  /// True on one of the engine's threads, or on a caller's thread while it runs a part
  /// inline: where blocking on the engine could deadlock.
  bool on_engine_thread() const noexcept;

  /// Posts the removal of `slot` to every shard; the subscriber count drops once it is gone
  /// from all. Throws std::bad_alloc when a post cannot be allocated (the slot then stays,
  /// closed, on some shards).
  void remove_subscriber(const std::shared_ptr<subscriber_slot>& slot);

  /// Subscriptions not yet removed from every shard; nothing runs inline while there are.
  std::atomic<std::size_t>& subscribers() noexcept { return subscribers_; }

  std::size_t shard_count() const noexcept { return shards_.size(); }
  shard_index home(const job_id& id) const noexcept { return placement_.home(id); }

  /// Journals every change from now on (nullptr: none). Set while nothing runs.
  void set_journal(storage::journal* j) noexcept { journal_ = j; }
  storage::journal* journal() const noexcept { return journal_; }

  /// Runs `work(step_context&)` holding every gate (taken in ascending order), from a thread
  /// that holds none: a checkpoint's copy, a rollback.
  template <class Work>
  void with_every_gate(Work work);
  /// Runs `work(const shard&)` holding shard `s`'s gate, from a thread that holds none.
  template <class Work>
  void with_gate(shard_index s, Work work) {
    std::lock_guard gate(gates_[s]);
    work(std::as_const(shards_[s]));
  }

  /// The shards, for a copy taken under with_every_gate().
  const std::vector<shard>& shards() const noexcept { return shards_; }

 private:
  step_context context(shard_index s) noexcept {
    return {std::span<shard>(shards_), std::span<shard_gate>(gates_), placement_, s};
  }
  bool may_run_inline() const noexcept;
  bool try_enter_shard(shard_index s) noexcept;
  template <class Op>
  void post_part(const std::shared_ptr<Op>& op, shard_index s,
                 std::span<const std::uint32_t> items);
  // A part expects no exception but std::bad_alloc, which fails the item it hit; any other
  // breaks an invariant, and ends the program here.
  template <class Op>
  // NOLINTNEXTLINE(bugprone-exception-escape): as said above
  void run_part(const std::shared_ptr<Op>& op, shard_index s,
                std::span<const std::uint32_t> items) noexcept;
  /// Items of a part whose next step is on another shard, with that shard.
  using forward_list = boost::container::small_vector<std::pair<shard_index, std::uint32_t>, 8>;
  /// Posts each shard's forwarded items of `op` as a new part there; items it cannot post
  /// fail with not_enough_memory. Any other exception breaks an invariant (as in run_part).
  template <class Op>
  // NOLINTNEXTLINE(bugprone-exception-escape): as said above
  void post_forwards(const std::shared_ptr<Op>& op, forward_list& forwards) noexcept;
  /// Journals what a step or part recorded in `log` (journal_changes()), telling the journal
  /// first when `op` has more to append; the `items` fail when memory runs out for it.
  template <class Op>
  void journal_step(Op& op, step_context& ctx, storage::change_log& log, std::uint64_t& lsn,
                    bool more, std::span<const std::uint32_t> items) noexcept;
  template <class Op>
  void finish_part(const std::shared_ptr<Op>& op);
  template <class Op>
  void finish(const std::shared_ptr<Op>& op);
  template <class Op>
  void complete(const std::shared_ptr<Op>& op);
  /// Before a part of `op` appends changes: when more may follow (other parts are running, or
  /// `more_here`), tells the journal to expect them, once per operation (before the append,
  /// so that the writer never takes the group without knowing).
  template <class Op>
  void expect_more_changes(Op& op, bool more_here) {
    if ((more_here || op.parts.load() > 1) && !op.expects_more_changes.exchange(true)) {
      journal_->expect_more();
    }
  }
  /// Appends `log` to the journal, holding the gates of what it changed, and publishes the
  /// events the part staged with the lsn they are stored at; when the journal cannot take it
  /// (out of memory), puts the changes back, publishes their positions void and returns false.
  bool journal_changes(step_context& ctx, storage::change_log& log, std::uint64_t& lsn) noexcept;
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

  const engine_options& options_;
  placement placement_;
  std::vector<shard> shards_;
  std::vector<shard_gate> gates_;  // never resized: a gate cannot move
  admission& admission_;
  strand_pool& pool_;
  std::atomic<std::size_t> subscribers_{0};
  storage::journal* journal_ = nullptr;
  event_feed* feed_ = nullptr;
};

namespace dispatch_detail {

/// A per-batch array: inline up to N elements, on huge pages when large.
template <class T, std::size_t N>
using local_array = boost::container::small_vector<T, N, huge_page_allocator<T>>;

/// The item indices of a posted part.
using index_array = std::vector<std::uint32_t, huge_page_allocator<std::uint32_t>>;

/// The engine whose shard gate the calling thread holds for an inline part, if any.
// NOLINTNEXTLINE(cppcoreguidelines-avoid-non-const-global-variables): per thread, by design
inline thread_local const dispatcher* inline_part_of = nullptr;

/// An operation's items sorted by the shard of their first step: one flat array of item
/// indices, one contiguous span per shard, request order kept within a shard.
struct routing {
  local_array<std::uint32_t, 256> order;
  local_array<std::size_t, 17> begin;  ///< shard s's span is [begin[s], begin[s + 1])
  std::span<const std::uint32_t> part(std::size_t s) const {
    return {order.data() + begin[s], begin[s + 1] - begin[s]};
  }
  bool empty(std::size_t s) const { return begin[s + 1] == begin[s]; }
};

template <class Op>
void route(const Op& op, const placement& placed, routing& r) {
  const std::size_t n = op.size();
  const std::size_t shard_count = placed.shards();
  local_array<shard_index, 256> first(n);
  r.begin.assign(shard_count + 1, 0);
  for (std::size_t i = 0; i < n; ++i) {
    first[i] = op.first_shard(placed, i);
    ++r.begin[first[i] + 1];
  }
  for (std::size_t s = 0; s < shard_count; ++s) r.begin[s + 1] += r.begin[s];
  r.order.resize(n);
  local_array<std::size_t, 16> fill(r.begin.begin(), r.begin.end() - 1);
  for (std::size_t i = 0; i < n; ++i) r.order[fill[first[i]]++] = static_cast<std::uint32_t>(i);
}

}  // namespace dispatch_detail

inline bool dispatcher::on_engine_thread() const noexcept {
  return pool_.current() != nullptr || dispatch_detail::inline_part_of == this;
}

inline bool dispatcher::may_run_inline() const noexcept {
  return pool_.current() == nullptr && dispatch_detail::inline_part_of == nullptr &&
         subscribers_.load() == 0;
}

inline bool dispatcher::try_enter_shard(shard_index s) noexcept {
  // A few tries, then give up: waiting here could deadlock with whatever the gate's holder
  // waits for, so a busy shard gets a post instead.
  constexpr int tries = 16;
  for (int i = 0; i < tries; ++i) {
    if (gates_[s].queued.load() != 0) return false;
    if (gates_[s].try_lock()) {
      // A subscription may have reached this shard since may_run_inline() was asked: its
      // part ran under this gate, so the count is up to date now.
      if (subscribers_.load() == 0) return true;
      gates_[s].unlock();
      return false;
    }
    std::this_thread::yield();
  }
  return false;
}

template <class Work, class Then>
void dispatcher::post_to_shard(shard_index s, Work work, Then then) {
  gates_[s].queued.fetch_add(1);
  try {
    asio::post(pool_.strand(s),
               [this, s, work = std::move(work), then = std::move(then)]() mutable {
                 {
                   std::lock_guard gate(gates_[s]);
                   work();
                 }
                 gates_[s].queued.fetch_sub(1);
                 then();
               });
  } catch (...) {
    gates_[s].queued.fetch_sub(1);
    throw;
  }
}

inline void dispatcher::remove_subscriber(const std::shared_ptr<subscriber_slot>& slot) {
  auto shards_left = std::make_shared<std::atomic<std::size_t>>(shards_.size());
  for (std::size_t s = 0; s < shards_.size(); ++s) {
    const auto index = static_cast<shard_index>(s);
    post_to_shard(
        index, [this, index, slot] { context(index).here().remove_subscriber(slot.get()); },
        [this, shards_left] {
          if (shards_left->fetch_sub(1) == 1) subscribers_.fetch_sub(1);
        });
  }
}

template <class Op>
void dispatcher::scatter(const std::shared_ptr<Op>& op) {
  const std::size_t n = op->size();
  const std::size_t shard_count = shards_.size();
  dispatch_detail::routing r;
  dispatch_detail::local_array<shard_index, 16> mine;
  try {
    dispatch_detail::route(*op, placement_, r);
    mine.reserve(shard_count);
  } catch (const std::bad_alloc&) {
    for (std::size_t i = 0; i < n; ++i) op->fail(i, out_of_memory_error());
    op->parts.store(1);
    return finish_part(op);
  }
  std::size_t parts = 0;
  for (std::size_t s = 0; s < shard_count; ++s) parts += r.empty(s) ? 0 : 1;
  if (parts == 0) {  // an empty registration: nothing to run
    op->parts.store(1);
    return finish_part(op);
  }
  op->parts.store(parts);
  // The caller runs every part of a small batch itself: waking an engine thread would cost
  // more than the work. Of a large batch it runs one part, after posting the others, so the
  // engine threads work on them meanwhile. A shard that is busy, or has queued parts, gets a
  // post instead.
  const bool small = n <= options_.inline_batch_items;
  const bool may_inline = may_run_inline();
  std::size_t last = shard_count;
  for (std::size_t s = 0; s < shard_count; ++s) last = r.empty(s) ? last : s;
  for (std::size_t s = 0; s < shard_count; ++s) {
    if (r.empty(s)) continue;
    const auto index = static_cast<shard_index>(s);
    if (may_inline && (small || s == last)) {
      mine.push_back(index);
    } else {
      post_part(op, index, r.part(s));
    }
  }
  for (const shard_index s : mine) {
    if (!try_enter_shard(s)) {
      post_part(op, s, r.part(s));
      continue;
    }
    {
      std::unique_lock gate(gates_[s], std::adopt_lock);
      dispatch_detail::inline_part_of = this;
      run_part(op, s, r.part(s));
      dispatch_detail::inline_part_of = nullptr;
    }
    finish_part(op);  // may complete the operation: outside the gate
  }
}

template <class Op>
void dispatcher::post_part(const std::shared_ptr<Op>& op, shard_index s,
                           std::span<const std::uint32_t> items) {
  try {
    auto indices = std::make_shared<const dispatch_detail::index_array>(items.begin(), items.end());
    post_to_shard(
        s, [this, op, indices, s] { run_part(op, s, std::span<const std::uint32_t>(*indices)); },
        [this, op] { finish_part(op); });
  } catch (const std::bad_alloc&) {
    for (std::uint32_t i : items) op->fail(i, out_of_memory_error());
    finish_part(op);
  }
}

template <class Op>
void dispatcher::run_part(const std::shared_ptr<Op>& op, shard_index s,
                          std::span<const std::uint32_t> items) noexcept {
  if (admission_.stopping()) {
    for (std::uint32_t i : items) op->fail(i, stopped_error());
    return;
  }
  step_context ctx = context(s);
  // The part's changes, when they are journaled.
  constexpr bool changes = requires { Op::changes_registry; };
  thread_local storage::change_log log;  // empty: every part journals (and clears) its own
  BOOST_ASSERT(log.empty());
  const storage::change_log::scope recording(changes && journal_ != nullptr ? &log : nullptr);
  // The part's events, published with its changes (journal_changes()).
  thread_local feed_staging staging;
  BOOST_ASSERT(staging.empty());
  staging.set_block_size(items.size());
  const feed_staging::scope staging_scope(changes ? &staging : nullptr);
  std::uint64_t lsn = 0;
  // Each item's record is prefetched `ahead` items before it is applied: a batch over a
  // large registry is bound by memory latency, and this overlaps the loads.
  constexpr std::size_t ahead = 8;
  const shard& here = shards_[s];
  for (std::size_t k = 0; k < std::min(ahead, items.size()); ++k) {
    here.prefetch(op->id_at(items[k]));
  }
  forward_list forwards;
  for (std::size_t k = 0; k < items.size(); ++k) {
    if (k + ahead < items.size()) here.prefetch(op->id_at(items[k + ahead]));
    const std::uint32_t i = items[k];
    try {
      if (std::optional<shard_index> next = op->run(ctx, i)) forwards.emplace_back(*next, i);
    } catch (const std::bad_alloc&) {
      op->fail(i, out_of_memory_error());
    }
    if (ctx.holds_extra_gates()) {
      // A multi-shard step: journaled before the other shards' gates go.
      journal_step(*op, ctx, log, lsn, k + 1 < items.size(), items.subspan(k, 1));
      ctx.release_extra_gates();
    }
  }
  journal_step(*op, ctx, log, lsn, !forwards.empty(), items);
  if (journal_ != nullptr) op->note_lsn(std::max(lsn, shards_[s].last_lsn()));
  post_forwards(op, forwards);
}

template <class Op>
void dispatcher::post_forwards(const std::shared_ptr<Op>& op, forward_list& forwards) noexcept {
  if (forwards.empty()) return;
  std::sort(forwards.begin(), forwards.end());
  for (std::size_t k = 0; k < forwards.size();) {
    const shard_index target = forwards[k].first;
    const std::size_t group_begin = k;
    while (k < forwards.size() && forwards[k].first == target) ++k;
    try {
      auto group = std::make_shared<dispatch_detail::index_array>();
      group->reserve(k - group_begin);
      for (std::size_t g = group_begin; g < k; ++g) group->push_back(forwards[g].second);
      // Counted before this part ends, so the counter cannot reach zero meanwhile.
      op->parts.fetch_add(1);
      try {
        post_to_shard(
            target,
            [this, op, group, target] {
              run_part(op, target, std::span<const std::uint32_t>(*group));
            },
            [this, op] { finish_part(op); });
      } catch (...) {
        op->parts.fetch_sub(1);  // never reaches zero: this part still counts
        throw;
      }
    } catch (const std::bad_alloc&) {
      for (std::size_t g = group_begin; g < k; ++g)
        op->fail(forwards[g].second, out_of_memory_error());
    }
  }
}

template <class Op>
void dispatcher::broadcast(const std::shared_ptr<Op>& op) {
  op->parts.store(shards_.size());
  for (std::size_t s = 0; s < shards_.size(); ++s) {
    const auto index = static_cast<shard_index>(s);
    try {
      post_to_shard(
          index,
          [this, op, index] {
            if (admission_.stopping()) return op->fail(stopped_error());
            step_context ctx = context(index);
            try {
              op->run_shard(ctx);
            } catch (const std::bad_alloc&) {
              op->fail(out_of_memory_error());
            }
            if (journal_ != nullptr) op->note_lsn(shards_[index].last_lsn());
          },
          [this, op] { finish_part(op); });
    } catch (const std::bad_alloc&) {
      op->fail(out_of_memory_error());
      finish_part(op);
    }
  }
}

template <class Op>
void dispatcher::finish_part(const std::shared_ptr<Op>& op) {
  if (op->parts.fetch_sub(1) == 1) finish(op);
}

template <class Op>
void dispatcher::finish(const std::shared_ptr<Op>& op) {
  if (op->expects_more_changes.load()) journal_->done_appending();
  if (journal_ != nullptr && op->lsn() > journal_->stored()) {
    try {
      // Completed from the journal's thread, when what the operation changed or saw is
      // stored (or can never be).
      const bool waiting = journal_->when_stored(op->lsn(), [this, op](error_code ec) {
        if (ec) op->fail_unstored(ec);
        complete(op);
      });
      if (waiting) return;
    } catch (const std::bad_alloc&) {
      journal_->wait_stored(op->lsn());  // no room to wait asynchronously: wait here
      if (op->lsn() > journal_->stored()) op->fail_unstored(errc::journal_failed);
    }
  }
  complete(op);
}

template <class Op>
void dispatcher::complete(const std::shared_ptr<Op>& op) {
  // Leaves whatever happens below: a completion that cannot be handed on, or a handler that
  // throws on an engine thread, must not keep stop() waiting.
  admitted leaving(admission_);
  // The inputs go before the handler runs: a caller woken by it may measure or reuse the
  // memory while the last part's handler object, and with it the operation, still lives.
  if constexpr (requires { op->release_inputs(); }) op->release_inputs();
  std::apply(
      [&](auto&&... args) { complete_here(op->done, std::forward<decltype(args)>(args)...); },
      op->result());
}

template <class Op>
void dispatcher::journal_step(Op& op, step_context& ctx, storage::change_log& log,
                              std::uint64_t& lsn, bool more,
                              std::span<const std::uint32_t> items) noexcept {
  if (!log.empty()) expect_more_changes(op, more);
  if (!journal_changes(ctx, log, lsn)) {
    for (std::uint32_t i : items) op.fail(i, out_of_memory_error());
  }
}

inline bool dispatcher::journal_changes(step_context& ctx, storage::change_log& log,
                                        std::uint64_t& lsn) noexcept {
  feed_staging* staging = feed_staging::current();
  // The part's events: stored at `stored_at`, or void when their changes were put back; and
  // the positions it took and did not use.
  const auto publish = [&](bool made, std::uint64_t stored_at) noexcept {
    if (staging == nullptr) return;
    if (made) {
      feed_->publish(staging->events(), stored_at);
    } else {
      feed_->publish_void(staging->events());
    }
    const auto [first, last] = staging->take_unused();
    feed_->publish_void(first, last);
    staging->clear();
  };
  if (log.empty()) {
    publish(true, 0);  // nothing journaled: stored as it is made
    return true;
  }
  try {
    const std::uint64_t last = journal_->append(log);
    for (shard* changed : log.touched()) changed->set_last_lsn(last);
    lsn = std::max(lsn, last);
    log.clear();
    publish(true, last);
    return true;
  } catch (const std::bad_alloc&) {
    undo_changes(ctx, log.undo());
    log.clear();
    publish(false, 0);
    return false;
  }
}

template <class Work>
void dispatcher::with_every_gate(Work work) {
  for (shard_gate& gate : gates_) gate.lock();
  const auto unlock_every_gate = [this]() noexcept {
    std::for_each(gates_.rbegin(), gates_.rend(), [](shard_gate& gate) { gate.unlock(); });
  };
  try {
    step_context ctx = context(0);
    work(ctx);
  } catch (...) {
    unlock_every_gate();
    throw;
  }
  unlock_every_gate();
}

}  // namespace taskorch::detail
