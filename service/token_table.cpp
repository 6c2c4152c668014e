#include <taskorch/http/token_table.hpp>

#include <algorithm>

namespace taskorch::http {

namespace {

/// Compares in time that depends only on the lengths, not on where the texts differ.
bool equal_constant_time(std::string_view a, std::string_view b) noexcept {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(i < a.size() ? a[i] : 0);
    const auto y = static_cast<unsigned char>(i < b.size() ? b[i] : 0);
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

}  // namespace

void token_table::add(std::string token, project_id project, role r) {
  const token_grant grant{project, r};
  for (auto& [known, bound] : entries_) {
    if (known == token) {
      bound = grant;
      return;
    }
  }
  entries_.emplace_back(std::move(token), grant);
}

std::optional<token_grant> token_table::find(std::string_view token) const noexcept {
  std::optional<token_grant> found;
  for (const auto& [known, grant] : entries_) {
    if (equal_constant_time(known, token) && !token.empty()) found = grant;
  }
  return found;
}

}  // namespace taskorch::http
