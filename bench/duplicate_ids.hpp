#pragma once
// duplicate_ids: the two id sets of the `duplicates` cases, random and crafted.
//
// The engine's batch check (engine/batch_validation.hpp) and the HTTP body parser's duplicate
// finder hash ids with job_id::hash(), which is fixed and public. Whoever knows it can choose
// ids that collide in the bits a table probes on: the engine's check probes linearly from the
// hash's low bits; boost::unordered_flat_set (the parser) picks its group from the high bits
// and its tag byte and overflow bit from the low ones.
//
// colliding_ids() makes such ids without brute force: job_id::hash() can be inverted in its
// last word (the last ~11 characters of the text), so for a random prefix the last word that
// gives a chosen hash is computed, and kept when its characters are all of [0-9a-z] (about one
// prefix in 320). Every crafted id has the same hash() in its low 63 bits; the top bit is
// random, so the ids split between two shards (the engine routes by the high bits) as random
// ids do, and each half collides completely in both tables.

#include <taskorch/job_id.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace taskorch::bench {

/// `n` distinct ids of the DRS shape (8-4-4-4-12 of [0-9a-z], ending in "jb" + 3), from a
/// generator seeded with `seed`: the same arguments give the same ids.
std::vector<job_id> random_ids(std::size_t n, std::uint64_t seed);

/// The hash() all colliding_ids() share, less the top bit.
inline constexpr std::uint64_t colliding_hash = 0x2545'f491'4f6c'dd1dULL;  // top bit clear

/// `n` distinct valid ids with hash() & ~(1 << 63) == colliding_hash, from a generator seeded
/// with `seed`. Their last characters are any of [0-9a-z] (not "jb" + 3). Throws
/// std::logic_error when the ids it makes do not have that hash (job_id::hash() changed and
/// this inversion no longer matches it).
std::vector<job_id> colliding_ids(std::size_t n, std::uint64_t seed);

}  // namespace taskorch::bench
