// The engine with a data directory: what it keeps across stops, crashes (a child process
// killed with SIGKILL) and restarts, when it acknowledges, what a query waits for, and what a
// failing disk does (docs/storage.md).

#include "engine_test_support.hpp"
#include "faulty_files.hpp"
#include "temp_directory.hpp"

#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace taskorch {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using test::kOtherProject;
using test::kProject;
using test::make_family;
using test::make_task;
using testing::faulty_files;
using testing::file_op;
using testing::temp_directory;

engine_options durable(const std::filesystem::path& dir, durability mode = durability::always,
                       std::shared_ptr<file_layer> files = nullptr) {
  engine_options o = test::small_options();
  o.storage.directory = dir;
  o.storage.mode = mode;
  // Zeros written ahead are synced too: tests that fail or hold syncs count only the journal's.
  o.storage.preallocate = files == nullptr;
  o.storage.files = std::move(files);
  return o;
}

task_state state_of(engine& eng, const job_id& id) {
  return eng.status(kProject, {id}).at(0).state;
}

/// A file layer whose fdatasync waits while it is held: a sync that takes as long as a test
/// wants.
class held_syncs final : public file_layer {
 public:
  void hold() {
    std::lock_guard lock(mutex_);
    held_ = true;
  }
  void release() {
    {
      std::lock_guard lock(mutex_);
      held_ = false;
    }
    changed_.notify_all();
  }
  /// Waits until a sync is waiting.
  void await_waiting_sync() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return waiting_ > 0; });
  }

  std::error_code create(const std::filesystem::path& p,
                         std::unique_ptr<writable_file>& out) override {
    std::unique_ptr<writable_file> inner;
    if (auto ec = inner_->create(p, inner)) return ec;
    out = std::make_unique<file>(*this, std::move(inner));
    return {};
  }
  std::error_code open_existing(const std::filesystem::path& p,
                                std::unique_ptr<writable_file>& out) override {
    return inner_->open_existing(p, out);
  }
  std::error_code read_all(const std::filesystem::path& p, std::vector<std::byte>& out) override {
    return inner_->read_all(p, out);
  }
  std::error_code rename(const std::filesystem::path& a, const std::filesystem::path& b) override {
    return inner_->rename(a, b);
  }
  std::error_code remove(const std::filesystem::path& p) override { return inner_->remove(p); }
  std::error_code sync_directory(const std::filesystem::path& d) override {
    return inner_->sync_directory(d);
  }
  std::error_code list(const std::filesystem::path& d, std::vector<std::string>& n) override {
    return inner_->list(d, n);
  }

 private:
  class file final : public writable_file {
   public:
    file(held_syncs& owner, std::unique_ptr<writable_file> inner)
        : owner_(owner), inner_(std::move(inner)) {}
    std::error_code write(std::span<const std::byte> b) override { return inner_->write(b); }
    std::error_code write_at(std::uint64_t o, std::span<const std::byte> b) override {
      return inner_->write_at(o, b);
    }
    std::error_code sync_data() override {
      {
        std::unique_lock lock(owner_.mutex_);
        ++owner_.waiting_;
        owner_.changed_.notify_all();
        owner_.changed_.wait(lock, [&] { return !owner_.held_; });
        --owner_.waiting_;
      }
      return inner_->sync_data();
    }
    std::error_code sync() override { return inner_->sync(); }
    std::error_code truncate(std::uint64_t s) override { return inner_->truncate(s); }
    std::error_code reserve(std::uint64_t s) override { return inner_->reserve(s); }

   private:
    held_syncs& owner_;
    std::unique_ptr<writable_file> inner_;
  };

  std::shared_ptr<file_layer> inner_ = posix_files();
  std::mutex mutex_;
  std::condition_variable changed_;
  bool held_ = false;
  int waiting_ = 0;
};

TEST(Durability, NamesAreThoseOfTheCommandLine) {
  EXPECT_EQ(to_string(durability::always), "always");
  EXPECT_EQ(to_string(durability::interval), "interval");
  EXPECT_EQ(to_string(durability::none), "none");
  EXPECT_EQ(to_string(static_cast<durability>(3)), "");
  EXPECT_FALSE(is_valid(static_cast<durability>(3)));
  // A mode outside the enum is refused by the engine's constructor, which creates nothing.
  temp_directory dir;
  engine_options o = durable(dir.path() / "data");
  o.storage.mode = static_cast<durability>(7);
  EXPECT_THROW(engine{o}, std::invalid_argument);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "data"));
}

TEST(EngineStorage, AnEmptyDirectoryStartsAnEmptyRegistry) {
  temp_directory dir;
  engine eng(durable(dir.path() / "data"));
  EXPECT_TRUE(std::filesystem::is_directory(dir.path() / "data"));
  EXPECT_FALSE(eng.storage().recovered);
  EXPECT_TRUE(eng.storage().enabled);
  EXPECT_EQ(eng.count().total(), 0U);
}

TEST(EngineStorage, ChangesSurviveAStopAndARestart) {
  temp_directory dir;
  const task_spec task = make_task(task_state::full_transfer);
  const family_spec family = make_family();
  const task_spec purged = make_task(task_state::deleted);
  {
    engine eng(durable(dir.path()));
    ASSERT_FALSE(eng.register_tasks({task, family, purged}).at(0).error);
    ASSERT_FALSE(eng.pause(kProject, {{task.id, pause_mode::all}}).at(0).error);
    ASSERT_FALSE(eng.pause(kProject, {{family.forward.id, pause_mode::target}}).at(0).error);
    ASSERT_FALSE(eng.purge(kProject, {purged.id}).at(0).error);
  }
  engine eng(durable(dir.path()));
  EXPECT_TRUE(eng.storage().recovered);
  const task_snapshot t = eng.get(kProject, task.id);
  EXPECT_EQ(t.state, task_state::paused);
  EXPECT_EQ(t.pause, (pause_info{pause_mode::all, task_state::full_transfer}));
  EXPECT_EQ(t.version, 1U);
  EXPECT_EQ(state_of(eng, family.forward.id), task_state::paused);
  EXPECT_EQ(state_of(eng, family.backward.id), task_state::incremental_transfer);
  EXPECT_EQ(eng.get(kProject, family.id).name, "dual-active");
  EXPECT_EQ(eng.status(kProject, {purged.id}).at(0).error, errc::task_not_found);
}

/// Runs `work` on an engine with `options` in a child process, which says whether it
/// succeeded and is then killed with SIGKILL, its engine still running (only what the journal
/// stored survives); returns what it said.
bool acknowledged_then_killed(const engine_options& options,
                              const std::function<bool(engine&)>& work) {
  int acked[2];
  if (::pipe(acked) != 0) return false;
  const pid_t child = ::fork();
  if (child < 0) return false;
  if (child == 0) {
    engine eng(options);
    const char byte = work(eng) ? 'y' : 'n';
    (void)::write(acked[1], &byte, 1);
    ::pause();
    ::_exit(3);
  }
  char byte = 0;
  const bool said = ::read(acked[0], &byte, 1) == 1;
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ::close(acked[0]);
  ::close(acked[1]);
  return said && WIFSIGNALED(status) && byte == 'y';
}

TEST(EngineStorage, AnAcknowledgedChangeSurvivesAKilledProcess) {
  temp_directory dir;
  const task_spec task = make_task(task_state::incremental_transfer);
  ASSERT_TRUE(acknowledged_then_killed(durable(dir.path()), [&](engine& eng) {
    return !eng.register_tasks({task}).at(0).error &&
           !eng.pause(kProject, {{task.id, pause_mode::target}}).at(0).error;
  }));
  engine eng(durable(dir.path()));
  EXPECT_EQ(state_of(eng, task.id), task_state::paused);
  EXPECT_EQ(eng.storage().recovered_records, 2U);
}

TEST(EngineStorage, ASecondEngineOnTheDirectoryIsRefused) {
  temp_directory dir;
  engine first(durable(dir.path()));
  try {
    engine second(durable(dir.path()));
    FAIL() << "a second engine opened a locked directory";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("in use by another process"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find(dir.path().string()), std::string::npos) << e.what();
  }
}

TEST(EngineStorage, ADirectoryThatIsAFileIsRefused) {
  temp_directory dir;
  std::ofstream(dir.path() / "file") << "x";
  EXPECT_THROW(engine(durable(dir.path() / "file")), std::runtime_error);
}

TEST(EngineStorage, AJournalThatCannotStartFailsTheConstructorCleanly) {
  temp_directory dir;
  auto files = std::make_shared<faulty_files>();
  files->fail(file_op::create, 1, ENOSPC);  // the first journal segment
  EXPECT_THROW(engine(durable(dir.path(), durability::always, files)), std::system_error);
  // Nothing was left half-open: the directory is free and opens again.
  files->heal();
  engine eng(durable(dir.path(), durability::always, files));
  EXPECT_FALSE(eng.register_tasks({make_task()}).at(0).error);
}

TEST(EngineStorage, ASymlinkedDirectoryIsFollowed) {
  temp_directory dir;
  std::filesystem::create_directory(dir.path() / "real");
  std::filesystem::create_directory_symlink(dir.path() / "real", dir.path() / "link");
  const task_spec task = make_task();
  {
    engine eng(durable(dir.path() / "link"));
    ASSERT_FALSE(eng.register_tasks({task}).at(0).error);
  }
  EXPECT_TRUE(std::filesystem::is_symlink(dir.path() / "link"));
  engine eng(durable(dir.path() / "real"));
  EXPECT_EQ(eng.count().total(), 1U);
}

TEST(EngineStorage, ACommandCompletesOnlyOnceItsChangeIsSynced) {
  temp_directory dir;
  auto files = std::make_shared<held_syncs>();
  const task_spec task = make_task(task_state::incremental_transfer);
  engine eng(durable(dir.path(), durability::always, files));
  ASSERT_FALSE(eng.register_tasks({task}).at(0).error);
  files->hold();
  auto paused = eng.async_pause(kProject, {{task.id, pause_mode::target}}, asio::use_future);
  files->await_waiting_sync();
  EXPECT_EQ(paused.wait_for(100ms), std::future_status::timeout);
  // A query of the task sees the pause in memory, and so must wait for it too.
  auto status = eng.async_status(kProject, {task.id}, asio::use_future);
  EXPECT_EQ(status.wait_for(50ms), std::future_status::timeout);
  files->release();
  EXPECT_FALSE(paused.get().at(0).error);
  EXPECT_EQ(status.get().at(0).state, task_state::paused);
}

TEST(EngineStorage, AQueryOfAShardWithNothingPendingDoesNotWait) {
  temp_directory dir;
  auto files = std::make_shared<held_syncs>();
  engine_options o = durable(dir.path(), durability::always, files);
  o.shards = 1;  // every task on the one shard...
  const task_spec task = make_task(task_state::incremental_transfer);
  const task_spec other = make_task(task_state::incremental_transfer);
  engine eng(o);
  ASSERT_FALSE(eng.register_tasks({task, other}).at(0).error);
  files->hold();
  auto paused = eng.async_pause(kProject, {{task.id, pause_mode::target}}, asio::use_future);
  files->await_waiting_sync();
  // ...so the other task's query waits too: the wait is per shard, and conservative.
  auto status = eng.async_status(kProject, {other.id}, asio::use_future);
  EXPECT_EQ(status.wait_for(50ms), std::future_status::timeout);
  files->release();
  EXPECT_FALSE(paused.get().at(0).error);
  EXPECT_EQ(status.get().at(0).state, task_state::incremental_transfer);

  // With nothing pending, a query answers while a sync is held elsewhere.
  temp_directory dir2;
  auto files2 = std::make_shared<held_syncs>();
  engine quiet(durable(dir2.path(), durability::always, files2));
  ASSERT_FALSE(quiet.register_tasks({task}).at(0).error);
  files2->hold();
  EXPECT_EQ(quiet.status(kProject, {task.id}).at(0).state, task_state::incremental_transfer);
  files2->release();
}

TEST(EngineStorage, ConcurrentBatchesShareSyncs) {
  temp_directory dir;
  engine eng(durable(dir.path()));
  constexpr int threads = 8;
  constexpr int rounds = 40;
  std::vector<task_spec> tasks;
  std::vector<registration> regs;
  for (int i = 0; i < threads; ++i) {
    tasks.push_back(make_task(task_state::incremental_transfer));
    regs.emplace_back(tasks.back());
  }
  ASSERT_FALSE(eng.register_tasks(regs).at(0).error);
  const std::uint64_t syncs_before = eng.storage().syncs;
  std::vector<std::thread> callers;
  for (int t = 0; t < threads; ++t) {
    callers.emplace_back([&, t] {
      for (int r = 0; r < rounds; ++r) {
        EXPECT_FALSE(eng.pause(kProject, {{tasks[t].id, pause_mode::target}}).at(0).error);
        EXPECT_FALSE(eng.resume(kProject, {tasks[t].id}).at(0).error);
      }
    });
  }
  for (auto& c : callers) c.join();
  const storage_stats s = eng.storage();
  const std::uint64_t syncs = s.syncs - syncs_before;
  EXPECT_LT(syncs, std::uint64_t{threads} * rounds * 2) << "no two batches shared a sync";
  EXPECT_EQ(s.records, std::uint64_t{threads} * (1 + rounds * 2));
}

TEST(EngineStorage, AFailedSyncFailsTheBatchRollsItBackAndRefusesLaterChanges) {
  temp_directory dir;
  auto files = std::make_shared<faulty_files>();
  const task_spec task = make_task(task_state::incremental_transfer);
  const task_spec other = make_task(task_state::full_transfer);
  const family_spec family = make_family();
  const task_spec deleted = make_task(task_state::deleted);
  {
    engine eng(durable(dir.path(), durability::always, files));
    ASSERT_FALSE(eng.register_tasks({task, other, family, deleted}).at(0).error);
    files->fail(file_op::sync_data, files->calls(file_op::sync_data) + 1, EIO);
    error_code ec;
    const batch_result r =
        eng.pause(kProject, {{task.id, pause_mode::target}, {other.id, pause_mode::all}}, ec);
    EXPECT_EQ(ec, errc::journal_failed);
    EXPECT_EQ(r.at(0).error, errc::journal_failed);
    EXPECT_EQ(r.at(1).error, errc::journal_failed);
    EXPECT_TRUE(eng.storage().failed);
    // Rolled back: memory holds what the disk holds.
    EXPECT_EQ(state_of(eng, task.id), task_state::incremental_transfer);
    EXPECT_EQ(eng.get(kProject, task.id).version, 0U);
    EXPECT_EQ(state_of(eng, other.id), task_state::full_transfer);
    // Every later change is refused, whatever it is; queries go on.
    eng.resume(kProject, {task.id}, ec);
    EXPECT_EQ(ec, errc::journal_failed);
    eng.register_tasks({make_task()}, ec);
    EXPECT_EQ(ec, errc::journal_failed);
    eng.purge(kProject, {deleted.id}, ec);
    EXPECT_EQ(ec, errc::journal_failed);
    EXPECT_EQ(eng.count().total(), 6U);  // 3 tasks + 2 children + 1 family parent
    EXPECT_EQ(eng.list(kProject).size(), 6U);
  }
  files->heal();
  engine eng(durable(dir.path(), durability::always, files));
  EXPECT_FALSE(eng.storage().failed);
  EXPECT_EQ(state_of(eng, task.id), task_state::incremental_transfer);
  EXPECT_EQ(state_of(eng, other.id), task_state::full_transfer);
  EXPECT_FALSE(eng.pause(kProject, {{task.id, pause_mode::target}}).at(0).error);
}

TEST(EngineStorage, AFailureUnderLoadLeavesMemoryAsTheDiskAndKeepsEveryAcknowledgement) {
  temp_directory dir;
  auto files = std::make_shared<faulty_files>();
  constexpr int callers = 4;
  constexpr int tasks_each = 8;
  std::vector<std::vector<task_spec>> owned(callers);
  std::vector<registration> regs;
  for (auto& mine : owned) {
    for (int i = 0; i < tasks_each; ++i) {
      mine.push_back(make_task(task_state::incremental_transfer));
      regs.emplace_back(mine.back());
    }
  }
  // Per task, the state its last acknowledged command left (each task has one caller).
  std::vector<std::vector<task_state>> acknowledged(
      callers, std::vector<task_state>(tasks_each, task_state::incremental_transfer));
  std::vector<registration> memory;
  {
    engine eng(durable(dir.path(), durability::always, files));
    ASSERT_FALSE(eng.register_tasks(regs).at(0).error);
    std::atomic<int> refused{0};
    std::vector<std::thread> threads;
    for (int c = 0; c < callers; ++c) {
      threads.emplace_back([&, c] {
        for (int round = 0; refused.load() < callers && round < 100'000; ++round) {
          const int i = round % tasks_each;
          const job_id id = owned[c][i].id;
          const bool pause = acknowledged[c][i] != task_state::paused;
          error_code ec;
          const batch_result r = pause ? eng.pause(kProject, {{id, pause_mode::target}}, ec)
                                       : eng.resume(kProject, {id}, ec);
          if (ec == errc::journal_failed) {
            if (round % tasks_each == 0) refused.fetch_add(1);
            continue;
          }
          ASSERT_FALSE(ec);
          ASSERT_FALSE(r.at(0).error);
          acknowledged[c][i] = pause ? task_state::paused : task_state::incremental_transfer;
        }
      });
    }
    std::this_thread::sleep_for(100ms);
    files->fail(file_op::sync_data, files->calls(file_op::sync_data) + 1, EIO, true);
    for (auto& t : threads) t.join();
    EXPECT_TRUE(eng.storage().failed);
    memory = eng.export_snapshot();
    for (int c = 0; c < callers; ++c) {
      for (int i = 0; i < tasks_each; ++i) {
        EXPECT_EQ(state_of(eng, owned[c][i].id), acknowledged[c][i]) << "in memory";
      }
    }
  }
  files->heal();
  engine eng(durable(dir.path()));
  EXPECT_EQ(eng.export_snapshot(), memory);
  for (int c = 0; c < callers; ++c) {
    for (int i = 0; i < tasks_each; ++i) {
      EXPECT_EQ(state_of(eng, owned[c][i].id), acknowledged[c][i]) << "after the restart";
    }
  }
}

TEST(EngineStorage, RegistrationsAndPurgesAreRolledBackWhole) {
  temp_directory dir;
  auto files = std::make_shared<faulty_files>();
  const family_spec kept = make_family(task_state::deleted, task_state::deleted);
  const task_spec deleted = make_task(task_state::deleted);
  engine eng(durable(dir.path(), durability::always, files));
  ASSERT_FALSE(eng.register_tasks({kept, deleted}).at(0).error);
  const auto before = eng.export_snapshot();
  // One write fails: everything appended with it, or after it, is put back.
  files->fail(file_op::write, files->calls(file_op::write) + 1, ENOSPC);
  const family_spec added = make_family();
  const task_spec added_task = make_task();
  error_code ec;
  eng.register_tasks({added, added_task}, ec);
  EXPECT_EQ(ec, errc::journal_failed);
  eng.purge(kProject, {kept.id, deleted.id}, ec);
  EXPECT_EQ(ec, errc::journal_failed);
  EXPECT_EQ(eng.export_snapshot(), before);
  EXPECT_EQ(eng.status(kProject, {added.forward.id}).at(0).error, errc::task_not_found);
  EXPECT_EQ(eng.count().families, 1U);
}

TEST(EngineStorage, AFailedWriteLeavesNothingForTheNextStart) {
  temp_directory dir;
  auto files = std::make_shared<faulty_files>();
  const task_spec task = make_task(task_state::incremental_transfer);
  {
    engine eng(durable(dir.path(), durability::always, files));
    ASSERT_FALSE(eng.register_tasks({task}).at(0).error);
    // The write reaches the file, its sync fails: the bytes must be cut away again.
    files->fail(file_op::sync_data, files->calls(file_op::sync_data) + 1, EIO);
    error_code ec;
    eng.pause(kProject, {{task.id, pause_mode::target}}, ec);
    EXPECT_EQ(ec, errc::journal_failed);
  }
  engine eng(durable(dir.path()));
  EXPECT_EQ(state_of(eng, task.id), task_state::incremental_transfer);
}

TEST(EngineStorage, AFailedSyncInANewSegmentLeavesNothingForTheNextStart) {
  temp_directory dir;
  auto files = std::make_shared<faulty_files>();
  const task_spec task = make_task(task_state::incremental_transfer);
  {
    engine eng(durable(dir.path(), durability::always, files));
    ASSERT_FALSE(eng.register_tasks({task}).at(0).error);
    ASSERT_FALSE(eng.checkpoint());  // the next record starts a new segment
    // Its header's sync succeeds; the sync of the record written after it fails.
    files->fail(file_op::sync_data, files->calls(file_op::sync_data) + 2, EIO);
    error_code ec;
    eng.pause(kProject, {{task.id, pause_mode::target}}, ec);
    EXPECT_EQ(ec, errc::journal_failed);
  }
  files->heal();
  engine eng(durable(dir.path()));
  EXPECT_EQ(state_of(eng, task.id), task_state::incremental_transfer);
}

TEST(EngineStorage, CheckpointsReplaceTheJournal) {
  temp_directory dir;
  engine_options o = durable(dir.path());
  o.storage.checkpoint_bytes = 16 << 10;
  o.storage.segment_bytes = 4 << 10;
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
    ASSERT_FALSE(eng.pause(kProject, pauses).at(0).error);
    // Wait until the checkpoint thread has caught up.
    for (int i = 0; i < 500 && eng.storage().checkpoints == 0; ++i)
      std::this_thread::sleep_for(10ms);
    EXPECT_GT(eng.storage().checkpoints, 0U);
    expected = eng.export_snapshot();
  }
  std::size_t segments = 0;
  std::size_t checkpoints = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    const std::string name = e.path().filename().string();
    segments += name.ends_with(".seg") ? 1 : 0;
    checkpoints += name.ends_with(".ckpt") ? 1 : 0;
  }
  EXPECT_EQ(checkpoints, 1U);  // older ones are removed
  EXPECT_LE(segments, 2U);     // segments a checkpoint covers are removed
  engine eng(o);
  EXPECT_EQ(eng.export_snapshot(), expected);
  EXPECT_EQ(eng.storage().recovered_records, 0U);  // the stop's checkpoint covers everything
}

TEST(EngineStorage, WithoutJournalTheRegistryIsKeptAtStopOnly) {
  temp_directory dir;
  const task_spec task = make_task(task_state::incremental_transfer);
  {
    engine eng(durable(dir.path(), durability::none));
    ASSERT_FALSE(eng.register_tasks({task}).at(0).error);
    EXPECT_EQ(eng.storage().syncs, 0U);
  }
  {
    engine eng(durable(dir.path(), durability::none));
    EXPECT_EQ(state_of(eng, task.id), task_state::incremental_transfer);
  }
  // A crash loses what changed since the start.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    engine eng(durable(dir.path(), durability::none));
    eng.pause(kProject, {{task.id, pause_mode::target}});
    ::kill(::getpid(), SIGKILL);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  engine eng(durable(dir.path(), durability::none));
  EXPECT_EQ(state_of(eng, task.id), task_state::incremental_transfer);
}

TEST(EngineStorage, IntervalModeAcknowledgesAfterTheWriteAndSyncsLater) {
  temp_directory dir;
  auto files = std::make_shared<held_syncs>();
  engine_options o = durable(dir.path(), durability::interval, files);
  o.storage.sync_interval = 20ms;
  const task_spec task = make_task(task_state::incremental_transfer);
  engine eng(o);
  ASSERT_FALSE(eng.register_tasks({task}).at(0).error);
  files->hold();
  // Acknowledged while no sync can finish.
  EXPECT_FALSE(eng.pause(kProject, {{task.id, pause_mode::target}}).at(0).error);
  files->await_waiting_sync();
  files->release();
  for (int i = 0; i < 200 && eng.storage().syncs == 0; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_GT(eng.storage().syncs, 0U);
}

TEST(EngineStorage, SegmentsAreZeroFilledAheadWhileIdleAndRecoverAfterACrash) {
  temp_directory dir;
  engine_options o = durable(dir.path());
  o.storage.segment_bytes = 1 << 20;
  const task_spec task = make_task(task_state::incremental_transfer);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    engine eng(o);
    const bool ok = !eng.register_tasks({task}).at(0).error &&
                    !eng.pause(kProject, {{task.id, pause_mode::target}}).at(0).error;
    // Idle: the writer zero-fills the segment ahead of its data.
    for (int i = 0; i < 500; ++i) {
      std::uintmax_t size = 0;
      for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
        if (e.path().extension() == ".seg") size = std::max(size, e.file_size());
      }
      if (size == o.storage.segment_bytes) ::kill(::getpid(), SIGKILL);
      std::this_thread::sleep_for(10ms);
    }
    ::_exit(ok ? 3 : 4);  // never zero-filled
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status))
      << "the segment was not zero-filled: exit " << WEXITSTATUS(status);
  engine eng(durable(dir.path()));
  EXPECT_EQ(state_of(eng, task.id), task_state::paused);
  EXPECT_EQ(eng.storage().recovered_records, 2U);
  EXPECT_TRUE(eng.storage().recovery_notes.empty());  // a zero tail is no damage
}

TEST(EngineStorage, ZerosThatCannotBeWrittenOnlyTurnPreallocationOff) {
  temp_directory dir;
  auto files = std::make_shared<faulty_files>();
  engine_options o = durable(dir.path(), durability::always, files);
  o.storage.preallocate = true;
  // Write 1 is the segment's header; write 2, the first zeros the idle writer puts ahead.
  files->fail(file_op::write, 2, ENOSPC);
  const task_spec task = make_task(task_state::incremental_transfer);
  engine eng(o);
  // Wait until the idle writer has tried its zeros (a fixed sleep was too short under load).
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (files->calls(file_op::write) < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_EQ(files->calls(file_op::write), 2U);
  EXPECT_FALSE(eng.register_tasks({task}).at(0).error);
  EXPECT_FALSE(eng.pause(kProject, {{task.id, pause_mode::target}}).at(0).error);
  EXPECT_FALSE(eng.storage().failed);
  EXPECT_EQ(files->calls(file_op::write), 4U);  // header, the failed zeros, two records
}

TEST(EngineStorage, AnExplicitCheckpointKeepsEverything) {
  temp_directory dir;
  const family_spec family = make_family(task_state::paused, task_state::incremental_transfer);
  std::vector<registration> expected;
  {
    engine eng(durable(dir.path()));
    ASSERT_FALSE(eng.register_tasks({family, make_task(task_state::deleted)}).at(0).error);
    EXPECT_FALSE(eng.checkpoint());
    ASSERT_FALSE(eng.resume(kProject, {family.forward.id}).at(0).error);
    expected = eng.export_snapshot();
    EXPECT_EQ(eng.storage().checkpoints, 1U);
  }
  engine eng(durable(dir.path()));
  EXPECT_EQ(eng.export_snapshot(), expected);
}

// -- scheduled starts and family commands ---------------------------------------------------

/// Polls `id` until it is in `state`, at most for `limit`; returns its last snapshot.
task_snapshot wait_for_state(engine& eng, const job_id& id, task_state state,
                             std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  task_snapshot s = eng.get(kProject, id);
  while (s.state != state && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
    s = eng.get(kProject, id);
  }
  return s;
}

TEST(EngineStorage, AScheduledStartSurvivesARestartAndFiresThen) {
  temp_directory dir;
  const task_spec journaled = make_task(task_state::configuration);
  const task_spec checkpointed = make_task(task_state::configuration);
  const family_spec family = make_family(task_state::configuration, task_state::configuration);
  const wall_time at = wall_now() + 1500ms;
  {
    engine eng(durable(dir.path()));
    ASSERT_FALSE(eng.register_tasks({journaled, checkpointed, family}).at(0).error);
    // Start times stored before and after an explicit checkpoint; the stop's own checkpoint
    // holds them all (the journal alone: AScheduledStartInTheJournalSurvivesAKilledProcess).
    ASSERT_FALSE(eng.start_tasks(kProject, {start_item{checkpointed.id, at}}).at(0).error);
    ASSERT_FALSE(eng.checkpoint());
    const batch_result r = eng.start_tasks(
        kProject, {start_item{journaled.id, at}, start_item{family.backward.id, at + 100ms}});
    ASSERT_FALSE(r.at(0).error);
    ASSERT_FALSE(r.at(1).error);
  }
  std::mutex mutex;
  std::vector<std::pair<state_change, wall_time>> heard;
  // The checkpoint of a clean stop holds every start time.
  engine eng(durable(dir.path()));
  subscription sub = eng.subscribe([&](const state_change& c) {
    const wall_time when = wall_now();
    std::lock_guard lock(mutex);
    heard.emplace_back(c, when);
  });
  // Subscribed before the first start time: every start is heard (a very slow restart
  // cannot check that, nor that the tasks were still waiting).
  const bool in_time = wall_now() < at;
  for (const auto& [id, when] : std::vector<std::pair<job_id, wall_time>>{
           {journaled.id, at}, {checkpointed.id, at}, {family.backward.id, at + 100ms}}) {
    const bool before = wall_now() < when;
    const task_snapshot s = eng.get(kProject, id);
    if (before) {
      EXPECT_EQ(s.state, task_state::waiting_for_start);
      EXPECT_EQ(s.start_time, when) << "the same start time after the restart";
      EXPECT_EQ(s.version, 1U);
    }
  }
  for (const job_id& id : {journaled.id, checkpointed.id, family.backward.id}) {
    const task_snapshot s = wait_for_state(eng, id, task_state::starting);
    ASSERT_EQ(s.state, task_state::starting) << "the schedule did not fire after the restart";
    EXPECT_FALSE(s.start_time);
    EXPECT_EQ(s.version, 2U);
  }
  EXPECT_EQ(eng.get(kProject, family.forward.id).state, task_state::configuration);
  std::lock_guard lock(mutex);
  if (in_time) {
    EXPECT_EQ(heard.size(), 3U);
  }
  for (const auto& [c, when] : heard) {
    EXPECT_EQ(c.cause, task_event::start_due);
    EXPECT_EQ(c.from, task_state::waiting_for_start);
    EXPECT_GE(when, at) << "started before its time";
  }
}

TEST(EngineStorage, AStartAlreadyDueAtRecoveryFiresAtOnce) {
  temp_directory dir;
  const task_spec task = make_task(task_state::configuration);
  const wall_time at = wall_now() + 1s;
  {
    engine eng(durable(dir.path()));
    ASSERT_FALSE(eng.register_tasks({task}).at(0).error);
    ASSERT_FALSE(eng.start_tasks(kProject, {start_item{task.id, at}}).at(0).error);
    EXPECT_EQ(eng.get(kProject, task.id).state, task_state::waiting_for_start);
  }
  while (wall_now() <= at + 200ms) std::this_thread::sleep_for(10ms);
  engine eng(durable(dir.path()));
  const task_snapshot s = wait_for_state(eng, task.id, task_state::starting, 5s);
  EXPECT_EQ(s.state, task_state::starting) << "a start due at recovery did not fire";
  EXPECT_EQ(s.version, 2U);
  EXPECT_FALSE(s.start_time);
}

TEST(EngineStorage, AScheduledStartInTheJournalSurvivesAKilledProcess) {
  temp_directory dir;
  const task_spec due = make_task(task_state::configuration);
  const task_spec later = make_task(task_state::configuration);
  const task_spec started = make_task(task_state::waiting_for_start);
  const wall_time at = wall_now() + 1s;
  const wall_time far = wall_now() + 1h;
  // Schedules (and starts a waiting task now), then is killed: only the journal keeps them.
  ASSERT_TRUE(acknowledged_then_killed(durable(dir.path()), [&](engine& eng) {
    return !eng.register_tasks({due, later, started}).at(0).error &&
           !eng.start_tasks(kProject, {start_item{due.id, at}, start_item{later.id, far},
                                       start_item{started.id}})
                .at(0)
                .error &&
           eng.get(kProject, due.id).state == task_state::waiting_for_start;
  }));
  while (wall_now() <= at + 200ms) std::this_thread::sleep_for(10ms);

  engine eng(durable(dir.path()));
  EXPECT_EQ(eng.storage().recovered_records, 6U);  // three registrations, three starts
  const task_snapshot s = wait_for_state(eng, due.id, task_state::starting, 5s);
  EXPECT_EQ(s.state, task_state::starting) << "a start due at recovery did not fire";
  EXPECT_EQ(s.version, 2U);
  EXPECT_FALSE(s.start_time);
  const task_snapshot waiting = eng.get(kProject, later.id);
  EXPECT_EQ(waiting.state, task_state::waiting_for_start);
  EXPECT_EQ(waiting.start_time, far);
  const task_snapshot now = eng.get(kProject, started.id);
  EXPECT_EQ(now.state, task_state::starting);
  EXPECT_FALSE(now.start_time);
}

TEST(EngineStorage, AFamilyCommandSurvivesARestartForBothChildren) {
  temp_directory dir;
  const family_spec stopping = make_family(task_state::incremental_transfer, task_state::paused);
  const family_spec deleted = make_family(task_state::stopped, task_state::configuration);
  {
    engine eng(durable(dir.path()));
    ASSERT_FALSE(eng.register_tasks({stopping, deleted}).at(0).error);
    const batch_result r =
        eng.delete_tasks(kProject, {delete_item{stopping.id, delete_type::terminate},
                                    delete_item{deleted.id, delete_type::remove}});
    ASSERT_FALSE(r.at(0).error);
    ASSERT_FALSE(r.at(1).error);
  }
  engine eng(durable(dir.path()));
  EXPECT_EQ(eng.storage().recovered_records, 0U) << "the stop's checkpoint holds everything";
  for (const job_id& child : {stopping.forward.id, stopping.backward.id}) {
    const task_snapshot s = eng.get(kProject, child);
    EXPECT_EQ(s.state, task_state::stopping);
    EXPECT_FALSE(s.pause);
    EXPECT_EQ(s.version, 1U);
  }
  for (const job_id& child : {deleted.forward.id, deleted.backward.id}) {
    EXPECT_EQ(state_of(eng, child), task_state::deleted);
  }
  EXPECT_FALSE(eng.purge(kProject, {deleted.id}).at(0).error);
}

TEST(EngineStorage, AFamilyCommandWhoseSyncFailsIsRolledBackForBothChildren) {
  temp_directory dir;
  auto files = std::make_shared<faulty_files>();
  const family_spec family = make_family(task_state::full_transfer, task_state::starting);
  const task_spec waiting = make_task(task_state::configuration);
  const wall_time at = wall_now() + 300ms;
  {
    engine eng(durable(dir.path(), durability::always, files));
    ASSERT_FALSE(eng.register_tasks({family, waiting}).at(0).error);
    const auto before = eng.export_snapshot();
    files->fail(file_op::sync_data, files->calls(file_op::sync_data) + 1, EIO);
    error_code ec;
    const batch_result r =
        eng.delete_tasks(kProject, {delete_item{family.id, delete_type::force_terminate}}, ec);
    EXPECT_EQ(ec, errc::journal_failed);
    EXPECT_EQ(r.at(0).error, errc::journal_failed);
    EXPECT_EQ(eng.export_snapshot(), before) << "neither child keeps the change";
    EXPECT_EQ(state_of(eng, family.forward.id), task_state::full_transfer);
    EXPECT_EQ(state_of(eng, family.backward.id), task_state::starting);
    eng.start_tasks(kProject, {start_item{waiting.id, at}}, ec);
    EXPECT_EQ(ec, errc::journal_failed);
    EXPECT_EQ(state_of(eng, waiting.id), task_state::configuration);
  }
  files->heal();
  engine eng(durable(dir.path(), durability::always, files));
  EXPECT_EQ(state_of(eng, family.forward.id), task_state::full_transfer);
  EXPECT_EQ(state_of(eng, family.backward.id), task_state::starting);
  while (wall_now() <= at + 300ms) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(state_of(eng, waiting.id), task_state::configuration)
      << "a start that was never stored does not fire";
  EXPECT_FALSE(eng.get(kProject, waiting.id).start_time);
}

// -- the event feed -------------------------------------------------------------------------

/// Every event of `project` the feed holds after `after`, read in pages of `page` events.
std::vector<feed_event> read_all(const engine& eng, const project_id& project,
                                 std::uint64_t after = 0, std::size_t page = 1000) {
  std::vector<feed_event> out;
  for (;;) {
    const feed_page p = eng.read_feed(project, after, page);
    EXPECT_FALSE(p.gone) << "after " << after << ", oldest " << p.oldest;
    if (p.gone) break;
    out.insert(out.end(), p.events.begin(), p.events.end());
    if (p.next == after) break;
    after = p.next;
  }
  return out;
}

/// One event on one line, every field: what a process that is killed leaves for the next.
std::string describe(const feed_event& e) {
  std::ostringstream out;
  out << e.position << ' ' << e.id.to_string() << ' ' << e.project.to_string() << ' '
      << to_string(e.from) << ' ' << to_string(e.to) << ' ' << to_string(e.cause) << ' '
      << (e.mode ? to_string(*e.mode) : "-") << ' ' << (e.awaiting ? to_string(*e.awaiting) : "-")
      << ' ' << e.at.time_since_epoch().count() << ' ' << e.version << '\n';
  return out.str();
}

std::string describe(const std::vector<feed_event>& events) {
  std::string out;
  for (const feed_event& e : events) out += describe(e);
  return out;
}

/// A task's lifecycle fields, times and awaited command, on one line.
std::string describe(const task_snapshot& s) {
  std::ostringstream out;
  out << s.id.to_string() << ' ' << to_string(s.state) << ' '
      << (s.pause ? to_string(s.pause->mode) : "-") << ' ' << s.version << ' '
      << s.created_at.time_since_epoch().count() << ' ' << s.changed_at.time_since_epoch().count()
      << ' ' << (s.awaiting ? to_string(*s.awaiting) : "-") << '\n';
  return out.str();
}

std::string describe_tasks(engine& eng, const std::vector<std::pair<project_id, job_id>>& ids) {
  std::string out;
  for (const auto& [project, id] : ids) out += describe(eng.get(project, id));
  return out;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::uint64_t last_position(const std::vector<feed_event>& events) {
  return events.empty() ? 0 : events.back().position;
}

/// Tasks in two projects and the changes the feed tests make to them: pauses, resumes, a
/// worker's confirmations, a family's terminate.
struct feed_scenario {
  task_spec first = make_task(task_state::incremental_transfer);
  task_spec second = make_task(task_state::full_transfer);
  task_spec elsewhere =
      make_task(task_state::incremental_transfer, task_kind::migration, kOtherProject);
  family_spec family = make_family();

  std::vector<std::pair<project_id, job_id>> ids() const {
    return {{kProject, first.id},  {kProject, second.id},         {kOtherProject, elsewhere.id},
            {kProject, family.id}, {kProject, family.forward.id}, {kProject, family.backward.id}};
  }

  bool ok(const batch_result& r) const {
    return std::all_of(r.begin(), r.end(), [](const item_result& i) { return !i.error; });
  }

  bool confirm(engine& eng, const job_id& id) const {
    return ok(eng.worker_report(kProject, {report_item{.id = id, .event = task_event::confirm}}));
  }

  /// Registers, pauses the first task and confirms it, pauses the second (mode all).
  bool begin(engine& eng) const {
    return ok(eng.register_tasks({first, second, elsewhere, family})) &&
           ok(eng.pause(kProject, {{first.id, pause_mode::target}})) && confirm(eng, first.id) &&
           ok(eng.pause(kProject, {{second.id, pause_mode::all}}));
  }

  /// Resumes the second task (left awaiting), pauses elsewhere and the forward child,
  /// terminates the family (both children), confirms the backward child's stop.
  bool go_on(engine& eng) const {
    return ok(eng.resume(kProject, {second.id})) &&
           ok(eng.pause(kOtherProject, {{elsewhere.id, pause_mode::all}})) &&
           ok(eng.pause(kProject, {{family.forward.id, pause_mode::target}})) &&
           ok(eng.delete_tasks(kProject, {delete_item{family.id, delete_type::terminate}})) &&
           confirm(eng, family.backward.id);
  }
};

TEST(EngineFeed, TheFeedSurvivesAStopAndARestart) {
  temp_directory dir;
  const feed_scenario s;
  std::vector<feed_event> before;
  std::vector<feed_event> elsewhere_before;
  std::string tasks_before;
  std::vector<feed_event> seen;  // what a reader read before the stop
  std::uint64_t reader_at = 0;
  {
    engine eng(durable(dir.path()));
    ASSERT_TRUE(s.begin(eng));
    ASSERT_TRUE(s.go_on(eng));
    before = read_all(eng, kProject);
    elsewhere_before = read_all(eng, kOtherProject);
    // first: pause, confirm; second: pause, resume; forward: pause, stop; backward: stop,
    // confirm.
    ASSERT_EQ(before.size(), 8U) << describe(before);
    ASSERT_EQ(elsewhere_before.size(), 1U);
    for (std::size_t i = 1; i < before.size(); ++i) {
      EXPECT_LT(before[i - 1].position, before[i].position);
    }
    const feed_event& paused = before[0];
    EXPECT_EQ(paused.id, s.first.id);
    EXPECT_EQ(paused.from, task_state::incremental_transfer);
    EXPECT_EQ(paused.to, task_state::paused);
    EXPECT_EQ(paused.cause, task_event::pause);
    EXPECT_EQ(paused.mode, pause_mode::target);
    EXPECT_EQ(paused.awaiting, task_event::pause);
    EXPECT_EQ(paused.version, 1U);
    EXPECT_GT(paused.at.time_since_epoch().count(), 0);
    const feed_event& confirmed = before[1];
    EXPECT_EQ(confirmed.id, s.first.id);
    EXPECT_EQ(confirmed.cause, task_event::confirm);
    EXPECT_EQ(confirmed.from, task_state::paused);
    EXPECT_EQ(confirmed.to, task_state::paused);
    EXPECT_FALSE(confirmed.awaiting);
    EXPECT_EQ(confirmed.version, 2U);
    const task_snapshot first = eng.get(kProject, s.first.id);
    EXPECT_FALSE(first.awaiting);
    EXPECT_EQ(first.changed_at, confirmed.at);
    EXPECT_EQ(eng.get(kProject, s.second.id).awaiting, task_event::resume);
    EXPECT_EQ(eng.get(kProject, s.family.forward.id).awaiting, task_event::stop);
    EXPECT_FALSE(eng.get(kProject, s.family.backward.id).awaiting);
    tasks_before = describe_tasks(eng, s.ids());
    // A reader has read three events.
    const feed_page page = eng.read_feed(kProject, 0, 3);
    ASSERT_EQ(page.events.size(), 3U);
    seen = page.events;
    reader_at = page.next;
  }
  engine eng(durable(dir.path()));
  EXPECT_EQ(read_all(eng, kProject), before) << "the same events, positions and fields";
  EXPECT_EQ(read_all(eng, kOtherProject), elsewhere_before);
  EXPECT_EQ(describe_tasks(eng, s.ids()), tasks_before) << "times and awaited commands";
  // The reader goes on where it stopped: no gap, no duplicate.
  std::vector<feed_event> resumed = seen;
  const std::vector<feed_event> rest = read_all(eng, kProject, reader_at);
  resumed.insert(resumed.end(), rest.begin(), rest.end());
  EXPECT_EQ(resumed, before);
  // A change after the restart takes a position past every one before it.
  const std::uint64_t last = std::max(last_position(before), last_position(elsewhere_before));
  ASSERT_TRUE(s.ok(eng.resume(kProject, {s.first.id})));
  const std::vector<feed_event> after = read_all(eng, kProject, last_position(before));
  ASSERT_EQ(after.size(), 1U);
  EXPECT_GT(after[0].position, last);
  EXPECT_EQ(after[0].cause, task_event::resume);
  EXPECT_EQ(after[0].awaiting, task_event::resume);
  EXPECT_EQ(read_all(eng, kProject, rest.empty() ? reader_at : last_position(rest)), after);
  EXPECT_GE(eng.feed_position(), after[0].position);
}

TEST(EngineFeed, TheFeedSurvivesACheckpointAndAKilledProcess) {
  temp_directory dir;
  const std::filesystem::path data = dir.path() / "data";
  const feed_scenario s;
  // The killed process leaves what it read and what it saw; the next one must see the same.
  ASSERT_TRUE(acknowledged_then_killed(durable(data), [&](engine& eng) {
    if (!s.begin(eng) || eng.checkpoint() || !s.go_on(eng)) return false;
    const feed_page page = eng.read_feed(kProject, 0, 4);
    std::ofstream(dir.path() / "feed") << describe(read_all(eng, kProject));
    std::ofstream(dir.path() / "elsewhere") << describe(read_all(eng, kOtherProject));
    std::ofstream(dir.path() / "tasks") << describe_tasks(eng, s.ids());
    std::ofstream(dir.path() / "reader") << page.next << ' ' << page.events.size();
    return page.events.size() == 4;
  }));
  engine eng(durable(data));
  EXPECT_GT(eng.storage().recovered_records, 0U) << "the changes after the checkpoint";
  const std::string before = read_text(dir.path() / "feed");
  const std::vector<feed_event> after = read_all(eng, kProject);
  EXPECT_EQ(after.size(), 8U);
  EXPECT_EQ(describe(after), before);
  EXPECT_EQ(describe(read_all(eng, kOtherProject)), read_text(dir.path() / "elsewhere"));
  EXPECT_EQ(describe_tasks(eng, s.ids()), read_text(dir.path() / "tasks"));
  // The reader resumes from where it stopped.
  std::uint64_t reader_at = 0;
  std::size_t read = 0;
  std::istringstream(read_text(dir.path() / "reader")) >> reader_at >> read;
  ASSERT_EQ(read, 4U);
  ASSERT_LE(read, after.size());
  const std::vector<feed_event> rest = read_all(eng, kProject, reader_at);
  EXPECT_EQ(rest, std::vector<feed_event>(after.begin() + static_cast<std::ptrdiff_t>(read),
                                          after.end()));
  // New changes take larger positions than any before.
  const std::uint64_t last =
      std::max(last_position(after), last_position(read_all(eng, kOtherProject)));
  ASSERT_TRUE(s.ok(eng.resume(kProject, {s.first.id})));
  ASSERT_TRUE(s.ok(eng.resume(kOtherProject, {s.elsewhere.id})));
  const std::vector<feed_event> newer = read_all(eng, kProject, last_position(after));
  ASSERT_EQ(newer.size(), 1U);
  EXPECT_GT(newer[0].position, last);
  const std::vector<feed_event> newer_elsewhere = read_all(eng, kOtherProject, last);
  ASSERT_EQ(newer_elsewhere.size(), 1U);
  EXPECT_GT(newer_elsewhere[0].position, newer[0].position);
}

TEST(EngineFeed, AnEventStoredWhileACheckpointIsTakenSurvives) {
  // A change whose sync is still running when a checkpoint takes its copy: the checkpoint
  // covers its record, so its event must be in the checkpoint too.
  temp_directory dir;
  auto files = std::make_shared<held_syncs>();
  const task_spec task = make_task(task_state::incremental_transfer);
  std::vector<feed_event> before;
  {
    engine eng(durable(dir.path(), durability::always, files));
    ASSERT_FALSE(eng.register_tasks({task}).at(0).error);
    files->hold();
    auto paused = eng.async_pause(kProject, {{task.id, pause_mode::target}}, asio::use_future);
    files->await_waiting_sync();
    std::thread checkpointer([&] { EXPECT_FALSE(eng.checkpoint()); });
    std::this_thread::sleep_for(200ms);  // it has taken its copy, and waits for the sync
    files->release();
    EXPECT_FALSE(paused.get().at(0).error);
    checkpointer.join();
    before = read_all(eng, kProject);
    ASSERT_EQ(before.size(), 1U);
  }
  engine eng(durable(dir.path()));
  EXPECT_EQ(eng.get(kProject, task.id).state, task_state::paused);
  EXPECT_EQ(read_all(eng, kProject), before);
}

TEST(EngineFeed, AReaderPastARolledBackChangeMissesNothingAfterARestart) {
  // A change whose sync fails is rolled back, and a reader reads the feed after it. After a
  // restart, the next change must not take a position the reader has passed.
  temp_directory dir;
  auto files = std::make_shared<faulty_files>();
  const task_spec first = make_task(task_state::incremental_transfer);
  const task_spec second = make_task(task_state::incremental_transfer);
  std::uint64_t reader_at = 0;
  {
    engine eng(durable(dir.path(), durability::always, files));
    ASSERT_FALSE(eng.register_tasks({first, second}).at(0).error);
    ASSERT_FALSE(eng.pause(kProject, {{first.id, pause_mode::target}}).at(0).error);
    files->fail(file_op::sync_data, files->calls(file_op::sync_data) + 1, EIO);
    error_code ec;
    eng.pause(kProject, {{second.id, pause_mode::target}}, ec);
    ASSERT_EQ(ec, errc::journal_failed);
    const feed_page page = eng.read_feed(kProject, 0, 100);
    ASSERT_EQ(page.events.size(), 1U);
    reader_at = page.next;
  }
  files->heal();
  engine eng(durable(dir.path(), durability::always, files));
  ASSERT_FALSE(eng.resume(kProject, {first.id}).at(0).error);
  const feed_page page = eng.read_feed(kProject, reader_at, 100);
  EXPECT_FALSE(page.gone);
  ASSERT_EQ(page.events.size(), 1U) << "the reader at " << reader_at << " missed the resume";
  EXPECT_EQ(page.events[0].cause, task_event::resume);
}

TEST(EngineFeed, WithoutJournalTheFeedIsKeptAtStop) {
  temp_directory dir;
  const task_spec task = make_task(task_state::incremental_transfer);
  std::vector<feed_event> before;
  {
    engine eng(durable(dir.path(), durability::none));
    ASSERT_FALSE(eng.register_tasks({task}).at(0).error);
    ASSERT_FALSE(eng.pause(kProject, {{task.id, pause_mode::target}}).at(0).error);
    before = read_all(eng, kProject);
    ASSERT_EQ(before.size(), 1U);
  }
  engine eng(durable(dir.path(), durability::none));
  EXPECT_EQ(read_all(eng, kProject), before);
}

}  // namespace
}  // namespace taskorch
