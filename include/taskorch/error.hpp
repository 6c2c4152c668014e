#pragma once
// error: taskorch's error codes, their Boost.System category and their DRS error codes.
//
//   boost::system::error_code ec = taskorch::errc::task_not_found;
//   ec.message();                    // "Task information not found."
//   taskorch::drs_error_code(ec);    // "DRS.M05003"
//
// Per-item failures of a batch are reported in its result, not as the batch's error code.
// docs/errors.md lists every code and when it occurs.

#include <boost/system/error_code.hpp>

#include <string_view>
#include <type_traits>

namespace taskorch {

using boost::system::error_code;

/// The errors of the engine. Zero is success.
enum class errc {
  task_not_found = 1,     ///< unknown id, or a task of another project (DRS.M05003)
  task_deleted,           ///< the task is DELETED (DRS.M05004)
  invalid_state,          ///< the command is not allowed in the task's state (DRS.M00304)
  parent_task_forbidden,  ///< a dual-active DR parent refuses the command (DRS.M00307)
  child_task_forbidden,   ///< only the parent may be the target, e.g. of a purge (DRS.M00308)
  empty_batch,            ///< a batch without items (DRS.M00201)
  batch_too_large,        ///< more items than engine_options::max_batch_items (DRS.M00202)
  duplicate_job_id,       ///< the same job id twice in one batch (DRS.M00301)
  task_exists,            ///< registering an id that is already registered (DRS.M00301)
  invalid_task_spec,      ///< a registration that is inconsistent in itself (DRS.M00202)
  not_a_worker_event,     ///< pause or resume reported as a worker event (DRS.M00202)
  would_deadlock,         ///< a blocking call made from one of the engine's own threads
};

/// Returns the category of taskorch::errc, named "taskorch".
const boost::system::error_category& error_category() noexcept;

/// Makes an error_code of taskorch's category.
inline error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// Returns the DRS error code for `ec`: "DRS.M05003" for errc::task_not_found, and so on.
/// Any other error (operation_aborted when the engine stops, for instance) is "DRS.M00004",
/// "Service is abnormal". Success is the empty string.
std::string_view drs_error_code(const error_code& ec) noexcept;

}  // namespace taskorch

template <>
struct boost::system::is_error_code_enum<taskorch::errc> : std::true_type {};
