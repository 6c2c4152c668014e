#include "undo.hpp"

#include "storage/change_log.hpp"
#include "storage/frame.hpp"

#include <algorithm>
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

/// Puts back one change: a visitor of storage::record.
struct put_back {
  step_context& ctx;

  void operator()(const storage::set_state_record& r) const {
    ctx.at(holder_of(ctx, r.id)).restore_state(r);
  }
  void operator()(const storage::set_family_state_record& r) const {
    (*this)(r.forward);
    (*this)(r.backward);
  }
  void operator()(const storage::erase_task_record& r) const {
    ctx.at(ctx.home(r.id)).erase_task(r.id);
  }
  void operator()(const task_spec& r) const { (void)ctx.at(ctx.home(r.id)).insert(r); }
  void operator()(const storage::erase_family_record& r) const {
    const shard_index home = ctx.home(r.parent);
    const family_links links = ctx.at(home).links_of(r.parent);
    ctx.at(home).erase_family(r.parent);
    for (const job_id& child : {links.forward, links.backward}) {
      if (ctx.home(child) != home) ctx.at(ctx.home(child)).erase_redirect(child);
    }
  }
  void operator()(const family_spec& r) const {
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
  void operator()(const storage::end_record&) const {}  // only in checkpoints
  void operator()(const feed_event&) const {}           // only in checkpoints
};

}  // namespace

void undo_changes(step_context& ctx, std::string_view frames) noexcept {
  const storage::change_log::scope unrecorded(nullptr);
  try {
    std::vector<storage::record> changes;
    const auto bytes = std::as_bytes(std::span(frames.data(), frames.size()));
    storage::scan_frames(bytes, 0, [&](std::span<const std::byte> payload, std::uint64_t) {
      std::optional<storage::record> r = storage::decode(payload, storage::format_version);
      if (!r) std::terminate();  // the engine encoded it a moment ago
      changes.push_back(std::move(*r));
      return true;
    });
    std::for_each(changes.rbegin(), changes.rend(),
                  [&](const storage::record& change) { std::visit(put_back{ctx}, change); });
  } catch (...) {
    // Out of memory putting back a purged task: memory would hold what nobody knows.
    std::fputs("taskorch: out of memory undoing changes the journal could not store\n", stderr);
    std::terminate();
  }
}

}  // namespace taskorch::detail
