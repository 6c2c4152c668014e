#include <taskorch/project_id.hpp>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <random>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace taskorch {
namespace {

constexpr std::string_view kProject = "054ba152d480d55b2f5dc0069e7ddef0";
constexpr std::string_view kHex = "0123456789abcdef";

std::string random_hex(std::mt19937_64& rng) {
  std::uniform_int_distribution<std::size_t> pick(0, kHex.size() - 1);
  std::string text(project_id::text_size, '0');
  for (char& c : text) c = kHex[pick(rng)];
  return text;
}

TEST(ProjectId, ParsesDrsExample) {
  const auto p = project_id::parse(kProject);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->to_string(), kProject);
}

TEST(ProjectId, TextSizeIsThirtyTwo) { EXPECT_EQ(project_id::text_size, 32U); }

TEST(ProjectId, DefaultIsAllZeros) {
  EXPECT_EQ(project_id().to_string(), std::string(32, '0'));
  EXPECT_EQ(project_id::parse(std::string(32, '0')), project_id());
}

TEST(ProjectId, RoundTripsRandomTexts) {
  std::mt19937_64 rng(4242);
  for (int i = 0; i < 2000; ++i) {
    const std::string text = random_hex(rng);
    const auto p = project_id::parse(text);
    ASSERT_TRUE(p) << text;
    EXPECT_EQ(p->to_string(), text);
    std::array<char, project_id::text_size + 1> buffer;
    buffer.back() = '#';
    p->write(buffer.data());
    EXPECT_EQ(std::string_view(buffer.data(), project_id::text_size), text);
    EXPECT_EQ(buffer.back(), '#');
  }
  EXPECT_EQ(project_id::parse("ffffffffffffffffffffffffffffffff")->to_string(),
            "ffffffffffffffffffffffffffffffff");
}

TEST(ProjectId, FormatsWithFmt) {
  const auto p = project_id::parse(kProject);
  ASSERT_TRUE(p);
  EXPECT_EQ(fmt::format("{}", *p), kProject);
  EXPECT_EQ(fmt::format("<{:<34}>", *p), fmt::format("<{}  >", kProject));
}

TEST(ProjectId, RejectsUppercase) {
  EXPECT_FALSE(project_id::parse("054BA152D480D55B2F5DC0069E7DDEF0"));
  for (std::size_t i = 0; i < kProject.size(); ++i) {
    if (kProject[i] < 'a') continue;
    std::string text(kProject);
    text[i] = static_cast<char>(text[i] - 'a' + 'A');
    EXPECT_FALSE(project_id::parse(text)) << text;
  }
}

TEST(ProjectId, RejectsWrongLength) {
  EXPECT_FALSE(project_id::parse(""));
  EXPECT_FALSE(project_id::parse(kProject.substr(0, 31)));
  EXPECT_FALSE(project_id::parse(std::string(kProject) + "0"));
  EXPECT_FALSE(project_id::parse("054ba152-d480-d55b-2f5d-c0069e7ddef0"));  // UUID form
}

TEST(ProjectId, RejectsNonHexCharacters) {
  for (std::size_t i = 0; i < kProject.size(); ++i) {
    for (char c : {'g', 'z', '-', ' ', '_', '\0'}) {
      std::string text(kProject);
      text[i] = c;
      EXPECT_FALSE(project_id::parse(text)) << "position " << i << " char " << static_cast<int>(c);
    }
  }
}

TEST(ProjectId, OrderingEqualsTextOrdering) {
  std::mt19937_64 rng(5);
  std::vector<std::string> texts;
  for (int i = 0; i < 3000; ++i) texts.push_back(random_hex(rng));
  // Neighbours across the 64-bit halves.
  texts.emplace_back("0000000000000000ffffffffffffffff");
  texts.emplace_back("00000000000000010000000000000000");
  std::vector<project_id> ids;
  for (const auto& t : texts) ids.push_back(*project_id::parse(t));
  std::sort(texts.begin(), texts.end());
  std::sort(ids.begin(), ids.end());
  for (std::size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ids[i].to_string(), texts[i]);
  std::sort(texts.begin(), texts.end(), std::greater<>());
  std::sort(ids.begin(), ids.end(), std::greater<>());
  for (std::size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ids[i].to_string(), texts[i]);
}

TEST(ProjectId, HashDistinguishesIds) {
  std::mt19937_64 rng(6);
  std::unordered_set<std::string> texts;
  std::unordered_set<std::uint64_t> hashes;
  for (int i = 0; i < 10000; ++i) {
    const std::string text = random_hex(rng);
    if (!texts.insert(text).second) continue;
    hashes.insert(project_id::parse(text)->hash());
  }
  EXPECT_EQ(hashes.size(), texts.size());
  std::unordered_set<project_id, project_id_hash> set;
  set.insert(*project_id::parse(kProject));
  set.insert(*project_id::parse(kProject));
  set.insert(project_id());
  EXPECT_EQ(set.size(), 2U);
}

}  // namespace
}  // namespace taskorch
