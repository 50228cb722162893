#include "staging_ring.h"

#include <cstdlib>
#include <cstring>

namespace rvmr {

StagingRing::StagingRing(size_t capacity, size_t alignment) : capacity_(capacity) {
  void* p = nullptr;
  if (posix_memalign(&p, alignment, capacity) == 0) {
    data_ = static_cast<char*>(p);
    std::memset(data_, 0, capacity);
  }
}

StagingRing::~StagingRing() {
  std::free(data_);
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
