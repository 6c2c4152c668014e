#include <taskorch/http/body_parser.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace taskorch {
/// Figures in a failed expectation's message.
inline void PrintTo(const transfer_figures& f, std::ostream* os) {
  *os << "{progress " << int(f.progress) << ", incre_trans_delay " << f.incre_trans_delay.count()
      << " ms}";
}
}  // namespace taskorch

namespace {

using taskorch::http::body_limits;
using taskorch::http::body_parser;
using taskorch::http::request_error;

constexpr std::string_view seed_id = "8d0e8e36-a618-490d-8a46-8c61ac9jb502";
constexpr std::string_view other_id = "140b5236-88ad-43c8-811c-1268453jb101";

std::string pause_body(std::string_view items) {
  return std::string(R"({"jobs":[)") + std::string(items) + "]}";
}

/// The error a body is refused with by one of the parser's functions: "code|param-bearing
/// English message", or "accepted".
template <class Result>
std::string error_of(Result (body_parser::*parse)(std::string_view), std::string_view body,
                     body_limits limits = {}) {
  body_parser parser(limits);
  auto result = (parser.*parse)(body);
  if (auto* e = std::get_if<request_error>(&result)) return e->code + "|" + e->en;
  return "accepted";
}

/// The error a pause body is refused with.
std::string pause_error(std::string_view body, body_limits limits = {}) {
  return error_of(&body_parser::parse_pause, body, limits);
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

// ---- batch-starting ----------------------------------------------------------------------

std::string start_error(std::string_view body, body_limits limits = {}) {
  return error_of(&body_parser::parse_starting, body, limits);
}

/// A batch-starting body of one item with the seed id and `start_time` written as `value`.
std::string start_body(std::string_view value) {
  return pause_body(std::string(R"({"job_id":")") + std::string(seed_id) + R"(","start_time":)" +
                    std::string(value) + "}");
}

std::optional<taskorch::wall_time> parsed_start_time(std::string_view value) {
  body_parser parser;
  auto result = parser.parse_starting(start_body(value));
  const auto& items = std::get<std::vector<taskorch::start_item>>(result);
  EXPECT_EQ(items.size(), 1U);
  EXPECT_EQ(items[0].id.to_string(), seed_id);
  return items[0].start_time;
}

taskorch::wall_time at_ms(std::int64_t ms) {
  return taskorch::wall_time(std::chrono::milliseconds(ms));
}

TEST(BodyParserStarting, ParsesItemsInRequestOrder) {
  body_parser parser;
  auto result = parser.parse_starting(
      R"({"jobs":[{"job_id":"140b5236-88ad-43c8-811c-1268453jb101","start_time":"1700000000000"},)"
      R"({"job_id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502","extra":[1,2]}],"more":{}})");
  ASSERT_TRUE(std::holds_alternative<std::vector<taskorch::start_item>>(result));
  const auto& items = std::get<std::vector<taskorch::start_item>>(result);
  ASSERT_EQ(items.size(), 2U);
  EXPECT_EQ(items[0].id.to_string(), other_id);
  EXPECT_EQ(items[0].start_time, at_ms(1700000000000));
  EXPECT_EQ(items[1].id.to_string(), seed_id);
  EXPECT_FALSE(items[1].start_time.has_value());
}

TEST(BodyParserStarting, TakesStartTimeAsStringOrInteger) {
  EXPECT_EQ(parsed_start_time(R"("1700000000000")"), at_ms(1700000000000));
  EXPECT_EQ(parsed_start_time("1700000000000"), at_ms(1700000000000));
  EXPECT_EQ(parsed_start_time(R"("0")"), at_ms(0));
  EXPECT_EQ(parsed_start_time("0"), at_ms(0));
  EXPECT_EQ(parsed_start_time(R"("000042")"), at_ms(42));
  EXPECT_EQ(parsed_start_time(R"("9223372036854775807")"), at_ms(INT64_MAX));
  EXPECT_EQ(parsed_start_time("9223372036854775807"), at_ms(INT64_MAX));
}

TEST(BodyParserStarting, NullOrEmptyStartTimeMeansNow) {
  EXPECT_FALSE(parsed_start_time("null").has_value());
  EXPECT_FALSE(parsed_start_time(R"("")").has_value());
}

TEST(BodyParserStarting, RefusesEveryOtherStartTime) {
  for (std::string_view value : {"-1",
                                 "1.5",
                                 "1e3",
                                 "1.0",
                                 R"("12a")",
                                 R"("-1")",
                                 R"("+1")",
                                 R"(" 1")",
                                 R"("1 ")",
                                 R"("1.5")",
                                 R"("0x10")",
                                 R"("1e3")",
                                 "18446744073709551616",
                                 R"("18446744073709551616")",
                                 "9223372036854775808",
                                 R"("9223372036854775808")",
                                 "18446744073709551615",
                                 "123456789012345678901234567890",
                                 "true",
                                 "false",
                                 "[]",
                                 R"(["1"])",
                                 "{}"}) {
    EXPECT_EQ(start_error(start_body(value)),
              "DRS.M00202|The value of parameter start_time is invalid.")
        << value;
  }
}

TEST(BodyParserStarting, RefusesMissingOrBadJobIds) {
  for (std::string_view item :
       {"{}", R"({"job_id":null})", R"({"job_id":""})", R"({"start_time":"1700000000000"})"}) {
    EXPECT_EQ(start_error(pause_body(item)), "DRS.M00201|The parameter job_id is empty.") << item;
  }
  for (std::string_view item : {"5", "null", R"("8d0e8e36-a618-490d-8a46-8c61ac9jb502")"}) {
    EXPECT_EQ(start_error(pause_body(item)), "DRS.M00201|The parameter jobs is empty.") << item;
  }
  EXPECT_EQ(start_error(R"({"jobs":[]})"), "DRS.M00201|The parameter jobs is empty.");
  EXPECT_EQ(start_error(R"({"jobs":null})"), "DRS.M00201|The parameter jobs is empty.");
  EXPECT_EQ(start_error(pause_body(R"({"job_id":"nope"})")),
            "DRS.M00202|The value of parameter job_id is invalid.");
  EXPECT_EQ(start_error(pause_body(R"({"job_id":7})")),
            "DRS.M00202|The value of parameter job_id is invalid.");
}

TEST(BodyParserStarting, ChecksAnItemsFieldsInOrder) {
  // An empty job_id before a bad start_time; a bad job_id before a bad start_time.
  EXPECT_EQ(start_error(pause_body(R"({"job_id":"","start_time":"12a"})")),
            "DRS.M00201|The parameter job_id is empty.");
  EXPECT_EQ(start_error(pause_body(R"({"start_time":-1,"job_id":"BAD"})")),
            "DRS.M00202|The value of parameter job_id is invalid.");
}

TEST(BodyParserStarting, CatchesADuplicateInRequestOrder) {
  const std::string item =
      R"({"job_id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502","start_time":"1700000000000"})";
  const std::string same_id_now = R"({"job_id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502"})";
  const std::string bad_time =
      R"({"job_id":"140b5236-88ad-43c8-811c-1268453jb101","start_time":"soon"})";
  EXPECT_EQ(start_error(pause_body(item + "," + same_id_now)),
            "DRS.M00301|There are duplicate job_id in request.");
  // A duplicate whose own start_time is bad: the item's value checks come first.
  EXPECT_EQ(start_error(pause_body(
                item + R"(,{"job_id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502","start_time":1.5})")),
            "DRS.M00202|The value of parameter start_time is invalid.");
  EXPECT_EQ(start_error(pause_body(item + "," + same_id_now + "," + bad_time)).substr(0, 10),
            "DRS.M00301");
  EXPECT_EQ(start_error(pause_body(item + "," + bad_time + "," + same_id_now)),
            "DRS.M00202|The value of parameter start_time is invalid.");
}

TEST(BodyParserStarting, KeepsTheLimits) {
  const std::string item = R"({"job_id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502"})";
  EXPECT_EQ(
      start_error(R"({"jobs":[)" + item + "," + item + "," + item + ", not json", {.max_jobs = 2}),
      "DRS.M00202|The value of parameter jobs is invalid: at most 2 jobs per request.");
  EXPECT_EQ(start_error(pause_body(R"({"job_id":"x","start_time":[[[[[[[]]]]]]]})")),
            "DRS.M00202|The value of parameter jobs is invalid: nested deeper than 8 levels.");
  EXPECT_EQ(start_error(R"({"jobs":[],"jobs":[]})").substr(0, 10), "DRS.M00200");
  EXPECT_EQ(start_error("").substr(0, 10), "DRS.M00200");
}

// ---- batch-jobs (DELETE) -----------------------------------------------------------------

std::string delete_error(std::string_view body, body_limits limits = {}) {
  return error_of(&body_parser::parse_delete, body, limits);
}

/// A delete body of one item with the seed id and `delete_type` written as `value`.
std::string delete_body(std::string_view value) {
  return pause_body(std::string(R"({"job_id":")") + std::string(seed_id) + R"(","delete_type":)" +
                    std::string(value) + "}");
}

TEST(BodyParserDelete, ParsesEveryDeleteType) {
  const std::array<std::pair<std::string_view, taskorch::delete_type>, 3> cases{
      {{R"("terminate")", taskorch::delete_type::terminate},
       {R"("force_terminate")", taskorch::delete_type::force_terminate},
       {R"("delete")", taskorch::delete_type::remove}}};
  for (const auto& [value, type] : cases) {
    body_parser parser;
    auto result = parser.parse_delete(delete_body(value));
    ASSERT_TRUE(std::holds_alternative<std::vector<taskorch::delete_item>>(result)) << value;
    const auto& items = std::get<std::vector<taskorch::delete_item>>(result);
    ASSERT_EQ(items.size(), 1U);
    EXPECT_EQ(items[0].id.to_string(), seed_id);
    EXPECT_EQ(items[0].type, type) << value;
  }
}

TEST(BodyParserDelete, KeepsRequestOrder) {
  body_parser parser;
  auto result = parser.parse_delete(
      R"({"jobs":[{"job_id":"140b5236-88ad-43c8-811c-1268453jb101","delete_type":"delete"},)"
      R"({"delete_type":"force_terminate","job_id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502","x":1}]})");
  const auto& items = std::get<std::vector<taskorch::delete_item>>(result);
  ASSERT_EQ(items.size(), 2U);
  EXPECT_EQ(items[0].id.to_string(), other_id);
  EXPECT_EQ(items[0].type, taskorch::delete_type::remove);
  EXPECT_EQ(items[1].id.to_string(), seed_id);
  EXPECT_EQ(items[1].type, taskorch::delete_type::force_terminate);
}

TEST(BodyParserDelete, RefusesEmptyFieldsBeforeWrongValues) {
  EXPECT_EQ(delete_error(pause_body("{}")), "DRS.M00201|The parameter job_id is empty.");
  EXPECT_EQ(delete_error(pause_body("[]")), "DRS.M00201|The parameter jobs is empty.");
  EXPECT_EQ(delete_error(pause_body(R"({"job_id":null,"delete_type":"delete"})")),
            "DRS.M00201|The parameter job_id is empty.");
  EXPECT_EQ(delete_error(pause_body(R"({"job_id":"","delete_type":""})")),
            "DRS.M00201|The parameter job_id is empty.");
  for (std::string_view missing : {"null", R"("")"}) {
    EXPECT_EQ(delete_error(delete_body(missing)), "DRS.M00201|The parameter delete_type is empty.")
        << missing;
  }
  EXPECT_EQ(delete_error(pause_body(R"({"job_id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502"})")),
            "DRS.M00201|The parameter delete_type is empty.");
  // A bad job_id and an empty delete_type: the empty field decides.
  EXPECT_EQ(delete_error(pause_body(R"({"job_id":"BAD","delete_type":null})")),
            "DRS.M00201|The parameter delete_type is empty.");
  // Two wrong values: job_id is checked first.
  EXPECT_EQ(delete_error(pause_body(R"({"delete_type":"remove","job_id":"BAD"})")),
            "DRS.M00202|The value of parameter job_id is invalid.");
}

TEST(BodyParserDelete, RefusesOtherDeleteTypes) {
  for (std::string_view value : {R"("remove")", R"("Terminate")", R"("DELETE")", R"(" delete")",
                                 R"("force-terminate")", "1", "true", "[]", R"(["delete"])"}) {
    EXPECT_EQ(delete_error(delete_body(value)),
              "DRS.M00202|The value of parameter delete_type is invalid.")
        << value;
  }
}

TEST(BodyParserDelete, CatchesADuplicateInRequestOrder) {
  const std::string terminate =
      R"({"job_id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502","delete_type":"terminate"})";
  const std::string remove =
      R"({"job_id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502","delete_type":"delete"})";
  EXPECT_EQ(delete_error(pause_body(terminate + "," + remove)),
            "DRS.M00301|There are duplicate job_id in request.");
  EXPECT_EQ(delete_error(pause_body(terminate + "," + remove + ",{}")).substr(0, 10), "DRS.M00301");
  EXPECT_EQ(delete_error(pause_body(terminate + ",{}," + remove)),
            "DRS.M00201|The parameter job_id is empty.");
}

TEST(BodyParserDelete, KeepsTheLimits) {
  EXPECT_EQ(delete_error(pause_body("{},{},{}"), {.max_jobs = 2}),
            "DRS.M00202|The value of parameter jobs is invalid: at most 2 jobs per request.");
  EXPECT_EQ(delete_error(R"({"jobs":[],"x":[[[[[[[[]]]]]]]]})"),
            "DRS.M00202|The value of parameter x is invalid: nested deeper than 8 levels.");
  EXPECT_EQ(delete_error(R"({"jobs":[{"job_id":"a","job_id":"b"}]})").substr(0, 10), "DRS.M00200");
}

// ---- batch-report -------------------------------------------------------------------------

std::string report_error(std::string_view body, body_limits limits = {}) {
  return error_of(&body_parser::parse_report, body, limits);
}

/// A batch-report body of one item with the seed id and `fields` (written after it).
std::string report_body(std::string_view fields) {
  return pause_body(std::string(R"({"job_id":")") + std::string(seed_id) + "\"," +
                    std::string(fields) + "}");
}

/// The one item of an accepted batch-report body.
taskorch::report_item parsed_report(std::string_view body) {
  body_parser parser;
  auto result = parser.parse_report(body);
  if (auto* e = std::get_if<request_error>(&result)) {
    ADD_FAILURE() << body << ": " << e->code << " " << e->en;
    return {};
  }
  const auto& items = std::get<std::vector<taskorch::report_item>>(result);
  EXPECT_EQ(items.size(), 1U) << body;
  if (items.empty()) return {};
  EXPECT_EQ(items[0].id.to_string(), seed_id) << body;
  return items[0];
}

taskorch::transfer_figures figures(std::uint8_t progress, std::int64_t delay_seconds) {
  return {progress, std::chrono::seconds(delay_seconds)};
}

/// The figures of a figures-only report whose `field` is written as `value`.
std::optional<taskorch::transfer_figures> figures_of(std::string_view field,
                                                     std::string_view value) {
  const taskorch::report_item item = parsed_report(report_body(
      std::string(R"("event":"progress",")") + std::string(field) + "\":" + std::string(value)));
  EXPECT_FALSE(item.event.has_value());
  return item.figures;
}

TEST(BodyParserReport, AcceptsEveryWorkerEvent) {
  std::size_t worker_events = 0;
  for (taskorch::task_event e : taskorch::all_task_events) {
    if (!taskorch::is_worker_event(e)) continue;
    ++worker_events;
    const std::string value = std::string(taskorch::to_string(e));
    const taskorch::report_item item =
        parsed_report(report_body(std::string(R"("event":")") + value + "\""));
    EXPECT_EQ(item.event, e) << value;
    EXPECT_FALSE(item.figures.has_value()) << value;
  }
  EXPECT_EQ(worker_events, 7U);
  for (std::string_view name : {"start_succeeded", "start_failed", "full_transfer_done",
                                "incremental_started", "transfer_failed", "stopped", "confirmed"}) {
    EXPECT_EQ(report_error(report_body(std::string(R"("event":")") + std::string(name) + "\"")),
              "accepted")
        << name;
  }
}

TEST(BodyParserReport, RefusesEveryOtherEvent) {
  for (taskorch::task_event e : taskorch::all_task_events) {
    if (taskorch::is_worker_event(e)) continue;
    const std::string value = std::string(taskorch::to_string(e));
    EXPECT_EQ(report_error(report_body(std::string(R"("event":")") + value + "\"")),
              "DRS.M00202|The value of parameter event is invalid.")
        << value;
  }
  for (std::string_view value :
       {R"("pause")", R"("resume")", R"("start")", R"("start_due")", R"("confirm")", R"("PAUSE")",
        R"("Stopped")", R"("stopped ")", R"("PROGRESS")", R"("unknown")", "1", "true", "[]",
        R"(["stopped"])", "{}"}) {
    EXPECT_EQ(report_error(report_body(std::string(R"("event":)") + std::string(value))),
              "DRS.M00202|The value of parameter event is invalid.")
        << value;
    // ...with figures as well.
    EXPECT_EQ(
        report_error(report_body(std::string(R"("progress":50,"event":)") + std::string(value))),
        "DRS.M00202|The value of parameter event is invalid.")
        << value;
  }
}

TEST(BodyParserReport, AConfirmationMayNameTheCommandItCarriedOut) {
  const taskorch::report_item named =
      parsed_report(report_body(R"("event":"confirmed","command":"pause")"));
  EXPECT_EQ(named.event, taskorch::task_event::confirm);
  EXPECT_EQ(named.confirms, taskorch::task_event::pause);
  const taskorch::report_item unnamed =
      parsed_report(report_body(R"("event":"confirmed","command":null)"));
  EXPECT_FALSE(unnamed.confirms.has_value());
  for (std::string_view command : {"start", "start_due", "resume", "stop", "force_stop"}) {
    EXPECT_EQ(report_error(report_body(std::string(R"("event":"confirmed","command":")") +
                                       std::string(command) + "\"")),
              "accepted")
        << command;
  }
  // Only a command that awaits a worker, and only with "confirmed".
  for (std::string_view body :
       {R"("event":"confirmed","command":"remove")", R"("event":"confirmed","command":"stopped")",
        R"("event":"confirmed","command":"PAUSE")", R"("event":"confirmed","command":1)",
        R"("event":"confirmed","command":"")", R"("event":"stopped","command":"stop")",
        R"("event":"progress","progress":5,"command":"pause")"}) {
    EXPECT_EQ(report_error(report_body(std::string(body))),
              "DRS.M00202|The value of parameter command is invalid.")
        << body;
  }
}

TEST(BodyParserReport, AConfirmationMayNameTheVersionOfTheChangeThatAskedForIt) {
  EXPECT_EQ(parsed_report(report_body(R"("event":"confirmed","version":7)")).confirms_version, 7U);
  EXPECT_EQ(parsed_report(report_body(R"("event":"confirmed","version":"12")")).confirms_version,
            12U);
  EXPECT_FALSE(
      parsed_report(report_body(R"("event":"confirmed","version":null)")).confirms_version);
  for (std::string_view body :
       {R"("event":"confirmed","version":-1)", R"("event":"confirmed","version":1.5)",
        R"("event":"confirmed","version":"x")", R"("event":"confirmed","version":true)",
        R"("event":"stopped","version":3)"}) {
    EXPECT_EQ(report_error(report_body(std::string(body))),
              "DRS.M00202|The value of parameter version is invalid.")
        << body;
  }
}

TEST(BodyParserReport, ReadsAnEventWithFigures) {
  const taskorch::report_item item = parsed_report(report_body(
      R"("event":"incremental_started","progress":"50","incre_trans_delay":"3","x":[1])"));
  EXPECT_EQ(item.event, taskorch::task_event::incremental_started);
  EXPECT_EQ(item.figures, figures(50, 3));
  EXPECT_EQ(item.figures->incre_trans_delay, std::chrono::milliseconds(3000));
}

TEST(BodyParserReport, ReadsFiguresAlone) {
  taskorch::report_item item =
      parsed_report(report_body(R"("event":"progress","progress":"42","incre_trans_delay":7)"));
  EXPECT_FALSE(item.event.has_value());
  EXPECT_EQ(item.figures, figures(42, 7));
  // One figure: the other is 0, a report replaces both.
  item = parsed_report(report_body(R"("event":"progress","progress":42)"));
  EXPECT_FALSE(item.event.has_value());
  EXPECT_EQ(item.figures, figures(42, 0));
  item =
      parsed_report(report_body(R"("event":"progress","incre_trans_delay":"9","progress":null)"));
  EXPECT_FALSE(item.event.has_value());
  EXPECT_EQ(item.figures, figures(0, 9));
  item = parsed_report(report_body(R"("event":"stopped","incre_trans_delay":0)"));
  EXPECT_EQ(item.event, taskorch::task_event::stopped);
  EXPECT_EQ(item.figures, figures(0, 0));
}

TEST(BodyParserReport, FiguresOnlyNeedsAFigure) {
  for (std::string_view fields : {R"("event":"progress")", R"("event":"progress","progress":null)",
                                  R"("event":"progress","progress":null,"incre_trans_delay":null)",
                                  R"("event":"progress","figures":{"progress":1})"}) {
    EXPECT_EQ(report_error(report_body(fields)), "DRS.M00201|The parameter progress is empty.")
        << fields;
  }
  // "" is a wrong figure, not an absent one.
  EXPECT_EQ(report_error(report_body(R"("event":"progress","progress":"")")),
            "DRS.M00202|The value of parameter progress is invalid.");
  EXPECT_EQ(report_error(report_body(R"("event":"progress","incre_trans_delay":"")")),
            "DRS.M00202|The value of parameter incre_trans_delay is invalid.");
}

TEST(BodyParserReport, TakesFiguresAsStringsOrIntegers) {
  EXPECT_EQ(figures_of("progress", "0"), figures(0, 0));
  EXPECT_EQ(figures_of("progress", R"("0")"), figures(0, 0));
  EXPECT_EQ(figures_of("progress", "100"), figures(100, 0));
  EXPECT_EQ(figures_of("progress", R"("100")"), figures(100, 0));
  EXPECT_EQ(figures_of("progress", R"("050")"), figures(50, 0));
  EXPECT_EQ(figures_of("incre_trans_delay", "0"), figures(0, 0));
  EXPECT_EQ(figures_of("incre_trans_delay", R"("0")"), figures(0, 0));
  EXPECT_EQ(figures_of("incre_trans_delay", "2147483647"), figures(0, 2147483647));
  EXPECT_EQ(figures_of("incre_trans_delay", R"("2147483647")"), figures(0, 2147483647));
  EXPECT_EQ(figures_of("incre_trans_delay", "2147483647")->incre_trans_delay,
            std::chrono::milliseconds(2147483647000));
}

TEST(BodyParserReport, RefusesOtherFigures) {
  for (std::string_view value : {"101",
                                 R"("101")",
                                 "-1",
                                 R"("-1")",
                                 "1.5",
                                 R"("1.5")",
                                 "50.0",
                                 "1e2",
                                 R"("5%")",
                                 R"("")",
                                 R"(" 5")",
                                 R"("+5")",
                                 R"("0x10")",
                                 "true",
                                 "false",
                                 "[]",
                                 R"(["5"])",
                                 "{}",
                                 "18446744073709551616",
                                 R"("18446744073709551616")",
                                 "1e999"}) {
    EXPECT_EQ(report_error(report_body(std::string(R"("event":"progress","progress":)") +
                                       std::string(value))),
              "DRS.M00202|The value of parameter progress is invalid.")
        << value;
    EXPECT_EQ(report_error(report_body(std::string(R"("event":"stopped","progress":)") +
                                       std::string(value))),
              "DRS.M00202|The value of parameter progress is invalid.")
        << value;
  }
  for (std::string_view value :
       {"2147483648", R"("2147483648")", "-1", R"("-1")", "1.5", R"("3s")", R"("")", R"("1 ")",
        "true", "[]", "{}", "9223372036854775808", R"("99999999999999999999")"}) {
    EXPECT_EQ(report_error(report_body(std::string(R"("event":"progress","incre_trans_delay":)") +
                                       std::string(value))),
              "DRS.M00202|The value of parameter incre_trans_delay is invalid.")
        << value;
  }
}

TEST(BodyParserReport, RefusesEmptyFieldsBeforeWrongValues) {
  EXPECT_EQ(report_error(pause_body("{}")), "DRS.M00201|The parameter job_id is empty.");
  EXPECT_EQ(report_error(pause_body("[]")), "DRS.M00201|The parameter jobs is empty.");
  EXPECT_EQ(report_error(R"({"jobs":[]})"), "DRS.M00201|The parameter jobs is empty.");
  for (std::string_view item : {R"({"event":"stopped"})", R"({"job_id":null,"event":"stopped"})",
                                R"({"job_id":"","event":"stopped"})"}) {
    EXPECT_EQ(report_error(pause_body(item)), "DRS.M00201|The parameter job_id is empty.") << item;
  }
  for (std::string_view fields :
       {R"("x":1)", R"("event":null)", R"("event":"")", R"("progress":50,"incre_trans_delay":1)"}) {
    EXPECT_EQ(report_error(report_body(fields)), "DRS.M00201|The parameter event is empty.")
        << fields;
  }
  EXPECT_EQ(report_error(pause_body(R"({"job_id":"nope","event":"stopped"})")),
            "DRS.M00202|The value of parameter job_id is invalid.");
  EXPECT_EQ(report_error(pause_body(R"({"job_id":7,"event":"stopped"})")),
            "DRS.M00202|The value of parameter job_id is invalid.");
}

TEST(BodyParserReport, ChecksAnItemsFieldsInOrder) {
  // Every emptiness check first: job_id, event, then the figures of a figures-only report...
  EXPECT_EQ(report_error(pause_body(R"({"event":"","job_id":"","progress":101})")),
            "DRS.M00201|The parameter job_id is empty.");
  EXPECT_EQ(report_error(pause_body(R"({"progress":101,"event":null,"job_id":"BAD"})")),
            "DRS.M00201|The parameter event is empty.");
  EXPECT_EQ(report_error(pause_body(R"({"event":"progress","job_id":"BAD"})")),
            "DRS.M00201|The parameter progress is empty.");
  // ...then the values: job_id, event, progress, incre_trans_delay, whatever their order.
  EXPECT_EQ(report_error(pause_body(
                R"({"incre_trans_delay":-1,"progress":101,"event":"pause","job_id":"BAD"})")),
            "DRS.M00202|The value of parameter job_id is invalid.");
  EXPECT_EQ(report_error(report_body(R"("incre_trans_delay":-1,"progress":101,"event":"pause")")),
            "DRS.M00202|The value of parameter event is invalid.");
  EXPECT_EQ(report_error(report_body(R"("incre_trans_delay":-1,"progress":101,"event":"stopped")")),
            "DRS.M00202|The value of parameter progress is invalid.");
  EXPECT_EQ(report_error(report_body(R"("incre_trans_delay":-1,"progress":100,"event":"stopped")")),
            "DRS.M00202|The value of parameter incre_trans_delay is invalid.");
}

TEST(BodyParserReport, KeepsRequestOrderAndCatchesADuplicate) {
  body_parser parser;
  auto result = parser.parse_report(
      R"({"jobs":[{"job_id":"140b5236-88ad-43c8-811c-1268453jb101","event":"full_transfer_done"},)"
      R"({"event":"progress","job_id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502","progress":"7"}]})");
  ASSERT_TRUE(std::holds_alternative<std::vector<taskorch::report_item>>(result));
  const auto& items = std::get<std::vector<taskorch::report_item>>(result);
  ASSERT_EQ(items.size(), 2U);
  EXPECT_EQ(items[0].id.to_string(), other_id);
  EXPECT_EQ(items[0].event, taskorch::task_event::full_transfer_done);
  EXPECT_FALSE(items[0].figures.has_value());
  EXPECT_EQ(items[1].id.to_string(), seed_id);
  EXPECT_FALSE(items[1].event.has_value());
  EXPECT_EQ(items[1].figures, figures(7, 0));

  const std::string event =
      R"({"job_id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502","event":"stopped"})";
  const std::string progress =
      R"({"job_id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502","event":"progress","progress":1})";
  EXPECT_EQ(report_error(pause_body(event + "," + progress)),
            "DRS.M00301|There are duplicate job_id in request.");
  // In request order: a duplicate before a later bad item, an earlier bad item before it.
  EXPECT_EQ(report_error(pause_body(event + "," + progress + ",{}")),
            "DRS.M00301|There are duplicate job_id in request.");
  EXPECT_EQ(report_error(pause_body(event + ",{}," + progress)),
            "DRS.M00201|The parameter job_id is empty.");
  // A duplicate is checked after the second item's own fields.
  EXPECT_EQ(report_error(pause_body(
                event + R"(,{"job_id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502","event":"pause"})")),
            "DRS.M00202|The value of parameter event is invalid.");
}

TEST(BodyParserReport, KeepsTheLimits) {
  EXPECT_EQ(report_error(pause_body("{},{},{}"), {.max_jobs = 2}),
            "DRS.M00202|The value of parameter jobs is invalid: at most 2 jobs per request.");
  EXPECT_EQ(report_error(R"({"jobs":[],"x":[[[[[[[[]]]]]]]]})"),
            "DRS.M00202|The value of parameter x is invalid: nested deeper than 8 levels.");
  EXPECT_EQ(report_error(report_body(R"("event":"stopped","event":"stopped")")).substr(0, 10),
            "DRS.M00200");
  EXPECT_EQ(report_error(pause_body("5")), "DRS.M00201|The parameter jobs is empty.");
}

// ---- task list ---------------------------------------------------------------------------

std::string list_error(std::string_view body, body_limits limits = {}) {
  return error_of(&body_parser::parse_list, body, limits);
}

taskorch::http::list_query parsed_list(std::string_view body) {
  body_parser parser;
  auto result = parser.parse_list(body);
  if (auto* e = std::get_if<request_error>(&result)) {
    ADD_FAILURE() << body << ": " << e->code << " " << e->en;
    return {};
  }
  return std::get<taskorch::http::list_query>(result);
}

/// `n` distinct fresh ids, joined by `separator`.
std::string joined_ids(std::size_t n, std::string_view separator = ",") {
  std::string text;
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0) text += separator;
    text += taskorch::job_id::mint().to_string();
  }
  return text;
}

std::string name_body(std::string_view name) {
  return std::string(R"({"name":")") + std::string(name) + R"("})";
}

TEST(BodyParserList, AnEmptyObjectOrAnEmptyBodyListsEverything) {
  for (std::string_view body :
       {"{}", "", " { } ", R"({"status":null,"name":null,"cur_page":null})"}) {
    const auto q = parsed_list(body);
    EXPECT_FALSE(q.status.has_value()) << body;
    EXPECT_FALSE(q.kind.has_value()) << body;
    EXPECT_TRUE(q.ids.empty()) << body;
    EXPECT_TRUE(q.name.empty()) << body;
    EXPECT_EQ(q.cur_page, 1U) << body;
    EXPECT_EQ(q.per_page, 10U) << body;
  }
  // Only a body of no bytes at all stands for `{}`.
  for (std::string_view body : {" ", "\n", "null", "[]", "{", "[{}]"}) {
    EXPECT_EQ(list_error(body),
              "DRS.M00200|Parameter error: the request body is not a valid JSON object.")
        << body;
  }
}

TEST(BodyParserList, ReadsTheFilters) {
  const auto q = parsed_list(
      R"({"status":"PAUSING","db_use_type":"cloudDataGuard","name":"orders","cur_page":3,)"
      R"("per_page":25,"engine_type":"mysql","net_type":"eip","tags":[{"key":"k","value":"v"}],)"
      R"("sort_key":"name","jobs":["x"]})");
  EXPECT_EQ(q.status, taskorch::task_state::paused);
  EXPECT_EQ(q.kind, taskorch::task_kind::cloud_data_guard);
  EXPECT_EQ(q.name, "orders");
  EXPECT_TRUE(q.ids.empty());
  EXPECT_EQ(q.cur_page, 3U);
  EXPECT_EQ(q.per_page, 25U);
  for (taskorch::task_state s : taskorch::all_task_states) {
    const std::string body =
        std::string(R"({"status":")") + std::string(taskorch::drs_status(s)) + R"("})";
    EXPECT_EQ(parsed_list(body).status, s) << body;
  }
  EXPECT_EQ(parsed_list(R"({"db_use_type":"migration"})").kind, taskorch::task_kind::migration);
  EXPECT_EQ(parsed_list(R"({"db_use_type":"sync"})").kind, taskorch::task_kind::sync);
}

TEST(BodyParserList, RefusesWrongFilters) {
  for (std::string_view status : {R"("pausing")", R"("paused")", R"("")", "1", "[]", "true"}) {
    EXPECT_EQ(list_error(std::string(R"({"status":)") + std::string(status) + "}"),
              "DRS.M00202|The value of parameter status is invalid.")
        << status;
  }
  for (std::string_view kind : {R"("dr")", R"("Migration")", R"("")", "0", "{}"}) {
    EXPECT_EQ(list_error(std::string(R"({"db_use_type":)") + std::string(kind) + "}"),
              "DRS.M00202|The value of parameter db_use_type is invalid.")
        << kind;
  }
  for (std::string_view name : {"5", "true", R"(["8d0e8e36-a618-490d-8a46-8c61ac9jb502"])", "{}"}) {
    EXPECT_EQ(list_error(std::string(R"({"name":)") + std::string(name) + "}"),
              "DRS.M00202|The value of parameter name is invalid.")
        << name;
  }
}

TEST(BodyParserList, TellsAnIdListFromAName) {
  auto q = parsed_list(name_body(seed_id));
  ASSERT_EQ(q.ids.size(), 1U);
  EXPECT_EQ(q.ids[0].to_string(), seed_id);
  EXPECT_TRUE(q.name.empty());

  q = parsed_list(
      name_body(std::string("  ") + std::string(other_id) + " , " + std::string(seed_id) + " "));
  ASSERT_EQ(q.ids.size(), 2U);
  EXPECT_EQ(q.ids[0].to_string(), other_id);
  EXPECT_EQ(q.ids[1].to_string(), seed_id);
  EXPECT_TRUE(q.name.empty());

  // A piece that is not an id makes the whole text a name, kept as sent.
  for (const std::string& name :
       {std::string("orders"), std::string(seed_id) + ",orders", std::string(seed_id) + ",",
        std::string(seed_id) + ",," + std::string(other_id), "," + std::string(seed_id),
        std::string("8D0E8E36-A618-490D-8A46-8C61AC9JB502"), std::string(seed_id) + "x",
        std::string(" "), std::string("")}) {
    q = parsed_list(name_body(name));
    EXPECT_TRUE(q.ids.empty()) << name;
    EXPECT_EQ(q.name, name);
  }
}

TEST(BodyParserList, HoldsAnIdListToAHundredIds) {
  EXPECT_EQ(parsed_list(name_body(joined_ids(100))).ids.size(), 100U);
  EXPECT_EQ(parsed_list(name_body(joined_ids(100, " , "))).ids.size(), 100U);
  EXPECT_EQ(list_error(name_body(joined_ids(101))),
            "DRS.M00202|The value of parameter name is invalid.");
  EXPECT_EQ(list_error(name_body(joined_ids(1000))),
            "DRS.M00202|The value of parameter name is invalid.");
}

TEST(BodyParserList, HoldsANameTo255Bytes) {
  EXPECT_EQ(parsed_list(name_body(std::string(255, 'n'))).name.size(), 255U);
  EXPECT_EQ(list_error(name_body(std::string(256, 'n'))),
            "DRS.M00202|The value of parameter name is invalid.");
  // Bytes, not characters: 128 two-byte characters are 256 bytes.
  std::string wide;
  for (int i = 0; i < 128; ++i) wide += "\u00e9";
  EXPECT_EQ(list_error(name_body(wide)), "DRS.M00202|The value of parameter name is invalid.");
  // 101 ids and a last piece that is not one: a name, and too long for one.
  EXPECT_EQ(list_error(name_body(joined_ids(101) + ",x")),
            "DRS.M00202|The value of parameter name is invalid.");
}

TEST(BodyParserList, RefusesARepeatedIdInName) {
  const std::string twice =
      std::string(seed_id) + "," + std::string(other_id) + "," + std::string(seed_id);
  EXPECT_EQ(list_error(name_body(twice)), "DRS.M00301|There are duplicate name in request.");
  // The size limit comes before the duplicate check...
  EXPECT_EQ(list_error(name_body(twice + "," + joined_ids(99))),
            "DRS.M00202|The value of parameter name is invalid.");
  // ...and so do the value checks of every other field.
  EXPECT_EQ(list_error(std::string(R"({"name":")") + twice + R"(","per_page":101})"),
            "DRS.M00202|The value of parameter per_page is invalid.");
}

TEST(BodyParserList, ReadsThePaging) {
  auto q = parsed_list(R"({"cur_page":0,"per_page":0})");
  EXPECT_EQ(q.cur_page, 0U);
  EXPECT_EQ(q.per_page, 0U);
  q = parsed_list(R"({"cur_page":9223372036854775807,"per_page":100})");
  EXPECT_EQ(q.cur_page, 9223372036854775807U);
  EXPECT_EQ(q.per_page, 100U);
  q = parsed_list(R"({"per_page":1})");
  EXPECT_EQ(q.cur_page, 1U);
  EXPECT_EQ(q.per_page, 1U);
  for (std::string_view cur : {"-1", "1.5", "2.0", R"("2")", "true", "18446744073709551616",
                               "9223372036854775808", "1e2", "[]"}) {
    EXPECT_EQ(list_error(std::string(R"({"cur_page":)") + std::string(cur) + "}"),
              "DRS.M00202|The value of parameter cur_page is invalid.")
        << cur;
  }
  for (std::string_view per : {"-1", "101", "1000", "10.5", R"("10")", "false", "1e1"}) {
    EXPECT_EQ(list_error(std::string(R"({"per_page":)") + std::string(per) + "}"),
              "DRS.M00202|The value of parameter per_page is invalid.")
        << per;
  }
  // The paging sits at the top level: a `page_req` object is an unknown field here.
  q = parsed_list(R"({"page_req":{"cur_page":-5}})");
  EXPECT_EQ(q.cur_page, 1U);
}

TEST(BodyParserList, ChecksTheFieldsInAFixedOrder) {
  // status, db_use_type, name, cur_page, per_page, whatever their order in the body.
  EXPECT_EQ(list_error(R"({"per_page":101,"cur_page":-1,"name":5,"db_use_type":"x","status":"x"})"),
            "DRS.M00202|The value of parameter status is invalid.");
  EXPECT_EQ(list_error(R"({"per_page":101,"cur_page":-1,"name":5,"db_use_type":"x"})"),
            "DRS.M00202|The value of parameter db_use_type is invalid.");
  EXPECT_EQ(list_error(R"({"per_page":101,"cur_page":-1,"name":5})"),
            "DRS.M00202|The value of parameter name is invalid.");
  EXPECT_EQ(list_error(R"({"per_page":101,"cur_page":-1})"),
            "DRS.M00202|The value of parameter cur_page is invalid.");
}

TEST(BodyParserList, KeepsTheLimits) {
  EXPECT_EQ(list_error(R"({"tags":[[[[[[[[]]]]]]]]})"),
            "DRS.M00202|The value of parameter tags is invalid: nested deeper than 8 levels.");
  EXPECT_EQ(list_error(R"({"tags":[[[[[[[]]]]]]]})"), "accepted");
  EXPECT_EQ(list_error(R"({"status":"PAUSING","status":"DELETED"})").substr(0, 10), "DRS.M00200");
  EXPECT_EQ(list_error(R"({"tags":[{"key":"a","key":"b"}]})").substr(0, 10), "DRS.M00200");
  // The scan counts a top-level `jobs` array in every body, this one's included.
  EXPECT_EQ(list_error(R"({"jobs":[1,2,3]})", {.max_jobs = 2}),
            "DRS.M00202|The value of parameter jobs is invalid: at most 2 jobs per request.");
  // Wide numbers in ignored fields are valid JSON.
  EXPECT_EQ(list_error(R"({"x":[1e999,18446744073709551616,0.5]})"), "accepted");
}

TEST(BodyParserList, GivesBackTheBuffersOfALargeBody) {
  body_parser parser({.keep_bytes = 1 << 20});
  const std::size_t small = parser.capacity();
  const std::string huge = R"({"pad":")" + std::string(8 << 20, 'p') + R"("})";
  EXPECT_TRUE(std::holds_alternative<taskorch::http::list_query>(parser.parse_list(huge)));
  EXPECT_LE(parser.capacity(), std::max<std::size_t>(small, 1 << 20) * 2);
}

}  // namespace
