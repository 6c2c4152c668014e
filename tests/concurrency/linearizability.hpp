#pragma once
// linearizability: a porcupine-style checker for histories of concurrent operations.
//
// A history is a set of operations, each with an input, an observed output and two stamps
// taken from one global counter: `call` before the operation was started and `ret` after it
// completed. The history is linearizable when the operations can be put in one sequential
// order that (1) respects real time: an operation that returned before another was called
// comes first, and (2) is accepted by a sequential model, operation by operation.
//
// The search is the one of porcupine (anishathalye/porcupine, checker.go) and of Lowe's
// "Testing for linearizability": walk the calls and returns in stamp order; linearize the
// first call whose model step accepts its output, as early as possible; meeting a return
// whose call is not linearized yet means a dead end, so backtrack to the last choice. Every
// (set of linearized operations, model state) pair reached is remembered, so no pair is
// explored twice. The answer is ok, illegal, or unknown when the step or time budget runs
// out.
//
//   struct reg {                                  // a register of one int
//     using state = int; using input = std::optional<int>; using output = int;
//     std::optional<int> step(int s, const input& w, int read) const {
//       if (w) return *w;                         // a write: any output, new state
//       return read == s ? std::optional(s) : std::nullopt;
//     }
//     std::size_t hash(int s) const { return std::hash<int>{}(s); }
//   };
//   std::vector<lin::operation<std::optional<int>, int>> h{{1, 0, 1, 4}, {{}, 1, 2, 3}};
//   lin::check(reg{}, 0, h).result == lin::verdict::ok;
//
// An operation whose outcome is unknown (it was still running when the history ended) gets
// `ret = lin::never`: it may be linearized at any point after its call, and the model must
// accept whatever `output` it carries then (give the model a way to say "unknown").
//
// Thread safety: check() is a pure function of its arguments.

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace taskorch::test::lin {

/// The return stamp of an operation whose outcome is unknown: it never returned.
inline constexpr std::uint64_t never = std::numeric_limits<std::uint64_t>::max();

/// The stamp source of a history: one counter, shared by every thread, stamps every call
/// and every return, so that stamps are unique and ordered as the events happened.
/// Thread safety: now() may be called from any thread.
class clock {
 public:
  /// Returns a fresh stamp, greater than every stamp returned before.
  std::uint64_t now() noexcept { return next_.fetch_add(1, std::memory_order_seq_cst) + 1; }

 private:
  std::atomic<std::uint64_t> next_{0};
};

/// One operation of a history.
template <class Input, class Output>
struct operation {
  Input input{};
  Output output{};
  std::uint64_t call = 0;  ///< stamp taken before the operation started
  std::uint64_t ret = 0;   ///< stamp taken after it completed; `never` when unknown
};

/// The answer of the checker.
enum class verdict { ok, illegal, unknown };

/// Returns "ok", "illegal" or "unknown".
constexpr const char* to_string(verdict v) noexcept {
  switch (v) {
    case verdict::ok:
      return "ok";
    case verdict::illegal:
      return "illegal";
    case verdict::unknown:
      return "unknown";
  }
  return "?";
}

/// The budget of one check.
struct options {
  std::uint64_t max_steps = 5'000'000;  ///< model steps before answering unknown
  std::chrono::nanoseconds max_time = std::chrono::seconds(20);  ///< wall time, likewise
};

/// What the checker found.
struct report {
  verdict result = verdict::ok;
  std::uint64_t steps = 0;        ///< model steps taken
  std::size_t cache_entries = 0;  ///< (linearized set, state) pairs remembered
  /// For an illegal history: the longest legal order found, as operation indices. The
  /// operation that could not be placed after it explains the violation.
  std::vector<std::size_t> longest_prefix;
};

/// A sequential model: `step` returns the state after `in` when the model can produce
/// `out` from `s`, and nothing when it cannot. States are compared with == and hashed
/// with `hash`.
template <class M>
concept sequential_model = std::equality_comparable<typename M::state> &&
    requires(const M& m, const typename M::state& s, const typename M::input& in,
             const typename M::output& out) {
  { m.step(s, in, out) } -> std::same_as<std::optional<typename M::state>>;
  { m.hash(s) } -> std::convertible_to<std::size_t>;
};

namespace detail {

/// A fixed-size set of operation indices; inline (no allocation) up to 128 operations, as
/// the search keeps one per remembered (set, state) pair.
class bitset {
 public:
  explicit bitset(std::size_t n) : size_((n + 63) / 64) {
    if (size_ > inline_words) heap_.assign(size_, 0);
  }
  void set(std::size_t i) noexcept { words()[i / 64] |= bit(i); }
  void reset(std::size_t i) noexcept { words()[i / 64] &= ~bit(i); }
  std::size_t hash() const noexcept {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (std::size_t k = 0; k < size_; ++k) {
      h ^= words()[k];
      h *= 0x100000001b3ULL;
      h ^= h >> 29;
    }
    return static_cast<std::size_t>(h);
  }
  friend bool operator==(const bitset& a, const bitset& b) noexcept {
    return a.size_ == b.size_ && std::equal(a.words(), a.words() + a.size_, b.words());
  }

 private:
  static constexpr std::size_t inline_words = 2;
  static std::uint64_t bit(std::size_t i) noexcept { return std::uint64_t{1} << (i % 64); }
  std::uint64_t* words() noexcept { return heap_.empty() ? inline_.data() : heap_.data(); }
  const std::uint64_t* words() const noexcept {
    return heap_.empty() ? inline_.data() : heap_.data();
  }
  std::size_t size_;
  std::array<std::uint64_t, inline_words> inline_{};
  std::vector<std::uint64_t> heap_;
};

/// One call or return event, in a doubly linked list ordered by stamp.
struct node {
  std::size_t op = 0;
  bool is_call = false;
  std::ptrdiff_t match = -1;  ///< for a call: its return node
  std::ptrdiff_t prev = -1;
  std::ptrdiff_t next = -1;
};

}  // namespace detail

/// Checks that `history`, starting from `init`, is linearizable with respect to `model`.
/// Throws std::invalid_argument when an operation returns before it is called.
template <sequential_model M>
report check(const M& model, const typename M::state& init,
             std::span<const operation<typename M::input, typename M::output>> history,
             const options& opt = {}) {
  using state = typename M::state;
  report out;
  const std::size_t n = history.size();
  if (n == 0) return out;

  // The events, sorted by stamp (a call before a return at the same stamp, so that two
  // operations sharing a stamp count as overlapping; the clock never does this).
  struct event {
    std::uint64_t time;
    bool is_return;
    std::size_t op;
  };
  std::vector<event> events;
  events.reserve(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    if (history[i].ret != never && history[i].ret < history[i].call) {
      throw std::invalid_argument("linearizability: an operation returns before its call");
    }
    events.push_back({history[i].call, false, i});
    events.push_back({history[i].ret, true, i});
  }
  std::sort(events.begin(), events.end(), [](const event& a, const event& b) {
    if (a.time != b.time) return a.time < b.time;
    if (a.is_return != b.is_return) return !a.is_return;
    return a.op < b.op;
  });

  // Node 0 is the head sentinel; node k + 1 is events[k].
  std::vector<detail::node> nodes(2 * n + 1);
  std::vector<std::ptrdiff_t> call_node(n, -1);
  for (std::size_t k = 0; k < events.size(); ++k) {
    const auto self = static_cast<std::ptrdiff_t>(k + 1);
    detail::node& nd = nodes[k + 1];
    nd.op = events[k].op;
    nd.is_call = !events[k].is_return;
    nd.prev = self - 1;
    nd.next = k + 1 < events.size() ? self + 1 : -1;
    if (nd.is_call) {
      call_node[nd.op] = self;
    } else {
      nodes[static_cast<std::size_t>(call_node[nd.op])].match = self;
    }
  }
  nodes[0].next = 1;
  auto at = [&nodes](std::ptrdiff_t i) -> detail::node& {
    return nodes[static_cast<std::size_t>(i)];
  };
  // lift/unlift take an operation's call and return out of the list and put them back
  // (dancing links: a removed node keeps its neighbours).
  auto lift = [&](std::ptrdiff_t call) {
    detail::node& c = at(call);
    at(c.prev).next = c.next;
    at(c.next).prev = c.prev;
    detail::node& r = at(c.match);
    at(r.prev).next = r.next;
    if (r.next != -1) at(r.next).prev = r.prev;
  };
  auto unlift = [&](std::ptrdiff_t call) {
    detail::node& c = at(call);
    detail::node& r = at(c.match);
    at(r.prev).next = c.match;
    if (r.next != -1) at(r.next).prev = c.match;
    at(c.prev).next = call;
    at(c.next).prev = call;
  };

  struct cache_entry {
    detail::bitset linearized;
    state st;
  };
  std::unordered_map<std::size_t, std::vector<cache_entry>> cache;
  // Remembers (linearized, st); false when it was known already.
  auto remember = [&](const detail::bitset& linearized, const state& st) {
    const std::size_t key =
        linearized.hash() ^ (static_cast<std::size_t>(model.hash(st)) * 0x9e3779b97f4a7c15ULL);
    std::vector<cache_entry>& bucket = cache[key];
    for (const cache_entry& e : bucket) {
      if (e.linearized == linearized && e.st == st) return false;
    }
    bucket.push_back({linearized, st});
    ++out.cache_entries;
    return true;
  };

  struct frame {
    std::ptrdiff_t call;
    state before;
  };
  std::vector<frame> calls;
  calls.reserve(n);
  detail::bitset linearized(n);
  state st = init;
  const auto deadline = std::chrono::steady_clock::now() + opt.max_time;

  std::ptrdiff_t entry = nodes[0].next;
  while (nodes[0].next != -1) {
    if (out.steps >= opt.max_steps ||
        ((out.steps & 0x3ff) == 0 && std::chrono::steady_clock::now() > deadline)) {
      out.result = verdict::unknown;
      return out;
    }
    detail::node& e = at(entry);
    if (e.is_call) {
      ++out.steps;
      const auto& op = history[e.op];
      std::optional<state> next = model.step(st, op.input, op.output);
      bool placed = false;
      if (next) {
        linearized.set(e.op);
        if (remember(linearized, *next)) {
          calls.push_back({entry, std::move(st)});
          st = std::move(*next);
          lift(entry);
          placed = true;
          if (calls.size() > out.longest_prefix.size()) {
            out.longest_prefix.clear();
            for (const frame& f : calls) out.longest_prefix.push_back(at(f.call).op);
          }
          entry = nodes[0].next;
        } else {
          linearized.reset(e.op);
        }
      }
      if (!placed) entry = e.next;
    } else {
      // A return whose call is not linearized: nothing called after it can come first.
      if (calls.empty()) {
        out.result = verdict::illegal;
        return out;
      }
      frame top = std::move(calls.back());
      calls.pop_back();
      st = std::move(top.before);
      linearized.reset(at(top.call).op);
      unlift(top.call);
      entry = at(top.call).next;
    }
  }
  out.longest_prefix.clear();
  out.result = verdict::ok;
  return out;
}

/// Convenience overload for a vector of operations.
template <sequential_model M>
report check(const M& model, const typename M::state& init,
             const std::vector<operation<typename M::input, typename M::output>>& history,
             const options& opt = {}) {
  return check(model, init,
               std::span<const operation<typename M::input, typename M::output>>(history), opt);
}

}  // namespace taskorch::test::lin
