#pragma once
// event_source: what an event stream (GET /v3/{project_id}/events) reads: the events of one
// project from the engine's feed (feed_event.hpp). The events endpoint answers with a source
// instead of a body (response::stream); the server then polls it and writes its events to the
// client as Server-Sent Events, so that a consumer never slows the engine down nor is called
// back by it.
//
//   feed_page page = source.read(after, 512);  // engine::read_feed(project, after, 512)
//   if (page.gone) refuse(page.oldest);
//   std::uint64_t now = source.position();     // engine::feed_position()
//
// Thread safety: implementations may be called from any thread, concurrently.

#include <taskorch/feed_event.hpp>

#include <cstddef>
#include <cstdint>

namespace taskorch::http {

/// One project's events, as an event stream reads them.
class event_source {
 public:
  event_source() = default;
  virtual ~event_source() = default;
  event_source(const event_source&) = delete;
  event_source& operator=(const event_source&) = delete;
  event_source(event_source&&) = delete;
  event_source& operator=(event_source&&) = delete;

  /// The project's events after position `after`, at most `max_events` of them; `gone` (with
  /// `oldest`) when `after` is no longer kept. Returns at once.
  virtual feed_page read(std::uint64_t after, std::size_t max_events) const = 0;

  /// The last position readable now: a stream that starts after it sends only new events.
  virtual std::uint64_t position() const = 0;

  /// True once the source will give no more events: its engine no longer serves the project
  /// (the scale-out mode let its partition go). A stream sends what it still reads, then
  /// ends with a cut_off frame (reason "moved"), so that its client reconnects and resumes
  /// where the project is served now.
  virtual bool ended() const { return false; }
};

}  // namespace taskorch::http
