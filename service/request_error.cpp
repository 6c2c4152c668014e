#include <taskorch/http/request_error.hpp>

#include <fmt/args.h>
#include <fmt/format.h>

#include <cassert>
#include <initializer_list>
#include <string>

namespace taskorch::http {

namespace {

/// Fills the row's message templates with `values`.
request_error make(request_errc kind, std::initializer_list<std::string_view> values) {
  const request_error_row& row = describe(kind);
  assert(values.size() == row.arguments);
  fmt::dynamic_format_arg_store<fmt::format_context> args;
  for (std::string_view v : values) args.push_back(v);
  return {kind, row.wire.status, std::string(row.wire.drs_code), fmt::vformat(row.wire.en, args),
          fmt::vformat(row.wire.zh, args)};
}

std::string number(std::size_t n) { return fmt::format("{}", n); }

}  // namespace

request_error request_error::of(request_errc kind) { return make(kind, {}); }

request_error request_error::malformed_body() { return of(request_errc::malformed_body); }

request_error request_error::empty(std::string_view param) {
  return make(request_errc::empty_parameter, {param});
}

request_error request_error::invalid(std::string_view param) {
  return make(request_errc::invalid_parameter, {param});
}

request_error request_error::too_deep(std::string_view param, std::size_t limit) {
  return make(request_errc::nested_too_deep, {param, number(limit)});
}

request_error request_error::too_many_jobs(std::size_t limit) {
  return make(request_errc::too_many_jobs, {number(limit)});
}

request_error request_error::duplicate(std::string_view param) {
  return make(request_errc::duplicate_parameter, {param});
}

request_error request_error::body_too_large(std::size_t limit) {
  return make(request_errc::body_too_large, {number(limit)});
}

request_error request_error::header_too_large(std::size_t limit) {
  return make(request_errc::header_too_large, {number(limit)});
}

request_error request_error::role_forbidden(std::string_view role) {
  return make(request_errc::role_forbidden, {role});
}

request_error request_error::required_header_unsigned(std::string_view header) {
  return make(request_errc::required_header_unsigned, {header});
}

request_error request_error::sdk_date_expired(std::int64_t window_seconds) {
  return make(request_errc::sdk_date_expired, {fmt::format("{}", window_seconds)});
}

request_error request_error::signed_header_missing(std::string_view header) {
  return make(request_errc::signed_header_missing, {header});
}

}  // namespace taskorch::http
