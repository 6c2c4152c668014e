#pragma once
// console_files: serves the operator console (docs/console.md) at /console/: GET or HEAD
// /console/ is its index.html, /console/<file> one of its files (console_assets.hpp), with the
// file's Content-Type, `Cache-Control: no-cache`, a strict Content-Security-Policy (scripts,
// styles and connections from this server only, no inline script) and
// `X-Content-Type-Options: nosniff`. /console redirects (308) to /console/; a file it does not
// hold is the API's 404, another method its 405. No token: the files hold no data (the
// console calls the API with the operator's token).
//
//   if (auto page = detail::console_page(head.method, head.target, lang)) return *page;

#include <taskorch/http/request_handler.hpp>

#include <optional>
#include <string_view>

namespace taskorch::http::detail {

/// The answer to a request for `target` when it is a console path; nothing for any other path.
/// The query string is ignored.
std::optional<response> console_page(std::string_view method, std::string_view target,
                                     language lang);

}  // namespace taskorch::http::detail
