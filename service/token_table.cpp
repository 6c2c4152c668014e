#include "constant_time.hpp"
#include <taskorch/http/token_table.hpp>

namespace taskorch::http {

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
    if (detail::equal_constant_time(known, token) && !token.empty()) found = grant;
  }
  return found;
}

}  // namespace taskorch::http
