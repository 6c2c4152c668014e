#include "console_files.hpp"
#include "response_completion.hpp"
#include <taskorch/http/api.hpp>
#include <taskorch/http/error_table.hpp>
#include <taskorch/http/event_source.hpp>
#include <taskorch/http/job_list.hpp>
#include <taskorch/http/response_writer.hpp>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace taskorch::http {

namespace {

/// True for `application/json`, with any parameters, in any case.
bool is_json_media_type(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  const auto space = [](char c) { return c == ' ' || c == '\t'; };
  while (!media.empty() && space(media.front())) media.remove_prefix(1);
  while (!media.empty() && space(media.back())) media.remove_suffix(1);
  constexpr std::string_view json = "application/json";
  return media.size() == json.size() &&
         std::equal(media.begin(), media.end(), json.begin(), [](char a, char b) {
           return (a >= 'A' && a <= 'Z' ? static_cast<char>(a - 'A' + 'a') : a) == b;
         });
}

/// DRS answers pause and retry with 200, start and delete (asynchronous in DRS) with 202.
constexpr unsigned ok_status = 200;
constexpr unsigned accepted_status = 202;

response refusal(request_errc kind, language lang) {
  return error_response(request_error::of(kind), lang);
}

/// The refusal of a signed request `verdict` refuses.
request_error signature_refusal(const signature_verdict& verdict, std::chrono::seconds window) {
  switch (*verdict.error) {
    case signature_errc::host_not_signed:
      return request_error::required_header_unsigned("host");
    case signature_errc::date_not_signed:
      return request_error::required_header_unsigned(sdk_date_header);
    case signature_errc::date_missing:
    case signature_errc::date_malformed:
      return request_error::of(request_errc::sdk_date_malformed);
    case signature_errc::date_outside_window:
      return request_error::sdk_date_expired(window.count());
    case signature_errc::signed_header_missing:
    case signature_errc::header_repeated:
      return request_error::signed_header_missing(verdict.header);
    case signature_errc::unsigned_payload_refused:
      return request_error::of(request_errc::payload_unsigned);
    case signature_errc::content_sha256_mismatch:
    case signature_errc::signature_mismatch:
      return request_error::of(request_errc::signature_mismatch);
    case signature_errc::not_sdk_hmac_sha256:
    case signature_errc::authorization_malformed:
    case signature_errc::parameter_unknown:
    case signature_errc::parameter_repeated:
    case signature_errc::access_missing:
    case signature_errc::signed_headers_missing:
    case signature_errc::signed_headers_malformed:
    case signature_errc::signature_missing:
    case signature_errc::signature_malformed:
      break;
  }
  return request_error::of(request_errc::authorization_malformed);
}

response engine_failure(const error_code& ec, language lang) {
  const wire_error& e = describe(ec);
  response r;
  r.status = e.status;
  const bool nothing_run = &e == &describe(request_errc::not_run).wire;
  if (nothing_run) r.retry_after = std::chrono::seconds(1);  // the next owner answers soon
  write_error(r.body, e.drs_code, lang == language::zh_cn ? e.zh : e.en);
  return r;
}

/// Gives memory back to the system after a body larger than a parser keeps buffers for:
/// glibc keeps freed heap pages (and raises its mmap threshold after a large free), so a huge
/// request would stay resident. Not after every offloaded body: trimming the heap costs about
/// as much as parsing a batch of ten thousand items.
void return_free_memory() noexcept {
#if defined(__GLIBC__)
  ::malloc_trim(0);
#endif
}

/// What an event stream reads: one project's events from the feed of the engine serving it.
class feed_source final : public event_source {
 public:
  feed_source(std::shared_ptr<const engine> eng, const project_id& project)
      : engine_(std::move(eng)), project_(project) {}

  feed_page read(std::uint64_t after, std::size_t max_events) const override {
    return engine_->read_feed(project_, after, max_events);
  }
  std::uint64_t position() const override { return engine_->feed_position(); }
  bool ended() const override { return engine_->stopped(); }

 private:
  std::shared_ptr<const engine> engine_;
  project_id project_;
};

/// The storage figures of several engines as one: counters added up, failed when any failed.
storage_stats add_up(const std::vector<storage_stats>& each) {
  if (each.size() == 1) return each.front();
  storage_stats all;
  for (const storage_stats& s : each) {
    all.enabled = all.enabled || s.enabled;
    all.mode = s.mode;
    all.failed = all.failed || s.failed;
    all.journal_bytes += s.journal_bytes;
    all.records += s.records;
    all.syncs += s.syncs;
    all.commits += s.commits;
    all.checkpoints += s.checkpoints;
    all.sync_latency.total_ns += s.sync_latency.total_ns;
    for (std::size_t i = 0; i < latency_histogram::buckets; ++i) {
      all.sync_latency.counts[i] += s.sync_latency.counts[i];
    }
  }
  return all;
}

}  // namespace

/// Lends a body parser for one request (parsers keep buffers; one per concurrent request).
class api::parser_lease {
 public:
  explicit parser_lease(api& owner) : owner_(owner) {
    std::lock_guard lock(owner_.parsers_mutex_);
    if (!owner_.parsers_.empty()) {
      parser_.emplace(std::move(owner_.parsers_.back()));
      owner_.parsers_.pop_back();
    }
    if (!parser_) {
      parser_.emplace(body_limits{.max_jobs = owner_.options_.max_jobs,
                                  .max_depth = owner_.options_.max_depth});
    }
  }
  ~parser_lease() {
    std::lock_guard lock(owner_.parsers_mutex_);
    owner_.parsers_.push_back(std::move(*parser_));
  }
  parser_lease(const parser_lease&) = delete;
  parser_lease& operator=(const parser_lease&) = delete;
  body_parser& operator*() { return *parser_; }

 private:
  api& owner_;
  std::optional<body_parser> parser_;
};

api::api(engine& eng, api_callers callers, api_options options)
    : own_directory_(std::make_unique<const single_engine>(eng)),
      engines_(*own_directory_),
      callers_(std::move(callers)),
      signing_{.date_window = options.signature_window},
      options_(options),
      parse_pool_(std::max<std::size_t>(1, options.parse_threads)) {}

api::api(const engine_directory& engines, api_callers callers, api_options options)
    : engines_(engines),
      callers_(std::move(callers)),
      signing_{.date_window = options.signature_window},
      options_(options),
      parse_pool_(std::max<std::size_t>(1, options.parse_threads)) {}

api::~api() { parse_pool_.join(); }

std::variant<accepted_request, response> api::check(const request_head& head) const {
  const language lang = parse_language(head.language);
  if (auto page = detail::console_page(head.method, head.target, lang)) return std::move(*page);
  const route_match match = match_route(head.target);
  if (match.found == nullptr) return refusal(request_errc::not_found, lang);
  if (!allows(*match.found, head.method)) {
    response r = refusal(request_errc::method_not_allowed, lang);
    r.allow = match.found->allow;
    return r;
  }
  accepted_request accepted{match.found->id, {}, lang};
  if (match.found->kind == call_kind::open) return accepted;

  auto identified = identify(head);
  if (auto* refused = std::get_if<request_error>(&identified))
    return error_response(*refused, lang);
  auto& who = std::get<caller>(identified);
  const std::optional<project_id> path_project = project_id::parse(match.project);
  if (!path_project || *path_project != who.grant.project || head.repeated_project_header ||
      (head.project_header && *head.project_header != match.project)) {
    return refusal(request_errc::project_mismatch, lang);
  }
  if (!may_call(who.grant.role, match.found->kind)) {
    return error_response(request_error::role_forbidden(to_string(who.grant.role)), lang);
  }
  if (head.repeated_content_type ||
      (head.content_type && !is_json_media_type(*head.content_type))) {
    return refusal(request_errc::content_type_invalid, lang);
  }
  project_home home = engines_.find(who.grant.project);
  if (!home.local) {
    // Served by another server: sent on to it, once. An event stream is redirected there
    // instead: it lasts, and a stream is best served by the server whose feed it reads.
    if (home.owner.empty() || head.forwarded) return unavailable(lang);
    if (match.found->id == endpoint::events) {
      response r;
      r.status = 307;
      r.location = fmt::format("http://{}{}", home.owner, head.target);
      return r;
    }
    accepted.forward_to = std::move(home.owner);
  }
  accepted.project = who.grant.project;
  accepted.signature = std::move(who.signature);
  return accepted;
}

response api::unavailable(language lang) {
  response r = refusal(request_errc::partition_unavailable, lang);
  r.retry_after = std::chrono::seconds(1);
  return r;
}

std::variant<api::caller, request_error> api::identify(const request_head& head) const {
  if (head.token && head.authorization)
    return request_error::of(request_errc::credentials_ambiguous);
  if (head.authorization) return identify_signer(head);
  if (head.repeated_token) return request_error::of(request_errc::token_repeated);
  const std::optional<token_grant> bound =
      head.token ? callers_.tokens.find(*head.token) : std::optional<token_grant>();
  if (!bound) return request_error::of(request_errc::token_missing);
  return caller{*bound, nullptr};
}

std::variant<api::caller, request_error> api::identify_signer(const request_head& head) const {
  if (head.repeated_authorization) return request_error::of(request_errc::authorization_malformed);
  auto parsed = parse_authorization(*head.authorization);
  if (std::holds_alternative<signature_errc>(parsed)) {
    return request_error::of(request_errc::authorization_malformed);
  }
  auto& authorization = std::get<sdk_authorization>(parsed);
  const access_key* key = callers_.access_keys.find(authorization.access_key);
  if (key == nullptr) return request_error::of(request_errc::access_key_unknown);
  const signature_verdict verdict =
      check_signed_head(authorization, head.headers, std::chrono::system_clock::now(), signing_);
  if (!verdict.ok()) return signature_refusal(verdict, signing_.date_window);
  return caller{key->grant, std::make_shared<const pending_signature>(
                                pending_signature{std::move(authorization), key->secret_key})};
}

std::optional<response> api::check_body(const accepted_request& request,
                                        const signed_request& received) const {
  if (!request.signature) return std::nullopt;
  const signature_verdict verdict =
      verify_signature(request.signature->authorization, received, request.signature->secret_key,
                       std::chrono::system_clock::now(), signing_);
  if (verdict.ok()) return std::nullopt;
  return error_response(signature_refusal(verdict, signing_.date_window), request.lang);
}

void api::start_handle(accepted_request request, std::string body, handler h) {
  completion done(std::move(h));
  if (request.route == endpoint::metrics) return handle_metrics(std::move(done));
  if (body.size() <= options_.offload_bytes) {
    return handle_body(request, std::move(body), std::move(done));
  }
  const bool huge = body.size() > body_limits{}.keep_bytes;
  boost::asio::post(
      parse_pool_, [this, request, huge, body = std::move(body), done = std::move(done)]() mutable {
        handle_body(request, std::move(body), std::move(done));
        if (huge) return_free_memory();
      });
}

void api::handle_metrics(completion done) {
  // Every engine's counts, added up once the last has answered.
  struct tally {
    explicit tally(completion d) : done(std::move(d)) {}
    completion done;
    std::vector<std::shared_ptr<engine>> engines;
    std::mutex mutex;  // the three below: the answers may come on several threads
    state_counts counts;
    error_code failure;
    std::size_t waiting = 0;
  };
  auto shared = std::make_shared<tally>(std::move(done));
  shared->engines = engines_.engines();
  shared->waiting = shared->engines.size();
  auto finish = [this](tally& t) {
    response r;
    if (t.failure) {
      r = engine_failure(t.failure, language::en_us);
    } else {
      std::vector<storage_stats> storage;
      for (const auto& eng : t.engines) storage.push_back(eng->storage());
      r.body = metrics_.render(t.counts, storage.empty() ? storage_stats() : add_up(storage));
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    }
    t.done.complete(std::move(r));
  };
  if (shared->engines.empty()) return finish(*shared);
  auto ex = shared->done.executor();
  for (const auto& eng : shared->engines) {
    eng->async_count(
        boost::asio::bind_executor(ex, [shared, finish](error_code ec, const state_counts& counts) {
          {
            std::lock_guard lock(shared->mutex);
            if (ec) shared->failure = ec;
            shared->counts += counts;
            if (--shared->waiting != 0) return;
          }
          finish(*shared);
        }));
  }
}

template <class Items, class Start>
void api::run_command(const accepted_request& request, parse_result<Items> parsed, unsigned status,
                      completion done, Start start) {
  if (auto* e = std::get_if<request_error>(&parsed)) {
    return done.complete(error_response(*e, request.lang));
  }
  start(std::get<Items>(std::move(parsed)), batch_completion(request, status, std::move(done)));
}

template <class Query, class Start, class Write>
void api::run_query(const accepted_request& request, parse_result<Query> parsed, completion done,
                    Start start, Write write) {
  if (auto* e = std::get_if<request_error>(&parsed)) {
    return done.complete(error_response(*e, request.lang));
  }
  auto query = std::make_shared<Query>(std::get<Query>(std::move(parsed)));
  auto ex = done.executor();
  start(*query,
        boost::asio::bind_executor(ex, [lang = request.lang, query, write, done = std::move(done)](
                                           error_code ec, const auto& found) mutable {
          response r;
          if (ec) {
            r = engine_failure(ec, lang);
          } else {
            write(r, *query, found, lang);
          }
          done.complete(std::move(r));
        }));
}

void api::handle_body(const accepted_request& request, std::string body, completion done) {
  parser_lease lease(*this);
  // Parses the body, then lets it go before the engine works on the request.
  auto parse = [&](auto method) {
    auto parsed = ((*lease).*method)(body);
    std::string().swap(body);
    return parsed;
  };
  const project_id project = request.project;
  const std::shared_ptr<engine> serving = engines_.find(project).local;
  if (!serving) return done.complete(unavailable(request.lang));
  engine& eng = *serving;
  switch (request.route) {
    case endpoint::batch_pause:
      return run_command(request, parse(&body_parser::parse_pause), ok_status, std::move(done),
                         [&](std::vector<pause_item> items, batch_handler h) {
                           eng.async_pause(project, std::move(items), std::move(h));
                         });
    case endpoint::batch_retry:
      return run_command(request, parse(&body_parser::parse_retry), ok_status, std::move(done),
                         [&](std::vector<job_id> ids, batch_handler h) {
                           eng.async_resume(project, std::move(ids), std::move(h));
                         });
    case endpoint::batch_starting:
      return run_command(request, parse(&body_parser::parse_starting), accepted_status,
                         std::move(done), [&](std::vector<start_item> items, batch_handler h) {
                           eng.async_start(project, std::move(items), std::move(h));
                         });
    case endpoint::batch_jobs:
      return run_command(request, parse(&body_parser::parse_delete), accepted_status,
                         std::move(done), [&](std::vector<delete_item> items, batch_handler h) {
                           eng.async_delete(project, std::move(items), std::move(h));
                         });
    case endpoint::batch_status:
      return run_query(
          request, parse(&body_parser::parse_status), std::move(done),
          [&](status_query& q, auto h) {
            eng.async_status(project, std::move(q.ids), std::move(h));
          },
          [](response& r, const status_query& q, const std::vector<status_result>& found,
             language lang) {
            write_status_response(r.body, found, q.cur_page, q.per_page, lang);
          });
    case endpoint::batch_detail:
      return run_query(
          request, parse(&body_parser::parse_status), std::move(done),
          [&](status_query& q, auto h) {
            eng.async_detail(project, std::move(q.ids), std::move(h));
          },
          [](response& r, const status_query& q, const std::vector<detail_result>& found,
             language lang) {
            // As DRS answers a lookup of a missing job: 400 when no requested task is found.
            if (std::all_of(found.begin(), found.end(),
                            [](const detail_result& d) { return bool(d.error); })) {
              r.status = 400;
            }
            write_detail_response(r.body, found, q.cur_page, q.per_page, lang);
          });
    case endpoint::list_jobs:
      return run_query(
          request, parse(&body_parser::parse_list), std::move(done),
          [&](list_query&, auto h) { eng.async_list(project, std::move(h)); },
          [](response& r, const list_query& q, const std::vector<task_snapshot>& found, language) {
            const job_listing listing = select_jobs(found, q);
            write_job_list(r.body, listing.page, listing.total);
          });
    case endpoint::batch_progress:
      return run_query(
          request, parse(&body_parser::parse_status), std::move(done),
          [&](status_query& q, auto h) {
            eng.async_progress(project, std::move(q.ids), std::move(h));
          },
          [](response& r, const status_query& q, const std::vector<progress_result>& found,
             language lang) {
            write_progress_response(r.body, found, q.cur_page, q.per_page, lang);
          });
    case endpoint::batch_report:
      return run_command(request, parse(&body_parser::parse_report), ok_status, std::move(done),
                         [&](std::vector<report_item> items, batch_handler h) {
                           eng.async_worker_report(project, std::move(items), std::move(h));
                         });
    case endpoint::events: {
      // The event stream: the server writes the project's events (service/event_stream.cpp).
      response r;
      r.stream = std::make_shared<feed_source>(serving, project);
      return done.complete(std::move(r));
    }
    case endpoint::metrics:
    case endpoint::other:
      break;
  }
  done.complete(refusal(request_errc::not_found, request.lang));
}

api::batch_handler api::batch_completion(const accepted_request& request, unsigned status,
                                         completion done) {
  auto ex = done.executor();
  return boost::asio::bind_executor(
      ex, [this, lang = request.lang, route = request.route, status, done = std::move(done)](
              error_code ec, const batch_result& results) mutable {
        response r;
        // A batch cut short by the engine stopping (its partition moved, or the server stops)
        // has a result for every item, operation_aborted on those it did not run: it is
        // answered item by item, so that the items it ran are not hidden. Any other failure
        // (a batch refused, a journal that failed) is one answer for the whole batch.
        const bool cut_short = ec == boost::asio::error::operation_aborted && !results.empty();
        if (ec && !cut_short) {
          r = engine_failure(ec, lang);
        } else {
          r.status = status;
          metrics_.count_items(route, results);
          write_batch_response(r.body, results, lang);
        }
        done.complete(std::move(r));
      });
}

}  // namespace taskorch::http
