#pragma once
// access_key_table: the access keys (AK) requests may be signed with (SDK-HMAC-SHA256,
// request_signature.hpp), each with its secret key (SK), the project it acts for and its role
// (role.hpp), as `--credential AK:SK:PROJECT_ID[:ROLE]` gives them.
//
//   taskorch::http::access_key_table keys;
//   keys.add("HPUAEXAMPLEAK7Q2ZK1T", "secret", project);          // role::operator_
//   if (const access_key* k = keys.find(ak)) ... k->secret_key, k->grant.project, k->grant.role
//
// find() compares the AK with every key in time that does not depend on where they differ.
// Secret keys are never logged or shown; a signature is checked against them by HMAC, never by
// comparing them with request text.
// Thread safety: add() before sharing; find() may then be called concurrently.

#include <taskorch/http/role.hpp>
#include <taskorch/http/token_table.hpp>
#include <taskorch/project_id.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace taskorch::http {

/// One access key.
struct access_key {
  std::string id;          ///< the AK, as signed requests name it in `Access=`
  std::string secret_key;  ///< the SK
  token_grant grant;       ///< the project and role it acts with
};

class access_key_table {
 public:
  /// Adds the access key `id` (non-empty) with `secret_key` (non-empty), bound to `project`
  /// with `r`; an AK added twice keeps its last secret and binding.
  void add(std::string id, std::string secret_key, project_id project, role r = default_role);

  /// The access key named `id`, or nullptr. The pointer stays valid until the next add().
  const access_key* find(std::string_view id) const noexcept;

  bool empty() const noexcept { return keys_.empty(); }

 private:
  std::vector<access_key> keys_;
};

}  // namespace taskorch::http
