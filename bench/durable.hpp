#pragma once
// durable: the cases of an engine with a data directory (docs/benchmarks.md, "Durability"):
// the disk floor (write + fdatasync of the journal's bytes), pause/resume with each
// durability mode, recovery of a large registry and the longest command stall during a
// checkpoint.

#include "cases.hpp"

namespace taskorch::bench {

/// Registers the durable cases; their data directories are made under s.data_dir.
void register_durable_cases(const scale& s);

}  // namespace taskorch::bench
