// libFuzzer target: whole HTTP requests, parsed by Beast and handled by the API over a live
// engine holding a few tasks of the demo project (the DRS example job among them), as the
// server does (without the socket), signed requests (an access key "fuzz-ak") included. Every
// request that parses gets a response with a JSON body (or the metrics text) and a known status.
#include <taskorch/engine.hpp>
#include <taskorch/http/api.hpp>

#include <boost/asio/use_future.hpp>
#include <boost/beast/core/buffers_prefix.hpp>
#include <boost/beast/http.hpp>

#include <cstdint>
#include <cstdlib>

namespace {

namespace bhttp = boost::beast::http;

struct fixture {
  fixture()
      : eng({.threads = 2}),
        service(eng, {.tokens = tokens(), .access_keys = access_keys()},
                {.max_jobs = 64, .max_body = 4096}) {
    const auto project = *taskorch::project_id::parse("054ba152d480d55b2f5dc0069e7ddef0");
    std::vector<taskorch::registration> tasks{
        taskorch::task_spec{.id = *taskorch::job_id::parse("8d0e8e36-a618-490d-8a46-8c61ac9jb502"),
                            .project = project,
                            .state = taskorch::task_state::full_transfer}};
    for (std::size_t i = 0; i < 32; ++i) {
      const taskorch::task_state state = taskorch::all_task_states[i % taskorch::task_state_count];
      std::optional<taskorch::pause_info> pause;
      if (state == taskorch::task_state::paused) {
        pause =
            taskorch::pause_info{taskorch::pause_mode::target, taskorch::task_state::full_transfer};
      }
      std::optional<taskorch::wall_time> start_time;
      if (state == taskorch::task_state::waiting_for_start) {
        start_time = taskorch::wall_now() + std::chrono::hours(24);
      }
      tasks.push_back(taskorch::task_spec{.id = taskorch::job_id::mint(),
                                          .project = project,
                                          .state = state,
                                          .pause = pause,
                                          .start_time = start_time});
    }
    eng.register_tasks(std::move(tasks));
  }
  static taskorch::http::token_table tokens() {
    taskorch::http::token_table t;
    t.add("fuzz-token", *taskorch::project_id::parse("054ba152d480d55b2f5dc0069e7ddef0"));
    return t;
  }
  static taskorch::http::access_key_table access_keys() {
    taskorch::http::access_key_table k;
    k.add("fuzz-ak", "fuzz-sk", *taskorch::project_id::parse("054ba152d480d55b2f5dc0069e7ddef0"));
    return k;
  }
  taskorch::engine eng;
  taskorch::http::api service;
};

std::optional<std::string_view> header(const bhttp::request<bhttp::string_body>& req,
                                       std::string_view name) {
  auto it = req.find(name);
  if (it == req.end()) return std::nullopt;
  return std::string_view(it->value());
}

bool repeated(const bhttp::request<bhttp::string_body>& req, std::string_view name) {
  return req.count(name) > 1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fixture f;
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(8192);
  parser.body_limit(4096);
  parser.eager(true);
  boost::system::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (ec || !parser.is_header_done()) return 0;
  const auto& req = parser.get();
  std::vector<taskorch::http::header_field> fields;
  for (const auto& field : req) fields.push_back({field.name_string(), field.value()});
  const taskorch::http::request_head head{.method = req.method_string(),
                                          .target = req.target(),
                                          .token = header(req, "X-Auth-Token"),
                                          .content_type = header(req, "Content-Type"),
                                          .language = header(req, "X-Language").value_or(""),
                                          .repeated_token = repeated(req, "X-Auth-Token"),
                                          .repeated_content_type = repeated(req, "Content-Type"),
                                          .authorization = header(req, "Authorization"),
                                          .repeated_authorization = repeated(req, "Authorization"),
                                          .project_header = header(req, "X-Project-Id"),
                                          .repeated_project_header = repeated(req, "X-Project-Id"),
                                          .headers = fields};
  auto checked = f.service.check(head);
  taskorch::http::response res;
  if (auto* refusal = std::get_if<taskorch::http::response>(&checked)) {
    res = std::move(*refusal);
  } else {
    if (!parser.is_done()) return 0;
    auto accepted = std::get<taskorch::http::accepted_request>(checked);
    std::optional<taskorch::http::response> refused =
        f.service.check_body(accepted, {.method = req.method_string(),
                                        .target = req.target(),
                                        .headers = fields,
                                        .body = req.body()});
    if (refused) {
      res = std::move(*refused);
    } else {
      std::string body = req.body();
      res = f.service.async_handle(accepted, std::move(body), boost::asio::use_future).get();
    }
  }
  if (res.status < 200 || res.status > 599 || res.body.empty()) std::abort();
  if (res.content_type == "application/json" && res.body.front() != '{') std::abort();
  return 0;
}
