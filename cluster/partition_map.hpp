#pragma once
// partition_map: which partition a project belongs to. Projects map to a fixed number of
// partitions, chosen when the cluster's schema is created; a partition has one owner at a time
// (leases.hpp), so a project, and with it every dual-active family, is served by one node.
//
//   const std::uint32_t p = taskorch::cluster::partition_of(project, 64);
//
// The mapping is part of the stored format: every node, of any version, must compute the same
// one. It is FNV-1a (64 bits) over the project id's 32-character text, modulo the number of
// partitions; it does not use project_id::hash(), which may change between versions.

#include <taskorch/project_id.hpp>

#include <array>
#include <cstdint>

namespace taskorch::cluster {

/// The most partitions a cluster may have.
inline constexpr std::uint32_t max_partitions = 4096;

/// The partition of `project` among `partitions` (1..max_partitions).
inline std::uint32_t partition_of(const project_id& project, std::uint32_t partitions) noexcept {
  std::array<char, project_id::text_size> text{};
  project.write(text.data());
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a offset basis
  for (const char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;  // FNV-1a prime
  }
  return static_cast<std::uint32_t>(h % partitions);
}

}  // namespace taskorch::cluster
