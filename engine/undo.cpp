#include "undo.hpp"

#include "storage/change_log.hpp"
#include "storage/frame.hpp"

#include <cstdio>
#include <exception>
#include <vector>

namespace taskorch::detail {

namespace {

/// The shard that holds `id`'s record: its home, or the family's shard behind a stub.
shard_index holder_of(step_context& ctx, const job_id& id) {
  const shard_index home = ctx.home(id);
  const task_record* rec = ctx.at(home).record_of(id);
  return rec != nullptr && rec->redirect ? rec->family_shard : home;
}

void put_back(step_context& ctx, const storage::record& change) {
  std::visit(
      [&](const auto& r) {
        using type = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<type, storage::set_state_record>) {
          ctx.at(holder_of(ctx, r.id)).restore_state(r);
        } else if constexpr (std::is_same_v<type, storage::erase_task_record>) {
          ctx.at(ctx.home(r.id)).erase_task(r.id);
        } else if constexpr (std::is_same_v<type, task_spec>) {
          (void)ctx.at(ctx.home(r.id)).insert(r);
        } else if constexpr (std::is_same_v<type, storage::erase_family_record>) {
          shard& family_shard = ctx.at(ctx.home(r.parent));
          const family_links links = family_shard.links_of(r.parent);
          family_shard.erase_family(r.parent);
          for (const job_id& child : {links.forward, links.backward}) {
            if (ctx.home(child) != ctx.home(r.parent))
              ctx.at(ctx.home(child)).erase_redirect(child);
          }
        } else if constexpr (std::is_same_v<type, family_spec>) {
          const shard_index home = ctx.home(r.id);
          ctx.at(home).reserve_family(r);
          for (const job_id& child : {r.forward.id, r.backward.id}) {
            if (ctx.home(child) != home) ctx.at(ctx.home(child)).reserve_stubs(1);
          }
          for (const job_id& child : {r.forward.id, r.backward.id}) {
            if (ctx.home(child) != home) ctx.at(ctx.home(child)).insert_redirect(child, home);
          }
          family_spec copy = r;
          ctx.at(home).insert_family(std::move(copy));
        }
      },
      change);
}

}  // namespace

void undo_changes(step_context& ctx, std::string_view frames) noexcept {
  const storage::change_log::scope unrecorded(nullptr);
  try {
    std::vector<storage::record> changes;
    const auto bytes = std::as_bytes(std::span(frames.data(), frames.size()));
    storage::scan_frames(bytes, 0, [&](std::span<const std::byte> payload, std::uint64_t) {
      std::optional<storage::record> r = storage::decode(payload);
      if (!r) std::terminate();  // the engine encoded it a moment ago
      changes.push_back(std::move(*r));
      return true;
    });
    for (auto it = changes.rbegin(); it != changes.rend(); ++it) put_back(ctx, *it);
  } catch (const std::bad_alloc&) {
    std::fputs("taskorch: out of memory undoing changes the journal could not store\n", stderr);
    std::terminate();
  }
}

}  // namespace taskorch::detail
