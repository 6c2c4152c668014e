// Model-based property of whole-batch refusals: sequences rich in refused batches (empty,
// duplicate id, over max_batch_items, both, commands reported as worker events, a pause mode or
// delete type outside its enum, a worker's report confirming what no worker carries out or
// reporting nothing or progress over 100, inconsistent (an awaited command included) or
// self-duplicating registrations) interleaved with
// ordinary commands. A refused batch returns no items and changes nothing: the export before and
// after is the same, and nobody is notified. Replay: see test_lifecycle_model.cpp.

#include "model_commands.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

namespace taskorch::property {

RC_GTEST_PROP(BatchRejection, RefusedBatchChangesNothing, ()) {
  ++coverage().sequences;
  harness sut;
  command_mix mix;
  mix.rejected = 8;
  mix.registration = 3;
  mix.pause = 2;
  mix.resume = 1;
  mix.report = 2;
  mix.start = 1;
  mix.remove = 1;
  mix.purge = 1;
  mix.status = 1;
  mix.get = 0;
  mix.observe = 0;
  mix.worker_report = 1;
  rc::state::check(model{}, sut, generate_command(mix));
  const std::string diff = diff_registrations(sut.model.export_all(), sut.eng.export_snapshot());
  if (!diff.empty()) RC_FAIL("after the sequence: " + diff);
  // A refused batch leaves nothing in the feed either.
  if (const std::string feed = check_feed(sut.model, sut.eng); !feed.empty()) {
    RC_FAIL("after the sequence: " + feed);
  }
}

}  // namespace taskorch::property
