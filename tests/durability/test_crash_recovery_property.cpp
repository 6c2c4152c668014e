// Property: a crash at any record boundary loses nothing before it. Random command sequences
// (the model-based commands of tests/property, checked against the reference model as they
// run) drive an engine journaling to a data directory, sometimes taking a checkpoint on the
// way. After each command the test notes how many journal records are stored and what the
// model holds. Then a copy of the directory is cut as a crash would leave it: after a random
// command's last record (at or after the last checkpoint), sometimes with a torn piece of the
// next record behind it. An engine opened on the copy must hold exactly the model's
// registry after that command.
//
// RC_PARAMS replays a failure, as for the property tests (tests/property).

#include "model_commands.hpp"
#include "storage/data_directory.hpp"
#include "storage/frame.hpp"
#include "temp_directory.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

namespace taskorch::property {
namespace {

/// The registry after a command, and the journal records stored by then.
struct point {
  std::uint64_t records = 0;
  std::vector<registration> registry;
  bool checkpointed = false;  ///< a checkpoint was taken right after this command
};

/// The points of the sequence running now. Not held by the commands: rapidcheck runs the
/// same command objects again while it shrinks a failure, each time in a new sequence.
std::vector<point>* noted_points = nullptr;

/// Runs a command, then notes a point (and sometimes takes a checkpoint first).
struct noted : command {
  noted(command_ptr c, bool checkpoint) : inner(std::move(c)), take_checkpoint(checkpoint) {}
  void checkPreconditions(const model& m) const override { inner->checkPreconditions(m); }
  void apply(model& m) const override { inner->apply(m); }
  void run(const model& m, harness& sut) const override {
    inner->run(m, sut);
    if (take_checkpoint) RC_ASSERT(!sut.eng.checkpoint());
    noted_points->push_back({sut.eng.storage().records, sut.model.export_all(), take_checkpoint});
  }
  void show(std::ostream& os) const override {
    inner->show(os);
    if (take_checkpoint) os << " (then a checkpoint)";
  }
  command_ptr inner;
  bool take_checkpoint;
};

std::vector<char> read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Cuts the journal of `dir` after its record number `keep` (counting records as the
/// journal numbers them), plus `torn` bytes of the next one when it is in the same segment.
void crash_after(const std::filesystem::path& dir, std::uint64_t keep, std::size_t torn) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    names.push_back(e.path().filename().string());
  }
  const storage::directory_listing listing = storage::classify(names);
  bool cut = false;
  for (const auto& segment : listing.segments) {
    const std::filesystem::path path = dir / segment.name;
    if (cut) {
      std::filesystem::remove(path);
      continue;
    }
    const std::vector<char> bytes = read_file(path);
    const auto data = std::as_bytes(std::span(bytes));
    std::uint64_t lsn = segment.lsn;
    std::uint64_t end = storage::header_size;
    std::uint64_t next_length = 0;
    storage::scan_frames(data, storage::header_size,
                         [&](std::span<const std::byte> payload, std::uint64_t offset) {
                           if (lsn > keep) {
                             next_length = storage::frame_overhead + payload.size();
                             return false;
                           }
                           end = offset + storage::frame_overhead + payload.size();
                           ++lsn;
                           return true;
                         });
    if (lsn > keep) {
      cut = true;
      const std::uint64_t extra =
          next_length == 0 ? 0 : std::min<std::uint64_t>(torn, next_length - 1);
      std::filesystem::resize_file(path, end + extra);
    }
  }
}

RC_GTEST_PROP(CrashRecovery, ACrashAtARecordBoundaryRecoversTheModelAtThatPoint, ()) {
  testing::temp_directory dir;
  engine_options options = test_options();
  options.storage.directory = dir.path() / "live";
  options.storage.segment_bytes = 2048;                       // several segments
  options.storage.checkpoint_bytes = std::uint64_t{1} << 40;  // checkpoints only when asked
  std::vector<point> points{{0, {}, false}};
  noted_points = &points;
  {
    harness sut(options);
    // Weighted towards what changes the registry: starts (scheduled far ahead, so that the
    // schedule never fires) and worker events move tasks, terminate and delete (families
    // through their parents, both children at once) reach deleted, purges follow.
    const auto next = generate_command(command_mix{.registration = 4,
                                                   .pause = 3,
                                                   .resume = 2,
                                                   .report = 6,
                                                   .purge = 5,
                                                   .status = 1,
                                                   .get = 1,
                                                   .observe = 0,
                                                   .rejected = 1,
                                                   .start = 4,
                                                   .remove = 5});
    rc::state::check(model{}, sut, [&](const model& m) {
      return rc::gen::map(
          rc::gen::pair(next(m), rc::gen::weightedElement<bool>({{39, false}, {1, true}})),
          [&](const std::pair<command_ptr, bool>& c) -> command_ptr {
            return std::make_shared<const noted>(c.first, c.second);
          });
    });
    // Crash: copy the files as they are on disk now, before stop() checkpoints.
    std::filesystem::copy(dir.path() / "live", dir.path() / "crashed");
  }
  std::size_t first = 0;
  for (std::size_t i = 0; i < points.size(); ++i) {
    if (points[i].checkpointed) first = i;
  }
  const std::size_t at = *rc::gen::inRange(first, points.size());
  const std::size_t torn = *rc::gen::inRange<std::size_t>(0, 40);
  RC_TAG(at == points.size() - 1 ? "crash after the last command" : "crash mid-sequence");
  RC_CLASSIFY(first > 0, "after a checkpoint");
  bool purged = false;
  for (std::size_t i = first + 1; i <= at; ++i) {
    purged = purged || points[i].registry.size() < points[i - 1].registry.size();
  }
  RC_CLASSIFY(purged, "a purge to replay");
  crash_after(dir.path() / "crashed", points[at].records, torn);
  engine_options reopened = test_options();
  reopened.storage.directory = dir.path() / "crashed";
  engine recovered(reopened);
  const std::string diff = diff_registrations(points[at].registry, recovered.export_snapshot());
  if (!diff.empty()) {
    RC_FAIL("crash after command " + std::to_string(at) + " (record " +
            std::to_string(points[at].records) + ", torn " + std::to_string(torn) + "): " + diff);
  }
}

/// Counts the journal records of `dir`, as crash_after() numbers them.
std::uint64_t journal_records(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    names.push_back(e.path().filename().string());
  }
  std::uint64_t last = 0;
  for (const auto& segment : storage::classify(names).segments) {
    const std::vector<char> bytes = read_file(dir / segment.name);
    std::uint64_t lsn = segment.lsn;
    storage::scan_frames(std::as_bytes(std::span(bytes)), storage::header_size,
                         [&](std::span<const std::byte>, std::uint64_t) {
                           last = lsn++;
                           return true;
                         });
  }
  return last;
}

// A family command changes both children at one instant, or neither (docs/behaviour.md): a
// crash anywhere in what it stored must recover the family either as it was before the
// command or as it is after it, never with one child changed.
TEST(CrashRecovery, AFamilyCommandIsRecoveredForBothChildrenOrNeither) {
  const project_id project = project_a();
  const std::vector<std::pair<delete_type, std::pair<task_state, task_state>>> cases{
      {delete_type::terminate, {task_state::incremental_transfer, task_state::paused}},
      {delete_type::force_terminate, {task_state::starting, task_state::stopping}},
      {delete_type::remove, {task_state::stopped, task_state::configuration}},
  };
  for (const auto& [type, states] : cases) {
    testing::temp_directory dir;
    engine_options options = test_options();
    options.storage.directory = dir.path() / "live";
    options.storage.checkpoint_bytes = std::uint64_t{1} << 40;
    family_spec f{.id = id_pool()[0], .project = project, .name = "family"};
    f.forward = {.id = id_pool()[1], .state = states.first};
    f.backward = {.id = id_pool()[2], .state = states.second};
    if (states.second == task_state::paused) {
      f.backward.pause = pause_info{pause_mode::all, task_state::full_transfer};
    }
    std::uint64_t registered = 0;
    std::uint64_t changed = 0;
    std::vector<registration> before;
    std::vector<registration> after;
    {
      engine eng(options);
      ASSERT_FALSE(eng.register_tasks({f}).at(0).error);
      registered = eng.storage().records;
      before = eng.export_snapshot();
      ASSERT_FALSE(eng.delete_tasks(project, {delete_item{f.id, type}}).at(0).error);
      changed = eng.storage().records;
      after = eng.export_snapshot();
      std::filesystem::copy(dir.path() / "live", dir.path() / "stored");
    }
    ASSERT_EQ(journal_records(dir.path() / "stored"), changed);
    for (std::uint64_t keep = registered; keep <= changed; ++keep) {
      for (const std::size_t torn : {std::size_t{0}, std::size_t{30}}) {
        const std::filesystem::path crashed =
            dir.path() / ("crashed-" + std::to_string(keep) + "-" + std::to_string(torn));
        std::filesystem::copy(dir.path() / "stored", crashed);
        crash_after(crashed, keep, torn);
        engine_options reopened = test_options();
        reopened.storage.directory = crashed;
        engine recovered(reopened);
        const std::vector<registration> got = recovered.export_snapshot();
        EXPECT_TRUE(got == before || got == after)
            << to_string(type) << ", crash after record " << keep << " of " << changed << " (torn "
            << torn << "): one child changed without the other\n"
            << diff_registrations(after, got);
      }
    }
  }
}

}  // namespace
}  // namespace taskorch::property
