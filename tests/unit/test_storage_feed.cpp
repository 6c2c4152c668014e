// Format 3: a task's times and awaited command, the notes of its changes, the feed's events
// in checkpoints, and what recovery rebuilds of the feed; files of formats 1 and 2 still read.

#include "faulty_files.hpp"
#include "storage/checkpoint_file.hpp"
#include "storage/crc32c.hpp"
#include "storage/data_directory.hpp"
#include "storage/recovery.hpp"
#include "storage_test_support.hpp"
#include "temp_directory.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string_view>
#include <tuple>

namespace taskorch::storage {
namespace {

using namespace test;
using namespace std::chrono_literals;
using taskorch::testing::faulty_files;
using taskorch::testing::file_op;
using taskorch::testing::temp_directory;

project_id other_project() { return *project_id::parse("0123456789abcdef0123456789abcdef"); }

wall_time at_ms(std::int64_t n) { return wall_time(std::chrono::milliseconds(n)); }

constexpr std::uint64_t past_the_clock = std::uint64_t{1} << 63;

bool decodes(const std::string& bytes, std::uint32_t version = format_version) {
  return decode(bytes_of(bytes), version).has_value();
}

std::string with_byte(std::string bytes, std::size_t at, int value) {
  bytes[at] = static_cast<char>(value);
  return bytes;
}

std::string with_u64(std::string bytes, std::size_t at, std::uint64_t value) {
  for (std::size_t i = 0; i < 8; ++i) bytes[at + i] = static_cast<char>(value >> (8 * i));
  return bytes;
}

/// The commands a task may await a worker's confirmation of, by the table.
std::vector<task_event> awaited_commands() {
  std::vector<task_event> out;
  for (const task_event e : all_task_events) {
    if (awaits_worker(e)) out.push_back(e);
  }
  return out;
}

/// True for an awaited-command byte a record may hold: none, or a command awaiting a worker.
bool valid_awaiting_byte(int b) {
  return b == 0xFF || (b < static_cast<int>(task_event_count) &&
                       awaits_worker(static_cast<task_event>(static_cast<std::uint8_t>(b))));
}

feed_event paused_event() {
  return {.position = 0x0102030405060708,
          .id = job_id::mint(),
          .project = test_project(),
          .from = task_state::incremental_transfer,
          .to = task_state::paused,
          .cause = task_event::pause,
          .mode = pause_mode::all,
          .awaiting = task_event::pause,
          .at = test_start_time,
          .version = 9};
}

feed_event running_event() {
  return {.position = 3,
          .id = job_id::mint(),
          .project = other_project(),
          .from = task_state::paused,
          .to = task_state::incremental_transfer,
          .cause = task_event::resume,
          .awaiting = std::nullopt,
          .at = test_start_time + 1s,
          .version = 10};
}

// --- the old layout, written by hand -------------------------------------------------------

/// Little-endian bytes of the layout of formats 1 and 2 (the encoder writes format 3 only).
struct old_bytes {
  std::string out;
  old_bytes& u8(int v) {
    out.push_back(static_cast<char>(v));
    return *this;
  }
  old_bytes& u16(std::size_t v) {
    u8(static_cast<int>(v & 0xFFU));
    return u8(static_cast<int>((v >> 8) & 0xFFU));
  }
  old_bytes& u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) u8(static_cast<int>((v >> (8 * i)) & 0xFFU));
    return *this;
  }
  old_bytes& text(std::string_view t) {
    out.append(t);
    return *this;
  }
  /// u8 state, u8 mode, u8 paused from, u64 version, a waiting task's u64 start time.
  template <class Spec>
  old_bytes& state(const Spec& s) {
    const bool paused = s.state == task_state::paused;
    u8(static_cast<int>(s.state));
    u8(paused ? static_cast<int>(s.pause->mode) : 0);
    u8(paused ? static_cast<int>(s.pause->from) : 0);
    u64(s.version);
    if (s.state == task_state::waiting_for_start) {
      u64(static_cast<std::uint64_t>(s.start_time->time_since_epoch().count()));
    }
    return *this;
  }
  old_bytes& child(const child_spec& c) { return text(c.id.to_string()).state(c); }
};

std::string old_put_task(const task_spec& t) {
  return old_bytes{}
      .u8(1)
      .text(t.id.to_string())
      .text(t.project.to_string())
      .u8(static_cast<int>(t.kind))
      .state(t)
      .u16(t.name.size())
      .text(t.name)
      .out;
}

std::string old_put_family(const family_spec& f) {
  return old_bytes{}
      .u8(2)
      .text(f.id.to_string())
      .text(f.project.to_string())
      .u16(f.name.size())
      .text(f.name)
      .child(f.forward)
      .child(f.backward)
      .out;
}

std::string old_set_state(const child_spec& c) { return old_bytes{}.u8(3).child(c).out; }

std::string old_set_family_state(const child_spec& forward, const child_spec& backward) {
  return old_bytes{}.u8(7).child(forward).child(backward).out;
}

/// `spec` without what format 3 added: what a format 1 or 2 record of it decodes to.
template <class Spec>
Spec without_times(Spec spec) {
  if constexpr (std::is_same_v<Spec, family_spec>) {
    spec.created_at = {};
    spec.forward = without_times(spec.forward);
    spec.backward = without_times(spec.backward);
  } else {
    if constexpr (std::is_same_v<Spec, task_spec>) spec.created_at = {};
    spec.changed_at = {};
    spec.awaiting.reset();
  }
  return spec;
}

/// A header of `type` at `lsn` saying format `version`.
std::string header_of(file_type type, std::uint64_t lsn, std::uint32_t version) {
  std::string bytes;
  append_header({type, lsn}, bytes);
  for (std::size_t i = 0; i < 4; ++i) bytes[8 + i] = static_cast<char>(version >> (8 * i));
  const std::uint32_t crc = crc32c(bytes_of(bytes.substr(0, 24)));
  for (std::size_t i = 0; i < 4; ++i) bytes[24 + i] = static_cast<char>(crc >> (8 * i));
  return bytes;
}

/// A file of `type` at `lsn`, format `version`, holding `payloads` as they are; `offsets`
/// receives where each frame starts.
std::string file_of(file_type type, std::uint64_t lsn, std::uint32_t version,
                    const std::vector<std::string>& payloads,
                    std::vector<std::size_t>* offsets = nullptr) {
  std::string out = header_of(type, lsn, version);
  for (const std::string& p : payloads) {
    if (offsets != nullptr) offsets->push_back(out.size());
    append_frame(p, out);
  }
  return out;
}

// --- records -------------------------------------------------------------------------------

TEST(FeedRecord, EveryRecordKindRoundTripsWithItsNewFields) {
  std::vector<record> records;
  for (const task_event awaited : awaited_commands()) {
    task_spec t = make_task("timed");
    t.state = task_state::starting;
    t.created_at = test_start_time;
    t.changed_at = test_start_time + 1500ms;
    t.awaiting = awaited;
    records.emplace_back(t);
    records.emplace_back(set_state_record{{.id = t.id,
                                           .state = task_state::starting,
                                           .version = 3,
                                           .changed_at = t.changed_at,
                                           .awaiting = awaited},
                                          {42, task_state::configuration, awaited}});
  }
  task_spec waiting = make_waiting_task();
  waiting.created_at = at_ms(1);
  waiting.changed_at = at_ms(std::numeric_limits<std::int64_t>::max());
  waiting.awaiting = task_event::start_due;
  records.emplace_back(waiting);
  task_spec paused = make_paused_task();
  paused.changed_at = at_ms(2);
  paused.awaiting = task_event::pause;
  records.emplace_back(paused);

  family_spec family = make_waiting_family();
  family.created_at = test_start_time;
  family.forward.changed_at = test_start_time + 1s;
  family.forward.awaiting = task_event::start;
  family.backward.changed_at = test_start_time + 2s;
  family.backward.awaiting = task_event::force_stop;
  records.emplace_back(family);

  const set_state_record forward{
      {.id = family.forward.id,
       .state = task_state::stopping,
       .version = 6,
       .changed_at = test_start_time + 3s,
       .awaiting = task_event::stop},
      {std::numeric_limits<std::uint64_t>::max(), task_state::waiting_for_start, task_event::stop}};
  const set_state_record backward{
      {.id = family.backward.id,
       .state = task_state::paused,
       .pause = pause_info{pause_mode::target, task_state::incremental_transfer_failed},
       .version = 7,
       .changed_at = test_start_time + 3s},
      {1, task_state::incremental_transfer_failed, task_event::pause}};
  records.emplace_back(set_family_state_record{forward, backward});
  records.emplace_back(set_state_record{{.id = job_id::mint(), .version = 1}, {}});  // no note

  // Feed events with and without a mode and an awaited command.
  records.emplace_back(paused_event());
  records.emplace_back(running_event());
  feed_event confirmed = paused_event();
  confirmed.from = task_state::paused;
  confirmed.cause = task_event::confirm;
  confirmed.mode = pause_mode::target;
  confirmed.awaiting.reset();
  confirmed.position = 1;
  records.emplace_back(confirmed);
  feed_event started = running_event();
  started.position = std::numeric_limits<std::uint64_t>::max();
  started.awaiting = task_event::start_due;
  started.at = at_ms(std::numeric_limits<std::int64_t>::max());
  records.emplace_back(started);
  records.emplace_back(erase_task_record{job_id::mint()});
  records.emplace_back(erase_family_record{job_id::mint()});
  records.emplace_back(end_record{17});

  for (const record& r : records) {
    const std::string bytes = encoded(r);
    const auto back = decode(bytes_of(bytes), format_version);
    ASSERT_TRUE(back) << "kind " << int(bytes[0]);
    EXPECT_EQ(*back, r) << "kind " << int(bytes[0]);
  }
}

TEST(FeedRecord, AnAwaitedCommandMustBeOneThatAwaitsAWorker) {
  // The awaited byte of every state block (0xFF: none), tried with every value.
  const job_id id = job_id::mint();
  const std::string set = encoded(set_state_record{{.id = id, .state = task_state::starting}, {}});
  const std::string put = encoded(make_task("name"));
  const std::string family = encoded(make_family(""));
  const std::string both = encoded(set_family_state_record{
      {{.id = id, .state = task_state::stopping}, {1, task_state::full_transfer, task_event::stop}},
      {{.id = job_id::mint(), .state = task_state::stopping},
       {2, task_state::full_transfer, task_event::stop}}});
  const std::vector<std::pair<std::string, std::size_t>> places = {
      {set, 56}, {put, 89}, {family, 79 + 55}, {family, 135 + 55}, {both, 56}, {both, 67 + 55}};
  for (const auto& [bytes, at] : places) {
    ASSERT_EQ(static_cast<unsigned char>(bytes[at]), 0xFFU)
        << "kind " << int(bytes[0]) << " @" << at;
    for (int b = 0; b < 256; ++b) {
      EXPECT_EQ(decodes(with_byte(bytes, at, b)), valid_awaiting_byte(b))
          << "kind " << int(bytes[0]) << " awaiting byte " << b << " at " << at;
    }
  }
  // Spelled out: a worker's event, the schedule-free commands and a value past the enum.
  for (const int b :
       {int(task_event::start_succeeded), int(task_event::stopped), int(task_event::confirm),
        int(task_event::remove), int(task_event::schedule_start), 0x20}) {
    EXPECT_FALSE(decodes(with_byte(set, 56, b))) << b;
  }
  EXPECT_TRUE(decodes(with_byte(set, 56, int(task_event::force_stop))));
}

TEST(FeedRecord, TimesMustFitTheClock) {
  const std::string set = encoded(set_state_record{{.id = job_id::mint()}, {}});
  EXPECT_TRUE(decodes(with_u64(set, 48, past_the_clock - 1)));
  EXPECT_FALSE(decodes(with_u64(set, 48, past_the_clock))) << "changed_at";
  const std::string put = encoded(make_task("name"));
  EXPECT_FALSE(decodes(with_u64(put, 81, past_the_clock))) << "changed_at";
  EXPECT_FALSE(decodes(with_u64(put, 90, past_the_clock))) << "created_at";
  EXPECT_TRUE(decodes(with_u64(put, 90, 1)));
  const std::string family = encoded(make_family(""));
  EXPECT_FALSE(decodes(with_u64(family, 69, past_the_clock))) << "created_at";
  EXPECT_FALSE(decodes(with_u64(family, 79 + 47, past_the_clock))) << "forward changed_at";
  EXPECT_FALSE(decodes(with_u64(family, 135 + 47, past_the_clock))) << "backward changed_at";
}

TEST(FeedRecord, ANoteMustNameAStateAndAnEvent) {
  // set_state: the note at 57..66 (position, from, cause).
  const std::string set =
      encoded(set_state_record{{.id = job_id::mint(), .state = task_state::stopping, .version = 2},
                               {9, task_state::paused, task_event::stop}});
  ASSERT_EQ(set.size(), 67U);
  for (const task_state s : all_task_states) {
    EXPECT_TRUE(decodes(with_byte(set, 65, static_cast<int>(s)))) << to_string(s);
  }
  for (const task_event e : all_task_events) {
    EXPECT_TRUE(decodes(with_byte(set, 66, static_cast<int>(e)))) << to_string(e);
  }
  for (const int bad : {13, 0x20, 0xFF}) {
    EXPECT_FALSE(decodes(with_byte(set, 65, bad))) << "from " << bad;
  }
  for (const int bad : {15, 0x20, 0xFF}) {
    EXPECT_FALSE(decodes(with_byte(set, 66, bad))) << "cause " << bad;
  }
  // Position 0 is no position: the note is kept as it is, and checked all the same.
  const std::string unplaced = with_u64(set, 57, 0);
  const auto back = decode(bytes_of(unplaced), format_version);
  ASSERT_TRUE(back);
  EXPECT_EQ(std::get<set_state_record>(*back).note,
            (change_note{0, task_state::paused, task_event::stop}));
  EXPECT_FALSE(decodes(with_byte(unplaced, 66, 15)));
  // Without its note, or with half of it, the record is cut short.
  EXPECT_FALSE(decodes(set.substr(0, 57)));
  EXPECT_FALSE(decodes(set.substr(0, 65)));

  // set_family_state: each child's note; the backward child's at 1 + 66 + 56.
  const std::string both =
      encoded(set_family_state_record{{{.id = job_id::mint(), .state = task_state::stopping},
                                       {1, task_state::full_transfer, task_event::stop}},
                                      {{.id = job_id::mint(), .state = task_state::stopping},
                                       {2, task_state::full_transfer, task_event::stop}}});
  ASSERT_EQ(both.size(), 133U);
  EXPECT_TRUE(decodes(both));
  EXPECT_FALSE(decodes(with_byte(both, 65, 13))) << "the forward note's state";
  EXPECT_FALSE(decodes(with_byte(both, 66, 15))) << "the forward note's cause";
  EXPECT_FALSE(decodes(with_byte(both, 131, 13))) << "the backward note's state";
  EXPECT_FALSE(decodes(with_byte(both, 132, 15))) << "the backward note's cause";
}

TEST(FeedRecord, MalformedFeedEventsDoNotDecode) {
  // position 1..8, project 9..40, id 41..76, from 77, to 78, cause 79, mode 80, awaiting 81,
  // at 82..89, version 90..97.
  const std::string paused = encoded(paused_event());
  const std::string running = encoded(running_event());
  for (const std::string& bytes : {paused, running}) {
    ASSERT_EQ(bytes.size(), 98U);
    ASSERT_TRUE(decodes(bytes));
    for (std::size_t size = 0; size < bytes.size(); ++size) {
      EXPECT_FALSE(decodes(bytes.substr(0, size))) << "cut to " << size;
    }
    EXPECT_FALSE(decodes(bytes + '\0')) << "a byte more";
    EXPECT_FALSE(decodes(bytes + std::string(8, '\0'))) << "8 bytes more";
    EXPECT_FALSE(decodes(with_u64(bytes, 1, 0))) << "position 0";
    EXPECT_TRUE(decodes(with_u64(bytes, 1, 1)));
    EXPECT_FALSE(decodes(with_byte(bytes, 9, 'g'))) << "a project that is not hex";
    EXPECT_FALSE(decodes(with_byte(bytes, 41, 'A'))) << "an id in uppercase";
    EXPECT_FALSE(decodes(with_byte(bytes, 49, 'x'))) << "an id without its dash";
    EXPECT_FALSE(decodes(with_byte(bytes, 77, 13))) << "from";
    EXPECT_FALSE(decodes(with_byte(bytes, 78, 13))) << "to";
    EXPECT_FALSE(decodes(with_byte(bytes, 79, 15))) << "cause";
    EXPECT_FALSE(decodes(with_byte(bytes, 80, 2))) << "a mode outside the enum";
    EXPECT_FALSE(decodes(with_u64(bytes, 82, past_the_clock))) << "at";
    EXPECT_TRUE(decodes(with_u64(bytes, 82, 0))) << "at the epoch";
    // Not in a file of format 1 or 2, which knows no feed events.
    EXPECT_FALSE(decodes(bytes, 2));
    EXPECT_FALSE(decodes(bytes, 1));
  }
  // The mode is present exactly when the event ends paused.
  EXPECT_FALSE(decodes(with_byte(paused, 80, 0xFF))) << "paused without a mode";
  EXPECT_TRUE(decodes(with_byte(paused, 80, 0)));
  EXPECT_FALSE(decodes(with_byte(running, 80, 0))) << "a mode on a running task";
  EXPECT_FALSE(decodes(with_byte(running, 80, 1))) << "a mode on a running task";
  EXPECT_FALSE(decodes(with_byte(with_byte(paused, 78, 5), 80, 1)))
      << "a mode while `to` is not paused";
  EXPECT_TRUE(decodes(with_byte(with_byte(running, 78, 8), 80, 1)));
  // The awaited command: none, or one that awaits a worker (as in a task's state block).
  std::vector<int> accepted_bad;
  std::vector<int> refused_good;
  for (int b = 0; b < 256; ++b) {
    const bool ok = decodes(with_byte(running, 81, b));
    if (ok && !valid_awaiting_byte(b)) accepted_bad.push_back(b);
    if (!ok && valid_awaiting_byte(b)) refused_good.push_back(b);
  }
  EXPECT_EQ(accepted_bad, std::vector<int>{}) << "awaiting bytes of commands that await no "
                                                 "worker (or of worker events), accepted";
  EXPECT_EQ(refused_good, std::vector<int>{});
  EXPECT_FALSE(decodes(with_byte(running, 81, 0x20)));
  EXPECT_FALSE(decodes(with_byte(running, 81, int(task_event::start_succeeded))))
      << "a worker's event awaited";
}

// --- formats 1 and 2 -----------------------------------------------------------------------

TEST(FeedRecord, Format2PayloadsDecodeWithTheNewFieldsEmpty) {
  task_spec task = make_task("old");
  task.changed_at = test_start_time;  // dropped: the old layout has no place for them
  task.created_at = test_start_time;
  task.awaiting = task_event::start;
  const task_spec paused = make_paused_task();
  const task_spec waiting = make_waiting_task();
  const family_spec family = make_family("old family");
  const family_spec waiting_family = make_waiting_family();
  const child_spec change{.id = job_id::mint(),
                          .state = task_state::paused,
                          .pause = pause_info{pause_mode::all, task_state::full_transfer},
                          .version = 12};
  const child_spec waits{.id = job_id::mint(),
                         .state = task_state::waiting_for_start,
                         .start_time = test_start_time,
                         .version = 13};

  const std::vector<std::pair<std::string, record>> cases = {
      {old_put_task(task), without_times(task)},
      {old_put_task(paused), paused},
      {old_put_task(waiting), waiting},
      {old_put_family(family), family},
      {old_put_family(waiting_family), waiting_family},
      {old_set_state(change), set_state_record{change, {}}},
      {old_set_state(waits), set_state_record{waits, {}}},
      {old_set_family_state(change, waits), set_family_state_record{{change, {}}, {waits, {}}}},
  };
  for (const auto& [bytes, expected] : cases) {
    for (const std::uint32_t version : {1U, 2U}) {
      const auto back = decode(bytes_of(bytes), version);
      ASSERT_TRUE(back) << "kind " << int(bytes[0]) << " format " << version;
      EXPECT_EQ(*back, expected) << "kind " << int(bytes[0]) << " format " << version;
    }
    // Read as format 3, the old bytes are cut short; and format 3 bytes are not format 2's.
    EXPECT_FALSE(decodes(bytes, 3)) << "kind " << int(bytes[0]);
    EXPECT_FALSE(decodes(encoded(expected), 2)) << "kind " << int(bytes[0]);
  }
  // The records that did not change are the same bytes in every format.
  for (const record& r : {record{erase_task_record{job_id::mint()}},
                          record{erase_family_record{job_id::mint()}}, record{end_record{4}}}) {
    for (const std::uint32_t version : {1U, 2U, 3U}) {
      EXPECT_EQ(decode(bytes_of(encoded(r)), version), r) << version;
    }
  }
  // The old layout's own checks still hold.
  const std::string set = old_set_state(change);
  ASSERT_EQ(set.size(), 48U);
  EXPECT_FALSE(decodes(with_byte(set, 38, 2), 2)) << "pause mode";
  EXPECT_FALSE(decodes(set.substr(0, 47), 2));
  EXPECT_FALSE(decodes(set + '\0', 2));
  EXPECT_FALSE(decodes(with_u64(old_set_state(waits), 48, 0), 2)) << "a start time at the epoch";
}

class OldFormat : public ::testing::Test {
 protected:
  std::filesystem::path at(const std::string& name) const { return dir_.path() / name; }
  temp_directory dir_;
  std::shared_ptr<file_layer> files_ = posix_files();
};

TEST_F(OldFormat, AFormat2JournalAndCheckpointStillRecover) {
  const task_spec a = make_task("a");
  const task_spec b = make_waiting_task("b");
  const family_spec f = make_family("f");
  child_spec a_paused{.id = a.id,
                      .state = task_state::paused,
                      .pause = pause_info{pause_mode::target, task_state::incremental_transfer},
                      .version = 8};
  child_spec forward_stopping{.id = f.forward.id, .state = task_state::stopping, .version = 4};
  child_spec backward_stopping{.id = f.backward.id, .state = task_state::stopping, .version = 5};
  child_spec b_started{.id = b.id, .state = task_state::starting, .version = 8};
  // Records 1..6 in a format 2 segment; a format 2 checkpoint covers 1..3.
  write_file(at(segment_name(1)),
             file_of(file_type::journal_segment, 1, 2,
                     {old_put_task(a), old_put_task(b), old_put_family(f), old_set_state(a_paused),
                      old_set_family_state(forward_stopping, backward_stopping),
                      old_set_state(b_started)}));
  const auto expected_after = [&](bool journal) {
    task_spec pa = a;
    task_spec pb = b;
    family_spec pf = f;
    if (journal) {
      std::tie(pa.state, pa.pause, pa.version) =
          std::tie(a_paused.state, a_paused.pause, a_paused.version);
      pf.forward = forward_stopping;
      pf.backward = backward_stopping;
      pb.state = task_state::starting;
      pb.start_time.reset();
      pb.version = 8;
    }
    std::vector<registration> out{pa, pb, pf};
    std::sort(out.begin(), out.end(),
              [](const registration& x, const registration& y) { return id_of(x) < id_of(y); });
    return out;
  };

  auto r = recover(*files_, dir_.path(), repair::no);
  EXPECT_EQ(r.tasks, expected_after(true));
  EXPECT_EQ(r.records_replayed, 6U);
  EXPECT_TRUE(r.events.empty()) << "a format 2 journal has no notes";
  EXPECT_TRUE(r.notes.empty());

  write_file(at(checkpoint_name(3)), file_of(file_type::checkpoint, 3, 2,
                                             {old_put_task(a), old_put_task(b), old_put_family(f),
                                              encoded(end_record{3})}));
  r = recover(*files_, dir_.path(), repair::no);
  EXPECT_EQ(r.checkpoint_lsn, 3U);
  EXPECT_EQ(r.records_replayed, 3U);
  EXPECT_EQ(r.tasks, expected_after(true));
  EXPECT_TRUE(r.events.empty());

  // The checkpoint alone, read as a checkpoint.
  checkpoint_contents contents;
  std::string why;
  ASSERT_TRUE(read_checkpoint(*files_, at(checkpoint_name(3)), contents, why)) << why;
  EXPECT_EQ(contents.tasks, (std::vector<registration>{a, b, f}));
  EXPECT_TRUE(contents.events.empty());

  // A format 2 checkpoint with a feed event in it is damaged: format 2 knows none.
  write_file(at(checkpoint_name(3)), file_of(file_type::checkpoint, 3, 2,
                                             {old_put_task(a), old_put_task(b), old_put_family(f),
                                              encoded(paused_event()), encoded(end_record{4})}));
  EXPECT_FALSE(read_checkpoint(*files_, at(checkpoint_name(3)), contents, why));
  EXPECT_NE(why.find("record does not decode"), std::string::npos) << why;
}

TEST_F(OldFormat, AFormat2JournalGoesOnInAFormat3Segment) {
  // What an upgraded engine leaves: the old segment, then new ones written in format 3.
  const task_spec a = make_task("a");
  const child_spec a_paused{.id = a.id,
                            .state = task_state::paused,
                            .pause = pause_info{pause_mode::all, task_state::incremental_transfer},
                            .version = 8};
  write_file(at(segment_name(1)),
             file_of(file_type::journal_segment, 1, 2, {old_put_task(a), old_set_state(a_paused)}));
  const set_state_record resumed{{.id = a.id,
                                  .state = task_state::incremental_transfer,
                                  .version = 9,
                                  .changed_at = test_start_time,
                                  .awaiting = task_event::resume},
                                 {1, task_state::paused, task_event::resume}};
  write_file(at(segment_name(3)), segment_bytes(3, {resumed}));
  const auto r = recover(*files_, dir_.path(), repair::no);
  task_spec expected = a;
  expected.version = 9;
  expected.changed_at = test_start_time;
  expected.awaiting = task_event::resume;
  EXPECT_EQ(r.tasks, std::vector<registration>{expected});
  ASSERT_EQ(r.events.size(), 1U);
  EXPECT_EQ(r.events[0], (feed_event{.position = 1,
                                     .id = a.id,
                                     .project = a.project,
                                     .from = task_state::paused,
                                     .to = task_state::incremental_transfer,
                                     .cause = task_event::resume,
                                     .awaiting = task_event::resume,
                                     .at = test_start_time,
                                     .version = 9}));
  // A format 3 record in the format 2 segment does not decode there.
  write_file(at(segment_name(3)), file_of(file_type::journal_segment, 3, 2, {encoded(resumed)}));
  try {
    recover(*files_, dir_.path(), repair::no);
    ADD_FAILURE() << "a format 3 record read as format 2";
  } catch (const corruption_error& e) {
    EXPECT_NE(std::string(e.what()).find("record does not decode"), std::string::npos) << e.what();
  }
}

// --- checkpoints with events ---------------------------------------------------------------

std::vector<feed_event> sample_events(std::size_t n, std::uint64_t first = 1) {
  std::vector<feed_event> events;
  for (std::size_t i = 0; i < n; ++i) {
    feed_event e = i % 2 == 0 ? paused_event() : running_event();
    e.position = first + 2 * i;  // with gaps, as a feed whose void positions are skipped
    e.version = i + 1;
    e.at = test_start_time + std::chrono::milliseconds(i);
    if (i % 3 == 0) e.awaiting.reset();
    events.push_back(e);
  }
  return events;
}

std::vector<registration> sample_tasks() {
  task_spec timed = make_task("timed");
  timed.created_at = test_start_time;
  timed.changed_at = test_start_time + 1s;
  timed.awaiting = task_event::pause;
  return {make_task("a"), make_family("f"), timed, make_waiting_task()};
}

class FeedCheckpoint : public ::testing::Test {
 protected:
  std::filesystem::path at(const std::string& name) const { return dir_.path() / name; }

  /// Why read_checkpoint() refuses `bytes` (fails the test when it accepts them).
  std::string refusal(const std::string& bytes) {
    write_file(at(checkpoint_name(5)), bytes);
    checkpoint_contents back;
    std::string why;
    EXPECT_FALSE(read_checkpoint(*files_, at(checkpoint_name(5)), back, why));
    EXPECT_NE(why.find(at(checkpoint_name(5)).string()), std::string::npos) << why;
    return why;
  }

  temp_directory dir_;
  std::shared_ptr<file_layer> files_ = posix_files();
};

TEST_F(FeedCheckpoint, EventsAreWrittenAndReadBack) {
  const auto tasks = sample_tasks();
  const auto events = sample_events(7);
  ASSERT_FALSE(write_checkpoint(*files_, dir_.path(), 11, tasks, events));
  checkpoint_contents back;
  std::string why;
  ASSERT_TRUE(read_checkpoint(*files_, at(checkpoint_name(11)), back, why)) << why;
  EXPECT_EQ(back.lsn, 11U);
  EXPECT_EQ(back.tasks, tasks);
  EXPECT_EQ(back.events, events);

  // The layout: the puts, then the events, then the end record counting both.
  const std::string bytes = read_file(at(checkpoint_name(11)));
  EXPECT_EQ(bytes.substr(8, 4), std::string("\x03\0\0\0", 4));
  std::vector<int> kinds;
  scan_frames(bytes_of(bytes), header_size, [&](std::span<const std::byte> payload, std::uint64_t) {
    kinds.push_back(std::to_integer<int>(payload[0]));
    return true;
  });
  EXPECT_EQ(kinds, (std::vector<int>{1, 2, 1, 1, 8, 8, 8, 8, 8, 8, 8, 6}));
  EXPECT_EQ(bytes.substr(bytes.size() - 9), encoded(end_record{11}));

  // Events without tasks, and neither.
  ASSERT_FALSE(write_checkpoint(*files_, dir_.path(), 12, {}, events));
  ASSERT_TRUE(read_checkpoint(*files_, at(checkpoint_name(12)), back, why)) << why;
  EXPECT_TRUE(back.tasks.empty());
  EXPECT_EQ(back.events, events);
  ASSERT_FALSE(write_checkpoint(*files_, dir_.path(), 13, {}, {}));
  ASSERT_TRUE(read_checkpoint(*files_, at(checkpoint_name(13)), back, why)) << why;
  EXPECT_TRUE(back.events.empty()) << "read into a used checkpoint_contents";
}

TEST_F(FeedCheckpoint, ManyEventsAreWrittenInPieces) {
  auto files = std::make_shared<faulty_files>();
  const auto events = sample_events(25000);  // ~2.6 MB
  ASSERT_FALSE(write_checkpoint(*files, dir_.path(), 1, sample_tasks(), events));
  EXPECT_GE(files->calls(file_op::write), 3U);
  checkpoint_contents back;
  std::string why;
  ASSERT_TRUE(read_checkpoint(*files, at(checkpoint_name(1)), back, why)) << why;
  EXPECT_EQ(back.events, events);
}

TEST_F(FeedCheckpoint, EventsOutOfOrderAreRefused) {
  const task_spec t = make_task();
  feed_event first = paused_event();
  feed_event second = running_event();
  first.position = 5;
  for (const std::uint64_t position : {4U, 5U}) {
    second.position = position;
    std::vector<std::size_t> offsets;
    const std::string bytes =
        file_of(file_type::checkpoint, 5, format_version,
                {encoded(t), encoded(first), encoded(second), encoded(end_record{3})}, &offsets);
    const std::string why = refusal(bytes);
    EXPECT_NE(why.find(fmt::format("feed events out of order at offset {}", offsets[2])),
              std::string::npos)
        << why;
  }
  second.position = 6;
  write_file(at(checkpoint_name(5)),
             file_of(file_type::checkpoint, 5, format_version,
                     {encoded(t), encoded(first), encoded(second), encoded(end_record{3})}));
  checkpoint_contents back;
  std::string why;
  EXPECT_TRUE(read_checkpoint(*files_, at(checkpoint_name(5)), back, why)) << why;
}

TEST_F(FeedCheckpoint, APutRecordAfterAnEventIsRefused) {
  const task_spec t = make_task();
  for (const record& put : {record{make_task("late")}, record{make_family("late")}}) {
    std::vector<std::size_t> offsets;
    const std::string bytes = file_of(
        file_type::checkpoint, 5, format_version,
        {encoded(t), encoded(paused_event()), encoded(put), encoded(end_record{3})}, &offsets);
    const std::string why = refusal(bytes);
    EXPECT_NE(
        why.find(fmt::format("a put record after the feed's events at offset {}", offsets[2])),
        std::string::npos)
        << why;
  }
  // Nor any record other than puts, events and the end.
  std::vector<std::size_t> offsets;
  const std::string changed =
      file_of(file_type::checkpoint, 5, format_version,
              {encoded(t),
               encoded(set_state_record{{.id = t.id}, {1, task_state::paused, task_event::resume}}),
               encoded(end_record{2})},
              &offsets);
  EXPECT_NE(refusal(changed).find(fmt::format("at offset {}", offsets[1])), std::string::npos);
}

TEST_F(FeedCheckpoint, TheEndRecordCountsTheEventsToo) {
  const auto tasks = sample_tasks();
  const auto events = sample_events(3);
  ASSERT_FALSE(write_checkpoint(*files_, dir_.path(), 5, tasks, events));
  const std::string good = read_file(at(checkpoint_name(5)));
  const std::size_t end_frame = good.size() - 17;
  for (const std::size_t count : {tasks.size(), tasks.size() + events.size() - 1,
                                  tasks.size() + events.size() + 1, events.size()}) {
    std::string miscounted = good.substr(0, end_frame);
    append_frame(encoded(end_record{count}), miscounted);
    const std::string why = refusal(miscounted);
    EXPECT_NE(why.find(fmt::format("the end record counts {} records, the file holds {}", count,
                                   tasks.size() + events.size())),
              std::string::npos)
        << why;
  }
  // Without its end record, a file of events is no checkpoint either.
  EXPECT_NE(refusal(good.substr(0, end_frame)).find("no end record"), std::string::npos);
  // A damaged event is damage like any other.
  EXPECT_NE(refusal(with_byte(good, end_frame - 20, good[end_frame - 20] ^ 1)).find("crc mismatch"),
            std::string::npos);
}

// --- recovery of the feed ------------------------------------------------------------------

/// The event a change in `project` with `note` makes.
feed_event event_of(const set_state_record& change, const project_id& project) {
  std::optional<pause_mode> mode;
  if (change.pause) mode = change.pause->mode;
  return {change.note.position, change.id, project,         change.note.from,  change.state,
          change.note.cause,    mode,      change.awaiting, change.changed_at, change.version};
}

class FeedRecovery : public ::testing::Test {
 protected:
  FeedRecovery() {
    f.project = other_project();
    // Journal order differs from position order: the family's children took 5 then 4, and
    // the later resume took 7 while the confirm before it took 3.
    history = {
        a,           f,          a_paused,  set_family_state_record{forward_stop, backward_stop},
        a_confirmed, a_unplaced, a_resumed,
    };
  }

  std::filesystem::path at(const std::string& name) const { return dir_.path() / name; }

  recovered_registry recover_dir() { return recover(*files_, dir_.path(), repair::no); }

  task_spec a = make_task("a");
  family_spec f = make_family("f");
  set_state_record a_paused{
      {.id = a.id,
       .state = task_state::paused,
       .pause = pause_info{pause_mode::target, task_state::incremental_transfer},
       .version = 8,
       .changed_at = test_start_time,
       .awaiting = task_event::pause},
      {2, task_state::incremental_transfer, task_event::pause}};
  set_state_record forward_stop{{.id = f.forward.id,
                                 .state = task_state::stopping,
                                 .version = 4,
                                 .changed_at = test_start_time + 1s,
                                 .awaiting = task_event::stop},
                                {5, task_state::paused, task_event::stop}};
  set_state_record backward_stop{{.id = f.backward.id,
                                  .state = task_state::stopping,
                                  .version = 5,
                                  .changed_at = test_start_time + 1s,
                                  .awaiting = task_event::stop},
                                 {4, task_state::full_transfer, task_event::stop}};
  set_state_record a_confirmed{
      {.id = a.id,
       .state = task_state::paused,
       .pause = pause_info{pause_mode::target, task_state::incremental_transfer},
       .version = 9,
       .changed_at = test_start_time + 2s},
      {3, task_state::paused, task_event::confirm}};
  /// A change with no position: it makes no event.
  set_state_record a_unplaced{
      {.id = a.id,
       .state = task_state::paused,
       .pause = pause_info{pause_mode::all, task_state::incremental_transfer},
       .version = 10,
       .changed_at = test_start_time + 3s},
      {}};
  set_state_record a_resumed{{.id = a.id,
                              .state = task_state::incremental_transfer,
                              .version = 11,
                              .changed_at = test_start_time + 4s,
                              .awaiting = task_event::resume},
                             {7, task_state::paused, task_event::resume}};
  std::vector<record> history;

  /// Every event of the history, by position.
  std::vector<feed_event> all_events() const {
    return {event_of(a_paused, a.project), event_of(a_confirmed, a.project),
            event_of(backward_stop, f.project), event_of(forward_stop, f.project),
            event_of(a_resumed, a.project)};
  }

  /// The registry after the whole history.
  std::vector<registration> final_registry() const {
    task_spec ta = a;
    ta.state = a_resumed.state;
    ta.pause.reset();
    ta.version = a_resumed.version;
    ta.changed_at = a_resumed.changed_at;
    ta.awaiting = a_resumed.awaiting;
    family_spec tf = f;
    tf.forward = forward_stop;
    tf.backward = backward_stop;
    std::vector<registration> out{ta, tf};
    std::sort(out.begin(), out.end(),
              [](const registration& x, const registration& y) { return id_of(x) < id_of(y); });
    return out;
  }

  temp_directory dir_;
  std::shared_ptr<file_layer> files_ = posix_files();
};

TEST_F(FeedRecovery, EventsAreRebuiltFromTheJournalsNotesByPosition) {
  write_file(at(segment_name(1)), segment_bytes(1, history));
  const auto r = recover_dir();
  EXPECT_EQ(r.events, all_events());
  const std::vector<std::uint64_t> positions = [&] {
    std::vector<std::uint64_t> p;
    for (const feed_event& e : r.events) p.push_back(e.position);
    return p;
  }();
  EXPECT_EQ(positions, (std::vector<std::uint64_t>{2, 3, 4, 5, 7}));
  // The family's command made one event per child, in the family's project.
  ASSERT_EQ(r.events.size(), 5U);
  EXPECT_EQ(r.events[2].id, f.backward.id);
  EXPECT_EQ(r.events[3].id, f.forward.id);
  EXPECT_EQ(r.events[2].project, other_project());
  EXPECT_EQ(r.events[3].project, other_project());
  EXPECT_EQ(r.events[3].from, task_state::paused);
  EXPECT_EQ(r.events[3].cause, task_event::stop);
  EXPECT_EQ(r.events[3].awaiting, task_event::stop);
  // The standalone task's, in its own; the mode shown while paused.
  EXPECT_EQ(r.events[0].project, test_project());
  EXPECT_EQ(r.events[0].mode, pause_mode::target);
  EXPECT_EQ(r.events[0].at, test_start_time);
  EXPECT_EQ(r.events[0].version, 8U);
  EXPECT_FALSE(r.events[4].mode);
  // The tasks' times and awaited commands are the last change's.
  EXPECT_EQ(r.tasks, final_registry());
}

TEST_F(FeedRecovery, TheCheckpointsEventsComeFirstAndAreNotRepeated) {
  write_file(at(segment_name(1)), segment_bytes(1, history));
  // A checkpoint of records 1..4 holds the events of positions up to 5.
  std::vector<registration> covered{a, f};
  std::get<task_spec>(covered[0]).state = task_state::paused;
  std::get<task_spec>(covered[0]).pause = a_paused.pause;
  std::get<task_spec>(covered[0]).version = 8;
  std::get<family_spec>(covered[1]).forward = forward_stop;
  std::get<family_spec>(covered[1]).backward = backward_stop;
  std::vector<feed_event> kept = {event_of(a_paused, a.project), event_of(a_confirmed, a.project),
                                  event_of(backward_stop, f.project),
                                  event_of(forward_stop, f.project)};
  ASSERT_FALSE(write_checkpoint(*files_, dir_.path(), 4, covered, kept));
  // Records after it: the confirm (position 3, which the checkpoint holds), the unplaced
  // change, the resume (7); then, in a second segment, changes at 9 and 8.
  const set_state_record late_pause{
      {.id = a.id,
       .state = task_state::paused,
       .pause = pause_info{pause_mode::all, task_state::incremental_transfer},
       .version = 12,
       .changed_at = test_start_time + 5s,
       .awaiting = task_event::pause},
      {9, task_state::incremental_transfer, task_event::pause}};
  const set_state_record forward_stopped{{.id = f.forward.id,
                                          .state = task_state::stopped,
                                          .version = 6,
                                          .changed_at = test_start_time + 5s},
                                         {8, task_state::stopping, task_event::stopped}};
  write_file(at(segment_name(8)), segment_bytes(8, {late_pause, forward_stopped}));

  const auto r = recover_dir();
  EXPECT_EQ(r.checkpoint_lsn, 4U);
  EXPECT_EQ(r.records_replayed, 5U);
  std::vector<feed_event> expected = kept;
  expected.push_back(event_of(a_resumed, a.project));
  expected.push_back(event_of(forward_stopped, f.project));
  expected.push_back(event_of(late_pause, a.project));
  EXPECT_EQ(r.events, expected);
  EXPECT_TRUE(std::is_sorted(
      r.events.begin(), r.events.end(),
      [](const feed_event& x, const feed_event& y) { return x.position < y.position; }));
  // The recovered tasks carry the last change's time and awaited command.
  for (const registration& reg : r.tasks) {
    if (const auto* t = std::get_if<task_spec>(&reg)) {
      EXPECT_EQ(t->changed_at, late_pause.changed_at);
      EXPECT_EQ(t->awaiting, task_event::pause);
      EXPECT_EQ(t->version, 12U);
    } else {
      const auto& fam = std::get<family_spec>(reg);
      EXPECT_EQ(fam.forward.changed_at, forward_stopped.changed_at);
      EXPECT_FALSE(fam.forward.awaiting);
      EXPECT_EQ(fam.backward.awaiting, task_event::stop);
      EXPECT_EQ(fam.created_at, f.created_at);
    }
  }

  // A checkpoint covering the whole journal: its events alone, none repeated.
  std::filesystem::remove(at(segment_name(8)));
  ASSERT_FALSE(write_checkpoint(*files_, dir_.path(), 7, final_registry(), all_events()));
  const auto whole = recover_dir();
  EXPECT_EQ(whole.records_replayed, 0U);
  EXPECT_EQ(whole.events, all_events());
  EXPECT_EQ(whole.tasks, final_registry());
}

TEST_F(FeedRecovery, ADamagedCheckpointFallsBackWithoutLosingEvents) {
  write_file(at(segment_name(1)), segment_bytes(1, history));
  std::vector<registration> first_three{a, f};
  std::get<task_spec>(first_three[0]).state = task_state::paused;
  std::get<task_spec>(first_three[0]).pause = a_paused.pause;
  std::get<task_spec>(first_three[0]).version = 8;
  std::get<task_spec>(first_three[0]).changed_at = a_paused.changed_at;
  std::get<task_spec>(first_three[0]).awaiting = a_paused.awaiting;
  ASSERT_FALSE(
      write_checkpoint(*files_, dir_.path(), 3, first_three, {event_of(a_paused, a.project)}));
  ASSERT_FALSE(write_checkpoint(*files_, dir_.path(), 7, final_registry(), all_events()));
  std::string newest = read_file(at(checkpoint_name(7)));
  newest[newest.size() - 30] ^= 1;  // in its last event
  write_file(at(checkpoint_name(7)), newest);
  const auto r = recover_dir();
  EXPECT_EQ(r.checkpoint_lsn, 3U);
  EXPECT_EQ(r.events, all_events());
  EXPECT_EQ(r.tasks, final_registry());
}

TEST_F(FeedRecovery, AnErasedTasksEventsStay) {
  task_spec gone = make_task("gone");
  gone.project = other_project();
  const set_state_record deleted{
      {.id = gone.id, .state = task_state::deleted, .version = 8, .changed_at = test_start_time},
      {1, task_state::incremental_transfer, task_event::remove}};
  write_file(at(segment_name(1)), segment_bytes(1, {gone, deleted, erase_task_record{gone.id}}));
  const auto r = recover_dir();
  EXPECT_TRUE(r.tasks.empty());
  EXPECT_EQ(r.events, std::vector<feed_event>{event_of(deleted, other_project())});
}

}  // namespace
}  // namespace taskorch::storage
