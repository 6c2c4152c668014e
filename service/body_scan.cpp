#include "body_scan.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string_view>

namespace taskorch::http::detail {

namespace {

constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

/// The end of the JSON number at `begin`, or nullptr when it is not a valid number token.
/// Sets `integer` when it has neither fraction nor exponent. The JSON grammar of a number, step
/// by step, reads best in one function.
// NOLINTNEXTLINE(readability-function-cognitive-complexity): see above
const char* number_end(const char* begin, const char* end, bool& integer) noexcept {
  const char* p = begin;
  if (p < end && *p == '-') ++p;
  if (p < end && *p == '0') {
    ++p;
  } else if (p < end && is_digit(*p)) {
    while (p < end && is_digit(*p)) ++p;
  } else {
    return nullptr;
  }
  integer = true;
  if (p < end && *p == '.') {
    ++p;
    if (p == end || !is_digit(*p)) return nullptr;
    while (p < end && is_digit(*p)) ++p;
    integer = false;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    ++p;
    if (p < end && (*p == '+' || *p == '-')) ++p;
    if (p == end || !is_digit(*p)) return nullptr;
    while (p < end && is_digit(*p)) ++p;
    integer = false;
  }
  if (p < end && !(*p == ',' || *p == ']' || *p == '}' || *p == ' ' || *p == '\t' || *p == '\n' ||
                   *p == '\r')) {
    return nullptr;  // "1x", "01": not a number token; the DOM parse refuses it
  }
  return p;
}

/// True when the integer text (an optional '-', then digits without a leading zero) fits in
/// int64_t when negative, uint64_t otherwise: what the DOM parser takes as an integer.
bool fits_64_bits(std::string_view text) noexcept {
  const bool negative = text.front() == '-';
  if (negative) text.remove_prefix(1);
  const std::string_view max = negative ? "9223372036854775808" : "18446744073709551615";
  return text.size() < max.size() || (text.size() == max.size() && text <= max);
}

/// The name of a top-level field, shown in a message: printable ASCII, at most 64 characters.
std::string_view shown_field(std::string_view key) noexcept {
  if (key.empty() || key.size() > 64) return "body";
  for (char c : key) {
    if (c < 0x20 || c > 0x7e || c == '\\') return "body";
  }
  return key;
}

}  // namespace

// One pass over the bytes, its state in a few locals, reads best as one loop.
// NOLINTNEXTLINE(readability-function-cognitive-complexity): see above
std::optional<request_error> scan_body(char* text, std::size_t size, const body_limits& limits) {
  const char* const end = text + size;
  char* p = text;
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) ++p;
  if (p == end || *p != '{') return request_error::malformed_body();

  std::size_t depth = 0;
  bool key_next = false;   // at depth 1, the next string is a key
  std::string_view field;  // the top-level field being read
  bool in_jobs = false;    // inside the top-level `jobs` array (depth 2)
  bool item_open = false;  // an item of `jobs` has started and not yet ended
  std::size_t items = 0;

  for (; p < end; ++p) {
    const char c = *p;
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ':') continue;
    if (c == ',') {
      if (depth == 1) key_next = true;
      if (depth == 2) item_open = false;
      continue;
    }
    if (c == '}' || c == ']') {
      if (depth == 2) in_jobs = false;
      if (depth > 0) --depth;
      continue;
    }
    // A value starts here: directly inside `jobs`, it is one more item.
    if (in_jobs && depth == 2 && !item_open) {
      item_open = true;
      if (++items > limits.max_jobs) return request_error::too_many_jobs(limits.max_jobs);
    }
    if (c == '"') {
      char* const start = p + 1;
      char* close = start;
      for (;;) {  // the closing quote: one not preceded by an odd number of backslashes
        close = static_cast<char*>(std::memchr(close, '"', static_cast<std::size_t>(end - close)));
        if (close == nullptr) return std::nullopt;  // unterminated: the DOM parse refuses it
        std::size_t backslashes = 0;
        while (close - backslashes > start &&
               close[-1 - static_cast<std::ptrdiff_t>(backslashes)] == '\\') {
          ++backslashes;
        }
        if (backslashes % 2 == 0) break;
        ++close;
      }
      if (depth == 1 && key_next) {
        field = std::string_view(start, static_cast<std::size_t>(close - start));
        key_next = false;
      }
      p = close;
    } else if (c == '{' || c == '[') {
      if (++depth > limits.max_depth) {
        return request_error::too_deep(shown_field(field), limits.max_depth);
      }
      if (depth == 1) {
        key_next = c == '{';
      } else if (depth == 2 && c == '[' && field == "jobs") {
        in_jobs = true;
        items = 0;
        item_open = false;
      }
    } else if (is_digit(c) || c == '-') {
      // Plain integers of up to 18 digits fit in 64 bits: skip them at once.
      char* q = p + (c == '-' ? 1 : 0);
      while (q < end && is_digit(*q)) ++q;
      const auto digits = static_cast<std::size_t>(q - p) - (c == '-' ? 1 : 0);
      if (digits < 19 && (q == end || (*q != '.' && *q != 'e' && *q != 'E'))) {
        p = q - 1;
        continue;
      }
      bool integer = false;
      const char* const stop = number_end(p, end, integer);
      if (stop == nullptr) continue;  // not a number token: the DOM parse refuses it
      const auto length = static_cast<std::size_t>(stop - p);
      if (!integer || !fits_64_bits(std::string_view(p, length))) {
        // A valid number token that is not a small integer has at least 3 characters.
        p[0] = '0';
        p[1] = '.';
        std::fill(p + 2, p + length, '0');
      }
      p += length - 1;
    }
    // true, false, null (or garbage, which the DOM parse refuses) need nothing.
  }
  return std::nullopt;
}

}  // namespace taskorch::http::detail
