#include "session.hpp"

#include "event_stream.hpp"
#include "forwarder.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <chrono>
#include <exception>
#include <string_view>
#include <vector>

namespace taskorch::http::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t read_chunk = 16 * 1024UL;

response refusal(const request_error& e, language lang) { return error_response(e, lang); }

response refusal(request_errc kind, language lang) {
  return error_response(request_error::of(kind), lang);
}

/// The first value of header `name`, and whether it appears more than once.
std::pair<std::optional<std::string_view>, bool> single_header(
    const bhttp::request<bhttp::string_body>& req, std::string_view name) {
  auto [first, last] = req.equal_range(name);
  if (first == last) return {std::nullopt, false};
  const std::string_view value = first->value();
  return {value, std::next(first) != last};
}

/// Every header field of `req`, in order, as the signature check reads them.
std::vector<header_field> header_fields(const bhttp::request<bhttp::string_body>& req) {
  std::vector<header_field> fields;
  for (const auto& field : req) fields.push_back({field.name_string(), field.value()});
  return fields;
}

/// True when the Transfer-Encoding fields of `req` are exactly one `chunked`, or absent: the
/// only framing whose body length a server can know besides Content-Length (RFC 9112 §6.3).
bool transfer_encoding_acceptable(const bhttp::request<bhttp::string_body>& req) {
  std::size_t codings = 0;
  bool chunked = true;
  auto [first, last] = req.equal_range(bhttp::field::transfer_encoding);
  for (auto it = first; it != last; ++it) {
    std::string_view list = it->value();
    while (!list.empty()) {
      const std::size_t comma = list.find(',');
      std::string_view coding = list.substr(0, comma);
      while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t'))
        coding.remove_prefix(1);
      while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t'))
        coding.remove_suffix(1);
      ++codings;
      chunked = chunked && beast::iequals(coding, "chunked");
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
    if (it->value().empty()) {
      ++codings;  // an empty field is no coding this server knows
      chunked = false;
    }
  }
  return codings == 0 || (codings == 1 && chunked && req.version() >= 11);
}

/// Opens `stream` at `start`: the answer to send instead of it (410, or 500 when reading the
/// feed failed), or nothing. Not a coroutine: with GCC 12, this try block inside
/// stream_events corrupted a neighbouring local of its frame (UBSan caught it).
std::optional<response> open_stream(event_stream& stream, const stream_start& start,
                                    language lang) {
  try {
    return stream.open(start, lang);
  } catch (const std::exception&) {
    return refusal(request_errc::service_abnormal, lang);
  }
}

/// True for errors that end a read because the client went silent, went away or the server
/// cancelled it: the request is cut off without an answer.
bool is_cut_off(const boost::system::error_code& ec) {
  return ec == beast::error::timeout || ec == bhttp::error::end_of_stream ||
         ec == bhttp::error::partial_message || ec == asio::error::eof ||
         ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe ||
         ec.category() != bhttp::make_error_code(bhttp::error::bad_chunk).category();
}

}  // namespace

asio::awaitable<void> session::run() {
  if (admitted_.kind() != admission::served) {
    handler_.stats().count_refused_connection();
    exchange refused;
    refused.answer = refusal(request_errc::over_capacity, language::en_us);
    const auto started = std::chrono::steady_clock::now();
    co_await write(refused, *refused.answer);
    handler_.stats().count_request(
        endpoint::other, 503,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    // Shed connections give their descriptor back at once: the drain is kept for a bounded
    // number of refused ones, so that refusing never takes the server's last descriptors.
    if (admitted_.kind() == admission::refused) {
      co_await linger();
    }
    close();
    co_return;
  }

  for (bool first = true;; first = false) {
    if (!co_await wait_for_request(first)) break;
    const auto started = std::chrono::steady_clock::now();
    exchange done;
    try {
      done = co_await serve_request();
    } catch (const std::exception&) {
      // The service failed while answering: say so, then close (the request's bytes are in an
      // unknown state).
      done = exchange{};
      done.answer = refusal(request_errc::service_abnormal, language::en_us);
    }
    if (!done.answer) break;  // cut off
    if (done.answer->stream) {
      // An event stream: the rest of the connection is its events, unless it is refused.
      std::optional<response> refused = co_await stream_events(done, started);
      if (!refused) break;
      done.answer = std::move(refused);
    }
    const unsigned status = done.answer->status;
    const bool again = co_await write(done, std::move(*done.answer));
    handler_.stats().count_request(
        done.route, status,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    if (!again) {
      if (!done.read_whole || buffer_.size() != 0) {
        co_await linger();
      }
      break;
    }
  }
  close();
}

asio::awaitable<bool> session::wait_for_request(bool first) {
  conn_.state = phase::waiting;
  if (stopping_) co_return false;
  if (buffer_.size() != 0) {  // pipelined: the next request has begun
    conn_.stream.expires_after(options_.read_timeout);
    co_return true;
  }
  // A new connection's first request is read under the read timeout from the accept on; the
  // next ones wait for their first byte under the idle timeout.
  conn_.stream.expires_after(first ? options_.read_timeout : options_.idle_timeout);
  auto [ec, n] = co_await conn_.stream.async_read_some(buffer_.prepare(read_chunk), use_tuple);
  if (ec) co_return false;
  buffer_.commit(n);
  if (!first) conn_.stream.expires_after(options_.read_timeout);
  co_return true;
}

asio::awaitable<session::exchange> session::serve_request() {
  conn_.state = phase::reading;
  exchange done;
  parser_type parser;
  parser.body_limit(boost::none);  // the body's limit is checked once the head is accepted

  step head = co_await read_head(parser);
  if (head.cut) co_return done;
  done.head = head.head;
  if (head.refusal) {
    done.answer = std::move(head.refusal);
    co_return done;
  }

  const auto& req = parser.get();
  done.version = req.version();
  done.route = match_route(req.target()).id();
  if (!transfer_encoding_acceptable(req)) {
    // The body's length cannot be known: whatever follows must not run as the next request.
    done.answer = refusal(request_errc::bad_transfer_encoding, parse_language(req["X-Language"]));
    co_return done;
  }
  // A signed request's header fields, read once: the head's check and the body's read them.
  const std::vector<header_field> fields = req.count(bhttp::field::authorization) != 0
                                               ? header_fields(req)
                                               : std::vector<header_field>();
  auto checked = check(parser, fields);
  if (auto* refused = std::get_if<response>(&checked)) {
    done.answer = std::move(*refused);
    done.read_whole = parser.is_done();
    done.keep_alive = done.read_whole && req.keep_alive();
    co_return done;
  }
  const accepted_request accepted = std::get<accepted_request>(checked);

  step body = co_await read_body(parser, accepted);
  if (body.cut) co_return done;
  if (body.refusal) {
    done.answer = std::move(body.refusal);
    co_return done;
  }
  done.read_whole = true;
  done.keep_alive = req.keep_alive();
  done.lang = accepted.lang;
  if (accepted.signature) {
    std::optional<response> refused = handler_.check_body(accepted, {.method = req.method_string(),
                                                                     .target = req.target(),
                                                                     .headers = fields,
                                                                     .body = req.body()});
    if (refused) {
      done.answer = std::move(refused);
      co_return done;
    }
  }
  if (!accepted.forward_to.empty()) {
    conn_.state = phase::handling;
    done.answer =
        co_await forward(req, accepted.forward_to, options_.forward_timeout, accepted.lang);
    co_return done;
  }
  if (accepted.route == endpoint::events) {
    const auto [last_event_id, repeated_id] = single_header(req, "Last-Event-ID");
    auto start = parse_stream_start(last_event_id, repeated_id, req.target());
    if (auto* e = std::get_if<request_error>(&start)) {
      done.answer = refusal(*e, accepted.lang);
      co_return done;
    }
    done.events_from = std::get<stream_start>(start);
  }

  conn_.state = phase::handling;
  done.answer =
      co_await handler_.async_handle(accepted, std::move(parser.get().body()), asio::use_awaitable);
  co_return done;
}

asio::awaitable<session::step> session::read_head(parser_type& parser) {
  // The whole head must be in the buffer, within the limit, before Beast parses it: Beast's own
  // limit counts the header fields only, not the request line.
  const std::size_t limit = options_.header_limit;
  std::size_t searched = 0;
  for (;;) {
    const std::string_view data(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    // Known before the head is parsed, so that even a refusal of a HEAD request has no body.
    const bool head = data.starts_with("HEAD ");
    const std::size_t end = data.find("\r\n\r\n", searched > 3 ? searched - 3 : 0);
    if (end != std::string_view::npos) {
      if (end + 4 > limit) {
        co_return step{false, refusal(request_error::header_too_large(limit), language::en_us),
                       head};
      }
      boost::system::error_code ec;
      parser.header_limit(static_cast<std::uint32_t>(limit));
      buffer_.consume(parser.put(buffer_.data(), ec));
      if (ec || !parser.is_header_done()) {
        co_return step{false, refusal(request_errc::bad_request, language::en_us), head};
      }
      co_return step{false, std::nullopt, head};
    }
    if (data.size() >= limit) {
      co_return step{false, refusal(request_error::header_too_large(limit), language::en_us), head};
    }
    searched = data.size();
    auto [ec, n] = co_await conn_.stream.async_read_some(buffer_.prepare(read_chunk), use_tuple);
    if (ec) co_return step{true, std::nullopt};
    buffer_.commit(n);
  }
}

std::variant<accepted_request, response> session::check(
    const parser_type& parser, std::span<const header_field> fields) const {
  const auto& req = parser.get();
  const auto [token, repeated_token] = single_header(req, "X-Auth-Token");
  const auto [content_type, repeated_content_type] = single_header(req, "Content-Type");
  const auto [authorization, repeated_authorization] = single_header(req, "Authorization");
  const auto [project_header, repeated_project_header] = single_header(req, "X-Project-Id");
  const request_head head{.method = req.method_string(),
                          .target = req.target(),
                          .token = token,
                          .content_type = content_type,
                          .language = req["X-Language"],
                          .repeated_token = repeated_token,
                          .repeated_content_type = repeated_content_type,
                          .authorization = authorization,
                          .repeated_authorization = repeated_authorization,
                          .project_header = project_header,
                          .repeated_project_header = repeated_project_header,
                          .headers = fields,
                          .forwarded = req.count(forwarded_field) != 0};
  return handler_.check(head);
}

asio::awaitable<session::step> session::read_body(parser_type& parser,
                                                  const accepted_request& accepted) {
  const std::size_t limit = handler_.max_body();
  const auto too_large = [&] {
    return step{false, refusal(request_error::body_too_large(limit), accepted.lang)};
  };
  if (parser.content_length() && *parser.content_length() > limit) co_return too_large();
  if (parser.is_done()) co_return step{};

  const auto& req = parser.get();
  if (req.version() >= 11 && beast::iequals(req[bhttp::field::expect], "100-continue")) {
    static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
    auto [ec, n] = co_await asio::async_write(conn_.stream, asio::buffer(go_on), use_tuple);
    if (ec) co_return step{true, std::nullopt};
  }
  parser.body_limit(limit);
  auto [ec, n] = co_await bhttp::async_read(conn_.stream, buffer_, parser, use_tuple);
  if (ec == bhttp::error::body_limit) co_return too_large();
  if (ec && is_cut_off(ec)) co_return step{true, std::nullopt};
  if (ec) co_return step{false, refusal(request_errc::bad_chunked_body, accepted.lang)};
  co_return step{};
}

asio::awaitable<bool> session::write(const exchange& done, response res) {
  conn_.state = phase::writing;
  bhttp::response<bhttp::string_body> out(static_cast<bhttp::status>(res.status), done.version);
  out.set(bhttp::field::server, "taskorch");
  out.set(bhttp::field::content_type, res.content_type);
  if (!res.allow.empty()) out.set(bhttp::field::allow, res.allow);
  if (!res.location.empty()) out.set(bhttp::field::location, res.location);
  for (const header_field& field : res.headers) out.set(field.name, field.value);
  if (res.retry_after.count() > 0) {
    out.set(bhttp::field::retry_after, std::to_string(res.retry_after.count()));
  }
  out.body() = std::move(res.body);
  const bool keep_alive =
      done.keep_alive && done.read_whole && options_.idle_timeout.count() > 0 && !stopping_;
  out.keep_alive(keep_alive);
  out.prepare_payload();
  // After a shutdown, a response gets at most the drain timeout (see connection::on_shutdown
  // for one already being written).
  conn_.stream.expires_after(stopping_ ? std::min(options_.read_timeout, options_.drain_timeout)
                                       : options_.read_timeout);
  bhttp::response_serializer<bhttp::string_body> serializer(out);
  auto [ec, n] = done.head ? co_await bhttp::async_write_header(conn_.stream, serializer, use_tuple)
                           : co_await bhttp::async_write(conn_.stream, serializer, use_tuple);
  conn_.grace.cancel();
  co_return !ec && keep_alive;
}

asio::awaitable<std::optional<response>> session::stream_events(
    const exchange& done, std::chrono::steady_clock::time_point started) {
  std::optional<stream_slot> slot = stream_slot::take(streams_, options_.max_event_streams);
  if (!slot) co_return refusal(request_errc::too_many_streams, done.lang);
  const stream_settings settings{.poll_interval = options_.event_poll_interval,
                                 .heartbeat = options_.event_heartbeat,
                                 .write_timeout = options_.event_write_timeout};
  event_stream stream(admitted_.conn(), done.answer->stream, settings, stopping_, handler_.stats());
  std::optional<response> refused = open_stream(stream, done.events_from, done.lang);
  if (refused) co_return refused;

  conn_.state = phase::streaming;
  const bool open = co_await stream.write_head(done.version);
  handler_.stats().count_request(
      done.route, 200,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  if (open) {
    co_await stream.pump();
  }
  co_await stream.close();
  co_return std::nullopt;
}

asio::awaitable<void> session::linger() {
  conn_.state = phase::lingering;
  if (stopping_) co_return;
  boost::system::error_code ignored;
  conn_.stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  conn_.stream.expires_after(std::min(options_.linger_timeout, options_.read_timeout));
  std::size_t drained = buffer_.size();
  buffer_.consume(buffer_.size());
  while (drained < options_.linger_bytes) {
    auto [ec, n] = co_await conn_.stream.async_read_some(buffer_.prepare(read_chunk), use_tuple);
    if (ec) break;
    drained += n;
  }
}

void session::close() noexcept {
  boost::system::error_code ignored;
  conn_.stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  conn_.stream.socket().close(ignored);
}

}  // namespace taskorch::http::detail
