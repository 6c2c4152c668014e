// The event stream's wire format (service/event_frames.hpp): where a stream starts, and the
// Server-Sent Events frames it writes. The expected texts are written out from the issue, not
// computed with the code under test.
#include "event_frames.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace taskorch::http::detail {
namespace {

using namespace std::chrono_literals;

feed_event paused_event() {
  feed_event e;
  e.position = 42;
  e.id = *job_id::parse("8d0e8e36-a618-490d-8a46-8c61ac9jb502");
  e.project = *project_id::parse("054ba152d480d55b2f5dc0069e7ddef0");
  e.from = task_state::full_transfer;
  e.to = task_state::paused;
  e.cause = task_event::pause;
  e.mode = pause_mode::target;
  e.awaiting = task_event::pause;
  e.at = wall_time(1718000000123ms);
  e.version = 3;
  return e;
}

TEST(EventFrames, AChangeIsOneFrameWithItsPositionAsId) {
  std::string out;
  append_change_frame(out, paused_event());
  EXPECT_EQ(out,
            "id: 42\n"
            "event: change\n"
            "data: {\"sequence\":42,\"job_id\":\"8d0e8e36-a618-490d-8a46-8c61ac9jb502\","
            "\"from\":\"FULL_TRANSFER_STARTED\",\"to\":\"PAUSING\",\"cause\":\"pause\","
            "\"origin\":\"command\",\"time\":1718000000123,\"pause_mode\":\"target\","
            "\"awaiting\":\"pause\",\"version\":3}\n"
            "\n");
}

TEST(EventFrames, NoPauseModeOutsidePausingAndAwaitingNullWhenNothingIsAwaited) {
  feed_event e = paused_event();
  e.position = 7;
  e.from = task_state::starting;
  e.to = task_state::full_transfer;
  e.cause = task_event::start_succeeded;
  e.mode.reset();
  e.awaiting.reset();
  e.version = 18446744073709551615ULL;
  std::string out;
  append_change_frame(out, e);
  EXPECT_EQ(out,
            "id: 7\n"
            "event: change\n"
            "data: {\"sequence\":7,\"job_id\":\"8d0e8e36-a618-490d-8a46-8c61ac9jb502\","
            "\"from\":\"STARTJOBING\",\"to\":\"FULL_TRANSFER_STARTED\","
            "\"cause\":\"start_succeeded\",\"origin\":\"worker\",\"time\":1718000000123,"
            "\"awaiting\":null,\"version\":18446744073709551615}\n"
            "\n");
}

TEST(EventFrames, TheOriginFollowsTheCause) {
  const std::pair<task_event, std::string_view> cases[] = {
      {task_event::start_due, "\"cause\":\"start_due\",\"origin\":\"schedule\""},
      {task_event::stopped, "\"cause\":\"stopped\",\"origin\":\"worker\""},
      {task_event::force_stop, "\"cause\":\"force_stop\",\"origin\":\"command\""},
  };
  for (const auto& [cause, expected] : cases) {
    feed_event e = paused_event();
    e.cause = cause;
    std::string out;
    append_change_frame(out, e);
    EXPECT_NE(out.find(expected), std::string::npos) << out;
  }
}

TEST(EventFrames, FramesAppendAndEachDataIsOneLine) {
  std::string out = "before\n\n";
  append_change_frame(out, paused_event());
  append_change_frame(out, paused_event());
  ASSERT_TRUE(out.starts_with("before\n\nid: 42\n"));
  // Every line of a frame is a field; only the empty line ends it.
  std::size_t frames = 0;
  for (std::size_t at = out.find("\n\n"); at != std::string::npos; at = out.find("\n\n", at + 2))
    ++frames;
  EXPECT_EQ(frames, 3U);
  EXPECT_EQ(out.find('\r'), std::string::npos);
}

TEST(EventFrames, CutOff) {
  std::string out;
  append_cut_off_frame(out, 41, fell_behind_reason);
  EXPECT_EQ(out, "event: cut_off\ndata: {\"resume_after\":41,\"reason\":\"fell_behind\"}\n\n");
  out.clear();
  append_cut_off_frame(out, 0, "a \"quoted\"\nreason");
  EXPECT_EQ(out,
            "event: cut_off\ndata: {\"resume_after\":0,\"reason\":\"a \\\"quoted\\\"\\nreason\"}"
            "\n\n");
}

TEST(EventFrames, FixedFrames) {
  EXPECT_EQ(retry_frame, "retry: 1000\n\n");
  EXPECT_EQ(keep_alive_frame, ": keep-alive\n\n");
}

TEST(EventFrames, AKeepAliveMayMoveTheClientsId) {
  std::string out;
  append_keep_alive_frame(out, 42);
  EXPECT_EQ(out, ": keep-alive\nid: 42\n\n");  // an id and no data: no event dispatched
}

TEST(EventFrames, GoneIs410WithTheOldestPositionInBothLanguages) {
  const response en = gone_response(1234, language::en_us);
  EXPECT_EQ(en.status, 410U);
  EXPECT_EQ(en.content_type, "application/json");
  EXPECT_EQ(en.body,
            "{\"error_code\":\"TASKORCH.0410\",\"error_msg\":\"The events after this position are "
            "no longer kept: list the tasks again, then resume after the position in oldest.\","
            "\"oldest\":1234}");
  const response zh = gone_response(0, language::zh_cn);
  EXPECT_EQ(zh.status, 410U);
  EXPECT_TRUE(zh.body.starts_with("{\"error_code\":\"TASKORCH.0410\",\"error_msg\":\"该位置"))
      << zh.body;
  EXPECT_TRUE(zh.body.ends_with("\",\"oldest\":0}")) << zh.body;
}

// -- where a stream starts

constexpr std::string_view events = "/v3/054ba152d480d55b2f5dc0069e7ddef0/events";

std::variant<stream_start, request_error> start_of(std::optional<std::string_view> last_event_id,
                                                   std::string_view query = "",
                                                   bool repeated = false) {
  const std::string target = std::string(events) + std::string(query);
  return parse_stream_start(last_event_id, repeated, target);
}

stream_start after(std::uint64_t position) { return {.from_now = false, .after = position}; }

void expect_start(const std::variant<stream_start, request_error>& got, stream_start expected) {
  ASSERT_TRUE(std::holds_alternative<stream_start>(got))
      << std::get<request_error>(got).en << " instead of a start";
  EXPECT_EQ(std::get<stream_start>(got), expected);
}

void expect_refused(const std::variant<stream_start, request_error>& got, std::string_view what) {
  ASSERT_TRUE(std::holds_alternative<request_error>(got)) << what << " was accepted";
  const request_error& e = std::get<request_error>(got);
  EXPECT_EQ(e.kind, request_errc::bad_event_position) << what;
  EXPECT_EQ(e.status, 400U) << what;
  EXPECT_EQ(e.code, "TASKORCH.0400") << what;
  EXPECT_EQ(e.en,
            "The event position is invalid: Last-Event-ID and since take a whole number, a "
            "position in the event stream.")
      << what;
  EXPECT_FALSE(e.zh.empty());
}

TEST(StreamStart, WithoutEitherTheStreamStartsNow) {
  expect_start(start_of(std::nullopt), stream_start{});
  EXPECT_TRUE(std::get<stream_start>(start_of(std::nullopt)).from_now);
  expect_start(start_of(std::nullopt, "?"), stream_start{});
  expect_start(start_of(std::nullopt, "?sincere=3&x=since"), stream_start{});
}

TEST(StreamStart, LastEventIdThenSince) {
  expect_start(start_of("17"), after(17));
  expect_start(start_of(std::nullopt, "?since=5"), after(5));
  expect_start(start_of(std::nullopt, "?since=0"), after(0));
  expect_start(start_of("0"), after(0));
  expect_start(start_of("9", "?since=5"), after(9));  // the header wins
  expect_start(start_of("9", "?since=nonsense"), after(9));
  expect_start(start_of(std::nullopt, "?a=1&since=7&b"), after(7));
  expect_start(start_of(std::nullopt, "?since=007"), after(7));
  expect_start(start_of("18446744073709551615"), after(18446744073709551615ULL));
}

TEST(StreamStart, MalformedPositionsAreRefused) {
  for (std::string_view bad : {"", "x", "-1", "+1", " 1", "1 ", "1.0", "0x10", "1e3",
                               "18446744073709551616", "000000000000000000001"}) {
    expect_refused(start_of(bad), bad);
    expect_refused(start_of(std::nullopt, "?since=" + std::string(bad)), bad);
  }
  expect_refused(start_of("1", "", true), "two Last-Event-ID headers");
  expect_refused(start_of(std::nullopt, "?since=1&since=1"), "since twice");
  expect_refused(start_of(std::nullopt, "?since"), "since without a value");
}

}  // namespace
}  // namespace taskorch::http::detail
