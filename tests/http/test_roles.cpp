// Roles on tokens: the role table (role.hpp), the token table's grants, and api::check()
// refusing a call outside the token's role with 403 TASKORCH.0403, after the token (401) and
// the project (403 DRS.M00261), before Content-Type.

#include <taskorch/engine.hpp>
#include <taskorch/http/api.hpp>
#include <taskorch/http/endpoint.hpp>
#include <taskorch/http/role.hpp>
#include <taskorch/http/token_table.hpp>

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <variant>

namespace taskorch::http {
namespace {

const project_id project_a = *project_id::parse("054ba152d480d55b2f5dc0069e7ddef0");
const project_id project_b = *project_id::parse("6a1f0c8e2b4d4f7e9c3a5b7d9e1f2a3b");

TEST(Roles, WhatEachRoleMayCall) {
  // Written from the issue, not read from the table.
  struct expectation {
    role who;
    bool command, query, report, events;
  };
  for (const expectation& e : {expectation{role::operator_, true, true, false, true},
                               expectation{role::worker, false, true, true, true},
                               expectation{role::reader, false, true, false, true}}) {
    SCOPED_TRACE(to_string(e.who));
    EXPECT_EQ(may_call(e.who, call_kind::command), e.command);
    EXPECT_EQ(may_call(e.who, call_kind::query), e.query);
    EXPECT_EQ(may_call(e.who, call_kind::report), e.report);
    EXPECT_EQ(may_call(e.who, call_kind::events), e.events);
    EXPECT_TRUE(may_call(e.who, call_kind::open));
  }
  static_assert(!may_call(role::reader, call_kind::command), "usable at compile time");
}

TEST(Roles, NamesParseBackToTheirRole) {
  EXPECT_EQ(to_string(role::operator_), "operator");
  EXPECT_EQ(to_string(role::worker), "worker");
  EXPECT_EQ(to_string(role::reader), "reader");
  for (const role_row& row : role_table) EXPECT_EQ(parse_role(row.name), row.id) << row.name;
  EXPECT_EQ(default_role, role::operator_);
  for (std::string_view unknown :
       {"", "admin", "Operator", "READER", "reader ", " worker", "operator_", "op"}) {
    EXPECT_EQ(parse_role(unknown), std::nullopt) << '"' << unknown << '"';
  }
}

TEST(Roles, EveryRouteHasTheKindOfItsCall) {
  const auto kind = [](endpoint e) { return routes[static_cast<std::size_t>(e)].kind; };
  EXPECT_EQ(kind(endpoint::batch_pause), call_kind::command);
  EXPECT_EQ(kind(endpoint::batch_retry), call_kind::command);
  EXPECT_EQ(kind(endpoint::batch_starting), call_kind::command);
  EXPECT_EQ(kind(endpoint::batch_jobs), call_kind::command);
  EXPECT_EQ(kind(endpoint::batch_status), call_kind::query);
  EXPECT_EQ(kind(endpoint::batch_detail), call_kind::query);
  EXPECT_EQ(kind(endpoint::batch_progress), call_kind::query);
  EXPECT_EQ(kind(endpoint::list_jobs), call_kind::query);
  EXPECT_EQ(kind(endpoint::batch_report), call_kind::report);
  EXPECT_EQ(kind(endpoint::events), call_kind::events);
  EXPECT_EQ(kind(endpoint::metrics), call_kind::open);
}

TEST(TokenTable, FindReturnsTheProjectAndTheRole) {
  token_table tokens;
  EXPECT_TRUE(tokens.empty());
  tokens.add("op", project_a);
  tokens.add("wk", project_a, role::worker);
  tokens.add("rd", project_b, role::reader);
  EXPECT_FALSE(tokens.empty());
  EXPECT_EQ(tokens.find("op"), (token_grant{project_a, role::operator_}));
  EXPECT_EQ(tokens.find("wk"), (token_grant{project_a, role::worker}));
  EXPECT_EQ(tokens.find("rd"), (token_grant{project_b, role::reader}));
  for (std::string_view unknown : {"", "o", "opx", "OP", "rd "}) {
    EXPECT_EQ(tokens.find(unknown), std::nullopt) << unknown;
  }
}

TEST(TokenTable, ATokenAddedAgainKeepsItsLastBinding) {
  token_table tokens;
  tokens.add("t", project_a, role::reader);
  tokens.add("t", project_b, role::worker);
  EXPECT_EQ(tokens.find("t"), (token_grant{project_b, role::worker}));
  tokens.add("t", project_b);
  EXPECT_EQ(tokens.find("t"), (token_grant{project_b, role::operator_}));
  tokens.add("", project_a, role::operator_);
  EXPECT_EQ(tokens.find(""), std::nullopt);  // an empty header never matches
}

/// api::check() over an engine with no tasks: one token per role, for project A.
class RoleCheck : public ::testing::Test {
 protected:
  static token_table tokens() {
    token_table t;
    t.add("op", project_a);
    t.add("wk", project_a, role::worker);
    t.add("rd", project_a, role::reader);
    t.add("other", project_b, role::operator_);
    return t;
  }

  std::variant<accepted_request, response> check(std::string_view method, std::string path,
                                                 std::optional<std::string_view> token,
                                                 std::string_view lang = "",
                                                 std::string_view content_type = "") {
    target_ = std::move(path);
    request_head head;
    head.method = method;
    head.target = target_;
    head.token = token;
    if (!content_type.empty()) head.content_type = content_type;
    head.language = lang;
    return service_.check(head);
  }

  static std::string path(endpoint e,
                          std::string_view project = "054ba152d480d55b2f5dc0069e7ddef0") {
    std::string p(routes[static_cast<std::size_t>(e)].pattern);
    const std::size_t at = p.find("{project_id}");
    if (at != std::string::npos) p.replace(at, std::string_view("{project_id}").size(), project);
    return p;
  }

  static std::string_view method(endpoint e) {
    const std::string_view allow = routes[static_cast<std::size_t>(e)].allow;
    return allow.substr(0, allow.find(','));
  }

  engine eng_{engine_options{.threads = 1}};
  api service_{eng_, {.tokens = tokens()}};
  std::string target_;
};

std::string forbidden_body(std::string_view role_name, bool zh = false) {
  return zh ? std::string(R"({"error_code":"TASKORCH.0403","error_msg":"调用者的角色（)") +
                  std::string(role_name) + "）无权调用该接口。\"}"
            : std::string(R"({"error_code":"TASKORCH.0403","error_msg":"The caller's role ()") +
                  std::string(role_name) + ") may not call this API.\"}";
}

TEST_F(RoleCheck, EachRoleIsAcceptedOrRefusedOnEveryRoute) {
  struct row {
    endpoint e;
    bool op, wk, rd;  // accepted for operator, worker, reader
  };
  // Written from the issue, not derived from the tables.
  for (const row& r :
       {row{endpoint::batch_pause, true, false, false},
        row{endpoint::batch_retry, true, false, false},
        row{endpoint::batch_starting, true, false, false},
        row{endpoint::batch_jobs, true, false, false},
        row{endpoint::batch_status, true, true, true},
        row{endpoint::batch_detail, true, true, true},
        row{endpoint::batch_progress, true, true, true}, row{endpoint::list_jobs, true, true, true},
        row{endpoint::batch_report, false, true, false}, row{endpoint::events, true, true, true}}) {
    for (const auto& [token, name, accepted] :
         {std::tuple{"op", "operator", r.op}, std::tuple{"wk", "worker", r.wk},
          std::tuple{"rd", "reader", r.rd}}) {
      SCOPED_TRACE(std::string(to_string(r.e)) + " as " + name);
      const auto checked = check(method(r.e), path(r.e), std::string_view(token));
      if (accepted) {
        const auto* ok = std::get_if<accepted_request>(&checked);
        ASSERT_NE(ok, nullptr) << std::get<response>(checked).body;
        EXPECT_EQ(ok->route, r.e);
        EXPECT_EQ(ok->project, project_a);
        continue;
      }
      const auto* refused = std::get_if<response>(&checked);
      ASSERT_NE(refused, nullptr);
      EXPECT_EQ(refused->status, 403U);
      EXPECT_EQ(refused->body, forbidden_body(name));
      const auto zh = check(method(r.e), path(r.e), std::string_view(token), "zh-cn");
      ASSERT_TRUE(std::holds_alternative<response>(zh));
      EXPECT_EQ(std::get<response>(zh).body, forbidden_body(name, true));
    }
  }
}

TEST_F(RoleCheck, MetricsNeedNoTokenWhateverTheRole) {
  for (std::optional<std::string_view> token :
       {std::optional<std::string_view>(), std::optional<std::string_view>("rd"),
        std::optional<std::string_view>("nope")}) {
    EXPECT_TRUE(std::holds_alternative<accepted_request>(check("GET", "/metrics", token)));
  }
}

TEST_F(RoleCheck, TheRoleIsCheckedAfterTokenAndProjectBeforeContentType) {
  const std::string pause = path(endpoint::batch_pause);
  const auto refusal = [](const std::variant<accepted_request, response>& checked) {
    const auto* r = std::get_if<response>(&checked);
    return r == nullptr ? std::string("accepted") : std::to_string(r->status) + " " + r->body;
  };
  // An unknown token: 401, not 403.
  EXPECT_EQ(refusal(check("POST", pause, "nope")).substr(0, 4), "401 ");
  EXPECT_EQ(refusal(check("POST", pause, std::nullopt)).substr(0, 4), "401 ");
  // A reader's token on another project's path: the project's 403, not the role's.
  const std::string other_project = path(endpoint::batch_pause, "6a1f0c8e2b4d4f7e9c3a5b7d9e1f2a3b");
  EXPECT_NE(refusal(check("POST", other_project, "rd")).find("DRS.M00261"), std::string::npos);
  EXPECT_NE(refusal(check("POST", path(endpoint::batch_report, "x"), "op")).find("DRS.M00261"),
            std::string::npos);
  // A reader with a wrong Content-Type: the role's 403, not the 400.
  EXPECT_EQ(refusal(check("POST", pause, "rd", "", "text/plain")),
            "403 " + forbidden_body("reader"));
  // An allowed call with a wrong Content-Type: the 400.
  EXPECT_NE(refusal(check("POST", path(endpoint::batch_status), "rd", "", "text/plain"))
                .find("Content-Type"),
            std::string::npos);
  // The route and method come first: a reader's GET on pause is 405.
  EXPECT_EQ(refusal(check("GET", pause, "rd")).substr(0, 4), "405 ");
}

}  // namespace
}  // namespace taskorch::http
