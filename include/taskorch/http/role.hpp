#pragma once
// role: what a token may do, as data. A token (`--token TOKEN:PROJECT_ID[:ROLE]`) is bound to
// a project and a role; each role may call some kinds of route (endpoint.hpp's call_kind):
//
//   role       command  query  report  events
//   operator   yes      yes    no      yes     (the default)
//   worker     no       yes    yes     yes
//   reader     no       yes    no      yes
//
// api.cpp refuses any other call with 403 TASKORCH.0403, before the body is read.
//
//   auto r = taskorch::http::parse_role("reader");        // role::reader
//   may_call(*r, call_kind::command) == false;  to_string(*r) == "reader"

#include <taskorch/http/endpoint.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace taskorch::http {

/// The roles a token may have (`operator_`: `operator` is a C++ keyword).
enum class role : std::uint8_t { operator_, worker, reader };

/// One row of the role table.
struct role_row {
  role id;
  std::string_view name;  ///< as `--token` spells it
  bool command;           ///< may call call_kind::command routes
  bool query;             ///< call_kind::query
  bool report;            ///< call_kind::report
  bool events;            ///< call_kind::events
};

// clang-format off
/// Every role, in the enum's order: what it may call.
inline constexpr std::array role_table{
  //       id                name        command query  report events
  role_row{role::operator_, "operator", true,   true,  false, true},
  role_row{role::worker,    "worker",   false,  true,  true,  true},
  role_row{role::reader,    "reader",   false,  true,  false, true},
};
// clang-format on

static_assert(
    [] {
      for (std::size_t i = 0; i < role_table.size(); ++i) {
        if (static_cast<std::size_t>(role_table[i].id) != i) return false;
      }
      return true;
    }(),
    "role_table lists every role once, in the enum's order");

/// The role of a token given without one.
inline constexpr role default_role = role::operator_;

/// The role's name: "operator", "worker" or "reader".
constexpr std::string_view to_string(role r) noexcept {
  return role_table[static_cast<std::size_t>(r)].name;
}

/// The role named `name` (exactly, in lowercase), if any.
constexpr std::optional<role> parse_role(std::string_view name) noexcept {
  for (const role_row& row : role_table) {
    if (row.name == name) return row.id;
  }
  return std::nullopt;
}

/// True when a token of role `r` may call a route of kind `kind` (`open` routes: anyone).
constexpr bool may_call(role r, call_kind kind) noexcept {
  const role_row& row = role_table[static_cast<std::size_t>(r)];
  switch (kind) {
    case call_kind::command:
      return row.command;
    case call_kind::query:
      return row.query;
    case call_kind::report:
      return row.report;
    case call_kind::events:
      return row.events;
    case call_kind::open:
      return true;
  }
  return false;
}

}  // namespace taskorch::http
