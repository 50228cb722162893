// StagingRing: the bounded in-memory copy of the log bytes not yet durable.
// Logical offset L is kept at byte L % capacity of one page-aligned
// allocation, so aligned logical ranges are aligned in memory (O_DIRECT).
// Not synchronized: the DiskWriter decides who may touch which range.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>

namespace rvmr {

class StagingRing {
 public:
  // capacity must be a multiple of alignment (a power of two).
  StagingRing(size_t capacity, size_t alignment);
  ~StagingRing();

  StagingRing(const StagingRing&) = delete;
  StagingRing& operator=(const StagingRing&) = delete;

  // False if the allocation failed.
  bool ok() const { return data_ != nullptr; }
  size_t capacity() const { return capacity_; }
  char* base() const { return data_; }

  // Where logical offset `logical` lives.
  char* At(uint64_t logical) const { return data_ + logical % capacity_; }

  // Bytes from `logical` to the end of the allocation.
  size_t ContiguousFrom(uint64_t logical) const { return capacity_ - logical % capacity_; }

  // Copies n bytes from src into the ring at `logical`, wrapping as needed.
  void CopyIn(uint64_t logical, const char* src, size_t n);

  // Copies n bytes out of the ring from `logical`, wrapping as needed.
  void CopyOut(uint64_t logical, char* dst, size_t n) const;

 private:
  size_t capacity_;
  char* data_ = nullptr;
};

}  // namespace rvmr
