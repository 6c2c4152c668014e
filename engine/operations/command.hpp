#pragma once
// command: the user's commands (start, pause, resume, terminate, delete), the workers' events
// and reports, and the schedule's starts; one lifecycle event per item (a report: an event, its
// figures, or both). The caller's items are kept as given (pause_item, job_id, start_item,
// delete_item, event_item or report_item): no copy into another form; command_of() reads what
// each one asks for.

#include "operation.hpp"

#include <algorithm>

namespace taskorch::detail {

/// What a whole command batch says: its event (for items that do not name their own) and
/// the wall-clock time it was accepted at (a start in the future is scheduled; the
/// schedule's starts fire at it).
struct batch_command {
  task_event event = task_event::pause;
  wall_time now{};
};

/// One item's event and its arguments.
struct item_command {
  task_event event = task_event::pause;
  event_arguments args;
};

inline item_command command_of(const pause_item& p, const batch_command& b) noexcept {
  return {b.event, {.mode = p.mode, .now = b.now}};
}
inline item_command command_of(const job_id&, const batch_command& b) noexcept {
  return {b.event, {.at = b.now, .now = b.now}};
}
inline item_command command_of(const event_item& e, const batch_command& b) noexcept {
  return {e.event, {.now = b.now}};
}
inline item_command command_of(const start_item& s, const batch_command& b) noexcept {
  if (s.start_time && *s.start_time > b.now)
    return {task_event::schedule_start, {.at = *s.start_time, .now = b.now}};
  return {task_event::start, {.now = b.now}};
}
inline item_command command_of(const delete_item& d, const batch_command& b) noexcept {
  return {event_of(d.type), {.now = b.now}};
}

template <class Item>
struct command_op : project_batch_op<item_result, Item> {
  using base = project_batch_op<item_result, Item>;
  using base::items;
  using base::project;
  using base::results;

  command_op(project_id p, batch_command c, std::vector<Item> i)
      : base(p, std::move(i)), command(c) {}

  /// The whole-batch checks: empty, too large, an id twice; then a value outside its enum
  /// (errc::invalid_item), or for worker events an event a worker does not report
  /// (errc::not_a_worker_event).
  static error_code validate(const project_id&, const batch_command&,
                             const std::vector<Item>& items, const engine_options& options) {
    if (error_code ec = validate_batch(items, options.max_batch_items)) return ec;
    if constexpr (std::is_same_v<Item, event_item>) {
      if (std::any_of(items.begin(), items.end(),
                      [](const event_item& e) { return !is_worker_event(e.event); })) {
        return errc::not_a_worker_event;
      }
    } else if constexpr (std::is_same_v<Item, pause_item>) {
      if (std::any_of(items.begin(), items.end(),
                      [](const pause_item& p) { return !is_valid(p.mode); })) {
        return errc::invalid_item;
      }
    } else if constexpr (std::is_same_v<Item, report_item>) {
      if (std::any_of(items.begin(), items.end(),
                      [](const report_item& r) { return r.event && !is_worker_event(*r.event); })) {
        return errc::not_a_worker_event;
      }
      if (std::any_of(items.begin(), items.end(), [](const report_item& r) {
            return (!r.event && !r.figures) || (r.figures && r.figures->progress > 100) ||
                   (r.confirms &&
                    (r.event != task_event::confirm || !awaits_worker(*r.confirms))) ||
                   (r.confirms_version && r.event != task_event::confirm);
          })) {
        return errc::invalid_item;
      }
    } else if constexpr (std::is_same_v<Item, delete_item>) {
      if (std::any_of(items.begin(), items.end(),
                      [](const delete_item& d) { return !is_valid(d.type); })) {
        return errc::invalid_item;
      }
    }
    return {};
  }

  std::optional<shard_index> run(step_context& ctx, std::size_t i) {
    const Item& item = items[i];
    outcome o;
    if constexpr (std::is_same_v<Item, report_item>) {
      o = ctx.here().report(project, item, command.now);
    } else {
      const item_command c = command_of(item, command);
      o = ctx.here().apply(project, item_id(item), c.event, c.args);
    }
    results[i].error = o.error;
    return o.forward_to;
  }
  static constexpr bool changes_registry = true;
  batch_command command;
};

}  // namespace taskorch::detail
