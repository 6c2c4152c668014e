#pragma once
// placement: which shard a task lives on. A task's home shard is a multiply-shift of the
// 64-bit hash of its id onto [0, shards); the children of a dual-active family live on their
// parent's home shard instead, and their own home shards keep a redirect stub
// (docs/architecture.md, "Shards and strands").

#include <taskorch/job_id.hpp>

#include <cstddef>
#include <cstdint>

namespace taskorch::detail {

/// The index of a shard.
using shard_index = std::uint16_t;

/// Maps ids to their home shards. Thread safety: immutable.
class placement {
 public:
  explicit placement(std::size_t shards) noexcept : shards_(shards) {}

  /// The home shard of `id`.
  shard_index home(const job_id& id) const noexcept {
    __extension__ using wide = unsigned __int128;
    return static_cast<shard_index>((static_cast<wide>(id.hash()) * shards_) >> 64);
  }

  std::size_t shards() const noexcept { return shards_; }

 private:
  std::size_t shards_;
};

}  // namespace taskorch::detail
