// SDK-HMAC-SHA256 request signatures (request_signature.hpp), checked against requests signed
// by Huawei Cloud's own SDK.
//
// The vectors below are what @huaweicloud/huaweicloud-sdk-core 3.1.211 (the version
// tests/e2e/sdk/package-lock.json pins) sent: tests/e2e/sdk/make_vectors.js drives the SDK's
// HcClient (built by its ClientBuilder, BasicCredentials with the AK, SK and project below,
// the clock fixed at 2026-05-04T03:02:01Z) against a listener on 127.0.0.1:18080, and prints
// the method, target, header fields (in the order received) and body of each request, and
// the canonical request the SDK's AKSKSigner built:
//
//   cd tests/e2e/sdk && npm ci && node make_vectors.js
//
// Only the User-Agent's random application id is replaced (the header is not signed).

#include <taskorch/http/request_signature.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace taskorch::http {
namespace {

using namespace std::chrono_literals;
using std::chrono::system_clock;

constexpr std::string_view access_key = "HPUAEXAMPLEAK7Q2ZK1T";
constexpr std::string_view secret_key = "exampleSecretKey0123456789abcdefghijklmn";
constexpr std::string_view project = "054ba152d480d55b2f5dc0069e7ddef0";
constexpr std::string_view empty_sha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// The time of the vectors' X-Sdk-Date, 20260504T030201Z.
const system_clock::time_point signed_at =
    std::chrono::sys_days{std::chrono::year{2026} / 5 / 4} + 3h + 2min + 1s;

/// One request the SDK sent.
struct sdk_vector {
  std::string_view method;
  std::string_view target;
  std::vector<header_field> headers;
  std::string_view body;
  std::string_view canonical_request;  ///< as the SDK's signer built it
};

const sdk_vector pause{
    .method = "POST",
    .target = "/v3/054ba152d480d55b2f5dc0069e7ddef0/jobs/batch-pause-task",
    .headers =
        {
            {"Accept", "application/json"},
            {"Content-Type", "application/json"},
            {"User-Agent",
             "huaweicloud-usdk-nodejs/3.0; os/linux#6.18.44-fc-v669#x64 nodejs/v20.20.2 meta/C; "
             "app/<a random id>"},
            {"X-Project-Id", "054ba152d480d55b2f5dc0069e7ddef0"},
            {"X-Sdk-Date", "20260504T030201Z"},
            {"host", "127.0.0.1:18080"},
            {"Authorization",
             "SDK-HMAC-SHA256 Access=HPUAEXAMPLEAK7Q2ZK1T, "
             "SignedHeaders=content-type;host;x-project-id;x-sdk-date, "
             "Signature=308adf18fa821ecfd14a119d2d0367ffec4110ab9a750be7751e1309c7995b58"},
            {"Content-Length", "82"},
            {"Accept-Encoding", "gzip, compress, deflate, br"},
            {"Connection", "keep-alive"},
        },
    .body =
        "{\"jobs\":[{\"job_id\":\"8d0e8e36-a618-490d-8a46-8c61ac9jb502\",\"pause_mode\":\"target\"}"
        "]}",
    .canonical_request =
        "POST\n"
        "/v3/054ba152d480d55b2f5dc0069e7ddef0/jobs/batch-pause-task/\n"
        "\n"
        "content-type:application/json\n"
        "host:127.0.0.1:18080\n"
        "x-project-id:054ba152d480d55b2f5dc0069e7ddef0\n"
        "x-sdk-date:20260504T030201Z\n"
        "\n"
        "content-type;host;x-project-id;x-sdk-date\n"
        "b7ed96ff71ad4e255ca29174506a36950df656f630bc14fd372dbf72d92bebac",
};

const sdk_vector get_with_query{
    .method = "GET",
    .target =
        "/v3/054ba152d480d55b2f5dc0069e7ddef0/events?since=12&b=a%20a&b=z&A*=%C3%A9~!*'()&"
        "a=%2B%2F%3F%3D%26&Z=",
    .headers =
        {
            {"Accept", "application/json"},
            {"Content-Type", "application/json"},
            {"User-Agent",
             "huaweicloud-usdk-nodejs/3.0; os/linux#6.18.44-fc-v669#x64 nodejs/v20.20.2 meta/C; "
             "app/<a random id>"},
            {"X-Project-Id", "054ba152d480d55b2f5dc0069e7ddef0"},
            {"X-Sdk-Date", "20260504T030201Z"},
            {"host", "127.0.0.1:18080"},
            {"Authorization",
             "SDK-HMAC-SHA256 Access=HPUAEXAMPLEAK7Q2ZK1T, "
             "SignedHeaders=content-type;host;x-project-id;x-sdk-date, "
             "Signature=11d49ea227bab8ea29126aef8d3f8a1110a0c4efa43388c003b3cba4b0a50866"},
            {"Accept-Encoding", "gzip, compress, deflate, br"},
            {"Connection", "keep-alive"},
        },
    .body = "",
    .canonical_request =
        "GET\n"
        "/v3/054ba152d480d55b2f5dc0069e7ddef0/events/\n"
        "A%2A=%C3%A9~%21%2A%27%28%29&Z=&a=%2B%2F%3F%3D%26&b=a%20a&b=z&since=12\n"
        "content-type:application/json\n"
        "host:127.0.0.1:18080\n"
        "x-project-id:054ba152d480d55b2f5dc0069e7ddef0\n"
        "x-sdk-date:20260504T030201Z\n"
        "\n"
        "content-type;host;x-project-id;x-sdk-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
};

const sdk_vector delete_with_body{
    .method = "DELETE",
    .target = "/v3/054ba152d480d55b2f5dc0069e7ddef0/jobs/batch-jobs",
    .headers =
        {
            {"Accept", "application/json"},
            {"Content-Type", "application/json"},
            {"User-Agent",
             "huaweicloud-usdk-nodejs/3.0; os/linux#6.18.44-fc-v669#x64 nodejs/v20.20.2 meta/C; "
             "app/<a random id>"},
            {"X-Project-Id", "054ba152d480d55b2f5dc0069e7ddef0"},
            {"X-Language", "zh-cn"},
            {"X-Sdk-Date", "20260504T030201Z"},
            {"host", "127.0.0.1:18080"},
            {"Authorization",
             "SDK-HMAC-SHA256 Access=HPUAEXAMPLEAK7Q2ZK1T, "
             "SignedHeaders=content-type;host;x-language;x-project-id;x-sdk-date, "
             "Signature=1c460e19d3a5edd557f9c95dcee702e250814e63da00d25a557548bfb2cf2b60"},
            {"Content-Length", "86"},
            {"Accept-Encoding", "gzip, compress, deflate, br"},
            {"Connection", "keep-alive"},
        },
    .body =
        "{\"jobs\":[{\"job_id\":\"3a4b5c6d-7e8f-4a0b-8c2d-3e4f5a6jb202\",\"delete_type\":"
        "\"terminate\"}]}",
    .canonical_request =
        "DELETE\n"
        "/v3/054ba152d480d55b2f5dc0069e7ddef0/jobs/batch-jobs/\n"
        "\n"
        "content-type:application/json\n"
        "host:127.0.0.1:18080\n"
        "x-language:zh-cn\n"
        "x-project-id:054ba152d480d55b2f5dc0069e7ddef0\n"
        "x-sdk-date:20260504T030201Z\n"
        "\n"
        "content-type;host;x-language;x-project-id;x-sdk-date\n"
        "b48f4c92bae28d4d4e930f28655445e4a30b69837db14e7ecafced43c39d8e56",
};

const sdk_vector path_escaping{
    .method = "GET",
    .target = "/v3/054ba152d480d55b2f5dc0069e7ddef0/jobs/x:y@z,(a)*b;c=d+e!$~%41",
    .headers =
        {
            {"Accept", "application/json"},
            {"Content-Type", "application/json"},
            {"User-Agent",
             "huaweicloud-usdk-nodejs/3.0; os/linux#6.18.44-fc-v669#x64 nodejs/v20.20.2 meta/C; "
             "app/<a random id>"},
            {"X-Project-Id", "054ba152d480d55b2f5dc0069e7ddef0"},
            {"X-Sdk-Date", "20260504T030201Z"},
            {"host", "127.0.0.1:18080"},
            {"Authorization",
             "SDK-HMAC-SHA256 Access=HPUAEXAMPLEAK7Q2ZK1T, "
             "SignedHeaders=content-type;host;x-project-id;x-sdk-date, "
             "Signature=dd132ffc0426bf722f23270309fc33bf8c551423489c3900240e9758e13d9fe0"},
            {"Accept-Encoding", "gzip, compress, deflate, br"},
            {"Connection", "keep-alive"},
        },
    .body = "",
    .canonical_request =
        "GET\n"
        "/v3/054ba152d480d55b2f5dc0069e7ddef0/jobs/x%3Ay%40z%2C%28a%29%2Ab%3Bc%3Dd%2Be%21%24~%2541/"
        "\n"
        "\n"
        "content-type:application/json\n"
        "host:127.0.0.1:18080\n"
        "x-project-id:054ba152d480d55b2f5dc0069e7ddef0\n"
        "x-sdk-date:20260504T030201Z\n"
        "\n"
        "content-type;host;x-project-id;x-sdk-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
};

const sdk_vector unsigned_payload{
    .method = "POST",
    .target = "/v3/054ba152d480d55b2f5dc0069e7ddef0/jobs/batch-pause-task",
    .headers =
        {
            {"Accept", "application/json"},
            {"Content-Type", "text/plain"},
            {"User-Agent",
             "huaweicloud-usdk-nodejs/3.0; os/linux#6.18.44-fc-v669#x64 nodejs/v20.20.2 meta/C; "
             "app/<a random id>"},
            {"X-Project-Id", "054ba152d480d55b2f5dc0069e7ddef0"},
            {"X-Sdk-Content-Sha256", "UNSIGNED-PAYLOAD"},
            {"X-Sdk-Date", "20260504T030201Z"},
            {"host", "127.0.0.1:18080"},
            {"Authorization",
             "SDK-HMAC-SHA256 Access=HPUAEXAMPLEAK7Q2ZK1T, "
             "SignedHeaders=content-type;host;x-project-id;x-sdk-content-sha256;x-sdk-date, "
             "Signature=f2ef955a9529dee38538b1f9076b72c7253b7abdc47505378a50091f60c63f37"},
            {"Content-Length", "8"},
            {"Accept-Encoding", "gzip, compress, deflate, br"},
            {"Connection", "keep-alive"},
        },
    .body = "not json",
    .canonical_request =
        "POST\n"
        "/v3/054ba152d480d55b2f5dc0069e7ddef0/jobs/batch-pause-task/\n"
        "\n"
        "content-type:text/plain\n"
        "host:127.0.0.1:18080\n"
        "x-project-id:054ba152d480d55b2f5dc0069e7ddef0\n"
        "x-sdk-content-sha256:UNSIGNED-PAYLOAD\n"
        "x-sdk-date:20260504T030201Z\n"
        "\n"
        "content-type;host;x-project-id;x-sdk-content-sha256;x-sdk-date\n"
        "UNSIGNED-PAYLOAD",
};

const sdk_vector* const all_vectors[] = {&pause, &get_with_query, &delete_with_body, &path_escaping,
                                         &unsigned_payload};

/// A copy of a vector's request, to change.
struct request_copy {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  explicit request_copy(const sdk_vector& v) : method(v.method), target(v.target), body(v.body) {
    for (const header_field& f : v.headers) headers.emplace_back(f.name, f.value);
  }

  /// The value of the first field named `name` (exactly).
  std::string& header(std::string_view name) {
    for (auto& [n, value] : headers) {
      if (n == name) return value;
    }
    ADD_FAILURE() << "no header " << name;
    return headers.emplace_back(name, "").second;
  }

  void remove(std::string_view name) {
    std::erase_if(headers, [&](const auto& h) { return h.first == name; });
  }

  void add(std::string_view name, std::string_view value) { headers.emplace_back(name, value); }
};

/// Parses the request's Authorization and verifies the request with `sk` at `now`.
signature_verdict verify(const request_copy& r, std::string_view sk = secret_key,
                         system_clock::time_point now = signed_at,
                         const signature_policy& policy = {}) {
  std::vector<header_field> fields;
  std::string_view authorization;
  for (const auto& [name, value] : r.headers) {
    fields.push_back({name, value});
    if (name == "Authorization") authorization = value;
  }
  auto parsed = parse_authorization(authorization);
  if (const auto* error = std::get_if<signature_errc>(&parsed)) {
    signature_verdict v;
    v.error = *error;
    return v;
  }
  return verify_signature(
      std::get<sdk_authorization>(parsed),
      {.method = r.method, .target = r.target, .headers = fields, .body = r.body}, sk, now, policy);
}

signature_verdict verify(const sdk_vector& v, std::string_view sk = secret_key,
                         system_clock::time_point now = signed_at,
                         const signature_policy& policy = {}) {
  return verify(request_copy(v), sk, now, policy);
}

std::string_view authorization_of(const sdk_vector& v) {
  for (const header_field& f : v.headers) {
    if (f.name == "Authorization") return f.value;
  }
  return {};
}

sdk_authorization parsed_authorization(std::string_view value) {
  auto parsed = parse_authorization(value);
  if (const auto* error = std::get_if<signature_errc>(&parsed)) {
    ADD_FAILURE() << value << ": " << to_string(*error);
    return {};
  }
  return std::get<sdk_authorization>(std::move(parsed));
}

std::string error_of(const signature_verdict& v) {
  return v.error ? std::string(to_string(*v.error)) : std::string("ok");
}

std::string error_of(std::string_view authorization) {
  auto parsed = parse_authorization(authorization);
  if (const auto* error = std::get_if<signature_errc>(&parsed)) {
    return std::string(to_string(*error));
  }
  return "ok";
}

// --- The SDK's own requests ------------------------------------------------------------------

TEST(RequestSignature, BuildsTheCanonicalRequestOfTheSdk) {
  for (const sdk_vector* v : all_vectors) {
    SCOPED_TRACE(v->target);
    const sdk_authorization auth = parsed_authorization(authorization_of(*v));
    const std::string payload_hash =
        v == &unsigned_payload ? std::string(sdk_unsigned_payload) : sha256_hex(v->body);
    EXPECT_EQ(
        canonical_request(
            {.method = v->method, .target = v->target, .headers = v->headers, .body = v->body},
            auth.signed_headers, payload_hash),
        v->canonical_request);
  }
}

TEST(RequestSignature, ComputesTheSignatureOfTheSdk) {
  for (const sdk_vector* v : all_vectors) {
    SCOPED_TRACE(v->target);
    const std::string_view authorization = authorization_of(*v);
    const std::string_view signature = authorization.substr(authorization.find("Signature=") + 10);
    EXPECT_EQ(sdk_signature_hex(secret_key, "20260504T030201Z", v->canonical_request), signature);
  }
}

TEST(RequestSignature, AcceptsTheSdksRequests) {
  for (const sdk_vector* v : {&pause, &get_with_query, &delete_with_body, &path_escaping}) {
    SCOPED_TRACE(v->target);
    const signature_verdict verdict = verify(*v);
    EXPECT_TRUE(verdict.ok()) << error_of(verdict);
    EXPECT_EQ(verdict.access_key, access_key);
    EXPECT_EQ(verdict.header, "");
  }
}

TEST(RequestSignature, WhatTheSdkSignsAndSends) {
  // The seed's pause as the issue describes it: these four headers signed, no X-Auth-Token.
  const sdk_authorization auth = parsed_authorization(authorization_of(pause));
  EXPECT_EQ(auth.access_key, access_key);
  EXPECT_EQ(auth.signed_headers,
            (std::vector<std::string>{"content-type", "host", "x-project-id", "x-sdk-date"}));
  std::set<std::string_view> names;
  for (const header_field& f : pause.headers) names.insert(f.name);
  EXPECT_EQ(names, (std::set<std::string_view>{
                       "Accept", "Accept-Encoding", "Authorization", "Connection", "Content-Length",
                       "Content-Type", "User-Agent", "X-Project-Id", "X-Sdk-Date", "host"}));
  EXPECT_EQ(request_copy(pause).header("X-Project-Id"), project);
}

TEST(RequestSignature, HeaderNamesAndOrderDoNotMatter) {
  request_copy r(pause);
  std::reverse(r.headers.begin(), r.headers.end());
  for (auto& [name, value] : r.headers) {
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  }
  r.remove("AUTHORIZATION");
  r.add("Authorization", authorization_of(pause));
  EXPECT_TRUE(verify(r).ok()) << error_of(verify(r));
}

TEST(RequestSignature, SpacesAroundAHeaderValueDoNotMatter) {
  request_copy r(pause);
  r.header("X-Project-Id") = " \t" + std::string(project) + "\t ";
  EXPECT_TRUE(verify(r).ok()) << error_of(verify(r));
}

TEST(RequestSignature, UnsignedHeadersMayChange) {
  request_copy r(pause);
  r.remove("User-Agent");
  r.remove("Accept");
  r.header("Accept-Encoding") = "identity";
  r.add("X-Forwarded-For", "10.0.0.1");
  r.add("X-Auth-Token", "not read here");
  EXPECT_TRUE(verify(r).ok()) << error_of(verify(r));
}

TEST(RequestSignature, TheQueryIsSignedWhateverItsOrderAndEscapes) {
  request_copy r(get_with_query);
  // Reordered, with '+' for a space and escapes where the SDK sent characters as they are.
  r.target =
      "/v3/054ba152d480d55b2f5dc0069e7ddef0/events?Z=&a=%2b%2f%3f%3d%26&b=z&b=a+a&"
      "A%2A=%c3%a9%7E%21%2A%27%28%29&since=12";
  EXPECT_TRUE(verify(r).ok()) << error_of(verify(r));
}

// --- Refusals -------------------------------------------------------------------------------

TEST(RequestSignature, RefusesAChangedBody) {
  for (
      const std::string& body :
      {std::string(
           R"({"jobs":[{"job_id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502","pause_mode":"all"}]})"),
       std::string(
           R"({"jobs":[{"job_id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502","pause_mode":"targex"}]})"),
       std::string(pause.body) + " ", std::string(" ") + std::string(pause.body), std::string()}) {
    SCOPED_TRACE(body);
    request_copy r(pause);
    r.body = body;
    EXPECT_EQ(error_of(verify(r)), "signature_mismatch");
  }
  request_copy d(delete_with_body);
  d.body = R"({"jobs":[{"job_id":"3a4b5c6d-7e8f-4a0b-8c2d-3e4f5a6jb202","delete_type":"delete"}]})";
  EXPECT_EQ(error_of(verify(d)), "signature_mismatch");
  request_copy g(get_with_query);
  g.body = "{}";
  EXPECT_EQ(error_of(verify(g)), "signature_mismatch");
}

TEST(RequestSignature, RefusesAChangedSignedHeader) {
  const std::vector<std::pair<std::string_view, std::string_view>> changes = {
      {"X-Project-Id", "6a1f0c8e2b4d4f7e9c3a5b7d9e1f2a3b"},
      {"Content-Type", "application/json; charset=utf-8"},
      {"host", "127.0.0.1:18081"},
      {"X-Sdk-Date", "20260504T030202Z"},  // still within the window
  };
  for (const auto& [name, value] : changes) {
    SCOPED_TRACE(name);
    request_copy r(pause);
    r.header(name) = value;
    EXPECT_EQ(error_of(verify(r)), "signature_mismatch");
  }
  request_copy d(delete_with_body);
  d.header("X-Language") = "en-us";
  EXPECT_EQ(error_of(verify(d)), "signature_mismatch");
}

TEST(RequestSignature, RefusesAChangedMethodPathOrQuery) {
  request_copy method(pause);
  method.method = "PUT";
  EXPECT_EQ(error_of(verify(method)), "signature_mismatch");
  request_copy path(pause);
  path.target = "/v3/054ba152d480d55b2f5dc0069e7ddef0/jobs/batch-retry-task";
  EXPECT_EQ(error_of(verify(path)), "signature_mismatch");
  request_copy other_project(pause);
  other_project.target = "/v3/6a1f0c8e2b4d4f7e9c3a5b7d9e1f2a3b/jobs/batch-pause-task";
  EXPECT_EQ(error_of(verify(other_project)), "signature_mismatch");
  request_copy query(get_with_query);
  query.target.replace(query.target.find("since=12"), 8, "since=13");
  EXPECT_EQ(error_of(verify(query)), "signature_mismatch");
  request_copy added(pause);
  added.target += "?cur_page=2";
  EXPECT_EQ(error_of(verify(added)), "signature_mismatch");
}

TEST(RequestSignature, RefusesAWrongSecretKey) {
  for (std::string_view sk : {std::string_view("exampleSecretKey0123456789abcdefghijklmN"),
                              std::string_view("exampleSecretKey0123456789abcdefghijklm"),
                              std::string_view(""), access_key}) {
    SCOPED_TRACE(sk);
    EXPECT_EQ(error_of(verify(pause, sk)), "signature_mismatch");
  }
}

TEST(RequestSignature, RefusesAWrongSignature) {
  request_copy r(pause);
  std::string& authorization = r.header("Authorization");
  char& last = authorization.back();
  last = last == '0' ? '1' : '0';
  EXPECT_EQ(error_of(verify(r)), "signature_mismatch");
}

TEST(RequestSignature, TakesTheSignatureInCapitals) {
  request_copy r(pause);
  std::string& authorization = r.header("Authorization");
  const std::size_t at = authorization.find("Signature=") + 10;
  std::transform(authorization.begin() + static_cast<std::ptrdiff_t>(at), authorization.end(),
                 authorization.begin() + static_cast<std::ptrdiff_t>(at),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  EXPECT_TRUE(verify(r).ok()) << error_of(verify(r));
}

TEST(RequestSignature, RefusesAMissingSignedHeader) {
  for (const auto& [name, lowercase] : std::vector<std::pair<std::string_view, std::string_view>>{
           {"X-Project-Id", "x-project-id"}, {"Content-Type", "content-type"}, {"host", "host"}}) {
    SCOPED_TRACE(name);
    request_copy r(pause);
    r.remove(name);
    const signature_verdict v = verify(r);
    EXPECT_EQ(error_of(v), "signed_header_missing");
    EXPECT_EQ(v.header, lowercase);
    EXPECT_EQ(v.access_key, access_key);
  }
  request_copy d(delete_with_body);
  d.remove("X-Language");
  EXPECT_EQ(error_of(verify(d)), "signed_header_missing");
  EXPECT_EQ(verify(d).header, "x-language");
  request_copy no_date(pause);
  no_date.remove("X-Sdk-Date");
  EXPECT_EQ(error_of(verify(no_date)), "date_missing");
}

TEST(RequestSignature, RefusesARepeatedSignedHeader) {
  request_copy r(pause);
  r.add("x-project-id", project);
  EXPECT_EQ(error_of(verify(r)), "header_repeated");
  EXPECT_EQ(verify(r).header, "x-project-id");
  request_copy date(pause);
  date.add("X-SDK-Date", "20260504T030201Z");
  EXPECT_EQ(error_of(verify(date)), "header_repeated");
  EXPECT_EQ(verify(date).header, "x-sdk-date");
}

TEST(RequestSignature, HostAndDateMustBeSigned) {
  // Signed correctly by the same rules, but without host or x-sdk-date among the headers.
  for (const auto& [signed_headers, expected] :
       std::vector<std::pair<std::vector<std::string>, std::string_view>>{
           {{"content-type", "x-project-id", "x-sdk-date"}, "host_not_signed"},
           {{"content-type", "host", "x-project-id"}, "date_not_signed"}}) {
    SCOPED_TRACE(expected);
    const signed_request request{.method = pause.method,
                                 .target = pause.target,
                                 .headers = pause.headers,
                                 .body = pause.body};
    std::string list;
    for (const std::string& name : signed_headers) list += (list.empty() ? "" : ";") + name;
    const std::string signature =
        sdk_signature_hex(secret_key, "20260504T030201Z",
                          canonical_request(request, signed_headers, sha256_hex(pause.body)));
    const sdk_authorization auth =
        parsed_authorization("SDK-HMAC-SHA256 Access=" + std::string(access_key) +
                             ", SignedHeaders=" + list + ", Signature=" + signature);
    EXPECT_EQ(error_of(verify_signature(auth, request, secret_key, signed_at)), expected);
  }
}

TEST(RequestSignature, TheHeadAloneCanBeChecked) {
  // What a server checks before it reads the body: no body, no SK.
  const sdk_authorization auth = parsed_authorization(authorization_of(pause));
  EXPECT_TRUE(check_signed_head(auth, pause.headers, signed_at).ok());
  EXPECT_EQ(error_of(check_signed_head(auth, pause.headers, signed_at + 16min)),
            "date_outside_window");
  request_copy r(pause);
  r.remove("X-Project-Id");
  std::vector<header_field> fields;
  for (const auto& [name, value] : r.headers) fields.push_back({name, value});
  const signature_verdict v = check_signed_head(auth, fields, signed_at);
  EXPECT_EQ(error_of(v), "signed_header_missing");
  EXPECT_EQ(v.header, "x-project-id");
  EXPECT_EQ(v.access_key, access_key);
  const sdk_authorization unsigned_auth = parsed_authorization(authorization_of(unsigned_payload));
  EXPECT_EQ(error_of(check_signed_head(unsigned_auth, unsigned_payload.headers, signed_at)),
            "unsigned_payload_refused");
}

// --- X-Sdk-Date -----------------------------------------------------------------------------

TEST(RequestSignature, AcceptsADateJustInsideTheWindow) {
  // The bounds are included: now may be 15 minutes after X-Sdk-Date or 15 minutes before it.
  using std::chrono::milliseconds;
  for (const milliseconds skew :
       std::vector<milliseconds>{15min, -15min, 15min - 1s, -(15min - 1s), 15min - 1ms}) {
    SCOPED_TRACE(skew.count());
    EXPECT_TRUE(verify(pause, secret_key, signed_at + skew).ok());
  }
}

TEST(RequestSignature, RefusesADateOutsideTheWindow) {
  // now - date > 15 min: the request is stale; now - date < -15 min: from the future.
  using std::chrono::milliseconds;
  for (const milliseconds skew : std::vector<milliseconds>{15min + 1s, -(15min + 1s), 15min + 1ms,
                                                           -(15min + 1ms), 24h, -24h}) {
    SCOPED_TRACE(skew.count());
    EXPECT_EQ(error_of(verify(pause, secret_key, signed_at + skew)), "date_outside_window");
  }
}

TEST(RequestSignature, TheWindowIsAParameter) {
  const signature_policy one_minute{.date_window = 1min};
  EXPECT_TRUE(verify(pause, secret_key, signed_at + 60s, one_minute).ok());
  EXPECT_EQ(error_of(verify(pause, secret_key, signed_at + 61s, one_minute)),
            "date_outside_window");
  EXPECT_EQ(error_of(verify(pause, secret_key, signed_at - 61s, one_minute)),
            "date_outside_window");
}

TEST(RequestSignature, DatesFarFromNowDoNotOverflow) {
  for (std::string_view date : {"99991231T235959Z", "00000101T000000Z", "19700101T000000Z"}) {
    SCOPED_TRACE(date);
    request_copy r(pause);
    r.header("X-Sdk-Date") = date;
    EXPECT_EQ(error_of(verify(r)), "date_outside_window");
  }
}

TEST(RequestSignature, RefusesAMalformedDate) {
  for (std::string_view date :
       {"", "2026-05-04T03:02:01Z", "20260504T030201", "20260504T030201z", "20260504t030201Z",
        "20260504T030201+0000", "2026054T030201Z", "20260504T30201Z0", "20261304T030201Z",
        "20260230T030201Z", "20260500T030201Z", "20260504T240000Z", "20260504T036001Z",
        "20260504T030260Z", "2026O504T030201Z", "Mon, 04 May 2026 03:02:01 GMT"}) {
    SCOPED_TRACE(date);
    EXPECT_EQ(parse_sdk_date(date), std::nullopt);
    request_copy r(pause);
    r.header("X-Sdk-Date") = date;
    EXPECT_EQ(error_of(verify(r)), "date_malformed");
  }
}

TEST(RequestSignature, ParsesDates) {
  EXPECT_EQ(parse_sdk_date("20260504T030201Z"),
            std::chrono::floor<std::chrono::seconds>(signed_at));
  EXPECT_EQ(parse_sdk_date("19700101T000000Z"), std::chrono::sys_seconds{});
  EXPECT_EQ(parse_sdk_date("20240229T235959Z"),
            std::chrono::sys_days{std::chrono::year{2024} / 2 / 29} + 23h + 59min + 59s);
  EXPECT_EQ(parse_sdk_date("20230229T000000Z"), std::nullopt);
}

// --- X-Sdk-Content-Sha256 -------------------------------------------------------------------

TEST(RequestSignature, RefusesAnUnsignedPayloadUnlessAllowed) {
  EXPECT_EQ(error_of(verify(unsigned_payload)), "unsigned_payload_refused");
  const signature_policy allowed{.allow_unsigned_payload = true};
  EXPECT_TRUE(verify(unsigned_payload, secret_key, signed_at, allowed).ok());
  // Which is why it is refused by default: the body is not signed.
  request_copy r(unsigned_payload);
  r.body = "anything";
  EXPECT_TRUE(verify(r, secret_key, signed_at, allowed).ok());
}

TEST(RequestSignature, AnUnsignedPayloadCannotBeAddedToASignedRequest) {
  request_copy r(pause);
  r.add("X-Sdk-Content-Sha256", "UNSIGNED-PAYLOAD");
  r.body = "{}";
  EXPECT_EQ(error_of(verify(r, secret_key, signed_at, {.allow_unsigned_payload = true})),
            "signature_mismatch");
}

TEST(RequestSignature, AContentSha256MustBeTheBodys) {
  request_copy right(pause);
  right.add("X-Sdk-Content-Sha256", sha256_hex(pause.body));
  EXPECT_TRUE(verify(right).ok()) << error_of(verify(right));
  request_copy wrong(pause);
  wrong.add("X-Sdk-Content-Sha256", empty_sha256);
  EXPECT_EQ(error_of(verify(wrong)), "content_sha256_mismatch");
  request_copy twice(pause);
  twice.add("X-Sdk-Content-Sha256", sha256_hex(pause.body));
  twice.add("X-Sdk-Content-Sha256", sha256_hex(pause.body));
  EXPECT_EQ(error_of(verify(twice)), "header_repeated");
}

// --- The Authorization header ---------------------------------------------------------------

TEST(RequestSignature, ParsesTheAuthorizationHeader) {
  const std::string hex(64, 'a');
  for (const std::string& value : {
           "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature=" + hex,
           "SDK-HMAC-SHA256 Access=AK,SignedHeaders=host;x-sdk-date,Signature=" + hex,
           "  SDK-HMAC-SHA256\tAccess = AK ,\tSignedHeaders= host;x-sdk-date , Signature =" + hex +
               " \t",
           "sdk-hmac-sha256 access=AK, signedheaders=host;x-sdk-date, SIGNATURE=" + hex,
           "SDK-HMAC-SHA256 Signature=" + hex + ", SignedHeaders=host;x-sdk-date, Access=AK",
       }) {
    SCOPED_TRACE(value);
    const sdk_authorization auth = parsed_authorization(value);
    EXPECT_EQ(auth.access_key, "AK");
    EXPECT_EQ(auth.signed_headers, (std::vector<std::string>{"host", "x-sdk-date"}));
    for (const unsigned char byte : auth.signature) EXPECT_EQ(byte, 0xAA);
  }
}

TEST(RequestSignature, RefusesAMalformedAuthorizationHeader) {
  const std::string sig = "Signature=" + std::string(64, '0');
  const std::string headers = "SignedHeaders=host;x-sdk-date";
  const std::vector<std::pair<std::string, std::string_view>> cases = {
      {"", "not_sdk_hmac_sha256"},
      {"Bearer abc", "not_sdk_hmac_sha256"},
      {"SDK-HMAC-SHA1 Access=AK, " + headers + ", " + sig, "not_sdk_hmac_sha256"},
      {"V11-HMAC-SHA256 Credential=AK/20260504/cn-north-4/drs, " + headers + ", " + sig,
       "not_sdk_hmac_sha256"},
      {"SDK-HMAC-SHA256Access=AK, " + headers + ", " + sig, "not_sdk_hmac_sha256"},
      {"SDK-HMAC-SHA256", "access_missing"},
      {"SDK-HMAC-SHA256   ", "access_missing"},
      {"SDK-HMAC-SHA256 Access=, " + headers + ", " + sig, "access_missing"},
      {"SDK-HMAC-SHA256 " + headers + ", " + sig, "access_missing"},
      {"SDK-HMAC-SHA256 Access=AK, " + sig, "signed_headers_missing"},
      {"SDK-HMAC-SHA256 Access=AK, SignedHeaders=, " + sig, "signed_headers_missing"},
      {"SDK-HMAC-SHA256 Access=AK, " + headers, "signature_missing"},
      {"SDK-HMAC-SHA256 Access=AK, " + headers + ", Signature=", "signature_missing"},
      {"SDK-HMAC-SHA256,Access=AK, " + headers + ", " + sig, "authorization_malformed"},
      {"SDK-HMAC-SHA256 Access=AK " + headers + ", " + sig, "authorization_malformed"},
      {"SDK-HMAC-SHA256 Access=AK, " + headers + ", " + sig + ",", "authorization_malformed"},
      {"SDK-HMAC-SHA256 Access=AK,, " + headers + ", " + sig, "authorization_malformed"},
      {"SDK-HMAC-SHA256 Access AK, " + headers + ", " + sig, "authorization_malformed"},
      {"SDK-HMAC-SHA256 =AK, " + headers + ", " + sig, "authorization_malformed"},
      {"SDK-HMAC-SHA256 Access=A\x01K, " + headers + ", " + sig, "authorization_malformed"},
      {"SDK-HMAC-SHA256 Access=A\xc3\xa9K, " + headers + ", " + sig, "authorization_malformed"},
      {"SDK-HMAC-SHA256 Credential=AK, " + headers + ", " + sig, "parameter_unknown"},
      {"SDK-HMAC-SHA256 Access=AK, " + headers + ", " + sig + ", Date=x", "parameter_unknown"},
      {"SDK-HMAC-SHA256 Access=AK, Access=AK, " + headers + ", " + sig, "parameter_repeated"},
      {"SDK-HMAC-SHA256 Access=AK, " + headers + ", " + sig + ", " + sig, "parameter_repeated"},
      {"SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;;x-sdk-date, " + sig,
       "signed_headers_malformed"},
      {"SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date;, " + sig,
       "signed_headers_malformed"},
      {"SDK-HMAC-SHA256 Access=AK, SignedHeaders=;host, " + sig, "signed_headers_malformed"},
      {"SDK-HMAC-SHA256 Access=AK, SignedHeaders=Host;x-sdk-date, " + sig,
       "signed_headers_malformed"},
      {"SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date;host, " + sig,
       "signed_headers_malformed"},
      {"SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x:sdk, " + sig, "signed_headers_malformed"},
      {"SDK-HMAC-SHA256 Access=AK, " + headers + ", Signature=" + std::string(63, '0'),
       "signature_malformed"},
      {"SDK-HMAC-SHA256 Access=AK, " + headers + ", Signature=" + std::string(65, '0'),
       "signature_malformed"},
      {"SDK-HMAC-SHA256 Access=AK, " + headers + ", Signature=" + std::string(63, '0') + "g",
       "signature_malformed"},
  };
  for (const auto& [value, expected] : cases) {
    SCOPED_TRACE(value);
    EXPECT_EQ(error_of(value), expected);
  }
}

// --- The canonical forms --------------------------------------------------------------------

TEST(RequestSignature, CanonicalUri) {
  EXPECT_EQ(canonical_uri(""), "/");
  EXPECT_EQ(canonical_uri("/"), "/");
  EXPECT_EQ(canonical_uri("/v3/p/jobs"), "/v3/p/jobs/");
  EXPECT_EQ(canonical_uri("/v3/p/jobs/"), "/v3/p/jobs/");  // a trailing slash changes nothing
  EXPECT_EQ(canonical_uri("//x"), "//x/");
  EXPECT_EQ(canonical_uri("/a%20b/c d"), "/a%2520b/c%20d/");  // encoded as received
  EXPECT_EQ(canonical_uri("/\xc3\xa9-_.~"), "/%C3%A9-_.~/");
}

TEST(RequestSignature, CanonicalQueryString) {
  EXPECT_EQ(canonical_query_string(""), "");
  EXPECT_EQ(canonical_query_string("b=2&a=1"), "a=1&b=2");
  EXPECT_EQ(canonical_query_string("a=2&a=1&a=10"), "a=1&a=10&a=2");
  EXPECT_EQ(canonical_query_string("flag&x="), "flag=&x=");
  EXPECT_EQ(canonical_query_string("&a=1&&b=2&"), "a=1&b=2");
  EXPECT_EQ(canonical_query_string("q=a+b&r=a%2Bb&s=a%20b"), "q=a%20b&r=a%2Bb&s=a%20b");
  EXPECT_EQ(canonical_query_string("x=%zz&y=%4&z=100%"), "x=%25zz&y=%254&z=100%25");
  EXPECT_EQ(canonical_query_string("k=a=b"), "k=a%3Db");
  // What the SDK's signer gives for queryParams {"\uE000":"1", "\u{1F600}":"2", z:"3",
  // "\u00E9":"4", Z:"5", "a-":"6", a:["8","10","9"]}, from the query its client sent: keys and
  // values in UTF-16 code-unit order (U+1F600 before U+E000), "10" before "8".
  EXPECT_EQ(canonical_query_string("%EE%80%80=1&%F0%9F%98%80=2&z=3&%C3%A9=4&Z=5&a-=6&a=10&a=8&a=9"),
            "Z=5&a=10&a=8&a=9&a-=6&z=3&%C3%A9=4&%F0%9F%98%80=2&%EE%80%80=1");
}

TEST(RequestSignature, Sha256) {
  EXPECT_EQ(sha256_hex(""), empty_sha256);
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(RequestSignature, EveryReasonHasAName) {
  std::set<std::string_view> names;
  for (auto e = static_cast<unsigned>(signature_errc::not_sdk_hmac_sha256);
       e <= static_cast<unsigned>(signature_errc::signature_mismatch); ++e) {
    const std::string_view name = to_string(static_cast<signature_errc>(e));
    EXPECT_NE(name, "unknown") << e;
    names.insert(name);
  }
  EXPECT_EQ(names.size(), static_cast<std::size_t>(signature_errc::signature_mismatch));
}

}  // namespace
}  // namespace taskorch::http
