#pragma once
// request_signature: checks Huawei Cloud's AK/SK request signatures (`SDK-HMAC-SHA256`), as
// the official SDKs make them, so that a DRS client built on an SDK can call taskorch with an
// access key (AK) and its secret key (SK) instead of an X-Auth-Token.
//
// A signed request carries
//
//   X-Sdk-Date: 20260504T030201Z                               (UTC, YYYYMMDD'T'HHMMSS'Z')
//   Authorization: SDK-HMAC-SHA256 Access=<AK>,
//                  SignedHeaders=content-type;host;x-project-id;x-sdk-date,
//                  Signature=<64 hex digits>                   (one line; ", " between)
//
// and the signature is, as @huaweicloud/huaweicloud-sdk-core's AKSKSigner computes it:
//
//   canonical request = METHOD '\n'
//                       canonical_uri(path) '\n'
//                       canonical_query_string(query) '\n'
//                       for each signed header, in SignedHeaders' order: name ':' value '\n'
//                       '\n'
//                       SignedHeaders '\n'
//                       payload hash
//   string to sign    = "SDK-HMAC-SHA256" '\n' X-Sdk-Date '\n' hex(SHA-256(canonical request))
//   Signature         = hex(HMAC-SHA256(key = SK, string to sign))
//
// where:
//   - canonical_uri: the path as received (not decoded), split at '/', each segment
//     percent-encoded (every byte but A-Z a-z 0-9 - _ . ~, as %XX in capitals), joined with
//     '/', with a '/' added at the end when it has none ("/v3/p/jobs" -> "/v3/p/jobs/").
//   - canonical_query_string: the parameters percent-decoded ('+' is a space), sorted by name
//     and then by value in UTF-16 code-unit order (JavaScript's sort), each re-encoded as
//     above, "name=value" joined with '&' (a name without '=' has the empty value).
//   - header names are lowercase; values are the received values without surrounding spaces
//     and tabs (HTTP parsers strip them; the SDK signs the values it sends).
//   - payload hash: hex(SHA-256(body)), the body's bytes as received (the empty body hashes
//     to e3b0c442...b855); or the value of X-Sdk-Content-Sha256 when the request has one. The
//     SDK sends `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD` for a Content-Type other than
//     application/json, leaving the body unsigned: refused unless signature_policy allows it.
//     Any other value must be the body's hash (refused otherwise).
//   - the SDK signs every header it has when it signs (Content-Type, X-Project-Id,
//     X-Security-Token, X-Language..., then Host and X-Sdk-Date, which it always adds), not
//     the ones the HTTP client adds afterwards (User-Agent, Accept, Accept-Encoding,
//     Content-Length, Connection). So `host` and `x-sdk-date` must be among SignedHeaders.
//   - X-Sdk-Date must be within `date_window` of now, either way (default 15 minutes, as
//     Huawei's API gateway).
//
// Where Node's SDK differs from this (never for DRS's routes, whose paths and header names
// use only letters, digits and '-'): it escapes ' | ^ in a path before encoding it while the
// bytes it sends keep them raw; and it orders the canonical header lines with
// String.localeCompare ('_' before '-') while SignedHeaders is in code-unit order ('-' before
// '_'). Here the path is encoded as received and the lines follow SignedHeaders, as Huawei's
// signing guide and the other SDKs do.
//
// Use: parse the Authorization header, look the AK up (an unknown AK is the caller's 401),
// then verify with its SK:
//
//   auto parsed = taskorch::http::parse_authorization(authorization_value);
//   if (auto* bad = std::get_if<signature_errc>(&parsed)) ... 401, to_string(*bad) in the log
//   auto& auth = std::get<sdk_authorization>(parsed);
//   const credential* c = credentials.find(auth.access_key);  // nullptr: unknown AK, 401
//   const header_field fields[] = {{"Host", "127.0.0.1:18080"}, {"X-Sdk-Date", ...}, ...};
//   const auto now = std::chrono::system_clock::now();
//   if (auto v = check_signed_head(auth, fields, now); !v.ok()) ... 401, before the body is read
//   signature_verdict v = verify_signature(
//       auth, {.method = "POST", .target = target, .headers = fields, .body = body},
//       c->secret_key, now);
//   if (!v.ok()) ... 401 (v.error, v.header)
//
// The caller also refuses a repeated Authorization header. The signature is compared in
// constant time (CRYPTO_memcmp); the SK is never stored, logged or part of an error.
// Thread safety: every function is pure and may be called concurrently.

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace taskorch::http {

/// The Authorization scheme, and the first line of the string to sign.
inline constexpr std::string_view sdk_signing_algorithm = "SDK-HMAC-SHA256";

/// The request header that carries the signing time, and the one that replaces the body hash.
inline constexpr std::string_view sdk_date_header = "x-sdk-date";
inline constexpr std::string_view sdk_content_sha256_header = "x-sdk-content-sha256";

/// The X-Sdk-Content-Sha256 value of a request whose body is not signed.
inline constexpr std::string_view sdk_unsigned_payload = "UNSIGNED-PAYLOAD";

/// Why a signed request is refused, in the order the checks run.
enum class signature_errc : std::uint8_t {
  // The Authorization header (parse_authorization).
  not_sdk_hmac_sha256 = 1,   ///< another scheme (or none): Bearer, V11-HMAC-SHA256, Basic...
  authorization_malformed,   ///< not `SDK-HMAC-SHA256 Name=value, Name=value, ...`
  parameter_unknown,         ///< a parameter other than Access, SignedHeaders, Signature
  parameter_repeated,        ///< one of them twice
  access_missing,            ///< no Access, or an empty one
  signed_headers_missing,    ///< no SignedHeaders, or an empty one
  signed_headers_malformed,  ///< an empty name, a name not a lowercase token, or one twice
  signature_missing,         ///< no Signature, or an empty one
  signature_malformed,       ///< a Signature other than 64 hexadecimal digits
  // The request (verify_signature).
  host_not_signed,           ///< `host` is not among SignedHeaders
  date_not_signed,           ///< `x-sdk-date` is not among SignedHeaders
  date_missing,              ///< no X-Sdk-Date header
  date_malformed,            ///< X-Sdk-Date not YYYYMMDD'T'HHMMSS'Z', or not a real time
  date_outside_window,       ///< X-Sdk-Date too far from now, before or after
  signed_header_missing,     ///< a header of SignedHeaders is not in the request
  header_repeated,           ///< a header the signature covers is in the request twice
  unsigned_payload_refused,  ///< X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD, not allowed
  content_sha256_mismatch,   ///< X-Sdk-Content-Sha256 is not the body's SHA-256
  signature_mismatch,        ///< the signature is not the request's (wrong SK, changed request)
};

/// The enumerator's name, e.g. "signature_mismatch" (for logs and tests).
std::string_view to_string(signature_errc e) noexcept;

/// A parsed `SDK-HMAC-SHA256` Authorization header.
struct sdk_authorization {
  std::string access_key;                     ///< Access: the AK
  std::vector<std::string> signed_headers;    ///< SignedHeaders, lowercase, in the header's order
  std::array<unsigned char, 32> signature{};  ///< Signature, decoded from hex
};

/// Parses the value of an Authorization header. Spaces and tabs are allowed around the value,
/// between the scheme and the parameters (at least one), around ',' and around '='. The
/// scheme and the parameter names are matched without regard to case; values are bare (no
/// quotes), without spaces or commas. Signature takes upper- or lowercase hex digits.
std::variant<sdk_authorization, signature_errc> parse_authorization(std::string_view value);

/// One header field of a request, as received (any case in the name).
struct header_field {
  std::string_view name;
  std::string_view value;
};

/// What verify_signature reads of a request. Nothing is copied.
struct signed_request {
  std::string_view method;                ///< e.g. "POST", as received
  std::string_view target;                ///< the request target as received: path ['?' query]
  std::span<const header_field> headers;  ///< every header field of the request
  std::string_view body;                  ///< the body's bytes (decoded from chunked, if it was)
};

/// What verify_signature allows.
struct signature_policy {
  std::chrono::seconds date_window = std::chrono::minutes(15);  ///< |now - X-Sdk-Date| at most
  bool allow_unsigned_payload = false;  ///< accept X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD
};

/// The outcome of verify_signature.
struct signature_verdict {
  std::optional<signature_errc> error;  ///< none: the signature is valid
  std::string access_key;               ///< the AK that signed (set either way)
  std::string header;  ///< for signed_header_missing and header_repeated: the header's name

  bool ok() const noexcept { return !error.has_value(); }
};

/// The checks that need no body and no SK: host and x-sdk-date signed, X-Sdk-Date present,
/// well formed and within policy.date_window of `now` (the bounds included), every signed
/// header present once, X-Sdk-Content-Sha256 at most once and UNSIGNED-PAYLOAD only where
/// allowed. A server may run them on the request head, before it reads the body;
/// verify_signature runs them again.
signature_verdict check_signed_head(const sdk_authorization& auth,
                                    std::span<const header_field> headers,
                                    std::chrono::system_clock::time_point now,
                                    const signature_policy& policy = {});

/// Checks that `request` is signed by `auth` with `secret_key`: check_signed_head, then
/// X-Sdk-Content-Sha256 against the body, then the signature. Throws std::runtime_error if
/// OpenSSL fails to hash (it does not, short of running out of memory).
signature_verdict verify_signature(const sdk_authorization& auth, const signed_request& request,
                                   std::string_view secret_key,
                                   std::chrono::system_clock::time_point now,
                                   const signature_policy& policy = {});

// The steps, for tests and for signing clients.

/// The time an X-Sdk-Date value names (YYYYMMDD'T'HHMMSS'Z', UTC), if it is one.
std::optional<std::chrono::sys_seconds> parse_sdk_date(std::string_view value) noexcept;

/// The canonical form of a path as received (see above).
std::string canonical_uri(std::string_view path);

/// The canonical form of a query string as received, without its '?' (see above).
std::string canonical_query_string(std::string_view query);

/// The canonical request of `request` for `signed_headers` (lowercase) and `payload_hash`.
/// A signed header missing from the request counts as empty here (verify_signature refuses
/// it first); a repeated one counts with its first value.
std::string canonical_request(const signed_request& request,
                              std::span<const std::string> signed_headers,
                              std::string_view payload_hash);

/// hex(SHA-256(data)), in lowercase.
std::string sha256_hex(std::string_view data);

/// The Signature of `canonical` signed at `sdk_date` (the X-Sdk-Date text) with `secret_key`:
/// 64 lowercase hex digits.
std::string sdk_signature_hex(std::string_view secret_key, std::string_view sdk_date,
                              std::string_view canonical);

}  // namespace taskorch::http
