#pragma once
// operation: what every engine operation shares, and the protocol the engine runs it by.
//
// An item operation (commands, status, get, purge, register) is split by shard:
//   static validate(inputs..., options)  the whole-batch checks, before anything is touched;
//   size(), id_at(i)                     its items, and the id item i looks up (prefetched);
//   first_shard(placement, i)            where item i's first step runs;
//   run(step_context&, i)                item i's step, holding that shard's gate; returns
//                                        the shard of its next step, or nothing when done;
//   fail(i, ec)                          the engine could not run item i (it stopped, or ran
//                                        out of memory);
//   release_inputs()                     (optional) frees the items before completion;
//   result()                             the arguments of the completion;
//   changes_registry                     (a static member, present on commands, registration
//                                        and purge) its changes are journaled.
// A broadcast operation (count, list, export, subscribe) runs once on every shard:
//   run_shard(step_context&), fail(ec), result().
// Every operation holds `done`, its completion, and operation_base: the parts counter, the
// lsn it waits for, and fail_unstored(ec), which fails what the journal could not store.
// The engine (engine_core, dispatcher) admits it, routes its parts, and completes it once, in
// one place: dispatcher::finish(), where the last part ends.

#include "../batch_validation.hpp"
#include "../completion.hpp"
#include "../huge_pages.hpp"
#include "../step_context.hpp"
#include <taskorch/engine.hpp>

#include <boost/asio/error.hpp>
#include <boost/system/errc.hpp>

#include <atomic>
#include <cstdint>
#include <tuple>
#include <vector>

namespace taskorch::detail {

/// The error of items that did not run because the engine stopped.
inline error_code stopped_error() { return asio::error::operation_aborted; }

/// The error of items that did not run for lack of memory.
inline error_code out_of_memory_error() {
  return boost::system::errc::make_error_code(boost::system::errc::not_enough_memory);
}

/// The parts counter, the lsn to wait for, and why some of the operation could not run.
struct operation_base {
  /// The parts not yet finished. Public: the dispatcher counts them as it routes the operation.
  std::atomic<std::size_t> parts{0};  // NOLINT(*-non-private-member-variables-in-classes)

  /// Records that the engine could not run part of the operation; it then completes with
  /// this error (a stop wins over a failed journal, which wins over a lack of memory).
  void note_failure(const error_code& ec) noexcept {
    const std::uint8_t kind = ec == stopped_error()                    ? stopped
                              : ec == error_code(errc::journal_failed) ? journal_failed
                                                                       : out_of_memory;
    std::uint8_t seen = failure_.load();
    while (seen < kind && !failure_.compare_exchange_weak(seen, kind)) {
    }
  }

  /// The operation's error: empty unless the engine could not run all of it.
  error_code failure() const noexcept {
    switch (failure_.load()) {
      case stopped:
        return stopped_error();
      case journal_failed:
        return errc::journal_failed;
      case out_of_memory:
        return out_of_memory_error();
      default:
        return {};
    }
  }

  /// Notes that the operation changed or read a state journaled as `lsn`: it completes once
  /// the journal has stored it.
  void note_lsn(std::uint64_t lsn) noexcept {
    std::uint64_t seen = lsn_.load(std::memory_order_relaxed);
    while (seen < lsn && !lsn_.compare_exchange_weak(seen, lsn, std::memory_order_relaxed)) {
    }
  }
  std::uint64_t lsn() const noexcept { return lsn_.load(std::memory_order_relaxed); }

  /// The journal could not store what the operation changed or read (errc::journal_failed).
  void fail_unstored(const error_code& ec) noexcept { note_failure(ec); }

  /// Set when a part appended changes while others were still to come: the journal was told
  /// to expect more (journal::expect_more()), and is told when the operation finishes.
  // NOLINTNEXTLINE(*-non-private-member-variables-in-classes): the dispatcher sets it
  std::atomic<bool> expects_more_changes{false};

 private:
  static constexpr std::uint8_t out_of_memory = 1;
  static constexpr std::uint8_t journal_failed = 2;
  static constexpr std::uint8_t stopped = 3;
  std::atomic<std::uint8_t> failure_{0};
  std::atomic<std::uint64_t> lsn_{0};
};

/// The completion arguments of an operation refused as a whole with `ec`.
template <class Signature>
struct refusal;
template <class Result>
struct refusal<void(error_code, Result)> {
  static std::tuple<error_code, Result> of(error_code ec) { return {ec, Result()}; }
};

/// The per-item results of a batch, in request order, and its one completion.
template <class Result>
struct per_item_op : operation_base {
  using signature = void(error_code, std::vector<Result>);

  template <class Items>
  explicit per_item_op(const Items& items) {
    results.reserve(items.size());  // one pass over the memory: no zeroing before the ids
    advise_fresh_huge_pages(results.data(), items.size() * sizeof(Result));
    for (const auto& item : items) results.push_back(Result{.id = item_id(item)});
  }
  void fail(std::size_t i, const error_code& ec) noexcept {
    results[i].error = ec;
    note_failure(ec);
  }
  /// Every item that succeeded fails: its change, or what it read, is not stored.
  void fail_unstored(const error_code& ec) noexcept {
    for (Result& r : results) {
      if (!r.error) r.error = ec;
    }
    note_failure(ec);
  }
  std::tuple<error_code, std::vector<Result>> result() { return {failure(), std::move(results)}; }

  std::vector<Result> results;
  completion<signature> done;
};

/// A batch of items of one project, each starting on the home shard of its id: what the
/// commands, status and purge share. `Item` is job_id, pause_item or event_item.
template <class Result, class Item>
struct project_batch_op : per_item_op<Result> {
  project_batch_op(project_id p, std::vector<Item> i)
      : per_item_op<Result>(i), project(p), items(std::move(i)) {}

  std::size_t size() const { return items.size(); }
  const job_id& id_at(std::size_t i) const { return item_id(items[i]); }
  shard_index first_shard(const placement& placed, std::size_t i) const {
    return placed.home(item_id(items[i]));
  }
  void release_inputs() { std::vector<Item>().swap(items); }

  project_id project;
  std::vector<Item> items;
};

}  // namespace taskorch::detail
