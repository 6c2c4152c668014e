#include "cases.hpp"

#include "baselines/cuckoo_map.hpp"
#include "baselines/floor_table.hpp"
#include "baselines/handler_floor.hpp"
#include "baselines/mutex_map.hpp"
#include "baselines/shared_mutex_map.hpp"
#include "baselines/tbb_map.hpp"
#include "duplicate_ids.hpp"
#include "engine_impl.hpp"
#include "pause_cycle.hpp"
#include "workload.hpp"
#include <taskorch/http/api.hpp>
#include <taskorch/http/body_parser.hpp>
#include <taskorch/http/request_signature.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <malloc.h>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/wait.h>
#include <unistd.h>
#include <variant>
#include <vector>

namespace taskorch::bench {

namespace {

std::atomic<bool> failed{false};

// -- shared state: built once per size, outside the timed loops ---------------------------

/// The value of type T for size n, built by `make` the first time (thread-safe; `make` may
/// use the cache of another type).
template <class T, class Make>
T& cached(std::size_t n, Make make) {
  static std::mutex mutex;
  static std::map<std::size_t, std::unique_ptr<T>> values;
  std::lock_guard lock(mutex);
  std::unique_ptr<T>& v = values[n];
  if (!v) v = make();
  return *v;
}

const fleet& fleet_of(std::size_t n) {
  return cached<fleet>(n, [n] { return std::make_unique<fleet>(make_fleet(n)); });
}

const id_stream& stream_of(std::size_t n) {
  return cached<id_stream>(n, [n] { return std::make_unique<id_stream>(fleet_of(n), n); });
}

template <class Impl>
Impl& registry_of(std::size_t n) {
  const fleet& f = fleet_of(n);
  return cached<Impl>(n, [&f] { return std::make_unique<Impl>(f); });
}

/// floor_shards: one floor_table per thread, each given only its own shard's ids.
struct shard_floors {
  static constexpr std::size_t shards = 2;
  explicit shard_floors(const fleet& f) {
    for (std::size_t s = 0; s < shards; ++s) {
      tables.push_back(std::make_unique<floor_table>(f, s, shards));
      streams.push_back(std::make_unique<id_stream>(
          f, f.tasks.size(), 2, [s](const job_id& id) { return shard_of(id, shards) == s; }));
    }
  }
  std::vector<std::unique_ptr<floor_table>> tables;
  std::vector<std::unique_ptr<id_stream>> streams;
};

// -- the cases -----------------------------------------------------------------------------

/// Cycles through mixed_cycle, each operation of a cycle on the same window.
template <class Impl>
void run_mixed(benchmark::State& st, Impl& impl, const id_stream& ids, std::size_t b) {
  constexpr std::size_t cycle = std::size(mixed_cycle);
  const std::size_t start = first_window(st, ids.distinct(), b);
  std::size_t k = 0;
  for (auto _ : st) {
    const mixed_op& op = mixed_cycle[k % cycle];
    const batch_view batch = ids.window(start + k / cycle, b);
    if (op.kind == mixed_op::command) {
      batch_result r = impl.command(batch, op.event, pause_mode::target);
      benchmark::DoNotOptimize(r.data());
    } else {
      std::vector<status_result> r = impl.status(batch);
      benchmark::DoNotOptimize(r.data());
    }
    ++k;
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * b));
}

enum class case_kind { pause, mixed };

template <class Impl>
void bench_case(benchmark::State& st, case_kind c) {
  const auto n = static_cast<std::size_t>(st.range(0));
  const auto b = static_cast<std::size_t>(st.range(1));
  Impl& impl = registry_of<Impl>(n);
  const id_stream& ids = stream_of(n);
  if (c == case_kind::pause) {
    std::size_t k = 0;
    run_pause(st, impl, ids, b, k);
  } else {
    run_mixed(st, impl, ids, b);
  }
}

/// Each thread works on its own shard's table with its share of every batch, pre-routed.
void bench_floor_shards(benchmark::State& st, case_kind c) {
  const auto n = static_cast<std::size_t>(st.range(0));
  const auto b = static_cast<std::size_t>(st.range(1));
  shard_floors& floors = registry_of<shard_floors>(n);
  const auto t = static_cast<std::size_t>(st.thread_index());
  const std::size_t share = std::max<std::size_t>(1, b / shard_floors::shards);
  if (c == case_kind::pause) {
    std::size_t k = 0;
    run_pause(st, *floors.tables[t], *floors.streams[t], share, k);
  } else {
    run_mixed(st, *floors.tables[t], *floors.streams[t], share);
  }
}

/// The request bodies of batch-pause-task for consecutive windows of `b` ids.
std::vector<std::string> pause_bodies(const id_stream& ids, std::size_t b) {
  const std::size_t count = std::clamp<std::size_t>(ids.distinct() / b, 1, 4096);
  std::vector<std::string> bodies(count);
  for (std::size_t k = 0; k < count; ++k) {
    std::string& body = bodies[k];
    body = "{\"jobs\":[";
    const batch_view batch = ids.window(k, b);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (i != 0) body += ',';
      fmt::format_to(std::back_inserter(body), R"({{"job_id":"{}","pause_mode":"target"}})",
                     batch.texts[i]);
    }
    body += "]}";
  }
  return bodies;
}

/// handler/engine: taskorch::http::api over the engine, answered on the caller's own
/// io_context as a server thread would be.
void bench_handler_engine(benchmark::State& st) {
  const auto n = static_cast<std::size_t>(st.range(0));
  const auto b = static_cast<std::size_t>(st.range(1));
  engine_impl& impl = registry_of<engine_impl>(n);
  const std::vector<std::string> bodies = pause_bodies(stream_of(n), b);
  http::api api(impl.engine(), http::api_callers(),
                {.max_jobs = std::max<std::size_t>(b, 10000), .max_body = std::size_t{1} << 30});
  const http::accepted_request request{http::endpoint::batch_pause, fleet_of(n).project,
                                       http::language::en_us};
  boost::asio::io_context caller(1);
  std::size_t k = 0;
  for (auto _ : st) {
    http::response answer;
    api.async_handle(
        request, bodies[k++ % bodies.size()],
        boost::asio::bind_executor(caller, [&answer](http::response r) { answer = std::move(r); }));
    caller.run();
    caller.restart();
    if (answer.status != 200) fail(st, "handler/engine: the answer is not 200");
    benchmark::DoNotOptimize(answer.body.data());
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * b));
}

/// One signed request of handler/signed: its headers (Authorization last) and body.
struct signed_body {
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

/// The bodies of pause_bodies, each signed with `secret_key` as the official SDKs sign them.
std::vector<signed_body> signed_pause_bodies(const id_stream& ids, std::size_t b,
                                             std::string_view target, std::string_view project,
                                             std::string_view secret_key) {
  const std::string date = fmt::format(
      "{:%Y%m%dT%H%M%SZ}",
      fmt::gmtime(std::chrono::system_clock::to_time_t(std::chrono::system_clock::now())));
  const std::vector<std::string> names{"content-type", "host", "x-project-id", "x-sdk-date"};
  std::vector<signed_body> out;
  for (std::string& body : pause_bodies(ids, b)) {
    signed_body s{{{"Content-Type", "application/json"},
                   {"Host", "127.0.0.1:8080"},
                   {"X-Project-Id", std::string(project)},
                   {"X-Sdk-Date", date}},
                  std::move(body)};
    std::vector<http::header_field> fields;
    for (const auto& [name, value] : s.headers) fields.push_back({name, value});
    const std::string canonical = http::canonical_request(
        {.method = "POST", .target = target, .headers = fields, .body = s.body}, names,
        http::sha256_hex(s.body));
    s.headers.emplace_back(
        "Authorization",
        fmt::format("SDK-HMAC-SHA256 Access=bench-ak, "
                    "SignedHeaders=content-type;host;x-project-id;x-sdk-date, Signature={}",
                    http::sdk_signature_hex(secret_key, date, canonical)));
    out.push_back(std::move(s));
  }
  return out;
}

/// handler/signed: handler/engine for a request signed with an access key (SDK-HMAC-SHA256):
/// the head checked (api::check: the Authorization header, the key, the signed headers), the
/// signature checked against the body (api::check_body: SHA-256 of the body, HMAC-SHA256),
/// then the same handling.
void bench_handler_signed(benchmark::State& st) {
  const auto n = static_cast<std::size_t>(st.range(0));
  const auto b = static_cast<std::size_t>(st.range(1));
  engine_impl& impl = registry_of<engine_impl>(n);
  const std::string project = fleet_of(n).project.to_string();
  const std::string target = fmt::format("/v3/{}/jobs/batch-pause-task", project);
  const std::vector<signed_body> bodies =
      signed_pause_bodies(stream_of(n), b, target, project, "bench-sk");
  http::api_callers callers;
  callers.access_keys.add("bench-ak", "bench-sk", fleet_of(n).project);
  http::api api(impl.engine(), std::move(callers),
                {.max_jobs = std::max<std::size_t>(b, 10000),
                 .max_body = std::size_t{1} << 30,
                 .signature_window = std::chrono::hours(24)});
  boost::asio::io_context caller(1);
  std::size_t k = 0;
  std::vector<http::header_field> fields;
  for (auto _ : st) {
    const signed_body& request = bodies[k++ % bodies.size()];
    fields.clear();
    for (const auto& [name, value] : request.headers) fields.push_back({name, value});
    const http::request_head head{.method = "POST",
                                  .target = target,
                                  .content_type = fields[0].value,
                                  .authorization = fields.back().value,
                                  .project_header = fields[2].value,
                                  .headers = fields};
    auto checked = api.check(head);
    auto* accepted = std::get_if<http::accepted_request>(&checked);
    if (accepted == nullptr ||
        api.check_body(
            *accepted,
            {.method = "POST", .target = target, .headers = fields, .body = request.body})) {
      fail(st, "handler/signed: the signature is refused");
      return;
    }
    http::response answer;
    api.async_handle(
        *accepted, request.body,
        boost::asio::bind_executor(caller, [&answer](http::response r) { answer = std::move(r); }));
    caller.run();
    caller.restart();
    if (answer.status != 200) fail(st, "handler/signed: the answer is not 200");
    benchmark::DoNotOptimize(answer.body.data());
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * b));
}

/// handler/floor: simdjson On-Demand, the floor table and a hand-written response.
void bench_handler_floor(benchmark::State& st) {
  const auto n = static_cast<std::size_t>(st.range(0));
  const auto b = static_cast<std::size_t>(st.range(1));
  handler_floor& handler = registry_of<handler_floor>(n);
  const std::vector<std::string> bodies = pause_bodies(stream_of(n), b);
  std::size_t k = 0;
  for (auto _ : st) {
    std::string answer = handler.handle(bodies[k++ % bodies.size()]);
    benchmark::DoNotOptimize(answer.data());
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * b));
}

/// The two id sets of the `duplicates` cases (bench/duplicate_ids.hpp).
enum class id_set { random, crafted };

/// `n` ids of the set, made once per size (crafted ids take a fraction of a second).
const std::vector<job_id>& ids_of(id_set set, std::size_t n) {
  if (set == id_set::random) {
    return cached<std::vector<job_id>>(
        n, [n] { return std::make_unique<std::vector<job_id>>(random_ids(n, 7)); });
  }
  struct crafted_ids : std::vector<job_id> {};  // a cache of its own
  return cached<crafted_ids>(
      n, [n] { return std::make_unique<crafted_ids>(crafted_ids{colliding_ids(n, 7)}); });
}

/// The engine of the `duplicates` cases: two threads and two shards on any machine, so that
/// both id sets split between the shards alike (the crafted ids differ in the top bit of
/// their hash only, which is what picks one of two shards). The fleet is registered so that
/// the project exists; the ids of the batches are not registered.
struct duplicates_engine : engine_impl {
  explicit duplicates_engine(const fleet& f) : engine_impl(f, {.threads = 2, .shards = 2}) {}
};

/// duplicates/engine: the engine pauses a batch of n unregistered ids (each answered
/// task_not_found); the duplicate check runs over the whole batch first.
void bench_duplicates_engine(benchmark::State& st, id_set set) {
  const auto n = static_cast<std::size_t>(st.range(0));
  const fleet& f = fleet_of(1000);
  duplicates_engine& impl = registry_of<duplicates_engine>(1000);
  std::vector<pause_item> items;
  try {
    for (const job_id& id : ids_of(set, n)) items.push_back({id, pause_mode::target});
  } catch (const std::logic_error& e) {
    fail(st, e.what());
    return;
  }
  for (auto _ : st) {
    error_code ec;
    batch_result r = impl.engine().pause(f.project, items, ec);
    if (ec || r.size() != n || r.front().error != errc::task_not_found ||
        r.back().error != errc::task_not_found) {
      fail(st, "duplicates/engine: an item was not answered task_not_found");
      break;
    }
    benchmark::DoNotOptimize(r.data());
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * n));
}

/// duplicates/parser: taskorch::http::body_parser::parse_pause on a body of n items.
void bench_duplicates_parser(benchmark::State& st, id_set set) {
  const auto n = static_cast<std::size_t>(st.range(0));
  std::string body = "{\"jobs\":[";
  try {
    for (const job_id& id : ids_of(set, n)) {
      if (body.back() != '[') body += ',';
      fmt::format_to(std::back_inserter(body), R"({{"job_id":"{}","pause_mode":"target"}})", id);
    }
  } catch (const std::logic_error& e) {
    fail(st, e.what());
    return;
  }
  body += "]}";
  http::body_parser parser({.max_jobs = n});
  for (auto _ : st) {
    auto parsed = parser.parse_pause(body);
    const auto* items = std::get_if<std::vector<pause_item>>(&parsed);
    if (items == nullptr || items->size() != n) {
      fail(st, "duplicates/parser: the body was refused");
      break;
    }
    benchmark::DoNotOptimize(items->data());
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * n));
}

/// The resident set size of this process, in bytes.
std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

/// Bytes per task: growth of the resident set while a registry of n tasks is built. Built in
/// a child process (fork), so that what earlier cases left in the allocator's free lists
/// cannot hide part of the growth.
template <class Impl>
double measure_bytes_per_task(const fleet& f) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return -1;
  const pid_t child = fork();
  if (child == 0) {
    close(pipe_fds[0]);
    malloc_trim(0);
    const std::size_t before = resident_bytes();
    auto impl = std::make_unique<Impl>(f);
    malloc_trim(0);  // what building left free goes back, as it would in a long-lived process
    const std::size_t after = resident_bytes();
    const double bytes =
        static_cast<double>(after - std::min(after, before)) / static_cast<double>(f.tasks.size());
    const bool sent = write(pipe_fds[1], &bytes, sizeof bytes) == sizeof bytes;
    _exit(sent ? 0 : 1);  // no destructors: the parent's engines have no threads here
  }
  close(pipe_fds[1]);
  double bytes = -1;
  if (child < 0 || read(pipe_fds[0], &bytes, sizeof bytes) != sizeof bytes) bytes = -1;
  close(pipe_fds[0]);
  if (child > 0) waitpid(child, nullptr, 0);
  return bytes;
}

template <class Impl>
void bench_memory(benchmark::State& st) {
  const fleet& f = fleet_of(static_cast<std::size_t>(st.range(0)));
  for (auto _ : st) {
    const double bytes = measure_bytes_per_task<Impl>(f);
    if (bytes < 0) fail(st, "memory: the measuring process failed");
    st.counters["bytes_per_task"] = bytes;
  }
}

// -- registration --------------------------------------------------------------------------

using case_function = void (*)(benchmark::State&, case_kind);

struct implementation {
  std::string_view name;
  case_function run;
  std::vector<int> threads;
};

const std::array<implementation, 7> implementations{{
    {"engine", bench_case<engine_impl>, {1, 2}},
    {"mutex_map", bench_case<mutex_map>, {1, 2}},
    {"shared_mutex_map", bench_case<shared_mutex_map>, {1, 2}},
    {"tbb", bench_case<tbb_map>, {1, 2}},
    {"cuckoo", bench_case<cuckoo_map>, {1, 2}},
    {"floor_1t", bench_case<floor_table>, {1}},
    {"floor_shards", bench_floor_shards, {2}},
}};

void sized(benchmark::internal::Benchmark* b, std::size_t tasks, std::size_t batch) {
  b->Args({static_cast<std::int64_t>(tasks), static_cast<std::int64_t>(batch)})
      ->ArgNames({"tasks", "batch"});
}

}  // namespace

bool any_case_failed() noexcept { return failed; }

void fail(benchmark::State& st, const char* what) {
  failed = true;
  st.SkipWithError(what);
}

std::size_t first_window(const benchmark::State& st, std::size_t distinct, std::size_t b) {
  const std::size_t windows = std::max<std::size_t>(1, distinct / b);
  return static_cast<std::size_t>(st.thread_index()) *
         (windows / static_cast<std::size_t>(st.threads()));
}

scale parse_scale(int& argc, char** argv) {
  constexpr std::string_view smoke_flag = "--taskorch_smoke";
  constexpr std::string_view data_dir_flag = "--taskorch_data_dir=";
  bool smoke = false;
  std::filesystem::path data_dir = "/var/tmp";
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == smoke_flag) {
      smoke = true;
    } else if (arg.starts_with(data_dir_flag)) {
      data_dir = arg.substr(data_dir_flag.size());
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  if (smoke) {
    return {{{1000, {1, 10, 100}}, {20000, {1, 10, 10000, 20000}}},
            20000,
            {10, 10000},
            1000,
            2000,
            {10, 1000},
            1000,
            data_dir};
  }
  return {{{1000, {1, 10, 100}}, {1000000, {1, 10, 100, 10000, 1000000}}},
          1000000,
          {10, 10000},
          10000,
          1000000,
          {10, 10000},
          100000,
          data_dir};
}

void register_cases(const scale& s) {
  for (const auto& [kind, case_name] :
       {std::pair{case_kind::pause, "pause"}, std::pair{case_kind::mixed, "mixed"}}) {
    for (const implementation& impl : implementations) {
      for (const scale::registry_size& r : s.registries) {
        for (std::size_t batch : r.batches) {
          for (int threads : impl.threads) {
            auto* b = benchmark::RegisterBenchmark(
                fmt::format("{}/{}", case_name, impl.name).c_str(),
                [run = impl.run, kind = kind](benchmark::State& st) { run(st, kind); });
            sized(b, r.tasks, batch);
            b->UseRealTime()->Threads(threads);
          }
        }
      }
    }
  }
  for (std::size_t batch : s.handler_batches) {
    sized(benchmark::RegisterBenchmark("handler/engine", bench_handler_engine), s.large_tasks,
          batch);
    sized(benchmark::RegisterBenchmark("handler/signed", bench_handler_signed), s.large_tasks,
          batch);
    sized(benchmark::RegisterBenchmark("handler/floor", bench_handler_floor), s.large_tasks, batch);
  }
  for (const auto& [set, set_name] :
       {std::pair{id_set::random, "random"}, std::pair{id_set::crafted, "crafted"}}) {
    using run_function = void (*)(benchmark::State&, id_set);
    for (const auto& [what, run] :
         {std::pair<const char*, run_function>{"engine", bench_duplicates_engine},
          std::pair<const char*, run_function>{"parser", bench_duplicates_parser}}) {
      benchmark::RegisterBenchmark(fmt::format("duplicates/{}/{}", what, set_name).c_str(),
                                   [run = run, set = set](benchmark::State& st) { run(st, set); })
          ->Arg(static_cast<std::int64_t>(s.duplicates_batch))
          ->ArgName("batch")
          ->UseRealTime();
    }
  }
  const auto memory = [&](const char* name, void (*run)(benchmark::State&)) {
    benchmark::RegisterBenchmark(name, run)
        ->Arg(static_cast<std::int64_t>(s.large_tasks))
        ->ArgName("tasks")
        ->Iterations(1);
  };
  memory("memory/engine", bench_memory<engine_impl>);
  memory("memory/mutex_map", bench_memory<mutex_map>);
  memory("memory/shared_mutex_map", bench_memory<shared_mutex_map>);
  memory("memory/tbb", bench_memory<tbb_map>);
  memory("memory/cuckoo", bench_memory<cuckoo_map>);
  memory("memory/floor_1t", bench_memory<floor_table>);
}

}  // namespace taskorch::bench
