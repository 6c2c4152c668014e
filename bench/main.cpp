// taskorch-bench: batch throughput of taskorch::engine against what users would write
// instead and against the limits, side by side in one run. See docs/benchmarks.md.
//
// Cases, each named <case>/<impl>/tasks:<N>/batch:<B> (Google Benchmark appends
// /real_time and /threads:<T>); one item = one job of a batch:
//   pause    every iteration pauses a window of the id stream, the next resumes it, so every
//            pausable task changes state each time;
//   mixed    the caller threads cycle through pause, status, retry, a worker's failure
//            report, status and retry on each window;
//   handler  the HTTP handler of batch-pause-task: parse the body, apply, write the response;
//   memory   bytes per task of a registry of 1M tasks (growth of the resident set);
//   duplicates  the duplicate-id check of the engine and of the HTTP body parser on 10 000
//            random ids and on 10 000 ids crafted to collide in job_id::hash();
//   durable  pause/resume with a data directory (durability always, interval, none) and in
//            memory, and the disk floor: write + fdatasync of the journal's bytes;
//   durable/recovery, checkpoint  recovery of a 1M-task directory, and the longest command
//            stall while a checkpoint is written (bench/durable.hpp).

#include "cases.hpp"
#include "durable.hpp"

#include <benchmark/benchmark.h>

int main(int argc, char** argv) {
  const taskorch::bench::scale sizes = taskorch::bench::parse_scale(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  taskorch::bench::register_cases(sizes);
  taskorch::bench::register_durable_cases(sizes);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return taskorch::bench::any_case_failed() ? 1 : 0;
}
