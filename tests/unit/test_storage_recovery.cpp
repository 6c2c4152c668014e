// recover(): a data directory back to a registry. What a torn tail, damage in the middle, a
// damaged checkpoint, a missing segment and a record that does not fit each lead to.

#include "faulty_files.hpp"
#include "storage/checkpoint_file.hpp"
#include "storage/data_directory.hpp"
#include "storage/recovery.hpp"
#include "storage_test_support.hpp"
#include "temp_directory.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>

namespace taskorch::storage {
namespace {

using namespace test;
using taskorch::testing::faulty_files;
using taskorch::testing::file_op;
using taskorch::testing::temp_directory;

/// Makes `target` what a set_state record says.
template <class Spec>
void apply_change(Spec& target, const set_state_record& set) {
  target.state = set.state;
  target.pause = set.pause;
  target.start_time = set.start_time;
  target.version = set.version;
  target.changed_at = set.changed_at;
  target.awaiting = set.awaiting;
}

/// The registry after `records`, by a plain reference model (the records must fit).
std::vector<registration> replayed(const std::vector<record>& records) {
  std::vector<registration> tasks;
  const auto find = [&tasks](const job_id& id) {
    return std::find_if(tasks.begin(), tasks.end(),
                        [&id](const registration& r) { return id_of(r) == id; });
  };
  const auto set_state = [&tasks](const set_state_record& set) {
    for (registration& reg : tasks) {
      if (auto* task = std::get_if<task_spec>(&reg); task != nullptr && task->id == set.id) {
        apply_change(*task, set);
      }
      if (auto* family = std::get_if<family_spec>(&reg)) {
        for (child_spec* child : {&family->forward, &family->backward}) {
          if (child->id == set.id) apply_change(*child, set);
        }
      }
    }
  };
  for (const record& r : records) {
    if (const auto* task = std::get_if<task_spec>(&r)) tasks.emplace_back(*task);
    if (const auto* family = std::get_if<family_spec>(&r)) tasks.emplace_back(*family);
    if (const auto* erase = std::get_if<erase_task_record>(&r)) tasks.erase(find(erase->id));
    if (const auto* erase = std::get_if<erase_family_record>(&r)) tasks.erase(find(erase->parent));
    if (const auto* set = std::get_if<set_state_record>(&r)) set_state(*set);
    if (const auto* both = std::get_if<set_family_state_record>(&r)) {
      set_state(both->forward);
      set_state(both->backward);
    }
  }
  std::sort(tasks.begin(), tasks.end(),
            [](const registration& a, const registration& b) { return id_of(a) < id_of(b); });
  return tasks;
}

/// Twelve records touching tasks and a family in every way a journal does.
std::vector<record> sample_history() {
  const task_spec a = make_task("a");
  const task_spec b = make_task();
  const task_spec c = make_paused_task();
  const family_spec f = make_family("f");
  const family_spec g = make_family("g");
  return {
      a,
      b,
      f,
      set_state_record{{.id = a.id,
                        .state = task_state::paused,
                        .pause = pause_info{pause_mode::target, task_state::incremental_transfer},
                        .version = 8,
                        .changed_at = test_start_time,
                        .awaiting = task_event::pause},
                       {}},
      set_state_record{
          {.id = f.forward.id, .state = task_state::incremental_transfer, .version = 9}, {}},
      c,
      erase_task_record{b.id},
      set_state_record{{.id = c.id, .state = task_state::stopping, .version = 10}, {}},
      g,
      set_state_record{{.id = f.backward.id, .state = task_state::stopped, .version = 11}, {}},
      erase_family_record{g.id},
      make_task("last one")};
}

std::vector<record> first(const std::vector<record>& records, std::size_t n) {
  return {records.begin(), records.begin() + static_cast<std::ptrdiff_t>(n)};
}

bool mentions(const std::vector<std::string>& notes, const std::string& text) {
  return std::any_of(notes.begin(), notes.end(),
                     [&](const std::string& n) { return n.find(text) != std::string::npos; });
}

class Recovery : public ::testing::Test {
 protected:
  std::filesystem::path at(const std::string& name) const { return dir_.path() / name; }

  void write_segment(std::uint64_t first_lsn, const std::vector<record>& records,
                     std::vector<std::size_t>* offsets = nullptr) {
    write_file(at(segment_name(first_lsn)), segment_bytes(first_lsn, records, offsets));
  }

  void write_checkpoint_of(std::uint64_t lsn, const std::vector<record>& records) {
    ASSERT_FALSE(write_checkpoint(*files_, dir_.path(), lsn, replayed(first(records, lsn)), {}));
  }

  recovered_registry recover_dir(repair mode = repair::no) {
    return recover(*files_, dir_.path(), mode);
  }

  /// The message of the corruption_error recover() throws (fails the test when it returns).
  std::string refusal(repair mode = repair::no) {
    try {
      recover_dir(mode);
    } catch (const corruption_error& e) {
      return e.what();
    }
    ADD_FAILURE() << "recover() accepted the directory";
    return {};
  }

  temp_directory dir_;
  std::shared_ptr<file_layer> files_ = posix_files();
};

TEST_F(Recovery, AMissingOrEmptyDirectoryHoldsNothing) {
  const auto missing = recover(*files_, dir_.path() / "absent", repair::yes);
  EXPECT_FALSE(missing.found);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "absent"));
  write_file(at(std::string(lock_name)), "");
  const auto empty = recover_dir(repair::yes);
  EXPECT_FALSE(empty.found);
  EXPECT_TRUE(empty.tasks.empty());
  EXPECT_TRUE(empty.notes.empty());
}

TEST_F(Recovery, ReplaysTheJournal) {
  const auto history = sample_history();
  write_segment(1, history);
  const auto r = recover_dir();
  EXPECT_TRUE(r.found);
  EXPECT_EQ(r.tasks, replayed(history));
  EXPECT_EQ(r.tasks.size(), 4U);  // a, c, f, the last one
  EXPECT_EQ(r.last_lsn, 12U);
  EXPECT_EQ(r.records_replayed, 12U);
  EXPECT_EQ(r.checkpoint_lsn, 0U);
  EXPECT_TRUE(r.notes.empty());
  EXPECT_TRUE(std::is_sorted(r.tasks.begin(), r.tasks.end(),
                             [](const auto& x, const auto& y) { return id_of(x) < id_of(y); }));
}

TEST_F(Recovery, StartsFromTheCheckpointAndSkipsWhatItCovers) {
  const auto history = sample_history();
  write_segment(1, first(history, 4));
  write_segment(5, {history.begin() + 4, history.begin() + 8});
  write_segment(9, {history.begin() + 8, history.end()});
  write_checkpoint_of(3, history);
  write_checkpoint_of(6, history);
  const auto r = recover_dir();
  EXPECT_EQ(r.checkpoint_lsn, 6U);
  EXPECT_EQ(r.records_replayed, 6U);
  EXPECT_EQ(r.last_lsn, 12U);
  EXPECT_EQ(r.tasks, replayed(history));

  // A checkpoint ahead of the journal's end.
  std::filesystem::remove(at(segment_name(9)));
  write_checkpoint_of(12, history);
  const auto ahead = recover_dir();
  EXPECT_EQ(ahead.last_lsn, 12U);
  EXPECT_EQ(ahead.records_replayed, 0U);
  EXPECT_EQ(ahead.tasks, replayed(history));
}

TEST_F(Recovery, ATornTailIsCutAtEveryOffset) {
  const auto history = sample_history();
  std::vector<std::size_t> offsets;
  const std::string whole = segment_bytes(1, history, &offsets);
  const auto segment = at(segment_name(1));
  for (std::size_t size = offsets[history.size() - 3]; size < whole.size(); ++size) {
    const auto intact = static_cast<std::size_t>(
        std::upper_bound(offsets.begin(), offsets.end(), size) - offsets.begin() - 1);
    const auto expected = replayed(first(history, intact));
    const std::string note =
        fmt::format("{}: torn record at offset {}", segment.string(), offsets[intact]);

    write_file(segment, whole.substr(0, size));
    const auto report = recover_dir(repair::no);
    ASSERT_EQ(report.tasks, expected) << "cut at " << size;
    EXPECT_EQ(report.last_lsn, intact);
    if (size == offsets[intact]) {  // between two records: nothing torn
      EXPECT_TRUE(report.notes.empty()) << report.notes.front();
      continue;
    }
    EXPECT_TRUE(mentions(report.notes, note) && mentions(report.notes, "not cut"))
        << "cut at " << size << ": " << report.notes.front();
    EXPECT_EQ(std::filesystem::file_size(segment), size);

    const auto repaired = recover_dir(repair::yes);
    ASSERT_EQ(repaired.tasks, expected) << "cut at " << size;
    EXPECT_TRUE(mentions(repaired.notes, note + " cut")) << repaired.notes.front();
    EXPECT_EQ(std::filesystem::file_size(segment), offsets[intact]);
    const auto again = recover_dir(repair::yes);
    EXPECT_EQ(again.tasks, expected);
    EXPECT_TRUE(again.notes.empty());
  }
}

TEST_F(Recovery, ABitFlippedInAMiddleRecordIsCorruption) {
  const auto history = sample_history();
  std::vector<std::size_t> offsets;
  const std::string whole = segment_bytes(1, history, &offsets);
  const auto segment = at(segment_name(1));
  for (std::size_t byte = offsets[6]; byte < offsets[7]; ++byte) {
    write_file(segment, with_flipped_bit(whole, byte, byte % 8));
    const std::string why = refusal(repair::yes);
    EXPECT_NE(why.find(fmt::format("{}: ", segment.string())), std::string::npos) << why;
    EXPECT_NE(why.find(fmt::format("at offset {}", offsets[6])), std::string::npos)
        << "flip at " << byte << ": " << why;
    EXPECT_EQ(read_file(segment), with_flipped_bit(whole, byte, byte % 8)) << "left as it was";
  }
}

TEST_F(Recovery, ABitFlippedInTheLastRecordIsATornTail) {
  const auto history = sample_history();
  std::vector<std::size_t> offsets;
  const std::string whole = segment_bytes(1, history, &offsets);
  for (std::size_t byte = offsets.back(); byte < whole.size(); ++byte) {
    write_file(at(segment_name(1)), with_flipped_bit(whole, byte, 3));
    const auto r = recover_dir(repair::yes);
    ASSERT_EQ(r.tasks, replayed(first(history, 11))) << "flip at " << byte;
    EXPECT_TRUE(mentions(r.notes, fmt::format("torn record at offset {} cut", offsets.back())));
  }
}

TEST_F(Recovery, AZeroFilledTailIsClean) {
  const auto history = sample_history();
  write_file(at(segment_name(1)), segment_bytes(1, history) + std::string(8192, '\0'));
  const auto r = recover_dir(repair::yes);
  EXPECT_EQ(r.tasks, replayed(history));
  EXPECT_TRUE(r.notes.empty());
}

TEST_F(Recovery, ATornRecordBeforeTheLastSegmentIsCorruption) {
  const auto history = sample_history();
  const std::string torn = segment_bytes(1, first(history, 6));
  write_file(at(segment_name(1)), torn.substr(0, torn.size() - 5));
  write_segment(6, {history.begin() + 5, history.end()});
  const std::string why = refusal(repair::yes);
  EXPECT_NE(why.find(segment_name(1)), std::string::npos) << why;
  EXPECT_NE(why.find("not the last segment"), std::string::npos) << why;
}

TEST_F(Recovery, ADamagedCheckpointFallsBackToAnOlderOneTheJournalContinues) {
  const auto history = sample_history();
  write_segment(1, history);
  write_checkpoint_of(4, history);
  write_checkpoint_of(9, history);
  std::string newest = read_file(at(checkpoint_name(9)));
  newest[50] ^= 1;
  write_file(at(checkpoint_name(9)), newest);
  const auto r = recover_dir();
  EXPECT_EQ(r.checkpoint_lsn, 4U);
  EXPECT_EQ(r.tasks, replayed(history));
  EXPECT_TRUE(mentions(r.notes, at(checkpoint_name(9)).string() + ": crc mismatch at offset 32"))
      << r.notes.front();

  // Every checkpoint damaged: the journal from record 1 still rebuilds the registry.
  std::filesystem::remove(at(checkpoint_name(4)));
  const auto from_scratch = recover_dir();
  EXPECT_EQ(from_scratch.checkpoint_lsn, 0U);
  EXPECT_EQ(from_scratch.tasks, replayed(history));
}

TEST_F(Recovery, ADamagedCheckpointWithoutTheJournalAfterAnOlderOneIsRefused) {
  const auto history = sample_history();
  write_segment(6, {history.begin() + 5, history.end()});
  write_checkpoint_of(3, history);
  write_checkpoint_of(8, history);
  write_file(at(checkpoint_name(8)), read_file(at(checkpoint_name(8))).substr(0, 100));
  const std::string why = refusal();
  EXPECT_NE(why.find(at(checkpoint_name(8)).string()), std::string::npos) << why;
  EXPECT_NE(why.find("offset"), std::string::npos) << why;

  // The journal goes on from the older one but ends before the damaged one's records.
  write_segment(1, first(history, 5));
  std::filesystem::remove(at(segment_name(6)));
  const std::string short_journal = refusal();
  EXPECT_NE(short_journal.find(at(checkpoint_name(8)).string()), std::string::npos);
  EXPECT_NE(short_journal.find("ends at record 5"), std::string::npos) << short_journal;
}

TEST_F(Recovery, AMissingSegmentIsRefused) {
  const auto history = sample_history();
  write_segment(1, first(history, 4));
  write_segment(9, {history.begin() + 8, history.end()});
  const std::string gap = refusal();
  EXPECT_NE(gap.find(segment_name(1)), std::string::npos) << gap;
  EXPECT_NE(gap.find(segment_name(9)), std::string::npos) << gap;

  std::filesystem::remove(at(segment_name(1)));
  write_checkpoint_of(4, history);
  const std::string missing = refusal();
  EXPECT_NE(missing.find("records 5..8 are missing"), std::string::npos) << missing;
}

TEST_F(Recovery, RecordsThatDoNotFitTheRegistryAreRefused) {
  const task_spec t = make_task();
  const family_spec f = make_family();
  task_spec clash = make_task();
  clash.id = f.backward.id;
  const std::vector<std::pair<record, std::string>> cases = {
      {t, "registers " + t.id.to_string() + ", which exists"},
      {clash, "registers " + f.backward.id.to_string() + ", which exists"},
      {set_state_record{{.id = job_id::mint()}, {}}, "which does not exist"},
      {set_state_record{{.id = f.id}, {}}, "family parent"},
      {set_family_state_record{{{.id = f.forward.id}, {}}, {{.id = t.id}, {}}},
       "which are not one family's children"},
      {erase_task_record{f.id}, "not a registered standalone task"},
      {erase_task_record{f.forward.id}, "not a registered standalone task"},
      {erase_family_record{t.id}, "not a registered family"},
      {end_record{2}, "an end record"},
      {feed_event{.position = 1, .id = t.id, .project = t.project, .version = 1},
       "a feed event, which only checkpoints hold"},
  };
  for (const auto& [bad, text] : cases) {
    std::vector<std::size_t> offsets;
    write_segment(1, {t, f, bad}, &offsets);
    const std::string why = refusal();
    EXPECT_NE(why.find(fmt::format("record 3 at {}:{}", at(segment_name(1)).string(), offsets[2])),
              std::string::npos)
        << why;
    EXPECT_NE(why.find(text), std::string::npos) << why;
  }
  // A payload that is framed well but does not decode.
  std::string segment = segment_bytes(1, {t});
  append_frame("\x09garbage", segment);
  append_frame(encoded(f), segment);
  write_file(at(segment_name(1)), segment);
  EXPECT_NE(refusal().find("record does not decode"), std::string::npos);
}

TEST_F(Recovery, RepairRemovesTemporariesAndTornSegmentCreations) {
  const auto history = sample_history();
  write_segment(1, first(history, 6));
  write_file(at(checkpoint_temp_name(4)), "half a checkpoint");
  write_file(at(segment_name(7)), std::string(12, 'j'));  // a header cut short
  write_file(at("stray"), "");

  const auto report = recover_dir(repair::no);
  EXPECT_EQ(report.tasks, replayed(first(history, 6)));
  EXPECT_TRUE(mentions(report.notes, segment_name(7)));
  EXPECT_TRUE(mentions(report.notes, "stray"));
  EXPECT_TRUE(std::filesystem::exists(at(checkpoint_temp_name(4))));
  EXPECT_TRUE(std::filesystem::exists(at(segment_name(7))));

  const auto repaired = recover_dir(repair::yes);
  EXPECT_EQ(repaired.tasks, replayed(first(history, 6)));
  EXPECT_EQ(repaired.last_lsn, 6U);
  EXPECT_TRUE(mentions(repaired.notes, checkpoint_temp_name(4) + ": an unfinished checkpoint"));
  EXPECT_FALSE(std::filesystem::exists(at(checkpoint_temp_name(4))));
  EXPECT_FALSE(std::filesystem::exists(at(segment_name(7))));
  EXPECT_TRUE(std::filesystem::exists(at("stray")));

  // A zero-filled header is a creation cut short too; a header of garbage is not.
  write_file(at(segment_name(7)), std::string(4096, '\0'));
  EXPECT_EQ(recover_dir(repair::yes).tasks, replayed(first(history, 6)));
  EXPECT_FALSE(std::filesystem::exists(at(segment_name(7))));
  write_file(at(segment_name(7)), std::string(40, 'j'));
  EXPECT_NE(refusal().find(segment_name(7) + ": not a journal segment"), std::string::npos);
  // Nor is a short one before the last segment.
  write_file(at(segment_name(7)), std::string(12, 'j'));
  write_segment(8, {});
  EXPECT_NE(refusal().find(segment_name(7)), std::string::npos);
}

TEST_F(Recovery, ASegmentWhoseHeaderDisagreesWithItsNameIsRefused) {
  write_file(at(segment_name(1)), segment_bytes(2, {make_task()}));
  EXPECT_NE(refusal().find("the header says the first record is 2"), std::string::npos);
}

TEST_F(Recovery, AFileThatCannotBeReadIsASystemError) {
  const auto history = sample_history();
  write_segment(1, history);
  faulty_files files;
  files.fail(file_op::read_all, 1, EIO);
  EXPECT_THROW(recover(files, dir_.path(), repair::no), std::system_error);
  EXPECT_EQ(recover(files, dir_.path(), repair::no).tasks, replayed(history));
}

}  // namespace
}  // namespace taskorch::storage
