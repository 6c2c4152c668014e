#include <taskorch/http/error_table.hpp>
#include <taskorch/http/response_writer.hpp>
#include <taskorch/task_actions.hpp>
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

void append_names(std::string& out, const std::vector<std::string_view>& names) {
  out.push_back('[');
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i != 0) out.push_back(',');
    append_json_string(out, names[i]);
  }
  out.push_back(']');
}

/// The task that shows what `task` awaits: itself, or for a parent its forward child when it
/// awaits a command, else its backward child; nullptr when none awaits anything.
const task_snapshot* awaiting_of(const task_snapshot& task,
                                 std::span<const task_snapshot> children) {
  if (task.awaiting) return &task;
  if (task.role == task_role::parent) {
    for (const task_snapshot& child : children) {
      if (child.awaiting) return &child;
    }
  }
  return nullptr;
}

void append_task(std::string& out, const task_snapshot& task,
                 std::span<const task_snapshot> children) {
  out += "{\"id\":";
  append_id(out, task.id);
  out += ",\"name\":";
  append_json_string(out, task.name);
  out += ",\"status\":\"";
  out += drs_status(task.state);
  out += "\",\"db_use_type\":\"";
  out += to_string(task.kind);
  out += "\",\"multi_write\":";
  out += task.role == task_role::parent ? "true" : "false";
  const task_actions actions = actions_of(task, children);
  out += ",\"job_action\":{\"available_actions\":";
  append_names(out, actions.available);
  out += ",\"unavailable_actions\":";
  append_names(out, actions.unavailable);
  const task_snapshot* awaiting = awaiting_of(task, children);
  out += ",\"current_action\":";
  append_json_string(out, awaiting != nullptr ? awaited_action(*awaiting->awaiting) : "");
  out.push_back('}');
  if (awaiting != nullptr) {
    out += ",\"awaiting_confirmation\":{\"command\":";
    append_json_string(out, to_string(*awaiting->awaiting));
    fmt::format_to(std::back_inserter(out), ",\"since\":\"{}\"}}",
                   awaiting->changed_at.time_since_epoch().count());
  }
  if (task.created_at != wall_time{}) {
    fmt::format_to(std::back_inserter(out), ",\"create_time\":\"{}\"",
                   task.created_at.time_since_epoch().count());
  }
  if (const wall_time updated = std::max(task.changed_at, task.created_at);
      updated != wall_time{}) {
    fmt::format_to(std::back_inserter(out), ",\"update_time\":\"{}\"",
                   updated.time_since_epoch().count());
  }
  if (task.pause) {
    out += ",\"pause_mode\":\"";
    out += to_string(task.pause->mode);
    out += "\",\"paused_from\":\"";
    out += drs_status(task.pause->from);
    out.push_back('"');
  }
  if (task.start_time) {
    fmt::format_to(std::back_inserter(out), ",\"start_time\":\"{}\"",
                   task.start_time->time_since_epoch().count());
  }
  if (task.parent) {
    out += ",\"parent_id\":";
    append_id(out, *task.parent);
  }
  fmt::format_to(std::back_inserter(out), ",\"version\":{}", task.version);
  if (task.role == task_role::parent) {
    out += ",\"children\":[";
    for (std::size_t i = 0; i < children.size(); ++i) {
      if (i != 0) out.push_back(',');
      append_task(out, children[i], {});
    }
    out.push_back(']');
  }
  out.push_back('}');
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

page_bounds page_of(std::size_t size, std::size_t cur_page, std::size_t per_page) noexcept {
  if (per_page == 0 || cur_page == 0) return {0, size};
  const std::size_t pages_before = cur_page - 1;
  const std::size_t first =
      pages_before > size / per_page ? size : std::min(size, pages_before * per_page);
  return {first, std::min(size, first + per_page)};
}

void write_status_response(std::string& out, const std::vector<status_result>& statuses,
                           std::size_t cur_page, std::size_t per_page, language lang) {
  const auto [first, last] = page_of(statuses.size(), cur_page, per_page);
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

void write_detail_response(std::string& out, const std::vector<detail_result>& details,
                           std::size_t cur_page, std::size_t per_page, language lang) {
  const auto [first, last] = page_of(details.size(), cur_page, per_page);
  out += "{\"results\":[";
  for (std::size_t i = first; i < last; ++i) {
    if (i != first) out.push_back(',');
    if (!details[i].error) {
      append_task(out, details[i].task, details[i].children);
      continue;
    }
    out += "{\"id\":";
    append_id(out, details[i].id);
    out += ",\"error_code\":\"";
    out += drs_error_code(details[i].error);
    out += "\",\"error_msg\":";
    append_json_string(out, item_message(details[i].error, lang));
    out.push_back('}');
  }
  append_count(out, details.size());
}

void write_progress_response(std::string& out, const std::vector<progress_result>& progress,
                             std::size_t cur_page, std::size_t per_page, language lang) {
  const auto [first, last] = page_of(progress.size(), cur_page, per_page);
  out += "{\"results\":[";
  for (std::size_t i = first; i < last; ++i) {
    const progress_result& p = progress[i];
    if (i != first) out.push_back(',');
    out += "{\"job_id\":";
    append_id(out, p.id);
    if (p.error) {
      out += ",\"error_code\":\"";
      out += drs_error_code(p.error);
      out += "\",\"error_msg\":";
      append_json_string(out, item_message(p.error, lang));
      out.push_back('}');
      continue;
    }
    out += ",\"transfer_status\":\"";
    out += drs_status(p.state);
    out.push_back('"');
    if (p.figures) {
      const auto delay = p.figures->incre_trans_delay;
      fmt::format_to(std::back_inserter(out),
                     ",\"progress\":\"{}\",\"incre_trans_delay\":\"{}\","
                     "\"incre_trans_delay_millis\":{}",
                     p.figures->progress,
                     std::chrono::duration_cast<std::chrono::seconds>(delay).count(),
                     delay.count());
    }
    if (p.reported_at) {
      fmt::format_to(std::back_inserter(out), ",\"process_time\":\"{}\"",
                     p.reported_at->time_since_epoch().count());
    }
    if (p.awaiting) {
      out += ",\"awaiting_confirmation\":{\"command\":";
      append_json_string(out, to_string(p.awaiting->command));
      fmt::format_to(std::back_inserter(out), ",\"since\":\"{}\"}}",
                     p.awaiting->since.time_since_epoch().count());
    }
    out.push_back('}');
  }
  append_count(out, progress.size());
}

void write_job_list(std::string& out, std::span<const listed_task> page, std::size_t total) {
  out += "{\"jobs\":[";
  for (std::size_t i = 0; i < page.size(); ++i) {
    if (i != 0) out.push_back(',');
    append_task(out, *page[i].task, page[i].children);
  }
  fmt::format_to(std::back_inserter(out), "],\"total_record\":{}}}", total);
}

}  // namespace taskorch::http
