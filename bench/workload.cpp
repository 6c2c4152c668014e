#include "workload.hpp"

#include <algorithm>
#include <random>

namespace taskorch::bench {

namespace {

/// A DRS-shaped id from a seeded generator: 8-4-4-4-12 of [0-9a-z], ending in "jb" + 3.
job_id make_id(std::mt19937_64& rng) {
  static constexpr char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string text(job_id::text_size, '-');
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) continue;
    text[i] = alphabet[rng() % 36];
  }
  text[31] = 'j';
  text[32] = 'b';
  return *job_id::parse(text);
}

/// Mostly transferring tasks, as in a live fleet, with some of every other kind of state.
task_cell make_cell(std::mt19937_64& rng) {
  const auto roll = static_cast<unsigned>(rng() % 100);
  task_cell c;
  if (roll < 25) {
    c.state = task_state::full_transfer;
  } else if (roll < 45) {
    c.state = task_state::full_transfer_complete;
  } else if (roll < 70) {
    c.state = task_state::incremental_transfer;
  } else if (roll < 80) {
    c.state = task_state::paused;
    c.paused_from = task_state::incremental_transfer;
    c.mode = roll % 2 ? pause_mode::all : pause_mode::target;
  } else if (roll < 85) {
    c.state = task_state::incremental_transfer_failed;
  } else if (roll < 90) {
    c.state = task_state::configuration;
  } else if (roll < 95) {
    c.state = task_state::start_failed;
  } else {
    c.state = task_state::stopped;
  }
  return c;
}

}  // namespace

void shuffle(std::vector<std::size_t>& v, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng() % i]);
}

fleet make_fleet(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  fleet f;
  f.project = *project_id::parse("054ba152d480d55b2f5dc0069e7ddef0");
  f.tasks.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    job_id id = make_id(rng);
    f.tasks.push_back({id, id.to_string(), make_cell(rng)});
  }
  // Ids are random over 36^30 values: a repeat is practically impossible, but check.
  std::vector<job_id> sorted;
  sorted.reserve(n);
  for (const fleet_task& t : f.tasks) sorted.push_back(t.id);
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
    return make_fleet(n, seed + 1);
  }
  return f;
}

id_stream::id_stream(const fleet& f, std::size_t max_batch, std::uint64_t seed) {
  std::vector<std::size_t> order(f.tasks.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  shuffle(order, seed);
  build(f, std::move(order), max_batch);
}

void id_stream::build(const fleet& f, std::vector<std::size_t> order, std::size_t max_batch) {
  distinct_ = order.size();
  const std::size_t extra = distinct_ == 0 ? 0 : std::min(max_batch, distinct_);
  ids_.reserve(distinct_ + extra);
  texts_.reserve(distinct_ + extra);
  for (std::size_t k = 0; k < distinct_ + extra; ++k) {
    const fleet_task& t = f.tasks[order[k % distinct_]];
    ids_.push_back(t.id);
    texts_.push_back(t.text);
  }
}

}  // namespace taskorch::bench
