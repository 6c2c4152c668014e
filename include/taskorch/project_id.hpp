#pragma once
// project_id: a DRS project (tenant-region) id, 32 lowercase hex characters, stored as 128 bits.
//
//   auto p = taskorch::project_id::parse("054ba152d480d55b2f5dc0069e7ddef0");
//
// Every command names the project it acts for; a task of another project is treated
// exactly as a task that does not exist.

#include <fmt/format.h>

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace taskorch {

/// A validated DRS project id. Thread safety: a value type, like job_id.
class project_id {
 public:
  /// The number of characters of a project id's text.
  static constexpr std::size_t text_size = 32;

  /// Constructs the all-zero project id.
  constexpr project_id() noexcept = default;

  /// Parses 32 lowercase hex characters; returns an empty optional otherwise.
  static std::optional<project_id> parse(std::string_view text) noexcept;

  /// Writes the 32-character text to `out`, which must hold `text_size` characters.
  void write(char* out) const noexcept;

  /// Returns the 32-character text.
  std::string to_string() const;

  /// Returns a well-mixed 64-bit hash.
  std::uint64_t hash() const noexcept {
    std::uint64_t h = (high_ ^ (low_ * 0x9e3779b97f4a7c15ULL)) * 0xbf58476d1ce4e5b9ULL;
    return h ^ (h >> 31);
  }

  friend constexpr bool operator==(const project_id&, const project_id&) noexcept = default;
  // NOLINTBEGIN(modernize-use-nullptr): clang-tidy 14 takes the 0 that the defaulted
  // comparison compares its result with for a null pointer.
  friend constexpr std::strong_ordering operator<=>(const project_id&,
                                                    const project_id&) noexcept = default;
  // NOLINTEND(modernize-use-nullptr)

 private:
  std::uint64_t high_ = 0;
  std::uint64_t low_ = 0;
};

/// Hash functor for unordered containers keyed by project_id.
struct project_id_hash {
  using is_avalanching = void;
  std::size_t operator()(const project_id& id) const noexcept { return id.hash(); }
};

}  // namespace taskorch

template <>
struct fmt::formatter<taskorch::project_id> : fmt::formatter<std::string_view> {
  auto format(const taskorch::project_id& id, format_context& ctx) const {
    std::array<char, taskorch::project_id::text_size> text{};
    id.write(text.data());
    return fmt::formatter<std::string_view>::format(std::string_view(text.data(), text.size()),
                                                    ctx);
  }
};
