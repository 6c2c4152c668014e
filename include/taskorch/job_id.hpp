#pragma once
// job_id: a DRS job id, validated once and stored inline as 192 bits.
//
// DRS job ids look like UUIDs but are not hex: `8d0e8e36-a618-490d-8a46-8c61ac9jb502`.
// The accepted shape is `^[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12}$`;
// uppercase or any other shape is invalid. The 32 significant characters are packed
// six bits each, most significant first, so comparing ids compares their text.
//
//   auto id = taskorch::job_id::parse("8d0e8e36-a618-490d-8a46-8c61ac9jb502");
//   if (id) std::cout << id->to_string();
//   taskorch::job_id fresh = taskorch::job_id::mint();   // random, ends in "jb" + 3

#include <fmt/format.h>

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace taskorch {

/// A validated DRS job id. A value type: cheap to copy, hash and compare.
/// Thread safety: distinct objects safe; shared const objects safe.
class job_id {
 public:
  /// The number of characters of a job id's text.
  static constexpr std::size_t text_size = 36;

  /// Constructs the all-zero id `00000000-0000-0000-0000-000000000000`.
  constexpr job_id() noexcept = default;

  /// Parses `text`; returns an empty optional when it is not of the DRS shape.
  static std::optional<job_id> parse(std::string_view text) noexcept;

  /// Mints a random id (Boost.UUID random generator) of the DRS shape, ending like
  /// DRS ids: `jb` followed by three characters. Thread-safe.
  static job_id mint();

  /// Writes the 36-character text to `out`, which must hold `text_size` characters.
  void write(char* out) const noexcept;

  /// Returns the 36-character text.
  std::string to_string() const;

  /// Returns a well-mixed 64-bit hash.
  std::uint64_t hash() const noexcept {
    std::uint64_t h = words_[0] * 0x9e3779b97f4a7c15ULL;
    h ^= (words_[1] + (h >> 29)) * 0xbf58476d1ce4e5b9ULL;
    h ^= (words_[2] + (h >> 31)) * 0x94d049bb133111ebULL;
    return h ^ (h >> 32);
  }

  /// Returns a hash keyed with a secret drawn once per process. hash() is public and fixed,
  /// so whoever chooses the ids can make them collide; use this one for sets of ids a client
  /// chooses (a request's duplicate check).
  std::uint64_t keyed_hash() const noexcept;

  friend constexpr bool operator==(const job_id& a, const job_id& b) noexcept {
    // Word by word: the defaulted comparison of the array calls memcmp, which showed up as
    // a quarter of the engine's time in the benchmarks.
    return a.words_[0] == b.words_[0] && a.words_[1] == b.words_[1] && a.words_[2] == b.words_[2];
  }
  // NOLINTBEGIN(modernize-use-nullptr): clang-tidy 14 takes the 0 that the defaulted
  // comparison compares its result with for a null pointer.
  friend constexpr std::strong_ordering operator<=>(const job_id&,
                                                    const job_id&) noexcept = default;
  // NOLINTEND(modernize-use-nullptr)

 private:
  std::array<std::uint64_t, 3> words_{};
};

/// Hash functor for unordered containers keyed by job_id.
struct job_id_hash {
  using is_avalanching = void;  // tells boost::unordered the hash is already well mixed
  std::size_t operator()(const job_id& id) const noexcept { return id.hash(); }
};

/// Hash functor over job_id::keyed_hash(), for sets of ids chosen by clients.
struct job_id_keyed_hash {
  using is_avalanching = void;
  std::size_t operator()(const job_id& id) const noexcept { return id.keyed_hash(); }
};

}  // namespace taskorch

template <>
struct fmt::formatter<taskorch::job_id> : fmt::formatter<std::string_view> {
  auto format(const taskorch::job_id& id, format_context& ctx) const {
    std::array<char, taskorch::job_id::text_size> text{};
    id.write(text.data());
    return fmt::formatter<std::string_view>::format(std::string_view(text.data(), text.size()),
                                                    ctx);
  }
};
