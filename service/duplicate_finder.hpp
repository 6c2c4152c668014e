#pragma once
// duplicate_finder: finds the first job id that a request names twice, at its second
// occurrence. The ids come from the client, so the set is hashed with job_id_keyed_hash (keyed
// with a per-process secret): with the public job_id::hash() a client could send ids that all
// land in one group of the table and make every insertion probe the whole chain.
//
//   taskorch::http::detail::duplicate_finder seen(items.size());
//   for (const job_id& id : ids) if (seen.repeated(id)) return request_error::duplicate("job_id");

#include <taskorch/job_id.hpp>

#include <boost/unordered/unordered_flat_set.hpp>

#include <cstddef>

namespace taskorch::http::detail {

class duplicate_finder {
 public:
  /// Reserves room for `n` ids.
  explicit duplicate_finder(std::size_t n) { seen_.reserve(n); }

  /// Returns true when `id` was seen before; remembers it otherwise.
  bool repeated(const job_id& id) { return !seen_.insert(id).second; }

 private:
  boost::unordered_flat_set<job_id, job_id_keyed_hash> seen_;
};

}  // namespace taskorch::http::detail
