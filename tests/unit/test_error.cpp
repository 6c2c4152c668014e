#include <taskorch/error.hpp>

#include <boost/asio/error.hpp>
#include <boost/system/errc.hpp>
#include <boost/system/system_error.hpp>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace taskorch {
namespace {

const std::vector<errc>& all_errcs() {
  static const std::vector<errc> codes{
      errc::task_not_found,        errc::task_deleted,         errc::invalid_state,
      errc::parent_task_forbidden, errc::child_task_forbidden, errc::empty_batch,
      errc::batch_too_large,       errc::duplicate_job_id,     errc::task_exists,
      errc::invalid_task_spec,     errc::not_a_worker_event,   errc::would_deadlock};
  return codes;
}

TEST(Error, CategoryIsNamedTaskorch) {
  EXPECT_STREQ(error_category().name(), "taskorch");
  EXPECT_EQ(&error_category(), &error_category());
}

TEST(Error, CodesStartAtOneAndAreDistinct) {
  EXPECT_EQ(static_cast<int>(errc::task_not_found), 1);
  std::set<int> values;
  for (errc e : all_errcs()) {
    EXPECT_NE(static_cast<int>(e), 0);
    values.insert(static_cast<int>(e));
  }
  EXPECT_EQ(values.size(), all_errcs().size());
}

TEST(Error, ConvertsToErrorCodeOfTheCategory) {
  for (errc e : all_errcs()) {
    error_code ec = e;
    EXPECT_TRUE(ec.failed());
    EXPECT_EQ(ec.category(), error_category());
    EXPECT_EQ(ec.value(), static_cast<int>(e));
    EXPECT_EQ(ec, make_error_code(e));
    EXPECT_TRUE(ec == e);
  }
  error_code ec = errc::task_deleted;
  EXPECT_FALSE(ec == errc::task_not_found);
}

TEST(Error, MessagesUseTheDrsWording) {
  const std::vector<std::pair<errc, std::string>> messages{
      {errc::task_not_found, "Task information not found."},
      {errc::task_deleted, "The task has been deleted or the resource has been released."},
      {errc::invalid_state, "This API cannot be called in the current task status."},
      {errc::parent_task_forbidden, "Only subtasks can invoke this interface."},
      {errc::child_task_forbidden, "Only parent tasks can invoke this interface."},
      {errc::duplicate_job_id, "There are duplicate job_id in request."},
      {errc::empty_batch, "The parameter jobs is empty."},
  };
  for (const auto& [e, text] : messages) {
    EXPECT_EQ(make_error_code(e).message(), text) << static_cast<int>(e);
  }
}

TEST(Error, EveryCodeHasItsOwnMessage) {
  const std::string unknown = error_code(999, error_category()).message();
  EXPECT_FALSE(unknown.empty());
  std::set<std::string> seen;
  for (errc e : all_errcs()) {
    const std::string text = make_error_code(e).message();
    EXPECT_FALSE(text.empty()) << static_cast<int>(e);
    EXPECT_NE(text, unknown) << static_cast<int>(e);
    seen.insert(text);
  }
  EXPECT_EQ(seen.size(), all_errcs().size());
  EXPECT_NE(make_error_code(errc::batch_too_large).message().find("jobs"), std::string::npos);
}

TEST(Error, DrsErrorCodes) {
  const std::vector<std::pair<errc, std::string_view>> codes{
      {errc::task_not_found, "DRS.M05003"},       {errc::task_deleted, "DRS.M05004"},
      {errc::invalid_state, "DRS.M00304"},        {errc::parent_task_forbidden, "DRS.M00307"},
      {errc::child_task_forbidden, "DRS.M00308"}, {errc::empty_batch, "DRS.M00201"},
      {errc::batch_too_large, "DRS.M00202"},      {errc::invalid_task_spec, "DRS.M00202"},
      {errc::not_a_worker_event, "DRS.M00202"},   {errc::duplicate_job_id, "DRS.M00301"},
      {errc::task_exists, "DRS.M00301"},          {errc::would_deadlock, "DRS.M00004"},
  };
  ASSERT_EQ(codes.size(), all_errcs().size());
  for (const auto& [e, code] : codes) {
    EXPECT_EQ(drs_error_code(e), code) << make_error_code(e).message();
  }
}

TEST(Error, SuccessHasNoDrsErrorCode) {
  EXPECT_EQ(drs_error_code(error_code()), "");
  EXPECT_TRUE(drs_error_code(error_code()).empty());
}

TEST(Error, ForeignErrorsAreServiceAbnormal) {
  EXPECT_EQ(drs_error_code(boost::asio::error::operation_aborted), "DRS.M00004");
  EXPECT_EQ(drs_error_code(make_error_code(boost::system::errc::io_error)), "DRS.M00004");
  // Same numeric value as errc::task_not_found, but another category.
  EXPECT_EQ(drs_error_code(error_code(1, boost::system::generic_category())), "DRS.M00004");
  EXPECT_EQ(drs_error_code(error_code(999, error_category())), "DRS.M00004");
}

TEST(Error, SystemErrorCarriesTheCode) {
  try {
    throw boost::system::system_error(errc::task_deleted);
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), errc::task_deleted);
    EXPECT_NE(std::string(e.what()).find("deleted"), std::string::npos);
  }
}

}  // namespace
}  // namespace taskorch
