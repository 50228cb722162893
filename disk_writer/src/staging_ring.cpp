#include "staging_ring.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

namespace rvmr {

StagingRing::StagingRing(size_t capacity, size_t alignment) : capacity_(capacity) {
  // mmap gives page alignment; map more only for a larger alignment. No
  // MAP_POPULATE, no memset: the kernel hands out zeroed pages on first touch.
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t slack = alignment > page ? alignment : 0;
  if (capacity == 0) return;
  void* p = ::mmap(nullptr, capacity + slack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
  if (p == MAP_FAILED) return;
  map_ = p;
  map_len_ = capacity + slack;
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  if (slack != 0) a = (a + alignment - 1) & ~static_cast<uintptr_t>(alignment - 1);
  data_ = reinterpret_cast<char*>(a);
}

void StagingRing::Touch(uint64_t logical, size_t n) {
  constexpr size_t kStride = 4096;
  for (uint64_t l = logical; l < logical + n; l += kStride) *At(l) = 0;
}

StagingRing::~StagingRing() {
  if (map_ != nullptr) ::munmap(map_, map_len_);
}

void StagingRing::CopyIn(uint64_t logical, const char* src, size_t n) {
  while (n > 0) {
    size_t chunk = ContiguousFrom(logical);
    if (chunk > n) chunk = n;
    std::memcpy(At(logical), src, chunk);
    logical += chunk;
    src += chunk;
    n -= chunk;
  }
}

void StagingRing::CopyOut(uint64_t logical, char* dst, size_t n) const {
  while (n > 0) {
    size_t chunk = ContiguousFrom(logical);
    if (chunk > n) chunk = n;
    std::memcpy(dst, At(logical), chunk);
    logical += chunk;
    dst += chunk;
    n -= chunk;
  }
}

}  // namespace rvmr
