// StagingRing: the bounded in-memory copy of the log bytes not yet durable.
// Logical offset L is kept at byte L % capacity of one page-aligned
// allocation, so aligned logical ranges are aligned in memory (O_DIRECT).
// The allocation is a private anonymous mapping that is not touched when the
// ring is made (so making even a large ring costs next to nothing at
// startup): its pages read as zeros and each is faulted in once, on its first
// write (an appender's copy, or Touch).
// Not synchronized: the DiskWriter decides who may touch which range.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>

namespace rvmr {

class StagingRing {
 public:
  // capacity must be a multiple of alignment (a power of two). Reserves the
  // memory without touching it; ok() says whether that worked.
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

  // Writes a zero byte into each 4096-byte block of the n bytes at
  // `logical` (wrapping as needed), which faults their pages in. For bytes
  // no one else reads or writes meanwhile and that hold nothing yet (a fresh
  // ring reads as zeros).
  void Touch(uint64_t logical, size_t n);

  // Copies n bytes out of the ring from `logical`, wrapping as needed.
  void CopyOut(uint64_t logical, char* dst, size_t n) const;

 private:
  size_t capacity_;
  char* data_ = nullptr;  // capacity_ bytes, aligned; inside the mapping
  void* map_ = nullptr;   // the mapping (munmap'ed by the destructor)
  size_t map_len_ = 0;
};

}  // namespace rvmr
