// The storage's bytes: crc32c, records, frames and headers, file names, checkpoint files.

#include "faulty_files.hpp"
#include "storage/checkpoint_file.hpp"
#include "storage/crc32c.hpp"
#include "storage/data_directory.hpp"
#include "storage_test_support.hpp"
#include "temp_directory.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <limits>
#include <random>

namespace taskorch::storage {
namespace {

using namespace test;
using taskorch::testing::faulty_files;
using taskorch::testing::file_op;
using taskorch::testing::temp_directory;

// --- crc32c ------------------------------------------------------------------------------

TEST(Crc32c, KnownVectors) {
  const std::string digits = "123456789";
  const std::string zeros(32, '\0');
  EXPECT_EQ(crc32c(bytes_of(digits)), 0xE3069283U);
  EXPECT_EQ(crc32c(bytes_of(zeros)), 0x8A9136AAU);
  EXPECT_EQ(detail::crc32c_table(bytes_of(digits), 0), 0xE3069283U);
  EXPECT_EQ(detail::crc32c_table(bytes_of(zeros), 0), 0x8A9136AAU);
  EXPECT_EQ(crc32c({}), 0U);
  if (detail::crc32c_hardware_available()) {
    EXPECT_EQ(detail::crc32c_hardware(bytes_of(digits), 0), 0xE3069283U);
    EXPECT_EQ(detail::crc32c_hardware(bytes_of(zeros), 0), 0x8A9136AAU);
  }
}

TEST(Crc32c, HardwareAndTableAgreeAndExtend) {
  std::mt19937_64 random(20240611);
  std::string data(4096, '\0');
  for (char& c : data) c = static_cast<char>(random());
  const auto all = bytes_of(data);
  for (int round = 0; round < 2000; ++round) {
    const std::size_t begin = random() % 64;  // every alignment
    const std::size_t size = random() % (data.size() - begin);
    const auto piece = all.subspan(begin, size);
    const std::uint32_t table = detail::crc32c_table(piece, 0);
    if (detail::crc32c_hardware_available()) {
      ASSERT_EQ(detail::crc32c_hardware(piece, 0), table) << begin << "+" << size;
    }
    const std::size_t split = size == 0 ? 0 : random() % size;
    ASSERT_EQ(crc32c(piece.subspan(split), crc32c(piece.first(split))), table);
  }
}

// --- records -----------------------------------------------------------------------------

std::optional<pause_info> random_pause(std::mt19937_64& random, task_state& state) {
  state = all_task_states[random() % task_state_count];
  if (state != task_state::paused) return std::nullopt;
  constexpr task_state pausable[] = {task_state::full_transfer, task_state::full_transfer_complete,
                                     task_state::incremental_transfer,
                                     task_state::full_transfer_failed,
                                     task_state::incremental_transfer_failed};
  return pause_info{random() % 2 == 0 ? pause_mode::target : pause_mode::all,
                    pausable[random() % std::size(pausable)]};
}

/// A random state with what it remembers: its pause when paused, its start time (any
/// millisecond after the epoch) when waiting for its start.
template <class Spec>
void random_lifecycle(std::mt19937_64& random, Spec& spec) {
  spec.pause = random_pause(random, spec.state);
  spec.start_time.reset();
  if (spec.state == task_state::waiting_for_start) {
    const auto ms = static_cast<std::int64_t>(
        1 + random() % static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()));
    spec.start_time = wall_time(std::chrono::milliseconds(ms));
  }
}

std::string random_name(std::mt19937_64& random) {
  std::string name(random() % 3 == 0 ? 0 : random() % 300, '\0');
  for (char& c : name) c = static_cast<char>(random());  // any bytes, zeros included
  return name;
}

/// A time a record stores: 0 (none) now and then, else any millisecond after the epoch.
wall_time random_time(std::mt19937_64& random) {
  if (random() % 4 == 0) return wall_time{};
  return wall_time(std::chrono::milliseconds(static_cast<std::int64_t>(
      1 + random() % static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))));
}

/// The commands a task may await a worker's confirmation of.
constexpr task_event awaited_commands[] = {task_event::start, task_event::start_due,
                                           task_event::pause, task_event::resume,
                                           task_event::stop,  task_event::force_stop};

std::optional<task_event> random_awaiting(std::mt19937_64& random) {
  if (random() % 3 == 0) return std::nullopt;
  return awaited_commands[random() % std::size(awaited_commands)];
}

/// A task's times (format 3): when it last changed, the command it awaits.
template <class Spec>
void random_times(std::mt19937_64& random, Spec& spec) {
  spec.changed_at = random_time(random);
  spec.awaiting = random_awaiting(random);
}

change_note random_note(std::mt19937_64& random) {
  return {.position = random() % 4 == 0 ? 0 : random(),
          .from = all_task_states[random() % task_state_count],
          .cause = all_task_events[random() % task_event_count]};
}

child_spec random_child(std::mt19937_64& random) {
  child_spec c{.id = job_id::mint(), .version = random()};
  random_lifecycle(random, c);
  random_times(random, c);
  return c;
}

set_state_record random_set_state(std::mt19937_64& random) {
  return {random_child(random), random_note(random)};
}

feed_event random_feed_event(std::mt19937_64& random) {
  feed_event e{.position = 1 + random() % std::numeric_limits<std::uint64_t>::max(),
               .id = job_id::mint(),
               .project = *project_id::parse(fmt::format("{:032x}", random())),
               .from = all_task_states[random() % task_state_count],
               .to = all_task_states[random() % task_state_count],
               .cause = all_task_events[random() % task_event_count],
               .awaiting = random_awaiting(random),
               .at = random_time(random),
               .version = random()};
  if (e.to == task_state::paused) e.mode = random() % 2 == 0 ? pause_mode::target : pause_mode::all;
  return e;
}

record random_record(std::mt19937_64& random) {
  switch (random() % 8) {
    case 0: {
      task_spec t{.id = job_id::mint(),
                  .project = test_project(),
                  .kind = static_cast<task_kind>(random() % task_kind_count),
                  .name = random_name(random),
                  .version = random(),
                  .created_at = random_time(random)};
      random_lifecycle(random, t);
      random_times(random, t);
      return t;
    }
    case 1:
      return family_spec{.id = job_id::mint(),
                         .project = *project_id::parse(fmt::format("{:032x}", random())),
                         .name = random_name(random),
                         .forward = random_child(random),
                         .backward = random_child(random),
                         .created_at = random_time(random)};
    case 2:
      return random_set_state(random);
    case 3:
      return erase_task_record{job_id::mint()};
    case 4:
      return erase_family_record{job_id::mint()};
    case 5:
      return set_family_state_record{random_set_state(random), random_set_state(random)};
    case 6:
      return random_feed_event(random);
    default:
      return end_record{random()};
  }
}

TEST(Record, EveryKindRoundTrips) {
  std::mt19937_64 random(7);
  for (int round = 0; round < 4000; ++round) {
    const record r = random_record(random);
    const std::string bytes = encoded(r);
    const auto back = decode(bytes_of(bytes), format_version);
    ASSERT_TRUE(back) << "kind " << int(bytes[0]);
    ASSERT_EQ(*back, r) << "kind " << int(bytes[0]);
  }
}

TEST(Record, EncodeSetStateWritesTheSameBytes) {
  std::mt19937_64 random(11);
  for (int round = 0; round < 500; ++round) {
    const set_state_record s = random_set_state(random);
    std::string fast = "prefix";
    encode_set_state(fast, s);
    ASSERT_EQ(fast, "prefix" + encoded(s));
    const set_family_state_record both{s, random_set_state(random)};
    std::string family = "prefix";
    encode_set_family_state(family, both);
    ASSERT_EQ(family, "prefix" + encoded(both));
  }
  // Outside a pause, whatever pause the record holds is stored as 0; outside a wait, no start
  // time is stored.
  std::string fast;
  const job_id id = job_id::mint();
  encode_set_state(fast, {{.id = id,
                           .state = task_state::stopped,
                           .pause = pause_info{pause_mode::all, task_state::full_transfer},
                           .start_time = test_start_time,
                           .version = 9},
                          {}});
  EXPECT_EQ(fast,
            encoded(set_state_record{{.id = id, .state = task_state::stopped, .version = 9}, {}}));
}

TEST(Record, StartTimesRoundTripInEveryRecordThatHoldsAState) {
  const task_spec task = make_waiting_task();
  const family_spec family = make_waiting_family();
  family_spec both_waiting = make_waiting_family("");
  both_waiting.backward.state = task_state::waiting_for_start;
  both_waiting.backward.start_time = test_start_time + std::chrono::hours(24);
  const set_state_record set{{.id = job_id::mint(),
                              .state = task_state::waiting_for_start,
                              .start_time = wall_time(std::chrono::milliseconds(1)),
                              .version = 12},
                             {}};
  const set_state_record latest{
      {.id = job_id::mint(),
       .state = task_state::waiting_for_start,
       .start_time = wall_time(std::chrono::milliseconds(std::numeric_limits<std::int64_t>::max())),
       .version = 1},
      {}};
  for (const record& r :
       {record{task}, record{family}, record{both_waiting}, record{set}, record{latest}}) {
    const std::string bytes = encoded(r);
    const auto back = decode(bytes_of(bytes), format_version);
    ASSERT_TRUE(back) << "kind " << int(bytes[0]);
    EXPECT_EQ(*back, r) << "kind " << int(bytes[0]);
  }
  // Each waiting state adds its 8 bytes.
  EXPECT_EQ(encoded(task).size(), encoded(make_task("waiting")).size() + 8);
  EXPECT_EQ(encoded(family).size(), encoded(make_family("a waiting family")).size() + 8);
  EXPECT_EQ(encoded(both_waiting).size(), encoded(make_family("")).size() + 16);
}

/// `bytes` with the little-endian u64 at `at` replaced by `value`.
std::string with_u64(std::string bytes, std::size_t at, std::uint64_t value) {
  for (std::size_t i = 0; i < 8; ++i) bytes[at + i] = static_cast<char>(value >> (8 * i));
  return bytes;
}

/// The 8 little-endian bytes of `value`.
std::string le64(std::uint64_t value) { return with_u64(std::string(8, '\0'), 0, value); }

TEST(Record, SizesAndLayoutAreExact) {
  // Format 3: every state block ends with u64 changed_at and u8 awaiting (0xFF: none); a
  // set_state record ends with its note (u64 position, u8 from, u8 cause).
  const job_id id = *job_id::parse("8d0e8e36-a618-490d-8a46-8c61ac9jb502");
  const std::string set = encoded(set_state_record{
      {.id = id,
       .state = task_state::paused,
       .pause = pause_info{pause_mode::all, task_state::incremental_transfer_failed},
       .version = 0x0102030405060708},
      {}});
  ASSERT_EQ(set.size(), 67U);
  EXPECT_EQ(set[0], 3);
  EXPECT_EQ(set.substr(1, 36), "8d0e8e36-a618-490d-8a46-8c61ac9jb502");
  EXPECT_EQ(set[37], 8);  // paused
  EXPECT_EQ(set[38], 1);  // all
  EXPECT_EQ(set[39], 7);  // incremental_transfer_failed
  EXPECT_EQ(set.substr(40, 8), std::string("\x08\x07\x06\x05\x04\x03\x02\x01", 8));
  EXPECT_EQ(set.substr(48, 8), std::string(8, '\0'));  // not changed since created
  EXPECT_EQ(set[56], '\xff');                          // awaiting nothing
  EXPECT_EQ(set.substr(57), std::string(10, '\0'));    // no note: position 0

  // The same change with its time, awaited command and note.
  const std::string noted = encoded(set_state_record{
      {.id = id,
       .state = task_state::paused,
       .pause = pause_info{pause_mode::all, task_state::incremental_transfer_failed},
       .version = 0x0102030405060708,
       .changed_at = wall_time(std::chrono::milliseconds(0x1112131415161718)),
       .awaiting = task_event::pause},
      {.position = 0x2122232425262728,
       .from = task_state::incremental_transfer_failed,
       .cause = task_event::pause}});
  ASSERT_EQ(noted.size(), 67U);
  EXPECT_EQ(noted.substr(0, 48), set.substr(0, 48));
  EXPECT_EQ(noted.substr(48, 8), le64(0x1112131415161718));
  EXPECT_EQ(noted[56], 6);  // pause
  EXPECT_EQ(noted.substr(57, 8), le64(0x2122232425262728));
  EXPECT_EQ(noted[65], 7);  // from incremental_transfer_failed
  EXPECT_EQ(noted[66], 6);  // caused by pause

  task_spec t = make_task("abc");
  const std::string put = encoded(t);
  ASSERT_EQ(put.size(), 83U + 17 + 3);
  EXPECT_EQ(put[0], 1);
  EXPECT_EQ(put.substr(37, 32), "054ba152d480d55b2f5dc0069e7ddef0");
  EXPECT_EQ(put[69], 1);                               // sync
  EXPECT_EQ(put[70], 5);                               // incremental_transfer
  EXPECT_EQ(put.substr(71, 2), std::string(2, '\0'));  // not paused
  EXPECT_EQ(put.substr(73, 8), std::string("\x07\0\0\0\0\0\0\0", 8));
  EXPECT_EQ(put.substr(81, 8), std::string(8, '\0'));  // changed_at
  EXPECT_EQ(put[89], '\xff');                          // awaiting nothing
  EXPECT_EQ(put.substr(90, 8), std::string(8, '\0'));  // created_at
  EXPECT_EQ(put.substr(98, 2), std::string("\x03\0", 2));
  EXPECT_EQ(put.substr(100), "abc");

  t.changed_at = wall_time(std::chrono::milliseconds(0x0a0b0c0d));
  t.awaiting = task_event::force_stop;
  t.created_at = wall_time(std::chrono::milliseconds(0x01020304));
  const std::string timed_put = encoded(t);
  ASSERT_EQ(timed_put.size(), put.size());
  EXPECT_EQ(timed_put.substr(81, 8), le64(0x0a0b0c0d));
  EXPECT_EQ(timed_put[89], 13);  // force_stop
  EXPECT_EQ(timed_put.substr(90, 8), le64(0x01020304));
  EXPECT_EQ(timed_put.substr(98), put.substr(98));

  // A waiting task's start time follows its version: milliseconds since the epoch; its times
  // follow the start time.
  const std::string waiting_set = encoded(
      set_state_record{{.id = id,
                        .state = task_state::waiting_for_start,
                        .start_time = wall_time(std::chrono::milliseconds(0x0102030405060708)),
                        .version = 2},
                       {}});
  ASSERT_EQ(waiting_set.size(), 75U);
  EXPECT_EQ(waiting_set[37], 12);  // waiting_for_start
  EXPECT_EQ(waiting_set.substr(38, 2), std::string(2, '\0'));
  EXPECT_EQ(waiting_set.substr(40, 8), std::string("\x02\0\0\0\0\0\0\0", 8));
  EXPECT_EQ(waiting_set.substr(48, 8), std::string("\x08\x07\x06\x05\x04\x03\x02\x01", 8));
  EXPECT_EQ(waiting_set.substr(56, 8), std::string(8, '\0'));
  EXPECT_EQ(waiting_set[64], '\xff');

  task_spec w = make_waiting_task("abc");
  w.project = t.project;
  const std::string waiting_put = encoded(w);
  ASSERT_EQ(waiting_put.size(), 83U + 17 + 8 + 3);
  EXPECT_EQ(waiting_put[70], 12);
  EXPECT_EQ(waiting_put.substr(81, 8), std::string("\x7b\x68\xe5\xcf\x8b\x01\0\0", 8));
  EXPECT_EQ(waiting_put.substr(89, 8), std::string(8, '\0'));
  EXPECT_EQ(waiting_put[97], '\xff');
  EXPECT_EQ(waiting_put.substr(106, 2), std::string("\x03\0", 2));
  EXPECT_EQ(waiting_put.substr(108), "abc");

  // put_family: kind, id, project, created_at, name; then each child (id, state block).
  family_spec f = make_family("");
  EXPECT_EQ(encoded(f).size(), 191U);
  f.created_at = wall_time(std::chrono::milliseconds(0x31323334));
  f.backward.changed_at = wall_time(std::chrono::milliseconds(0x41424344));
  f.backward.awaiting = task_event::resume;
  const std::string family = encoded(f);
  ASSERT_EQ(family.size(), 191U);
  EXPECT_EQ(family.substr(69, 8), le64(0x31323334));
  EXPECT_EQ(family.substr(77, 2), std::string(2, '\0'));
  EXPECT_EQ(family.substr(79, 36), f.forward.id.to_string());
  EXPECT_EQ(family[79 + 56 + 36], 3);  // the backward child: full_transfer
  EXPECT_EQ(family.substr(79 + 56 + 47, 8), le64(0x41424344));
  EXPECT_EQ(family[79 + 56 + 55], 7);  // resume

  // set_family_state: kind, then each child's state and note.
  const set_state_record forward{{.id = id, .state = task_state::stopping, .version = 3},
                                 {5, task_state::incremental_transfer, task_event::stop}};
  const set_state_record backward{
      {.id = job_id::mint(), .state = task_state::stopping, .version = 4},
      {6, task_state::paused, task_event::stop}};
  const std::string both = encoded(set_family_state_record{forward, backward});
  ASSERT_EQ(both.size(), 1U + 2 * 66);
  EXPECT_EQ(both[0], 7);
  EXPECT_EQ(both.substr(1, 66), encoded(forward).substr(1));
  EXPECT_EQ(both.substr(67), encoded(backward).substr(1));

  // feed_event: kind, position, project, id, from, to, cause, mode, awaiting, at, version.
  const feed_event e{.position = 0x0102030405060708,
                     .id = id,
                     .project = t.project,
                     .from = task_state::incremental_transfer,
                     .to = task_state::paused,
                     .cause = task_event::pause,
                     .mode = pause_mode::all,
                     .awaiting = task_event::pause,
                     .at = wall_time(std::chrono::milliseconds(0x1112131415161718)),
                     .version = 9};
  const std::string event = encoded(e);
  ASSERT_EQ(event.size(), 98U);
  EXPECT_EQ(event[0], 8);
  EXPECT_EQ(event.substr(1, 8), le64(0x0102030405060708));
  EXPECT_EQ(event.substr(9, 32), "054ba152d480d55b2f5dc0069e7ddef0");
  EXPECT_EQ(event.substr(41, 36), "8d0e8e36-a618-490d-8a46-8c61ac9jb502");
  EXPECT_EQ(event.substr(77, 5), std::string("\x05\x08\x06\x01\x06", 5));
  EXPECT_EQ(event.substr(82, 8), le64(0x1112131415161718));
  EXPECT_EQ(event.substr(90, 8), le64(9));
  feed_event running = e;
  running.to = task_state::incremental_transfer;
  running.mode.reset();
  running.awaiting.reset();
  EXPECT_EQ(encoded(running).substr(77, 5), std::string("\x05\x05\x06\xff\xff", 5));

  EXPECT_EQ(encoded(erase_task_record{id}).size(), 37U);
  EXPECT_EQ(encoded(erase_family_record{id}).size(), 37U);
  EXPECT_EQ(encoded(end_record{5}), std::string("\x06\x05\0\0\0\0\0\0\0", 9));
}

TEST(Record, NamesUpTo65535BytesOnly) {
  task_spec t = make_task(std::string(65535, 'n'));
  const std::string bytes = encoded(t);
  EXPECT_EQ(decode(bytes_of(bytes), format_version), record{t});
  t.name.push_back('n');
  std::string out;
  EXPECT_THROW(encode(t, out), std::length_error);
  family_spec f = make_family(std::string(65536, 'f'));
  EXPECT_THROW(encode(record{f}, out), std::length_error);
}

/// `bytes` with byte `at` replaced by `value`.
std::string with_byte(std::string bytes, std::size_t at, int value) {
  bytes[at] = static_cast<char>(value);
  return bytes;
}

bool decodes(const std::string& bytes) {
  return decode(bytes_of(bytes), format_version).has_value();
}

TEST(Record, MalformedPayloadsDoNotDecode) {
  const job_id id = job_id::mint();
  family_spec timed_family = make_family("timed");
  timed_family.created_at = test_start_time;
  timed_family.forward.changed_at = test_start_time;
  timed_family.forward.awaiting = task_event::pause;
  const std::vector<record> samples = {
      make_task("name"),
      make_paused_task(),
      make_waiting_task(),
      make_family(),
      make_waiting_family(),
      timed_family,
      set_state_record{{.id = id, .version = 1}, {}},
      set_state_record{{.id = id,
                        .state = task_state::waiting_for_start,
                        .start_time = test_start_time,
                        .version = 1},
                       {}},
      set_state_record{{.id = id,
                        .state = task_state::starting,
                        .version = 2,
                        .changed_at = test_start_time,
                        .awaiting = task_event::start},
                       {7, task_state::configuration, task_event::start}},
      set_family_state_record{
          {{.id = id, .state = task_state::stopping, .version = 2},
           {8, task_state::paused, task_event::stop}},
          {{.id = job_id::mint(), .state = task_state::stopping, .version = 2}, {}}},
      erase_task_record{id},
      erase_family_record{id},
      end_record{3}};
  for (const record& r : samples) {
    const std::string bytes = encoded(r);
    ASSERT_TRUE(decodes(bytes));
    for (std::size_t size = 0; size < bytes.size(); ++size) {
      EXPECT_FALSE(decodes(bytes.substr(0, size)))
          << "kind " << int(bytes[0]) << " cut to " << size;
    }
    EXPECT_FALSE(decodes(bytes + '\0')) << "kind " << int(bytes[0]) << " with a byte more";
    for (const int kind : {0, 7, 8, 9, 255}) {
      if (kind == bytes[0]) continue;
      EXPECT_FALSE(decodes(with_byte(bytes, 0, kind))) << int(bytes[0]) << " as " << kind;
    }
    if (!std::holds_alternative<end_record>(r)) {
      EXPECT_FALSE(decodes(with_byte(bytes, 1, 'A'))) << "an id in uppercase";
      EXPECT_FALSE(decodes(with_byte(bytes, 9, 'x'))) << "an id without its dash";
    }
  }

  // put_task: kind 1, id 1..36, project 37..68, task kind 69, state 70, mode 71, from 72,
  // version 73..80, changed_at 81..88, awaiting 89, created_at 90..97, name length 98..99,
  // name.
  const std::string task = encoded(make_task("name"));
  EXPECT_FALSE(decodes(with_byte(task, 37, 'g'))) << "a project id that is not hex";
  EXPECT_FALSE(decodes(with_byte(task, 69, 3))) << "task kind";
  EXPECT_FALSE(decodes(with_byte(task, 70, 13))) << "state";
  EXPECT_FALSE(decodes(with_byte(task, 70, 12))) << "waiting, without its start time";
  EXPECT_FALSE(decodes(with_byte(task, 71, 1))) << "a pause mode outside a pause";
  EXPECT_FALSE(decodes(with_byte(task, 72, 3))) << "paused-from outside a pause";
  EXPECT_FALSE(decodes(with_byte(task, 98, 5))) << "a name length past the end";
  EXPECT_FALSE(decodes(with_byte(task, 98, 3))) << "a name length short of the end";
  EXPECT_TRUE(decodes(with_byte(task, 70, 11)));

  const std::string paused = encoded(make_paused_task());
  EXPECT_TRUE(decodes(with_byte(paused, 71, 0)));
  EXPECT_FALSE(decodes(with_byte(paused, 71, 2))) << "pause mode";
  for (const task_state from : all_task_states) {
    EXPECT_EQ(decodes(with_byte(paused, 72, static_cast<int>(from))), is_pausable(from))
        << to_string(from);
  }
  EXPECT_FALSE(decodes(with_byte(paused, 72, 12))) << "paused from waiting_for_start";
  EXPECT_FALSE(decodes(with_byte(paused, 72, 13)));

  // set_state: kind 0, id 1..36, state 37, mode 38, from 39, version 40..47, changed_at
  // 48..55, awaiting 56, note 57..66.
  const std::string set = encoded(set_state_record{{.id = id, .state = task_state::stopping}, {}});
  ASSERT_EQ(set.size(), 67U);
  EXPECT_FALSE(decodes(with_byte(set, 37, 13)));
  EXPECT_FALSE(decodes(with_byte(set, 37, 12))) << "waiting, without its start time";
  EXPECT_FALSE(decodes(with_byte(set, 38, 1)));
  EXPECT_FALSE(decodes(with_byte(set, 39, 5)));
  EXPECT_FALSE(decodes(with_byte(with_byte(set, 37, 8), 39, 0))) << "paused from configuration";
  EXPECT_TRUE(decodes(with_byte(with_byte(set, 37, 8), 39, 5)));

  // put_family: created_at at 69, name length at 77, name at 79; each child: id 36, state,
  // mode, from, version 8, changed_at 8, awaiting 1.
  const family_spec f = make_family("");
  const std::string family = encoded(f);
  const std::size_t forward = 79;
  const std::size_t backward = forward + 56;
  ASSERT_EQ(family.size(), backward + 56);
  EXPECT_FALSE(decodes(with_byte(family, forward + 36, 13)));
  EXPECT_FALSE(decodes(with_byte(family, forward + 38, 0))) << "paused from configuration";
  EXPECT_FALSE(decodes(with_byte(family, backward + 37, 1))) << "a mode outside a pause";
  EXPECT_FALSE(decodes(with_byte(family, backward, 'A')));
  EXPECT_FALSE(decodes(with_byte(family, 77, 1))) << "a name length past the end";
  EXPECT_FALSE(decodes(with_byte(family, forward + 36, 12))) << "waiting, without its start time";
  EXPECT_FALSE(decodes(with_byte(family, backward + 36, 12))) << "waiting, without its start time";

  // A start time: 8 bytes after the version, exactly when the state is waiting_for_start,
  // and after the epoch.
  const std::string waiting_set = encoded(set_state_record{
      {.id = id, .state = task_state::waiting_for_start, .start_time = test_start_time}, {}});
  ASSERT_EQ(waiting_set.size(), 75U);
  EXPECT_TRUE(decodes(with_u64(waiting_set, 48, 1)));
  EXPECT_FALSE(decodes(with_u64(waiting_set, 48, 0))) << "a start time at the epoch";
  EXPECT_FALSE(decodes(with_u64(waiting_set, 48, std::uint64_t{1} << 63)))
      << "a start time past the clock's range";
  EXPECT_FALSE(decodes(waiting_set.substr(0, 48) + waiting_set.substr(56)))
      << "waiting without the 8 bytes";
  for (const task_state other : all_task_states) {
    if (other == task_state::waiting_for_start || other == task_state::paused) continue;
    EXPECT_FALSE(decodes(with_byte(waiting_set, 37, static_cast<int>(other))))
        << "a start time on " << to_string(other);
  }
  EXPECT_FALSE(decodes(set.substr(0, 48) + waiting_set.substr(48, 8) + set.substr(48)))
      << "a start time on stopping";

  // put_task: the start time at 81..88, then the times, the creation time and the name.
  const std::string waiting_task = encoded(make_waiting_task("name"));
  EXPECT_FALSE(decodes(with_u64(waiting_task, 81, 0))) << "a start time at the epoch";
  EXPECT_FALSE(decodes(with_byte(waiting_task, 70, 0))) << "a start time on configuration";
  EXPECT_FALSE(decodes(with_byte(waiting_task, 70, 1))) << "a start time on starting";
  // The encoder never writes a start time outside a wait: a decoder that finds one refuses.
  std::string configured_with_time = encoded(make_task("name"));
  configured_with_time.insert(81, waiting_task.substr(81, 8));
  EXPECT_FALSE(decodes(configured_with_time));

  // put_family: the forward child waits (its start time after its version), the backward
  // child is stopped.
  const std::string waiting_family = encoded(make_waiting_family(""));
  const std::size_t forward_time = forward + 36 + 11;
  const std::size_t waiting_backward = forward_time + 8 + 9;
  ASSERT_EQ(waiting_family.size(), 191U + 8);
  EXPECT_EQ(waiting_family[waiting_backward + 36], 10);  // stopped
  EXPECT_FALSE(decodes(with_u64(waiting_family, forward_time, 0))) << "a start time at the epoch";
  EXPECT_FALSE(decodes(with_byte(waiting_family, forward + 36, 0)))
      << "a start time on configuration";
  EXPECT_FALSE(decodes(with_byte(waiting_family, waiting_backward + 36, 12)))
      << "the backward child waiting without its start time";
  std::string stopped_with_time = waiting_family;
  stopped_with_time.insert(waiting_backward + 36 + 11, waiting_family.substr(forward_time, 8));
  EXPECT_FALSE(decodes(stopped_with_time)) << "a start time on the stopped backward child";
}

// --- headers and frames ------------------------------------------------------------------

TEST(Frame, HeadersRoundTripAndAreChecked) {
  std::string bytes;
  append_header({file_type::checkpoint, 0x1234}, bytes);
  ASSERT_EQ(bytes.size(), header_size);
  EXPECT_EQ(bytes.substr(0, 8), "taskckpt");
  std::string why;
  const auto h = read_header(bytes_of(bytes), file_type::checkpoint, why);
  ASSERT_TRUE(h) << why;
  EXPECT_EQ(h->lsn, 0x1234U);
  EXPECT_FALSE(read_header(bytes_of(bytes), file_type::journal_segment, why));
  EXPECT_NE(why.find("magic"), std::string::npos) << why;
  EXPECT_FALSE(read_header(bytes_of(bytes).first(31), file_type::checkpoint, why));
  for (const std::size_t at : {8U, 12U, 16U, 24U, 28U}) {
    EXPECT_FALSE(
        read_header(bytes_of(with_byte(bytes, at, bytes[at] ^ 1)), file_type::checkpoint, why))
        << at;
  }
  std::string segment;
  append_header({file_type::journal_segment, 1}, segment);
  EXPECT_EQ(segment.substr(0, 8), "taskjrnl");
  EXPECT_TRUE(read_header(bytes_of(segment), file_type::journal_segment, why));
}

TEST(Frame, HeadersOfEveryReadableFormatVersion) {
  // Version 2 added the waiting_for_start state and its start time, version 3 a task's times
  // and awaited command and the event feed; version 1 and 2 files are read.
  EXPECT_EQ(format_version, 3U);
  EXPECT_EQ(oldest_format_version, 1U);
  auto header_of_version = [](std::uint32_t version) {
    std::string bytes;
    append_header({file_type::journal_segment, 7}, bytes);
    for (std::size_t i = 0; i < 4; ++i) bytes[8 + i] = static_cast<char>(version >> (8 * i));
    const std::uint32_t crc = crc32c(bytes_of(bytes.substr(0, 24)));
    for (std::size_t i = 0; i < 4; ++i) bytes[24 + i] = static_cast<char>(crc >> (8 * i));
    return bytes;
  };
  std::string why;
  EXPECT_EQ(header_of_version(2).substr(8, 4), std::string("\x02\0\0\0", 4));
  // What append_header writes is the current version, whatever the header it is given says.
  std::string current;
  append_header({file_type::journal_segment, 7, 1}, current);
  EXPECT_EQ(current.substr(8, 4), std::string("\x03\0\0\0", 4));
  EXPECT_EQ(current, header_of_version(3));
  for (const std::uint32_t version : {1U, 2U, 3U}) {
    const auto h =
        read_header(bytes_of(header_of_version(version)), file_type::journal_segment, why);
    ASSERT_TRUE(h) << version << ": " << why;
    EXPECT_EQ(h->lsn, 7U);
    EXPECT_EQ(h->version, version) << "the file's version, read";
  }
  for (const std::uint32_t version : {0U, 4U, 0xffffffffU}) {
    EXPECT_FALSE(
        read_header(bytes_of(header_of_version(version)), file_type::journal_segment, why));
    EXPECT_NE(why.find("format version"), std::string::npos) << why;
  }
}

struct scanned {
  scan_result result;
  std::vector<std::uint64_t> offsets;
};

scanned scan(const std::string& file, bool accept = true) {
  scanned s;
  s.result =
      scan_frames(bytes_of(file), header_size, [&](std::span<const std::byte>, std::uint64_t at) {
        s.offsets.push_back(at);
        return accept;
      });
  return s;
}

TEST(Frame, FramesAreLengthCrcPayload) {
  std::string file;
  append_header({}, file);
  append_frame("hello", file);
  ASSERT_EQ(file.size(), header_size + 8 + 5);
  EXPECT_EQ(file.substr(32, 4), std::string("\x05\0\0\0", 4));
  const std::uint32_t crc = crc32c(bytes_of(file.substr(32, 4) + "hello"));
  std::string crc_bytes(4, '\0');
  for (int i = 0; i < 4; ++i) crc_bytes[i] = static_cast<char>(crc >> (8 * i));
  EXPECT_EQ(file.substr(36, 4), crc_bytes);

  std::string sealed;
  append_header({}, sealed);
  sealed.resize(sealed.size() + frame_overhead);
  sealed += "hello";
  seal_frame(sealed, header_size + frame_overhead);
  EXPECT_EQ(sealed, file);
}

TEST(Frame, ScanEndsCleanAtTheEndOrAtAZeroTail) {
  std::string file;
  append_header({}, file);
  for (int i = 0; i < 5; ++i) append_frame(std::string(10 + i, 'x'), file);
  const auto clean = scan(file);
  EXPECT_EQ(clean.result.end, scan_end::clean);
  EXPECT_EQ(clean.result.frames, 5U);
  EXPECT_EQ(clean.result.valid_end, file.size());
  EXPECT_EQ(clean.offsets.front(), header_size);

  for (const std::size_t zeros : {1U, 7U, 8U, 4096U}) {
    const auto tail = scan(file + std::string(zeros, '\0'));
    EXPECT_EQ(tail.result.end, scan_end::clean) << zeros;
    EXPECT_EQ(tail.result.frames, 5U);
    EXPECT_EQ(tail.result.valid_end, file.size());
  }
  std::string dirty_tail = file + std::string(100, '\0');
  dirty_tail[file.size() + 50] = 1;
  const auto dirty = scan(dirty_tail);
  EXPECT_EQ(dirty.result.end, scan_end::torn);
  EXPECT_EQ(dirty.result.bad_offset, file.size());
  EXPECT_EQ(dirty.result.valid_end, file.size());
}

TEST(Frame, DamageFollowedByAValidFrameIsCorruptElseTorn) {
  std::string file;
  append_header({}, file);
  std::vector<std::size_t> offsets;
  for (int i = 0; i < 6; ++i) {
    offsets.push_back(file.size());
    append_frame(std::string(20, static_cast<char>('a' + i)), file);
  }
  const auto middle = scan(with_byte(file, offsets[2] + 12, 'z'));
  EXPECT_EQ(middle.result.end, scan_end::corrupt);
  EXPECT_EQ(middle.result.bad_offset, offsets[2]);
  EXPECT_EQ(middle.result.valid_end, offsets[2]);
  EXPECT_EQ(middle.result.frames, 2U);
  EXPECT_EQ(middle.result.why, "crc mismatch");

  const auto last = scan(with_byte(file, offsets[5] + 12, 'z'));
  EXPECT_EQ(last.result.end, scan_end::torn);
  EXPECT_EQ(last.result.bad_offset, offsets[5]);

  std::string long_length = with_byte(file, offsets[5] + 1, 1);  // length 20 + 256
  const auto past = scan(long_length);
  EXPECT_EQ(past.result.end, scan_end::torn);
  EXPECT_EQ(past.result.why,
            fmt::format("length 276 runs past the end of the file at {}", file.size()));
  const auto huge = scan(with_byte(file, offsets[1] + 3, 0x7f));
  EXPECT_EQ(huge.result.end, scan_end::corrupt);
  EXPECT_NE(huge.result.why.find("exceeds"), std::string::npos) << huge.result.why;
}

TEST(Frame, ARejectedPayloadEndsTheScanCorruptAtIt) {
  std::string file;
  append_header({}, file);
  append_frame("one", file);
  const auto rejected = scan(file, false);
  EXPECT_EQ(rejected.result.end, scan_end::corrupt);
  EXPECT_EQ(rejected.result.bad_offset, header_size);
  EXPECT_EQ(rejected.result.frames, 0U);
  EXPECT_EQ(rejected.result.why, "record does not decode");
}

// --- file names --------------------------------------------------------------------------

TEST(DataDirectory, NamesAndClassification) {
  EXPECT_EQ(segment_name(0xab), "journal-00000000000000ab.seg");
  EXPECT_EQ(checkpoint_name(1), "checkpoint-0000000000000001.ckpt");
  EXPECT_EQ(checkpoint_temp_name(0xffffffffffffffff), "checkpoint-ffffffffffffffff.tmp");
  const auto listing =
      classify({"LOCK", segment_name(20), segment_name(3), checkpoint_name(9), checkpoint_name(2),
                checkpoint_temp_name(4), "journal-00000000000000AB.seg", "journal-1.seg",
                "notes.txt", "checkpoint-000000000000000g.ckpt"});
  ASSERT_EQ(listing.segments.size(), 2U);
  EXPECT_EQ(listing.segments[0].lsn, 3U);
  EXPECT_EQ(listing.segments[1].name, segment_name(20));
  ASSERT_EQ(listing.checkpoints.size(), 2U);
  EXPECT_EQ(listing.checkpoints[0].lsn, 2U);
  EXPECT_EQ(listing.temporaries, std::vector<std::string>{checkpoint_temp_name(4)});
  EXPECT_EQ(listing.unknown, (std::vector<std::string>{"checkpoint-000000000000000g.ckpt",
                                                       "journal-00000000000000AB.seg",
                                                       "journal-1.seg", "notes.txt"}));
}

// --- checkpoints -------------------------------------------------------------------------

std::vector<registration> sample_registry() {
  std::vector<registration> tasks = {make_task(), make_paused_task(), make_family(),
                                     make_task(std::string(1000, 'l')), make_family("")};
  task_spec deleted = make_task("gone");
  deleted.state = task_state::deleted;
  tasks.emplace_back(deleted);
  tasks.emplace_back(make_waiting_task());
  tasks.emplace_back(make_waiting_family());
  task_spec timed = make_task("timed");
  timed.state = task_state::starting;
  timed.created_at = test_start_time;
  timed.changed_at = test_start_time + std::chrono::seconds(5);
  timed.awaiting = task_event::start;
  tasks.emplace_back(timed);
  family_spec timed_family = make_family("timed family");
  timed_family.created_at = test_start_time;
  timed_family.backward.changed_at = test_start_time + std::chrono::seconds(1);
  timed_family.backward.awaiting = task_event::resume;
  tasks.emplace_back(timed_family);
  return tasks;
}

TEST(Checkpoint, RoundTrips) {
  temp_directory dir;
  auto files = posix_files();
  const auto tasks = sample_registry();
  ASSERT_FALSE(write_checkpoint(*files, dir.path(), 42, tasks, {}));
  checkpoint_contents back;
  std::string why;
  ASSERT_TRUE(read_checkpoint(*files, dir.path() / checkpoint_name(42), back, why)) << why;
  EXPECT_EQ(back.lsn, 42U);
  EXPECT_EQ(back.tasks, tasks);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / checkpoint_temp_name(42)));

  ASSERT_FALSE(write_checkpoint(*files, dir.path(), 0, {}, {}));
  ASSERT_TRUE(read_checkpoint(*files, dir.path() / checkpoint_name(0), back, why)) << why;
  EXPECT_TRUE(back.tasks.empty());
}

TEST(Checkpoint, ALargeRegistryIsWrittenInPieces) {
  temp_directory dir;
  auto files = std::make_shared<faulty_files>();
  std::vector<registration> tasks;
  for (int i = 0; i < 30000; ++i) tasks.emplace_back(make_task("t"));  // ~2.7 MB
  ASSERT_FALSE(write_checkpoint(*files, dir.path(), 1, tasks, {}));
  EXPECT_GE(files->calls(file_op::write), 3U);
  checkpoint_contents back;
  std::string why;
  ASSERT_TRUE(read_checkpoint(*files, dir.path() / checkpoint_name(1), back, why)) << why;
  EXPECT_EQ(back.tasks, tasks);
}

/// Reads a damaged copy of a checkpoint; returns why it was refused.
std::string refusal(const std::string& bytes) {
  temp_directory dir;
  const auto path = dir.path() / checkpoint_name(5);
  write_file(path, bytes);
  checkpoint_contents back;
  std::string why;
  EXPECT_FALSE(read_checkpoint(*posix_files(), path, back, why));
  EXPECT_NE(why.find(path.string()), std::string::npos) << why;
  return why;
}

TEST(Checkpoint, DamageIsRefusedWithFileAndOffset) {
  temp_directory dir;
  auto files = posix_files();
  const auto tasks = sample_registry();
  ASSERT_FALSE(write_checkpoint(*files, dir.path(), 5, tasks, {}));
  const std::string good = read_file(dir.path() / checkpoint_name(5));

  EXPECT_NE(refusal(with_byte(good, 40, good[40] ^ 4)).find("crc mismatch at offset 32"),
            std::string::npos);
  EXPECT_NE(refusal(with_byte(good, 0, 'X')).find("at offset 0"), std::string::npos);
  // Without its end record (9 + 8 bytes): not a checkpoint.
  const std::size_t end_frame = good.size() - 17;
  EXPECT_NE(refusal(good.substr(0, end_frame)).find("no end record"), std::string::npos);
  // A cut anywhere else fails too.
  for (std::size_t size = header_size; size < good.size(); size += 7) refusal(good.substr(0, size));
  EXPECT_NE(refusal(good + "x").find(fmt::format("offset {}", good.size())), std::string::npos);

  std::string miscounted = good.substr(0, end_frame);
  append_frame(encoded(end_record{tasks.size() + 1}), miscounted);
  EXPECT_NE(refusal(miscounted).find(fmt::format("counts {}", tasks.size() + 1)),
            std::string::npos);

  std::string after_end = good;
  append_frame(encoded(make_task()), after_end);
  EXPECT_NE(refusal(after_end).find(fmt::format("after the end record at offset {}", good.size())),
            std::string::npos);

  std::string journal_record = good.substr(0, end_frame);
  append_frame(encoded(erase_task_record{job_id::mint()}), journal_record);
  EXPECT_NE(refusal(journal_record).find(fmt::format("at offset {}", end_frame)),
            std::string::npos);
}

TEST(Checkpoint, AFailedWritePublishesNothingAndLeavesNoTemporary) {
  for (const file_op op : {file_op::create, file_op::write, file_op::sync, file_op::rename}) {
    temp_directory dir;
    auto files = std::make_shared<faulty_files>();
    files->fail(op, 1, op == file_op::sync_directory ? EIO : ENOSPC);
    const std::error_code ec = write_checkpoint(*files, dir.path(), 9, sample_registry(), {});
    EXPECT_TRUE(ec) << static_cast<int>(op);
    std::vector<std::string> names;
    ASSERT_FALSE(files->list(dir.path(), names));
    EXPECT_TRUE(names.empty()) << static_cast<int>(op) << ": " << names.front();
  }
  // A failed sync of the directory after the rename is reported, and the checkpoint, whole and
  // synced, stays: it may have replaced one of the same lsn, which must not be lost.
  {
    temp_directory dir;
    auto files = std::make_shared<faulty_files>();
    ASSERT_FALSE(write_checkpoint(*files, dir.path(), 9, sample_registry(), {}));
    files->fail(file_op::sync_directory, files->calls(file_op::sync_directory) + 1, EIO);
    EXPECT_TRUE(write_checkpoint(*files, dir.path(), 9, sample_registry(), {}));
    checkpoint_contents back;
    std::string why;
    EXPECT_TRUE(read_checkpoint(*files, dir.path() / checkpoint_name(9), back, why)) << why;
    EXPECT_FALSE(std::filesystem::exists(dir.path() / checkpoint_temp_name(9)));
  }
  // A stale temporary of the same checkpoint is replaced.
  temp_directory dir;
  write_file(dir.path() / checkpoint_temp_name(3), "stale");
  ASSERT_FALSE(write_checkpoint(*posix_files(), dir.path(), 3, sample_registry(), {}));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / checkpoint_temp_name(3)));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / checkpoint_name(3)));
}

}  // namespace
}  // namespace taskorch::storage
