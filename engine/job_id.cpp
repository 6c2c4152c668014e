#include <taskorch/job_id.hpp>

#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid.hpp>

#include <random>

namespace taskorch {

namespace {

constexpr std::uint8_t invalid = 0xFF;

/// Maps '0'-'9' to 0-9 and 'a'-'z' to 10-35; everything else is invalid.
constexpr std::array<std::uint8_t, 256> digit_table = [] {
  std::array<std::uint8_t, 256> t{};
  t.fill(invalid);
  for (int c = '0'; c <= '9'; ++c) t[c] = static_cast<std::uint8_t>(c - '0');
  for (int c = 'a'; c <= 'z'; ++c) t[c] = static_cast<std::uint8_t>(c - 'a' + 10);
  return t;
}();

constexpr std::string_view digits = "0123456789abcdefghijklmnopqrstuvwxyz";

constexpr bool is_hyphen_position(std::size_t i) { return i == 8 || i == 13 || i == 18 || i == 23; }

/// The key of keyed_hash(), drawn from the system's entropy source at first use.
const std::array<std::uint64_t, 4>& hash_key() {
  static const std::array<std::uint64_t, 4> key = [] {
    std::random_device entropy;
    std::array<std::uint64_t, 4> k{};
    for (std::uint64_t& word : k) word = (std::uint64_t{entropy()} << 32) | entropy();
    return k;
  }();
  return key;
}

/// The high and low halves of a * b, folded together.
std::uint64_t folded_multiply(std::uint64_t a, std::uint64_t b) noexcept {
  __extension__ using wide = unsigned __int128;
  const wide product = static_cast<wide>(a) * b;
  return static_cast<std::uint64_t>(product) ^ static_cast<std::uint64_t>(product >> 64);
}

}  // namespace

std::uint64_t job_id::keyed_hash() const noexcept {
  const std::array<std::uint64_t, 4>& key = hash_key();
  const std::uint64_t h = folded_multiply(words_[0] ^ key[0], words_[1] ^ key[1]);
  return folded_multiply(h ^ words_[2] ^ key[2], key[3] | 1);
}

std::optional<job_id> job_id::parse(std::string_view text) noexcept {
  if (text.size() != text_size) return std::nullopt;
  std::uint64_t w0 = 0;
  std::uint64_t w1 = 0;
  std::uint64_t w2 = 0;
  std::uint8_t bad = 0;
  for (std::size_t i = 0; i < text_size; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (is_hyphen_position(i)) {
      bad |= static_cast<std::uint8_t>(c != '-');
      continue;
    }
    const std::uint8_t v = digit_table[c];
    bad |= static_cast<std::uint8_t>(v == invalid);
    // Shift the 192-bit number (w0 most significant) left by six and add the digit.
    w0 = (w0 << 6) | (w1 >> 58);
    w1 = (w1 << 6) | (w2 >> 58);
    w2 = (w2 << 6) | (v & 63U);
  }
  if (bad != 0) return std::nullopt;
  job_id id;
  id.words_ = {w0, w1, w2};
  return id;
}

void job_id::write(char* out) const noexcept {
  std::uint64_t w0 = words_[0];
  std::uint64_t w1 = words_[1];
  std::uint64_t w2 = words_[2];
  for (std::size_t i = text_size; i-- > 0;) {
    if (is_hyphen_position(i)) {
      out[i] = '-';
      continue;
    }
    const std::uint64_t v = w2 & 63U;
    out[i] = v < digits.size() ? digits[v] : '?';
    w2 = (w2 >> 6) | (w1 << 58);
    w1 = (w1 >> 6) | (w0 << 58);
    w0 >>= 6;
  }
}

std::string job_id::to_string() const {
  std::string text(text_size, '\0');
  write(text.data());
  return text;
}

job_id job_id::mint() {
  thread_local boost::uuids::random_generator_mt19937 generator;
  const boost::uuids::uuid u = generator();
  std::array<char, text_size> text{};
  std::size_t pos = 0;
  for (const std::uint8_t byte : u) {
    if (is_hyphen_position(pos)) text[pos++] = '-';
    text[pos++] = digits[byte >> 4];
    if (is_hyphen_position(pos)) text[pos++] = '-';
    text[pos++] = digits[byte & 15];
  }
  text[text_size - 5] = 'j';  // DRS ids end in "jb" and three more characters
  text[text_size - 4] = 'b';
  return *parse(std::string_view(text.data(), text.size()));
}

}  // namespace taskorch
