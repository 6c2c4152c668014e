#pragma once
// crc32c: the CRC-32C (Castagnoli) checksum that frames every record on disk
// (docs/storage.md). Uses the SSE4.2 instruction when the CPU has it, a table otherwise.

#include <cstddef>
#include <cstdint>
#include <span>

namespace taskorch::storage {

/// Extends `crc` (0 to start) over `bytes`: crc32c(a + b) == crc32c(b, crc32c(a)).
std::uint32_t crc32c(std::span<const std::byte> bytes, std::uint32_t crc = 0) noexcept;

namespace detail {
/// The two ways crc32c() computes, for the tests that hold them against each other.
std::uint32_t crc32c_table(std::span<const std::byte> bytes, std::uint32_t crc) noexcept;
/// Only where crc32c_hardware_available().
std::uint32_t crc32c_hardware(std::span<const std::byte> bytes, std::uint32_t crc) noexcept;
bool crc32c_hardware_available() noexcept;
}  // namespace detail

}  // namespace taskorch::storage
