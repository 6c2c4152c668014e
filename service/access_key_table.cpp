#include "constant_time.hpp"
#include <taskorch/http/access_key_table.hpp>

#include <utility>

namespace taskorch::http {

void access_key_table::add(std::string id, std::string secret_key, project_id project, role r) {
  const token_grant grant{project, r};
  for (access_key& known : keys_) {
    if (known.id == id) {
      known.secret_key = std::move(secret_key);
      known.grant = grant;
      return;
    }
  }
  keys_.push_back(access_key{std::move(id), std::move(secret_key), grant});
}

const access_key* access_key_table::find(std::string_view id) const noexcept {
  const access_key* found = nullptr;
  for (const access_key& key : keys_) {
    if (detail::equal_constant_time(key.id, id) && !id.empty()) found = &key;
  }
  return found;
}

}  // namespace taskorch::http
