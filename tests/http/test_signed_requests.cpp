// Requests signed with an access key, through api::check() (the head: caller, project, role,
// Content-Type) and api::check_body() (the signature against the body): which refusal each
// fault gets and in which order, next to tokens. The signatures are made with the signing
// steps of request_signature.hpp, which test_request_signature.cpp checks against vectors of
// the official SDK; here they only feed the api's checks.

#include <taskorch/engine.hpp>
#include <taskorch/http/api.hpp>
#include <taskorch/http/request_signature.hpp>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace taskorch::http {
namespace {

const project_id project_a = *project_id::parse("054ba152d480d55b2f5dc0069e7ddef0");
const project_id project_b = *project_id::parse("6a1f0c8e2b4d4f7e9c3a5b7d9e1f2a3b");
constexpr std::string_view pause_path =
    "/v3/054ba152d480d55b2f5dc0069e7ddef0/jobs/batch-pause-task";
constexpr std::string_view seed_body =
    R"({"jobs":[{"job_id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502","pause_mode":"target"}]})";
constexpr std::string_view secret = "operator-secret-key";

/// X-Sdk-Date of `t`.
std::string sdk_date_of(std::chrono::system_clock::time_point t) {
  return fmt::format("{:%Y%m%dT%H%M%SZ}", fmt::gmtime(std::chrono::system_clock::to_time_t(t)));
}

/// A request as a client builds it: headers, then a signature over some of them.
struct client_request {
  std::string method = "POST";
  std::string target{pause_path};
  std::vector<std::pair<std::string, std::string>> headers{
      {"Host", "127.0.0.1:18080"},
      {"Content-Type", "application/json"},
      {"X-Project-Id", "054ba152d480d55b2f5dc0069e7ddef0"},
      {"X-Sdk-Date", sdk_date_of(std::chrono::system_clock::now())}};
  std::vector<std::string> signed_headers{"content-type", "host", "x-project-id", "x-sdk-date"};
  std::string body{seed_body};

  std::vector<header_field> fields() const {
    std::vector<header_field> out;
    for (const auto& [name, value] : headers) out.push_back({name, value});
    return out;
  }

  signed_request view(const std::vector<header_field>& fields) const {
    return {.method = method, .target = target, .headers = fields, .body = body};
  }

  /// Adds `Authorization`, signed by `access_key` with `secret_key`.
  void sign(std::string_view access_key, std::string_view secret_key) {
    const std::vector<header_field> f = fields();
    const std::string canonical = canonical_request(view(f), signed_headers, sha256_hex(body));
    std::string date;
    for (const auto& [name, value] : headers) {
      if (name == "X-Sdk-Date") date = value;
    }
    std::string list;
    for (const std::string& h : signed_headers) list += (list.empty() ? "" : ";") + h;
    headers.emplace_back(
        "Authorization",
        fmt::format("SDK-HMAC-SHA256 Access={}, SignedHeaders={}, Signature={}", access_key, list,
                    sdk_signature_hex(secret_key, date, canonical)));
  }

  void set(std::string_view name, std::string value) {
    for (auto& [n, v] : headers) {
      if (n == name) {
        v = std::move(value);
        return;
      }
    }
    headers.emplace_back(name, std::move(value));
  }
};

class SignedRequest : public ::testing::Test {
 protected:
  static api_callers callers() {
    api_callers c;
    c.tokens.add("op-token", project_a);
    c.access_keys.add("AK-OPERATOR", std::string(secret), project_a);
    c.access_keys.add("AK-READER", "reader-secret", project_a, role::reader);
    c.access_keys.add("AK-B", "b-secret", project_b);
    return c;
  }

  /// What check() says of `r`, as the session builds the head.
  std::variant<accepted_request, response> check(const client_request& r,
                                                 std::string_view lang = "") {
    fields_ = r.fields();
    request_head head{.method = r.method, .target = r.target, .language = lang, .headers = {}};
    for (const header_field& f : fields_) {
      const auto take = [&](std::optional<std::string_view>& slot, bool& repeated) {
        if (slot) repeated = true;
        if (!slot) slot = f.value;
      };
      if (f.name == "X-Auth-Token") take(head.token, head.repeated_token);
      if (f.name == "Content-Type") take(head.content_type, head.repeated_content_type);
      if (f.name == "Authorization") take(head.authorization, head.repeated_authorization);
      if (f.name == "X-Project-Id") take(head.project_header, head.repeated_project_header);
    }
    if (head.authorization) head.headers = fields_;
    return service_.check(head);
  }

  /// check(), then check_body() when accepted: "accepted", or "STATUS BODY" of the refusal.
  std::string outcome(const client_request& r, std::string_view lang = "") {
    auto checked = check(r, lang);
    if (auto* refused = std::get_if<response>(&checked)) {
      return std::to_string(refused->status) + " " + refused->body;
    }
    const auto& accepted = std::get<accepted_request>(checked);
    const std::vector<header_field> f = r.fields();
    if (auto refused = service_.check_body(accepted, r.view(f))) {
      return std::to_string(refused->status) + " " + refused->body;
    }
    return "accepted";
  }

  static std::string gateway(std::string_view message) {
    return fmt::format(
        R"(401 {{"error_code":"APIGW.0301","error_msg":"Incorrect IAM authentication information: {}"}})",
        message);
  }

  engine eng_{engine_options{.threads = 1}};
  api service_{eng_, callers(), {.signature_window = std::chrono::seconds(60)}};
  std::vector<header_field> fields_;
};

const std::string mismatch =
    "verify aksk signature fail: the signature does not match the request (a wrong secret key, "
    "or the request changed after it was signed).";

TEST_F(SignedRequest, ASignedRequestIsAcceptedWithItsKeysProjectAndRole) {
  client_request r;
  r.sign("AK-OPERATOR", secret);
  auto checked = check(r);
  ASSERT_TRUE(std::holds_alternative<accepted_request>(checked))
      << std::get<response>(checked).body;
  const auto& accepted = std::get<accepted_request>(checked);
  EXPECT_EQ(accepted.route, endpoint::batch_pause);
  EXPECT_EQ(accepted.project, project_a);
  ASSERT_NE(accepted.signature, nullptr);
  EXPECT_EQ(accepted.signature->authorization.access_key, "AK-OPERATOR");
  EXPECT_EQ(accepted.signature->secret_key, secret);
  EXPECT_EQ(outcome(r), "accepted");
}

TEST_F(SignedRequest, TheBodyIsCheckedAgainstTheSignatureAfterTheHead) {
  client_request r;
  r.sign("AK-OPERATOR", secret);
  const auto checked = check(r);
  ASSERT_TRUE(std::holds_alternative<accepted_request>(checked));
  client_request changed = r;
  changed.body =
      R"({"jobs":[{"job_id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502","pause_mode":"all"}]})";
  const std::vector<header_field> f = changed.fields();
  const auto refused = service_.check_body(std::get<accepted_request>(checked), changed.view(f));
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(std::to_string(refused->status) + " " + refused->body, gateway(mismatch));
}

TEST_F(SignedRequest, ATokenRequestHasNoSignatureToCheck) {
  client_request r;
  r.headers.emplace_back("X-Auth-Token", "op-token");
  const auto checked = check(r);
  ASSERT_TRUE(std::holds_alternative<accepted_request>(checked));
  EXPECT_EQ(std::get<accepted_request>(checked).signature, nullptr);
  EXPECT_EQ(outcome(r), "accepted");
}

TEST_F(SignedRequest, EachFaultGetsItsRefusal) {
  const std::string_view zh_mismatch =
      R"(401 {"error_code":"APIGW.0301","error_msg":"IAM认证信息错误：AK/SK签名校验失败：签名与请求不符（密钥错误，或请求在签名后被修改）。"})";
  {
    client_request r;
    r.sign("AK-OPERATOR", "another-secret");
    EXPECT_EQ(outcome(r), gateway(mismatch));
    EXPECT_EQ(outcome(r, "zh-cn"), zh_mismatch);
  }
  {
    client_request r;
    r.sign("AK-UNKNOWN", secret);
    EXPECT_EQ(outcome(r), gateway("the access key (Access) is not known."));
  }
  {
    client_request r;
    r.sign("AK-OPERATOR", secret);
    r.set("Host", "127.0.0.1:18081");  // a signed header changed after signing
    EXPECT_EQ(outcome(r), gateway(mismatch));
  }
  {
    client_request r;
    r.signed_headers = {"content-type", "x-project-id", "x-sdk-date"};
    r.sign("AK-OPERATOR", secret);
    EXPECT_EQ(outcome(r), gateway("SignedHeaders must include host."));
  }
  {
    client_request r;
    r.signed_headers = {"content-type", "host", "x-language", "x-sdk-date"};
    r.sign("AK-OPERATOR", secret);  // X-Language signed but never sent
    EXPECT_EQ(outcome(r),
              gateway("the header x-language of SignedHeaders is missing from the request or given "
                      "more than once."));
  }
  {
    client_request r;
    r.set("X-Sdk-Date", sdk_date_of(std::chrono::system_clock::now() - std::chrono::minutes(2)));
    r.sign("AK-OPERATOR", secret);
    EXPECT_EQ(outcome(r), gateway("the signing time (X-Sdk-Date) is more than 60 seconds away from "
                                  "the server's clock."));
  }
  {
    client_request r;
    r.set("X-Sdk-Date", "2026-05-04T03:02:01Z");
    r.sign("AK-OPERATOR", secret);
    EXPECT_EQ(outcome(r), gateway("the X-Sdk-Date header is missing or not a UTC time of the form "
                                  "YYYYMMDDTHHMMSSZ."));
  }
  {
    client_request r;
    r.set("Authorization", "Bearer abc");
    EXPECT_EQ(outcome(r).substr(0, 60), gateway("the Authorization header").substr(0, 60));
    EXPECT_NE(outcome(r).find("is not one SDK-HMAC-SHA256 signature"), std::string::npos);
  }
  {
    client_request r;
    r.sign("AK-OPERATOR", secret);
    r.headers.push_back(r.headers.back());  // Authorization twice, the same value
    EXPECT_NE(outcome(r).find("is not one SDK-HMAC-SHA256 signature"), std::string::npos);
  }
}

TEST_F(SignedRequest, ATokenAndASignatureTogetherAreRefusedWhateverTheirWorth) {
  client_request r;
  r.sign("AK-OPERATOR", secret);
  r.headers.emplace_back("X-Auth-Token", "op-token");
  EXPECT_EQ(outcome(r),
            gateway("send either X-Auth-Token or an AK/SK signature (Authorization), not both."));
}

TEST_F(SignedRequest, ProjectsAreCheckedAfterTheCallerBeforeTheRole) {
  const std::string invalid_project =
      R"(403 {"error_code":"DRS.M00261","error_msg":"Invalid project ID."})";
  {
    client_request r;  // the key of project B on project A's path
    r.set("X-Project-Id", "6a1f0c8e2b4d4f7e9c3a5b7d9e1f2a3b");
    r.sign("AK-B", "b-secret");
    EXPECT_EQ(outcome(r), invalid_project);
  }
  {
    client_request r;  // X-Project-Id not the path's
    r.set("X-Project-Id", "6a1f0c8e2b4d4f7e9c3a5b7d9e1f2a3b");
    r.sign("AK-OPERATOR", secret);
    EXPECT_EQ(outcome(r), invalid_project);
  }
  {
    client_request r;  // the same for a token
    r.headers.emplace_back("X-Auth-Token", "op-token");
    r.set("X-Project-Id", "6a1f0c8e2b4d4f7e9c3a5b7d9e1f2a3b");
    EXPECT_EQ(outcome(r), invalid_project);
  }
  {
    client_request r;  // X-Project-Id twice, both right: for a token, the project's 403
    r.headers.emplace_back("X-Auth-Token", "op-token");
    r.headers.emplace_back("X-Project-Id", "054ba152d480d55b2f5dc0069e7ddef0");
    EXPECT_EQ(outcome(r), invalid_project);
  }
  {
    client_request r;  // for a signature covering it, a signed header given twice: 401
    r.headers.emplace_back("X-Project-Id", "054ba152d480d55b2f5dc0069e7ddef0");
    r.sign("AK-OPERATOR", secret);
    EXPECT_EQ(outcome(r), gateway("the header x-project-id of SignedHeaders is missing from the "
                                  "request or given more than once."));
  }
  {
    client_request r;  // a reader's key on a command: the role's 403, after the project
    r.sign("AK-READER", "reader-secret");
    EXPECT_EQ(
        outcome(r),
        R"(403 {"error_code":"TASKORCH.0403","error_msg":"The caller's role (reader) may not call this API."})");
  }
  {
    client_request r;  // and an unknown key is a 401 before any project
    r.set("X-Project-Id", "6a1f0c8e2b4d4f7e9c3a5b7d9e1f2a3b");
    r.sign("AK-UNKNOWN", secret);
    EXPECT_EQ(outcome(r).substr(0, 4), "401 ");
  }
}

TEST_F(SignedRequest, TheSignedHeadIsCheckedBeforeContentType) {
  client_request r;
  r.set("Content-Type", "text/plain");
  r.signed_headers = {"content-type", "host", "x-sdk-date"};
  r.set("X-Sdk-Date", "not a date");
  r.sign("AK-OPERATOR", secret);
  EXPECT_EQ(outcome(r).substr(0, 4), "401 ");
  client_request fine;
  fine.set("Content-Type", "text/plain");
  fine.sign("AK-OPERATOR", secret);
  EXPECT_NE(outcome(fine).find("Content-Type"), std::string::npos);
}

TEST_F(SignedRequest, AQuerySignedRequestOnTheEventStream) {
  client_request r;
  r.method = "GET";
  r.target = "/v3/054ba152d480d55b2f5dc0069e7ddef0/events?since=5";
  r.body.clear();
  r.sign("AK-READER", "reader-secret");
  EXPECT_EQ(outcome(r), "accepted");
  r.target = "/v3/054ba152d480d55b2f5dc0069e7ddef0/events?since=6";  // the query changed
  EXPECT_EQ(outcome(r), gateway(mismatch));
}

}  // namespace
}  // namespace taskorch::http
