#include "forwarder.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <string>

namespace taskorch::http::detail {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// The fields that belong to one connection (RFC 9110 §7.6.1), or that the forwarded request
/// sets anew: not sent on.
bool hop_by_hop(bhttp::field f) {
  constexpr std::array fields{bhttp::field::connection,
                              bhttp::field::keep_alive,
                              bhttp::field::transfer_encoding,
                              bhttp::field::content_length,
                              bhttp::field::te,
                              bhttp::field::trailer,
                              bhttp::field::upgrade,
                              bhttp::field::proxy_authorization,
                              bhttp::field::proxy_connection,
                              bhttp::field::expect};
  return std::ranges::find(fields, f) != fields.end();
}

response unavailable(language lang) {
  response r = error_response(request_error::of(request_errc::partition_unavailable), lang);
  r.retry_after = std::chrono::seconds(1);
  return r;
}

response no_answer(language lang) {
  return error_response(request_error::of(request_errc::owner_gave_no_answer), lang);
}

/// HOST and PORT of "HOST:PORT" ("[v6]:PORT" too); empty host when it is not that.
std::pair<std::string, std::string> split_address(std::string_view owner) {
  const std::size_t colon = owner.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == owner.size()) return {};
  std::string_view host = owner.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return {std::string(host), std::string(owner.substr(colon + 1))};
}

}  // namespace

asio::awaitable<response> forward(const bhttp::request<bhttp::string_body>& req,
                                  std::string_view owner, std::chrono::milliseconds timeout,
                                  language lang) {
  const auto [host, port] = split_address(owner);
  if (host.empty()) co_return unavailable(lang);
  const auto ex = co_await asio::this_coro::executor;
  asio::ip::tcp::resolver resolver(ex);
  beast::tcp_stream stream(ex);
  stream.expires_after(timeout);
  auto [resolved, endpoints] = co_await resolver.async_resolve(host, port, use_tuple);
  if (resolved) co_return unavailable(lang);
  auto [connected, where] = co_await stream.async_connect(endpoints, use_tuple);
  if (connected) co_return unavailable(lang);

  bhttp::request<bhttp::string_body> out(req.method(), req.target(), 11);
  for (const auto& f : req) {
    if (!hop_by_hop(f.name())) out.insert(f.name_string(), f.value());
  }
  out.set(forwarded_field, "1");
  out.keep_alive(false);
  out.body() = req.body();
  out.prepare_payload();
  auto [written, sent] = co_await bhttp::async_write(stream, out, use_tuple);
  if (written) co_return unavailable(lang);

  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(max_forwarded_answer);
  auto [read, taken] = co_await bhttp::async_read(stream, buffer, parser, use_tuple);
  if (read) co_return no_answer(lang);
  bhttp::response<bhttp::string_body>& answer = parser.get();
  response r;
  r.status = answer.result_int();
  r.body = std::move(answer.body());
  const std::string_view retry = answer[bhttp::field::retry_after];
  unsigned seconds = 0;
  if (std::from_chars(retry.data(), retry.data() + retry.size(), seconds).ec == std::errc()) {
    r.retry_after = std::chrono::seconds(seconds);
  }
  co_return r;
}

}  // namespace taskorch::http::detail
