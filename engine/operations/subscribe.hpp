#pragma once
// subscribe: adds a subscriber's slot on every shard. When the engine stops before every
// shard has it, the slot is closed before the operation completes (with operation_aborted
// and no subscription), so the callback is never called once its caller hears of the failure.

#include "../engine_core.hpp"
#include "operation.hpp"

#include <memory>

namespace taskorch::detail {

struct subscribe_op : operation_base {
  using signature = engine::subscribe_signature;

  subscribe_op(std::shared_ptr<subscriber_slot> s, std::weak_ptr<engine_core> c)
      : slot(std::move(s)), core(std::move(c)) {}

  void run_shard(step_context& ctx) const { ctx.here().add_subscriber(slot); }
  void fail(const error_code& ec) noexcept { note_failure(ec); }
  std::tuple<error_code, subscription> result() {
    if (error_code ec = failure()) {
      slot->close(/*wait_for_running=*/true);
      if (auto c = core.lock()) c->unsubscribe(slot);  // off the shards that have it
      return {ec, subscription()};
    }
    return {error_code(), subscription(std::move(core), std::move(slot))};
  }

  std::shared_ptr<subscriber_slot> slot;
  std::weak_ptr<engine_core> core;
  completion<signature> done;
};

}  // namespace taskorch::detail
