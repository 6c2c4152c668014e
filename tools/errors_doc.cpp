// taskorch-errors-doc: prints docs/errors.md, read from the error tables: the core's
// taskorch::errc_table (include/taskorch/error.hpp) and the HTTP service's engine_error_table
// and request_error_table (include/taskorch/http/error_table.hpp), around fixed prose (where
// errors appear, the order of checks, the details of each engine error). The output depends on
// nothing but the tables and this file, so it is the same on every machine.
//
//   taskorch-errors-doc > docs/errors.md
//
// scripts/update-errors-doc.sh runs it; the ctest `errors-doc-up-to-date` fails while
// docs/errors.md differs from this output.

#include <taskorch/error.hpp>
#include <taskorch/http/error_table.hpp>

#include <fmt/format.h>

#include <array>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using taskorch::errc;
using taskorch::error_scope;
namespace http = taskorch::http;

constexpr std::string_view regenerate_command = "scripts/update-errors-doc.sh";

/// Details of each engine error beyond its one-sentence "when", by errc name. An errc without
/// an entry here is documented by its table row alone.
// clang-format off
constexpr std::array<std::pair<std::string_view, std::string_view>, 13> engine_details{{
  {"task_not_found", R"(The id is not registered, or it belongs to another project than the one the command names (a
task of another project is treated exactly as one that does not exist), or it was purged.

- Per item of `async_pause`, `async_resume`, `async_report`, `async_purge` and `async_status`
  (in `status_result::error`; `state` is then meaningless).
- As the whole-operation `ec` of `async_get` / `get()`.
- Checked first, before every other per-item rule.)"},
  {"task_deleted", R"(The task is in state `deleted` (DRS status `DELETED`): it was deleted (worker event `remove`)
and not yet purged.

- Per item of `async_pause`, `async_resume` and `async_report`, for every event, in place of
  `invalid_state`. Checked after `task_not_found` and `parent_task_forbidden`.
- Not an error for queries: `async_status`, `async_get` and `async_list` report the task with
  state `deleted`. `async_purge` is how a deleted task goes away; afterwards it is unknown
  (`task_not_found`).)"},
  {"invalid_state", R"(The command is not allowed in the task's state.

- Per item of `async_pause`, `async_resume` and `async_report`, when the transition table has no
  row for the task's state and the event (every "—" of the matrix in
  [state-machine.md](state-machine.md)). For example pausing a task in `configuration`,
  `starting`, `start_failed`, `stopping` or `stopped`, or resuming a task in `configuration`.
- Per item of `async_purge`, when a standalone task is not `deleted`, or when a dual-active
  parent's two children are not both `deleted`.
- Not raised for pausing an already paused task (that succeeds, see
  [state-machine.md](state-machine.md)) nor for resuming a running task (success, no change).)"},
  {"parent_task_forbidden", R"(The id is the parent of a dual-active DR family (`multi_write`). The parent has no state of
its own and refuses every command and worker event, whatever its children's states; its forward
and backward children are commanded individually.

- Per item of `async_pause`, `async_resume` and `async_report`. Checked after `task_not_found`,
  before `task_deleted` and the table.
- Queries (`async_status`, `async_get`, `async_list`) answer a parent with its aggregate state;
  `async_purge` takes the parent (and removes the whole family).)"},
  {"child_task_forbidden", R"(- Per item of `async_purge`, when the id is a child of a dual-active family: a family is purged
  through its parent, once both children are `deleted`.)"},
  {"empty_batch", R"(- Whole batch: `async_pause`, `async_resume`, `async_report`, `async_purge` or `async_status`
  called with no items. Nothing is applied; the result is empty.
- An empty registration batch is *not* an error: `async_register` completes with an empty `ec`
  and an empty result.)"},
  {"batch_too_large", R"(- Whole batch: more items than `engine_options::max_batch_items` (default 1,000,000) in
  `async_pause`, `async_resume`, `async_report`, `async_purge` or `async_status`. Checked after
  `empty_batch`, before `duplicate_job_id`. Registration batches have no such limit.)"},
  {"duplicate_job_id", R"(- Whole batch: the same job id twice in `async_pause`, `async_resume`, `async_report`,
  `async_purge` or `async_status`.
- Whole batch: the same id twice anywhere in an `async_register` batch, a family's parent and
  child ids included (a child id that repeats a standalone task's id counts too). Registration
  specs are checked one by one in request order; each spec is checked for consistency
  (`invalid_task_spec`) before its ids are checked for repeats, and the first failure decides.)"},
  {"task_exists", R"(- Per item of `async_register`: the id (for a family: the parent's or either child's) is already
  registered at the instant the item takes effect. A family's registration checks its three ids
  and places the family and its children's redirect stubs at one instant, so nothing of a
  refused item is ever seen, and a family registration that fails never makes its ids look
  taken to a concurrent one. The other items of the batch are registered on their own.)"},
  {"invalid_task_spec", R"(- Whole batch of `async_register`, nothing registered, when a spec is inconsistent in itself:
  a value its enum does not declare (a state, kind, pause mode or paused-from state cast from
  an integer), or `pause` (a `pause_info`) is present when the state is not `paused`, or
  missing when it is, or
  names a `from` state that is not pausable (running in any phase, or transfer failed); or a
  family whose three ids (parent, forward child, backward child) are not distinct. A family
  child may be registered `deleted` or `paused`.)"},
  {"not_a_worker_event", R"(- Whole batch of `async_report` when an item's event is `pause` or `resume` (those are user
  commands, sent through `async_pause` and `async_resume`) or a value the event enum does not
  declare. Checked after the empty, size and duplicate checks.)"},
  {"would_deadlock", R"(- Whole operation of any blocking wrapper (`register_tasks`, `pause`, `resume`, `report`,
  `purge`, `status`, `get`, `list`, `count`, `export_snapshot`, `subscribe`) called from one of
  the engine's own threads, for example inside a completion handler that has no associated
  executor or inside a subscriber callback. Waiting there could block the very thread that has
  to complete the operation, so nothing is started: the overload taking `error_code&` returns a
  default-constructed result, the other throws `system_error`. Use the `async_*` form there.
- Thrown by `engine::stop()` called on one of the engine's own threads, which it would wait
  for. (The destructor there cannot throw: it says so on stderr and aborts the program.))"},
  {"invalid_item", R"(- Whole batch of `async_pause` when an item's pause mode is a value `pause_mode` does not
  declare (cast from an integer). Checked after the empty, size and duplicate checks; nothing
  is applied.)"},
}};
// clang-format on

constexpr std::string_view operation_aborted_details =
    R"(The engine is stopping or stopped (`engine::stop()`, or its destructor).

- An operation started after `stop()` began completes at once with `ec = operation_aborted` and
  an empty result. Its handler is posted (to `asio::system_executor`, then its own executor),
  never run inside the initiating call.
- An operation in flight when `stop()` is called still completes, exactly once. Every part of
  it that reaches its strand after the stop marks its items `operation_aborted`; items that had
  already run keep their real outcome (they did take effect). The handler then gets
  `ec = operation_aborted` together with this per-item result, so check each item before
  assuming nothing was applied.
- Broadcast operations (`async_list`, `async_count`, `async_export`, `async_subscribe`) complete
  with `ec = operation_aborted` and whatever the shards that ran before the stop contributed
  (an empty `subscription` for `async_subscribe`).
- `stop()` returns only after every outstanding operation has delivered its completion (run its
  handler, or handed it to the handler's associated executor); nothing hangs. Per-operation
  cancellation (cancellation slots) is not supported.)";

constexpr std::string_view out_of_memory_details =
    R"(An allocation failed inside the engine after the operation was admitted: while it was built,
routed, posted or run.

- Items the engine could not run fail with this error; items that ran keep their real outcome.
  The operation then completes, exactly once, with `ec = not_enough_memory` (when the engine
  also stopped, `operation_aborted` wins).
- A change to a shard either happens whole or not at all: room is reserved before anything is
  changed.
- Only when memory runs out for handing the completion itself on is the handler destroyed
  uncalled; `std::bad_alloc` then propagates from the initiating call, or to
  `engine_options::unhandled_exception` on an engine thread.)";

std::string_view details_of(std::string_view name) {
  for (const auto& [errc_name, text] : engine_details) {
    if (errc_name == name) return text;
  }
  return {};
}

/// A Markdown table cell: `|` would end the cell.
std::string cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

std::string_view scope_text(error_scope s) {
  return s == error_scope::item ? "per item" : "whole operation";
}

void write_intro(std::string& out) {
  const auto& not_found = *taskorch::find_errc(errc::task_not_found);
  out += fmt::format(
      "# Errors\n\n"
      "<!-- Generated by taskorch-errors-doc (tools/errors_doc.cpp) from taskorch::errc_table and\n"
      "     taskorch::http's error tables. Do not edit: run {}. -->\n\n",
      regenerate_command);
  out += fmt::format(
      "Two tables say what every error means, one per layer:\n\n"
      "- The core library reports a `boost::system::error_code` (`taskorch::error_code`): a\n"
      "  `taskorch::errc` of the category named `\"taskorch\"`, or "
      "`asio::error::operation_aborted`\n"
      "  when the engine stops. `taskorch::errc_table` (`include/taskorch/error.hpp`) gives each\n"
      "  code its name, its message (what `ec.message()` returns), where it is reported and when\n"
      "  it occurs. The core speaks of tasks and batches only.\n"
      "- The HTTP service (`taskorch::http`, `taskorch-server`) shows errors to its clients with "
      "an\n"
      "  HTTP status, a DRS error code and a message in English and Chinese:\n"
      "  `include/taskorch/http/error_table.hpp` holds one row per engine error\n"
      "  (`engine_error_table`) and one per refusal of the service itself\n"
      "  (`request_error_table`). Every answer the service gives comes from it.\n\n"
      "```cpp\n"
      "taskorch::error_code ec = taskorch::errc::task_not_found;\n"
      "ec.message();                        // \"{}\"\n"
      "taskorch::http::describe(ec).en;     // \"{}\"\n"
      "taskorch::http::drs_error_code(ec);  // \"{}\"\n"
      "taskorch::http::drs_error_code({{}});  // \"\" (success)\n"
      "```\n\n",
      not_found.message, http::describe(errc::task_not_found).en,
      http::drs_error_code(errc::task_not_found));
}

void write_where(std::string& out) {
  out += R"(## Where an error appears

An error reaches the caller in one of two places, never both for the same cause:

- **Per item.** A batch that passed the whole-batch checks runs every item on its own, on its
  task's strand, and completes with `ec` empty. Each item's outcome is in the result, in request
  order: `item_result::error` for commands, purge and registration, `status_result::error` for
  `async_status`. A batch in which every item failed still succeeds as a whole.
- **Whole operation.** The `ec` of the completion handler (or the exception of a blocking
  wrapper) is set when the whole batch is refused before anything is applied (the result is then
  empty), when a single-task operation (`async_get`) fails, when a blocking wrapper is called
  from an engine thread, or when the engine stops.

The blocking wrappers follow Asio: `eng.pause(project, items)` throws
`boost::system::system_error` carrying the whole-operation `ec` and returns the per-item result
otherwise; `eng.pause(project, items, ec)` never throws. Per-item errors never throw.

The whole-batch checks of `async_pause`, `async_resume`, `async_report`, `async_purge` and
`async_status` run in this order, and the first failure decides: empty batch, then more than
`engine_options::max_batch_items` items, then a job id named twice, then (`async_report` only) a
`pause`, `resume` or undeclared event, (`async_pause` only) an undeclared pause mode.
Registration (`async_register`) has its own checks, listed under
`invalid_task_spec` and `duplicate_job_id`.

)";
}

void write_engine_summary(std::string& out) {
  out += "## The core's errors\n\n";
  out += "| code | value | message (`ec.message()`) | reported | when | HTTP service |\n";
  out += "|---|---|---|---|---|---|\n";
  for (const taskorch::errc_info& row : taskorch::errc_table) {
    const http::wire_error& wire = http::describe(row.code);
    out += fmt::format("| `errc::{}` | {} | {} | {} | {} | {} `{}` |\n", row.name,
                       static_cast<int>(row.code), cell(row.message), scope_text(row.scope),
                       cell(row.when), wire.status, wire.drs_code);
  }
  const http::wire_error& abnormal = http::describe(http::request_errc::service_abnormal).wire;
  out += fmt::format(
      "| `asio::error::operation_aborted` | system category | Asio's text (on Linux \"Operation "
      "canceled\") | whole operation, and per item for items that did not run | the engine is "
      "stopping or stopped | {} `{}` |\n"
      "| `boost::system::errc::not_enough_memory` | generic category | \"Cannot allocate "
      "memory\" | whole operation, and per item for items that did not run | an allocation failed "
      "in the engine | {} `{}` |\n\n",
      abnormal.status, abnormal.drs_code, abnormal.status, abnormal.drs_code);
  out += fmt::format(
      "The HTTP column is how `taskorch::http` shows the error: the DRS code of a failed item, "
      "and\n"
      "the status of a whole request the engine refused. Any error the service's table does not\n"
      "list (`operation_aborted` and `not_enough_memory` included) is `{}` `{}` (\"{}\").\n\n",
      abnormal.status, abnormal.drs_code, abnormal.en);
}

void write_engine_details(std::string& out) {
  out += "## Each core error\n\n";
  for (const taskorch::errc_info& row : taskorch::errc_table) {
    out += fmt::format("### `errc::{}` — `{}`\n\n", row.name, http::drs_error_code(row.code));
    if (const std::string_view text = details_of(row.name); !text.empty()) {
      out += text;
    } else {
      out += fmt::format("{}: {}.", scope_text(row.scope), row.when);
    }
    out += "\n\n";
  }
  out += fmt::format("### `asio::error::operation_aborted` — `{}`\n\n{}\n\n",
                     http::describe(http::request_errc::service_abnormal).wire.drs_code,
                     operation_aborted_details);
  out += fmt::format("### `boost::system::errc::not_enough_memory` — `{}`\n\n{}\n\n",
                     http::describe(http::request_errc::service_abnormal).wire.drs_code,
                     out_of_memory_details);
}

void write_http(std::string& out) {
  out += R"(## HTTP service errors

This section belongs to the HTTP service (`taskorch-server` and the `taskorch::http` target in
`service/` and `include/taskorch/http/`), not to the core library: the core never parses
requests or knows HTTP statuses. [http-api.md](http-api.md) shows a real response for each
class; [api/openapi.yaml](api/openapi.yaml) describes them. A refused request applies nothing
and answers with the body `{"error_code":"<code>","error_msg":"<message>"}`; `X-Language: zh-cn`
(any case) selects Chinese messages for every error (401 included), anything else English.
The answers given before the request's headers could be read (431, 503, a 400 for bytes that
are not HTTP) are in English. Every answer to `HEAD` has no body.

Checks run in this order, and the first failure decides: the connection cap (503), the request
head (431, 400), route (404, 405), token (401), project (403), Content-Type (400), body size
(413), then the body: while it is read, its nesting and its item count (both M00202), and only
then its syntax and items. Within the body: items are checked one by one in request order;
within one item the missing/empty checks (`M00201`) of all its fields come before the value
checks (`M00202`). An optional field sent as `null` counts as absent; unknown fields are
ignored, whatever their values (numbers beyond 64 bits included). `GET /metrics` (and `HEAD`)
needs no token.

A request refused before its body was read ends the connection: the server sends its answer,
stops sending, and reads and drops what the client still sends (a bounded time and amount)
before closing, so that closing does not reset the answer away. A client that sends nothing,
or too slowly, is cut off without an answer: a request must arrive whole within
`--read-timeout-ms` (a new connection's first request counts from the accept), and a kept-alive
connection is closed after `--idle-timeout-ms` without a new request (`0`: no keep-alive).

Messages with `{}` take the values the last column names.

)";
  out += "| HTTP | code | name | message | when | values |\n";
  out += "|---|---|---|---|---|---|\n";
  for (const http::request_error_row& row : http::request_error_table) {
    out += fmt::format("| {} | `{}` | `{}` | {} | {} | {} |\n", row.wire.status, row.wire.drs_code,
                       row.name, cell(row.wire.en), cell(row.when),
                       row.arguments_are.empty() ? std::string("—") : cell(row.arguments_are));
  }
  out += R"(
Per-item failures are not request errors: a batch request that passes these checks answers 200
with one result per job, in request order, `count` = number of results, and `error_code` /
`error_msg` (batch-status: `error_message`) on failed items only, from the engine's table:

)";
  out +=
      "| engine error | DRS code | message | 中文 | HTTP status when it refuses a whole request "
      "|\n";
  out += "|---|---|---|---|---|\n";
  for (const http::engine_error_row& row : http::engine_error_table) {
    out +=
        fmt::format("| `errc::{}` | `{}` | {} | {} | {} |\n", taskorch::find_errc(row.code)->name,
                    row.wire.drs_code, cell(row.wire.en), cell(row.wire.zh), row.wire.status);
  }
  out += "\nThe Chinese messages of the service's own refusals:\n\n";
  out += "| name | 中文 |\n|---|---|\n";
  for (const http::request_error_row& row : http::request_error_table) {
    out += fmt::format("| `{}` | {} |\n", row.name, cell(row.wire.zh));
  }
}

std::string markdown() {
  std::string out;
  write_intro(out);
  write_where(out);
  write_engine_summary(out);
  write_engine_details(out);
  write_http(out);
  return out;
}

int usage(std::FILE* to, int status) {
  std::fputs(
      "usage: taskorch-errors-doc\n"
      "Prints docs/errors.md, read from taskorch::errc_table and taskorch::http's error tables.\n",
      to);
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && (std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h")) {
    return usage(stdout, 0);
  }
  if (argc != 1) return usage(stderr, 2);
  const std::string text = markdown();
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0) {
    std::fputs("taskorch-errors-doc: cannot write the output\n", stderr);
    return 1;
  }
  return 0;
}
