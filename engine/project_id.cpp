#include <taskorch/project_id.hpp>

namespace taskorch {

namespace {

constexpr std::string_view hex_digits = "0123456789abcdef";

constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::optional<project_id> project_id::parse(std::string_view text) noexcept {
  if (text.size() != text_size) return std::nullopt;
  std::array<std::uint64_t, 2> half{};
  for (std::size_t i = 0; i < text_size; ++i) {
    const int v = hex_value(text[i]);
    if (v < 0) return std::nullopt;
    half[i / 16] = (half[i / 16] << 4) | static_cast<std::uint64_t>(v);
  }
  project_id id;
  id.high_ = half[0];
  id.low_ = half[1];
  return id;
}

void project_id::write(char* out) const noexcept {
  for (std::size_t i = 0; i < 16; ++i) {
    out[i] = hex_digits[(high_ >> (60 - 4 * i)) & 15U];
    out[16 + i] = hex_digits[(low_ >> (60 - 4 * i)) & 15U];
  }
}

std::string project_id::to_string() const {
  std::string text(text_size, '\0');
  write(text.data());
  return text;
}

}  // namespace taskorch
