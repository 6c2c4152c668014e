#pragma once
// request_error: a whole-request rejection of the DRS HTTP API (nothing applied), with its
// HTTP status, its DRS error code and its message in English and Chinese.
//
//   auto e = taskorch::http::request_error::empty("jobs");
//   e.status == 400; e.code == "DRS.M00201"; e.message(language::zh_cn) == "参数jobs为空。"
//
// The error body is `{"error_code":"DRS.M00201","error_msg":"The parameter jobs is empty."}`.

#include <cstddef>
#include <string>
#include <string_view>

namespace taskorch::http {

/// The language of messages, from the `X-Language` header.
enum class language { en_us, zh_cn };

/// Returns zh_cn for "zh-cn" (any case), en_us for anything else, absent included.
language parse_language(std::string_view header) noexcept;

/// A whole-request rejection.
struct request_error {
  unsigned status = 400;
  std::string code;  ///< e.g. "DRS.M00202"
  std::string en;    ///< English message
  std::string zh;    ///< Chinese message

  const std::string& message(language lang) const noexcept {
    return lang == language::zh_cn ? zh : en;
  }

  /// DRS.M00200: the body is not JSON, not an object, too deep, or repeats a key.
  static request_error malformed_body();
  /// DRS.M00201: a required parameter is missing, null or empty.
  static request_error empty(std::string_view param);
  /// DRS.M00202: a parameter has a wrong value or type.
  static request_error invalid(std::string_view param);
  /// DRS.M00202: more jobs than the server accepts in one request.
  static request_error too_many_jobs(std::size_t limit);
  /// DRS.M00301: the same job id twice.
  static request_error duplicate(std::string_view param);
  /// DRS.M00202: a Content-Type other than application/json.
  static request_error unsupported_content_type();
  /// 413 DRS.M00202: the body is larger than the server accepts.
  static request_error body_too_large(std::size_t limit);
};

}  // namespace taskorch::http
