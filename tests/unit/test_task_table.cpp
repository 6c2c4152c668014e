// task_table: the engine's flat open-addressing table, checked against std::unordered_map.
//
// The ids are crafted so that their hashes collide in the low bits (the table's home slot),
// some of them in the last slots of the array, so that probe runs are long and wrap around
// the end of the array, and erase has to shift entries back across the wrap.

#include "task_table.hpp"
#include <taskorch/job_id.hpp>
#include <taskorch/task_state.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace taskorch::detail {
namespace {

/// The table's documented shape: a power-of-two capacity starting at 16, doubled when an
/// insert would make it more than 3/4 full (checked before the insert looks for the id).
constexpr std::size_t kMinCapacity = 16;

/// A random id of the DRS shape.
job_id random_id(std::mt19937_64& rng) {
  static constexpr std::string_view digits = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::uniform_int_distribution<std::size_t> pick(0, digits.size() - 1);
  std::string text(job_id::text_size, '-');
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) continue;
    text[i] = digits[pick(rng)];
  }
  const std::optional<job_id> id = job_id::parse(text);
  EXPECT_TRUE(id.has_value()) << text;
  return id.value_or(job_id());
}

/// `per_value` distinct random ids for each low-bit value in `values` (hash() & 63).
std::vector<job_id> colliding_ids(std::mt19937_64& rng, const std::vector<std::uint64_t>& values,
                                  std::size_t per_value) {
  std::vector<std::vector<job_id>> by_value(values.size());
  std::size_t missing = values.size() * per_value;
  while (missing > 0) {
    const job_id id = random_id(rng);
    const auto it = std::find(values.begin(), values.end(), id.hash() & 63);
    if (it == values.end()) continue;
    auto& bucket = by_value[static_cast<std::size_t>(it - values.begin())];
    if (bucket.size() == per_value) continue;
    if (std::find(bucket.begin(), bucket.end(), id) != bucket.end()) continue;
    bucket.push_back(id);
    --missing;
  }
  std::vector<job_id> out;
  for (const auto& bucket : by_value) out.insert(out.end(), bucket.begin(), bucket.end());
  std::shuffle(out.begin(), out.end(), rng);
  return out;
}

/// `n` distinct ids whose home slot in a table of `capacity` slots is `home`.
std::vector<job_id> ids_with_home(std::mt19937_64& rng, std::size_t capacity, std::size_t home,
                                  std::size_t n) {
  std::vector<job_id> out;
  while (out.size() < n) {
    const job_id id = random_id(rng);
    if ((id.hash() & (capacity - 1)) != home) continue;
    if (std::find(out.begin(), out.end(), id) != out.end()) continue;
    out.push_back(id);
  }
  return out;
}

task_record random_record(std::mt19937_64& rng) {
  task_record r;
  r.version = rng();
  r.project = static_cast<std::uint32_t>(rng() % 1000);
  r.kind = static_cast<task_kind>(rng() % task_kind_count);
  r.state = all_task_states[rng() % all_task_states.size()];
  r.mode = rng() % 2 ? pause_mode::all : pause_mode::target;
  r.paused_from = all_task_states[rng() % all_task_states.size()];
  r.role = static_cast<task_role>(rng() % 4);
  r.redirect = rng() % 2 == 1;
  r.family_shard = static_cast<shard_index>(rng() % 65536);
  return r;
}

bool same_record(const task_record& a, const task_record& b) {
  return a.version == b.version && a.project == b.project && a.kind == b.kind &&
         a.state == b.state && a.mode == b.mode && a.paused_from == b.paused_from &&
         a.role == b.role && a.redirect == b.redirect && a.family_shard == b.family_shard;
}

using model_map = std::unordered_map<job_id, task_record, job_id_hash>;

/// Checks that for_each visits exactly the model's contents, each id once.
void expect_same_contents(const task_table& table, const model_map& model) {
  std::size_t visited = 0;
  model_map seen;
  table.for_each([&](const job_id& id, const task_record& rec) {
    ++visited;
    EXPECT_TRUE(seen.emplace(id, rec).second) << "visited twice: " << id.to_string();
    const auto it = model.find(id);
    if (it == model.end()) {
      ADD_FAILURE() << "visited an id the model lacks: " << id.to_string();
    } else {
      EXPECT_TRUE(same_record(rec, it->second)) << id.to_string();
    }
  });
  EXPECT_EQ(visited, model.size());
  EXPECT_EQ(seen.size(), model.size());
}

/// Checks every id of `pool` against the model with find().
void expect_finds_match(const task_table& table, const model_map& model,
                        const std::vector<job_id>& pool) {
  for (const job_id& id : pool) {
    const task_record* rec = table.find(id);
    const auto it = model.find(id);
    if (it == model.end()) {
      EXPECT_EQ(rec, nullptr) << id.to_string();
    } else if (rec == nullptr) {
      ADD_FAILURE() << "lost " << id.to_string();
    } else {
      EXPECT_TRUE(same_record(*rec, it->second)) << id.to_string();
    }
  }
}

struct model_stats {
  std::size_t inserts = 0;
  std::size_t erases = 0;
  std::size_t max_size = 0;
  std::size_t max_capacity = kMinCapacity;
  /// Erases of a present id homed in the last slot while another live id shared that home,
  /// so the run held the last slot and wrapped to slot 0.
  std::size_t wrapping_erases = 0;
};

/// Runs `steps` random operations on a table and on a model, comparing after each one.
void run_model(std::uint64_t seed, std::size_t steps, model_stats& stats) {
  std::mt19937_64 rng(seed);
  // Three low-bit values, two of them in the last slots of a 64-slot table (and, for larger
  // tables, of every 64-slot stretch): runs pile up there and wrap.
  std::vector<job_id> pool = colliding_ids(rng, {0, 62, 63}, 150);
  pool.push_back(job_id());  // the all-zero id is an ordinary key

  task_table table;
  model_map model;
  std::size_t capacity = kMinCapacity;  // mirrors the table's growth rule
  auto home = [&](const job_id& id) { return id.hash() & (capacity - 1); };

  // Phases: grow towards the whole pool, shrink, then churn around a middle size.
  std::uniform_int_distribution<std::size_t> pick(0, pool.size() - 1);
  for (std::size_t step = 0; step < steps; ++step) {
    const std::size_t phase = (step / 5000) % 3;
    const unsigned insert_percent = phase == 0 ? 70 : phase == 1 ? 30 : 50;
    const job_id& id = pool[pick(rng)];
    const unsigned roll = static_cast<unsigned>(rng() % 100);
    const auto in_model = model.find(id);
    if (roll < insert_percent) {
      const task_record rec = random_record(rng);
      if (4 * (model.size() + 1) > 3 * capacity) capacity *= 2;
      const bool inserted = table.insert(id, rec);
      ASSERT_EQ(inserted, in_model == model.end()) << "step " << step << " seed " << seed;
      if (inserted) {
        model.emplace(id, rec);
        ++stats.inserts;
      }
    } else if (roll < insert_percent + 20) {
      if (in_model != model.end() && home(id) == capacity - 1) {
        const auto sharing = std::count_if(model.begin(), model.end(), [&](const auto& kv) {
          return home(kv.first) == capacity - 1;
        });
        if (sharing >= 2) ++stats.wrapping_erases;
      }
      const bool erased = table.erase(id);
      ASSERT_EQ(erased, in_model != model.end()) << "step " << step << " seed " << seed;
      if (erased) {
        model.erase(in_model);
        ++stats.erases;
      }
    } else {
      task_record* rec = table.find(id);
      ASSERT_EQ(rec != nullptr, in_model != model.end()) << "step " << step << " seed " << seed;
      if (rec != nullptr) {
        ASSERT_TRUE(same_record(*rec, in_model->second)) << "step " << step << " seed " << seed;
        // find() hands out the stored record itself: a change through it stays.
        rec->version += 1;
        rec->state = all_task_states[rng() % all_task_states.size()];
        in_model->second.version = rec->version;
        in_model->second.state = rec->state;
      }
    }
    ASSERT_EQ(table.size(), model.size()) << "step " << step << " seed " << seed;
    stats.max_size = std::max(stats.max_size, model.size());
    stats.max_capacity = std::max(stats.max_capacity, capacity);
    if (step % 997 == 0) {
      expect_same_contents(table, model);
      expect_finds_match(table, model, pool);
      if (::testing::Test::HasFailure()) {
        ADD_FAILURE() << "step " << step << " seed " << seed;
        return;
      }
    }
  }
  expect_same_contents(table, model);
  expect_finds_match(table, model, pool);
}

// =========================================================================================
// Model-based
// =========================================================================================

TEST(TaskTableModel, RandomOperationsOnCollidingIdsMatchAnUnorderedMap) {
  for (const std::uint64_t seed : {1ULL, 2ULL, 0x5eedULL, 20240607ULL}) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    model_stats stats;
    run_model(seed, 200'000, stats);
    if (HasFatalFailure() || HasFailure()) return;
    RecordProperty("seed_" + std::to_string(seed),
                   "inserts=" + std::to_string(stats.inserts) +
                       " erases=" + std::to_string(stats.erases) +
                       " max_size=" + std::to_string(stats.max_size) +
                       " max_capacity=" + std::to_string(stats.max_capacity) +
                       " wrapping_erases=" + std::to_string(stats.wrapping_erases));
    // The run did what it is for: many inserts and erases, growth past the minimum, and
    // erases of runs that wrap past the last slot.
    EXPECT_GT(stats.inserts, 10'000U);
    EXPECT_GT(stats.erases, 10'000U);
    EXPECT_GT(stats.max_size, 300U);
    EXPECT_GE(stats.max_capacity, 512U);
    EXPECT_GT(stats.wrapping_erases, 100U);
  }
}

TEST(TaskTableModel, EveryEraseOrderOfAWrappedRun) {
  // In the minimum table (16 slots): ids homed in slots 14, 15, 15, 15, 0 and 1 fill slots
  // 14, 15, 0, 1, 2 and 3, the run wrapping past the last slot. Erase them in every order,
  // inserted in every rotation, and check the others stay reachable after each erase.
  std::mt19937_64 rng(7);
  std::vector<job_id> ids;
  for (const auto& [home, n] :
       std::vector<std::pair<std::size_t, std::size_t>>{{14, 1}, {15, 3}, {0, 1}, {1, 1}}) {
    const std::vector<job_id> more = ids_with_home(rng, kMinCapacity, home, n);
    ids.insert(ids.end(), more.begin(), more.end());
  }
  std::vector<std::size_t> order(ids.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::size_t checked = 0;
  do {
    for (std::size_t rotation = 0; rotation < ids.size(); ++rotation) {
      task_table table;
      model_map model;
      for (std::size_t k = 0; k < ids.size(); ++k) {
        const job_id& id = ids[(k + rotation) % ids.size()];
        task_record rec;
        rec.version = k;
        rec.state = all_task_states[k % all_task_states.size()];
        ASSERT_TRUE(table.insert(id, rec));
        model.emplace(id, rec);
      }
      for (const std::size_t i : order) {
        ASSERT_TRUE(table.erase(ids[i]));
        ASSERT_FALSE(table.erase(ids[i]));
        model.erase(ids[i]);
        ASSERT_EQ(table.size(), model.size());
        expect_finds_match(table, model, ids);
        expect_same_contents(table, model);
        if (HasFailure()) return;
      }
      ++checked;
    }
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_EQ(checked, 720U * 6U);
}

// =========================================================================================
// Edge cases
// =========================================================================================

TEST(TaskTable, AllZeroIdIsAValidKey) {
  task_table table;
  const job_id zero;
  EXPECT_EQ(zero.to_string(), "00000000-0000-0000-0000-000000000000");
  EXPECT_EQ(table.find(zero), nullptr);
  EXPECT_FALSE(table.erase(zero));

  task_record rec;
  rec.version = 42;
  rec.state = task_state::configuration;  // all-zero record too
  ASSERT_TRUE(table.insert(zero, rec));
  EXPECT_EQ(table.size(), 1U);
  const task_record* found = table.find(zero);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->version, 42U);
  EXPECT_EQ(found->state, task_state::configuration);

  // Alongside ids that share its home slot.
  std::mt19937_64 rng(11);
  const std::vector<job_id> neighbours = ids_with_home(rng, kMinCapacity, zero.hash() & 15, 5);
  for (const job_id& id : neighbours) ASSERT_TRUE(table.insert(id, task_record{}));
  ASSERT_NE(table.find(zero), nullptr);
  EXPECT_EQ(table.find(zero)->version, 42U);

  EXPECT_TRUE(table.erase(zero));
  EXPECT_EQ(table.find(zero), nullptr);
  EXPECT_FALSE(table.erase(zero));
  EXPECT_EQ(table.size(), neighbours.size());
  for (const job_id& id : neighbours) EXPECT_NE(table.find(id), nullptr);
  std::size_t visited = 0;
  table.for_each([&](const job_id& id, const task_record&) {
    EXPECT_NE(id, zero);
    ++visited;
  });
  EXPECT_EQ(visited, neighbours.size());

  ASSERT_TRUE(table.insert(zero, rec));
  EXPECT_NE(table.find(zero), nullptr);
}

TEST(TaskTable, InsertOfAPresentIdFailsAndChangesNothing) {
  std::mt19937_64 rng(3);
  task_table table;
  model_map model;
  // Enough ids that some of the repeated inserts land right at a growth threshold.
  const std::vector<job_id> ids = colliding_ids(rng, {5, 63}, 40);
  for (const job_id& id : ids) {
    const task_record rec = random_record(rng);
    ASSERT_TRUE(table.insert(id, rec));
    model.emplace(id, rec);
    // Every id present so far: a second insert, with a different record, is refused.
    for (const auto& [present, original] : model) {
      task_record other = random_record(rng);
      other.version = original.version + 1;
      ASSERT_FALSE(table.insert(present, other));
      const task_record* found = table.find(present);
      ASSERT_NE(found, nullptr);
      ASSERT_TRUE(same_record(*found, original));
    }
    ASSERT_EQ(table.size(), model.size());
  }
  expect_same_contents(table, model);
}

TEST(TaskTable, NoRealStateIsTakenForVacant) {
  // One chain of colliding ids whose records go through every state (with every other field
  // zero or at its largest): find() of the last id probes past all of them.
  std::mt19937_64 rng(5);
  const std::vector<job_id> ids = ids_with_home(rng, kMinCapacity, 9, 2 * task_state_count);
  task_table table;
  model_map model;
  for (std::size_t k = 0; k < ids.size(); ++k) {
    task_record rec;
    rec.state = all_task_states[k % task_state_count];
    if (k >= task_state_count) {
      rec.version = ~std::uint64_t{0};
      rec.project = ~std::uint32_t{0};
      rec.kind = task_kind::cloud_data_guard;
      rec.mode = pause_mode::all;
      rec.paused_from = task_state::deleted;
      rec.role = task_role::backward_child;
      rec.redirect = true;
      rec.family_shard = 0xffff;
    }
    ASSERT_TRUE(table.insert(ids[k], rec));
    model.emplace(ids[k], rec);
  }
  EXPECT_EQ(table.size(), ids.size());
  expect_finds_match(table, model, ids);
  expect_same_contents(table, model);
  for (const job_id& id : ids) EXPECT_FALSE(table.insert(id, task_record{}));

  // Each state, stored on its own and written through find().
  for (const task_state s : all_task_states) {
    task_table single;
    ASSERT_TRUE(single.insert(ids[0], task_record{}));
    task_record* rec = single.find(ids[0]);
    ASSERT_NE(rec, nullptr);
    rec->state = s;
    ASSERT_NE(single.find(ids[0]), nullptr) << to_string(s);
    EXPECT_EQ(single.find(ids[0])->state, s);
    std::size_t visited = 0;
    single.for_each([&](const job_id&, const task_record&) { ++visited; });
    EXPECT_EQ(visited, 1U) << to_string(s);
    EXPECT_TRUE(single.erase(ids[0])) << to_string(s);
    EXPECT_EQ(single.size(), 0U);
  }

  // Erasing them one by one keeps the rest reachable.
  for (const job_id& id : ids) {
    ASSERT_TRUE(table.erase(id));
    model.erase(id);
    expect_finds_match(table, model, ids);
  }
  EXPECT_EQ(table.size(), 0U);
}

TEST(TaskTable, GrowsAndKeepsEverything) {
  std::mt19937_64 rng(9);
  task_table table;
  model_map model;
  for (std::size_t k = 0; k < 5000; ++k) {
    const job_id id = random_id(rng);
    task_record rec = random_record(rng);
    const bool inserted = table.insert(id, rec);
    EXPECT_EQ(inserted, model.emplace(id, rec).second);
  }
  EXPECT_EQ(table.size(), model.size());
  expect_same_contents(table, model);
  std::vector<job_id> ids;
  for (const auto& kv : model) ids.push_back(kv.first);
  expect_finds_match(table, model, ids);
  const task_table& const_table = table;
  ASSERT_NE(const_table.find(ids.front()), nullptr);
  EXPECT_EQ(const_table.find(ids.front()), table.find(ids.front()));
}

}  // namespace
}  // namespace taskorch::detail
