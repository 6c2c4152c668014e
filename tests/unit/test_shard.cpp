// shard: one registry slice, driven directly (the engine holds its gate; here nothing else
// touches it). What a refused call leaves behind.

#include "shard.hpp"

#include <gtest/gtest.h>

namespace taskorch::detail {
namespace {

project_id project(int n) { return *project_id::parse(fmt::format("{:032x}", 0x1000 + n)); }

TEST(Shard, RefusedRegistrationsAddNoProject) {
  shard s;
  const task_spec first{.id = job_id::mint(), .project = project(0)};
  ASSERT_FALSE(s.insert(first));
  EXPECT_EQ(s.project_count(), 1U);
  for (int n = 1; n <= 100; ++n) {
    task_spec again = first;
    again.project = project(n);  // the same id under ever new projects: refused each time
    EXPECT_EQ(s.insert(again), errc::task_exists);
  }
  EXPECT_EQ(s.project_count(), 1U);
  EXPECT_EQ(s.size(), 1U);
}

TEST(Shard, ARegisteredFamilyTakesItsIdsAndItsNameGoesWithIt) {
  shard s;
  family_spec f{.id = job_id::mint(),
                .project = project(1),
                .name = "a name longer than the short string buffer of std::string",
                .forward = {.id = job_id::mint(), .state = task_state::deleted},
                .backward = {.id = job_id::mint(), .state = task_state::deleted}};
  const job_id parent = f.id;
  s.reserve_family(f);
  s.insert_family(std::move(f));
  EXPECT_TRUE(s.holds(parent));
  task_snapshot snap;
  ASSERT_FALSE(s.read(project(1), parent, snap).error);
  EXPECT_EQ(snap.name, "a name longer than the short string buffer of std::string");
  std::optional<family_links> ready;
  ASSERT_FALSE(s.purge(project(1), parent, ready).error);
  ASSERT_TRUE(ready);
  EXPECT_TRUE(s.holds(parent)) << "purge() only finds the family ready";
  s.erase_family(parent);
  EXPECT_FALSE(s.holds(parent));
  EXPECT_FALSE(s.holds(ready->forward));
  EXPECT_EQ(s.size(), 0U);
}

}  // namespace
}  // namespace taskorch::detail
