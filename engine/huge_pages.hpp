#pragma once
// huge_pages: asking Linux for transparent huge pages where large arrays live.
//
// Large arrays cost in two ways on 4 KiB pages: random probes of a big table miss the TLB
// (a prefetch cannot hide a page walk), and every first touch of fresh memory is a page
// fault; on virtual machines the faults of a million-item batch's buffers took longer than
// applying the batch. Both drop by ~500x on 2 MiB pages. The advice is only advice: where
// huge pages are off, memory is mapped as usual.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <sys/mman.h>

namespace taskorch::detail {

inline constexpr std::size_t huge_page_size = std::size_t{2} << 20;

/// Advises huge pages for the whole 2 MiB pages inside [p, p + bytes), before they are
/// first touched. Does nothing for arrays too small to hold one.
inline void advise_huge_pages(const void* p, std::size_t bytes) noexcept {
  const auto begin = reinterpret_cast<std::uintptr_t>(p);
  const std::uintptr_t first = (begin + huge_page_size - 1) & ~(huge_page_size - 1);
  const std::uintptr_t last = (begin + bytes) & ~(huge_page_size - 1);
  if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
}

/// glibc serves allocations of at least this many bytes with a fresh mmap, whatever its
/// adaptive threshold has grown to (DEFAULT_MMAP_THRESHOLD_MAX on 64-bit).
inline constexpr std::size_t always_mapped_size = std::size_t{32} << 20;

/// Advises huge pages for a buffer from the ordinary allocator, but only one large enough to
/// be a mapping of its own: advice on the shared heap would outlive the buffer.
inline void advise_fresh_huge_pages(const void* p, std::size_t bytes) noexcept {
  if (bytes >= always_mapped_size) advise_huge_pages(p, bytes);
}

/// Allocates arrays of a huge page or more on 2 MiB boundaries, advised for huge pages.
template <class T>
struct huge_page_allocator {
  using value_type = T;

  huge_page_allocator() = default;
  template <class U>
  huge_page_allocator(const huge_page_allocator<U>&) noexcept {}

  T* allocate(std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    if (bytes < huge_page_size) return std::allocator<T>().allocate(n);
    const std::size_t rounded = (bytes + huge_page_size - 1) / huge_page_size * huge_page_size;
    void* p = std::aligned_alloc(huge_page_size, rounded);
    if (p == nullptr) throw std::bad_alloc();
    advise_huge_pages(p, rounded);
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (n * sizeof(T) < huge_page_size) return std::allocator<T>().deallocate(p, n);
    std::free(p);
  }
  friend bool operator==(const huge_page_allocator&, const huge_page_allocator&) noexcept {
    return true;
  }
};

}  // namespace taskorch::detail
