#include "duplicate_ids.hpp"

#include <algorithm>
#include <array>
#include <random>
#include <stdexcept>
#include <string>

namespace taskorch::bench {

namespace {

__extension__ using wide = unsigned __int128;

constexpr char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
constexpr std::size_t significant = 32;  // characters of an id's text, less the hyphens

/// The text of the id whose 32 significant characters have the values `d` (0-35 each).
std::string text_of(const std::array<std::uint8_t, significant>& d) {
  std::string text;
  text.reserve(job_id::text_size);
  for (std::size_t i = 0; i < significant; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) text += '-';
    text += alphabet[d[i]];
  }
  return text;
}

/// Keeps the first occurrence of each id; returns how many were dropped.
std::size_t drop_repeats(std::vector<job_id>& ids) {
  std::vector<job_id> sorted = ids;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end()) return 0;
  std::vector<job_id> kept;
  std::vector<job_id> seen;  // small: repeats are vanishingly rare
  for (const job_id& id : ids) {
    if (std::binary_search(seen.begin(), seen.end(), id)) continue;
    kept.push_back(id);
    seen.insert(std::upper_bound(seen.begin(), seen.end(), id), id);
  }
  const std::size_t dropped = ids.size() - kept.size();
  ids = std::move(kept);
  return dropped;
}

// job_id::hash() (include/taskorch/job_id.hpp), step by step:
//   h0 = w0 * k1;  h1 = h0 ^ ((w1 + (h0 >> 29)) * k2);  h2 = h1 ^ ((w2 + (h1 >> 31)) * k3);
//   hash = h2 ^ (h2 >> 32)
// where w0, w1, w2 are the 192 bits of the 32 characters, six bits each, first character
// most significant. hash -> h2 is invertible (h2 = hash ^ (hash >> 32)), and so is the
// multiplication by the odd k3, so for given w0 and w1 exactly one w2 gives a chosen hash.
constexpr std::uint64_t k1 = 0x9e3779b97f4a7c15ULL;
constexpr std::uint64_t k2 = 0xbf58476d1ce4e5b9ULL;
constexpr std::uint64_t k3 = 0x94d049bb133111ebULL;

constexpr std::uint64_t inverse(std::uint64_t odd) {  // modulo 2^64, by Newton's iteration
  std::uint64_t x = odd;                              // correct to 3 bits
  for (int i = 0; i < 5; ++i) x *= 2 - odd * x;       // each step doubles the correct bits
  return x;
}
constexpr std::uint64_t k3_inverse = inverse(k3);
static_assert(k3 * k3_inverse == 1);

}  // namespace

std::vector<job_id> random_ids(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<job_id> ids;
  ids.reserve(n);
  while (ids.size() < n) {
    while (ids.size() < n) {
      std::array<std::uint8_t, significant> d{};
      for (std::uint8_t& v : d) v = static_cast<std::uint8_t>(rng() % 36);
      d[27] = 19;  // 'j'
      d[28] = 11;  // 'b'
      ids.push_back(*job_id::parse(text_of(d)));
    }
    drop_repeats(ids);
  }
  return ids;
}

std::vector<job_id> colliding_ids(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<job_id> ids;
  ids.reserve(n);
  while (ids.size() < n) {
    while (ids.size() < n) {
      const std::uint64_t target = colliding_hash | (rng() & (std::uint64_t{1} << 63));
      const std::uint64_t h2 = target ^ (target >> 32);
      std::array<std::uint8_t, significant> d{};
      // w0:w1 as a 128-bit number: characters 0-9 once, then 10-20 and the top two bits of 21
      // (its low four bits are w2's top four) for each try.
      std::uint64_t prefix = 0;  // characters 0-9: 60 bits
      for (std::size_t i = 0; i < 10; ++i) {
        d[i] = static_cast<std::uint8_t>(rng() % 36);
        prefix = (prefix << 6) | d[i];
      }
      for (;;) {
        // Characters 10-21 afresh from one draw; character 21 below 32, so that whatever
        // w2 puts in its low four bits, it stays below 36.
        // Each digit is the integer part of r * 36 with r read as a fraction of 2^64, r then
        // keeping the fractional part (a multiplication instead of a division per digit).
        std::uint64_t r = rng();
        for (std::size_t i = 10; i < 22; ++i) {
          const wide m = static_cast<wide>(r) * (i < 21 ? 36 : 32);
          d[i] = static_cast<std::uint8_t>(m >> 64);
          r = static_cast<std::uint64_t>(m);
        }
        std::uint64_t w0 = 0, w1 = prefix;
        for (std::size_t i = 10; i < 21; ++i) {
          w0 = (w0 << 6) | (w1 >> 58);
          w1 = (w1 << 6) | d[i];
        }
        w0 = (w0 << 2) | (w1 >> 62);
        w1 = (w1 << 2) | (d[21] >> 4);
        const std::uint64_t h0 = w0 * k1;
        const std::uint64_t h1 = h0 ^ ((w1 + (h0 >> 29)) * k2);
        const std::uint64_t w2 = (h2 ^ h1) * k3_inverse - (h1 >> 31);
        bool valid = true;
        for (std::size_t j = 0; j < 10 && valid; ++j) {  // characters 31 down to 22
          const auto v = static_cast<std::uint8_t>((w2 >> (6 * j)) & 63U);
          valid = v < 36;
          d[31 - j] = v;
        }
        if (!valid) continue;
        d[21] = static_cast<std::uint8_t>((d[21] & 0x30U) | (w2 >> 60));
        const std::optional<job_id> id = job_id::parse(text_of(d));
        if (!id || id->hash() != target) {
          throw std::logic_error(
              "colliding_ids: a crafted id does not have the hash it was made for; "
              "job_id::hash() changed: update bench/duplicate_ids.cpp");
        }
        ids.push_back(*id);
        break;
      }
    }
    drop_repeats(ids);
  }
  return ids;
}

}  // namespace taskorch::bench
