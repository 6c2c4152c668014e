#pragma once
// undo: puts back what journaled changes did, when the journal could not store them
// (storage/journal.hpp): the undo frames of a change log, applied last to first. The caller
// holds the gates of every shard the changes touched: a part its own (and a multi-shard
// step's), a rollback every gate. Nothing is recorded meanwhile.

#include "step_context.hpp"

#include <string_view>

namespace taskorch::detail {

/// Applies the undo frames `frames` (oldest change first) last to first. Terminates the
/// program when memory runs out putting a purged task back: memory would then hold a registry
/// that neither the journal nor the caller knows (a restart recovers the stored one).
void undo_changes(step_context& ctx, std::string_view frames) noexcept;

}  // namespace taskorch::detail
