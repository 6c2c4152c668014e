#pragma once
// feed_event: one entry of the engine's event feed, the ordered record of every change of
// every task (docs/behaviour.md, "Event feed").
//
// Each change gets a position when it is made; positions grow with the order the changes
// were made in (a task's changes in its order, and any change after one that completed
// before it began). A reader asks for the events after the last position it has seen and
// gets them with no gap and no duplicate, as long as the feed still keeps that position:
// the feed keeps the latest engine_options::feed_capacity events; with a data directory
// they survive a restart, and an event is readable only once its change is stored, so that
// no position a reader has seen is ever given to another event.
//
//   taskorch::feed_page page = eng.read_feed(project, last_seen, 1000);
//   if (page.gone) resume_from = page.oldest;  // older than the feed keeps: relist first
//   for (const taskorch::feed_event& e : page.events) handle(e);
//   last_seen = page.next;

#include <taskorch/job_id.hpp>
#include <taskorch/pause_mode.hpp>
#include <taskorch/project_id.hpp>
#include <taskorch/task_event.hpp>
#include <taskorch/task_state.hpp>
#include <taskorch/wall_time.hpp>

#include <cstdint>
#include <optional>
#include <vector>

namespace taskorch {

/// One change of one task, as the feed keeps it.
struct feed_event {
  std::uint64_t position = 0;  ///< its place in the feed (1 is the first ever)
  job_id id;
  project_id project;
  task_state from = task_state::configuration;
  task_state to = task_state::configuration;
  task_event cause = task_event::start;
  std::optional<pause_mode> mode;      ///< the pause mode, when `to` is paused
  std::optional<task_event> awaiting;  ///< the command a worker has yet to confirm, if any
  wall_time at{};                      ///< when the change was made
  std::uint64_t version = 0;           ///< the task's version after the change
  friend bool operator==(const feed_event&, const feed_event&) = default;
};

/// What one read of the feed returns.
struct feed_page {
  /// The project's events after the position asked for, in order of position.
  std::vector<feed_event> events;
  /// The position to read after next time: the last one this read examined (events of
  /// other projects are skipped, so it may lie past the last event returned).
  std::uint64_t next = 0;
  /// True when the position asked for is older than the feed keeps: events may be missing
  /// between it and `oldest`, and `events` is empty.
  bool gone = false;
  /// The oldest position a reader may resume after without missing an event.
  std::uint64_t oldest = 0;
};

}  // namespace taskorch
