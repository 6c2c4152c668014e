#include "event_frames.hpp"

#include <taskorch/http/json_writer.hpp>
#include <taskorch/job_id.hpp>
#include <taskorch/pause_mode.hpp>
#include <taskorch/task_event.hpp>
#include <taskorch/task_state.hpp>

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <iterator>

namespace taskorch::http::detail {

namespace {

/// A position: 1 to 20 decimal digits, below 2^64.
std::optional<std::uint64_t> parse_position(std::string_view text) noexcept {
  constexpr std::size_t most_digits = 20;
  if (text.empty() || text.size() > most_digits) return std::nullopt;
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

/// The `since` parameter of the query of `target`: absent, its value, or refused (given twice,
/// or without `=`).
std::variant<std::monostate, std::string_view, request_error> since_parameter(
    std::string_view target) {
  const std::size_t question = target.find('?');
  if (question == std::string_view::npos) return std::monostate{};
  std::string_view query = target.substr(question + 1);
  std::optional<std::string_view> found;
  constexpr std::string_view name = "since";
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      if (found || eq == std::string_view::npos) {
        return request_error::of(request_errc::bad_event_position);
      }
      found = pair.substr(eq + 1);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  if (!found) return std::monostate{};
  return *found;
}

}  // namespace

std::variant<stream_start, request_error> parse_stream_start(
    std::optional<std::string_view> last_event_id, bool repeated, std::string_view target) {
  const auto refused = [] { return request_error::of(request_errc::bad_event_position); };
  std::optional<std::string_view> text = last_event_id;
  if (repeated) return refused();
  if (!text) {
    auto since = since_parameter(target);
    if (auto* e = std::get_if<request_error>(&since)) return std::move(*e);
    if (auto* value = std::get_if<std::string_view>(&since)) text = *value;
  }
  if (!text) return stream_start{};
  const std::optional<std::uint64_t> position = parse_position(*text);
  if (!position) return refused();
  return stream_start{.from_now = false, .after = *position};
}

void append_change_frame(std::string& out, const feed_event& e) {
  auto to = std::back_inserter(out);
  fmt::format_to(to, "id: {}\nevent: change\ndata: {{\"sequence\":{},\"job_id\":", e.position,
                 e.position);
  std::array<char, job_id::text_size> id{};
  e.id.write(id.data());
  append_json_string(out, std::string_view(id.data(), id.size()));
  out += ",\"from\":";
  append_json_string(out, drs_status(e.from));
  out += ",\"to\":";
  append_json_string(out, drs_status(e.to));
  out += ",\"cause\":";
  append_json_string(out, to_string(e.cause));
  out += ",\"origin\":";
  append_json_string(
      out, is_valid(e.cause) ? to_string(rule_of(e.cause).origin) : std::string_view("unknown"));
  fmt::format_to(to, ",\"time\":{}", e.at.time_since_epoch().count());
  if (e.mode) {
    out += ",\"pause_mode\":";
    append_json_string(out, to_string(*e.mode));
  }
  out += ",\"awaiting\":";
  if (e.awaiting) {
    append_json_string(out, to_string(*e.awaiting));
  } else {
    out += "null";
  }
  fmt::format_to(to, ",\"version\":{}}}\n\n", e.version);
}

void append_cut_off_frame(std::string& out, std::uint64_t resume_after, std::string_view reason) {
  fmt::format_to(std::back_inserter(out),
                 "event: cut_off\ndata: {{\"resume_after\":{},\"reason\":", resume_after);
  append_json_string(out, reason);
  out += "}\n\n";
}

void append_keep_alive_frame(std::string& out, std::uint64_t position) {
  fmt::format_to(std::back_inserter(out), ": keep-alive\nid: {}\n\n", position);
}

response gone_response(std::uint64_t oldest, language lang) {
  response r = error_response(request_error::of(request_errc::event_position_gone), lang);
  r.body.pop_back();  // the error object's '}': `oldest` goes in it
  fmt::format_to(std::back_inserter(r.body), ",\"oldest\":{}}}", oldest);
  return r;
}

}  // namespace taskorch::http::detail
