#pragma once
// cases: the benchmark cases of taskorch-bench and their registration.

#include <cstddef>
#include <filesystem>
#include <vector>

namespace benchmark {
class State;
}

namespace taskorch::bench {

/// The sizes the suite runs at.
struct scale {
  struct registry_size {
    std::size_t tasks;
    std::vector<std::size_t> batches;
  };
  std::vector<registry_size> registries;
  std::size_t large_tasks;  ///< the registry of handler and memory cases
  std::vector<std::size_t> handler_batches;
  std::size_t duplicates_batch;  ///< ids per batch of the duplicates cases
  std::size_t durable_tasks;     ///< the registry of the durable cases
  std::vector<std::size_t> durable_batches;
  std::size_t recovery_records;  ///< journal records after the checkpoint
  /// Where the durable cases make their data directories (--taskorch_data_dir=DIR).
  std::filesystem::path data_dir;
};

/// The full suite, or with `--taskorch_smoke` (removed from argv) tiny sizes that run in
/// seconds, for the test suite. `--taskorch_data_dir=DIR` (removed too) sets scale::data_dir
/// (default /var/tmp: on a disk on most systems, where /tmp may be memory).
scale parse_scale(int& argc, char** argv);

/// Registers every case with Google Benchmark.
void register_cases(const scale& s);

/// True when a case found a wrong answer and stopped (the exit status of a smoke run).
bool any_case_failed() noexcept;

/// Stops a case that got a wrong answer (any_case_failed() is true from then on).
void fail(benchmark::State& st, const char* what);

/// Where a caller thread starts in an id stream of `distinct` ids with batches of `b`:
/// threads start far apart.
std::size_t first_window(const benchmark::State& st, std::size_t distinct, std::size_t b);

}  // namespace taskorch::bench
