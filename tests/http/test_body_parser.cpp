#include <taskorch/http/body_parser.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace {

using taskorch::http::body_limits;
using taskorch::http::body_parser;
using taskorch::http::request_error;

constexpr std::string_view seed_id = "8d0e8e36-a618-490d-8a46-8c61ac9jb502";
constexpr std::string_view other_id = "140b5236-88ad-43c8-811c-1268453jb101";

std::string pause_body(std::string_view items) {
  return std::string(R"({"jobs":[)") + std::string(items) + "]}";
}

/// The error a pause body is refused with: "code|param-bearing English message".
std::string pause_error(std::string_view body, body_limits limits = {}) {
  body_parser parser(limits);
  auto result = parser.parse_pause(body);
  if (auto* e = std::get_if<request_error>(&result)) return e->code + "|" + e->en;
  return "accepted";
}

TEST(BodyParser, AcceptsTheSeedExample) {
  body_parser parser;
  auto result = parser.parse_pause(
      R"({ "jobs" : [ { "job_id" : "8d0e8e36-a618-490d-8a46-8c61ac9jb502", "pause_mode" : "target" } ] })");
  ASSERT_TRUE(std::holds_alternative<std::vector<taskorch::pause_item>>(result));
  const auto& items = std::get<std::vector<taskorch::pause_item>>(result);
  ASSERT_EQ(items.size(), 1U);
  EXPECT_EQ(items[0].id.to_string(), seed_id);
  EXPECT_EQ(items[0].mode, taskorch::pause_mode::target);
}

TEST(BodyParser, KeepsRequestOrderAndModes) {
  body_parser parser;
  auto result = parser.parse_pause(pause_body(
      R"({"job_id":"140b5236-88ad-43c8-811c-1268453jb101","pause_mode":"all","extra":1},)"
      R"({"pause_mode":"target","job_id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502"})"));
  const auto& items = std::get<std::vector<taskorch::pause_item>>(result);
  ASSERT_EQ(items.size(), 2U);
  EXPECT_EQ(items[0].id.to_string(), other_id);
  EXPECT_EQ(items[0].mode, taskorch::pause_mode::all);
  EXPECT_EQ(items[1].id.to_string(), seed_id);
}

TEST(BodyParser, RefusesWhatIsNotAJsonObject) {
  for (std::string_view body : {"", "not json", "[]", "42", "\"jobs\"", "null", "{\"jobs\":[}",
                                R"({"jobs":[{"job_id":"x","pause_mode":"all"}])"}) {
    EXPECT_EQ(pause_error(body),
              "DRS.M00200|Parameter error: the request body is not a valid JSON object.")
        << body;
  }
}

TEST(BodyParser, RefusesARepeatedKeyAnywhere) {
  EXPECT_EQ(pause_error(R"({"jobs":[],"jobs":[]})").substr(0, 10), "DRS.M00200");
  EXPECT_EQ(
      pause_error(
          pause_body(
              R"({"job_id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502","job_id":"x","pause_mode":"all"})"))
          .substr(0, 10),
      "DRS.M00200");
  EXPECT_EQ(pause_error(R"({"jobs":[],"x":{"a":1,"\u0061":2}})").substr(0, 10), "DRS.M00200");
}

TEST(BodyParser, RefusesTooDeepBodiesNamingTheField) {
  const auto nested = [](int levels) {
    return R"({"jobs":[],"x":)" + std::string(levels, '[') + std::string(levels, ']') + "}";
  };
  // The body's own object is level 1: 7 arrays inside it make 8 levels, the limit.
  EXPECT_EQ(pause_error(nested(7)), "DRS.M00201|The parameter jobs is empty.");
  EXPECT_EQ(pause_error(nested(8)),
            "DRS.M00202|The value of parameter x is invalid: nested deeper than 8 levels.");
  EXPECT_EQ(pause_error(nested(20)),
            "DRS.M00202|The value of parameter x is invalid: nested deeper than 8 levels.");
  // Found while reading: what follows is not looked at.
  EXPECT_EQ(pause_error(R"({"jobs":[[[[[[[[[ not json)"),
            "DRS.M00202|The value of parameter jobs is invalid: nested deeper than 8 levels.");
  // A document that is not an object is not JSON for this API, however deep.
  EXPECT_EQ(pause_error(std::string(100, '[') + std::string(100, ']')).substr(0, 10), "DRS.M00200");
}

TEST(BodyParser, RefusesMissingOrEmptyJobs) {
  for (std::string_view body :
       {"{}", R"({"jobs":null})", R"({"jobs":[]})", R"({"jobs":{}})", R"({"jobs":"x"})"}) {
    EXPECT_EQ(pause_error(body), "DRS.M00201|The parameter jobs is empty.") << body;
  }
}

TEST(BodyParser, ChecksTheItemLimitBeforeTheItems) {
  std::string items;
  for (int i = 0; i < 3; ++i) items += std::string(i ? "," : "") + "{}";
  EXPECT_EQ(pause_error(pause_body(items), {.max_jobs = 2}),
            "DRS.M00202|The value of parameter jobs is invalid: at most 2 jobs per request.");
  EXPECT_EQ(pause_error(pause_body(items), {.max_jobs = 3}).substr(0, 10), "DRS.M00201");
}

TEST(BodyParser, RefusesEmptyItemsAndFields) {
  EXPECT_EQ(pause_error(pause_body("{}")), "DRS.M00201|The parameter job_id is empty.");
  EXPECT_EQ(pause_error(pause_body("5")), "DRS.M00201|The parameter jobs is empty.");
  EXPECT_EQ(pause_error(pause_body("null")), "DRS.M00201|The parameter jobs is empty.");
  EXPECT_EQ(pause_error(pause_body(R"({"job_id":null,"pause_mode":"all"})")),
            "DRS.M00201|The parameter job_id is empty.");
  EXPECT_EQ(pause_error(pause_body(R"({"job_id":"","pause_mode":"all"})")),
            "DRS.M00201|The parameter job_id is empty.");
  EXPECT_EQ(pause_error(pause_body(R"({"job_id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502"})")),
            "DRS.M00201|The parameter pause_mode is empty.");
  EXPECT_EQ(pause_error(
                pause_body(R"({"job_id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502","pause_mode":""})")),
            "DRS.M00201|The parameter pause_mode is empty.");
}

TEST(BodyParser, ChecksEmptinessOfAllFieldsBeforeValues) {
  // A bad job_id and an empty pause_mode in one item: the empty field decides.
  EXPECT_EQ(pause_error(pause_body(R"({"job_id":"BAD","pause_mode":null})")),
            "DRS.M00201|The parameter pause_mode is empty.");
}

TEST(BodyParser, RefusesWrongValues) {
  EXPECT_EQ(pause_error(pause_body(
                R"({"job_id":"8D0E8E36-A618-490D-8A46-8C61AC9JB502","pause_mode":"all"})")),
            "DRS.M00202|The value of parameter job_id is invalid.");
  EXPECT_EQ(pause_error(pause_body(R"({"job_id":42,"pause_mode":"all"})")),
            "DRS.M00202|The value of parameter job_id is invalid.");
  EXPECT_EQ(pause_error(pause_body(
                R"({"job_id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502","pause_mode":"ALL"})")),
            "DRS.M00202|The value of parameter pause_mode is invalid.");
  EXPECT_EQ(pause_error(
                pause_body(R"({"job_id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502","pause_mode":1})")),
            "DRS.M00202|The value of parameter pause_mode is invalid.");
}

TEST(BodyParser, CatchesADuplicateAtItsSecondOccurrence) {
  const std::string item =
      R"({"job_id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502","pause_mode":"all"})";
  EXPECT_EQ(pause_error(pause_body(item + "," + item)),
            "DRS.M00301|There are duplicate job_id in request.");
  // Items are checked in request order: the duplicate comes before a later bad item.
  EXPECT_EQ(pause_error(pause_body(item + "," + item + ",{}")).substr(0, 10), "DRS.M00301");
  // ...and an earlier bad item comes before the duplicate.
  EXPECT_EQ(pause_error(pause_body(item + ",{}," + item)).substr(0, 10), "DRS.M00201");
}

TEST(BodyParser, ParsesRetryItems) {
  body_parser parser;
  auto ok = parser.parse_retry(
      R"({"jobs":[{"job_id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502","is_sync_re_edit":true},)"
      R"({"job_id":"140b5236-88ad-43c8-811c-1268453jb101","is_sync_re_edit":null}]})");
  ASSERT_TRUE(std::holds_alternative<std::vector<taskorch::job_id>>(ok));
  EXPECT_EQ(std::get<std::vector<taskorch::job_id>>(ok).size(), 2U);
  auto bad = parser.parse_retry(
      R"({"jobs":[{"job_id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502","is_sync_re_edit":"yes"}]})");
  ASSERT_TRUE(std::holds_alternative<request_error>(bad));
  EXPECT_EQ(std::get<request_error>(bad).en, "The value of parameter is_sync_re_edit is invalid.");
  auto empty = parser.parse_retry(R"({"jobs":[{}]})");
  EXPECT_EQ(std::get<request_error>(empty).code, "DRS.M00201");
}

TEST(BodyParser, ParsesStatusQueriesAndPages) {
  body_parser parser;
  auto ok = parser.parse_status(
      R"({"jobs":["8d0e8e36-a618-490d-8a46-8c61ac9jb502"],"page_req":{"cur_page":2,"per_page":10}})");
  ASSERT_TRUE(std::holds_alternative<taskorch::http::status_query>(ok));
  const auto& q = std::get<taskorch::http::status_query>(ok);
  EXPECT_EQ(q.ids.size(), 1U);
  EXPECT_EQ(q.cur_page, 2U);
  EXPECT_EQ(q.per_page, 10U);

  auto code = [&](std::string_view body) {
    auto r = parser.parse_status(body);
    auto* e = std::get_if<request_error>(&r);
    return e ? e->code + "|" + e->en : std::string("accepted");
  };
  EXPECT_EQ(code(R"({"jobs":[null]})"), "DRS.M00201|The parameter jobs is empty.");
  EXPECT_EQ(code(R"({"jobs":[""]})"), "DRS.M00201|The parameter jobs is empty.");
  EXPECT_EQ(code(R"({"jobs":[7]})"), "DRS.M00202|The value of parameter jobs is invalid.");
  EXPECT_EQ(code(R"({"jobs":["nope"]})"), "DRS.M00202|The value of parameter jobs is invalid.");
  EXPECT_EQ(
      code(
          R"({"jobs":["8d0e8e36-a618-490d-8a46-8c61ac9jb502","8d0e8e36-a618-490d-8a46-8c61ac9jb502"]})"),
      "DRS.M00301|There are duplicate jobs in request.");
  EXPECT_EQ(code(R"({"jobs":["8d0e8e36-a618-490d-8a46-8c61ac9jb502"],"page_req":{"cur_page":0}})"),
            "DRS.M00202|The value of parameter cur_page is invalid.");
  EXPECT_EQ(
      code(R"({"jobs":["8d0e8e36-a618-490d-8a46-8c61ac9jb502"],"page_req":{"per_page":101}})"),
      "DRS.M00202|The value of parameter per_page is invalid.");
  EXPECT_EQ(code(R"({"jobs":["8d0e8e36-a618-490d-8a46-8c61ac9jb502"],"page_req":null})"),
            "accepted");
}

TEST(BodyParser, GivesChineseMessages) {
  body_parser parser;
  auto r = parser.parse_pause(R"({"jobs":[]})");
  EXPECT_EQ(std::get<request_error>(r).message(taskorch::http::language::zh_cn), "参数jobs为空。");
  EXPECT_EQ(taskorch::http::parse_language("zh-CN"), taskorch::http::language::zh_cn);
  EXPECT_EQ(taskorch::http::parse_language("fr-fr"), taskorch::http::language::en_us);
  EXPECT_EQ(taskorch::http::parse_language(""), taskorch::http::language::en_us);
}

TEST(BodyParser, IsReusableAcrossBodiesOfGrowingSize) {
  body_parser parser;
  std::string items;
  for (int i = 0; i < 5000; ++i) {
    if (i) items += ',';
    items += R"({"job_id":")" + taskorch::job_id::mint().to_string() + R"(","pause_mode":"all"})";
  }
  auto big = parser.parse_pause(pause_body(items));
  ASSERT_TRUE(std::holds_alternative<std::vector<taskorch::pause_item>>(big));
  EXPECT_EQ(std::get<std::vector<taskorch::pause_item>>(big).size(), 5000U);
  // The depth limit still holds after the parser grew its buffers.
  std::string deep = R"({"jobs":[[[[[[[[[[[[]]]]]]]]]]]]})";
  auto refused = parser.parse_pause(deep);
  EXPECT_EQ(std::get<request_error>(refused).code, "DRS.M00202");
}

// Issue 8, defect 10: the whole body was parsed before the item limit was checked.
TEST(BodyParser, EnforcesTheItemLimitWhileReading) {
  const std::string item =
      R"({"job_id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502","pause_mode":"all"})";
  // Three items against a limit of two, then bytes that are not JSON: the third item is
  // refused as soon as it starts; the rest is never looked at.
  const std::string body = R"({"jobs":[)" + item + "," + item + "," + item + ", not json at all";
  EXPECT_EQ(pause_error(body, {.max_jobs = 2}),
            "DRS.M00202|The value of parameter jobs is invalid: at most 2 jobs per request.");
  // Items that are strings (batch-status) and nested arrays count once each.
  body_parser parser({.max_jobs = 2});
  auto status = parser.parse_status(R"({"jobs":["a",["b",["c"]],"d" garbage)");
  ASSERT_TRUE(std::holds_alternative<request_error>(status));
  EXPECT_EQ(std::get<request_error>(status).en,
            "The value of parameter jobs is invalid: at most 2 jobs per request.");
  // At the limit, the body is parsed as usual.
  EXPECT_EQ(pause_error(R"({"jobs":[)" + item + ",{}]}", {.max_jobs = 2}),
            "DRS.M00201|The parameter job_id is empty.");
}

// Issue 8, defect 10: valid JSON with numbers beyond 64 bits was refused as not JSON.
TEST(BodyParser, NumbersBeyond64BitsAreValidJson) {
  body_parser parser;
  for (std::string_view extra :
       {R"("x":123456789012345678901234567890)", R"("x":-98765432109876543210987)",
        R"("x":[18446744073709551616,1e999,-1e999,1e-999,0.5])", R"("x":{"y":1.0e+400})"}) {
    const std::string body = std::string(R"({"jobs":["8d0e8e36-a618-490d-8a46-8c61ac9jb502"],)") +
                             std::string(extra) + "}";
    auto parsed = parser.parse_status(body);
    EXPECT_TRUE(std::holds_alternative<taskorch::http::status_query>(parsed)) << body;
  }
  for (std::string_view page :
       {R"({"cur_page":1180591620717411303424})", R"({"cur_page":1e999})", R"({"cur_page":2.0})"}) {
    const std::string body =
        std::string(R"({"jobs":["8d0e8e36-a618-490d-8a46-8c61ac9jb502"],"page_req":)") +
        std::string(page) + "}";
    auto parsed = parser.parse_status(body);
    ASSERT_TRUE(std::holds_alternative<request_error>(parsed)) << body;
    EXPECT_EQ(std::get<request_error>(parsed).en, "The value of parameter cur_page is invalid.");
  }
  // Invalid number tokens stay invalid JSON.
  for (std::string_view bad : {R"("x":01)", R"("x":1.)", R"("x":-)", R"("x":1e)", R"("x":.5)"}) {
    const std::string body = std::string(R"({"jobs":["8d0e8e36-a618-490d-8a46-8c61ac9jb502"],)") +
                             std::string(bad) + "}";
    auto parsed = parser.parse_status(body);
    ASSERT_TRUE(std::holds_alternative<request_error>(parsed)) << body;
    EXPECT_EQ(std::get<request_error>(parsed).code, "DRS.M00200") << body;
  }
}

// Issue 8, defect 10: a huge body left its buffers allocated for good.
TEST(BodyParser, GivesBackTheBuffersOfALargeBody) {
  body_parser parser({.keep_bytes = 1 << 20});
  const std::size_t small = parser.capacity();
  const std::string huge = R"({"jobs":["8d0e8e36-a618-490d-8a46-8c61ac9jb502"],"pad":")" +
                           std::string(8 << 20, 'p') + R"("})";
  EXPECT_TRUE(std::holds_alternative<taskorch::http::status_query>(parser.parse_status(huge)));
  EXPECT_LE(parser.capacity(), std::max<std::size_t>(small, 1 << 20) * 2);
  // ...also when the body is refused.
  EXPECT_TRUE(std::holds_alternative<request_error>(parser.parse_pause(huge)));
  EXPECT_LE(parser.capacity(), std::max<std::size_t>(small, 1 << 20) * 2);
}

}  // namespace
