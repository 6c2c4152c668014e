// huge_page_allocator: buffers of a huge page or more get mappings of their own, so the
// huge-page advice never lands on memory the heap hands out again.

#include "huge_pages.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace taskorch::detail {
namespace {

/// The line of /proc/self/maps that holds `address`, or "" when nothing maps it.
std::string mapping_of(const void* address) {
  const auto a = reinterpret_cast<std::uintptr_t>(address);
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    std::istringstream fields(line);
    std::uintptr_t begin = 0;
    std::uintptr_t end = 0;
    char dash = 0;
    fields >> std::hex >> begin >> dash >> end;
    if (begin <= a && a < end) return line;
  }
  return {};
}

TEST(HugePageAllocator, LargeBuffersAreMappingsOfTheirOwn) {
  // Once a large block has been freed, glibc serves blocks below its (grown) mmap threshold
  // from the heap: a buffer advised there would pass the advice on to whatever the heap
  // hands out next.
  void* grow_threshold = std::malloc(std::size_t{24} << 20);
  std::free(grow_threshold);

  huge_page_allocator<char> allocator;
  constexpr std::size_t bytes = std::size_t{4} << 20;
  char* buffer = allocator.allocate(bytes);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(buffer) % huge_page_size, 0U);
  const std::string line = mapping_of(buffer);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.find("[heap]"), std::string::npos) << line;
  buffer[0] = 1;
  buffer[bytes - 1] = 2;
  allocator.deallocate(buffer, bytes);
  const std::string after = mapping_of(buffer);
  EXPECT_TRUE(after.empty() || after.find("[heap]") == std::string::npos) << after;
}

TEST(HugePageAllocator, SmallBuffersComeFromTheHeap) {
  huge_page_allocator<int> allocator;
  int* p = allocator.allocate(16);
  p[15] = 7;
  EXPECT_EQ(p[15], 7);
  allocator.deallocate(p, 16);
}

}  // namespace
}  // namespace taskorch::detail
