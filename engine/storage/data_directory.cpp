#include "data_directory.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace taskorch::storage {

namespace {

constexpr std::size_t lsn_digits = 16;
constexpr std::string_view segment_prefix = "journal-";
constexpr std::string_view segment_suffix = ".seg";
constexpr std::string_view checkpoint_prefix = "checkpoint-";
constexpr std::string_view checkpoint_suffix = ".ckpt";
constexpr std::string_view temp_suffix = ".tmp";

/// The lsn of `name` when it is `prefix`, 16 lowercase hex digits, `suffix`.
std::optional<std::uint64_t> lsn_of(std::string_view name, std::string_view prefix,
                                    std::string_view suffix) {
  if (name.size() != prefix.size() + lsn_digits + suffix.size() || !name.starts_with(prefix) ||
      !name.ends_with(suffix)) {
    return std::nullopt;
  }
  std::uint64_t lsn = 0;
  for (const char c : name.substr(prefix.size(), lsn_digits)) {
    int digit = 0;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else {
      return std::nullopt;
    }
    lsn = (lsn << 4) | static_cast<std::uint64_t>(digit);
  }
  return lsn;
}

void sort_by_lsn(std::vector<directory_listing::entry>& entries) {
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.lsn < b.lsn; });
}

}  // namespace

std::string segment_name(std::uint64_t first_lsn) {
  return fmt::format("{}{:016x}{}", segment_prefix, first_lsn, segment_suffix);
}

std::string checkpoint_name(std::uint64_t lsn) {
  return fmt::format("{}{:016x}{}", checkpoint_prefix, lsn, checkpoint_suffix);
}

std::string checkpoint_temp_name(std::uint64_t lsn) {
  return fmt::format("{}{:016x}{}", checkpoint_prefix, lsn, temp_suffix);
}

directory_listing classify(const std::vector<std::string>& names) {
  directory_listing listing;
  for (const std::string& name : names) {
    if (name == lock_name) continue;
    if (const auto lsn = lsn_of(name, segment_prefix, segment_suffix)) {
      listing.segments.push_back({*lsn, name});
    } else if (const auto ckpt = lsn_of(name, checkpoint_prefix, checkpoint_suffix)) {
      listing.checkpoints.push_back({*ckpt, name});
    } else if (lsn_of(name, checkpoint_prefix, temp_suffix)) {
      listing.temporaries.push_back(name);
    } else {
      listing.unknown.push_back(name);
    }
  }
  sort_by_lsn(listing.segments);
  sort_by_lsn(listing.checkpoints);
  std::sort(listing.temporaries.begin(), listing.temporaries.end());
  std::sort(listing.unknown.begin(), listing.unknown.end());
  return listing;
}

}  // namespace taskorch::storage
