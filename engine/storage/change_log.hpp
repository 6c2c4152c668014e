#pragma once
// change_log: the changes one part of an operation makes, collected while it holds its
// shards' gates, then handed to the journal in one append (journal.hpp) before the gates are
// released. Each change is kept twice, as framed records: its after-image (redo: what the
// journal writes) and its before-image (undo: what a failed write rolls memory back with).
//
// The shard records its changes into the log of the part the calling thread runs, when
// there is one (current()); with nothing journaled there is none and it records nothing.

#include "frame.hpp"
#include "record.hpp"

#include <boost/container/small_vector.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

namespace taskorch::detail {
class shard;
}

namespace taskorch::storage {

class change_log;

namespace change_log_detail {
/// The log of the part the calling thread runs, if any (change_log::current()).
// NOLINTNEXTLINE(cppcoreguidelines-avoid-non-const-global-variables): per thread, by design
inline thread_local change_log* recording = nullptr;
}  // namespace change_log_detail

/// Thread safety: used by the one thread that runs the part.
class change_log {
 public:
  /// The log the calling thread records into, or nullptr.
  static change_log* current() noexcept { return change_log_detail::recording; }

  /// Makes `log` the calling thread's log while it lives.
  class scope {
   public:
    explicit scope(change_log* log) noexcept : previous_(change_log_detail::recording) {
      change_log_detail::recording = log;
    }
    ~scope() { change_log_detail::recording = previous_; }
    scope(const scope&) = delete;
    scope& operator=(const scope&) = delete;

   private:
    change_log* previous_;
  };

  /// A task's (or family child's) state changed on `where`.
  void set_state(detail::shard& where, const set_state_record& after,
                 const set_state_record& before);
  /// Both children of a family changed state on `where`, at one instant: one record.
  void set_family_state(detail::shard& where, const set_state_record& forward_after,
                        const set_state_record& forward_before,
                        const set_state_record& backward_after,
                        const set_state_record& backward_before);
  /// A standalone task was registered.
  void put_task(detail::shard& where, const task_spec& spec);
  /// A family was registered (its stubs on other shards go with it).
  void put_family(detail::shard& where, const family_spec& spec);
  /// A standalone task was purged; `before` is what it was.
  void erase_task(detail::shard& where, const task_spec& before);
  /// A family was purged; `before` is what it was.
  void erase_family(detail::shard& where, const family_spec& before);

  bool empty() const noexcept { return count_ == 0; }
  std::uint64_t count() const noexcept { return count_; }
  /// The redo frames, in the order of the changes.
  const std::string& redo() const noexcept { return redo_; }
  /// The undo frames, in the order of the changes (applied last to first).
  const std::string& undo() const noexcept { return undo_; }
  /// The shards changed.
  const auto& touched() const noexcept { return touched_; }

  /// Empties the log for the next part, keeping its buffers unless they grew large (a log
  /// lives as long as its thread; a registration of a whole fleet must not pin its size).
  void clear() noexcept {
    constexpr std::size_t kept_capacity = 1U << 20;
    if (redo_.capacity() > kept_capacity) std::string().swap(redo_);
    if (undo_.capacity() > kept_capacity) std::string().swap(undo_);
    redo_.clear();
    undo_.clear();
    touched_.clear();
    count_ = 0;
  }

 private:
  void add(detail::shard& where, const record& redo, const record& undo);
  template <class Append>
  void transact(detail::shard& where, std::uint64_t records, Append append);
  void touch(detail::shard& where);

  std::string redo_;
  std::string undo_;
  boost::container::small_vector<detail::shard*, 2> touched_;
  std::uint64_t count_ = 0;
};

}  // namespace taskorch::storage
