#include <taskorch/job_id.hpp>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <random>
#include <regex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

namespace taskorch {
namespace {

constexpr std::string_view kSeed = "8d0e8e36-a618-490d-8a46-8c61ac9jb502";
constexpr std::string_view kAlphabet = "0123456789abcdefghijklmnopqrstuvwxyz";

bool is_hyphen_position(std::size_t i) { return i == 8 || i == 13 || i == 18 || i == 23; }

/// Makes a random text of the DRS shape.
std::string random_text(std::mt19937_64& rng) {
  std::uniform_int_distribution<std::size_t> pick(0, kAlphabet.size() - 1);
  std::string text(job_id::text_size, '-');
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (!is_hyphen_position(i)) text[i] = kAlphabet[pick(rng)];
  }
  return text;
}

bool has_drs_shape(const std::string& text) {
  static const std::regex shape("^[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12}$");
  return std::regex_match(text, shape);
}

TEST(JobId, ParsesSeedExample) {
  const auto id = job_id::parse(kSeed);
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->to_string(), kSeed);
}

TEST(JobId, TextSizeIsThirtySix) { EXPECT_EQ(job_id::text_size, 36U); }

TEST(JobId, DefaultIsAllZeros) {
  EXPECT_EQ(job_id().to_string(), "00000000-0000-0000-0000-000000000000");
  EXPECT_EQ(job_id::parse("00000000-0000-0000-0000-000000000000"), job_id());
}

TEST(JobId, WriteProducesTheSameText) {
  const auto id = job_id::parse(kSeed);
  ASSERT_TRUE(id);
  std::array<char, job_id::text_size + 2> buffer;
  buffer.fill('#');
  id->write(buffer.data());
  EXPECT_EQ(std::string_view(buffer.data(), job_id::text_size), kSeed);
  EXPECT_EQ(buffer[job_id::text_size], '#') << "write() must not touch the byte after the text";
}

TEST(JobId, RoundTripsRandomTexts) {
  std::mt19937_64 rng(12345);
  for (int i = 0; i < 2000; ++i) {
    const std::string text = random_text(rng);
    const auto id = job_id::parse(text);
    ASSERT_TRUE(id) << text;
    EXPECT_EQ(id->to_string(), text);
    EXPECT_EQ(job_id::parse(id->to_string()), id);
  }
}

TEST(JobId, AcceptsEveryLowercaseLetterAndDigitInEveryPosition) {
  for (char c : kAlphabet) {
    std::string text = "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz";
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (is_hyphen_position(i)) continue;
      std::string variant = text;
      variant[i] = c;
      const auto id = job_id::parse(variant);
      ASSERT_TRUE(id) << variant;
      EXPECT_EQ(id->to_string(), variant);
    }
  }
}

TEST(JobId, HexOnlyIsNotRequired) {
  EXPECT_TRUE(job_id::parse("140b5236-88ad-43c8-811c-1268453jb101"));
  EXPECT_TRUE(job_id::parse("ghijklmn-opqr-stuv-wxyz-0123456789zz"));
}

TEST(JobId, FormatsWithFmt) {
  const auto id = job_id::parse(kSeed);
  ASSERT_TRUE(id);
  EXPECT_EQ(fmt::format("{}", *id), kSeed);
  EXPECT_EQ(fmt::format("[{:>38}]", *id), fmt::format("[  {}]", kSeed));
  EXPECT_EQ(fmt::format("{:.8}", *id), "8d0e8e36");
}

TEST(JobId, RejectsUppercase) {
  EXPECT_FALSE(job_id::parse("8D0E8E36-A618-490D-8A46-8C61AC9JB502"));
  for (std::size_t i = 0; i < kSeed.size(); ++i) {
    if (is_hyphen_position(i) || kSeed[i] < 'a') continue;
    std::string text(kSeed);
    text[i] = static_cast<char>(text[i] - 'a' + 'A');
    EXPECT_FALSE(job_id::parse(text)) << text;
  }
}

TEST(JobId, RejectsWrongLength) {
  EXPECT_FALSE(job_id::parse(""));
  EXPECT_FALSE(job_id::parse(kSeed.substr(0, 35)));
  EXPECT_FALSE(job_id::parse(std::string(kSeed) + "0"));
  EXPECT_FALSE(job_id::parse("8d0e8e36a618490d8a468c61ac9jb502"));  // no hyphens
  EXPECT_FALSE(job_id::parse(std::string(kSeed) + std::string(kSeed)));
}

TEST(JobId, RejectsMisplacedHyphens) {
  // Move each hyphen one place left and one place right.
  for (std::size_t h : {8U, 13U, 18U, 23U}) {
    for (int delta : {-1, 1}) {
      std::string text(kSeed);
      const std::size_t other = static_cast<std::size_t>(static_cast<int>(h) + delta);
      std::swap(text[h], text[other]);
      EXPECT_FALSE(job_id::parse(text)) << text;
    }
  }
  // A hyphen replaced by a digit, and a digit replaced by a hyphen.
  for (std::size_t i = 0; i < kSeed.size(); ++i) {
    std::string text(kSeed);
    text[i] = is_hyphen_position(i) ? '0' : '-';
    EXPECT_FALSE(job_id::parse(text)) << text;
  }
  EXPECT_FALSE(job_id::parse("8d0e8e36-a618-490d-8a46-8c61ac9jb50-"));
  EXPECT_FALSE(job_id::parse("-8d0e8e36a618-490d-8a46-8c61ac9jb502"));
}

TEST(JobId, RejectsNonAlphanumericCharacters) {
  const std::array<char, 13> bad{'_', ' ', '.', '{', '}', '/', ':', '@', '`', '[', '\0', '\n', '+'};
  for (std::size_t i = 0; i < kSeed.size(); ++i) {
    if (is_hyphen_position(i)) continue;
    for (char c : bad) {
      std::string text(kSeed);
      text[i] = c;
      EXPECT_FALSE(job_id::parse(text)) << "position " << i << " char " << static_cast<int>(c);
    }
    std::string high(kSeed);
    high[i] = static_cast<char>(0xC3);  // a byte of a UTF-8 sequence
    EXPECT_FALSE(job_id::parse(high)) << "position " << i;
  }
}

TEST(JobId, RejectsBracedAndUrnForms) {
  EXPECT_FALSE(job_id::parse("{8d0e8e36-a618-490d-8a46-8c61ac9jb50}"));
  EXPECT_FALSE(job_id::parse("urn:uuid:8d0e8e36-a618-490d-8a46-8c61"));
  EXPECT_FALSE(job_id::parse(" 8d0e8e36-a618-490d-8a46-8c61ac9jb50"));
}

TEST(JobId, EqualityFollowsText) {
  const auto a = job_id::parse(kSeed);
  const auto b = job_id::parse(std::string(kSeed));
  const auto c = job_id::parse("8d0e8e36-a618-490d-8a46-8c61ac9jb503");
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
}

TEST(JobId, OrderingEqualsTextOrdering) {
  std::mt19937_64 rng(777);
  std::vector<std::string> texts;
  for (int i = 0; i < 5000; ++i) texts.push_back(random_text(rng));
  // Near neighbours: pairs that differ only in one position, in every position.
  for (std::size_t i = 0; i < job_id::text_size; ++i) {
    if (is_hyphen_position(i)) continue;
    std::string lo(job_id::text_size, '0');
    for (std::size_t h : {8U, 13U, 18U, 23U}) lo[h] = '-';
    std::string hi = lo;
    lo[i] = '9';
    hi[i] = 'a';
    texts.push_back(lo);
    texts.push_back(hi);
    hi[i] = 'z';
    texts.push_back(hi);
  }
  std::vector<job_id> ids;
  for (const auto& t : texts) ids.push_back(*job_id::parse(t));

  std::vector<std::string> by_text = texts;
  std::sort(by_text.begin(), by_text.end());
  std::sort(ids.begin(), ids.end());
  ASSERT_EQ(ids.size(), by_text.size());
  for (std::size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ids[i].to_string(), by_text[i]);

  std::sort(by_text.begin(), by_text.end(), std::greater<>());
  std::sort(ids.begin(), ids.end(), std::greater<>());
  for (std::size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ids[i].to_string(), by_text[i]);

  // Pairwise agreement on a sample, including <=> results.
  for (std::size_t i = 0; i + 1 < texts.size(); i += 7) {
    const job_id a = *job_id::parse(texts[i]);
    const job_id b = *job_id::parse(texts[i + 1]);
    EXPECT_EQ(a < b, texts[i] < texts[i + 1]);
    EXPECT_EQ(a == b, texts[i] == texts[i + 1]);
    EXPECT_EQ((a <=> b) == std::strong_ordering::greater, texts[i] > texts[i + 1]);
  }
}

TEST(JobId, HashIsConsistentAndDistinguishesIds) {
  std::mt19937_64 rng(99);
  std::unordered_set<std::uint64_t> hashes;
  std::unordered_set<std::string> texts;
  for (int i = 0; i < 20000; ++i) {
    const std::string text = random_text(rng);
    if (!texts.insert(text).second) continue;
    const job_id id = *job_id::parse(text);
    EXPECT_EQ(id.hash(), job_id::parse(text)->hash());
    hashes.insert(id.hash());
  }
  EXPECT_EQ(hashes.size(), texts.size());
  // Ids that differ in a single character still hash differently.
  const job_id a = *job_id::parse("00000000-0000-0000-0000-000000000000");
  const job_id b = *job_id::parse("00000000-0000-0000-0000-000000000001");
  const job_id c = *job_id::parse("10000000-0000-0000-0000-000000000000");
  EXPECT_NE(a.hash(), b.hash());
  EXPECT_NE(a.hash(), c.hash());
  EXPECT_NE(b.hash(), c.hash());
  EXPECT_EQ(job_id_hash{}(b), static_cast<std::size_t>(b.hash()));
}

TEST(JobId, KeyedHashSpreadsIdsThatCollideInThePublicHash) {
  // Ids whose public hash agrees in its low 8 bits: what a client aiming at a table probed by
  // those bits would send. The keyed hash spreads them over the 256 values of the same bits.
  std::mt19937_64 rng(7);
  std::vector<job_id> aimed;
  constexpr std::uint64_t mask = 0xff;
  while (aimed.size() < 128) {
    const job_id id = *job_id::parse(random_text(rng));
    if ((id.hash() & mask) == 0) aimed.push_back(id);
  }
  std::unordered_set<std::uint64_t> buckets;
  for (const job_id& id : aimed) {
    EXPECT_EQ(id.keyed_hash(), job_id::parse(fmt::format("{}", id))->keyed_hash());
    EXPECT_EQ(job_id_keyed_hash{}(id), static_cast<std::size_t>(id.keyed_hash()));
    buckets.insert(id.keyed_hash() & mask);
  }
  // 128 random draws from 256 buckets fill about 100; all in a few would mean no key.
  EXPECT_GT(buckets.size(), 80U);
}

TEST(JobId, WorksAsUnorderedKey) {
  std::unordered_set<job_id, job_id_hash> set;
  const job_id seed = *job_id::parse(kSeed);
  set.insert(seed);
  set.insert(*job_id::parse(kSeed));
  set.insert(job_id());
  EXPECT_EQ(set.size(), 2U);
  EXPECT_TRUE(set.contains(seed));
}

TEST(JobId, MintHasTheDrsShape) {
  for (int i = 0; i < 1000; ++i) {
    const job_id id = job_id::mint();
    const std::string text = id.to_string();
    ASSERT_TRUE(has_drs_shape(text)) << text;
    EXPECT_EQ(text.substr(31, 2), "jb") << text;
    for (std::size_t k = 33; k < 36; ++k) {
      EXPECT_NE(kAlphabet.find(text[k]), std::string_view::npos) << text;
    }
    const auto parsed = job_id::parse(text);
    ASSERT_TRUE(parsed) << text;
    EXPECT_EQ(*parsed, id);
  }
}

TEST(JobId, MintIsUniqueOverManyIds) {
  constexpr std::size_t n = 100'000;
  std::unordered_set<job_id, job_id_hash> seen;
  seen.reserve(n);
  for (std::size_t i = 0; i < n; ++i) seen.insert(job_id::mint());
  EXPECT_EQ(seen.size(), n);
}

TEST(JobId, MintIsUniqueAcrossThreads) {
  constexpr std::size_t per_thread = 20'000;
  std::array<std::vector<job_id>, 4> minted;
  std::vector<std::thread> threads;
  for (auto& out : minted) {
    threads.emplace_back([&out] {
      out.reserve(per_thread);
      for (std::size_t i = 0; i < per_thread; ++i) out.push_back(job_id::mint());
    });
  }
  for (auto& t : threads) t.join();
  std::unordered_set<job_id, job_id_hash> seen;
  for (const auto& out : minted) seen.insert(out.begin(), out.end());
  EXPECT_EQ(seen.size(), per_thread * minted.size());
}

TEST(JobId, IsUsableInConstantExpressions) {
  constexpr job_id zero;
  static_assert(zero == job_id());
  static_assert(!(zero < zero));
  SUCCEED();
}

}  // namespace
}  // namespace taskorch
