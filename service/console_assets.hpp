#pragma once
// console_assets: the operator console's files (console/ in the source tree), built into the
// binary. The definition is generated at build time by cmake/embed_files.cmake (a build output),
// so the server reads nothing from disk or the network to serve them (console_files.hpp).
//
//   for (const console_asset& a : console_assets()) { a.name; a.bytes; }  // "index.html", ...

#include <span>
#include <string_view>

namespace taskorch::http::detail {

/// One file of the console: its name (no folder) and its bytes.
struct console_asset {
  std::string_view name;
  std::string_view bytes;
};

/// Every file of the console, in the order service/CMakeLists.txt lists them.
std::span<const console_asset> console_assets() noexcept;

}  // namespace taskorch::http::detail
