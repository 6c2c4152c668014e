// taskorch-check-history: checks histories recorded over HTTP (by the scenario tests of
// tests/cluster) with the linearizability checker and the task model, as the engine's own
// stress tests check theirs.
//
//   taskorch-check-history histories.json
//
// The file holds {"histories": [{"label": "...", "operations": [...]}, ...]}, one history per
// standalone task. Each operation has `call` and `ret` stamps from one counter of the client
// (`ret` null when the answer never came), a `kind` and what the API answered, in its own
// words:
//   {"kind": "register", "status": "INCRE_TRANSFER_STARTED", "version": 0, ...}   (first)
//   {"kind": "pause", "mode": "all", "result": "ok"}
//   {"kind": "resume", "result": "DRS.M00304"}
//   {"kind": "status", "result": "ok", "status": "PAUSING"}
//   {"kind": "get", "result": "ok", "status": "PAUSING", "version": 3, "pause_mode": "all",
//    "paused_from": "INCRE_TRANSFER_STARTED", "awaiting": "pause"}
// `result` is "ok", an item's error code (the engine-error table of the API), "not_run" (the
// item's "not run, send it again" refusal) or "unknown" (no answer: it may have run or not).
// A register's fields are the task's detail before the history starts.
//
// Prints one summary line; exits 0 when every history is linearizable, 1 when one is not (and
// shows it) or the search ran out of budget, 2 on a file it cannot read.
#include "linearizability.hpp"
#include "stress_driver.hpp"
#include "task_model.hpp"
#include <taskorch/http/error_table.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace taskorch::test {
namespace {

namespace json = boost::json;

struct bad_history : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string_view text_of(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) throw bad_history(fmt::format("no string \"{}\"", key));
  return v->get_string();
}

task_state state_of(std::string_view status) {
  if (auto s = parse_drs_status(status)) return *s;
  throw bad_history(fmt::format("unknown status {}", status));
}

/// The optional fields of a detail: version, pause and what the task awaits.
task_fields fields_from(const json::object& o) {
  const task_state state = state_of(text_of(o, "status"));
  std::optional<pause_info> pause;
  if (o.contains("pause_mode")) {
    const auto mode = parse_pause_mode(text_of(o, "pause_mode"));
    if (!mode) throw bad_history("unknown pause_mode");
    pause = pause_info{*mode, state_of(text_of(o, "paused_from"))};
  }
  std::optional<task_event> awaiting;
  if (o.contains("awaiting")) {
    awaiting = parse_task_event(text_of(o, "awaiting"));
    if (!awaiting) throw bad_history("unknown awaiting command");
  }
  const std::uint64_t version = o.at("version").to_number<std::uint64_t>();
  return fields_of(state, pause, version, {}, awaiting);
}

outcome outcome_of(std::string_view result) {
  if (result == "ok") return outcome::ok;
  if (result == "not_run") return outcome::aborted;
  if (result == "unknown") return outcome::unknown;
  for (const http::engine_error_row& row : http::engine_error_table) {
    if (row.wire.drs_code == result) return classify(make_error_code(row.code));
  }
  return outcome::other;
}

task_op operation_of(const json::object& o) {
  task_op op;
  op.call = o.at("call").to_number<std::uint64_t>();
  op.ret = o.at("ret").is_null() ? lin::never : o.at("ret").to_number<std::uint64_t>();
  const std::string_view kind = text_of(o, "kind");
  if (kind == "register") {
    op.input.kind = op_kind::register_tasks;
    op.input.initial[0] = fields_from(o);
    return op;
  }
  op.output.result = outcome_of(text_of(o, "result"));
  if (kind == "pause") {
    op.input.kind = op_kind::pause;
    const auto mode = parse_pause_mode(text_of(o, "mode"));
    if (!mode) throw bad_history("unknown pause mode");
    op.input.mode = *mode;
  } else if (kind == "resume") {
    op.input.kind = op_kind::resume;
  } else if (kind == "status") {
    op.input.kind = op_kind::status;
    if (op.output.result == outcome::ok) op.output.state = state_of(text_of(o, "status"));
  } else if (kind == "get") {
    op.input.kind = op_kind::get;
    if (op.output.result == outcome::ok) {
      const task_fields t = fields_from(o);
      op.output.state = t.state;
      op.output.version = t.version;
      op.output.awaiting = t.awaiting;
      if (t.state == task_state::paused) op.output.pause = pause_info{t.mode, t.paused_from};
    }
  } else {
    throw bad_history(fmt::format("unknown kind {}", kind));
  }
  return op;
}

int run(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw bad_history(fmt::format("cannot open {}", path));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const json::value doc = json::parse(text);

  const task_model model;
  const lin::options budget{.max_steps = 20'000'000, .max_time = std::chrono::seconds(120)};
  std::size_t histories = 0;
  std::size_t operations = 0;
  std::size_t unanswered = 0;
  std::size_t failed = 0;
  std::uint64_t max_steps = 0;
  for (const json::value& h : doc.at("histories").as_array()) {
    const json::object& entry = h.as_object();
    std::vector<task_op> history;
    for (const json::value& o : entry.at("operations").as_array()) {
      history.push_back(operation_of(o.as_object()));
      if (history.back().output.result == outcome::unknown) ++unanswered;
    }
    const lin::report rep = lin::check(model, task_model::initial(), history, budget);
    ++histories;
    operations += history.size();
    max_steps = std::max(max_steps, rep.steps);
    if (rep.result != lin::verdict::ok) {
      ++failed;
      std::fputs(show_history(history, rep, std::string(text_of(entry, "label"))).c_str(), stdout);
    }
  }
  std::printf(
      "[ linearizability ] %zu histories, %zu operations (%zu unanswered), %zu not linearizable, "
      "at most %llu model steps\n",
      histories, operations, unanswered, failed, static_cast<unsigned long long>(max_steps));
  return failed == 0 ? 0 : 1;
}

}  // namespace
}  // namespace taskorch::test

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fputs("usage: taskorch-check-history HISTORIES.json\n", stderr);
    return 2;
  }
  try {
    return taskorch::test::run(argv[1]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "taskorch-check-history: %s: %s\n", argv[1], e.what());
    return 2;
  }
}
