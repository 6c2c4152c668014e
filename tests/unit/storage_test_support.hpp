#pragma once
// What the storage tests share: registrations to store, and whole files read and written.

#include "storage/frame.hpp"
#include "storage/record.hpp"
#include <taskorch/task_spec.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace taskorch::storage::test {

inline project_id test_project() { return *project_id::parse("054ba152d480d55b2f5dc0069e7ddef0"); }

inline task_spec make_task(std::string name = {}) {
  return {.id = job_id::mint(),
          .project = test_project(),
          .kind = task_kind::sync,
          .state = task_state::incremental_transfer,
          .name = std::move(name),
          .version = 7};
}

inline task_spec make_paused_task() {
  task_spec t = make_task("paused");
  t.state = task_state::paused;
  t.pause = pause_info{pause_mode::all, task_state::full_transfer_failed};
  return t;
}

/// A task waiting for a start at 2023-11-14T22:13:20.123Z.
inline constexpr wall_time test_start_time{std::chrono::milliseconds(1'700'000'000'123)};

inline task_spec make_waiting_task(std::string name = "waiting") {
  task_spec t = make_task(std::move(name));
  t.state = task_state::waiting_for_start;
  t.start_time = test_start_time;
  return t;
}

/// A family whose forward child waits for its start and whose backward child is stopped.
inline family_spec make_waiting_family(std::string name = "a waiting family") {
  return {.id = job_id::mint(),
          .project = test_project(),
          .name = std::move(name),
          .forward = {.id = job_id::mint(),
                      .state = task_state::waiting_for_start,
                      .start_time = test_start_time,
                      .version = 5},
          .backward = {.id = job_id::mint(), .state = task_state::stopped, .version = 6}};
}

inline family_spec make_family(std::string name = "a family") {
  return {.id = job_id::mint(),
          .project = test_project(),
          .name = std::move(name),
          .forward = {.id = job_id::mint(),
                      .state = task_state::paused,
                      .pause = pause_info{pause_mode::target, task_state::incremental_transfer},
                      .version = 3},
          .backward = {.id = job_id::mint(), .state = task_state::full_transfer, .version = 4}};
}

inline std::string encoded(const record& r) {
  std::string out;
  encode(r, out);
  return out;
}

inline std::span<const std::byte> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

/// A journal segment starting at `first_lsn` holding `records`; `offsets` receives where
/// each frame starts.
inline std::string segment_bytes(std::uint64_t first_lsn, const std::vector<record>& records,
                                 std::vector<std::size_t>* offsets = nullptr) {
  std::string out;
  append_header({file_type::journal_segment, first_lsn}, out);
  for (const record& r : records) {
    if (offsets != nullptr) offsets->push_back(out.size());
    append_frame(encoded(r), out);
  }
  return out;
}

/// `bytes` with bit `bit` of byte `at` flipped.
inline std::string with_flipped_bit(std::string bytes, std::size_t at, std::size_t bit) {
  bytes[at] = static_cast<char>(bytes[at] ^ (1 << bit));
  return bytes;
}

inline void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace taskorch::storage::test
