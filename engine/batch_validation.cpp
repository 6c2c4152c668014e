#include "batch_validation.hpp"

namespace taskorch::detail {

error_code validate_registrations(const std::vector<registration>& items) {
  boost::unordered_flat_set<job_id, job_id_keyed_hash> seen;
  seen.reserve(items.size());
  for (const registration& r : items) {
    if (error_code ec = validate(r)) return ec;
    if (!seen.insert(id_of(r)).second) return errc::duplicate_job_id;
    if (const auto* family = std::get_if<family_spec>(&r)) {
      if (!seen.insert(family->forward.id).second || !seen.insert(family->backward.id).second) {
        return errc::duplicate_job_id;
      }
    }
  }
  return {};
}

}  // namespace taskorch::detail
