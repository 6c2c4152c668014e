#include "stress_driver.hpp"

#include <boost/asio/error.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
#include <numeric>
#include <thread>
#include <variant>

namespace taskorch::test {

namespace {

/// One batch as issued and as answered.
struct batch_record {
  op_kind kind = op_kind::status;
  bool foreign = false;
  std::vector<job_id> ids;
  std::vector<pause_mode> modes;                    // pause
  std::vector<task_event> events;                   // report
  std::vector<std::optional<wall_time>> starts;     // start
  std::vector<delete_type> types;                   // remove
  std::vector<std::optional<task_event>> confirms;  // confirm: the command named, if any
  std::vector<registration> regs;                   // register
  std::uint64_t call = 0;
  std::uint64_t ret = 0;
  error_code ec;
  batch_result results;
  std::vector<status_result> statuses;
  task_snapshot snapshot;
  std::promise<void> done;
};

using batch_ptr = std::shared_ptr<batch_record>;

/// Starts `b` on `eng`; its handler stamps the return first, stores the answer, then
/// fulfils `b->done`.
void issue(engine& eng, const project_id& project, const project_id& other,
           const std::shared_ptr<lin::clock>& clock, const batch_ptr& b) {
  const project_id& p = b->foreign ? other : project;
  auto on_batch = [clock, b](error_code ec, batch_result r) {
    b->ret = clock->now();
    b->ec = ec;
    b->results = std::move(r);
    b->done.set_value();
  };
  b->call = clock->now();
  switch (b->kind) {
    case op_kind::register_tasks:
      eng.async_register(b->regs, on_batch);
      break;
    case op_kind::pause: {
      std::vector<pause_item> items;
      for (std::size_t i = 0; i < b->ids.size(); ++i) items.push_back({b->ids[i], b->modes[i]});
      eng.async_pause(p, std::move(items), on_batch);
      break;
    }
    case op_kind::resume:
      eng.async_resume(p, b->ids, on_batch);
      break;
    case op_kind::report: {
      std::vector<event_item> items;
      for (std::size_t i = 0; i < b->ids.size(); ++i) items.push_back({b->ids[i], b->events[i]});
      eng.async_report(p, std::move(items), on_batch);
      break;
    }
    case op_kind::start: {
      std::vector<start_item> items;
      for (std::size_t i = 0; i < b->ids.size(); ++i) items.push_back({b->ids[i], b->starts[i]});
      eng.async_start(p, std::move(items), on_batch);
      break;
    }
    case op_kind::remove: {
      std::vector<delete_item> items;
      for (std::size_t i = 0; i < b->ids.size(); ++i) items.push_back({b->ids[i], b->types[i]});
      eng.async_delete(p, std::move(items), on_batch);
      break;
    }
    case op_kind::confirm: {
      // Unnamed confirmations go as plain worker events now and then, else as reports.
      if (std::none_of(b->confirms.begin(), b->confirms.end(),
                       [](const auto& c) { return c.has_value(); }) &&
          b->ids.size() % 2 == 1) {
        std::vector<event_item> items;
        for (const job_id& id : b->ids) items.push_back({id, task_event::confirm});
        eng.async_report(p, std::move(items), on_batch);
        break;
      }
      std::vector<report_item> items;
      for (std::size_t i = 0; i < b->ids.size(); ++i) {
        items.push_back({b->ids[i], task_event::confirm, std::nullopt, b->confirms[i]});
      }
      eng.async_worker_report(p, std::move(items), on_batch);
      break;
    }
    case op_kind::status:
      eng.async_status(p, b->ids, [clock, b](error_code ec, std::vector<status_result> r) {
        b->ret = clock->now();
        b->ec = ec;
        b->statuses = std::move(r);
        b->done.set_value();
      });
      break;
    case op_kind::get:
      eng.async_get(p, b->ids.front(), [clock, b](error_code ec, task_snapshot s) {
        b->ret = clock->now();
        b->ec = ec;
        b->snapshot = std::move(s);
        b->done.set_value();
      });
      break;
  }
}

bool chance(std::mt19937_64& rng, double p) {
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng) < p;
}

/// A random batch on `pool` (no id twice). Terminate, force terminate and delete are rarer,
/// so that tasks do not all end DELETED.
batch_ptr random_batch(std::mt19937_64& rng, std::vector<job_id>& pool, const driver_options& o) {
  auto b = std::make_shared<batch_record>();
  const int roll = std::uniform_int_distribution<int>(0, 99)(rng);
  b->kind = roll < 23   ? op_kind::pause
            : roll < 40 ? op_kind::resume
            : roll < 56 ? op_kind::report
            : roll < 66 ? op_kind::confirm
            : roll < 74 ? op_kind::start
            : roll < 80 ? op_kind::remove
            : roll < 92 ? op_kind::status
                        : op_kind::get;
  b->foreign = chance(rng, o.foreign_batches);
  const std::size_t n = b->kind == op_kind::get
                            ? 1
                            : std::uniform_int_distribution<std::size_t>(
                                  1, std::min(o.max_batch_items, pool.size()))(rng);
  for (std::size_t i = 0; i < n; ++i) {
    std::swap(pool[i], pool[std::uniform_int_distribution<std::size_t>(i, pool.size() - 1)(rng)]);
    b->ids.push_back(pool[i]);
    b->modes.push_back(chance(rng, 0.5) ? pause_mode::all : pause_mode::target);
    b->events.push_back(random_event(rng));
    b->starts.push_back(random_start_item_time(rng));
    b->types.push_back(random_delete_type(rng));
    b->confirms.push_back(random_confirms(rng));
  }
  return b;
}

std::string describe_outcome(op_kind kind, const model_output& out) {
  if (out.result != outcome::ok || kind == op_kind::status || kind == op_kind::get) {
    if (kind == op_kind::status && out.result == outcome::ok) {
      return fmt::format("ok {}", out.state);
    }
    return task_model::describe(out);
  }
  return "ok";
}

}  // namespace

std::size_t env_or(const char* name, std::size_t fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text, &end, 10);
  return end != nullptr && *end == '\0' ? static_cast<std::size_t>(v) : fallback;
}

/// One of the values of `weights`, each as likely as its weight.
template <class T, std::size_t N>
T weighted_pick(const std::array<std::pair<T, int>, N>& weights, std::mt19937_64& rng) {
  int total = 0;
  for (const auto& w : weights) total += w.second;
  int pick = std::uniform_int_distribution<int>(0, total - 1)(rng);
  for (const auto& w : weights) {
    if (pick < w.second) return w.first;
    pick -= w.second;
  }
  return weights.back().first;
}

task_event random_event(std::mt19937_64& rng) {
  // Weighted towards the events that keep tasks moving.
  static constexpr std::array<std::pair<task_event, int>, 6> weights{{
      {task_event::start_succeeded, 3},
      {task_event::start_failed, 2},
      {task_event::full_transfer_done, 3},
      {task_event::incremental_started, 3},
      {task_event::transfer_failed, 3},
      {task_event::stopped, 2},
  }};
  return weighted_pick(weights, rng);
}

wall_time random_far_start(std::mt19937_64& rng) {
  return wall_time(std::chrono::milliseconds(4'102'444'800'000)) +
         std::chrono::seconds(std::uniform_int_distribution<int>(0, 2)(rng));
}

std::optional<wall_time> random_start_item_time(std::mt19937_64& rng) {
  const int roll = std::uniform_int_distribution<int>(0, 9)(rng);
  if (roll < 4) return std::nullopt;
  if (roll < 5) return wall_time(std::chrono::milliseconds(1'000'000'000'000));  // 2001
  return random_far_start(rng);
}

task_event random_awaitable(std::mt19937_64& rng) {
  static constexpr std::array<task_event, 6> commands{task_event::start, task_event::start_due,
                                                      task_event::pause, task_event::resume,
                                                      task_event::stop,  task_event::force_stop};
  return commands[std::uniform_int_distribution<std::size_t>(0, commands.size() - 1)(rng)];
}

std::optional<task_event> random_confirms(std::mt19937_64& rng) {
  if (chance(rng, 0.5)) return std::nullopt;
  return random_awaitable(rng);
}

std::optional<task_event> random_awaiting(std::mt19937_64& rng) {
  if (!chance(rng, 0.3)) return std::nullopt;
  return random_awaitable(rng);
}

delete_type random_delete_type(std::mt19937_64& rng) {
  const int roll = std::uniform_int_distribution<int>(0, 3)(rng);
  return roll < 2   ? delete_type::terminate
         : roll < 3 ? delete_type::force_terminate
                    : delete_type::remove;
}

task_state random_state(std::mt19937_64& rng) {
  using S = task_state;
  static constexpr std::array<std::pair<S, int>, 13> weights{{
      {S::configuration, 2},
      {S::starting, 2},
      {S::start_failed, 2},
      {S::full_transfer, 4},
      {S::full_transfer_complete, 3},
      {S::incremental_transfer, 4},
      {S::full_transfer_failed, 3},
      {S::incremental_transfer_failed, 3},
      {S::paused, 5},
      {S::stopping, 1},
      {S::stopped, 1},
      {S::deleted, 1},
      {S::waiting_for_start, 2},
  }};
  return weighted_pick(weights, rng);
}

pause_info random_pause(std::mt19937_64& rng) {
  static constexpr std::array<task_state, 5> pausable{
      task_state::full_transfer, task_state::full_transfer_complete,
      task_state::incremental_transfer, task_state::full_transfer_failed,
      task_state::incremental_transfer_failed};
  pause_info p;
  p.mode = chance(rng, 0.5) ? pause_mode::all : pause_mode::target;
  p.from = pausable[std::uniform_int_distribution<std::size_t>(0, pausable.size() - 1)(rng)];
  return p;
}

void check_summary::add(const check_summary& o) {
  histories += o.histories;
  task_histories += o.task_histories;
  family_histories += o.family_histories;
  unknown_id_histories += o.unknown_id_histories;
  operations += o.operations;
  state_independent += o.state_independent;
  max_operations = std::max(max_operations, o.max_operations);
  concurrent_operations += o.concurrent_operations;
  illegal += o.illegal;
  unknown += o.unknown;
  steps += o.steps;
  max_steps = std::max(max_steps, o.max_steps);
  hard += o.hard;
  for (const std::string& f : o.failures) {
    if (failures.size() < 5) failures.push_back(f);
  }
}

std::string show_history(const std::vector<task_op>& history, const lin::report& rep,
                         const std::string& label) {
  std::string text = fmt::format("history of {} ({} operations): {}\n", label, history.size(),
                                 lin::to_string(rep.result));
  std::vector<std::size_t> order(history.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return history[a].call < history[b].call; });
  for (std::size_t i : order) {
    const task_op& op = history[i];
    const auto pos = std::find(rep.longest_prefix.begin(), rep.longest_prefix.end(), i);
    const std::string placed = pos == rep.longest_prefix.end()
                                   ? std::string("  -")
                                   : fmt::format("{:3}", pos - rep.longest_prefix.begin() + 1);
    const std::string ret = op.ret == lin::never ? std::string("inf") : fmt::format("{}", op.ret);
    text +=
        fmt::format("  #{:<3} [{:>8}, {:>8}] linearized {}  {}  ->  {}\n", i, op.call, ret, placed,
                    task_model::describe(op.input), describe_outcome(op.input.kind, op.output));
  }
  if (rep.result == lin::verdict::illegal) {
    model_state s = task_model::initial();
    for (std::size_t i : rep.longest_prefix) {
      if (history[i].output.result != outcome::aborted) {
        s = task_model::apply(s, history[i].input).second;
      }
    }
    text += fmt::format("  longest legal order: {} operations, ending in state {}\n",
                        rep.longest_prefix.size(), task_model::describe(s));
  }
  return text;
}

check_summary check_round(const round_record& r, const lin::options& opt,
                          std::size_t max_failures_shown) {
  check_summary sum;
  const task_model model;
  for (std::size_t h = 0; h < r.histories.size(); ++h) {
    // Take out the operations that are legal wherever they land: they cannot make the
    // history illegal, and they multiply the orders the search has to try.
    std::uint64_t registered_at = lin::never;  // return of a registration that succeeded
    for (const task_op& op : r.histories[h]) {
      if (op.input.kind == op_kind::register_tasks && op.output.result == outcome::ok) {
        registered_at = op.ret;
      }
    }
    std::vector<task_op> history;
    for (const task_op& op : r.histories[h]) {
      const bool registered = registered_at != lin::never && op.call > registered_at;
      if (task_model::always_accepted(op.input, op.output, registered)) {
        ++sum.state_independent;
      } else {
        history.push_back(op);
      }
    }
    const lin::report rep = lin::check(model, task_model::initial(), history, opt);
    sum.steps += rep.steps;
    sum.max_steps = std::max(sum.max_steps, rep.steps);
    if (rep.steps > 100'000) ++sum.hard;
    if (h < r.task_histories) {
      ++sum.task_histories;
      ++sum.histories;
    } else if (h < r.task_histories + r.family_histories) {
      ++sum.family_histories;
      ++sum.histories;
    } else {
      ++sum.unknown_id_histories;
    }
    sum.operations += r.histories[h].size();
    sum.max_operations = std::max(sum.max_operations, history.size());
    for (const task_op& a : history) {
      for (const task_op& b : history) {
        if (a.call != b.call && a.call < b.ret && b.call < a.ret) {
          ++sum.concurrent_operations;
          break;
        }
      }
    }
    if (rep.result == lin::verdict::ok) continue;
    if (rep.result == lin::verdict::illegal) ++sum.illegal;
    if (rep.result == lin::verdict::unknown) ++sum.unknown;
    if (sum.failures.size() < max_failures_shown) {
      sum.failures.push_back(show_history(history, rep, r.labels[h]));
    }
  }
  return sum;
}

round_driver::round_driver(engine& eng, driver_options options, std::uint64_t seed)
    : engine_(eng),
      options_(options),
      rng_(seed),
      project_(*project_id::parse("054ba152d480d55b2f5dc0069e7ddef0")),
      other_project_(*project_id::parse("9f1c0a5e2b7d4c3e8a6f0b1d2c3e4f50")) {}

round_record round_driver::run_round() {
  round_record rec;
  auto clock = std::make_shared<lin::clock>();

  // -- the round's tasks ------------------------------------------------------------------
  auto reg = std::make_shared<batch_record>();
  reg->kind = op_kind::register_tasks;
  std::vector<job_id> pool;
  auto random_fields = [this](auto& spec) {
    spec.state = random_state(rng_);
    if (spec.state == task_state::paused) spec.pause = random_pause(rng_);
    if (spec.state == task_state::waiting_for_start) spec.start_time = random_far_start(rng_);
    spec.version = std::uniform_int_distribution<std::uint64_t>(0, 3)(rng_);
    spec.awaiting = random_awaiting(rng_);
  };
  for (std::size_t i = 0; i < options_.standalone_tasks; ++i) {
    task_spec t;
    t.id = job_id::mint();
    t.project = project_;
    t.kind = static_cast<task_kind>(std::uniform_int_distribution<int>(0, 2)(rng_));
    random_fields(t);
    rec.slots[t.id] = {rec.histories.size(), member::task};
    rec.initial[t.id] = fields_of(t.state, t.pause, t.version, t.start_time, t.awaiting);
    rec.labels.push_back(fmt::format("task {}", t.id));
    rec.histories.emplace_back();
    pool.push_back(t.id);
    reg->regs.emplace_back(t);
  }
  rec.task_histories = options_.standalone_tasks;
  for (std::size_t i = 0; i < options_.families; ++i) {
    family_spec f;
    f.id = job_id::mint();
    f.project = project_;
    f.forward.id = job_id::mint();
    f.backward.id = job_id::mint();
    random_fields(f.forward);
    random_fields(f.backward);
    const std::size_t h = rec.histories.size();
    rec.slots[f.id] = {h, member::parent};
    rec.slots[f.forward.id] = {h, member::forward};
    rec.slots[f.backward.id] = {h, member::backward};
    rec.initial[f.forward.id] = fields_of(f.forward.state, f.forward.pause, f.forward.version,
                                          f.forward.start_time, f.forward.awaiting);
    rec.initial[f.backward.id] = fields_of(f.backward.state, f.backward.pause, f.backward.version,
                                           f.backward.start_time, f.backward.awaiting);
    rec.labels.push_back(
        fmt::format("family {} (fwd {}, bwd {})", f.id, f.forward.id, f.backward.id));
    rec.histories.emplace_back();
    pool.insert(pool.end(), {f.id, f.forward.id, f.backward.id});
    reg->regs.emplace_back(f);
  }
  rec.family_histories = options_.families;
  for (std::size_t i = 0; i < options_.unknown_ids; ++i) {
    const job_id id = job_id::mint();
    rec.slots[id] = {rec.histories.size(), member::task};
    rec.labels.push_back(fmt::format("unknown id {}", id));
    rec.histories.emplace_back();
    pool.push_back(id);
  }
  for (const registration& r : reg->regs) reg->ids.push_back(id_of(r));

  // -- the clients ------------------------------------------------------------------------
  const bool race = chance(rng_, options_.race_registration);
  std::vector<batch_ptr> all;
  std::mutex all_mutex;
  std::mutex anomaly_mutex;
  if (!race) {
    issue(engine_, project_, other_project_, clock, reg);
    if (reg->done.get_future().wait_for(options_.timeout) != std::future_status::ready) {
      rec.anomalies.push_back("registration did not complete in time");
      return rec;
    }
  }
  all.push_back(reg);

  std::latch start(static_cast<std::ptrdiff_t>(options_.clients));
  std::vector<std::thread> clients;
  std::vector<std::uint64_t> seeds;
  for (std::size_t c = 0; c < options_.clients; ++c) seeds.push_back(rng_());
  for (std::size_t c = 0; c < options_.clients; ++c) {
    clients.emplace_back([&, c] {
      std::mt19937_64 rng(seeds[c]);
      std::vector<job_id> my_pool = pool;
      std::vector<batch_ptr> mine;
      std::vector<std::pair<batch_ptr, std::future<void>>> pending;
      start.arrive_and_wait();
      if (race && c == 0) {
        pending.emplace_back(reg, reg->done.get_future());
        issue(engine_, project_, other_project_, clock, reg);
      }
      std::size_t issued = 0;
      bool failed = false;
      while (issued < options_.batches_per_client && !failed) {
        const std::size_t k =
            std::uniform_int_distribution<std::size_t>(1, options_.max_in_flight)(rng);
        for (std::size_t j = 0; j < k && issued < options_.batches_per_client; ++j, ++issued) {
          batch_ptr b = random_batch(rng, my_pool, options_);
          pending.emplace_back(b, b->done.get_future());
          mine.push_back(b);
          issue(engine_, project_, other_project_, clock, b);
        }
        for (auto& [b, f] : pending) {
          if (f.wait_for(options_.timeout) != std::future_status::ready) {
            std::lock_guard lock(anomaly_mutex);
            rec.anomalies.push_back(
                fmt::format("a batch did not complete within {} ms", options_.timeout.count()));
            failed = true;
            break;
          }
        }
        pending.clear();
      }
      if (failed) return;  // the round is lost; late handlers keep their records alive
      std::lock_guard lock(all_mutex);
      all.insert(all.end(), mine.begin(), mine.end());
    });
  }
  for (std::thread& t : clients) t.join();
  if (!rec.anomalies.empty()) return rec;

  // -- the final reads ----------------------------------------------------------------------
  {
    std::vector<batch_ptr> finals;
    auto status = std::make_shared<batch_record>();
    status->kind = op_kind::status;
    status->ids = pool;
    std::shuffle(status->ids.begin(), status->ids.end(), rng_);
    finals.push_back(status);
    for (const job_id& id : pool) {
      auto get = std::make_shared<batch_record>();
      get->kind = op_kind::get;
      get->ids.push_back(id);
      finals.push_back(get);
    }
    std::vector<std::future<void>> futures;
    for (const batch_ptr& b : finals) {
      futures.push_back(b->done.get_future());
      issue(engine_, project_, other_project_, clock, b);
    }
    for (std::future<void>& f : futures) {
      if (f.wait_for(options_.timeout) != std::future_status::ready) {
        rec.anomalies.push_back("a final read did not complete in time");
        return rec;
      }
    }
    for (const batch_ptr& b : finals) {
      if (b->kind == op_kind::get && !b->ec) rec.final_snapshots[b->ids.front()] = b->snapshot;
    }
    all.insert(all.end(), finals.begin(), finals.end());
  }

  // -- the histories --------------------------------------------------------------------------
  rec.batches = all.size();
  for (const batch_ptr& b : all) {
    const std::size_t n = b->ids.size();
    const bool whole_abort = b->ec == boost::asio::error::operation_aborted;
    if (b->kind != op_kind::get && b->ec && !whole_abort) {
      rec.anomalies.push_back(fmt::format("a batch was refused as a whole: {}", b->ec.message()));
      continue;
    }
    std::size_t answers = 0;
    switch (b->kind) {
      case op_kind::status:
        answers = b->statuses.size();
        break;
      case op_kind::get:
        answers = 1;
        break;
      default:
        answers = b->results.size();
        break;
    }
    if (answers != n && !(whole_abort && answers == 0)) {
      rec.anomalies.push_back(fmt::format("a batch of {} items answered {}", n, answers));
      continue;
    }
    for (std::size_t i = 0; i < n; ++i) {
      const slot& where = rec.slots.at(b->ids[i]);
      task_op op;
      op.call = b->call;
      op.ret = b->ret;
      op.input.kind = b->kind;
      op.input.target = where.who;
      op.input.foreign = b->foreign;
      if (b->kind == op_kind::pause) op.input.mode = b->modes[i];
      if (b->kind == op_kind::report) op.input.event = b->events[i];
      if (b->kind == op_kind::start) op.input.start_time = b->starts[i];
      if (b->kind == op_kind::remove) op.input.type = b->types[i];
      if (b->kind == op_kind::confirm) op.input.confirms = b->confirms[i];
      if (answers == 0) {
        op.output.result = outcome::aborted;
      } else if (b->kind == op_kind::register_tasks) {
        if (b->results[i].id != b->ids[i]) rec.anomalies.push_back("register: result id mismatch");
        op.output.result = classify(b->results[i].error);
        std::visit(
            [&](const auto& spec) {
              using spec_type = std::decay_t<decltype(spec)>;
              if constexpr (std::is_same_v<spec_type, task_spec>) {
                op.input.initial[0] =
                    fields_of(spec.state, spec.pause, spec.version, spec.start_time, spec.awaiting);
              } else {
                op.input.initial[0] =
                    fields_of(spec.forward.state, spec.forward.pause, spec.forward.version,
                              spec.forward.start_time, spec.forward.awaiting);
                op.input.initial[1] =
                    fields_of(spec.backward.state, spec.backward.pause, spec.backward.version,
                              spec.backward.start_time, spec.backward.awaiting);
              }
            },
            b->regs[i]);
      } else if (b->kind == op_kind::status) {
        const status_result& s = b->statuses[i];
        if (s.id != b->ids[i]) rec.anomalies.push_back("status: result id mismatch");
        op.output.result = classify(s.error);
        if (!s.error) op.output.state = s.state;
      } else if (b->kind == op_kind::get) {
        op.output.result = classify(b->ec);
        if (!b->ec) {
          const task_snapshot& s = b->snapshot;
          if (s.id != b->ids[i]) rec.anomalies.push_back("get: snapshot id mismatch");
          op.output.state = s.state;
          op.output.pause = s.pause;
          op.output.start_time = s.start_time;
          op.output.version = s.version;
          op.output.role = s.role;
          op.output.awaiting = s.awaiting;
        }
      } else {
        if (b->results[i].id != b->ids[i]) rec.anomalies.push_back("command: result id mismatch");
        op.output.result = classify(b->results[i].error);
      }
      rec.histories[where.history].push_back(op);
    }
  }
  return rec;
}

}  // namespace taskorch::test
