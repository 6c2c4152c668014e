// The engine with a journal_store instead of a data directory (storage_options::store): every
// change reaches the store before its operation completes, a batch is one append, a store
// that refuses an append fails the journal as a failed disk does, checkpoints replace the
// groups they cover, and a new engine on the same store recovers the registry and the event
// feed (docs/storage.md). The store here keeps its bytes in memory, as the embedder's would
// in a database; the PostgreSQL one is tested in tests/cluster.

#include "engine_test_support.hpp"
#include "storage/recovery.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace taskorch {
namespace {

using namespace std::chrono_literals;
using test::kProject;
using test::make_family;
using test::make_task;

/// A journal_store in memory that can be told to refuse appends or to fail its loading.
class memory_store final : public journal_store {
 public:
  stored_journal load() override {
    std::lock_guard lock(mutex_);
    if (unreadable_) throw std::runtime_error("the memory store cannot be read");
    stored_journal out = held_;
    return out;
  }

  std::error_code append(std::uint64_t first_lsn, std::uint64_t last_lsn,
                         std::string_view records) override {
    std::lock_guard lock(mutex_);
    ++appends_;
    if (refuse_) return std::make_error_code(std::errc::connection_refused);
    const std::uint64_t previous =
        held_.groups.empty() ? held_.checkpoint_lsn : held_.groups.back().last_lsn;
    if (first_lsn != previous + 1) {
      ADD_FAILURE() << "group " << first_lsn << ".." << last_lsn << " after " << previous;
    }
    held_.groups.push_back({first_lsn, last_lsn, std::string(records)});
    return {};
  }

  std::error_code checkpoint(std::uint64_t lsn, std::string_view image) override {
    std::lock_guard lock(mutex_);
    if (refuse_) return std::make_error_code(std::errc::connection_refused);
    if (lsn <= held_.checkpoint_lsn && !held_.checkpoint.empty()) return {};
    held_.checkpoint_lsn = lsn;
    held_.checkpoint = std::string(image);
    std::erase_if(held_.groups,
                  [lsn](const stored_journal::group& g) { return g.last_lsn <= lsn; });
    ++checkpoints_;
    return {};
  }

  std::string name() const override { return "the memory store"; }

  void refuse(bool on) {
    std::lock_guard lock(mutex_);
    refuse_ = on;
  }
  void make_unreadable() {
    std::lock_guard lock(mutex_);
    unreadable_ = true;
  }
  std::size_t appends() const {
    std::lock_guard lock(mutex_);
    return appends_;
  }
  std::size_t checkpoints() const {
    std::lock_guard lock(mutex_);
    return checkpoints_;
  }
  stored_journal held() const {
    std::lock_guard lock(mutex_);
    return held_;
  }
  void replace(stored_journal s) {
    std::lock_guard lock(mutex_);
    held_ = std::move(s);
  }

 private:
  mutable std::mutex mutex_;
  stored_journal held_;
  bool refuse_ = false;
  bool unreadable_ = false;
  std::size_t appends_ = 0;
  std::size_t checkpoints_ = 0;
};

engine_options on_store(std::shared_ptr<memory_store> store) {
  engine_options o = test::small_options();
  o.storage.store = std::move(store);
  return o;
}

task_state state_of(engine& eng, const job_id& id) {
  return eng.status(kProject, {id}).at(0).state;
}

TEST(JournalStore, ChangesReachTheStoreAndANewEngineRecoversThem) {
  auto store = std::make_shared<memory_store>();
  const task_spec task = make_task(task_state::full_transfer);
  const family_spec family = make_family();
  std::vector<registration> expected;
  std::uint64_t position = 0;
  {
    engine eng(on_store(store));
    EXPECT_TRUE(eng.storage().enabled);
    EXPECT_FALSE(eng.storage().recovered);
    ASSERT_FALSE(eng.register_tasks({task, family}).at(0).error);
    const std::size_t after_registration = store->appends();
    EXPECT_GE(after_registration, 1U);
    ASSERT_FALSE(eng.pause(kProject, {{task.id, pause_mode::all}}).at(0).error);
    // Acknowledged means appended: the store holds the pause before pause() returns.
    EXPECT_GT(store->appends(), after_registration);
    ASSERT_FALSE(eng.pause(kProject, {{family.forward.id, pause_mode::target}}).at(0).error);
    expected = eng.export_snapshot();
    position = eng.feed_position();
    // Dropped without a stop's checkpoint: what a crash leaves is what the groups hold.
    store->refuse(true);
  }
  store->refuse(false);
  EXPECT_EQ(store->checkpoints(), 0U);  // the stop's checkpoint was refused
  engine eng(on_store(store));
  EXPECT_TRUE(eng.storage().recovered);
  EXPECT_GT(eng.storage().recovered_records, 0U);
  EXPECT_EQ(eng.export_snapshot(), expected);
  const task_snapshot t = eng.get(kProject, task.id);
  EXPECT_EQ(t.pause, (pause_info{pause_mode::all, task_state::full_transfer}));
  EXPECT_EQ(t.version, 1U);
  EXPECT_EQ(state_of(eng, family.forward.id), task_state::paused);
  // The feed goes on from where it was: a reader resuming after a restart misses nothing.
  EXPECT_EQ(eng.feed_position(), position);
  const feed_page page = eng.read_feed(kProject, 0, 100);
  ASSERT_FALSE(page.events.empty());
  EXPECT_EQ(page.events.back().position, position);
  EXPECT_EQ(page.events.back().cause, task_event::pause);
}

TEST(JournalStore, ABatchIsOneAppend) {
  auto store = std::make_shared<memory_store>();
  engine eng(on_store(store));
  std::vector<registration> regs;
  std::vector<pause_item> pauses;
  for (int i = 0; i < 2000; ++i) {
    task_spec t = make_task(task_state::incremental_transfer);
    pauses.push_back({t.id, pause_mode::target});
    regs.emplace_back(std::move(t));
  }
  ASSERT_FALSE(eng.register_tasks(regs).at(0).error);
  const std::size_t before = store->appends();
  const batch_result r = eng.pause(kProject, pauses);
  ASSERT_TRUE(std::none_of(r.begin(), r.end(), [](const item_result& i) { return bool(i.error); }));
  // The batch's parts run on several shards; the journal holds its group until they are all
  // appended (1 ms at most each time), so 2000 changes take a handful of appends, not 2000.
  EXPECT_LE(store->appends() - before, test::small_options().shards);
  EXPECT_EQ(eng.storage().records, 2000U + 2000U);
}

TEST(JournalStore, ARefusedAppendFailsTheBatchRollsItBackAndRefusesLaterChanges) {
  auto store = std::make_shared<memory_store>();
  const task_spec task = make_task(task_state::incremental_transfer);
  engine eng(on_store(store));
  ASSERT_FALSE(eng.register_tasks({task}).at(0).error);
  store->refuse(true);
  error_code ec;
  const batch_result r = eng.pause(kProject, {{task.id, pause_mode::target}}, ec);
  EXPECT_EQ(ec, errc::journal_failed);
  EXPECT_EQ(r.at(0).error, errc::journal_failed);
  EXPECT_TRUE(eng.storage().failed);
  EXPECT_NE(eng.storage().failure.find("writing the memory store failed"), std::string::npos)
      << eng.storage().failure;
  EXPECT_EQ(state_of(eng, task.id), task_state::incremental_transfer);  // rolled back
  EXPECT_EQ(eng.get(kProject, task.id).version, 0U);
  // Later changes are refused even once the store would take them again; queries go on.
  store->refuse(false);
  eng.resume(kProject, {task.id}, ec);
  EXPECT_EQ(ec, errc::journal_failed);
  EXPECT_EQ(eng.list(kProject).size(), 1U);
}

TEST(JournalStore, CheckpointsReplaceTheGroupsTheyCover) {
  auto store = std::make_shared<memory_store>();
  engine_options o = on_store(store);
  o.storage.checkpoint_bytes = 16 << 10;
  std::vector<registration> regs;
  std::vector<pause_item> pauses;
  std::vector<job_id> ids;
  for (int i = 0; i < 200; ++i) {
    task_spec t = make_task(task_state::incremental_transfer);
    pauses.push_back({t.id, pause_mode::target});
    ids.push_back(t.id);
    regs.emplace_back(std::move(t));
  }
  std::vector<registration> expected;
  {
    engine eng(o);
    ASSERT_FALSE(eng.register_tasks(regs).at(0).error);
    for (int round = 0; round < 20; ++round) {
      ASSERT_FALSE(eng.pause(kProject, pauses).at(0).error);
      ASSERT_FALSE(eng.resume(kProject, ids).at(0).error);
    }
    for (int i = 0; i < 500 && eng.storage().checkpoints == 0; ++i)
      std::this_thread::sleep_for(10ms);
    EXPECT_GT(eng.storage().checkpoints, 0U);
    ASSERT_FALSE(eng.pause(kProject, pauses).at(0).error);
    expected = eng.export_snapshot();
    const stored_journal held = store->held();
    EXPECT_GT(held.checkpoint_lsn, 0U);
    // Only the groups after the checkpoint are left.
    for (const auto& g : held.groups) EXPECT_GT(g.last_lsn, held.checkpoint_lsn);
    store->refuse(true);  // no stop checkpoint: recovery needs the checkpoint and the groups
  }
  store->refuse(false);
  engine eng(o);
  EXPECT_EQ(eng.export_snapshot(), expected);
  EXPECT_GT(eng.storage().recovered_records, 0U);
}

TEST(JournalStore, TheStopsCheckpointCoversEverything) {
  auto store = std::make_shared<memory_store>();
  const task_spec task = make_task(task_state::full_transfer);
  {
    engine eng(on_store(store));
    ASSERT_FALSE(eng.register_tasks({task}).at(0).error);
    ASSERT_FALSE(eng.pause(kProject, {{task.id, pause_mode::target}}).at(0).error);
  }
  EXPECT_EQ(store->checkpoints(), 1U);
  EXPECT_TRUE(store->held().groups.empty());
  engine eng(on_store(store));
  EXPECT_EQ(eng.storage().recovered_records, 0U);
  EXPECT_EQ(state_of(eng, task.id), task_state::paused);
}

/// Two groups of `held` made into one: the bytes of the first, then the frames of the second.
stored_journal::group merged(const stored_journal::group& a, const stored_journal::group& b) {
  constexpr std::size_t header = 32;
  return {a.first_lsn, b.last_lsn, a.records + b.records.substr(header)};
}

TEST(JournalStore, AGroupThatBeginsBeforeTheCheckpointIsReplayedFromTheRecordAfterIt) {
  // A checkpoint is cut between two changes, which one group can hold both sides of.
  auto store = std::make_shared<memory_store>();
  const task_spec task = make_task(task_state::full_transfer);
  stored_journal crafted;
  {
    engine eng(on_store(store));
    ASSERT_FALSE(eng.register_tasks({task}).at(0).error);
    ASSERT_FALSE(eng.pause(kProject, {{task.id, pause_mode::target}}).at(0).error);
    const stored_journal before_checkpoint = store->held();
    ASSERT_EQ(before_checkpoint.groups.size(), 2U);
    ASSERT_FALSE(eng.checkpoint());  // covers the registration and the pause
    ASSERT_FALSE(eng.resume(kProject, {task.id}).at(0).error);
    const stored_journal after = store->held();
    ASSERT_EQ(after.groups.size(), 1U);
    crafted.checkpoint_lsn = after.checkpoint_lsn;
    crafted.checkpoint = after.checkpoint;
    // The pause's group and the resume's, as one group across the checkpoint's end.
    crafted.groups.push_back(merged(before_checkpoint.groups[1], after.groups[0]));
    store->refuse(true);
  }
  store->replace(crafted);
  store->refuse(false);
  engine eng(on_store(store));
  EXPECT_EQ(state_of(eng, task.id), task_state::full_transfer);
  EXPECT_EQ(eng.get(kProject, task.id).version, 2U);
  EXPECT_EQ(eng.storage().recovered_records, 1U);  // the resume only
}

TEST(JournalStore, AGapBetweenGroupsIsRefusedNamingTheStore) {
  auto store = std::make_shared<memory_store>();
  const task_spec task = make_task(task_state::full_transfer);
  {
    engine eng(on_store(store));
    ASSERT_FALSE(eng.register_tasks({task}).at(0).error);
    ASSERT_FALSE(eng.pause(kProject, {{task.id, pause_mode::target}}).at(0).error);
    ASSERT_FALSE(eng.resume(kProject, {task.id}).at(0).error);
    store->refuse(true);
  }
  stored_journal held = store->held();
  ASSERT_EQ(held.groups.size(), 3U);
  held.groups.erase(held.groups.begin() + 1);
  store->replace(held);
  store->refuse(false);
  try {
    engine eng(on_store(store));
    FAIL() << "a journal with a gap was recovered";
  } catch (const storage::corruption_error& e) {
    EXPECT_NE(std::string(e.what()).find("the memory store"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("gap"), std::string::npos) << e.what();
  }
}

TEST(JournalStore, ADamagedGroupIsRefused) {
  auto store = std::make_shared<memory_store>();
  {
    engine eng(on_store(store));
    ASSERT_FALSE(eng.register_tasks({make_task()}).at(0).error);
    store->refuse(true);
  }
  stored_journal held = store->held();
  ASSERT_EQ(held.groups.size(), 1U);
  held.groups[0].records.back() ^= 0x40;  // a flipped bit in the last frame
  store->replace(held);
  store->refuse(false);
  EXPECT_THROW(engine{on_store(store)}, storage::corruption_error);
}

TEST(JournalStore, AStoreThatCannotBeReadFailsTheConstructor) {
  auto store = std::make_shared<memory_store>();
  store->make_unreadable();
  try {
    engine eng(on_store(store));
    FAIL() << "constructed on an unreadable store";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "the memory store cannot be read");
  }
}

TEST(JournalStore, OptionsThatDoNotGoTogetherAreRefused) {
  auto store = std::make_shared<memory_store>();
  engine_options both = on_store(store);
  both.storage.directory = "/tmp/taskorch-never-created";
  EXPECT_THROW(engine{both}, std::invalid_argument);
  engine_options interval = on_store(store);
  interval.storage.mode = durability::interval;
  EXPECT_THROW(engine{interval}, std::invalid_argument);
  EXPECT_EQ(store->appends(), 0U);
}

}  // namespace
}  // namespace taskorch
