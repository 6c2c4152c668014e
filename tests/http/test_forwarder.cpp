// The forwarder (service/forwarder.hpp) against a peer on loopback played by the test: a
// request is sent on as it came, plus X-Taskorch-Forwarded and without the connection's own
// fields, and the peer's answer comes back; a peer that cannot be reached is 503 (nothing ran);
// one that takes the whole request and closes, or does not answer in time, is 502 (it may have
// run).

#include "forwarder.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

namespace taskorch::http {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

/// A peer that accepts one connection, reads one request's head and body, and then does what
/// the test says with the socket.
class peer {
 public:
  explicit peer(std::function<void(tcp::socket&)> then)
      : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}),
        thread_([this, then = std::move(then)] {
          tcp::socket s = acceptor_.accept();
          asio::streambuf in;
          asio::read_until(s, in, "\r\n\r\n");
          request_ = std::string(asio::buffers_begin(in.data()), asio::buffers_end(in.data()));
          then(s);
        }) {}
  ~peer() { thread_.join(); }
  peer(const peer&) = delete;
  peer& operator=(const peer&) = delete;

  std::string address() const {
    return "127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }
  /// What the peer read (after the thread is joined: call after forward() returned).
  const std::string& request() const { return request_; }

 private:
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::string request_;
  std::thread thread_;
};

bhttp::request<bhttp::string_body> pause_request() {
  bhttp::request<bhttp::string_body> req(
      bhttp::verb::post, "/v3/054ba152d480d55b2f5dc0069e7ddef0/jobs/batch-status", 11);
  req.set(bhttp::field::content_type, "application/json");
  req.set("X-Auth-Token", "demo-token");
  req.set(bhttp::field::connection, "keep-alive");
  req.body() = R"({"jobs":["8d0e8e36-a618-490d-8a46-8c61ac9jb502"]})";
  req.prepare_payload();
  return req;
}

response forward_to(const std::string& owner, std::chrono::milliseconds timeout) {
  asio::io_context io;
  const auto req = pause_request();
  auto answer =
      asio::co_spawn(io, detail::forward(req, owner, timeout, language::en_us), asio::use_future);
  io.run();
  return answer.get();
}

TEST(Forwarder, SendsTheRequestOnAndReturnsTheAnswer) {
  response r;
  std::string seen;
  {
    peer owner([](tcp::socket& s) {
      asio::write(s, asio::buffer(std::string("HTTP/1.1 200 OK\r\nContent-Length: 13\r\n"
                                              "Retry-After: 3\r\n\r\n{\"count\":0}\r\n")));
    });
    r = forward_to(owner.address(), std::chrono::seconds(10));
    seen = owner.request();
  }
  EXPECT_EQ(r.status, 200U);
  EXPECT_EQ(r.body, "{\"count\":0}\r\n");
  EXPECT_EQ(r.retry_after, std::chrono::seconds(3));
  EXPECT_NE(seen.find("X-Taskorch-Forwarded: 1\r\n"), std::string::npos) << seen;
  EXPECT_NE(seen.find("X-Auth-Token: demo-token\r\n"), std::string::npos) << seen;
  EXPECT_EQ(seen.find("keep-alive"), std::string::npos) << seen;
}

TEST(Forwarder, AnOwnerThatCannotBeReachedIs503) {
  std::string address;
  {
    asio::io_context io;
    tcp::acceptor closed(io, {asio::ip::make_address("127.0.0.1"), 0});
    address = "127.0.0.1:" + std::to_string(closed.local_endpoint().port());
  }  // nothing listens there now
  const response r = forward_to(address, std::chrono::seconds(10));
  EXPECT_EQ(r.status, 503U);
  EXPECT_EQ(r.retry_after, std::chrono::seconds(1));
  EXPECT_NE(r.body.find("TASKORCH.0503"), std::string::npos) << r.body;
}

TEST(Forwarder, AnOwnerThatTookTheRequestAndClosedIs502) {
  response r;
  {
    peer owner([](tcp::socket& s) { s.close(); });
    r = forward_to(owner.address(), std::chrono::seconds(10));
  }
  EXPECT_EQ(r.status, 502U);
  EXPECT_EQ(r.retry_after, std::chrono::seconds(0));
  EXPECT_EQ(r.body,
            R"({"error_code":"TASKORCH.0502","error_msg":"The server serving this project took )"
            R"(the request but gave no answer (it stopped, or did not answer in time): the )"
            R"(request may or may not have been carried out. Read the tasks to see, or send it )"
            R"(again."})");
}

TEST(Forwarder, AnOwnerThatDoesNotAnswerInTimeIs502) {
  response r;
  {
    peer owner([](tcp::socket& s) {
      std::this_thread::sleep_for(std::chrono::milliseconds(600));  // past the timeout
      s.close();
    });
    r = forward_to(owner.address(), std::chrono::milliseconds(200));
  }
  EXPECT_EQ(r.status, 502U);
}

}  // namespace
}  // namespace taskorch::http
