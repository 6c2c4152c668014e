#pragma once
// handler_floor: the lower bound for the HTTP handler of batch-pause-task. The body is copied
// into a reused padded buffer and read with simdjson On-Demand, each id is parsed with
// job_id::parse, the pause is applied to a floor_table, and the response is written by hand
// into a string reserved once: the same bytes taskorch::http::api answers (English messages,
// no X-Language header).
//
// A floor, not a validator: the body is assumed to be an object whose `jobs` array holds
// objects with a string `job_id` and `pause_mode`, without a repeated id. An id or a mode
// that does not parse ends the request with the api's DRS.M00202 body, after the items before
// it were applied. Not thread-safe.

#include "baselines/floor_table.hpp"
#include "workload.hpp"
#include <taskorch/http/error_table.hpp>
#include <taskorch/http/request_error.hpp>
#include <taskorch/http/response_writer.hpp>

#include <fmt/format.h>

#include <array>
#include <cstddef>
#include <iterator>
#include <optional>
#include <simdjson.h>
#include <string>
#include <string_view>
#include <vector>

namespace taskorch::bench {

class handler_floor {
 public:
  explicit handler_floor(const fleet& f) : tasks_(f) {
    for (std::size_t e = 1; e < failed_.size(); ++e) {
      const error_code error = static_cast<errc>(e);
      std::string& item = failed_[e];
      item = ",\"status\":\"failed\",\"error_code\":\"";
      item += http::drs_error_code(error);
      item += "\",\"error_msg\":";
      http::append_json_string(item, http::item_message(error, http::language::en_us));
      item += '}';
    }
  }

  /// Answers a batch-pause-task body.
  std::string handle(std::string_view body) {
    buffer_.resize(body.size() + simdjson::SIMDJSON_PADDING);
    body.copy(buffer_.data(), body.size());
    simdjson::ondemand::document doc =
        parser_.iterate(simdjson::padded_string_view(buffer_.data(), body.size(), buffer_.size()));

    std::string out;
    out.reserve(2 * body.size() + 64);
    out += "{\"results\":[";
    std::size_t count = 0;
    for (simdjson::ondemand::object job : doc["jobs"]) {
      const std::string_view text = job["job_id"];
      const std::optional<job_id> id = job_id::parse(text);
      if (!id) return refusal("job_id");
      const std::string_view mode_text = job["pause_mode"];
      const std::optional<pause_mode> mode = parse_pause_mode(mode_text);
      if (!mode) return refusal("pause_mode");

      if (count++ != 0) out += ',';
      out += "{\"id\":\"";
      out += text;
      out += '"';
      const error_code error = tasks_.apply(*id, task_event::pause, *mode);
      out += error ? std::string_view(failed_[static_cast<std::size_t>(error.value())])
                   : std::string_view(",\"status\":\"success\"}");
    }
    fmt::format_to(std::back_inserter(out), "],\"count\":{}}}", count);
    return out;
  }

 private:
  static std::string refusal(std::string_view param) {
    const http::request_error e = http::request_error::invalid(param);
    std::string out;
    http::write_error(out, e.code, e.en);
    return out;
  }

  floor_table tasks_;
  simdjson::ondemand::parser parser_;
  std::vector<char> buffer_;
  /// The tail of a failed item, `,"status":"failed",...}`, by errc value.
  std::array<std::string, static_cast<std::size_t>(errc::would_deadlock) + 1> failed_;
};

}  // namespace taskorch::bench
