#pragma once
// error: taskorch's error codes, their Boost.System category, and the table that says what
// each one means.
//
//   boost::system::error_code ec = taskorch::errc::task_not_found;
//   ec.message();  // "no task with this id in the project"
//
// Per-item failures of a batch are reported in its result, not as the batch's error code.
// The codes speak of tasks and batches only: how a service shows them to its clients (the DRS
// codes and the HTTP statuses of taskorch-server) is the service's own table
// (taskorch/http/error_table.hpp). docs/errors.md is generated from both tables.

#include <boost/system/error_code.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace taskorch {

using boost::system::error_code;

/// The errors of the engine. Zero is success.
enum class errc {
  task_not_found = 1,     ///< unknown id, or a task of another project
  task_deleted,           ///< the task is deleted (and not yet purged)
  invalid_state,          ///< the command is not allowed in the task's state
  parent_task_forbidden,  ///< a dual-active DR parent refuses its children's events
  child_task_forbidden,   ///< only a family's parent may be the target (whole-family events, purge)
  empty_batch,            ///< a batch without items
  batch_too_large,        ///< more items than engine_options::max_batch_items
  duplicate_job_id,       ///< the same job id twice in one batch
  task_exists,            ///< registering an id that is already registered
  invalid_task_spec,      ///< a registration that is inconsistent in itself
  not_a_worker_event,     ///< a command (or the schedule's event) reported as a worker event
  would_deadlock,         ///< a blocking call made on one of the engine's own threads
  invalid_item,           ///< a command item holds a value its enum does not declare
  journal_failed,         ///< the journal could not store a change; changes are refused
};

/// Where an error is reported: in one item's result, or as the operation's error code.
enum class error_scope : std::uint8_t { item, operation };

/// One row of the error table.
struct errc_info {
  errc code;
  std::string_view name;     ///< the enumerator's name, e.g. "task_not_found"
  std::string_view message;  ///< what error_code::message() returns
  error_scope scope;         ///< where it is reported
  std::string_view when;     ///< when it occurs, in one sentence
};

// clang-format off
/// Every error of the engine, in the enum's order: the category's messages and
/// docs/errors.md read this table.
inline constexpr std::array errc_table{
  errc_info{errc::task_not_found, "task_not_found", "no task with this id in the project", error_scope::item,
            "the id is not registered, was purged, or belongs to another project than the one the command names"},
  errc_info{errc::task_deleted, "task_deleted", "the task is deleted", error_scope::item,
            "a command or worker event names a task in state deleted"},
  errc_info{errc::invalid_state, "invalid_state", "the command is not allowed in the task's state", error_scope::item,
            "the transition table has no row for the task's state and the event, or a purge names a task that is not deleted"},
  errc_info{errc::parent_task_forbidden, "parent_task_forbidden", "a dual-active parent takes no commands; command its children", error_scope::item,
            "a start, pause, resume or worker event names the parent of a dual-active DR family"},
  errc_info{errc::child_task_forbidden, "child_task_forbidden", "only the family's parent can be named here", error_scope::item,
            "a terminate, force terminate, delete or purge names a child of a dual-active DR family"},
  errc_info{errc::empty_batch, "empty_batch", "the batch has no items", error_scope::operation,
            "a command or query batch is empty"},
  errc_info{errc::batch_too_large, "batch_too_large", "the batch has more items than the engine accepts", error_scope::operation,
            "a command or query batch holds more than engine_options::max_batch_items items"},
  errc_info{errc::duplicate_job_id, "duplicate_job_id", "the batch names a job id twice", error_scope::operation,
            "a batch names the same job id twice (for a registration: anywhere, family children included)"},
  errc_info{errc::task_exists, "task_exists", "a task with this id is already registered", error_scope::item,
            "a registration names an id (a family: any of its three) that is already registered"},
  errc_info{errc::invalid_task_spec, "invalid_task_spec", "the task specification is inconsistent", error_scope::operation,
            "a registration holds a value outside its enum, pause information or a start time that does not match its state, or a family whose ids are not distinct"},
  errc_info{errc::not_a_worker_event, "not_a_worker_event", "only workers' events may be reported", error_scope::operation,
            "a batch of worker events holds a command or the schedule's start_due"},
  errc_info{errc::would_deadlock, "would_deadlock", "a blocking call was made on an engine thread", error_scope::operation,
            "a blocking wrapper, stop() or the destructor is called on one of the engine's own threads"},
  errc_info{errc::invalid_item, "invalid_item", "an item holds a value outside its enum", error_scope::operation,
            "a pause item's mode is a value pause_mode does not declare"},
  errc_info{errc::journal_failed, "journal_failed", "the journal could not store the change; changes are refused until the engine is restarted", error_scope::operation,
            "a write or sync of the journal failed: the operation's unstored items fail with it (their changes are rolled back), and every later command, registration or purge is refused; queries go on"},
};
// clang-format on

static_assert(
    [] {
      for (std::size_t i = 0; i < errc_table.size(); ++i) {
        if (static_cast<std::size_t>(errc_table[i].code) != i + 1) return false;
      }
      return true;
    }(),
    "errc_table lists every errc once, in the enum's order");

/// The row of `e`, or nullptr for a value the enum does not declare.
constexpr const errc_info* find_errc(errc e) noexcept {
  const auto i = static_cast<std::size_t>(e);
  return i >= 1 && i <= errc_table.size() ? &errc_table[i - 1] : nullptr;
}

/// Returns the category of taskorch::errc, named "taskorch".
const boost::system::error_category& error_category() noexcept;

/// Makes an error_code of taskorch's category.
inline error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace taskorch

template <>
struct boost::system::is_error_code_enum<taskorch::errc> : std::true_type {};
