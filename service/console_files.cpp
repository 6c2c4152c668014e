#include "console_files.hpp"

#include "console_assets.hpp"

#include <array>

namespace taskorch::http::detail {

namespace {

constexpr std::string_view console_root = "/console";
constexpr std::string_view console_methods = "GET, HEAD";

/// The headers of every console answer (docs/console.md, "Security"): nothing but this
/// server's own files may run, style the page or be fetched by it; no inline script or style;
/// the page may not be framed; the browser keeps to the declared Content-Type.
constexpr std::array<header_field, 3> console_headers{{
    {"Content-Security-Policy",
     "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
     "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
    {"X-Content-Type-Options", "nosniff"},
    {"Cache-Control", "no-cache"},
}};

/// The Content-Type of a console file, from its name's extension.
std::string_view content_type_of(std::string_view name) {
  const auto ends = [name](std::string_view ext) { return name.ends_with(ext); };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".png")) return "image/png";
  return "application/octet-stream";
}

const console_asset* find_asset(std::string_view name) {
  for (const console_asset& asset : console_assets()) {
    if (asset.name == name) return &asset;
  }
  return nullptr;
}

response with_console_headers(response r) {
  r.headers = console_headers;
  return r;
}

}  // namespace

std::optional<response> console_page(std::string_view method, std::string_view target,
                                     language lang) {
  const std::string_view path = target.substr(0, target.find('?'));
  if (!path.starts_with(console_root)) return std::nullopt;
  const std::string_view rest = path.substr(console_root.size());
  if (!rest.empty() && !rest.starts_with('/')) return std::nullopt;  // /consoles: not ours

  if (method != "GET" && method != "HEAD") {
    response r = error_response(request_error::of(request_errc::method_not_allowed), lang);
    r.allow = console_methods;
    return with_console_headers(std::move(r));
  }
  if (rest.empty()) {
    response r;
    r.status = 308;
    r.location = "/console/";
    r.content_type = "text/plain; charset=utf-8";
    return with_console_headers(std::move(r));
  }
  const std::string_view name = rest == "/" ? std::string_view("index.html") : rest.substr(1);
  const console_asset* asset = find_asset(name);
  if (asset == nullptr) {
    return with_console_headers(error_response(request_error::of(request_errc::not_found), lang));
  }
  response r;
  r.body.assign(asset->bytes);
  r.content_type = content_type_of(asset->name);
  return with_console_headers(std::move(r));
}

}  // namespace taskorch::http::detail
