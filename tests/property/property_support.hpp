#pragma once
// property_support: what the model-based property tests share: the id pool, the two projects,
// the engine under test with its change recorders, printing, comparison with the reference
// model, and the (state, command) coverage table.
//
//   taskorch::property::harness sut;                 // engine {2 threads, 3 shards, max 8}
//   auto diff = taskorch::property::diff_registry(model, sut.eng.export_snapshot());
//   RC_ASSERT(diff.empty());

#include "reference_model.hpp"
#include <taskorch/engine.hpp>

#include <fmt/format.h>
#include <rapidcheck.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace taskorch::property {

// -- Ids and projects -------------------------------------------------------------------

/// The number of job ids commands draw from: small, so that ids collide, repeat and go
/// unknown often; spread over the three shards (and across them for family children).
inline constexpr std::size_t pool_size = 24;

/// The id pool: DRS-shaped ids `xxxxxxxx-0000-4000-8000-0000000jbNNN`.
inline const std::vector<job_id>& id_pool() {
  static const std::vector<job_id> pool = [] {
    std::vector<job_id> ids;
    for (std::uint32_t i = 0; i < pool_size; ++i) {
      const std::uint32_t head = (i + 1) * 0x9e3779b1U;
      ids.push_back(*job_id::parse(fmt::format("{:08x}-0000-4000-8000-0000000jb{:03d}", head, i)));
    }
    return ids;
  }();
  return pool;
}

/// Project A, which most commands act for.
inline project_id project_a() { return *project_id::parse("054ba152d480d55b2f5dc0069e7ddef0"); }

/// Project B: its tasks are "not found" for project A, and the other way round.
inline project_id project_b() { return *project_id::parse("b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0"); }

/// The options of the engine under test: small, and a small batch limit to reach it. The
/// feed keeps every change of a sequence (at most max_size commands of 8 items, a family's
/// command changing two children), and not many more: each engine fills its ring when it
/// starts, which a Debug build pays for in every sequence.
inline engine_options test_options() {
  constexpr std::size_t max_items = 8;
  const std::size_t commands = rc::detail::configuration().testParams.maxSize + 1;
  return engine_options{.threads = 2,
                        .shards = 3,
                        .max_batch_items = max_items,
                        .feed_capacity = std::max<std::size_t>(4096, commands * max_items * 2)};
}

// -- Printing ---------------------------------------------------------------------------

/// "j07" for a pool id, the full text otherwise.
inline std::string show_id(const job_id& id) {
  const auto& pool = id_pool();
  for (std::size_t i = 0; i < pool.size(); ++i) {
    if (pool[i] == id) return fmt::format("j{:02d}", i);
  }
  return id.to_string();
}

inline std::string show_project(const project_id& p) {
  if (p == project_a()) return "A";
  if (p == project_b()) return "B";
  return p.to_string();
}

inline std::string show_error(const error_code& ec) {
  if (!ec) return "ok";
  if (ec.category() == error_category()) {
    static constexpr std::array<const char*, 15> names{"0",
                                                       "task_not_found",
                                                       "task_deleted",
                                                       "invalid_state",
                                                       "parent_task_forbidden",
                                                       "child_task_forbidden",
                                                       "empty_batch",
                                                       "batch_too_large",
                                                       "duplicate_job_id",
                                                       "task_exists",
                                                       "invalid_task_spec",
                                                       "not_a_worker_event",
                                                       "would_deadlock",
                                                       "invalid_item",
                                                       "journal_failed"};
    const auto v = static_cast<std::size_t>(ec.value());
    if (v < names.size()) return names[v];
  }
  return ec.message();
}

inline std::string show_pause(const std::optional<pause_info>& p) {
  if (!p) return "";
  return fmt::format(" ({} from {})", to_string(p->mode), to_string(p->from));
}

/// " (at 4102444800000)" for a start time, in milliseconds since the epoch.
inline std::string show_start_time(const std::optional<wall_time>& at) {
  if (!at) return "";
  return fmt::format(" (at {})", at->time_since_epoch().count());
}

/// " awaits pause" for a task awaiting a worker's confirmation.
inline std::string show_awaiting(const std::optional<task_event>& awaiting) {
  if (!awaiting) return "";
  return fmt::format(" awaits {}", to_string(*awaiting));
}

/// " changed@1700000000001" for a known time (milliseconds since the epoch).
inline std::string show_time(const char* what, wall_time t) {
  if (t == wall_time{}) return "";
  return fmt::format(" {}@{}", what, t.time_since_epoch().count());
}

inline std::string show_spec(const registration& r) {
  if (const auto* t = std::get_if<task_spec>(&r)) {
    return fmt::format("task {} {} {} {}{}{} v{}{}{}{} name='{}'", show_id(t->id),
                       show_project(t->project), to_string(t->kind), to_string(t->state),
                       show_pause(t->pause), show_start_time(t->start_time), t->version,
                       show_awaiting(t->awaiting), show_time("created", t->created_at),
                       show_time("changed", t->changed_at), t->name);
  }
  const auto& f = std::get<family_spec>(r);
  const auto child = [](const child_spec& c) {
    return fmt::format("{} {}{}{} v{}{}{}", show_id(c.id), to_string(c.state), show_pause(c.pause),
                       show_start_time(c.start_time), c.version, show_awaiting(c.awaiting),
                       show_time("changed", c.changed_at));
  };
  return fmt::format("family {} {} name='{}'{} fwd {} / bwd {}", show_id(f.id),
                     show_project(f.project), f.name, show_time("created", f.created_at),
                     child(f.forward), child(f.backward));
}

inline std::string show_snapshot(const task_snapshot& s) {
  return fmt::format(
      "{} {} {} {} {}{}{} v{}{}{}{} name='{}' parent={} fwd={} bwd={}", show_id(s.id),
      show_project(s.project), to_string(s.kind), to_string(s.role), to_string(s.state),
      show_pause(s.pause), show_start_time(s.start_time), s.version, show_awaiting(s.awaiting),
      show_time("created", s.created_at), show_time("changed", s.changed_at), s.name,
      s.parent ? show_id(*s.parent) : "-", s.forward_child ? show_id(*s.forward_child) : "-",
      s.backward_child ? show_id(*s.backward_child) : "-");
}

inline std::string show_change(const test_model::change& c) {
  return fmt::format("{} {} {} -> {} by {}{} seq {}", show_id(c.id), show_project(c.project),
                     to_string(c.from), to_string(c.to), to_string(c.cause),
                     c.mode ? fmt::format(" ({})", to_string(*c.mode)) : "", c.sequence);
}

inline std::string show_feed_event(const feed_event& e) {
  return fmt::format("@{} {} {} {} -> {} by {}{} v{}{}{}", e.position, show_id(e.id),
                     show_project(e.project), to_string(e.from), to_string(e.to),
                     to_string(e.cause), e.mode ? fmt::format(" ({})", to_string(*e.mode)) : "",
                     e.version, show_awaiting(e.awaiting), show_time("at", e.at));
}

// -- Change recording -------------------------------------------------------------------

/// Converts what a subscriber heard into the model's vocabulary.
inline test_model::change from_engine(const state_change& c) {
  return {c.id, c.project, c.from, c.to, c.cause, c.mode, c.sequence};
}

/// Records every change a subscription delivers. Thread safety: the callback may run on any
/// engine thread; everything is guarded by one mutex.
class change_recorder {
 public:
  change_callback callback() {
    return [this](const state_change& c) {
      std::lock_guard lock(mutex_);
      all_.push_back(from_engine(c));
    };
  }

  /// The changes recorded since the previous call.
  std::vector<test_model::change> take_new() {
    std::lock_guard lock(mutex_);
    std::vector<test_model::change> out(all_.begin() + static_cast<std::ptrdiff_t>(taken_),
                                        all_.end());
    taken_ = all_.size();
    return out;
  }

  /// Every change recorded so far.
  std::vector<test_model::change> all() const {
    std::lock_guard lock(mutex_);
    return all_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<test_model::change> all_;
  std::size_t taken_ = 0;
};

/// A subscriber added in the middle of a sequence, and how many model changes had been made
/// by then: it must see exactly the later ones.
struct late_subscriber {
  std::size_t model_changes_before = 0;
  change_recorder recorder;
  subscription sub;
};

/// The system under test: one engine, subscribed from the start, plus late subscribers, and
/// the model as it stands after the last command that ran.
struct harness {
  harness() : harness(test_options()) {}
  explicit harness(engine_options options) : eng(std::move(options)) {
    sub = eng.subscribe(recorder.callback());
  }
  change_recorder recorder;  // declared before the engine: it outlives the subscription
  std::vector<std::unique_ptr<late_subscriber>> late;
  engine eng;
  subscription sub;
  test_model::registry model;  ///< the model after the last command run
};

// -- Comparison -------------------------------------------------------------------------

/// Groups changes by task, keeping each task's order (the only order the engine promises).
inline std::map<job_id, std::vector<test_model::change>> per_task(
    const std::vector<test_model::change>& changes) {
  std::map<job_id, std::vector<test_model::change>> out;
  for (const auto& c : changes) out[c.id].push_back(c);
  return out;
}

/// Returns a description of the differences between two change lists, per task; empty when
/// every task saw the same changes in the same order.
inline std::string diff_changes(const std::vector<test_model::change>& expected,
                                const std::vector<test_model::change>& actual) {
  const auto want = per_task(expected);
  const auto got = per_task(actual);
  if (want == got) return "";
  std::string out = "changes differ.\n expected:\n";
  for (const auto& c : expected) out += "  " + show_change(c) + "\n";
  out += " engine reported:\n";
  for (const auto& c : actual) out += "  " + show_change(c) + "\n";
  return out;
}

/// Returns a description of the differences between the model's export and the engine's.
inline std::string diff_registrations(const std::vector<registration>& expected,
                                      const std::vector<registration>& actual) {
  if (expected == actual) return "";
  std::string out = "registries differ.\n model:\n";
  for (const auto& r : expected) out += "  " + show_spec(r) + "\n";
  out += " engine:\n";
  for (const auto& r : actual) out += "  " + show_spec(r) + "\n";
  return out;
}

/// Returns a description of the differences between two lists of snapshots.
inline std::string diff_snapshots(const std::vector<task_snapshot>& expected,
                                  const std::vector<task_snapshot>& actual) {
  if (expected == actual) return "";
  std::string out = "snapshots differ.\n model:\n";
  for (const auto& s : expected) out += "  " + show_snapshot(s) + "\n";
  out += " engine:\n";
  for (const auto& s : actual) out += "  " + show_snapshot(s) + "\n";
  return out;
}

/// Returns a description of per-item differences (ids in request order, error codes, DRS
/// codes); empty when the engine answered as the model. `also[i]`, when present, is another
/// answer item i may get: the items of one batch take effect in no promised order, and where
/// two items touch one family the model's request order is only one of the valid orders.
inline std::string diff_items(const std::vector<job_id>& ids,
                              const std::vector<error_code>& expected, const batch_result& actual,
                              const std::vector<std::optional<error_code>>& also = {}) {
  std::string out;
  if (actual.size() != expected.size()) {
    out += fmt::format("{} results for {} items\n", actual.size(), expected.size());
  }
  for (std::size_t i = 0; i < std::min(actual.size(), expected.size()); ++i) {
    if (actual[i].id != ids[i]) {
      out +=
          fmt::format("item {}: id {} instead of {}\n", i, show_id(actual[i].id), show_id(ids[i]));
    }
    const bool alternative = i < also.size() && also[i] && actual[i].error == *also[i];
    if (actual[i].error != expected[i] && !alternative) {
      out += fmt::format("item {} ({}): engine {} / model {}{}\n", i, show_id(ids[i]),
                         show_error(actual[i].error), show_error(expected[i]),
                         i < also.size() && also[i] ? " or " + show_error(*also[i]) : "");
    }
  }
  return out;
}

// -- The event feed ----------------------------------------------------------------------

/// Every event the feed keeps for `project`, read from the start in small pages (so that a
/// run reads across many pages); `problem` says what went wrong, if anything.
inline std::vector<feed_event> read_whole_feed(const engine& eng, const project_id& project,
                                               std::string& problem) {
  std::vector<feed_event> out;
  std::uint64_t after = 0;
  for (;;) {
    const feed_page page = eng.read_feed(project, after, 5);
    if (page.gone) {
      problem = fmt::format("read after {}: gone (oldest {})", after, page.oldest);
      return out;
    }
    if (page.events.size() > 5)
      problem = fmt::format("{} events in a page of 5", page.events.size());
    out.insert(out.end(), page.events.begin(), page.events.end());
    if (page.next == after) return out;
    if (page.next < after) {
      problem = fmt::format("read after {}: next {}", after, page.next);
      return out;
    }
    after = page.next;
  }
}

/// Returns a description of the differences between what the feed lists for `project` and
/// the model's changes of that project, empty when they agree: positions strictly
/// increasing; per task, exactly the model's changes in their order (from, to, cause, mode,
/// version, what the task awaits after it, its batch's time); across tasks, a change of a
/// later batch never before one of an earlier batch (each batch completed before the next
/// began: the feed orders them so).
inline std::string diff_feed(const test_model::registry& m, const project_id& project,
                             const std::vector<feed_event>& feed) {
  std::string out;
  for (std::size_t i = 1; i < feed.size(); ++i) {
    if (feed[i].position <= feed[i - 1].position) {
      out += fmt::format("positions not increasing: {} then {}\n", show_feed_event(feed[i - 1]),
                         show_feed_event(feed[i]));
    }
  }
  // The model's changes of the project, per task in order, by index into changes().
  std::map<job_id, std::vector<std::size_t>> want;
  std::size_t wanted = 0;
  for (std::size_t i = 0; i < m.changes().size(); ++i) {
    if (m.changes()[i].project != project) continue;
    want[m.changes()[i].id].push_back(i);
    ++wanted;
  }
  if (feed.size() != wanted) {
    out += fmt::format("{} events in the feed, {} changes in the model\n", feed.size(), wanted);
  }
  std::map<job_id, std::size_t> seen;  // per task, how many of its events came so far
  std::uint64_t last_batch = 0;
  for (const feed_event& e : feed) {
    const std::size_t k = seen[e.id]++;
    const auto it = want.find(e.id);
    if (it == want.end() || k >= it->second.size()) {
      out += "an event the model did not make: " + show_feed_event(e) + "\n";
      continue;
    }
    const test_model::change& c = m.changes()[it->second[k]];
    const test_model::change_detail& d = m.details()[it->second[k]];
    feed_event expected{e.position, c.id,   c.project,  c.from, c.to,
                        c.cause,    c.mode, d.awaiting, d.at,   c.sequence};
    if (!(e == expected)) {
      out += fmt::format("event {} of {}: feed {}\n{:>24} model {}\n", k, show_id(e.id),
                         show_feed_event(e), "", show_feed_event(expected));
    }
    if (d.batch < last_batch) {
      out += fmt::format("{} (batch {}) listed after a change of batch {}\n", show_feed_event(e),
                         d.batch, last_batch);
    }
    last_batch = std::max(last_batch, d.batch);
  }
  for (const auto& [id, indices] : want) {
    if (seen[id] < indices.size()) {
      out += fmt::format("{}: {} of its {} changes missing from the feed, the first: {}\n",
                         show_id(id), indices.size() - seen[id], indices.size(),
                         show_change(m.changes()[indices[seen[id]]]));
    }
  }
  return out;
}

/// Checks the feed of both projects against the model: empty when it agrees.
inline std::string check_feed(const test_model::registry& m, const engine& eng) {
  std::string out;
  for (const project_id& p : {project_a(), project_b()}) {
    std::string problem;
    const std::vector<feed_event> feed = read_whole_feed(eng, p, problem);
    if (!problem.empty()) out += "feed " + show_project(p) + ": " + problem + "\n";
    if (const std::string d = diff_feed(m, p, feed); !d.empty()) {
      out += "feed " + show_project(p) + ":\n" + d;
    }
  }
  return out;
}

// -- Coverage ---------------------------------------------------------------------------

/// The columns of the coverage table: the commands an item can carry.
enum class op_column : std::uint8_t {
  pause_target,
  pause_all,
  resume,
  start,     ///< batch-starting without a start time, or with one not in the future
  schedule,  ///< batch-starting with a start time in the future
  start_succeeded,
  start_failed,
  full_transfer_done,
  incremental_started,
  transfer_failed,
  stop,        ///< batch-jobs terminate
  force_stop,  ///< batch-jobs force_terminate
  stopped,
  remove,  ///< batch-jobs delete
  purge,
  status,
  get,
  confirm,  ///< a worker's confirmation of the command the task awaits (named or not)
};
inline constexpr std::size_t column_count = 18;
inline constexpr std::array<const char*, column_count> column_names{
    "pause(t)",   "pause(a)",  "resume",     "start",     "schedule",  "start_ok",
    "start_fail", "full_done", "incr_start", "xfer_fail", "terminate", "force_term",
    "stopped",    "delete",    "purge",      "status",    "get",       "confirm"};

/// The rows: the 13 states of a task or child, then a dual-active parent, another project's
/// task and an unknown id.
inline constexpr std::size_t row_count = task_state_count + 3;
inline constexpr std::size_t parent_row = task_state_count;
inline constexpr std::size_t other_project_row = task_state_count + 1;
inline constexpr std::size_t unknown_row = task_state_count + 2;

inline op_column column_of(task_event e) {
  switch (e) {
    case task_event::start:
      return op_column::start;
    case task_event::schedule_start:
    case task_event::start_due:
      return op_column::schedule;
    case task_event::start_succeeded:
      return op_column::start_succeeded;
    case task_event::start_failed:
      return op_column::start_failed;
    case task_event::full_transfer_done:
      return op_column::full_transfer_done;
    case task_event::incremental_started:
      return op_column::incremental_started;
    case task_event::transfer_failed:
      return op_column::transfer_failed;
    case task_event::stop:
      return op_column::stop;
    case task_event::force_stop:
      return op_column::force_stop;
    case task_event::stopped:
      return op_column::stopped;
    case task_event::remove:
      return op_column::remove;
    case task_event::pause:
      return op_column::pause_target;
    case task_event::resume:
      return op_column::resume;
    case task_event::confirm:
      return op_column::confirm;
  }
  return op_column::start;
}

/// How often each (state, command) pair and a few finer cases ran, in this process.
/// Thread safety: none; the properties run on the test's main thread.
struct coverage_table {
  std::array<std::array<std::uint64_t, column_count>, row_count> hits{};
  std::map<std::string, std::uint64_t> cases;  ///< finer cases, by name
  std::uint64_t sequences = 0;
  std::uint64_t commands = 0;
  bool require_full = false;  ///< set by the property that must hit every pair

  void hit(const test_model::registry& m, const project_id& p, const job_id& id, op_column c) {
    std::size_t row = unknown_row;
    switch (m.classify(p, id)) {
      case test_model::target_kind::unknown:
        row = unknown_row;
        break;
      case test_model::target_kind::other_project:
        row = other_project_row;
        break;
      case test_model::target_kind::parent:
        row = parent_row;
        break;
      case test_model::target_kind::task:
        row = static_cast<std::size_t>(m.find_task(p, id)->state);
        break;
    }
    ++hits[row][static_cast<std::size_t>(c)];
  }
  void note(const std::string& name) { ++cases[name]; }

  std::size_t missing() const {
    std::size_t n = 0;
    for (const auto& row : hits) {
      for (std::uint64_t h : row) n += h == 0 ? 1 : 0;
    }
    return n;
  }

  std::string report() const {
    std::string out = fmt::format(
        "[property coverage] {} sequences, {} commands; (state, command) pairs hit: {}/{}\n",
        sequences, commands, row_count * column_count - missing(), row_count * column_count);
    out += fmt::format("{:>28}", "");
    for (const char* c : column_names) out += fmt::format(" {:>10}", c);
    out += "\n";
    for (std::size_t r = 0; r < row_count; ++r) {
      std::string name = r < task_state_count     ? std::string(to_string(all_task_states[r]))
                         : r == parent_row        ? "<dual-active parent>"
                         : r == other_project_row ? "<other project's task>"
                                                  : "<unknown id>";
      out += fmt::format("{:>28}", name);
      for (std::uint64_t h : hits[r]) out += fmt::format(" {:>10}", h);
      out += "\n";
    }
    for (const auto& [name, n] : cases) out += fmt::format("{:>44}: {}\n", name, n);
    return out;
  }
};

inline coverage_table& coverage() {
  static coverage_table table;
  return table;
}

}  // namespace taskorch::property
