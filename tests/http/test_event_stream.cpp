// The event stream as the server serves it (service/session.cpp, service/event_stream.cpp),
// over loopback, with a handler that answers every stream with a feed the test writes: the
// head, the frames in order, heartbeats, 410 and 400 before the stream, the cap on streams,
// the shutdown, a client that goes, and the two ways a slow client is cut off.
#include "response_completion.hpp"
#include <taskorch/http/event_source.hpp>
#include <taskorch/http/metrics.hpp>
#include <taskorch/http/server.hpp>

#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <memory>
#include <mutex>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace taskorch;
using namespace taskorch::http;
using namespace std::chrono_literals;

const project_id project = *project_id::parse("054ba152d480d55b2f5dc0069e7ddef0");
const project_id other_project = *project_id::parse("6a1f0c8e2b4d4f7e9c3a5b7d9e1f2a3b");

/// A feed the test writes: positions 1, 2, ... of the project (or of another one), of which
/// those up to `oldest` are dropped. `endless`: every read finds as many new events as it may
/// take (a busy engine).
class test_feed final : public event_source {
 public:
  void add(std::size_t n, const project_id& of = project) {
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < n; ++i) {
      feed_event e;
      e.position = events_.size() + 1;
      e.id = *job_id::parse("8d0e8e36-a618-490d-8a46-8c61ac9jb502");
      e.project = of;
      e.from = task_state::full_transfer;
      e.to = task_state::paused;
      e.cause = task_event::pause;
      e.mode = pause_mode::target;
      e.version = e.position;
      events_.push_back(e);
    }
  }
  void drop_until(std::uint64_t oldest) {
    std::lock_guard lock(mutex_);
    oldest_ = oldest;
  }
  void make_endless() { endless_ = true; }
  /// The feed's engine stops serving the project (scale-out: its partition moved).
  void end() { ended_ = true; }
  bool ended() const override { return ended_; }

  feed_page read(std::uint64_t after, std::size_t max_events) const override {
    feed_page page;
    if (endless_) {
      for (std::size_t i = 1; i <= max_events; ++i) {
        feed_event e;
        e.position = after + i;
        e.id = *job_id::parse("8d0e8e36-a618-490d-8a46-8c61ac9jb502");
        e.project = project;
        page.events.push_back(e);
      }
      page.next = after + max_events;
      return page;
    }
    std::lock_guard lock(mutex_);
    page.oldest = oldest_;
    if (after < oldest_ || after > events_.size()) {
      page.gone = true;
      page.next = after;
      return page;
    }
    std::uint64_t p = after;
    while (p < events_.size() && page.events.size() < max_events) {
      ++p;
      if (events_[p - 1].project == project) page.events.push_back(events_[p - 1]);
    }
    page.next = p;
    return page;
  }
  std::uint64_t position() const override {
    std::lock_guard lock(mutex_);
    return events_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<feed_event> events_;
  std::uint64_t oldest_ = 0;
  std::atomic<bool> endless_{false};
  std::atomic<bool> ended_{false};
};

/// Answers the events route with a stream of `feed`, anything else 200 `{}`.
class stream_handler final : public request_handler {
 public:
  explicit stream_handler(std::shared_ptr<test_feed> feed) : feed_(std::move(feed)) {}

  std::variant<accepted_request, response> check(const request_head& head) const override {
    accepted_request a;
    a.route = match_route(head.target).id();
    if (head.language == "zh-cn") a.lang = language::zh_cn;
    return a;
  }
  std::optional<response> check_body(const accepted_request&,
                                     const signed_request&) const override {
    return std::nullopt;
  }
  std::size_t max_body() const noexcept override { return 1024; }
  metrics& stats() noexcept override { return metrics_; }

  /// One line of /metrics, e.g. "taskorch_event_streams_open 1".
  bool shows(const std::string& line) const {
    return ("\n" + metrics_.render(state_counts{})).find("\n" + line + "\n") != std::string::npos;
  }

 private:
  void start_handle(accepted_request request, std::string, handler h) override {
    response r{200, "{}"};
    if (request.route == endpoint::events) r.stream = feed_;
    http::detail::response_completion(std::move(h)).complete(std::move(r));
  }

  std::shared_ptr<test_feed> feed_;
  metrics metrics_;
};

class running_server {
 public:
  running_server(request_handler& handler, server_options options)
      : srv_(handler, std::move(options)),
        done_(std::async(std::launch::async, [this] { srv_.run(); })) {}
  ~running_server() { stop(); }
  running_server(const running_server&) = delete;
  running_server& operator=(const running_server&) = delete;

  /// Shuts the server down; returns how long run() took to return.
  std::chrono::steady_clock::duration stop() {
    const auto started = std::chrono::steady_clock::now();
    srv_.shutdown();
    if (done_.valid() && done_.wait_for(60s) != std::future_status::ready) {
      ADD_FAILURE() << "server::run() did not return within 60 s of shutdown()";
      std::abort();
    }
    if (done_.valid()) done_.get();
    return std::chrono::steady_clock::now() - started;
  }
  server& get() { return srv_; }
  unsigned short port() const { return srv_.local_endpoint().port(); }

 private:
  server srv_;
  std::future<void> done_;
};

template <class Predicate>
bool eventually(Predicate condition) {
  for (int i = 0; i < 600; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

server_options options(std::chrono::milliseconds heartbeat = 60s,
                       std::chrono::milliseconds write_timeout = 10s) {
  server_options o{.host = "127.0.0.1", .port = 0};
  o.event_poll_interval = 5ms;
  o.event_heartbeat = heartbeat;
  o.event_write_timeout = write_timeout;
  return o;
}

/// A client connection that reads with deadlines.
class client {
 public:
  explicit client(unsigned short port, int receive_buffer = 0) : socket_(io_) {
    socket_.open(tcp::v4());
    if (receive_buffer > 0)
      socket_.set_option(asio::socket_base::receive_buffer_size(receive_buffer));
    socket_.connect({asio::ip::make_address("127.0.0.1"), port});
  }

  void send(const std::string& request) { asio::write(socket_, asio::buffer(request)); }

  /// Reads until `marker` is among what was received, the server closes or `limit` passes;
  /// true when the marker came.
  bool read_until(std::string_view marker, std::chrono::milliseconds limit = 30s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (got_.find(marker) == std::string::npos) {
      if (!read_some(deadline)) return got_.find(marker) != std::string::npos;
    }
    return true;
  }

  /// Reads until the server closes the connection or `limit` passes; true when it closed.
  bool read_to_end(std::chrono::milliseconds limit = 30s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (read_some(deadline)) {
    }
    return closed_;
  }

  const std::string& got() const { return got_; }
  void clear() { got_.clear(); }
  void close() { socket_.close(); }

 private:
  /// One read before `deadline`; false when the connection ended or the time is up.
  bool read_some(std::chrono::steady_clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{socket_.native_handle(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buffer[65536];
    const ssize_t n = ::recv(socket_.native_handle(), buffer, sizeof buffer, 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    got_.append(buffer, static_cast<std::size_t>(n));
    return true;
  }

  asio::io_context io_;
  tcp::socket socket_;
  std::string got_;
  bool closed_ = false;
};

const std::string events_path = "/v3/054ba152d480d55b2f5dc0069e7ddef0/events";

std::string get(std::string_view target, std::string_view headers = "") {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: x\r\n" + std::string(headers) + "\r\n";
}

/// The ids of the change frames in `text`, in order.
std::vector<std::uint64_t> ids_in(const std::string& text) {
  std::vector<std::uint64_t> ids;
  for (std::size_t at = text.find("\nid: "); at != std::string::npos;
       at = text.find("\nid: ", at + 1)) {
    ids.push_back(std::stoull(text.substr(at + 5, text.find('\n', at + 1) - at - 5)));
  }
  return ids;
}

TEST(EventStream, WritesTheHeadThenTheEventsInOrder) {
  auto feed = std::make_shared<test_feed>();
  feed->add(2);
  feed->add(1, other_project);  // position 3: not this project's
  feed->add(1);
  stream_handler handler(feed);
  running_server srv(handler, options());
  client c(srv.port());
  c.send(get(events_path + "?since=0"));
  ASSERT_TRUE(c.read_until("id: 4\n")) << c.got();
  const std::string& got = c.got();
  EXPECT_TRUE(got.starts_with("HTTP/1.1 200 OK\r\n")) << got;
  const std::string head = got.substr(0, got.find("\r\n\r\n") + 4);
  for (std::string_view field :
       {"Content-Type: text/event-stream\r\n", "Cache-Control: no-cache\r\n",
        "X-Accel-Buffering: no\r\n", "Connection: close\r\n"}) {
    EXPECT_NE(head.find(field), std::string::npos) << field << " in " << head;
  }
  EXPECT_EQ(head.find("Content-Length"), std::string::npos) << head;
  EXPECT_EQ(head.find("Transfer-Encoding"), std::string::npos) << head;
  EXPECT_EQ(got.substr(head.size(), 13), "retry: 1000\n\n");
  EXPECT_NE(got.find("id: 1\nevent: change\ndata: {\"sequence\":1,"), std::string::npos) << got;
  feed->add(3);
  ASSERT_TRUE(c.read_until("id: 7\n")) << c.got();
  c.read_until("\"sequence\":7,", 1s);
  EXPECT_EQ(ids_in(c.got()), (std::vector<std::uint64_t>{1, 2, 4, 5, 6, 7}));
  EXPECT_TRUE(handler.shows("taskorch_event_streams_open 1"));
  EXPECT_TRUE(eventually([&] { return handler.shows("taskorch_event_stream_events_total 6"); }));
  EXPECT_TRUE(handler.shows("taskorch_http_requests_total{endpoint=\"events\",code=\"200\"} 1"));
}

TEST(EventStream, StartsNowWithoutAPositionAndAfterLastEventIdWithOne) {
  auto feed = std::make_shared<test_feed>();
  feed->add(5);
  stream_handler handler(feed);
  running_server srv(handler, options());
  client now(srv.port());
  now.send(get(events_path));
  client resumed(srv.port());
  resumed.send(get(events_path + "?since=1", "Last-Event-ID: 3\r\n"));  // the header wins
  ASSERT_TRUE(now.read_until("retry: 1000\n\n"));
  ASSERT_TRUE(resumed.read_until("id: 5\n"));
  feed->add(1);
  ASSERT_TRUE(now.read_until("id: 6\n")) << now.got();
  ASSERT_TRUE(resumed.read_until("id: 6\n")) << resumed.got();
  EXPECT_EQ(ids_in(now.got()), (std::vector<std::uint64_t>{6}));
  EXPECT_EQ(ids_in(resumed.got()), (std::vector<std::uint64_t>{4, 5, 6}));
}

TEST(EventStream, SendsAKeepAliveWhenIdle) {
  auto feed = std::make_shared<test_feed>();
  stream_handler handler(feed);
  running_server srv(handler, options(50ms));
  client c(srv.port());
  c.send(get(events_path));
  ASSERT_TRUE(c.read_until("retry: 1000\n\n: keep-alive\n\n: keep-alive\n\n", 10s)) << c.got();
}

TEST(EventStream, APositionNoLongerKeptIs410AndZeroStartsAtTheOldest) {
  auto feed = std::make_shared<test_feed>();
  feed->add(8);
  feed->drop_until(5);
  stream_handler handler(feed);
  running_server srv(handler, options());
  client c(srv.port());
  c.send(get(events_path + "", "Last-Event-ID: 4\r\n"));
  ASSERT_TRUE(c.read_until("}")) << c.got();
  EXPECT_TRUE(c.got().starts_with("HTTP/1.1 410 Gone\r\n")) << c.got();
  EXPECT_TRUE(c.got().ends_with(
      "{\"error_code\":\"TASKORCH.0410\",\"error_msg\":\"The events after this position are no "
      "longer kept: list the tasks again, then resume after the position in oldest.\","
      "\"oldest\":5}"))
      << c.got();
  // A position never given out is gone too; the connection stays open after a refusal.
  c.clear();
  c.send(get(events_path + "?since=9", "X-Language: zh-cn\r\n"));
  ASSERT_TRUE(c.read_until("\"oldest\":5}")) << c.got();
  EXPECT_TRUE(c.got().starts_with("HTTP/1.1 410 ")) << c.got();
  c.clear();
  c.send(get(events_path + "?since=0"));
  ASSERT_TRUE(c.read_until("id: 8\n")) << c.got();
  EXPECT_EQ(ids_in(c.got()), (std::vector<std::uint64_t>{6, 7, 8}));
  EXPECT_TRUE(handler.shows("taskorch_http_requests_total{endpoint=\"events\",code=\"410\"} 2"));
}

TEST(EventStream, AMalformedPositionIs400) {
  auto feed = std::make_shared<test_feed>();
  stream_handler handler(feed);
  running_server srv(handler, options());
  client c(srv.port());
  c.send(get(events_path + "", "Last-Event-ID: abc\r\n"));
  ASSERT_TRUE(c.read_until("}")) << c.got();
  EXPECT_TRUE(c.got().starts_with("HTTP/1.1 400 ")) << c.got();
  EXPECT_NE(c.got().find("\"error_code\":\"TASKORCH.0400\""), std::string::npos) << c.got();
  c.clear();
  c.send(get("/plain"));  // kept alive
  ASSERT_TRUE(c.read_until("{}")) << c.got();
  EXPECT_TRUE(c.got().starts_with("HTTP/1.1 200 ")) << c.got();
}

TEST(EventStream, AtMostMaxEventStreamsAtOnce) {
  auto feed = std::make_shared<test_feed>();
  stream_handler handler(feed);
  server_options o = options();
  o.max_event_streams = 1;
  running_server srv(handler, o);
  auto first = std::make_unique<client>(srv.port());
  first->send(get(events_path));
  ASSERT_TRUE(first->read_until("retry: 1000\n\n"));
  client second(srv.port());
  second.send(get(events_path));
  ASSERT_TRUE(second.read_until("}")) << second.got();
  EXPECT_TRUE(second.got().starts_with("HTTP/1.1 503 ")) << second.got();
  EXPECT_NE(second.got().find("{\"error_code\":\"TASKORCH.0503\",\"error_msg\":\"Too many event "
                              "streams are open; try again later.\"}"),
            std::string::npos)
      << second.got();
  first->close();
  first.reset();
  ASSERT_TRUE(eventually([&] { return handler.shows("taskorch_event_streams_open 0"); }));
  second.clear();
  second.send(get(events_path));  // the refused connection was kept alive
  ASSERT_TRUE(second.read_until("retry: 1000\n\n")) << second.got();
  EXPECT_TRUE(second.got().starts_with("HTTP/1.1 200 ")) << second.got();
}

TEST(EventStream, AClientThatGoesEndsItsStream) {
  auto feed = std::make_shared<test_feed>();
  stream_handler handler(feed);
  running_server srv(handler, options());
  {
    client c(srv.port());
    c.send(get(events_path));
    ASSERT_TRUE(c.read_until("retry: 1000\n\n"));
    ASSERT_TRUE(handler.shows("taskorch_event_streams_open 1"));
  }
  ASSERT_TRUE(eventually([&] { return srv.get().connections() == 0; }));
  EXPECT_TRUE(handler.shows("taskorch_event_streams_open 0"));
}

TEST(EventStream, TheShutdownEndsStreamsAtOnce) {
  auto feed = std::make_shared<test_feed>();
  stream_handler handler(feed);
  server_options o = options();
  o.drain_timeout = 60s;  // a stream is not a response being drained
  running_server srv(handler, o);
  client a(srv.port());
  client b(srv.port());
  a.send(get(events_path));
  b.send(get(events_path + "?since=0"));
  ASSERT_TRUE(a.read_until("retry: 1000\n\n"));
  ASSERT_TRUE(b.read_until("retry: 1000\n\n"));
  const auto took = srv.stop();
  EXPECT_LT(took, 5s);
  EXPECT_TRUE(a.read_to_end(5s));
  EXPECT_TRUE(b.read_to_end(5s));
  EXPECT_TRUE(handler.shows("taskorch_event_streams_open 0"));
}

TEST(EventStream, AClientThatDoesNotReadIsCutOffAfterTheWriteTimeout) {
  auto feed = std::make_shared<test_feed>();
  feed->make_endless();
  stream_handler handler(feed);
  running_server srv(handler, options(60s, 200ms));
  client slow(srv.port(), 4096);
  slow.send(get(events_path));
  // It never reads: once the socket buffers are full, a write waits past the timeout.
  ASSERT_TRUE(eventually([&] {
    return handler.shows("taskorch_event_streams_cut_off_total{reason=\"write_timeout\"} 1");
  }));
  ASSERT_TRUE(eventually([&] { return handler.shows("taskorch_event_streams_open 0"); }));
  ASSERT_TRUE(eventually([&] { return srv.get().connections() == 0; }));
  EXPECT_TRUE(slow.read_to_end(30s));  // what was sent, then the end
  EXPECT_TRUE(slow.got().starts_with("HTTP/1.1 200 OK\r\n"));
  // Another client is served meanwhile and after.
  client c(srv.port());
  c.send(get("/plain"));
  ASSERT_TRUE(c.read_until("{}"));
}

TEST(EventStream, AStreamWhoseSourceEndedSendsWhatIsLeftThenACutOffFrame) {
  auto feed = std::make_shared<test_feed>();
  feed->add(2);
  stream_handler handler(feed);
  running_server srv(handler, options());
  client c(srv.port());
  c.send(get(events_path + "?since=0"));
  ASSERT_TRUE(c.read_until("\"sequence\":2,")) << c.got();
  // Its last events, then the engine stops serving the project (its partition moved).
  feed->add(1);
  feed->end();
  ASSERT_TRUE(c.read_to_end(30s)) << c.got();
  EXPECT_NE(c.got().find("id: 3\n"), std::string::npos) << c.got();
  EXPECT_TRUE(
      c.got().ends_with("event: cut_off\ndata: {\"resume_after\":3,\"reason\":\"moved\"}\n\n"))
      << c.got();
  EXPECT_TRUE(handler.shows("taskorch_event_streams_cut_off_total{reason=\"moved\"} 1"));
}

TEST(EventStream, AStreamWhoseFeedWasDroppedEndsWithACutOffFrame) {
  auto feed = std::make_shared<test_feed>();
  feed->add(3);
  stream_handler handler(feed);
  running_server srv(handler, options());
  client c(srv.port());
  c.send(get(events_path + "?since=0"));
  ASSERT_TRUE(c.read_until("id: 3\n")) << c.got();
  ASSERT_TRUE(c.read_until("\"sequence\":3,"));
  // The feed moves on and drops what the stream has not read yet.
  feed->drop_until(9);
  feed->add(10);
  ASSERT_TRUE(c.read_to_end(30s)) << c.got();
  EXPECT_TRUE(c.got().ends_with(
      "event: cut_off\ndata: {\"resume_after\":3,\"reason\":\"fell_behind\"}\n\n"))
      << c.got();
  EXPECT_TRUE(handler.shows("taskorch_event_streams_cut_off_total{reason=\"fell_behind\"} 1"));
  EXPECT_TRUE(eventually([&] { return handler.shows("taskorch_event_streams_open 0"); }));
}

}  // namespace
