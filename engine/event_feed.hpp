#pragma once
// event_feed: the ring of the latest changes that engine::read_feed() serves
// (include/taskorch/feed_event.hpp, docs/behaviour.md "Event feed").
//
// A change takes its position when the shard makes it, under the shard's gate, so one task's
// changes take growing positions. A part takes its positions in one block (one atomic
// increment, not one per change: the counter's cache line is shared by every thread), as
// many as it has items, when it makes its first change. It stages the events (feed_staging)
// and publishes them together when it releases its gates, the positions it did not use as
// void, with the journal's lsn of the part: an event is readable once every position up
// to its own is published and its lsn is stored (storage/journal.hpp), so a reader never sees
// a change a crash could undo, and never a position before an earlier one it skipped.
// Positions whose change was undone are published as void and skipped.
//
// The ring keeps `capacity` positions; publishing position p drops p - capacity. A reader
// whose position was dropped is told so (feed_page::gone) instead of missing events.
//
// Thread safety: take_positions() is lock-free; the rest take the ring's mutex, only to copy.

#include <taskorch/feed_event.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <utility>
#include <vector>

namespace taskorch::detail {

class event_feed {
 public:
  /// A ring of `capacity` positions (rounded up to a power of two), the next position to
  /// take `next_position`.
  event_feed(std::size_t capacity, std::uint64_t next_position);

  /// The lsn the journal has stored; events published with a larger one wait for it. Unset:
  /// everything published is stored.
  void set_stored_lsn(std::function<std::uint64_t()> stored) { stored_lsn_ = std::move(stored); }

  /// Takes `n` consecutive positions; returns the first.
  std::uint64_t take_positions(std::uint64_t n) noexcept {
    return next_.fetch_add(n, std::memory_order_relaxed);
  }

  /// Publishes events whose change is stored once the journal stores `lsn` (0: now).
  void publish(std::span<const feed_event> events, std::uint64_t lsn) noexcept;
  /// Publishes positions whose change was undone: readers skip them.
  void publish_void(std::span<const feed_event> events) noexcept;
  /// Publishes the positions [first, last) as void: taken, and no change took them.
  void publish_void(std::uint64_t first, std::uint64_t last) noexcept;

  /// engine::read_feed(): at most `max_events`, examining at most scan_limit positions.
  feed_page read(const project_id& project, std::uint64_t after, std::size_t max_events) const;
  /// The last readable position of an event (void positions after it do not count: they are
  /// not stored, and a restart may give them out again).
  std::uint64_t readable() const;

  /// The events kept, oldest first, stored or not yet (a checkpoint's copy: called holding
  /// every gate, so that every position taken is published and every change it covers is
  /// journaled up to the checkpoint's lsn).
  std::vector<feed_event> retained() const;
  /// Restores what recovery found: `events` sorted by position, all stored; positions
  /// between them are void. The next position taken follows the last of them.
  void restore(std::span<const feed_event> events);

  /// How many positions one read examines at most.
  static constexpr std::size_t scan_limit = 8192;

 private:
  struct slot {
    feed_event event;
    std::uint64_t lsn = 0;
    bool published = false;
    bool is_void = false;
  };
  slot& at(std::uint64_t position) noexcept { return ring_[position & mask_]; }
  const slot& at(std::uint64_t position) const noexcept { return ring_[position & mask_]; }
  std::uint64_t capacity() const noexcept { return mask_ + 1; }

  struct free_memory {
    void operator()(slot* p) const noexcept {
      // NOLINTNEXTLINE(*-no-malloc, *-owning-memory): the ring comes from calloc (below)
      std::free(p);
    }
  };
  // NOLINTNEXTLINE(*-avoid-c-arrays): an array of unknown size, from calloc
  static std::unique_ptr<slot[], free_memory> allocate_ring(std::size_t n);
  /// Takes mutex_, spinning a little before it sleeps.
  void lock_briefly() const noexcept;
  void place(const feed_event& e, std::uint64_t lsn, bool is_void) noexcept;
  /// Moves readable_ over the published and stored positions after it. Holding mutex_.
  void advance() const noexcept;

  // All-zero bytes are an empty slot (an unpublished position 0), so the ring comes from
  // calloc: its pages are taken as positions reach them, and an engine starts at once.
  std::unique_ptr<slot[], free_memory> ring_;  // NOLINT(*-avoid-c-arrays)
  std::uint64_t mask_;
  std::atomic<std::uint64_t> next_;
  std::function<std::uint64_t()> stored_lsn_;
  mutable std::mutex mutex_;
  mutable std::uint64_t readable_ = 0;    ///< every position up to it is readable or dropped
  mutable std::uint64_t last_event_ = 0;  ///< the last readable position of an event
  std::uint64_t dropped_ = 0;             ///< every position up to it is no longer kept
};

class feed_staging;

namespace feed_staging_detail {
/// The staging area of the part the calling thread runs, if any (feed_staging::current()).
// NOLINTNEXTLINE(cppcoreguidelines-avoid-non-const-global-variables): per thread, by design
inline thread_local feed_staging* recording = nullptr;
}  // namespace feed_staging_detail

/// The events the part running on the calling thread made, until it publishes them.
class feed_staging {
 public:
  /// The calling thread's staging area, while a part that changes tasks runs (else nullptr).
  static feed_staging* current() noexcept { return feed_staging_detail::recording; }

  /// Makes `staging` the calling thread's while it lives.
  class scope {
   public:
    explicit scope(feed_staging* staging) noexcept : previous_(feed_staging_detail::recording) {
      feed_staging_detail::recording = staging;
    }
    ~scope() { feed_staging_detail::recording = previous_; }
    scope(const scope&) = delete;
    scope& operator=(const scope&) = delete;

   private:
    feed_staging* previous_;
  };

  /// Makes room for `n` more events, so that add() cannot throw.
  void reserve(std::size_t n) { events_.reserve(events_.size() + n); }

  /// The number of positions to take at once: the part's items (at least 1).
  void set_block_size(std::uint64_t n) noexcept { block_size_ = n == 0 ? 1 : n; }
  /// The next position of the part's block, taking a block from `feed` when it has none.
  std::uint64_t take_position(event_feed& feed) noexcept {
    if (next_ == end_) {
      next_ = feed.take_positions(block_size_);
      end_ = next_ + block_size_;
    }
    return next_++;
  }
  /// The positions taken and not used, [first, second), given up: the block is empty after.
  std::pair<std::uint64_t, std::uint64_t> take_unused() noexcept {
    const std::pair unused{next_, end_};
    next_ = end_ = 0;
    return unused;
  }
  /// Stages a new event (room reserved) and returns it to fill in place: the hot path, where
  /// building it on the stack and copying it costs a stalled store-to-load forward.
  feed_event& add() noexcept { return events_.emplace_back(); }
  /// Stages `position` as void: its change was not made (room reserved). A void event has
  /// version 0, which no change gives a task.
  void add_void(std::uint64_t position) noexcept {
    feed_event e;
    e.position = position;
    events_.push_back(e);
  }

  std::span<const feed_event> events() const noexcept { return events_; }
  bool empty() const noexcept { return events_.empty(); }
  /// Empties it for the next part, keeping its buffer unless it grew large.
  void clear() noexcept {
    constexpr std::size_t kept_capacity = 1U << 14;
    if (events_.capacity() > kept_capacity) std::vector<feed_event>().swap(events_);
    events_.clear();
  }

 private:
  std::vector<feed_event> events_;
  std::uint64_t block_size_ = 1;
  std::uint64_t next_ = 0;  ///< the block's next position
  std::uint64_t end_ = 0;   ///< past the block's last position
};

}  // namespace taskorch::detail
