#pragma once
// response_writer: writes the JSON bodies of the DRS batch endpoints straight into a string.
//
//   {"results":[{"id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502","status":"success"}],"count":1}
//
// Failed batch items carry `error_code` and `error_msg`; failed status items carry
// `error_code` and `error_message` (DRS spells it so there). Codes and messages come from the
// error table (error_table.hpp).

#include <taskorch/batch.hpp>
#include <taskorch/http/json_writer.hpp>
#include <taskorch/http/language.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace taskorch::http {

/// Returns the message of a per-item error (DRS.M05003 and so on) in `lang`.
std::string_view item_message(const error_code& ec, language lang) noexcept;

/// Appends `{"results":[...],"count":n}` for a pause or retry batch.
void write_batch_response(std::string& out, const batch_result& results, language lang);

/// Appends `{"results":[...],"count":n}` for batch-status: `results` holds the requested
/// page of `statuses`; `count` is the number of requested ids.
void write_status_response(std::string& out, const std::vector<status_result>& statuses,
                           std::size_t cur_page, std::size_t per_page, language lang);

}  // namespace taskorch::http
