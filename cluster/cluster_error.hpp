#pragma once
// cluster_error: the errors taskorch::cluster's journal store returns (pg_journal_store.hpp),
// as std::error_code, the type of the engine's journal_store interface (docs/scale-out.md,
// "Fencing"). A store of a node that lost its partition says `fenced`; a database that
// refused a write or could not be reached says `database_unavailable`.
//
//   std::error_code ec = store.append(first, last, records);
//   if (ec == cluster_errc::fenced) { /* another node owns the partition now: let it go */ }

#include <system_error>
#include <type_traits>

namespace taskorch::cluster {

enum class cluster_errc {
  fenced = 1,            ///< another node owns the partition now: nothing was written
  database_unavailable,  ///< PostgreSQL refused the write or could not be reached
};

/// The category of cluster_errc, named "taskorch.cluster".
const std::error_category& cluster_category() noexcept;

/// Makes an error_code of cluster_category().
inline std::error_code make_error_code(cluster_errc e) noexcept {
  return {static_cast<int>(e), cluster_category()};
}

}  // namespace taskorch::cluster

template <>
struct std::is_error_code_enum<taskorch::cluster::cluster_errc> : std::true_type {};
