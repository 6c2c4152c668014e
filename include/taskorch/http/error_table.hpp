#pragma once
// error_table: how the DRS HTTP API shows the engine's errors to its clients: the HTTP status
// of a whole-batch refusal, the DRS error code and the message in English and Chinese.
//
//   const taskorch::http::wire_error& e = taskorch::http::describe(taskorch::errc::task_deleted);
//   e.drs_code == "DRS.M05004"; e.en == "The task has been deleted or the resource has been
//   released."
//
// Any error the table does not list (the engine stopping, for instance) is 500 DRS.M00004,
// "Service is abnormal".

#include <taskorch/error.hpp>

#include <array>
#include <string_view>

namespace taskorch::http {

/// One error as the API shows it.
struct wire_error {
  unsigned status;            ///< the HTTP status when it refuses a whole request
  std::string_view drs_code;  ///< e.g. "DRS.M05003"
  std::string_view en;        ///< English message
  std::string_view zh;        ///< Chinese message
};

/// One row of the engine-error table.
struct engine_error_row {
  errc code;
  wire_error wire;
};

// clang-format off
/// Every engine error, in the enum's order.
inline constexpr std::array engine_error_table{
  engine_error_row{errc::task_not_found,        {400, "DRS.M05003", "Task information not found.", "任务信息未找到。"}},
  engine_error_row{errc::task_deleted,          {400, "DRS.M05004", "The task has been deleted or the resource has been released.", "任务已删除或资源已释放。"}},
  engine_error_row{errc::invalid_state,         {400, "DRS.M00304", "This API cannot be called in the current task status.", "当前任务状态不允许调用该接口。"}},
  engine_error_row{errc::parent_task_forbidden, {400, "DRS.M00307", "Only subtasks can invoke this interface.", "只有子任务可以调用该接口。"}},
  engine_error_row{errc::child_task_forbidden,  {400, "DRS.M00308", "Only parent tasks can invoke this interface.", "只有父任务可以调用该接口。"}},
  engine_error_row{errc::empty_batch,           {400, "DRS.M00201", "The parameter jobs is empty.", "参数jobs为空。"}},
  engine_error_row{errc::batch_too_large,       {400, "DRS.M00202", "The value of parameter jobs is invalid: too many jobs.", "参数jobs的值无效：任务过多。"}},
  engine_error_row{errc::duplicate_job_id,      {400, "DRS.M00301", "There are duplicate job_id in request.", "请求中存在重复的job_id。"}},
  engine_error_row{errc::task_exists,           {400, "DRS.M00301", "A task with this id already exists.", "该ID的任务已存在。"}},
  engine_error_row{errc::invalid_task_spec,     {400, "DRS.M00202", "The task specification is invalid.", "任务定义无效。"}},
  engine_error_row{errc::not_a_worker_event,    {400, "DRS.M00202", "Pause and resume are not worker events.", "暂停和恢复不是工作节点事件。"}},
  engine_error_row{errc::would_deadlock,        {500, "DRS.M00004", "Service is abnormal. Check logs.", "服务异常，请检查日志。"}},
  engine_error_row{errc::invalid_item,          {400, "DRS.M00202", "The value of parameter jobs is invalid.", "参数jobs的值无效。"}},
};
// clang-format on

static_assert(
    [] {
      if (engine_error_table.size() != errc_table.size()) return false;
      for (std::size_t i = 0; i < engine_error_table.size(); ++i) {
        if (engine_error_table[i].code != errc_table[i].code) return false;
      }
      return true;
    }(),
    "engine_error_table lists every errc once, in the enum's order");

/// Service is abnormal: every error the table does not list.
inline constexpr wire_error service_abnormal{500, "DRS.M00004", "Service is abnormal. Check logs.",
                                             "服务异常，请检查日志。"};

/// Returns how `ec` (a failure) is shown on the wire.
inline const wire_error& describe(const error_code& ec) noexcept {
  if (ec.category() == error_category()) {
    if (const errc_info* row = find_errc(static_cast<errc>(ec.value()))) {
      return engine_error_table[static_cast<std::size_t>(row->code) - 1].wire;
    }
  }
  return service_abnormal;
}

/// Returns the DRS error code of `ec`, or the empty string for success.
inline std::string_view drs_error_code(const error_code& ec) noexcept {
  return ec ? describe(ec).drs_code : std::string_view();
}

}  // namespace taskorch::http
