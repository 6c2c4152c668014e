#pragma once
// json_writer: appends JSON text straight into a string, without building a document: string
// literals with their escapes, and the service's error body.
//
//   std::string out;
//   taskorch::http::write_error(out, "DRS.M00201", "The parameter jobs is empty.");
//   // {"error_code":"DRS.M00201","error_msg":"The parameter jobs is empty."}

#include <string>
#include <string_view>

namespace taskorch::http {

/// Appends `text` as a JSON string literal, quotes included.
void append_json_string(std::string& out, std::string_view text);

/// Appends `{"error_code":"...","error_msg":"..."}`.
void write_error(std::string& out, std::string_view code, std::string_view message);

}  // namespace taskorch::http
