#pragma once
// forwarder: sends a request this server accepted but does not serve to the server that does
// (in the scale-out mode, the owner of the project's partition: docs/scale-out.md), and makes
// its answer this server's response, so that a client never needs to know who owns what. The
// request goes as it came (method, target, every header field but those of the connection
// itself, the body; a signed request's signature still holds), with X-Taskorch-Forwarded, which
// a server never forwards again: a request that reaches a server that does not serve its
// project after one hop is refused 503, never sent round in a loop. An owner that cannot be
// reached, or fails before it has the whole request, gives 503 partition_unavailable: nothing
// ran, and its partitions are claimed again within a lease. An owner that has the whole request
// and closes the connection or does not answer within the timeout gives 502
// owner_gave_no_answer: the request may have run, and the client is told so.
//
//   response r = co_await forward(req, "127.0.0.1:18082", 30s, lang);

#include <taskorch/http/language.hpp>
#include <taskorch/http/request_handler.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <string_view>

namespace taskorch::http::detail {

/// The header field a forwarded request carries.
inline constexpr std::string_view forwarded_field = "X-Taskorch-Forwarded";

/// The largest answer taken from an owner (a page of detail results is far smaller).
inline constexpr std::size_t max_forwarded_answer = std::size_t{64} << 20;

/// Sends `req` to `owner` (HOST:PORT) and returns its answer: status, body, Retry-After. On
/// the calling coroutine's executor; bounded by `timeout` in all. Never throws for a failure
/// of the owner: that is the 503 or 502 refusal, in `lang`.
boost::asio::awaitable<response> forward(
    const boost::beast::http::request<boost::beast::http::string_body>& req, std::string_view owner,
    std::chrono::milliseconds timeout, language lang);

}  // namespace taskorch::http::detail
