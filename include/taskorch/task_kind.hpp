#pragma once
// task_kind: what a task does, DRS `db_use_type`: migration, sync or cloudDataGuard (DR).
//
//   taskorch::parse_task_kind("cloudDataGuard") == taskorch::task_kind::cloud_data_guard

#include <taskorch/detail/enum_names.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace taskorch {

/// The kind of a task.
enum class task_kind : std::uint8_t { migration, sync, cloud_data_guard };

/// The number of task kinds.
inline constexpr std::size_t task_kind_count = 3;

namespace detail {
inline constexpr std::array<std::string_view, task_kind_count> task_kind_names{"migration", "sync",
                                                                               "cloudDataGuard"};
inline constexpr std::array<std::string_view, task_kind_count> task_kind_activities{
    "migrating", "synchronizing", "disaster recovery"};
}  // namespace detail

/// True for a value the enum declares (a cast from an integer may produce others).
constexpr bool is_valid(task_kind k) noexcept {
  return static_cast<std::size_t>(k) < task_kind_count;
}

/// Returns the DRS `db_use_type` of `k`: "migration", "sync" or "cloudDataGuard".
constexpr std::string_view to_string(task_kind k) noexcept {
  return detail::name_of(detail::task_kind_names, k);
}

/// Parses a DRS `db_use_type`.
constexpr std::optional<task_kind> parse_task_kind(std::string_view text) noexcept {
  return detail::enum_from_name<task_kind>(detail::task_kind_names, text);
}

/// Returns what a running task of kind `k` is doing: "migrating", "synchronizing" or
/// "disaster recovery".
constexpr std::string_view activity(task_kind k) noexcept {
  return detail::name_of(detail::task_kind_activities, k);
}

}  // namespace taskorch

template <>
struct fmt::formatter<taskorch::task_kind> : taskorch::detail::enum_formatter<taskorch::task_kind> {
};
