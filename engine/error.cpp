#include <taskorch/error.hpp>

#include <boost/asio/error.hpp>

#include <string>

namespace taskorch {

namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "taskorch"; }

  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::task_not_found:
        return "Task information not found.";
      case errc::task_deleted:
        return "The task has been deleted or the resource has been released.";
      case errc::invalid_state:
        return "This API cannot be called in the current task status.";
      case errc::parent_task_forbidden:
        return "Only subtasks can invoke this interface.";
      case errc::child_task_forbidden:
        return "Only parent tasks can invoke this interface.";
      case errc::empty_batch:
        return "The parameter jobs is empty.";
      case errc::batch_too_large:
        return "The value of parameter jobs is invalid: too many jobs in one request.";
      case errc::duplicate_job_id:
        return "There are duplicate job_id in request.";
      case errc::task_exists:
        return "A task with this id is already registered.";
      case errc::invalid_task_spec:
        return "The task specification is inconsistent.";
      case errc::not_a_worker_event:
        return "Pause and resume are not worker events.";
      case errc::would_deadlock:
        return "A blocking call was made from an engine thread.";
    }
    return "Unknown taskorch error.";
  }
};

const category instance;

}  // namespace

const boost::system::error_category& error_category() noexcept { return instance; }

std::string_view drs_error_code(const error_code& ec) noexcept {
  if (!ec) return {};
  if (ec.category() == error_category()) {
    switch (static_cast<errc>(ec.value())) {
      case errc::task_not_found:
        return "DRS.M05003";
      case errc::task_deleted:
        return "DRS.M05004";
      case errc::invalid_state:
        return "DRS.M00304";
      case errc::parent_task_forbidden:
        return "DRS.M00307";
      case errc::child_task_forbidden:
        return "DRS.M00308";
      case errc::empty_batch:
        return "DRS.M00201";
      case errc::batch_too_large:
      case errc::invalid_task_spec:
      case errc::not_a_worker_event:
        return "DRS.M00202";
      case errc::duplicate_job_id:
      case errc::task_exists:
        return "DRS.M00301";
      case errc::would_deadlock:
        break;
    }
  }
  return "DRS.M00004";
}

}  // namespace taskorch
