#include <taskorch/http/error_table.hpp>
#include <taskorch/http/response_writer.hpp>
#include <taskorch/task_state.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace taskorch::http {

std::string_view item_message(const error_code& ec, language lang) noexcept {
  const wire_error& e = describe(ec);
  return lang == language::zh_cn ? e.zh : e.en;
}

namespace {

void append_id(std::string& out, const job_id& id) {
  std::array<char, job_id::text_size> text{};
  id.write(text.data());
  out.push_back('"');
  out.append(text.data(), text.size());
  out.push_back('"');
}

void append_count(std::string& out, std::size_t count) {
  out += "],\"count\":";
  fmt::format_to(std::back_inserter(out), "{}", count);
  out.push_back('}');
}

}  // namespace

void write_batch_response(std::string& out, const batch_result& results, language lang) {
  out.reserve(out.size() + 64 * results.size() + 32);
  out += "{\"results\":[";
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (i != 0) out.push_back(',');
    out += "{\"id\":";
    append_id(out, results[i].id);
    if (results[i].ok()) {
      out += ",\"status\":\"success\"}";
    } else {
      out += ",\"status\":\"failed\",\"error_code\":\"";
      out += drs_error_code(results[i].error);
      out += "\",\"error_msg\":";
      append_json_string(out, item_message(results[i].error, lang));
      out.push_back('}');
    }
  }
  append_count(out, results.size());
}

void write_status_response(std::string& out, const std::vector<status_result>& statuses,
                           std::size_t cur_page, std::size_t per_page, language lang) {
  std::size_t first = 0;
  std::size_t last = statuses.size();
  if (per_page != 0) {
    const std::size_t pages_before = cur_page - 1;
    first = pages_before > statuses.size() / per_page
                ? statuses.size()
                : std::min(statuses.size(), pages_before * per_page);
    last = std::min(statuses.size(), first + per_page);
  }
  out += "{\"results\":[";
  for (std::size_t i = first; i < last; ++i) {
    if (i != first) out.push_back(',');
    out += "{\"id\":";
    append_id(out, statuses[i].id);
    if (!statuses[i].error) {
      out += ",\"status\":\"";
      out += drs_status(statuses[i].state);
      out += "\"}";
    } else {
      out += ",\"error_code\":\"";
      out += drs_error_code(statuses[i].error);
      out += "\",\"error_message\":";
      append_json_string(out, item_message(statuses[i].error, lang));
      out.push_back('}');
    }
  }
  append_count(out, statuses.size());
}

}  // namespace taskorch::http
