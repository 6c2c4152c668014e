#pragma once
// response_writer: writes the JSON bodies of the DRS batch and list endpoints straight into a
// string.
//
//   {"results":[{"id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502","status":"success"}],"count":1}
//
// Failed batch items carry `error_code` and `error_msg`; failed status items carry
// `error_code` and `error_message` (DRS spells it so there). Codes and messages come from the
// error table (error_table.hpp).

#include <taskorch/batch.hpp>
#include <taskorch/http/job_list.hpp>
#include <taskorch/http/json_writer.hpp>
#include <taskorch/http/language.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace taskorch::http {

/// Returns the message of a per-item error (DRS.M05003 and so on) in `lang`.
std::string_view item_message(const error_code& ec, language lang) noexcept;

/// Appends `{"results":[...],"count":n}` for a pause or retry batch.
void write_batch_response(std::string& out, const batch_result& results, language lang);

/// The items of one page: [first, last) of a list.
struct page_bounds {
  std::size_t first = 0;
  std::size_t last = 0;
};

/// Returns the DRS page `cur_page` (from 1) of `per_page` items of a list of `size`; all of
/// it when `per_page` or `cur_page` is 0; empty past the end.
page_bounds page_of(std::size_t size, std::size_t cur_page, std::size_t per_page) noexcept;

/// Appends `{"results":[...],"count":n}` for batch-status: `results` holds the requested
/// page of `statuses`; `count` is the number of requested ids.
void write_status_response(std::string& out, const std::vector<status_result>& statuses,
                           std::size_t cur_page, std::size_t per_page, language lang);

/// Appends `{"results":[...],"count":n}` for batch-detail: each task of the requested page
/// whole (attributes, `job_action`, pause, start time, children), or its `error_code` and
/// `error_msg`; `count` is the number of requested ids.
void write_detail_response(std::string& out, const std::vector<detail_result>& details,
                           std::size_t cur_page, std::size_t per_page, language lang);

/// Appends `{"results":[...],"count":n}` for batch-progress: per task of the requested page,
/// `job_id`, `transfer_status` (its DRS status) and, once a worker has reported, `progress`
/// (percent, a string as DRS writes it), `incre_trans_delay` (seconds, a string),
/// `incre_trans_delay_millis` and `process_time` (the report's time, milliseconds since the
/// epoch, a string); or `error_code` and `error_msg`.
void write_progress_response(std::string& out, const std::vector<progress_result>& progress,
                             std::size_t cur_page, std::size_t per_page, language lang);

/// Appends `{"jobs":[...],"total_record":n}` for a task list: the tasks of one page, whole
/// as batch-detail shows them; `total` counts every task that matched.
void write_job_list(std::string& out, std::span<const listed_task> page, std::size_t total);

}  // namespace taskorch::http
