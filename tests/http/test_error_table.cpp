#include <taskorch/http/error_table.hpp>

#include <boost/asio/error.hpp>
#include <boost/system/errc.hpp>
#include <gtest/gtest.h>

#include <string_view>
#include <utility>
#include <vector>

namespace taskorch::http {
namespace {

TEST(ErrorTable, DrsCodesOfEngineErrors) {
  // Written from the DRS error codes, not read from the table.
  const std::vector<std::pair<errc, std::string_view>> codes{
      {errc::task_not_found, "DRS.M05003"},       {errc::task_deleted, "DRS.M05004"},
      {errc::invalid_state, "DRS.M00304"},        {errc::parent_task_forbidden, "DRS.M00307"},
      {errc::child_task_forbidden, "DRS.M00308"}, {errc::empty_batch, "DRS.M00201"},
      {errc::batch_too_large, "DRS.M00202"},      {errc::invalid_task_spec, "DRS.M00202"},
      {errc::not_a_worker_event, "DRS.M00202"},   {errc::duplicate_job_id, "DRS.M00301"},
      {errc::task_exists, "DRS.M00301"},          {errc::would_deadlock, "DRS.M00004"},
      {errc::invalid_item, "DRS.M00202"},
  };
  ASSERT_EQ(codes.size(), errc_table.size());
  for (const auto& [e, code] : codes) {
    EXPECT_EQ(drs_error_code(e), code) << make_error_code(e).message();
  }
}

TEST(ErrorTable, MessagesUseTheDrsWording) {
  EXPECT_EQ(describe(errc::task_not_found).en, "Task information not found.");
  EXPECT_EQ(describe(errc::task_not_found).zh, "任务信息未找到。");
  EXPECT_EQ(describe(errc::parent_task_forbidden).en, "Only subtasks can invoke this interface.");
  EXPECT_EQ(describe(errc::invalid_state).en,
            "This API cannot be called in the current task status.");
  for (const engine_error_row& row : engine_error_table) {
    EXPECT_FALSE(row.wire.en.empty());
    EXPECT_FALSE(row.wire.zh.empty());
  }
}

TEST(ErrorTable, SuccessHasNoDrsErrorCode) { EXPECT_TRUE(drs_error_code(error_code()).empty()); }

TEST(ErrorTable, ForeignErrorsAreServiceAbnormal) {
  EXPECT_EQ(drs_error_code(boost::asio::error::operation_aborted), "DRS.M00004");
  EXPECT_EQ(drs_error_code(make_error_code(boost::system::errc::io_error)), "DRS.M00004");
  // Same numeric value as errc::task_not_found, but another category.
  EXPECT_EQ(drs_error_code(error_code(1, boost::system::generic_category())), "DRS.M00004");
  EXPECT_EQ(drs_error_code(error_code(999, error_category())), "DRS.M00004");
  EXPECT_EQ(describe(boost::asio::error::operation_aborted).status, 500U);
}

}  // namespace
}  // namespace taskorch::http
