#include "event_stream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <array>
#include <exception>
#include <utility>

namespace taskorch::http::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// A stream's frame buffer keeps at most this much between reads (one read of 512 events
/// takes about 200 KiB).
constexpr std::size_t kept_frame_bytes = std::size_t{1} << 20;

/// How many times open() follows a start of 0 to the oldest position kept when the feed drops
/// positions faster than it can look.
constexpr int oldest_tries = 8;

}  // namespace

std::optional<stream_slot> stream_slot::take(std::atomic<std::size_t>& open,
                                             std::size_t cap) noexcept {
  std::size_t n = open.load(std::memory_order_relaxed);
  do {
    if (n >= cap) return std::nullopt;
  } while (!open.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
  return stream_slot(open);
}

/// What the read on the client's side of the connection learnt. Shared with the read's
/// handler, which may outlive the stream.
struct event_stream::watch {
  explicit watch(const asio::any_io_executor& ex) : wake(ex) {}
  asio::steady_timer wake;  ///< the pump's (and close()'s) wait, cancelled when the watch ends
  bool reading = false;     ///< a read from the client is pending
  bool ended = false;       ///< the client closed the connection, or it failed or was cancelled
  std::array<char, 512> ignored{};  ///< what the client sends after its request
};

event_stream::event_stream(std::shared_ptr<connection> conn,
                           std::shared_ptr<const event_source> source, stream_settings settings,
                           const std::atomic<bool>& stopping, http::metrics& stats)
    : conn_(std::move(conn)),
      source_(std::move(source)),
      settings_(settings),
      stopping_(stopping),
      stats_(stats),
      watch_(std::make_shared<watch>(conn_->stream.get_executor())) {}

event_stream::~event_stream() {
  // Ended without close() (an exception): the watch's handler must not read again.
  watch_->ended = true;
  if (counted_) stats_.count_stream(-1);
}

std::optional<response> event_stream::open(const stream_start& start, language lang) {
  if (start.from_now) {
    position_ = last_sent_ = source_->position();
    return std::nullopt;
  }
  std::uint64_t after = start.after;
  for (int i = 0; i < oldest_tries; ++i) {
    const feed_page page = source_->read(after, 1);
    if (!page.gone) {
      position_ = last_sent_ = after;
      return std::nullopt;
    }
    if (start.after != 0) return gone_response(page.oldest, lang);
    after = page.oldest;  // 0: from the oldest event kept, however old that is now
  }
  return gone_response(after, lang);
}

asio::awaitable<bool> event_stream::write_head(unsigned version) {
  bhttp::response<bhttp::empty_body> head(bhttp::status::ok, version);
  head.set(bhttp::field::server, "taskorch");
  head.set(bhttp::field::content_type, "text/event-stream");
  head.set(bhttp::field::cache_control, "no-cache");
  head.set("X-Accel-Buffering", "no");  // nginx: pass each frame on at once
  // No length and no chunked coding: the stream is the rest of the connection.
  head.keep_alive(false);
  bhttp::response_serializer<bhttp::empty_body> serializer(head);
  conn_->stream.expires_after(settings_.write_timeout);
  auto [ec, n] = co_await bhttp::async_write_header(conn_->stream, serializer, use_tuple);
  if (ec) co_return false;
  counted_ = true;
  stats_.count_stream(+1);
  co_return co_await send(retry_frame);
}

asio::awaitable<void> event_stream::pump() {
  watch_client(conn_, watch_);
  const asio::any_io_executor ex = conn_->stream.get_executor();
  last_write_ = clock::now();
  while (!stopping_.load(std::memory_order_relaxed) && !watch_->ended) {
    const forwarded step = co_await forward();
    if (step == forwarded::ended) break;
    if (step == forwarded::skipped) {
      // Only other projects' events so far: read on at once, after the strand's other work.
      co_await asio::post(ex, asio::use_awaitable);
    } else if (step == forwarded::nothing && !co_await idle()) {
      break;
    }
  }
}

event_stream::batch event_stream::collect() noexcept {
  // Not a coroutine: with GCC 12, a try block in a coroutine (stream_events) corrupted a
  // neighbouring local of its frame (UBSan caught it).
  try {
    const feed_page page = source_->read(position_, settings_.events_per_read);
    frames_.clear();
    if (page.gone) {
      append_cut_off_frame(frames_, last_sent_, fell_behind_reason);
      return {.found = batch::cut_off};
    }
    const bool moved = page.next != position_;
    position_ = page.next;
    if (page.events.empty() && !moved && source_->ended()) {
      // Everything the source had is sent: the project is served elsewhere now.
      append_cut_off_frame(frames_, last_sent_, moved_reason);
      return {.found = batch::ended};
    }
    if (page.events.empty()) return {.found = moved ? batch::skipped : batch::nothing};
    for (const feed_event& e : page.events) append_change_frame(frames_, e);
    return {
        .found = batch::events, .last = page.events.back().position, .count = page.events.size()};
  } catch (const std::exception&) {
    return {.found = batch::failed};  // out of memory, say: the stream ends, the server goes on
  }
}

asio::awaitable<event_stream::forwarded> event_stream::forward() {
  const batch read = collect();
  switch (read.found) {
    case batch::events:
      // The feed is read again only once these frames are written: a stream holds one read.
      if (!co_await send(frames_)) co_return forwarded::ended;
      last_sent_ = read.last;
      last_write_ = clock::now();
      stats_.count_stream_events(read.count);
      if (frames_.capacity() > kept_frame_bytes) std::string().swap(frames_);
      co_return forwarded::sent;
    case batch::cut_off:
      // The feed dropped the position while the client was taking earlier events slowly:
      // what it missed cannot be sent. Say so, then end.
      stats_.count_stream_cut_off(stream_cut_off::fell_behind);
      co_await send(frames_);
      co_return forwarded::ended;
    case batch::ended:
      stats_.count_stream_cut_off(stream_cut_off::moved);
      co_await send(frames_);
      co_return forwarded::ended;
    case batch::skipped:
      co_return forwarded::skipped;
    case batch::nothing:
      co_return forwarded::nothing;
    case batch::failed:
      break;
  }
  co_return forwarded::ended;
}

asio::awaitable<bool> event_stream::idle() {
  clock::duration quiet = clock::now() - last_write_;
  if (quiet >= settings_.heartbeat) {
    // Past the last event sent (other projects' events): the client's id moves along too.
    const bool moved = position_ > last_sent_;
    frames_.clear();
    if (moved) {
      append_keep_alive_frame(frames_, position_);
    } else {
      frames_ = keep_alive_frame;
    }
    if (!co_await send(frames_)) co_return false;
    if (moved) last_sent_ = position_;
    last_write_ = clock::now();
    quiet = clock::duration::zero();
  }
  if (watch_->ended || stopping_.load(std::memory_order_relaxed)) co_return true;
  const clock::duration wait =
      std::min<clock::duration>(settings_.poll_interval, settings_.heartbeat - quiet);
  watch_->wake.expires_after(wait);
  co_await watch_->wake.async_wait(use_tuple);
  co_return true;
}

asio::awaitable<void> event_stream::close() {
  boost::system::error_code ignored;
  conn_->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  conn_->stream.socket().close(ignored);
  // The pending read completes (aborted) and cancels the wait.
  while (watch_->reading) {
    watch_->wake.expires_at(asio::steady_timer::time_point::max());
    co_await watch_->wake.async_wait(use_tuple);
  }
  watch_->ended = true;
  if (counted_) {
    counted_ = false;
    stats_.count_stream(-1);
  }
}

asio::awaitable<bool> event_stream::send(std::string_view bytes) {
  // Only the write's timeout: the watch's read, when pending, keeps waiting for ever.
  conn_->stream.expires_after(settings_.write_timeout);
  const asio::const_buffer buffer(bytes.data(), bytes.size());
  auto [ec, n] = co_await asio::async_write(conn_->stream, buffer, use_tuple);
  if (ec == beast::error::timeout) stats_.count_stream_cut_off(stream_cut_off::write_timeout);
  co_return !ec;
}

void event_stream::watch_client(std::shared_ptr<connection> conn, std::shared_ptr<watch> w) {
  if (w->ended) return;
  // The read never times out (a client of a stream sends nothing more); only writes do.
  conn->stream.expires_never();
  w->reading = true;
  beast::tcp_stream& stream = conn->stream;
  const asio::mutable_buffer buffer = asio::buffer(w->ignored);
  stream.async_read_some(buffer, [conn = std::move(conn), w = std::move(w)](
                                     const boost::system::error_code& ec, std::size_t) mutable {
    w->reading = false;
    if (ec || w->ended) {
      w->ended = true;
      w->wake.cancel();
      return;
    }
    watch_client(std::move(conn), std::move(w));  // bytes sent after the request: ignored
  });
}

}  // namespace taskorch::http::detail
