// Heap: the RDS allocator working on a mapped heap (layout in heap_layout.h).
//
// The free lists in the heap are the durable state and are kept exactly as
// the original allocator keeps them. On top of them Heap keeps a volatile
// index of the blocks on the largest list ordered by (size, address), so the
// best-fit search of a large allocation is O(log n) instead of a walk of the
// whole list, and rds_maxblock is O(1). The index is rebuilt from the lists
// whenever the heap may have changed behind its back: at attach time, after
// a failed operation, and when the header's counters differ from the ones
// recorded after the last operation (an aborted transaction restored them).
//
// Every store into the heap is preceded by rvm_set_range on the tid given to
// the operation. Not thread-safe: the caller serializes (librds's heap lock).
#pragma once

#include <set>
#include <utility>

#include <rvm/rvm.h>

#include "heap_layout.h"

namespace rvmr::rds {

class Heap {
 public:
  Heap() = default;
  Heap(const Heap&) = delete;
  Heap& operator=(const Heap&) = delete;

  // Starts using the heap at `base`. Returns SUCCESS, EHEAP_VERSION_SKEW or
  // ECORRUPT (geometry or a list guard is not a heap's).
  int Attach(HeapHeader* base);
  void Detach();
  bool attached() const { return hdr_ != nullptr; }
  HeapHeader* header() const { return hdr_; }
  // First address past the last possible block start (the original's
  // RecoverableHeapHighAddress).
  BlockHeader* high() const { return high_; }

  // Chunks a request for `bytes` user bytes takes (always at least one more
  // than the exact fit, as the original computes it); 0 if it cannot fit.
  unsigned long ChunksFor(unsigned long bytes) const;

  // Brackets every operation: BeginOp resynchronizes the index when the heap
  // changed under it, EndOp(ok) records the state (or, after a failure whose
  // effects the caller's abort will undo, forces a resync).
  void BeginOp();
  void EndOp(bool ok);
  // Forgets the index (the heap was rewritten wholesale, e.g. re-initialized).
  void Invalidate() { EndOp(false); }

  // Takes a free block of exactly `chunks` chunks off the lists (splitting a
  // larger one, coalescing if needed) and marks it allocated. Updates the
  // statistics. SUCCESS, ENO_ROOM, ECORRUPT or an rvm_return_t.
  int Allocate(unsigned long chunks, rvm_tid_t* tid, BlockHeader** out);

  // Checks that `user` is the start of an allocated block of this heap.
  // SUCCESS, EBAD_ARGS (not a block address), EFREED_TWICE or ECORRUPT.
  int Validate(char* user, BlockHeader** out) const;

  // Frees a block Validate accepted: marks it free, merges the free blocks
  // that follow it and puts it on its list. Updates the statistics, which
  // the caller must have covered (CoverStats) in the same transaction.
  int Release(BlockHeader* b, rvm_tid_t* tid);

  // Splits one free block of `chunks` chunks off and puts it on its list.
  // Statistics must be covered by the caller.
  int Preallocate(unsigned long chunks, rvm_tid_t* tid);

  // Merges every free block with the free blocks that follow it and moves
  // blocks to the lists their sizes belong to (the original's coalesce).
  // Skips the merge pass when nothing was freed since the last one.
  int Coalesce(rvm_tid_t* tid);

  // The original's rds_maxblock test.
  bool HasBlockOf(unsigned long nchunks) const;

  // Covers the statistics with a set_range (callers then update them).
  int CoverStats(rvm_tid_t* tid);

 private:
  using Key = std::pair<unsigned long, BlockHeader*>;

  unsigned long ListFor(unsigned long chunks) const;
  int Cover(rvm_tid_t* tid, void* p, size_t n);
  int Push(BlockHeader* b, rvm_tid_t* tid);
  int Unlink(unsigned long list, BlockHeader* b, rvm_tid_t* tid);
  int Split(unsigned long chunks, rvm_tid_t* tid, BlockHeader** out);
  int MergeFollowing(BlockHeader* b, unsigned long home_list, rvm_tid_t* tid, bool* merged);
  int SetMaxList(unsigned long m, rvm_tid_t* tid);
  bool InHeap(const BlockHeader* b) const;
  bool RebuildIndex();
  void Snapshot();
  bool SnapshotMatches() const;

  HeapHeader* hdr_ = nullptr;
  BlockHeader* first_ = nullptr;  // where the first block starts
  BlockHeader* high_ = nullptr;
  char* end_ = nullptr;  // one past the heap region
  unsigned long chunk_ = 0;

  std::set<Key> big_;  // blocks on lists[maxlist]
  bool index_ok_ = false;
  bool corrupt_ = false;  // the largest list could not be walked

  // Header state recorded after the last operation.
  rds_stats_t seen_stats_{};
  unsigned long seen_maxlist_ = 0;
  // Counters at the end of the last merge pass; a pass is pointless until a
  // free or a preallocation (the only ways to put free blocks side by side)
  // happened since.
  bool merge_mark_ok_ = false;
  unsigned seen_free_at_merge_ = 0;
  unsigned seen_prealloc_at_merge_ = 0;
};

}  // namespace rvmr::rds
