#pragma once
// pause_cycle: the loop of the `pause` cases (and of the `durable` ones, which run it on
// engines with a data directory): pause a window of the id stream, then resume it.

#include "cases.hpp"
#include "workload.hpp"

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>

namespace taskorch::bench {

/// Pauses window k/2 on even iterations and resumes it on odd ones, from cycle position `k`,
/// which it advances: a case run again on the same registry carries on where it stopped, so
/// every pause meets running tasks.
template <class Impl>
void run_pause(benchmark::State& st, Impl& impl, const id_stream& ids, std::size_t b,
               std::size_t& k) {
  const std::size_t start = first_window(st, ids.distinct(), b);
  for (auto _ : st) {
    const task_event event = k % 2 == 0 ? task_event::pause : task_event::resume;
    batch_result r = impl.command(ids.window(start + k / 2, b), event, pause_mode::target);
    benchmark::DoNotOptimize(r.data());
    ++k;
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * b));
}

}  // namespace taskorch::bench
