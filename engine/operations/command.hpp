#pragma once
// command: pause, resume and worker events; one lifecycle event per item. The caller's
// items are kept as given (pause_item, job_id or event_item): no copy into another form.

#include "operation.hpp"

#include <algorithm>

namespace taskorch::detail {

template <class Item>
struct command_op : project_batch_op<item_result, Item> {
  using base = project_batch_op<item_result, Item>;
  using base::items;
  using base::project;
  using base::results;

  command_op(project_id p, task_event e, std::vector<Item> i) : base(p, std::move(i)), event(e) {}

  /// The whole-batch checks: empty, too large, an id twice; then a value outside its enum
  /// (errc::invalid_item), or for worker events a pause or resume (errc::not_a_worker_event).
  static error_code validate(const project_id&, task_event, const std::vector<Item>& items,
                             const engine_options& options) {
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
    }
    return {};
  }

  std::optional<shard_index> run(step_context& ctx, std::size_t i) {
    const Item& item = items[i];
    const outcome o =
        ctx.here().apply(project, item_id(item), item_event(item, event), item_mode(item));
    results[i].error = o.error;
    return o.forward_to;
  }
  static constexpr bool changes_registry = true;
  task_event event;  ///< pause or resume; worker events come with each item
};

}  // namespace taskorch::detail
