#pragma once
// Internal: name tables for the small enums of the domain, and a formatter built on them.

#include <fmt/format.h>

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace taskorch::detail {

/// Returns `names[e]`, or "unknown" when `e` is out of range.
template <class Enum, std::size_t N>
constexpr std::string_view name_of(const std::array<std::string_view, N>& names, Enum e) noexcept {
  const auto i = static_cast<std::size_t>(e);
  return i < N ? names[i] : std::string_view("unknown");
}

/// Returns the enumerator whose name is `text`, or an empty optional.
template <class Enum, std::size_t N>
constexpr std::optional<Enum> enum_from_name(const std::array<std::string_view, N>& names,
                                             std::string_view text) noexcept {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == text) return static_cast<Enum>(i);
  }
  return std::nullopt;
}

/// fmt support for an enum that has a `to_string` found by argument-dependent lookup.
template <class Enum>
struct enum_formatter : fmt::formatter<std::string_view> {
  auto format(Enum e, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(to_string(e), ctx);
  }
};

}  // namespace taskorch::detail
