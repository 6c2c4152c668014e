#include <taskorch/http/request_error.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace taskorch::http {

language parse_language(std::string_view header) noexcept {
  constexpr std::string_view zh = "zh-cn";
  if (header.size() != zh.size()) return language::en_us;
  for (std::size_t i = 0; i < zh.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != zh[i]) return language::en_us;
  }
  return language::zh_cn;
}

request_error request_error::malformed_body() {
  return {400, "DRS.M00200", "Parameter error: the request body is not a valid JSON object.",
          "参数错误：请求体不是合法的JSON对象。"};
}

request_error request_error::empty(std::string_view param) {
  return {400, "DRS.M00201", fmt::format("The parameter {} is empty.", param),
          fmt::format("参数{}为空。", param)};
}

request_error request_error::invalid(std::string_view param) {
  return {400, "DRS.M00202", fmt::format("The value of parameter {} is invalid.", param),
          fmt::format("参数{}的值无效。", param)};
}

request_error request_error::too_many_jobs(std::size_t limit) {
  return {
      400, "DRS.M00202",
      fmt::format("The value of parameter jobs is invalid: at most {} jobs per request.", limit),
      fmt::format("参数jobs的值无效：每个请求最多{}个任务。", limit)};
}

request_error request_error::duplicate(std::string_view param) {
  return {400, "DRS.M00301", fmt::format("There are duplicate {} in request.", param),
          fmt::format("请求中存在重复的{}。", param)};
}

request_error request_error::unsupported_content_type() {
  return {400, "DRS.M00202",
          "The value of parameter Content-Type is invalid: use application/json.",
          "参数Content-Type的值无效：请使用application/json。"};
}

request_error request_error::body_too_large(std::size_t limit) {
  return {413, "DRS.M00202", fmt::format("The request body is too large: at most {} bytes.", limit),
          fmt::format("请求体过大：最多{}字节。", limit)};
}

}  // namespace taskorch::http
