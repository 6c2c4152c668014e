#pragma once
// pause_mode: how far a pause goes. `target` stops replay on the target; `all` stops log
// capture and replay. `all` is the stronger mode: re-pausing with `all` raises a `target`
// pause, re-pausing with `target` leaves an `all` pause as it is.

#include <taskorch/detail/enum_names.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace taskorch {

/// The DRS `pause_mode` of a pause command. Ordered: `target` < `all`.
enum class pause_mode : std::uint8_t { target, all };

namespace detail {
inline constexpr std::array<std::string_view, 2> pause_mode_names{"target", "all"};
}  // namespace detail

/// True for a value the enum declares (a cast from an integer may produce others).
constexpr bool is_valid(pause_mode m) noexcept {
  return m == pause_mode::target || m == pause_mode::all;
}

/// Returns "target" or "all".
constexpr std::string_view to_string(pause_mode m) noexcept {
  return detail::name_of(detail::pause_mode_names, m);
}

/// Parses "target" or "all" (exact, lowercase).
constexpr std::optional<pause_mode> parse_pause_mode(std::string_view text) noexcept {
  return detail::enum_from_name<pause_mode>(detail::pause_mode_names, text);
}

/// Returns the mode a paused task ends up with when paused again with `requested`.
constexpr pause_mode merged(pause_mode current, pause_mode requested) noexcept {
  return current < requested ? requested : current;
}

}  // namespace taskorch

template <>
struct fmt::formatter<taskorch::pause_mode>
    : taskorch::detail::enum_formatter<taskorch::pause_mode> {};
