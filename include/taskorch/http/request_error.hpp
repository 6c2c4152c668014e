#pragma once
// request_error: a whole-request refusal of the DRS HTTP API (nothing applied): its row of the
// error table (error_table.hpp) with the message templates filled in, in English and Chinese.
//
//   auto e = taskorch::http::request_error::empty("jobs");
//   e.status == 400; e.code == "DRS.M00201"; e.message(language::zh_cn) == "参数jobs为空。"
//
// The error body is `{"error_code":"DRS.M00201","error_msg":"The parameter jobs is empty."}`.

#include <taskorch/http/error_table.hpp>
#include <taskorch/http/language.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace taskorch::http {

/// A whole-request refusal.
struct request_error {
  request_errc kind = request_errc::service_abnormal;
  unsigned status = 500;
  std::string code;  ///< e.g. "DRS.M00202"
  std::string en;    ///< English message
  std::string zh;    ///< Chinese message

  const std::string& message(language lang) const noexcept {
    return lang == language::zh_cn ? zh : en;
  }

  /// A refusal whose messages take no value (any row with `arguments == 0`).
  static request_error of(request_errc kind);

  /// DRS.M00200: the body is not JSON, not an object, or repeats a key.
  static request_error malformed_body();
  /// DRS.M00201: a required parameter is missing, null or empty.
  static request_error empty(std::string_view param);
  /// DRS.M00202: a parameter has a wrong value or type.
  static request_error invalid(std::string_view param);
  /// DRS.M00202: the top-level field `param` is nested deeper than `limit` levels.
  static request_error too_deep(std::string_view param, std::size_t limit);
  /// DRS.M00202: more jobs than the server accepts in one request.
  static request_error too_many_jobs(std::size_t limit);
  /// DRS.M00301: the same job id twice.
  static request_error duplicate(std::string_view param);
  /// 413 DRS.M00202: the body is larger than the server accepts.
  static request_error body_too_large(std::size_t limit);
  /// 431 TASKORCH.0431: the request line and headers are over `limit` bytes.
  static request_error header_too_large(std::size_t limit);
  /// 403 TASKORCH.0403: a token of role `role` (its name) may not call the route.
  static request_error role_forbidden(std::string_view role);
  /// 401 APIGW.0301: the signature does not cover `header` (host or x-sdk-date).
  static request_error required_header_unsigned(std::string_view header);
  /// 401 APIGW.0301: X-Sdk-Date is more than `window_seconds` from the server's clock.
  static request_error sdk_date_expired(std::int64_t window_seconds);
  /// 401 APIGW.0301: `header`, which the signature covers, is missing or repeated.
  static request_error signed_header_missing(std::string_view header);
};

}  // namespace taskorch::http
