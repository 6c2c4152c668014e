// Linearizability of registration against family registration and purge. Each round takes a
// fresh dual-active family's three ids (parent and children on different shards where the
// engine has enough of them) and has client threads race to register the family, register
// one of its ids as a standalone task, purge an id, and read one; some ids are registered
// before the round starts. The history of every round must be linearizable against a model
// in which an id is absent, a standalone task, or a member of the family, and in which a
// family registration succeeds only when all three ids are absent (docs/behaviour.md,
// "Registration" and "Purge"). A family registration that fails must leave no trace a
// concurrent operation could see, and a purge must remove the whole family at one instant.
//
// The journaled configurations run the same rounds on an engine with a data directory
// (durability::always), where a failed family registration must not reach the journal
// either, and purges are journaled with the family.
//
// Environment: TASKORCH_REGISTRATION_ROUNDS (default 400 per configuration).
#include "linearizability.hpp"
#include "stress_driver.hpp"
#include "temp_directory.hpp"
#include <taskorch/engine.hpp>

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

namespace taskorch::test {
namespace {

const project_id project = *project_id::parse("054ba152d480d55b2f5dc0069e7ddef0");

/// What a registration-level model knows of one id.
enum class presence : std::uint8_t { absent, standalone, member };

/// The family's ids: 0 the parent, 1 the forward child, 2 the backward child.
using family_state = std::array<presence, 3>;

enum class op_kind : std::uint8_t { register_family, register_task, purge, get };

/// What a client saw.
enum class seen : std::uint8_t {
  ok,
  exists,
  not_found,
  child_forbidden,
  is_standalone,
  is_parent,
  is_child,
  other,
};

struct op_input {
  op_kind kind = op_kind::get;
  std::uint8_t who = 0;  ///< which of the three ids (not used by register_family)
};

/// The sequential specification. Standalone tasks and family children are registered
/// deleted, so every purge of a standalone task or of the parent may succeed.
struct registration_model {
  using state = family_state;
  using input = op_input;
  using output = seen;

  std::optional<state> step(const state& s, const input& in, seen out) const {
    state next = s;
    seen expected = seen::other;
    switch (in.kind) {
      case op_kind::register_family:
        if (s[0] == presence::absent && s[1] == presence::absent && s[2] == presence::absent) {
          next = {presence::member, presence::member, presence::member};
          expected = seen::ok;
        } else {
          expected = seen::exists;
        }
        break;
      case op_kind::register_task:
        if (s[in.who] == presence::absent) {
          next[in.who] = presence::standalone;
          expected = seen::ok;
        } else {
          expected = seen::exists;
        }
        break;
      case op_kind::purge:
        if (s[in.who] == presence::absent) {
          expected = seen::not_found;
        } else if (s[in.who] == presence::standalone) {
          next[in.who] = presence::absent;
          expected = seen::ok;
        } else if (in.who != 0) {
          expected = seen::child_forbidden;
        } else {
          next = {presence::absent, presence::absent, presence::absent};
          expected = seen::ok;
        }
        break;
      case op_kind::get:
        switch (s[in.who]) {
          case presence::absent:
            expected = seen::not_found;
            break;
          case presence::standalone:
            expected = seen::is_standalone;
            break;
          case presence::member:
            expected = in.who == 0 ? seen::is_parent : seen::is_child;
            break;
        }
        break;
    }
    if (out != expected) return std::nullopt;
    return next;
  }
  std::size_t hash(const state& s) const {
    return static_cast<std::size_t>(s[0]) * 9 + static_cast<std::size_t>(s[1]) * 3 +
           static_cast<std::size_t>(s[2]);
  }
};

using history = std::vector<lin::operation<op_input, seen>>;

seen seen_of(const error_code& ec) {
  if (!ec) return seen::ok;
  if (ec == errc::task_exists) return seen::exists;
  if (ec == errc::task_not_found) return seen::not_found;
  if (ec == errc::child_task_forbidden) return seen::child_forbidden;
  return seen::other;
}

/// A fresh id whose home shard (multiply-shift of its hash, as the engine places it) is
/// `shard` of `shards`.
job_id id_on(std::size_t shard, std::size_t shards) {
  for (;;) {
    const job_id id = job_id::mint();
    __extension__ using wide = unsigned __int128;
    if (static_cast<std::size_t>((static_cast<wide>(id.hash()) * shards) >> 64) == shard) {
      return id;
    }
  }
}

struct round_ids {
  std::array<job_id, 3> ids;
  family_spec family() const {
    return family_spec{.id = ids[0],
                       .project = project,
                       .name = {},
                       .forward = {.id = ids[1], .state = task_state::deleted},
                       .backward = {.id = ids[2], .state = task_state::deleted}};
  }
  task_spec task(std::size_t who) const {
    return task_spec{.id = ids[who], .project = project, .state = task_state::deleted};
  }
};

seen run(engine& eng, const round_ids& r, const op_input& in) {
  error_code ec;
  switch (in.kind) {
    case op_kind::register_family: {
      const batch_result res = eng.register_tasks({r.family()}, ec);
      return ec || res.size() != 1 ? seen::other : seen_of(res[0].error);
    }
    case op_kind::register_task: {
      const batch_result res = eng.register_tasks({r.task(in.who)}, ec);
      return ec || res.size() != 1 ? seen::other : seen_of(res[0].error);
    }
    case op_kind::purge: {
      const batch_result res = eng.purge(project, {r.ids[in.who]}, ec);
      return ec || res.size() != 1 ? seen::other : seen_of(res[0].error);
    }
    case op_kind::get: {
      const task_snapshot s = eng.get(project, r.ids[in.who], ec);
      if (ec) return seen_of(ec);
      switch (s.role) {
        case task_role::standalone:
          return seen::is_standalone;
        case task_role::parent:
          return seen::is_parent;
        default:
          return seen::is_child;
      }
    }
  }
  return seen::other;
}

struct config {
  std::size_t threads;
  std::size_t shards;
  std::size_t clients;
  bool journaled = false;  ///< with a data directory (durability::always)
};

class LinearizableRegistration : public ::testing::TestWithParam<config> {};

TEST_P(LinearizableRegistration, RegistrationFamilyRegistrationAndPurgeAreLinearizable) {
  const config c = GetParam();
  const std::size_t rounds = env_or("TASKORCH_REGISTRATION_ROUNDS", 400);
  testing::temp_directory dir;
  engine_options options{.threads = c.threads, .shards = c.shards};
  if (c.journaled) options.storage.directory = dir.path();
  std::optional<engine> running(std::in_place, options);
  engine& eng = *running;
  std::mt19937_64 rng(0x4e6 + c.threads * 16 + c.shards);
  constexpr std::size_t ops_per_client = 4;
  std::size_t illegal = 0;
  std::size_t unknown = 0;
  std::size_t family_successes = 0;
  for (std::size_t round = 0; round < rounds && illegal < 3; ++round) {
    // Parent and children on different shards, in a random arrangement.
    std::array<std::size_t, 3> homes{0, 1 % c.shards, 2 % c.shards};
    std::shuffle(homes.begin(), homes.end(), rng);
    round_ids r;
    for (std::size_t k = 0; k < 3; ++k) r.ids[k] = id_on(homes[k], c.shards);
    family_state initial{presence::absent, presence::absent, presence::absent};
    for (std::size_t k = 0; k < 3; ++k) {
      if (rng() % 4 == 0) {
        eng.register_tasks({r.task(k)});
        initial[k] = presence::standalone;
      }
    }
    std::vector<std::vector<op_input>> plans(c.clients);
    for (auto& plan : plans) {
      for (std::size_t k = 0; k < ops_per_client; ++k) {
        const auto kind = static_cast<op_kind>(rng() % 4);
        plan.push_back({kind, static_cast<std::uint8_t>(rng() % 3)});
      }
    }
    lin::clock clock;
    history h;
    std::mutex h_mutex;
    std::vector<std::thread> clients;
    for (const auto& plan : plans) {
      clients.emplace_back([&, plan] {
        for (const op_input& in : plan) {
          lin::operation<op_input, seen> op;
          op.input = in;
          op.call = clock.now();
          op.output = run(eng, r, in);
          op.ret = clock.now();
          std::lock_guard lock(h_mutex);
          h.push_back(op);
        }
      });
    }
    for (std::thread& t : clients) t.join();
    for (const auto& op : h) {
      if (op.input.kind == op_kind::register_family && op.output == seen::ok) ++family_successes;
    }
    const lin::report report = lin::check(registration_model{}, initial, h);
    if (report.result == lin::verdict::illegal) {
      ++illegal;
      std::string text;
      for (const auto& op : h) {
        text +=
            fmt::format("  [{}, {}] kind {} who {} -> {}\n", op.call, op.ret,
                        static_cast<int>(op.input.kind), op.input.who, static_cast<int>(op.output));
      }
      ADD_FAILURE() << "round " << round << " (initial " << static_cast<int>(initial[0])
                    << static_cast<int>(initial[1]) << static_cast<int>(initial[2])
                    << ") is not linearizable:\n"
                    << text;
    } else if (report.result == lin::verdict::unknown) {
      ++unknown;
    }
  }
  std::printf(
      "[ linearizability ] registration threads=%zu shards=%zu: %zu rounds, %zu family "
      "registrations succeeded, %zu illegal, %zu unknown\n",
      c.threads, c.shards, rounds, family_successes, illegal, unknown);
  EXPECT_EQ(illegal, 0U);
  EXPECT_EQ(unknown, 0U);
  EXPECT_GT(family_successes, rounds / 20);
  if (c.journaled) {
    // What the journal holds rebuilds exactly the registry the rounds left.
    const std::vector<registration> before = eng.export_snapshot();
    running.reset();
    engine recovered(options);
    EXPECT_EQ(recovered.export_snapshot(), before);
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, LinearizableRegistration,
                         ::testing::Values(config{2, 3, 4}, config{3, 3, 6}, config{4, 4, 6},
                                           config{3, 3, 6, true}),
                         [](const ::testing::TestParamInfo<config>& p) {
                           return "Threads" + std::to_string(p.param.threads) + "Shards" +
                                  std::to_string(p.param.shards) +
                                  (p.param.journaled ? "Journaled" : "");
                         });

}  // namespace
}  // namespace taskorch::test
