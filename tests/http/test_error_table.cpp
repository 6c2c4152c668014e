#include <taskorch/http/endpoint.hpp>
#include <taskorch/http/error_table.hpp>
#include <taskorch/http/request_error.hpp>

#include <boost/asio/error.hpp>
#include <boost/system/errc.hpp>
#include <gtest/gtest.h>

#include <string>
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
      {errc::invalid_item, "DRS.M00202"},         {errc::journal_failed, "TASKORCH.0507"},
  };
  ASSERT_EQ(codes.size(), errc_table.size());
  for (const auto& [e, code] : codes) {
    EXPECT_EQ(drs_error_code(e), code) << make_error_code(e).message();
  }
}

TEST(ErrorTable, AFailedJournalIsAServiceUnavailable) {
  // A client may retry elsewhere or later: 503, not a 4xx that blames the request.
  EXPECT_EQ(describe(errc::journal_failed).status, 503U);
  EXPECT_FALSE(describe(errc::journal_failed).zh.empty());
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

TEST(ErrorTable, WhatTheEngineDidNotRunIsToBeSentAgain) {
  EXPECT_EQ(drs_error_code(boost::asio::error::operation_aborted), "TASKORCH.0503");
  EXPECT_EQ(describe(boost::asio::error::operation_aborted).status, 503U);
  EXPECT_EQ(&describe(boost::asio::error::operation_aborted),
            &describe(request_errc::not_run).wire);
}

TEST(ErrorTable, ForeignErrorsAreServiceAbnormal) {
  EXPECT_EQ(drs_error_code(make_error_code(boost::system::errc::io_error)), "DRS.M00004");
  // Same numeric value as errc::task_not_found, but another category.
  EXPECT_EQ(drs_error_code(error_code(1, boost::system::generic_category())), "DRS.M00004");
  EXPECT_EQ(drs_error_code(error_code(999, error_category())), "DRS.M00004");
  EXPECT_EQ(describe(make_error_code(boost::system::errc::io_error)).status, 500U);
}

TEST(ErrorTable, RequestErrorsAreFilledFromTheirRow) {
  const request_error empty = request_error::empty("jobs");
  EXPECT_EQ(empty.kind, request_errc::empty_parameter);
  EXPECT_EQ(empty.status, 400U);
  EXPECT_EQ(empty.code, "DRS.M00201");
  EXPECT_EQ(empty.en, "The parameter jobs is empty.");
  EXPECT_EQ(empty.message(language::zh_cn), "参数jobs为空。");
  const request_error deep = request_error::too_deep("x", 8);
  EXPECT_EQ(deep.en, "The value of parameter x is invalid: nested deeper than 8 levels.");
  EXPECT_EQ(deep.zh, "参数x的值无效：嵌套超过8层。");
  EXPECT_EQ(request_error::body_too_large(1024).status, 413U);
  EXPECT_EQ(request_error::header_too_large(8192).en,
            "The request header is too large: at most 8192 bytes.");
  // Every row without arguments can be made with of(), in both languages.
  for (const request_error_row& row : request_error_table) {
    EXPECT_FALSE(row.name.empty());
    EXPECT_FALSE(row.when.empty());
    if (row.arguments != 0) continue;
    const request_error e = request_error::of(row.code);
    EXPECT_EQ(e.status, row.wire.status) << row.name;
    EXPECT_EQ(e.code, row.wire.drs_code) << row.name;
    EXPECT_EQ(e.en, row.wire.en) << row.name;
    EXPECT_EQ(e.zh, row.wire.zh) << row.name;
  }
}

TEST(ErrorTable, TransportErrorsHaveTheirStatus) {
  // Written from the HTTP semantics, not read from the table.
  EXPECT_EQ(describe(request_errc::not_found).wire.status, 404U);
  EXPECT_EQ(describe(request_errc::method_not_allowed).wire.status, 405U);
  EXPECT_EQ(describe(request_errc::token_missing).wire.status, 401U);
  EXPECT_EQ(describe(request_errc::token_repeated).wire.status, 401U);
  EXPECT_EQ(describe(request_errc::project_mismatch).wire.status, 403U);
  EXPECT_EQ(describe(request_errc::body_too_large).wire.status, 413U);
  EXPECT_EQ(describe(request_errc::header_too_large).wire.status, 431U);
  EXPECT_EQ(describe(request_errc::over_capacity).wire.status, 503U);
  EXPECT_EQ(describe(request_errc::bad_transfer_encoding).wire.status, 400U);
  EXPECT_EQ(describe(request_errc::service_abnormal).wire.status, 500U);
}

TEST(Language, OnlyZhCnInAnyCaseIsChinese) {
  EXPECT_EQ(parse_language("zh-cn"), language::zh_cn);
  EXPECT_EQ(parse_language("ZH-CN"), language::zh_cn);
  EXPECT_EQ(parse_language("zh-tw"), language::en_us);
  EXPECT_EQ(parse_language(""), language::en_us);
  EXPECT_EQ(parse_language("zh-cn "), language::en_us);
}

TEST(Endpoint, MatchesTheRouteTable) {
  const route_match pause =
      match_route("/v3/054ba152d480d55b2f5dc0069e7ddef0/jobs/batch-pause-task");
  EXPECT_EQ(pause.id(), endpoint::batch_pause);
  EXPECT_EQ(pause.project, "054ba152d480d55b2f5dc0069e7ddef0");
  EXPECT_EQ(match_route("/v3/x/jobs/batch-status?a=b").id(), endpoint::batch_status);
  EXPECT_EQ(match_route("/metrics?format=text").id(), endpoint::metrics);
  for (std::string_view unknown :
       {"/", "/metrics/", "/v3//jobs/batch-status", "/v3/a/b/jobs/batch-status",
        "/v2/x/jobs/batch-status", "/v3/x/jobs/batch-status/"}) {
    EXPECT_EQ(match_route(unknown).found, nullptr) << unknown;
  }
  const route& metrics = routes[static_cast<std::size_t>(endpoint::metrics)];
  EXPECT_TRUE(allows(routes[0], "POST"));
  EXPECT_FALSE(allows(routes[0], "GET"));
  EXPECT_TRUE(allows(metrics, "GET"));
  EXPECT_TRUE(allows(metrics, "HEAD"));
  EXPECT_FALSE(allows(metrics, "GE"));
  EXPECT_EQ(to_string(endpoint::other), "other");
  EXPECT_EQ(to_string(endpoint::batch_retry), "batch-retry-task");
}

TEST(Endpoint, MatchesTheLifecycleRoutes) {
  // Written from the DRS paths, not read from the table.
  constexpr std::string_view p = "054ba152d480d55b2f5dc0069e7ddef0";
  const std::string base = "/v3/" + std::string(p);
  const struct {
    std::string path;
    endpoint id;
    std::string_view name;
    std::string_view method;
  } cases[] = {
      {base + "/jobs/batch-starting", endpoint::batch_starting, "batch-starting", "POST"},
      {base + "/jobs/batch-jobs", endpoint::batch_jobs, "batch-jobs", "DELETE"},
      {base + "/jobs/batch-detail", endpoint::batch_detail, "batch-detail", "POST"},
      {base + "/jobs/batch-progress", endpoint::batch_progress, "batch-progress", "POST"},
      {base + "/jobs", endpoint::list_jobs, "jobs", "POST"},
      {base + "/jobs?offset=1", endpoint::list_jobs, "jobs", "POST"},
      {base + "/jobs/batch-report", endpoint::batch_report, "batch-report", "POST"},
      {base + "/events", endpoint::events, "events", "GET"},
      {base + "/events?since=3", endpoint::events, "events", "GET"},
  };
  for (const auto& c : cases) {
    const route_match m = match_route(c.path);
    ASSERT_NE(m.found, nullptr) << c.path;
    EXPECT_EQ(m.id(), c.id) << c.path;
    EXPECT_EQ(m.project, p) << c.path;
    EXPECT_EQ(to_string(c.id), c.name);
    EXPECT_EQ(m.found->allow, c.method) << c.path;
  }
  EXPECT_FALSE(allows(*match_route(base + "/jobs/batch-jobs").found, "POST"));
  EXPECT_FALSE(allows(*match_route(base + "/events").found, "POST"));
  // `/jobs` is the list, and only when it ends the path right after the project.
  EXPECT_EQ(match_route(base + "/jobs/batch-status").id(), endpoint::batch_status);
  EXPECT_EQ(match_route("/v3/jobs/jobs").id(), endpoint::list_jobs);  // project "jobs"
  EXPECT_EQ(match_route("/v3/jobs/jobs").project, "jobs");
  for (std::string_view unknown :
       {"/v3//jobs", "/v3/jobs", "/v3/a/b/jobs", "/v3/x/jobs/", "/v3/x/jobs/jobs", "/v3/x/job",
        "/v3/x/jobsx", "/v3/x/events/", "/v3//events", "/v3/x/jobs/events", "/v3/x/jobs/batch",
        "/v3/x/jobs/batch-report/x", "/v2/x/jobs"}) {
    EXPECT_EQ(match_route(unknown).found, nullptr) << unknown;
  }
}

}  // namespace
}  // namespace taskorch::http
