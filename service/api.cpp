#include <taskorch/http/api.hpp>
#include <taskorch/http/error_table.hpp>
#include <taskorch/http/response_writer.hpp>

#include <boost/asio/any_completion_executor.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/system_executor.hpp>

#include <algorithm>
#include <cctype>

namespace taskorch::http {

namespace {

constexpr std::string_view allow_post = "POST";
constexpr std::string_view allow_get = "GET";

struct route_match {
  endpoint route = endpoint::other;
  std::string_view project;  ///< the path's project_id segment, unchecked
  bool found = false;
};

/// Matches `/v3/{project_id}/jobs/{action}` and `/metrics`; the query string is ignored.
route_match match_route(std::string_view target) noexcept {
  target = target.substr(0, target.find('?'));
  if (target == "/metrics") return {endpoint::metrics, {}, true};
  constexpr std::string_view prefix = "/v3/";
  if (!target.starts_with(prefix)) return {};
  target.remove_prefix(prefix.size());
  const std::size_t slash = target.find('/');
  if (slash == 0 || slash == std::string_view::npos) return {};
  const std::string_view project = target.substr(0, slash);
  const std::string_view rest = target.substr(slash);
  if (rest == "/jobs/batch-pause-task") return {endpoint::batch_pause, project, true};
  if (rest == "/jobs/batch-retry-task") return {endpoint::batch_retry, project, true};
  if (rest == "/jobs/batch-status") return {endpoint::batch_status, project, true};
  return {};
}

/// True for `application/json`, with any parameters, in any case.
bool is_json_media_type(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && std::isspace(static_cast<unsigned char>(media.front()))) {
    media.remove_prefix(1);
  }
  while (!media.empty() && std::isspace(static_cast<unsigned char>(media.back()))) {
    media.remove_suffix(1);
  }
  constexpr std::string_view json = "application/json";
  return media.size() == json.size() &&
         std::equal(media.begin(), media.end(), json.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

response coded_error(unsigned status, std::string_view code, std::string_view en,
                     std::string_view zh, language lang) {
  response r;
  r.status = status;
  write_error(r.body, code, lang == language::zh_cn ? zh : en);
  return r;
}

response engine_failure(const error_code& ec, language lang) {
  const wire_error& e = describe(ec);
  return coded_error(e.status, e.drs_code, e.en, e.zh, lang);
}

}  // namespace

namespace {

/// A handler waiting for its response. Keeps work tracked on the handler's executor until the
/// response is dispatched there, so a server's io_context cannot run out of work (and be
/// destroyed) while the engine is still answering one of its requests.
class pending_response {
 public:
  explicit pending_response(boost::asio::any_completion_handler<void(response)> h)
      : handler_(std::move(h)),
        work_(boost::asio::prefer(
            boost::asio::get_associated_executor(handler_, boost::asio::system_executor()),
            boost::asio::execution::outstanding_work.tracked)) {}

  /// The requester's executor. Engine callbacks are bound to it, so an operation the
  /// engine ran inline on the requester's thread completes there, without waking an engine
  /// thread (a requester without an executor is answered on an engine thread, as before).
  boost::asio::any_completion_executor executor() const {
    return boost::asio::get_associated_executor(handler_, boost::asio::system_executor());
  }

  void send(response r) {
    boost::asio::dispatch(boost::asio::append(std::move(handler_), std::move(r)));
    work_ = {};
  }

 private:
  boost::asio::any_completion_handler<void(response)> handler_;
  boost::asio::any_completion_executor work_;
};

}  // namespace

class api::parser_lease {
 public:
  explicit parser_lease(api& owner) : owner_(owner) {
    std::lock_guard lock(owner_.parsers_mutex_);
    if (!owner_.parsers_.empty()) {
      parser_.emplace(std::move(owner_.parsers_.back()));
      owner_.parsers_.pop_back();
    }
    if (!parser_) {
      parser_.emplace(body_limits{owner_.limits_.max_jobs, owner_.limits_.max_depth});
    }
  }
  ~parser_lease() {
    std::lock_guard lock(owner_.parsers_mutex_);
    owner_.parsers_.push_back(std::move(*parser_));
  }
  parser_lease(const parser_lease&) = delete;
  parser_lease& operator=(const parser_lease&) = delete;
  body_parser* operator->() { return &*parser_; }

 private:
  api& owner_;
  std::optional<body_parser> parser_;
};

api::api(engine& eng, token_table tokens, api_limits limits)
    : engine_(eng), tokens_(std::move(tokens)), limits_(limits) {}

endpoint api::route_of(std::string_view target) noexcept { return match_route(target).route; }

response api::error_response(const request_error& e, language lang) {
  response r;
  r.status = e.status;
  write_error(r.body, e.code, e.message(lang));
  return r;
}

std::variant<accepted_request, response> api::check(const request_head& head) const {
  const language lang = parse_language(head.language);
  const route_match match = match_route(head.target);
  if (!match.found) {
    return coded_error(404, "TASKORCH.0404", "The requested API does not exist.",
                       "请求的接口不存在。", lang);
  }
  const std::string_view allowed = match.route == endpoint::metrics ? allow_get : allow_post;
  if (head.method != allowed) {
    response r = coded_error(405, "TASKORCH.0405", "The method is not allowed for this API.",
                             "该接口不支持此请求方法。", lang);
    r.allow = allowed;
    return r;
  }
  accepted_request accepted{match.route, {}, lang};
  if (match.route == endpoint::metrics) return accepted;

  const std::optional<project_id> bound =
      head.token ? tokens_.find(*head.token) : std::optional<project_id>();
  if (!bound) {
    return coded_error(401, "APIGW.0301",
                       "Incorrect IAM authentication information: the X-Auth-Token header is "
                       "missing or not valid.",
                       "IAM认证信息错误：X-Auth-Token请求头缺失或无效。", lang);
  }
  const std::optional<project_id> path_project = project_id::parse(match.project);
  if (!path_project || *path_project != *bound) {
    return coded_error(403, "DRS.M00261", "Invalid project ID.", "项目ID无效。", lang);
  }
  if (head.content_type && !is_json_media_type(*head.content_type)) {
    return error_response(request_error::unsupported_content_type(), lang);
  }
  accepted.project = *bound;
  return accepted;
}

void api::start_handle(accepted_request request, std::string body, handler h) {
  const language lang = request.lang;
  pending_response pending(std::move(h));

  if (request.route == endpoint::metrics) {
    auto ex = pending.executor();
    engine_.async_count(boost::asio::bind_executor(
        ex, [this, pending = std::move(pending)](error_code ec, state_counts counts) mutable {
          response r;
          if (ec) {
            r = engine_failure(ec, language::en_us);
          } else {
            r.body = metrics_.render(counts);
            r.content_type = "text/plain; version=0.0.4; charset=utf-8";
          }
          pending.send(std::move(r));
        }));
    return;
  }

  parser_lease parser(*this);
  if (request.route == endpoint::batch_status) {
    auto parsed = parser->parse_status(body);
    if (auto* e = std::get_if<request_error>(&parsed))
      return pending.send(error_response(*e, lang));
    status_query query = std::get<status_query>(std::move(parsed));
    const std::size_t cur_page = query.cur_page, per_page = query.per_page;
    auto ex = pending.executor();
    engine_.async_status(request.project, std::move(query.ids),
                         boost::asio::bind_executor(
                             ex, [lang, cur_page, per_page, pending = std::move(pending)](
                                     error_code ec, std::vector<status_result> statuses) mutable {
                               response r;
                               if (ec) {
                                 r = engine_failure(ec, lang);
                               } else {
                                 write_status_response(r.body, statuses, cur_page, per_page, lang);
                               }
                               pending.send(std::move(r));
                             }));
    return;
  }

  // batch-pause-task and batch-retry-task: a batch_result per request.
  auto on_batch = [this, lang, route = request.route](pending_response done) {
    auto ex = done.executor();
    return boost::asio::bind_executor(ex, [this, lang, route, done = std::move(done)](
                                              error_code ec, batch_result results) mutable {
      response r;
      if (ec) {
        r = engine_failure(ec, lang);
      } else {
        metrics_.count_items(route, results);
        write_batch_response(r.body, results, lang);
      }
      done.send(std::move(r));
    });
  };
  if (request.route == endpoint::batch_pause) {
    auto parsed = parser->parse_pause(body);
    if (auto* e = std::get_if<request_error>(&parsed))
      return pending.send(error_response(*e, lang));
    engine_.async_pause(request.project, std::get<std::vector<pause_item>>(std::move(parsed)),
                        on_batch(std::move(pending)));
  } else {
    auto parsed = parser->parse_retry(body);
    if (auto* e = std::get_if<request_error>(&parsed))
      return pending.send(error_response(*e, lang));
    engine_.async_resume(request.project, std::get<std::vector<job_id>>(std::move(parsed)),
                         on_batch(std::move(pending)));
  }
}

}  // namespace taskorch::http
