#pragma once
// token_table: which project each API token acts for, and with which role (role.hpp).
//
//   taskorch::http::token_table tokens;
//   tokens.add("s3cret", project);                 // role::operator_, the default
//   tokens.add("watcher", project, role::reader);
//   if (auto grant = tokens.find(header_value)) ... grant->project, grant->role
//
// Lookups compare the candidate with every token in constant time per byte, so the time
// taken does not tell how much of a token was right. Tokens are never logged.
// Thread safety: add() before sharing; find() may then be called concurrently.

#include <taskorch/http/role.hpp>
#include <taskorch/project_id.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace taskorch::http {

/// What a token is bound to.
struct token_grant {
  project_id project;
  http::role role = default_role;

  friend bool operator==(const token_grant&, const token_grant&) = default;
};

class token_table {
 public:
  /// Binds `token` (non-empty) to `project` with `r`; a token added twice keeps its last
  /// binding.
  void add(std::string token, project_id project, role r = default_role);

  /// Returns what `token` is bound to, if anything.
  std::optional<token_grant> find(std::string_view token) const noexcept;

  bool empty() const noexcept { return entries_.empty(); }

 private:
  std::vector<std::pair<std::string, token_grant>> entries_;
};

}  // namespace taskorch::http
