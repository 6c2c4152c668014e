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

/// Allocates arrays of a huge page or more as mappings of their own, on 2 MiB boundaries,
/// advised for huge pages; smaller ones come from the ordinary allocator. A mapping of its
/// own matters: the heap may hand a block out again after it is freed, and the advice would
/// stay with it.
template <class T>
struct huge_page_allocator {
  using value_type = T;

  huge_page_allocator() = default;
  template <class U>
  huge_page_allocator(const huge_page_allocator<U>&) noexcept {}

  T* allocate(std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    if (bytes < huge_page_size) return std::allocator<T>().allocate(n);
    // Map a huge page more than needed, then unmap the unaligned head and the tail.
    const std::size_t rounded = round_up(bytes);
    void* mapped = mmap(nullptr, rounded + huge_page_size, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapped == MAP_FAILED) throw std::bad_alloc();
    const auto start = reinterpret_cast<std::uintptr_t>(mapped);
    const std::uintptr_t aligned = (start + huge_page_size - 1) & ~(huge_page_size - 1);
    if (aligned > start) munmap(mapped, aligned - start);
    const std::uintptr_t tail = aligned + rounded;
    if (const std::uintptr_t end = start + rounded + huge_page_size; end > tail) {
      munmap(reinterpret_cast<void*>(tail), end - tail);
    }
    advise_huge_pages(reinterpret_cast<void*>(aligned), rounded);
    return reinterpret_cast<T*>(aligned);
  }
  void deallocate(T* p, std::size_t n) noexcept {
    const std::size_t bytes = n * sizeof(T);
    if (bytes < huge_page_size) return std::allocator<T>().deallocate(p, n);
    munmap(p, round_up(bytes));
  }
  friend bool operator==(const huge_page_allocator&, const huge_page_allocator&) noexcept {
    return true;
  }

 private:
  static std::size_t round_up(std::size_t bytes) noexcept {
    return (bytes + huge_page_size - 1) / huge_page_size * huge_page_size;
  }
};

}  // namespace taskorch::detail
