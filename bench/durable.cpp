#include "durable.hpp"

#include "engine_impl.hpp"
#include "pause_cycle.hpp"
#include "workload.hpp"

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <tuple>
#include <unistd.h>
#include <utility>

namespace taskorch::bench {

namespace {

using clock = std::chrono::steady_clock;

std::filesystem::path data_root;  // scale::data_dir

/// A fresh directory under data_root, removed with its files when destroyed.
class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (data_root / "taskorch-bench-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
    }
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

/// The type of the filesystem holding `path` ("ext4", "tmpfs", ...): the longest mount point
/// of /proc/mounts that contains it.
std::string filesystem_type(const std::filesystem::path& path) {
  const std::string where = std::filesystem::weakly_canonical(path).string() + "/";
  std::ifstream mounts("/proc/mounts");
  std::string device, mount_point, type, rest, found = "unknown";
  std::size_t longest = 0;
  while (mounts >> device >> mount_point >> type && std::getline(mounts, rest)) {
    const std::string prefix = mount_point == "/" ? "/" : mount_point + "/";
    if (where.starts_with(prefix) && prefix.size() >= longest) {
      longest = prefix.size();
      found = type;
    }
  }
  return found;
}

/// Writes out everything cached for the filesystem of `dir` (syncfs(2)): a case's setup
/// writes hundreds of megabytes, and an fdatasync timed while they are written back waits for
/// them (ext4 orders a file's new blocks before the journal commit that an append needs).
void sync_filesystem(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const bool ok = fd >= 0 && ::syncfs(fd) == 0;
  if (fd >= 0) ::close(fd);
  if (!ok) throw std::system_error(errno, std::generic_category(), "syncfs " + dir.string());
}

// -- the registry of the durable cases -----------------------------------------------------

/// The fleet with every task running (incremental transfer), so that every pause and every
/// resume of a batch changes each of its tasks: B records per batch, as the floor writes.
const fleet& running_fleet(std::size_t n) {
  static std::mutex mutex;
  static std::map<std::size_t, std::unique_ptr<fleet>> fleets;
  std::lock_guard lock(mutex);
  std::unique_ptr<fleet>& f = fleets[n];
  if (!f) {
    f = std::make_unique<fleet>(make_fleet(n));
    for (fleet_task& t : f->tasks) t.cell = {.state = task_state::incremental_transfer};
  }
  return *f;
}

const id_stream& running_stream(std::size_t n) {
  static std::mutex mutex;
  static std::map<std::size_t, std::unique_ptr<id_stream>> streams;
  std::lock_guard lock(mutex);
  std::unique_ptr<id_stream>& s = streams[n];
  if (!s) s = std::make_unique<id_stream>(running_fleet(n), n);
  return *s;
}

/// How the registry is kept: a durability mode in a data directory, or in memory only.
struct storage_mode {
  std::string_view name;
  std::optional<durability> mode;  ///< nullopt: no data directory
};

constexpr storage_mode always{"always", durability::always};
constexpr storage_mode interval{"interval", durability::interval};
constexpr storage_mode none{"none", durability::none};
constexpr storage_mode in_memory{"in_memory", std::nullopt};

/// An engine holding the running fleet, in a data directory of its own; the fleet is
/// registered (through the journal, unless none) and checkpointed, so that the timed loops
/// start with a short journal.
struct durable_engine {
  durable_engine(const fleet& f, const storage_mode& m)
      : impl(f, {.storage = {.directory = m.mode ? dir.path() : std::filesystem::path(),
                             .mode = m.mode.value_or(durability::none)}}) {
    if (error_code ec = impl.engine().checkpoint()) throw std::system_error(ec);
    sync_filesystem(data_root);
  }
  temp_dir dir;  // first: removed after the engine has stopped
  engine_impl impl;
};

/// One engine per mode and size, built the first time and kept to the end of the run.
durable_engine& durable_of(const storage_mode& m, std::size_t n) {
  static std::mutex mutex;
  static std::map<std::pair<std::string_view, std::size_t>, std::unique_ptr<durable_engine>>
      engines;
  std::lock_guard lock(mutex);
  std::unique_ptr<durable_engine>& e = engines[{m.name, n}];
  if (!e) e = std::make_unique<durable_engine>(running_fleet(n), m);
  return *e;
}

/// The bytes the journal writes for one pause of one task (frame and set_state record),
/// measured on an engine of one task.
std::size_t record_bytes() {
  static const std::size_t bytes = [] {
    durable_engine e(running_fleet(1), always);
    const storage_stats before = e.impl.engine().storage();
    const id_stream& ids = running_stream(1);
    e.impl.command(ids.window(0, 1), task_event::pause, pause_mode::target);
    const storage_stats after = e.impl.engine().storage();
    if (after.records != before.records + 1) throw std::logic_error("a pause wrote no record");
    return static_cast<std::size_t>(after.journal_bytes - before.journal_bytes);
  }();
  return bytes;
}

// -- the cases -----------------------------------------------------------------------------

/// Where a caller thread of a durable case is in its pause/resume cycle. Kept from one run
/// of the case to the next (Google Benchmark runs a case several times), so that no run
/// starts by pausing the window the run before left paused, which would change nothing.
std::size_t& position_of(const engine_impl* impl, std::size_t b, const benchmark::State& st) {
  static std::mutex mutex;
  static std::map<std::tuple<const engine_impl*, std::size_t, int, int>, std::size_t> positions;
  std::lock_guard lock(mutex);
  return positions[{impl, b, st.threads(), st.thread_index()}];
}

/// durable/<mode>: pauses a window of the running fleet, then resumes it, alternately (the
/// `pause` case). Thread 0 reports the journal's work over the whole run (every thread runs
/// the same number of iterations): records per item, fdatasyncs per batch, records per sync.
void bench_durable(benchmark::State& st, const storage_mode& m) {
  const auto n = static_cast<std::size_t>(st.range(0));
  const auto b = static_cast<std::size_t>(st.range(1));
  engine_impl& impl = durable_of(m, n).impl;
  const id_stream& ids = running_stream(n);
  const storage_stats before = impl.engine().storage();
  run_pause(st, impl, ids, b, position_of(&impl, b, st));
  const storage_stats after = impl.engine().storage();
  if (st.thread_index() != 0 || !after.enabled || m.mode == durability::none) return;
  const auto batches = static_cast<double>(st.iterations() * st.threads());
  const auto records = static_cast<double>(after.records - before.records);
  const auto syncs = static_cast<double>(after.syncs - before.syncs);
  st.counters["records_per_item"] = records / (batches * static_cast<double>(b));
  st.counters["syncs_per_batch"] = syncs / batches;
  if (syncs > 0) st.counters["records_per_sync"] = records / syncs;
}

/// How the floor's file is prepared.
enum class prealloc {
  append,     ///< appended to, growing (a journal segment not yet zero-filled ahead)
  fallocate,  ///< the segment reserved first (fallocate, FALLOC_FL_KEEP_SIZE), then appended to
  zeroed,     ///< the segment written with zeros and synced first, then overwritten
};

/// durable/floor*: write(2) of B records' bytes then fdatasync(2), in a loop, in a file of
/// the journal's segment size on the data directory's filesystem: what durability::always
/// costs at B records per sync, and no more. One item = one record.
void bench_floor(benchmark::State& st, prealloc how) {
  const auto b = static_cast<std::size_t>(st.range(0));
  const std::string bytes(b * record_bytes(), 'r');
  const std::uint64_t segment = storage_options{}.segment_bytes;
  const temp_dir dir;
  const std::filesystem::path path = dir.path() / "floor.seg";
  const int fd =
      ::open(path.c_str(),
             O_WRONLY | O_CREAT | O_CLOEXEC | (how == prealloc::zeroed ? 0 : O_APPEND), 0644);
  if (fd < 0) return fail(st, "floor: cannot create the file");
  // Empties the file and prepares it again (at the start, and whenever the segment is full).
  const auto prepare = [&] {
    bool ok = ::ftruncate(fd, 0) == 0;
    if (how == prealloc::fallocate) {
      ok = ok && ::fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(segment)) == 0;
    } else if (how == prealloc::zeroed) {
      const std::string zeros(1 << 20, '\0');
      for (std::uint64_t at = 0; ok && at < segment; at += zeros.size()) {
        ok = ::pwrite(fd, zeros.data(), zeros.size(), static_cast<off_t>(at)) ==
             static_cast<ssize_t>(zeros.size());
      }
    }
    return ok && ::fsync(fd) == 0;
  };
  bool ok = prepare();
  std::uint64_t at = 0;
  for (auto _ : st) {
    if (!ok) break;
    if (at + bytes.size() > segment) {
      st.PauseTiming();
      ok = prepare();
      at = 0;
      st.ResumeTiming();
    }
    const ssize_t written = how == prealloc::zeroed
                                ? ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(at))
                                : ::write(fd, bytes.data(), bytes.size());
    ok = ok && written == static_cast<ssize_t>(bytes.size()) && ::fdatasync(fd) == 0;
    at += bytes.size();
  }
  ::close(fd);
  if (!ok) return fail(st, "floor: a write or fdatasync failed");
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * b));
  st.counters["bytes_per_record"] = static_cast<double>(record_bytes());
}

/// Copies the files of `from` (not its LOCK) into `to`, syncs them, and drops them from the
/// page cache, so that what reads them next reads the disk.
void copy_cold(const std::filesystem::path& from, const std::filesystem::path& to) {
  for (const auto& entry : std::filesystem::directory_iterator(from)) {
    if (entry.path().filename() == "LOCK") continue;
    const std::filesystem::path target = to / entry.path().filename();
    std::filesystem::copy_file(entry.path(), target);
    const int fd = ::open(target.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0 || ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) != 0) {
      if (fd >= 0) ::close(fd);
      throw std::system_error(errno, std::generic_category(), "syncing " + target.string());
    }
    ::close(fd);
  }
}

/// A data directory holding a checkpoint of the running fleet of n tasks and `records`
/// set_state records after it: a copy of a running engine's directory, as a crash of the
/// process would leave it (the engine's last checkpoint at stop goes to its own directory).
struct crashed_directory {
  crashed_directory(std::size_t n, std::size_t records) {
    durable_engine live(running_fleet(n), interval);
    const id_stream& ids = running_stream(n);
    const std::size_t b = std::min<std::size_t>(10000, records);
    for (std::size_t done = 0; done < records; done += b) {  // distinct windows: all change
      live.impl.command(ids.window(done / b, b), task_event::pause, pause_mode::target);
    }
    if (live.impl.engine().storage().records != n + records) {
      throw std::logic_error("recovery: the journal does not hold the records expected");
    }
    copy_cold(live.dir.path(), copy.path());
  }
  temp_dir copy;
};

/// durable/recovery: constructs an engine on a fresh copy of a crashed directory (cold: out
/// of the page cache); the time is the constructor's (manual time). Counters: the engine's own
/// recovery_duration and the records it replayed.
void bench_recovery(benchmark::State& st) {
  const auto n = static_cast<std::size_t>(st.range(0));
  const auto records = static_cast<std::size_t>(st.range(1));
  const crashed_directory source(n, records);
  sync_filesystem(data_root);
  for (auto _ : st) {
    const temp_dir run;
    copy_cold(source.copy.path(), run.path());
    const auto begin = clock::now();
    engine recovered({.storage = {.directory = run.path()}});
    const std::chrono::duration<double> took = clock::now() - begin;
    st.SetIterationTime(took.count());
    const storage_stats s = recovered.storage();
    if (s.recovered_records != records) return fail(st, "recovery: not every record replayed");
    st.counters["engine_recovery_s"] = std::chrono::duration<double>(s.recovery_duration).count();
    st.counters["recovered_records"] = static_cast<double>(s.recovered_records);
  }
}

/// checkpoint/<mode>: a client thread pauses and resumes batches of B for a second, then
/// while engine::checkpoint() runs; reported is the longest batch of each phase (a batch that
/// overlaps the checkpoint counts in the second) and the engine's longest_checkpoint_pause
/// (the longest time a checkpoint held every shard, before and after this one). Time: the
/// checkpoint's (manual time).
void bench_checkpoint(benchmark::State& st, const storage_mode& m) {
  const auto n = static_cast<std::size_t>(st.range(0));
  const auto b = static_cast<std::size_t>(st.range(1));
  engine_impl& impl = durable_of(m, n).impl;
  const id_stream& ids = running_stream(n);
  for (auto _ : st) {
    const storage_stats before = impl.engine().storage();
    std::atomic<int> phase{0};  // 0: no checkpoint, 1: checkpoint running, 2: stop
    std::array<clock::duration, 2> longest{};
    std::thread client([&] {
      for (std::size_t k = 0; phase.load() != 2; ++k) {
        const int started = phase.load();
        const auto begin = clock::now();
        const task_event event = k % 2 == 0 ? task_event::pause : task_event::resume;
        impl.command(ids.window(k / 2, b), event, pause_mode::target);
        const auto took = clock::now() - begin;
        const std::size_t p = started == 0 && phase.load() == 0 ? 0 : 1;
        longest[p] = std::max(longest[p], took);
      }
    });
    std::this_thread::sleep_for(std::chrono::seconds(1));
    phase = 1;
    const auto begin = clock::now();
    const error_code ec = impl.engine().checkpoint();
    const std::chrono::duration<double> took = clock::now() - begin;
    phase = 2;
    client.join();
    if (ec) return fail(st, "checkpoint: engine::checkpoint() failed");
    st.SetIterationTime(took.count());
    using ms = std::chrono::duration<double, std::milli>;
    st.counters["longest_batch_ms"] = ms(longest[0]).count();
    st.counters["longest_batch_during_ms"] = ms(longest[1]).count();
    // The engine keeps the longest pause of all its checkpoints (the setup's included): when
    // it grew, it is this checkpoint's.
    st.counters["longest_pause_before_ms"] = ms(before.longest_checkpoint_pause).count();
    st.counters["longest_checkpoint_pause_ms"] =
        ms(impl.engine().storage().longest_checkpoint_pause).count();
  }
}

void sized(benchmark::internal::Benchmark* b, std::size_t tasks, std::size_t batch) {
  b->Args({static_cast<std::int64_t>(tasks), static_cast<std::int64_t>(batch)})
      ->ArgNames({"tasks", "batch"});
}

}  // namespace

void register_durable_cases(const scale& s) {
  data_root = s.data_dir;
  benchmark::AddCustomContext("taskorch_data_dir", data_root.string());
  benchmark::AddCustomContext("taskorch_data_dir_fs", filesystem_type(data_root));
  // Each floor runs next to the engine cases it is compared with (records per fdatasync: B
  // for one caller, up to 8 x B for eight): the disk's latency drifts over minutes.
  const auto floors = [](std::size_t batch) {
    for (const auto& [how, name] :
         {std::pair{prealloc::append, "floor"}, std::pair{prealloc::fallocate, "floor_fallocate"},
          std::pair{prealloc::zeroed, "floor_zeroed"}}) {
      benchmark::RegisterBenchmark(fmt::format("durable/{}", name).c_str(),
                                   [how = how](benchmark::State& st) { bench_floor(st, how); })
          ->Arg(static_cast<std::int64_t>(batch))
          ->ArgName("batch")
          ->UseRealTime();
    }
  };
  for (std::size_t batch : s.durable_batches) {
    floors(batch);
    if (batch < s.durable_batches.back()) floors(8 * batch);
    for (const storage_mode* m : {&always, &interval, &none, &in_memory}) {
      for (int threads : {1, 8}) {
        auto* b =
            benchmark::RegisterBenchmark(fmt::format("durable/{}", m->name).c_str(),
                                         [m](benchmark::State& st) { bench_durable(st, *m); });
        sized(b, s.durable_tasks, batch);
        b->UseRealTime()->Threads(threads);
      }
    }
  }
  benchmark::RegisterBenchmark("durable/recovery", bench_recovery)
      ->Args({static_cast<std::int64_t>(s.durable_tasks),
              static_cast<std::int64_t>(s.recovery_records)})
      ->ArgNames({"tasks", "records"})
      ->UseManualTime()
      ->Iterations(1);
  for (const storage_mode* m : {&always, &interval}) {
    auto* b = benchmark::RegisterBenchmark(fmt::format("checkpoint/{}", m->name).c_str(),
                                           [m](benchmark::State& st) { bench_checkpoint(st, *m); });
    sized(b, s.durable_tasks, 10);
    b->UseManualTime()->Iterations(1);
  }
}

}  // namespace taskorch::bench
