#include <taskorch/http/response_writer.hpp>
#include <taskorch/http/server.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <thread>
#include <vector>

namespace taskorch::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;

namespace {

constexpr auto use_tuple = boost::asio::as_tuple(boost::asio::use_awaitable);

std::optional<std::string_view> header(const bhttp::request<bhttp::string_body>& req,
                                       std::string_view name) {
  auto it = req.find(name);
  if (it == req.end()) return std::nullopt;
  return std::string_view(it->value());
}

response plain_error(unsigned status, std::string_view code, std::string_view message) {
  response r;
  r.status = status;
  write_error(r.body, code, message);
  return r;
}

}  // namespace

/// One open connection, as the server sees it from outside its session.
struct server::connection {
  explicit connection(boost::asio::strand<boost::asio::io_context::executor_type> s)
      : strand(std::move(s)) {}
  boost::asio::strand<boost::asio::io_context::executor_type> strand;
  beast::tcp_stream* stream = nullptr;  // on `strand` only
  bool busy = false;                    // on `strand` only: between a request and its response
};

server::server(api& service, server_options options)
    : api_(service),
      options_(std::move(options)),
      io_(static_cast<int>(std::max<std::size_t>(1, options_.threads))),
      acceptor_(boost::asio::make_strand(io_)) {
  const tcp::endpoint where(boost::asio::ip::make_address(options_.host), options_.port);
  acceptor_.open(where.protocol());
  acceptor_.set_option(boost::asio::socket_base::reuse_address(true));
  acceptor_.bind(where);
  acceptor_.listen(boost::asio::socket_base::max_listen_connections);
  boost::asio::co_spawn(acceptor_.get_executor(), accept_loop(), boost::asio::detached);
}

server::~server() = default;

tcp::endpoint server::local_endpoint() const { return acceptor_.local_endpoint(); }

void server::run() {
  std::vector<std::thread> helpers;
  for (std::size_t i = 1; i < options_.threads; ++i) helpers.emplace_back([this] { io_.run(); });
  io_.run();
  for (std::thread& t : helpers) t.join();
}

void server::shutdown() {
  if (stopping_.exchange(true)) return;
  boost::asio::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  });
  std::lock_guard lock(connections_mutex_);
  for (const std::shared_ptr<connection>& c : open_) {
    boost::asio::post(c->strand, [c] {
      if (!c->busy && c->stream != nullptr) c->stream->cancel();
    });
  }
}

boost::asio::awaitable<void> server::accept_loop() {
  while (!stopping_) {
    auto strand = boost::asio::make_strand(io_);
    auto [ec, socket] = co_await acceptor_.async_accept(strand, use_tuple);
    if (ec) {
      if (stopping_ || ec == boost::asio::error::operation_aborted) break;
      continue;
    }
    auto conn = std::make_shared<connection>(strand);
    // Counted at accept, on the acceptor's strand: the cap sees connections in arrival order.
    const bool over_capacity = connections_.fetch_add(1) >= options_.max_connections;
    {
      std::lock_guard lock(connections_mutex_);
      open_.insert(conn);
    }
    boost::asio::co_spawn(strand, serve(conn, std::move(socket), over_capacity),
                          boost::asio::detached);
  }
}

boost::asio::awaitable<void> server::serve(std::shared_ptr<connection> conn, tcp::socket socket,
                                           bool over_capacity) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  conn->stream = &stream;

  for (bool first = true;; first = false) {
    conn->busy = false;
    if (stopping_ && !first) break;
    if (!over_capacity && buffer.size() == 0) {
      // Wait for the next request under the idle timeout.
      stream.expires_after(options_.idle_timeout);
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), use_tuple);
      if (ec) break;
      buffer.commit(n);
    }
    conn->busy = true;
    const auto started = std::chrono::steady_clock::now();

    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options_.header_limit));
    parser.body_limit(boost::none);  // the body's limit is checked after the head is accepted
    response res;
    endpoint route = endpoint::other;
    bool keep_alive = false;
    unsigned version = 11;

    if (over_capacity) {
      res = plain_error(503, "TASKORCH.0503", "Too many connections; try again later.");
    } else {
      stream.expires_after(options_.read_timeout);
      auto [hec, hn] = co_await bhttp::async_read_header(stream, buffer, parser, use_tuple);
      if (hec == bhttp::error::header_limit) {
        res = plain_error(431, "TASKORCH.0431", "The request header is too large.");
      } else if (hec) {
        if (hec == beast::error::timeout || hec == bhttp::error::end_of_stream ||
            hec == boost::asio::error::operation_aborted || hec == boost::asio::error::eof) {
          break;  // cut off: a slow, silent or vanished client gets no answer
        }
        res = plain_error(400, "TASKORCH.0400", "The request is not valid HTTP/1.1.");
      } else {
        const auto& req = parser.get();
        version = req.version();
        keep_alive = req.keep_alive();
        route = api::route_of(req.target());
        const request_head head{req.method_string(), req.target(), header(req, "X-Auth-Token"),
                                header(req, "Content-Type"),
                                header(req, "X-Language").value_or(std::string_view())};
        auto checked = api_.check(head);
        if (auto* refusal = std::get_if<response>(&checked)) {
          res = std::move(*refusal);
          keep_alive = keep_alive && parser.is_done();  // an unread body ends the connection
        } else {
          const auto limit = api_.limits().max_body;
          const auto too_large = [&] {
            keep_alive = false;
            return api::error_response(request_error::body_too_large(limit),
                                       std::get<accepted_request>(checked).lang);
          };
          if (parser.content_length() && *parser.content_length() > limit) {
            res = too_large();
          } else {
            parser.body_limit(limit);
            auto [bec, bn] = co_await bhttp::async_read(stream, buffer, parser, use_tuple);
            if (bec == bhttp::error::body_limit) {
              res = too_large();
            } else if (bec) {
              break;  // cut off mid-body
            } else {
              accepted_request accepted = std::get<accepted_request>(checked);
              std::string body = std::move(parser.get().body());
              res =
                  co_await api_.async_handle(accepted, std::move(body), boost::asio::use_awaitable);
            }
          }
        }
      }
    }

    bhttp::response<bhttp::string_body> out(static_cast<bhttp::status>(res.status), version);
    out.set(bhttp::field::server, "taskorch");
    out.set(bhttp::field::content_type, res.content_type);
    if (!res.allow.empty()) out.set(bhttp::field::allow, res.allow);
    out.body() = std::move(res.body);
    out.keep_alive(keep_alive && !stopping_);
    out.prepare_payload();
    stream.expires_after(options_.read_timeout);
    auto [wec, wn] = co_await bhttp::async_write(stream, out, use_tuple);
    api_.stats().count_request(
        route, res.status,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    if (wec || !out.keep_alive()) break;
  }

  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.close();
  conn->stream = nullptr;
  {
    std::lock_guard lock(connections_mutex_);
    open_.erase(conn);
  }
  connections_.fetch_sub(1);
}

}  // namespace taskorch::http
