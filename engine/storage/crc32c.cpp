#include "crc32c.hpp"

#include <array>
#include <cstring>

namespace taskorch::storage {

namespace {

constexpr std::uint32_t polynomial = 0x82F63B78;  // reflected Castagnoli

/// Slice-by-8 tables: tables[k][b] is the crc of byte b followed by k zero bytes.
constexpr std::array<std::array<std::uint32_t, 256>, 8> make_tables() {
  std::array<std::array<std::uint32_t, 256>, 8> tables{};
  for (std::uint32_t b = 0; b < 256; ++b) {
    std::uint32_t c = b;
    for (int bit = 0; bit < 8; ++bit) c = (c >> 1) ^ ((c & 1U) != 0 ? polynomial : 0U);
    tables[0][b] = c;
  }
  for (std::size_t k = 1; k < 8; ++k) {
    for (std::uint32_t b = 0; b < 256; ++b) {
      const std::uint32_t prev = tables[k - 1][b];
      tables[k][b] = (prev >> 8) ^ tables[0][prev & 0xFFU];
    }
  }
  return tables;
}

constexpr auto tables = make_tables();

std::uint64_t load_le64(const std::byte* p) noexcept {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | std::to_integer<std::uint64_t>(p[i]);
  return v;
}

const bool hardware = detail::crc32c_hardware_available();

}  // namespace

namespace detail {

std::uint32_t crc32c_table(std::span<const std::byte> bytes, std::uint32_t crc) noexcept {
  std::uint32_t c = ~crc;
  const std::byte* p = bytes.data();
  std::size_t n = bytes.size();
  for (; n >= 8; n -= 8, p += 8) {
    const std::uint64_t word = load_le64(p) ^ c;
    c = tables[7][word & 0xFFU] ^ tables[6][(word >> 8) & 0xFFU] ^ tables[5][(word >> 16) & 0xFFU] ^
        tables[4][(word >> 24) & 0xFFU] ^ tables[3][(word >> 32) & 0xFFU] ^
        tables[2][(word >> 40) & 0xFFU] ^ tables[1][(word >> 48) & 0xFFU] ^ tables[0][word >> 56];
  }
  for (; n > 0; --n, ++p)
    c = (c >> 8) ^ tables[0][(c ^ std::to_integer<std::uint32_t>(*p)) & 0xFFU];
  return ~c;
}

#if defined(__x86_64__)

__attribute__((target("sse4.2"))) std::uint32_t crc32c_hardware(std::span<const std::byte> bytes,
                                                                std::uint32_t crc) noexcept {
  std::uint64_t c = ~crc;
  const std::byte* p = bytes.data();
  std::size_t n = bytes.size();
  for (; n >= 8; n -= 8, p += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, p, sizeof word);  // x86 is little-endian
    c = __builtin_ia32_crc32di(c, word);
  }
  auto c32 = static_cast<std::uint32_t>(c);
  for (; n > 0; --n, ++p) c32 = __builtin_ia32_crc32qi(c32, std::to_integer<unsigned char>(*p));
  return ~c32;
}

bool crc32c_hardware_available() noexcept {
  __builtin_cpu_init();  // may run before the constructors that would have done it
  // NOLINTNEXTLINE(readability-implicit-bool-conversion): inside the builtin's expansion
  return __builtin_cpu_supports("sse4.2") != 0;
}

#else

std::uint32_t crc32c_hardware(std::span<const std::byte> bytes, std::uint32_t crc) noexcept {
  return crc32c_table(bytes, crc);
}

bool crc32c_hardware_available() noexcept { return false; }

#endif

}  // namespace detail

std::uint32_t crc32c(std::span<const std::byte> bytes, std::uint32_t crc) noexcept {
  return hardware ? detail::crc32c_hardware(bytes, crc) : detail::crc32c_table(bytes, crc);
}

}  // namespace taskorch::storage
