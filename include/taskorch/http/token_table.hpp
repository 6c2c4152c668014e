#pragma once
// token_table: which project each API token acts for.
//
//   taskorch::http::token_table tokens;
//   tokens.add("s3cret", project);
//   if (auto p = tokens.find(header_value)) ...
//
// Lookups compare the candidate with every token in constant time per byte, so the time
// taken does not tell how much of a token was right. Tokens are never logged.
// Thread safety: add() before sharing; find() may then be called concurrently.

#include <taskorch/project_id.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace taskorch::http {

class token_table {
 public:
  /// Binds `token` (non-empty) to `project`; a token added twice keeps its last project.
  void add(std::string token, project_id project);

  /// Returns the project bound to `token`, if any.
  std::optional<project_id> find(std::string_view token) const noexcept;

  bool empty() const noexcept { return entries_.empty(); }

 private:
  std::vector<std::pair<std::string, project_id>> entries_;
};

}  // namespace taskorch::http
