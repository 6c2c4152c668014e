#include <taskorch/http/request_signature.hpp>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdexcept>
#include <string>
#include <utility>

namespace taskorch::http {

namespace {

constexpr std::size_t sha256_size = 32;
constexpr std::string_view hex_digits = "0123456789abcdef";
constexpr std::string_view hex_digits_upper = "0123456789ABCDEF";

bool is_space(char c) noexcept { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

char to_lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return to_lower(x) == to_lower(y);
         });
}

/// The value of a hex digit, or -1.
int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// A header name as the signature lists it: a token (RFC 9110) in lowercase.
bool is_lowercase_token(std::string_view name) noexcept {
  constexpr std::string_view symbols = "!#$%&'*+-.^_`|~";
  return !name.empty() && std::all_of(name.begin(), name.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           symbols.find(c) != std::string_view::npos;
  });
}

/// The unreserved characters of RFC 3986, which the SDK leaves as they are.
bool is_unreserved(unsigned char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

/// Appends `bytes` percent-encoded as the SDK's urlEncode does: UTF-8 bytes other than the
/// unreserved characters become %XX, in capitals.
void append_encoded(std::string& out, std::string_view bytes) {
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c)) {
      out += ch;
    } else {
      out += '%';
      out += hex_digits_upper[c >> 4U];
      out += hex_digits_upper[c & 0x0FU];
    }
  }
}

/// Decodes a query component as Node's querystring and URLSearchParams do: '+' is a space,
/// %XX a byte, and a '%' not followed by two hex digits stays as it is.
std::string decode_query_component(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
               hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

/// Reads one code point of UTF-8 at `at` and moves past it; a byte that does not start a
/// valid sequence counts as the code point of its value, alone.
char32_t next_code_point(std::string_view s, std::size_t& at) noexcept {
  const auto lead = static_cast<unsigned char>(s[at]);
  std::size_t length = 0;
  char32_t cp = 0;
  if (lead < 0x80U) {
    ++at;
    return lead;
  }
  if ((lead & 0xE0U) == 0xC0U) {
    length = 2;
    cp = lead & 0x1FU;
  } else if ((lead & 0xF0U) == 0xE0U) {
    length = 3;
    cp = lead & 0x0FU;
  } else if ((lead & 0xF8U) == 0xF0U) {
    length = 4;
    cp = lead & 0x07U;
  } else {
    ++at;
    return lead;
  }
  if (at + length > s.size()) {
    ++at;
    return lead;
  }
  for (std::size_t k = 1; k < length; ++k) {
    const auto c = static_cast<unsigned char>(s[at + k]);
    if ((c & 0xC0U) != 0x80U) {
      ++at;
      return lead;
    }
    cp = (cp << 6U) | (c & 0x3FU);
  }
  at += length;
  return cp;
}

/// A code point's place in UTF-16 code-unit order: the code points above U+FFFF (surrogate
/// pairs, D800-DBFF first) sort between U+D7FF and U+E000.
std::uint32_t utf16_rank(char32_t cp) noexcept {
  const auto v = static_cast<std::uint32_t>(cp);
  return v >= 0xE000U && v <= 0xFFFFU ? v + 0x110000U : v;
}

/// a < b in the order of JavaScript's default sort (UTF-16 code units), for UTF-8 texts.
bool utf16_less(std::string_view a, std::string_view b) noexcept {
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < a.size() && j < b.size()) {
    const std::uint32_t x = utf16_rank(next_code_point(a, i));
    const std::uint32_t y = utf16_rank(next_code_point(b, j));
    if (x != y) return x < y;
  }
  return i >= a.size() && j < b.size();
}

/// The values of the header `name` (lowercase) in `headers`: how many, and the first.
struct header_lookup {
  std::size_t count = 0;
  std::string_view first;
};

header_lookup find_header(std::span<const header_field> headers, std::string_view name) noexcept {
  header_lookup found;
  for (const header_field& field : headers) {
    if (iequals(field.name, name)) {
      if (found.count == 0) found.first = trim(field.value);
      ++found.count;
    }
  }
  return found;
}

std::string to_hex(std::span<const unsigned char> bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const unsigned char b : bytes) {
    out += hex_digits[b >> 4U];
    out += hex_digits[b & 0x0FU];
  }
  return out;
}

// OpenSSL's algorithms are fetched once: fetching one by name on every call (EVP_Q_digest,
// EVP_Q_mac) cost more than hashing a batch request's body.

struct digest_free {
  void operator()(EVP_MD* md) const noexcept { EVP_MD_free(md); }
};
struct mac_free {
  void operator()(EVP_MAC* mac) const noexcept { EVP_MAC_free(mac); }
};
struct mac_context_free {
  void operator()(EVP_MAC_CTX* ctx) const noexcept { EVP_MAC_CTX_free(ctx); }
};
using mac_context = std::unique_ptr<EVP_MAC_CTX, mac_context_free>;

[[noreturn]] void openssl_failed(const char* what) {
  throw std::runtime_error(std::string("request_signature: ") + what + " failed in OpenSSL");
}

const EVP_MD& sha256_algorithm() {
  static const std::unique_ptr<EVP_MD, digest_free> md(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  if (!md) openssl_failed("fetching SHA-256");
  return *md;
}

/// An HMAC-SHA256 context without a key: each call duplicates it and sets its key (read only
/// once made, so threads may duplicate it at once).
const EVP_MAC_CTX& hmac_sha256_template() {
  static const mac_context ctx = [] {
    const std::unique_ptr<EVP_MAC, mac_free> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
    mac_context made(mac ? EVP_MAC_CTX_new(mac.get()) : nullptr);
    std::string digest = "SHA256";
    const std::array params{OSSL_PARAM_construct_utf8_string("digest", digest.data(), 0),
                            OSSL_PARAM_construct_end()};
    if (!made || EVP_MAC_CTX_set_params(made.get(), params.data()) == 0) return mac_context();
    return made;
  }();
  if (!ctx) openssl_failed("setting up HMAC-SHA256");
  return *ctx;
}

std::array<unsigned char, sha256_size> sha256(std::string_view data) {
  std::array<unsigned char, sha256_size> digest{};
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &length, &sha256_algorithm(), nullptr) ==
          0 ||
      length != digest.size()) {
    openssl_failed("SHA-256");
  }
  return digest;
}

std::array<unsigned char, sha256_size> hmac_sha256(std::string_view key, std::string_view data) {
  static constexpr unsigned char no_key = 0;  // OpenSSL takes a null key as "keep the last one"
  std::array<unsigned char, sha256_size> mac{};
  std::size_t length = 0;
  const mac_context ctx(EVP_MAC_CTX_dup(&hmac_sha256_template()));
  if (!ctx ||
      EVP_MAC_init(ctx.get(),
                   key.empty() ? &no_key : reinterpret_cast<const unsigned char*>(key.data()),
                   key.size(), nullptr) == 0 ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(data.data()), data.size()) ==
          0 ||
      EVP_MAC_final(ctx.get(), mac.data(), &length, mac.size()) == 0 || length != mac.size()) {
    openssl_failed("HMAC-SHA256");
  }
  return mac;
}

std::string string_to_sign(std::string_view sdk_date, std::string_view canonical) {
  std::string text;
  text.reserve(sdk_signing_algorithm.size() + sdk_date.size() + 2 + 2 * sha256_size);
  text += sdk_signing_algorithm;
  text += '\n';
  text += sdk_date;
  text += '\n';
  text += sha256_hex(canonical);
  return text;
}

/// Reads the digits of s[from, from + n) as a number.
bool read_number(std::string_view s, std::size_t from, std::size_t n, unsigned& value) noexcept {
  value = 0;
  for (std::size_t i = from; i < from + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    value = value * 10 + static_cast<unsigned>(s[i] - '0');
  }
  return true;
}

/// The parameters of an Authorization header, as they are parsed.
struct authorization_parameters {
  std::optional<std::string_view> access;
  std::optional<std::string_view> signed_headers;
  std::optional<std::string_view> signature;
};

/// Takes the text up to a space, a tab or one of `stops` off the front of `rest`.
std::string_view take_until(std::string_view& rest, std::string_view stops) noexcept {
  std::size_t n = 0;
  while (n < rest.size() && !is_space(rest[n]) && stops.find(rest[n]) == std::string_view::npos) {
    ++n;
  }
  const std::string_view taken = rest.substr(0, n);
  rest.remove_prefix(n);
  return taken;
}

bool is_visible_ascii(std::string_view s) noexcept {
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x21U && u <= 0x7EU;
  });
}

/// Where the parameter `name` goes, or nullptr for an unknown parameter.
std::optional<std::string_view>* slot_of(authorization_parameters& params,
                                         std::string_view name) noexcept {
  if (iequals(name, "Access")) return &params.access;
  if (iequals(name, "SignedHeaders")) return &params.signed_headers;
  if (iequals(name, "Signature")) return &params.signature;
  return nullptr;
}

/// Splits "Name=value, Name=value" (values bare, up to a space or a comma) into `params`;
/// returns the first error.
std::optional<signature_errc> read_parameters(std::string_view rest,
                                              authorization_parameters& params) {
  while (true) {
    const std::string_view name = take_until(rest, "=,");
    rest = trim(rest);
    if (name.empty() || rest.empty() || rest.front() != '=') {
      return signature_errc::authorization_malformed;
    }
    rest = trim(rest.substr(1));
    const std::string_view value = take_until(rest, ",");
    if (!is_visible_ascii(value)) return signature_errc::authorization_malformed;
    rest = trim(rest);

    std::optional<std::string_view>* slot = slot_of(params, name);
    if (slot == nullptr) return signature_errc::parameter_unknown;
    if (slot->has_value()) return signature_errc::parameter_repeated;
    *slot = value;

    if (rest.empty()) return std::nullopt;
    if (rest.front() != ',') return signature_errc::authorization_malformed;
    rest = trim(rest.substr(1));
    if (rest.empty()) return signature_errc::authorization_malformed;  // a trailing comma
  }
}

}  // namespace

std::string_view to_string(signature_errc e) noexcept {
  switch (e) {
    case signature_errc::not_sdk_hmac_sha256:
      return "not_sdk_hmac_sha256";
    case signature_errc::authorization_malformed:
      return "authorization_malformed";
    case signature_errc::parameter_unknown:
      return "parameter_unknown";
    case signature_errc::parameter_repeated:
      return "parameter_repeated";
    case signature_errc::access_missing:
      return "access_missing";
    case signature_errc::signed_headers_missing:
      return "signed_headers_missing";
    case signature_errc::signed_headers_malformed:
      return "signed_headers_malformed";
    case signature_errc::signature_missing:
      return "signature_missing";
    case signature_errc::signature_malformed:
      return "signature_malformed";
    case signature_errc::host_not_signed:
      return "host_not_signed";
    case signature_errc::date_not_signed:
      return "date_not_signed";
    case signature_errc::date_missing:
      return "date_missing";
    case signature_errc::date_malformed:
      return "date_malformed";
    case signature_errc::date_outside_window:
      return "date_outside_window";
    case signature_errc::signed_header_missing:
      return "signed_header_missing";
    case signature_errc::header_repeated:
      return "header_repeated";
    case signature_errc::unsigned_payload_refused:
      return "unsigned_payload_refused";
    case signature_errc::content_sha256_mismatch:
      return "content_sha256_mismatch";
    case signature_errc::signature_mismatch:
      return "signature_mismatch";
  }
  return "unknown";
}

std::variant<sdk_authorization, signature_errc> parse_authorization(std::string_view value) {
  value = trim(value);
  std::size_t s = 0;
  while (s < value.size() && !is_space(value[s]) && value[s] != ',') ++s;
  if (!iequals(value.substr(0, s), sdk_signing_algorithm)) {
    return signature_errc::not_sdk_hmac_sha256;
  }
  const std::string_view rest = trim(value.substr(s));
  if (s == value.size() || rest.empty()) return signature_errc::access_missing;

  authorization_parameters params;
  if (auto error = read_parameters(rest, params)) return *error;

  if (!params.access || params.access->empty()) return signature_errc::access_missing;
  if (!params.signed_headers || params.signed_headers->empty()) {
    return signature_errc::signed_headers_missing;
  }
  if (!params.signature || params.signature->empty()) return signature_errc::signature_missing;

  sdk_authorization auth;
  auth.access_key = std::string(*params.access);

  std::string_view list = *params.signed_headers;
  while (true) {
    const std::size_t semicolon = list.find(';');
    const std::string_view name = list.substr(0, semicolon);
    if (!is_lowercase_token(name) ||
        std::find(auth.signed_headers.begin(), auth.signed_headers.end(), name) !=
            auth.signed_headers.end()) {
      return signature_errc::signed_headers_malformed;
    }
    auth.signed_headers.emplace_back(name);
    if (semicolon == std::string_view::npos) break;
    list.remove_prefix(semicolon + 1);
  }

  const std::string_view hex = *params.signature;
  if (hex.size() != 2 * auth.signature.size()) return signature_errc::signature_malformed;
  for (std::size_t i = 0; i < auth.signature.size(); ++i) {
    const int high = hex_value(hex[2 * i]);
    const int low = hex_value(hex[2 * i + 1]);
    if (high < 0 || low < 0) return signature_errc::signature_malformed;
    auth.signature[i] = static_cast<unsigned char>(high * 16 + low);
  }
  return auth;
}

std::optional<std::chrono::sys_seconds> parse_sdk_date(std::string_view value) noexcept {
  // YYYYMMDD'T'HHMMSS'Z'
  if (value.size() != 16 || value[8] != 'T' || value[15] != 'Z') return std::nullopt;
  unsigned y = 0;
  unsigned mo = 0;
  unsigned d = 0;
  unsigned h = 0;
  unsigned mi = 0;
  unsigned s = 0;
  if (!read_number(value, 0, 4, y) || !read_number(value, 4, 2, mo) ||
      !read_number(value, 6, 2, d) || !read_number(value, 9, 2, h) ||
      !read_number(value, 11, 2, mi) || !read_number(value, 13, 2, s)) {
    return std::nullopt;
  }
  const std::chrono::year_month_day day{std::chrono::year{static_cast<int>(y)},
                                        std::chrono::month{mo}, std::chrono::day{d}};
  if (!day.ok() || h > 23 || mi > 59 || s > 59) return std::nullopt;
  return std::chrono::sys_days{day} + std::chrono::hours{h} + std::chrono::minutes{mi} +
         std::chrono::seconds{s};
}

std::string canonical_uri(std::string_view path) {
  std::string out;
  out.reserve(path.size() + path.size() / 2 + 1);
  while (true) {
    const std::size_t slash = path.find('/');
    append_encoded(out, path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    out += '/';
    path.remove_prefix(slash + 1);
  }
  if (out.empty() || out.back() != '/') out += '/';
  return out;
}

std::string canonical_query_string(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view piece = query.substr(0, amp);
    if (!piece.empty()) {
      const std::size_t eq = piece.find('=');
      params.emplace_back(decode_query_component(piece.substr(0, eq)),
                          eq == std::string_view::npos
                              ? std::string()
                              : decode_query_component(piece.substr(eq + 1)));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  std::sort(params.begin(), params.end(), [](const auto& a, const auto& b) {
    if (a.first != b.first) return utf16_less(a.first, b.first);
    return utf16_less(a.second, b.second);
  });
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    append_encoded(out, name);
    out += '=';
    append_encoded(out, value);
  }
  return out;
}

std::string canonical_request(const signed_request& request,
                              std::span<const std::string> signed_headers,
                              std::string_view payload_hash) {
  const std::size_t question = request.target.find('?');
  const std::string_view path = request.target.substr(0, question);
  const std::string_view query =
      question == std::string_view::npos ? std::string_view() : request.target.substr(question + 1);

  std::string out;
  out += request.method;
  out += '\n';
  out += canonical_uri(path);
  out += '\n';
  out += canonical_query_string(query);
  out += '\n';
  for (const std::string& name : signed_headers) {
    out += name;
    out += ':';
    out += find_header(request.headers, name).first;
    out += '\n';
  }
  out += '\n';
  for (std::size_t i = 0; i < signed_headers.size(); ++i) {
    if (i != 0) out += ';';
    out += signed_headers[i];
  }
  out += '\n';
  out += payload_hash;
  return out;
}

std::string sha256_hex(std::string_view data) { return to_hex(sha256(data)); }

std::string sdk_signature_hex(std::string_view secret_key, std::string_view sdk_date,
                              std::string_view canonical) {
  return to_hex(hmac_sha256(secret_key, string_to_sign(sdk_date, canonical)));
}

signature_verdict check_signed_head(const sdk_authorization& auth,
                                    std::span<const header_field> headers,
                                    std::chrono::system_clock::time_point now,
                                    const signature_policy& policy) {
  signature_verdict verdict;
  verdict.access_key = auth.access_key;
  const auto refuse = [&verdict](signature_errc e, std::string_view header = {}) {
    verdict.error = e;
    verdict.header = std::string(header);
    return std::move(verdict);
  };
  const auto is_signed = [&auth](std::string_view name) {
    return std::find(auth.signed_headers.begin(), auth.signed_headers.end(), name) !=
           auth.signed_headers.end();
  };

  if (!is_signed("host")) return refuse(signature_errc::host_not_signed);
  if (!is_signed(sdk_date_header)) return refuse(signature_errc::date_not_signed);

  const header_lookup date_header = find_header(headers, sdk_date_header);
  if (date_header.count == 0) return refuse(signature_errc::date_missing);
  if (date_header.count > 1) return refuse(signature_errc::header_repeated, sdk_date_header);
  const std::optional<std::chrono::sys_seconds> date = parse_sdk_date(date_header.first);
  if (!date) return refuse(signature_errc::date_malformed);
  // In milliseconds: a time_point of the system clock in nanoseconds cannot hold every year
  // X-Sdk-Date can name.
  using std::chrono::milliseconds;
  const milliseconds skew = std::chrono::floor<milliseconds>(now).time_since_epoch() -
                            std::chrono::duration_cast<milliseconds>(date->time_since_epoch());
  if (skew > policy.date_window || skew < -policy.date_window) {
    return refuse(signature_errc::date_outside_window);
  }

  for (const std::string& name : auth.signed_headers) {
    const header_lookup found = find_header(headers, name);
    if (found.count == 0) return refuse(signature_errc::signed_header_missing, name);
    if (found.count > 1) return refuse(signature_errc::header_repeated, name);
  }

  const header_lookup content_sha256 = find_header(headers, sdk_content_sha256_header);
  if (content_sha256.count > 1) {
    return refuse(signature_errc::header_repeated, sdk_content_sha256_header);
  }
  if (content_sha256.count == 1 && content_sha256.first == sdk_unsigned_payload &&
      !policy.allow_unsigned_payload) {
    return refuse(signature_errc::unsigned_payload_refused);
  }
  return verdict;
}

signature_verdict verify_signature(const sdk_authorization& auth, const signed_request& request,
                                   std::string_view secret_key,
                                   std::chrono::system_clock::time_point now,
                                   const signature_policy& policy) {
  signature_verdict verdict = check_signed_head(auth, request.headers, now, policy);
  if (!verdict.ok()) return verdict;

  // The payload hash: the body's, or X-Sdk-Content-Sha256 as sent (the SDK signs that text),
  // which check_signed_head found at most once, and UNSIGNED-PAYLOAD only where allowed.
  std::string payload_hash = sha256_hex(request.body);
  const header_lookup content_sha256 = find_header(request.headers, sdk_content_sha256_header);
  if (content_sha256.count == 1) {
    if (content_sha256.first != sdk_unsigned_payload &&
        !iequals(content_sha256.first, payload_hash)) {
      verdict.error = signature_errc::content_sha256_mismatch;
      return verdict;
    }
    payload_hash = std::string(content_sha256.first);
  }

  const std::string canonical = canonical_request(request, auth.signed_headers, payload_hash);
  const std::array<unsigned char, sha256_size> expected = hmac_sha256(
      secret_key, string_to_sign(find_header(request.headers, sdk_date_header).first, canonical));
  if (CRYPTO_memcmp(expected.data(), auth.signature.data(), expected.size()) != 0) {
    verdict.error = signature_errc::signature_mismatch;
  }
  return verdict;
}

}  // namespace taskorch::http
