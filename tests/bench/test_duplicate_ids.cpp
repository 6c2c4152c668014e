// The id sets of the benchmark's `duplicates` cases: random ids are distinct and repeatable;
// crafted ids are distinct, valid, and share job_id::hash() but for its top bit, which splits
// them about evenly (as the engine's two shards would).
#include "duplicate_ids.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace taskorch::bench {
namespace {

constexpr std::uint64_t top_bit = std::uint64_t{1} << 63;

bool distinct(std::vector<job_id> ids) {
  std::sort(ids.begin(), ids.end());
  return std::adjacent_find(ids.begin(), ids.end()) == ids.end();
}

TEST(DuplicateIds, RandomIdsAreDistinctRepeatableAndShapedLikeDrsIds) {
  const std::vector<job_id> ids = random_ids(2000, 7);
  ASSERT_EQ(ids.size(), 2000U);
  EXPECT_TRUE(distinct(ids));
  EXPECT_EQ(ids, random_ids(2000, 7));
  for (const job_id& id : ids) EXPECT_EQ(id.to_string().substr(31, 2), "jb");
}

TEST(DuplicateIds, CraftedIdsShareTheHashButForTheTopBit) {
  const std::vector<job_id> ids = colliding_ids(2000, 7);
  ASSERT_EQ(ids.size(), 2000U);
  EXPECT_TRUE(distinct(ids));
  EXPECT_EQ(ids, colliding_ids(2000, 7));
  std::size_t top = 0;
  for (const job_id& id : ids) {
    EXPECT_EQ(id.hash() & ~top_bit, colliding_hash) << id.to_string();
    const std::optional<job_id> again = job_id::parse(id.to_string());
    ASSERT_TRUE(again.has_value()) << id.to_string();
    EXPECT_EQ(*again, id);
    top += (id.hash() & top_bit) != 0 ? 1 : 0;
  }
  EXPECT_GT(top, 800U);
  EXPECT_LT(top, 1200U);
}

}  // namespace
}  // namespace taskorch::bench
