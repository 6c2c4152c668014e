#pragma once
// body_scan: the first pass of the body parser over a request body's raw bytes (see
// body_parser.hpp). It reads the bytes once, without building anything, and stops at the first
// limit passed: a document that does not start as an object, nesting deeper than the limit, or
// more items in the top-level `jobs` array than the limit. It does not check the syntax (the DOM
// parse that follows does), so a body over a limit is refused for that, whatever comes after.
//
// It also rewrites, in place, every valid JSON number that is not an integer of 64 bits (2^70,
// 1e999, 0.5) into a zero of the same length (`0.000`): the DOM parser would refuse the first
// two as malformed, and no field of a batch body takes such a number, so each is still refused
// wherever a field needs a value, and accepted where the field is ignored.
//
//   std::string body = ...;  // writable
//   if (auto e = detail::scan_body(body.data(), body.size(), limits)) return *e;

#include <taskorch/http/body_parser.hpp>
#include <taskorch/http/request_error.hpp>

#include <cstddef>
#include <optional>

namespace taskorch::http::detail {

/// Scans `size` bytes at `text`, rewriting wide numbers; returns the refusal of the first limit
/// passed, if any.
std::optional<request_error> scan_body(char* text, std::size_t size, const body_limits& limits);

}  // namespace taskorch::http::detail
