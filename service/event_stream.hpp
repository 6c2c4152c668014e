#pragma once
// event_stream: serves one event stream (GET /v3/{project_id}/events) on a connection whose
// request passed every check: opens it where the client asked (410 when that position is no
// longer kept), writes a 200 head (text/event-stream) and the retry frame, then polls the
// project's feed (event_source) and writes its events as Server-Sent Events frames
// (event_frames.hpp) until the client goes, the server shuts down or the client is cut off.
//
// The engine is never slowed down nor called back by a stream: the stream reads the feed
// (a copy under the feed's lock), at most `events_per_read` events at a time, and reads again
// only once they are written, so that a stream holds one read's frames at most. With nothing
// new it waits `poll_interval` on a timer, writing a keep-alive comment when nothing was
// written for `heartbeat`. A write that takes longer than `write_timeout` cuts the client off
// (the connection is closed); so does the feed dropping the stream's position while its client
// is slow, after a last `cut_off` frame. Meanwhile a read watches the connection, so that a
// client that closes it ends the stream at once (bytes it sends are ignored).
//
// Runs on the connection's strand, like the session that owns it:
//
//   event_stream s(conn, source, settings, stopping, stats);
//   if (auto refused = s.open(start, lang)) answer(*refused);            // 410
//   else if (co_await s.write_head(version)) co_await s.pump();
//   co_await s.close();

#include "connection.hpp"
#include "event_frames.hpp"
#include <taskorch/http/event_source.hpp>
#include <taskorch/http/metrics.hpp>

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace taskorch::http::detail {

/// How event streams behave (server_options' event_* figures).
struct stream_settings {
  std::chrono::milliseconds poll_interval{25};
  std::chrono::milliseconds heartbeat{15'000};
  std::chrono::milliseconds write_timeout{10'000};
  std::size_t events_per_read = 512;
};

/// A place among the event streams open at once; given back when destroyed. Move-only.
class stream_slot {
 public:
  /// A place, when fewer than `cap` are taken from `open`.
  static std::optional<stream_slot> take(std::atomic<std::size_t>& open, std::size_t cap) noexcept;

  stream_slot(stream_slot&& other) noexcept : open_(other.open_) { other.open_ = nullptr; }
  stream_slot& operator=(stream_slot&&) = delete;
  stream_slot(const stream_slot&) = delete;
  stream_slot& operator=(const stream_slot&) = delete;
  ~stream_slot() {
    if (open_ != nullptr) open_->fetch_sub(1, std::memory_order_relaxed);
  }

 private:
  explicit stream_slot(std::atomic<std::size_t>& open) noexcept : open_(&open) {}
  std::atomic<std::size_t>* open_;
};

class event_stream {
 public:
  event_stream(std::shared_ptr<connection> conn, std::shared_ptr<const event_source> source,
               stream_settings settings, const std::atomic<bool>& stopping, http::metrics& stats);
  ~event_stream();

  event_stream(const event_stream&) = delete;
  event_stream& operator=(const event_stream&) = delete;
  event_stream(event_stream&&) = delete;
  event_stream& operator=(event_stream&&) = delete;

  /// Finds where the stream starts (`after` 0: the oldest event kept). Returns the answer to
  /// send instead of the stream when the position is no longer kept or was never given out
  /// (410, gone_response()), else nothing.
  std::optional<response> open(const stream_start& start, language lang);

  /// Writes the 200 head (HTTP `version`, Connection: close) and the retry frame. False when
  /// the connection failed.
  boost::asio::awaitable<bool> write_head(unsigned version);

  /// Writes the events after the start until the client goes, the server stops (`stopping`,
  /// and the connection cancelled), or the client is cut off.
  boost::asio::awaitable<void> pump();

  /// Closes the connection and waits until the watch on it has ended. Call once, last.
  boost::asio::awaitable<void> close();

 private:
  struct watch;
  using clock = std::chrono::steady_clock;

  /// What one read of the feed came to.
  enum class forwarded : std::uint8_t {
    sent,     ///< events, written
    skipped,  ///< no event of the project, but positions read past: read again at once
    nothing,  ///< nothing new
    ended,    ///< the stream ends (the write failed, the feed dropped the position, or the
              ///< source ended)
  };

  /// One read of the feed after `position_`: what it found, its frames in `frames_`.
  struct batch {
    enum kind : std::uint8_t {
      events,   ///< the frames of `count` events, the last at position `last`
      cut_off,  ///< the feed dropped the position: the cut-off frame
      ended,    ///< the source ended (its project is served elsewhere): the cut-off frame
      skipped,  ///< no event of the project, but positions read past
      nothing,  ///< nothing new
      failed,   ///< reading or formatting threw (out of memory)
    };
    kind found = nothing;
    std::uint64_t last = 0;
    std::size_t count = 0;
  };

  /// Reads the feed once after `position_` into `frames_` (never throws).
  batch collect() noexcept;
  /// Reads the feed once (collect()) and writes what it found.
  boost::asio::awaitable<forwarded> forward();
  /// With nothing new: a keep-alive when nothing was written for the heartbeat, then a wait
  /// of the poll interval (cut short when the watch ends). False when the keep-alive could
  /// not be written.
  boost::asio::awaitable<bool> idle();
  /// Writes `bytes` within the write timeout; counts a cut-off when it timed out.
  boost::asio::awaitable<bool> send(std::string_view bytes);
  /// Reads from the client (and again, ignoring what it sends) until it closes the
  /// connection, the connection fails or is cancelled; then ends `w` and wakes the pump.
  static void watch_client(std::shared_ptr<connection> conn, std::shared_ptr<watch> w);

  std::shared_ptr<connection> conn_;
  std::shared_ptr<const event_source> source_;
  stream_settings settings_;
  const std::atomic<bool>& stopping_;
  http::metrics& stats_;
  std::shared_ptr<watch> watch_;
  std::uint64_t position_ = 0;    ///< read the feed after it next
  std::uint64_t last_sent_ = 0;   ///< the last event written (the start before any)
  std::string frames_;            ///< the frames of one read, being written
  clock::time_point last_write_;  ///< of the last events or keep-alive
  bool counted_ = false;          ///< counted in taskorch_event_streams_open
};

}  // namespace taskorch::http::detail
