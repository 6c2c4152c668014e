#pragma once
// language: the language of the service's messages, chosen per request by the X-Language
// header. "zh-cn" (any case) selects Chinese; anything else, absent included, English.
//
//   taskorch::http::language lang = taskorch::http::parse_language("zh-CN");  // zh_cn

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace taskorch::http {

/// The languages of messages.
enum class language : std::uint8_t { en_us, zh_cn };

/// Returns zh_cn for "zh-cn" (any case), en_us for anything else, absent included.
constexpr language parse_language(std::string_view header) noexcept {
  constexpr std::string_view zh = "zh-cn";
  if (header.size() != zh.size()) return language::en_us;
  for (std::size_t i = 0; i < zh.size(); ++i) {
    const char c =
        header[i] >= 'A' && header[i] <= 'Z' ? static_cast<char>(header[i] - 'A' + 'a') : header[i];
    if (c != zh[i]) return language::en_us;
  }
  return language::zh_cn;
}

}  // namespace taskorch::http
