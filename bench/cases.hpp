#pragma once
// cases: the benchmark cases of taskorch-bench and their registration.

#include <cstddef>
#include <vector>

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
};

/// The full suite, or with `--taskorch_smoke` (removed from argv) tiny sizes that run in
/// seconds, for the test suite.
scale parse_scale(int& argc, char** argv);

/// Registers every case with Google Benchmark.
void register_cases(const scale& s);

/// True when a case found a wrong answer and stopped (the exit status of a smoke run).
bool any_case_failed() noexcept;

}  // namespace taskorch::bench
