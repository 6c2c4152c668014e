// Answers the DRS seed's pause request through taskorch::http from the installed package:
// checks the request head, handles the body, and prints the response.
#include <taskorch/http/api.hpp>
#include <taskorch/taskorch.hpp>

#include <boost/asio/use_future.hpp>

#include <cstdio>
#include <string>

int main() {
  using namespace taskorch;
  engine eng({.threads = 2});
  const project_id project = *project_id::parse("054ba152d480d55b2f5dc0069e7ddef0");
  const job_id id = *job_id::parse("8d0e8e36-a618-490d-8a46-8c61ac9jb502");
  eng.register_tasks({task_spec{.id = id, .project = project, .state = task_state::full_transfer}});

  http::token_table tokens;
  tokens.add("consumer-token", project);
  http::api service(eng, {.tokens = std::move(tokens)});
  const std::string target = "/v3/054ba152d480d55b2f5dc0069e7ddef0/jobs/batch-pause-task";
  const auto checked = service.check({.method = "POST",
                                      .target = target,
                                      .token = "consumer-token",
                                      .content_type = "application/json",
                                      .language = ""});
  const auto* accepted = std::get_if<http::accepted_request>(&checked);
  if (accepted == nullptr) {
    std::puts("consumer-http: the request was refused at its head");
    return 1;
  }
  const std::string body =
      R"({ "jobs" : [ { "job_id" : "8d0e8e36-a618-490d-8a46-8c61ac9jb502", "pause_mode" : "target" } ] })";
  const http::response answer =
      service.async_handle(*accepted, body, boost::asio::use_future).get();
  const std::string expected =
      R"({"results":[{"id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502","status":"success"}],"count":1})";
  if (answer.status != 200 || answer.body != expected) {
    std::printf("consumer-http: unexpected answer %u %s\n", answer.status, answer.body.c_str());
    return 1;
  }
  std::printf("consumer-http: %s\n", answer.body.c_str());
  return 0;
}
