#pragma once
// constant_time: comparing secrets (tokens, access keys) in time that does not tell where the
// texts differ, so that a caller cannot guess one byte at a time.

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace taskorch::http::detail {

/// True when `a` and `b` are equal. The time taken depends only on their lengths.
inline bool equal_constant_time(std::string_view a, std::string_view b) noexcept {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(i < a.size() ? a[i] : 0);
    const auto y = static_cast<unsigned char>(i < b.size() ? b[i] : 0);
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

}  // namespace taskorch::http::detail
