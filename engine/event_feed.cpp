#include "event_feed.hpp"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <new>
#include <type_traits>

namespace taskorch::detail {

namespace {

/// `n` zeroed slots (an empty slot is all zero bytes: its types are implicit-lifetime).
template <class Slot>
Slot* zeroed(std::size_t n) {
  static_assert(std::is_trivially_copyable_v<Slot> && std::is_trivially_destructible_v<Slot>);
  void* p = std::calloc(n, sizeof(Slot));  // NOLINT(*-no-malloc, *-owning-memory)
  if (p == nullptr) throw std::bad_alloc();
  return static_cast<Slot*>(p);
}

}  // namespace

// NOLINTBEGIN(*-avoid-c-arrays): the ring is an array of a size known at run time
auto event_feed::allocate_ring(std::size_t n) -> std::unique_ptr<slot[], free_memory> {
  return std::unique_ptr<slot[], free_memory>(zeroed<slot>(n));
}
// NOLINTEND(*-avoid-c-arrays)

event_feed::event_feed(std::size_t capacity, std::uint64_t next_position)
    : ring_(allocate_ring(std::bit_ceil(std::max<std::size_t>(capacity, 2)))),
      mask_(std::bit_ceil(std::max<std::size_t>(capacity, 2)) - 1),
      next_(next_position),
      readable_(next_position - 1),
      last_event_(next_position - 1),
      dropped_(next_position - 1) {}

void event_feed::place(const feed_event& e, std::uint64_t lsn, bool is_void) noexcept {
  slot& s = at(e.position);
  if (s.published && s.event.position > e.position) return;  // dropped while in flight
  if (e.position <= dropped_) return;
  if (s.published) dropped_ = std::max(dropped_, s.event.position);
  if (e.position > capacity()) dropped_ = std::max(dropped_, e.position - capacity());
  s.event = e;
  s.lsn = lsn;
  s.published = true;
  s.is_void = is_void;
}

void event_feed::lock_briefly() const noexcept {
  // Parts publish often, each holding the lock for a moment: waiting that moment out costs
  // less than sleeping in the kernel and being woken.
  for (int spin = 0; spin < 1000; ++spin) {
    if (mutex_.try_lock()) return;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();  // lets the other hyperthread run while this one waits
#endif
  }
  mutex_.lock();
}

void event_feed::publish(std::span<const feed_event> events, std::uint64_t lsn) noexcept {
  if (events.empty()) return;
  lock_briefly();
  const std::lock_guard lock(mutex_, std::adopt_lock);
  for (const feed_event& e : events) place(e, lsn, e.version == 0);
}

void event_feed::publish_void(std::span<const feed_event> events) noexcept {
  if (events.empty()) return;
  const std::lock_guard lock(mutex_);
  for (const feed_event& e : events) place(e, 0, true);
}

void event_feed::publish_void(std::uint64_t first, std::uint64_t last) noexcept {
  if (first == last) return;
  const std::lock_guard lock(mutex_);
  feed_event hole;
  // Only the latest ring's worth can be kept; older positions are dropped by those.
  for (std::uint64_t p = std::max(first, last > capacity() ? last - capacity() : 0); p < last;
       ++p) {
    hole.position = p;
    place(hole, 0, true);
  }
}

void event_feed::advance() const noexcept {
  const std::uint64_t stored = stored_lsn_ ? stored_lsn_() : 0;
  readable_ = std::max(readable_, dropped_);
  for (;;) {
    const std::uint64_t p = readable_ + 1;
    const slot& s = at(p);
    if (!s.published || s.event.position < p) return;                   // not published yet
    if (s.event.position == p && !s.is_void && s.lsn > stored) return;  // not stored yet
    readable_ = p;  // readable, void, or overtaken (then dropped)
    if (s.event.position == p && !s.is_void) last_event_ = p;
  }
}

std::uint64_t event_feed::readable() const {
  const std::lock_guard lock(mutex_);
  advance();
  return std::max(last_event_, dropped_);
}

feed_page event_feed::read(const project_id& project, std::uint64_t after,
                           std::size_t max_events) const {
  feed_page page;
  const std::lock_guard lock(mutex_);
  advance();
  page.oldest = dropped_;
  if (after == 0) after = dropped_;  // from the oldest kept
  // A position the feed no longer keeps, or one it never gave out.
  if (after < dropped_ || after > next_.load(std::memory_order_relaxed) - 1) {
    page.gone = true;
    page.next = after;
    return page;
  }
  std::uint64_t p = after;
  // Never past the last event: void positions after it are not stored, and a restart may
  // give them out again.
  const std::uint64_t last = std::min(std::max(last_event_, dropped_), after + scan_limit);
  while (p < last && page.events.size() < max_events) {
    ++p;
    const slot& s = at(p);
    if (s.event.position != p || s.is_void) continue;
    if (s.event.project == project) page.events.push_back(s.event);
  }
  page.next = p;
  return page;
}

std::vector<feed_event> event_feed::retained() const {
  const std::lock_guard lock(mutex_);
  std::vector<feed_event> out;
  const std::uint64_t taken = next_.load(std::memory_order_relaxed) - 1;
  for (std::uint64_t p = dropped_ + 1; p <= taken; ++p) {
    const slot& s = at(p);
    if (s.event.position == p && s.published && !s.is_void) out.push_back(s.event);
  }
  return out;
}

void event_feed::restore(std::span<const feed_event> events) {
  const std::lock_guard lock(mutex_);
  if (events.empty()) return;
  const std::uint64_t last = events.back().position;
  const std::uint64_t first_kept = last >= capacity() ? last - capacity() + 1 : 1;
  dropped_ = std::max(dropped_, std::max(events.front().position, first_kept) - 1);
  for (const feed_event& e : events) {
    if (e.position > dropped_) place(e, 0, false);
  }
  for (std::uint64_t p = dropped_ + 1; p <= last; ++p) {
    if (at(p).event.position != p || !at(p).published) {
      feed_event hole;
      hole.position = p;
      place(hole, 0, true);
    }
  }
  readable_ = std::max(readable_, last);
  last_event_ = std::max(last_event_, last);
  next_.store(std::max(next_.load(std::memory_order_relaxed), last + 1), std::memory_order_relaxed);
}

}  // namespace taskorch::detail
