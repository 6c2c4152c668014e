// Model-based property of subscriptions: across random command sequences, every subscriber
// hears, per task, exactly the model's changes in order: from, to, cause, pause mode and a
// sequence number that grows by one per real change (no-ops are not reported); a subscriber
// added mid-sequence hears exactly the later changes. Replay: see test_lifecycle_model.cpp.

#include "model_commands.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

namespace taskorch::property {
namespace {

/// Checks, on what the engine reported, that each task's changes form chains: the first
/// change after a registration has sequence number registered version + 1, each later one the
/// previous number + 1, and each change starts in the state where the previous one ended. The
/// model says where an id was (re)registered (a purged id may be registered again).
void check_chains(const std::vector<test_model::change>& heard, const model& m) {
  for (const auto& [id, changes] : per_task(heard)) {
    const std::vector<test_model::incarnation> births = m.incarnations(id);
    std::size_t birth = 0;
    for (std::size_t k = 0; k < changes.size(); ++k) {
      while (birth + 1 < births.size() && births[birth + 1].first_change <= k) ++birth;
      const test_model::change& c = changes[k];
      if (births.empty()) RC_FAIL("a change of an id never registered: " + show_change(c));
      const bool first = k == births[birth].first_change;
      const std::uint64_t want = first ? births[birth].version + 1 : changes[k - 1].sequence + 1;
      if (c.sequence != want) {
        RC_FAIL(fmt::format("sequence {} instead of {}: {}", c.sequence, want, show_change(c)));
      }
      if (!first && c.from != changes[k - 1].to) {
        RC_FAIL("change does not start where the previous ended: " + show_change(changes[k - 1]) +
                " then " + show_change(c));
      }
    }
  }
}

}  // namespace

RC_GTEST_PROP(LifecycleModel, SubscribersSeeEveryChangeInOrder, ()) {
  ++coverage().sequences;
  harness sut;
  command_mix mix;
  mix.late_subscriber = 1;
  mix.get = 0;
  mix.observe = 0;
  rc::state::check(model{}, sut, generate_command(mix));

  const std::vector<test_model::change>& want = sut.model.changes();
  const std::vector<test_model::change> heard = sut.recorder.all();
  if (const std::string d = diff_changes(want, heard); !d.empty()) RC_FAIL("subscriber: " + d);
  check_chains(heard, sut.model);
  for (const auto& late : sut.late) {
    const std::vector<test_model::change> later(
        want.begin() + static_cast<std::ptrdiff_t>(late->model_changes_before), want.end());
    if (const std::string d = diff_changes(later, late->recorder.all()); !d.empty()) {
      RC_FAIL(fmt::format("late subscriber (after {} changes): {}", late->model_changes_before, d));
    }
  }
  if (const std::string feed = check_feed(sut.model, sut.eng); !feed.empty()) {
    RC_FAIL("after the sequence: " + feed);
  }
  RC_CLASSIFY(want.size() >= 20, "20 or more changes");
  RC_CLASSIFY(!sut.late.empty(), "with a late subscriber");
}

}  // namespace taskorch::property
