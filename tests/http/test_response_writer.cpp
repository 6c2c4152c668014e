#include <taskorch/http/response_writer.hpp>

#include <gtest/gtest.h>

namespace {

using namespace taskorch;
using taskorch::http::language;

const job_id seed = *job_id::parse("8d0e8e36-a618-490d-8a46-8c61ac9jb502");
const job_id other = *job_id::parse("140b5236-88ad-43c8-811c-1268453jb101");

TEST(ResponseWriter, WritesTheSeedExampleResponse) {
  std::string out;
  http::write_batch_response(out, {{seed, {}}}, language::en_us);
  EXPECT_EQ(
      out,
      R"({"results":[{"id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502","status":"success"}],"count":1})");
}

TEST(ResponseWriter, AddsErrorFieldsOnlyToFailedItems) {
  std::string out;
  http::write_batch_response(out, {{other, errc::task_not_found}, {seed, {}}}, language::en_us);
  EXPECT_EQ(out, R"({"results":[{"id":"140b5236-88ad-43c8-811c-1268453jb101","status":"failed",)"
                 R"("error_code":"DRS.M05003","error_msg":"Task information not found."},)"
                 R"({"id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502","status":"success"}],"count":2})");
}

TEST(ResponseWriter, TranslatesItemMessages) {
  EXPECT_EQ(http::item_message(errc::parent_task_forbidden, language::zh_cn),
            "只有子任务可以调用该接口。");
  EXPECT_EQ(http::item_message(errc::invalid_state, language::en_us),
            "This API cannot be called in the current task status.");
  EXPECT_EQ(http::item_message(errc::task_deleted, language::en_us),
            "The task has been deleted or the resource has been released.");
}

TEST(ResponseWriter, WritesStatusItemsWithErrorMessage) {
  std::string out;
  std::vector<status_result> statuses{{seed, {}, task_state::paused},
                                      {other, errc::task_not_found, task_state::configuration}};
  http::write_status_response(out, statuses, 1, 0, language::en_us);
  EXPECT_EQ(out, R"({"results":[{"id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502","status":"PAUSING"},)"
                 R"({"id":"140b5236-88ad-43c8-811c-1268453jb101","error_code":"DRS.M05003",)"
                 R"("error_message":"Task information not found."}],"count":2})");
}

TEST(ResponseWriter, PagesStatusResults) {
  std::vector<status_result> statuses;
  for (int i = 0; i < 5; ++i) statuses.push_back({job_id::mint(), {}, task_state::stopped});
  auto ids_in = [&](std::size_t page, std::size_t per_page) {
    std::string out;
    http::write_status_response(out, statuses, page, per_page, language::en_us);
    std::size_t n = 0;
    for (std::size_t at = out.find("\"id\""); at != std::string::npos;
         at = out.find("\"id\"", at + 1))
      ++n;
    EXPECT_NE(out.find("\"count\":5}"), std::string::npos) << out;
    return n;
  };
  EXPECT_EQ(ids_in(1, 0), 5U);
  EXPECT_EQ(ids_in(1, 2), 2U);
  EXPECT_EQ(ids_in(3, 2), 1U);
  EXPECT_EQ(ids_in(4, 2), 0U);
  EXPECT_EQ(ids_in(std::size_t(1) << 62, 100), 0U);
}

TEST(ResponseWriter, EscapesStrings) {
  std::string out;
  http::write_error(out, "APIGW.0301", "a \"quoted\"\\ line\n\x01");
  EXPECT_EQ(out, R"({"error_code":"APIGW.0301","error_msg":"a \"quoted\"\\ line\n\u0001"})");
}

}  // namespace
