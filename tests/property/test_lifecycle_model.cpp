// Model-based property: random sequences of commands (register, pause, resume, start now or at a
// far time, terminate / force terminate / delete, worker events, purge, status, get, list/count,
// refused batches) run against a real engine and against the
// reference model (reference_model.hpp, written from docs/behaviour.md); every command must give
// the same per-item results, the same subscriber notifications and the same registry. After
// each sequence: the export equals the model, registering the export in a fresh engine gives
// the same registry (round trip), a pause batch applied twice leaves the same registry as
// applied once (idempotence), and the event feed lists every change the model made, per task
// in order, batch after batch (property_support.hpp, diff_feed()).
//
// Replaying a failure. rapidcheck prints, at start, the configuration it uses
// ("Using configuration: max_success=334 max_size=99 seed=1234...") and, on failure, the
// shrunk command sequence plus a `reproduce` string. Either replays it (the first line is
// the environment, the second the command):
//   RC_PARAMS="max_success=334 max_size=99 seed=1234..."
//     build/dev/tests/property/taskorch-property --gtest_filter=LifecycleModel.*
//   RC_PARAMS="reproduce=<string printed on failure>" build/dev/tests/property/taskorch-property
// (from ctest: RC_PARAMS=... ctest -L property --output-on-failure). Add `verbose_shrinking=1`
// to watch the shrinking. The default counts are set in property_main.cpp.

#include "model_commands.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

namespace taskorch::property {
namespace {

/// The engine's registry, lists and counts equal the model's.
void check_registry(const model& m, engine& eng) {
  const std::string diff = diff_registrations(m.export_all(), eng.export_snapshot());
  if (!diff.empty()) RC_FAIL("after the sequence: " + diff);
  for (const project_id& p : {project_a(), project_b()}) {
    const std::string d = diff_snapshots(m.list(p), eng.list(p));
    if (!d.empty()) RC_FAIL("after the sequence, list " + show_project(p) + ": " + d);
  }
}

/// Registering the export in a fresh engine rebuilds the same registry, and exporting that
/// gives the same registrations again.
void check_round_trip(const model& m, engine& eng) {
  const std::vector<registration> first = eng.export_snapshot();
  engine fresh(engine_options{.threads = 2, .shards = 3, .feed_capacity = 16});
  if (!first.empty()) {
    // A registration batch is not held to max_batch_items here: the fresh engine has the
    // default limit. An empty registry has nothing to register.
    error_code ec;
    const batch_result r = fresh.register_tasks(first, ec);
    if (ec) RC_FAIL("round trip: the export was refused as a whole: " + show_error(ec));
    for (const item_result& item : r) {
      if (!item.ok()) RC_FAIL("round trip: " + show_id(item.id) + ": " + show_error(item.error));
    }
  }
  const std::string diff = diff_registrations(first, fresh.export_snapshot());
  if (!diff.empty()) RC_FAIL("round trip: " + diff);
  for (const project_id& p : {project_a(), project_b()}) {
    const std::string d = diff_snapshots(m.list(p), fresh.list(p));
    if (!d.empty()) RC_FAIL("round trip, list " + show_project(p) + ": " + d);
  }
  RC_CLASSIFY(first.empty(), "empty registry at the end");
}

/// A pause batch applied twice: the second application succeeds and fails item by item as the
/// first did, changes nothing, and notifies nobody.
void check_pause_idempotence(harness& sut) {
  const project_id p = gen_project();
  std::vector<pause_item> items;
  for (const job_id& id : gen_distinct_ids(sut.model, p, 1, 8)) {
    items.push_back({id, gen_mode()});
  }
  std::string shown = "idempotence: pause " + show_project(p) + " [";
  for (const auto& it : items)
    shown += " " + show_id(it.id) + ":" + std::string(to_string(it.mode));
  RC_LOG(shown + " ] twice");
  model m = sut.model;
  std::vector<job_id> ids;
  std::vector<error_code> want;
  for (const auto& it : items) {
    ids.push_back(it.id);
    want.push_back(m.pause(p, it.id, it.mode));
  }
  (void)sut.recorder.take_new();
  clock_bracket when;
  const batch_result once = sut.eng.pause(p, items);
  when.close();
  const std::string diff = diff_items(ids, want, once);
  if (!diff.empty()) RC_FAIL("idempotence, first application: " + diff);
  stamp_batch(m, sut, when);
  const std::vector<registration> after_once = sut.eng.export_snapshot();
  if (const std::string d = diff_registrations(m.export_all(), after_once); !d.empty()) {
    RC_FAIL("idempotence, first application: " + d);
  }
  (void)sut.recorder.take_new();
  const batch_result twice = sut.eng.pause(p, items);
  const std::string again = diff_items(ids, want, twice);
  if (!again.empty()) RC_FAIL("idempotence, second application answered differently: " + again);
  if (const std::string d = diff_registrations(after_once, sut.eng.export_snapshot()); !d.empty()) {
    RC_FAIL("idempotence: the second application changed the registry: " + d);
  }
  if (const auto heard = sut.recorder.take_new(); !heard.empty()) {
    RC_FAIL("idempotence: the second application notified " + show_change(heard.front()));
  }
  std::size_t paused = 0;
  for (const auto& e : want) paused += e ? 0 : 1;
  RC_CLASSIFY(paused > 0, "idempotence batch with a successful item");
  sut.model = m;
}

}  // namespace

RC_GTEST_PROP(LifecycleModel, EngineAgreesWithModel, ()) {
  coverage().require_full = true;
  ++coverage().sequences;
  harness sut;
  rc::state::check(model{}, sut, generate_command(command_mix{}));
  check_registry(sut.model, sut.eng);
  check_round_trip(sut.model, sut.eng);
  check_pause_idempotence(sut);
  if (const std::string feed = check_feed(sut.model, sut.eng); !feed.empty()) {
    RC_FAIL("after the sequence: " + feed);
  }
}

}  // namespace taskorch::property
