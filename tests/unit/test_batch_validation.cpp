// batch_validation: the whole-batch checks. Ids are chosen by clients; the duplicate check
// must stay fast for ids crafted to collide under the public hash.

#include "batch_validation.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace taskorch::detail {
namespace {

/// `n` distinct ids whose public hash agrees in its low `bits` bits: what a client aiming at
/// a table probed by those bits sends.
std::vector<job_id> colliding_ids(std::size_t n, unsigned bits) {
  std::mt19937_64 rng(11);
  std::vector<job_id> out;
  const std::uint64_t mask = (std::uint64_t{1} << bits) - 1;
  while (out.size() < n) {
    const job_id id = job_id::mint();
    if ((id.hash() & mask) == 0) out.push_back(id);
  }
  return out;
}

TEST(DuplicateDetector, CraftedIdsProbeNoLongerThanRandomOnes) {
  constexpr std::size_t n = 200;  // the table has 512 slots: 9 bits of the hash pick one
  const std::vector<job_id> crafted = colliding_ids(n, 9);
  // Under the fixed public hash every crafted id starts at the same slot: one long run.
  duplicate_detector<job_id_hash> public_hash;
  EXPECT_FALSE(public_hash.has_duplicate(crafted));
  EXPECT_GT(public_hash.longest_probe(), n / 2);
  // The engine's keyed hash scatters them like any ids.
  duplicate_detector<> keyed;
  EXPECT_FALSE(keyed.has_duplicate(crafted));
  EXPECT_LT(keyed.longest_probe(), 24U);
}

TEST(DuplicateDetector, FindsARepeatInSmallAndLargeBatches) {
  for (std::size_t n : {2, 16, 17, 1000}) {
    std::vector<job_id> ids;
    for (std::size_t i = 0; i < n; ++i) ids.push_back(job_id::mint());
    EXPECT_FALSE(duplicate_detector<>().has_duplicate(ids)) << n;
    ids.push_back(ids[n / 2]);
    EXPECT_TRUE(duplicate_detector<>().has_duplicate(ids)) << n;
    EXPECT_EQ(validate_batch(ids, 10'000), errc::duplicate_job_id);
  }
}

}  // namespace
}  // namespace taskorch::detail
