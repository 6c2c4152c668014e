#pragma once
// event_frames: the wire format of the event stream (GET /v3/{project_id}/events; docs/http-api.md,
// "Event stream"): where a stream starts (its Last-Event-ID header, else its `since` query
// parameter, else the feed's end) and the Server-Sent Events frames it writes. One change:
//
//   id: 42
//   event: change
//   data:
//   {"sequence":42,"job_id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502","from":"FULL_TRANSFER_STARTED","to":"PAUSING","cause":"pause","origin":"command","time":1718000000000,"pause_mode":"target","awaiting":"pause","version":3}
//
// (an empty line ends each frame). A stream the server cuts off ends with
//
//   event: cut_off
//   data: {"resume_after":41,"reason":"fell_behind"}
//
//   auto start = parse_stream_start(req["Last-Event-ID"], repeated, req.target());
//   std::string out;
//   append_change_frame(out, event);

#include <taskorch/feed_event.hpp>
#include <taskorch/http/language.hpp>
#include <taskorch/http/request_error.hpp>
#include <taskorch/http/request_handler.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace taskorch::http::detail {

/// Where an event stream starts.
struct stream_start {
  /// Neither Last-Event-ID nor `since` was given: the events made from now on only.
  bool from_now = true;
  /// Otherwise the events after this position; 0: every event the feed keeps.
  std::uint64_t after = 0;
  friend bool operator==(const stream_start&, const stream_start&) = default;
};

/// The start a stream's request asks for: the Last-Event-ID header (`last_event_id`, the first
/// one; `repeated` when it appears more than once) when given, else the `since` parameter of
/// `target`'s query, else the feed's end. A value that is not a whole number of 1 to 20
/// decimal digits below 2^64, or a header or parameter given twice, is refused
/// (request_errc::bad_event_position).
std::variant<stream_start, request_error> parse_stream_start(
    std::optional<std::string_view> last_event_id, bool repeated, std::string_view target);

/// The first frame of every stream: a client that loses the connection reconnects after
/// 1000 ms (EventSource sends its Last-Event-ID then).
inline constexpr std::string_view retry_frame = "retry: 1000\n\n";

/// A comment written when nothing else was for a while, so that the client and the proxies
/// between see the connection alive.
inline constexpr std::string_view keep_alive_frame = ": keep-alive\n\n";

/// Appends a keep-alive frame that also moves the client's last event id to `position`, the
/// last one the stream has read past (events of other projects, or none for a while): a
/// client that reconnects resumes from there, rather than from an older id the feed may have
/// dropped meanwhile. An `id` with no `data` dispatches no event (an EventSource only updates
/// its lastEventId).
void append_keep_alive_frame(std::string& out, std::uint64_t position);

/// The `reason` of a cut-off frame when the feed dropped the stream's position.
inline constexpr std::string_view fell_behind_reason = "fell_behind";
inline constexpr std::string_view moved_reason = "moved";

/// Appends the frame of one change (`event: change`; its id is its position).
void append_change_frame(std::string& out, const feed_event& e);

/// Appends the last frame of a stream the server cuts off (`event: cut_off`): the position to
/// resume after (the last one sent) and why.
void append_cut_off_frame(std::string& out, std::uint64_t resume_after, std::string_view reason);

/// The answer to a stream whose start is no longer kept, or was never given out: 410
/// TASKORCH.0410, whose JSON body adds `oldest`, the position to resume after once the tasks
/// were listed again.
response gone_response(std::uint64_t oldest, language lang);

}  // namespace taskorch::http::detail
