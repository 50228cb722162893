// The RDS heap as it lies in memory and on disk: byte for byte the layout of
// Coda's librds on x86-64 (docs/rds-heap.md). Private to librds.
//
//   HeapHeader at the heap's first byte, with free-list heads lists[0..nlists]
//   (index 0 is never used), then blocks of whole chunks up to the heap end.
//   Block:  guard word (kFreeGuard / kAllocGuard), size in chunks, then
//           prev/next free-list links (free) or user bytes (allocated);
//           its last word is kEndGuard.
#pragma once

#include <cstddef>
#include <cstdint>

#include <rvm/rds.h>

namespace rvmr::rds {

inline constexpr char kHeapVersion[] = "Dynamic Allocator Using Rvm Release 0.1 1 Dec 1990";
inline constexpr size_t kHeapVersionMax = 80;

inline constexpr unsigned long kFreeGuard = 0x345298af;
inline constexpr unsigned long kAllocGuard = 0x783bd92c;
inline constexpr unsigned long kEndGuard = 0xfd10a32e;
inline constexpr unsigned long kListGuard = 0xad938945;

struct BlockHeader {
  unsigned long type;  // kFreeGuard or kAllocGuard
  unsigned long size;  // block length in chunks, header and end guard included
  BlockHeader* prev;   // free-list links; the user's bytes start at prev
  BlockHeader* next;
};

struct FreeList {
  unsigned long guard;  // kListGuard
  BlockHeader* head;
};

struct HeapHeader {
  char version[kHeapVersionMax];
  unsigned long heaplength;  // bytes in the heap region
  unsigned long chunk_size;  // allocation unit in bytes
  unsigned long nlists;      // lists[1..nlists]; list n also holds larger blocks
  rds_stats_t stats;
  unsigned long maxlist;    // highest list that may be non-empty
  unsigned long dummy[10];  // reserved
  FreeList lists[1];        // really nlists + 1 entries
};

static_assert(sizeof(rds_stats_t) == 52);
static_assert(offsetof(HeapHeader, heaplength) == 80);
static_assert(offsetof(HeapHeader, chunk_size) == 88);
static_assert(offsetof(HeapHeader, nlists) == 96);
static_assert(offsetof(HeapHeader, stats) == 104);
static_assert(offsetof(HeapHeader, maxlist) == 160);
static_assert(offsetof(HeapHeader, lists) == 248);
static_assert(sizeof(HeapHeader) == 264);
static_assert(sizeof(BlockHeader) == 32);
static_assert(sizeof(FreeList) == 16);

// Bytes a block spends on bookkeeping: guard + size before the user's bytes,
// end guard after them.
inline constexpr unsigned long kBlockOverhead = 3 * sizeof(unsigned long);
// The smallest chunk that can hold a free block's header and its end guard.
inline constexpr unsigned long kMinChunkSize = sizeof(BlockHeader) + sizeof(unsigned long);

// Length of the header including all list heads, as the original computes it.
inline unsigned long HeaderLength(unsigned long nlists) {
  return sizeof(HeapHeader) + nlists * sizeof(FreeList);
}

inline char* UserBytes(BlockHeader* b) {
  return reinterpret_cast<char*>(&b->prev);
}
inline BlockHeader* BlockOf(char* user) {
  return reinterpret_cast<BlockHeader*>(user - 2 * sizeof(unsigned long));
}

}  // namespace rvmr::rds
