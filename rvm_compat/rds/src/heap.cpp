// Heap: the RDS allocator (see heap.h).
#include "heap.h"

#include <climits>
#include <cstring>

namespace rvmr::rds {

namespace {

BlockHeader* Advance(BlockHeader* b, unsigned long bytes) {
  return reinterpret_cast<BlockHeader*>(reinterpret_cast<char*>(b) + bytes);
}

}  // namespace

int Heap::Attach(HeapHeader* base) {
  Detach();
  if (base == nullptr) return EBAD_ARGS;
  if (strncmp(base->version, kHeapVersion, kHeapVersionMax) != 0) return EHEAP_VERSION_SKEW;
  const unsigned long chunk = base->chunk_size;
  const unsigned long nlists = base->nlists;
  if (chunk < kMinChunkSize || chunk % sizeof(void*) != 0 || nlists == 0 ||
      nlists > base->heaplength / sizeof(FreeList) ||
      base->heaplength < HeaderLength(nlists) + chunk || base->maxlist == 0 ||
      base->maxlist > nlists) {
    return ECORRUPT;
  }
  for (unsigned long i = 1; i <= nlists; ++i) {
    if (base->lists[i].guard != kListGuard) return ECORRUPT;
  }
  const unsigned long hdr_len = HeaderLength(nlists);
  auto start = reinterpret_cast<uintptr_t>(base) + hdr_len;
  start = (start + chunk - 1) / chunk * chunk;
  hdr_ = base;
  chunk_ = chunk;
  first_ = reinterpret_cast<BlockHeader*>(start);
  high_ = reinterpret_cast<BlockHeader*>(reinterpret_cast<char*>(base) + hdr_len +
                                         (base->heaplength - hdr_len) / chunk * chunk);
  end_ = reinterpret_cast<char*>(base) + base->heaplength;
  merge_mark_ok_ = false;
  if (!RebuildIndex()) {
    Detach();
    return ECORRUPT;
  }
  Snapshot();
  return SUCCESS;
}

void Heap::Detach() {
  hdr_ = nullptr;
  first_ = high_ = nullptr;
  end_ = nullptr;
  chunk_ = 0;
  big_.clear();
  index_ok_ = false;
  corrupt_ = false;
  merge_mark_ok_ = false;
}

unsigned long Heap::ChunksFor(unsigned long bytes) const {
  if (bytes > ULONG_MAX - kBlockOverhead) return 0;
  unsigned long chunks = (bytes + kBlockOverhead) / chunk_ + 1;
  if (chunks > static_cast<unsigned long>(end_ - reinterpret_cast<char*>(first_)) / chunk_) {
    return 0;
  }
  return chunks;
}

void Heap::BeginOp() {
  if (!index_ok_ || !SnapshotMatches()) {
    merge_mark_ok_ = false;
    corrupt_ = !RebuildIndex();
    Snapshot();
  }
}

void Heap::EndOp(bool ok) {
  if (ok) {
    Snapshot();
  } else {
    index_ok_ = false;
    merge_mark_ok_ = false;
  }
}

void Heap::Snapshot() {
  memcpy(&seen_stats_, &hdr_->stats, sizeof(rds_stats_t));
  seen_maxlist_ = hdr_->maxlist;
}

bool Heap::SnapshotMatches() const {
  return seen_maxlist_ == hdr_->maxlist &&
         memcmp(&seen_stats_, &hdr_->stats, sizeof(rds_stats_t)) == 0;
}

bool Heap::InHeap(const BlockHeader* b) const {
  auto p = reinterpret_cast<uintptr_t>(b);
  auto lo = reinterpret_cast<uintptr_t>(first_);
  return p >= lo && p < reinterpret_cast<uintptr_t>(high_) && (p - lo) % chunk_ == 0;
}

bool Heap::RebuildIndex() {
  big_.clear();
  index_ok_ = false;
  const unsigned long m = hdr_->maxlist;
  if (m == 0 || m > hdr_->nlists) return false;
  const unsigned long limit =
      static_cast<unsigned long>(end_ - reinterpret_cast<char*>(first_)) / chunk_;
  unsigned long steps = 0;
  for (BlockHeader* b = hdr_->lists[m].head; b != nullptr; b = b->next) {
    if (++steps > limit || !InHeap(b) || b->type != kFreeGuard || b->size == 0 || b->size > limit) {
      big_.clear();
      return false;
    }
    big_.emplace(b->size, b);
  }
  index_ok_ = true;
  return true;
}

unsigned long Heap::ListFor(unsigned long chunks) const {
  return chunks >= hdr_->maxlist ? hdr_->maxlist : chunks;
}

int Heap::Cover(rvm_tid_t* tid, void* p, size_t n) {
  return static_cast<int>(rvm_set_range(tid, p, n));
}

int Heap::CoverStats(rvm_tid_t* tid) {
  return Cover(tid, &hdr_->stats, sizeof(rds_stats_t));
}

int Heap::Push(BlockHeader* b, rvm_tid_t* tid) {
  const unsigned long l = ListFor(b->size);
  FreeList& list = hdr_->lists[l];
  if (list.guard != kListGuard) return ECORRUPT;
  if (int e = Cover(tid, b, sizeof(BlockHeader))) return e;
  BlockHeader* old = list.head;
  b->next = old;
  b->prev = nullptr;
  if (old != nullptr) {
    if (int e = Cover(tid, &old->prev, sizeof(old->prev))) return e;
    old->prev = b;
  }
  if (int e = Cover(tid, &list, sizeof(FreeList))) return e;
  list.head = b;
  if (l == hdr_->maxlist) big_.emplace(b->size, b);
  return SUCCESS;
}

int Heap::Unlink(unsigned long l, BlockHeader* b, rvm_tid_t* tid) {
  FreeList& list = hdr_->lists[l];
  BlockHeader* next = b->next;
  if (list.head == b) {
    if (int e = Cover(tid, &list, sizeof(FreeList))) return e;
    list.head = next;
    if (next != nullptr) {
      if (int e = Cover(tid, &next->prev, sizeof(next->prev))) return e;
      next->prev = nullptr;
    }
  } else {
    BlockHeader* prev = b->prev;
    if (prev == nullptr || !InHeap(prev) || prev->next != b) return ECORRUPT;
    if (int e = Cover(tid, &prev->next, sizeof(prev->next))) return e;
    prev->next = next;
    if (next != nullptr) {
      if (int e = Cover(tid, &next->prev, sizeof(next->prev))) return e;
      next->prev = prev;
    }
  }
  if (l == hdr_->maxlist) big_.erase(Key(b->size, b));
  return SUCCESS;
}

int Heap::SetMaxList(unsigned long m, rvm_tid_t* tid) {
  if (int e = Cover(tid, &hdr_->maxlist, sizeof(hdr_->maxlist))) return e;
  hdr_->maxlist = m;
  return SUCCESS;
}

int Heap::Allocate(unsigned long chunks, rvm_tid_t* tid, BlockHeader** out) {
  if (corrupt_) return ECORRUPT;
  if (int e = CoverStats(tid)) return e;
  rds_stats_t& st = hdr_->stats;
  st.malloc++;
  st.freebytes -= static_cast<unsigned>(chunks * chunk_);
  st.mallocbytes += static_cast<unsigned>(chunks * chunk_);

  const unsigned long l = ListFor(chunks);
  FreeList& list = hdr_->lists[l];
  if (list.guard != kListGuard) return ECORRUPT;
  const bool large = l >= hdr_->maxlist;
  BlockHeader* b = nullptr;
  if (list.head == nullptr || list.head->size != chunks) {
    if (large) {
      st.large_misses++;
    } else {
      st.misses++;
    }
    if (int e = Split(chunks, tid, &b)) return e;
  } else {
    if (large) {
      st.large_hits++;
    } else {
      st.hits++;
    }
    b = list.head;
    if (!InHeap(b)) return ECORRUPT;
    if (int e = Unlink(l, b, tid)) return e;
  }
  auto* end_guard = reinterpret_cast<unsigned long*>(Advance(b, chunks * chunk_)) - 1;
  if (b->size != chunks || b->type != kFreeGuard || *end_guard != kEndGuard) return ECORRUPT;
  if (int e = Cover(tid, b, sizeof(BlockHeader))) return e;
  b->type = kAllocGuard;
  b->prev = b->next = nullptr;
  *out = b;
  return SUCCESS;
}

int Heap::Split(unsigned long chunks, rvm_tid_t* tid, BlockHeader** out) {
  if (hdr_->lists[hdr_->maxlist].head == nullptr) {
    // The largest list ran dry: step down to the highest non-empty list
    // above the request, or coalesce when there is none.
    hdr_->stats.large_list++;
    unsigned long m = hdr_->maxlist;
    while (m > chunks && hdr_->lists[m].head == nullptr) --m;
    if (int e = SetMaxList(m, tid)) return e;
    if (!RebuildIndex()) return ECORRUPT;
    if (hdr_->lists[m].head == nullptr) {
      if (int e = Coalesce(tid)) return e;
    }
  }
  for (int attempt = 0;; ++attempt) {
    // Prefer a list holding an exact multiple of the request (it splits into
    // equal pieces); otherwise the best fit on the largest list.
    const unsigned long maxlist = hdr_->maxlist;
    unsigned long l = maxlist;
    for (unsigned long i = 2 * chunks; i < maxlist; i += chunks) {
      if (hdr_->lists[i].head != nullptr) {
        l = i;
        break;
      }
    }
    BlockHeader* b = nullptr;
    if (l != maxlist) {
      b = hdr_->lists[l].head;
    } else {
      auto it = big_.lower_bound(Key(chunks, nullptr));
      if (it != big_.end()) b = it->second;
    }
    if (b == nullptr) {
      if (attempt > 0) return ENO_ROOM;
      if (int e = Coalesce(tid)) return e;
      continue;
    }
    if (!InHeap(b) || b->type != kFreeGuard || b->size < chunks ||
        reinterpret_cast<char*>(Advance(b, b->size * chunk_)) > end_) {
      return ECORRUPT;
    }
    if (b->size == chunks) {
      if (int e = Unlink(l, b, tid)) return e;
      *out = b;
      return SUCCESS;
    }
    // Keep the front part free, hand out the tail.
    const unsigned long remaining = b->size - chunks;
    BlockHeader* tail = Advance(b, remaining * chunk_);
    if (l == maxlist) big_.erase(Key(b->size, b));
    if (int e = Cover(tid, b, sizeof(BlockHeader))) return e;
    b->size = remaining;
    auto* guard = reinterpret_cast<unsigned long*>(tail) - 1;
    if (int e = Cover(tid, guard, sizeof(*guard))) return e;
    *guard = kEndGuard;
    if (int e = Cover(tid, tail, sizeof(BlockHeader))) return e;
    tail->size = chunks;
    tail->type = kFreeGuard;
    if (remaining < maxlist) {
      if (int e = Unlink(l, b, tid)) return e;
      if (int e = Push(b, tid)) return e;
    } else {
      big_.emplace(remaining, b);
    }
    *out = tail;
    return SUCCESS;
  }
}

int Heap::MergeFollowing(BlockHeader* b, unsigned long home_list, rvm_tid_t* tid, bool* merged) {
  *merged = false;
  const bool indexed = home_list != 0 && home_list == hdr_->maxlist;
  BlockHeader* n = Advance(b, b->size * chunk_);
  bool covered = false;
  while (n < high_ && n->type == kFreeGuard) {
    if (n->size == 0 || reinterpret_cast<char*>(Advance(n, n->size * chunk_)) > end_) {
      return ECORRUPT;
    }
    if (!covered) {
      if (int e = Cover(tid, b, sizeof(BlockHeader))) return e;
      covered = true;
    }
    auto* end_guard = reinterpret_cast<unsigned long*>(n) - 1;
    *merged = true;
    hdr_->stats.merged++;
    const unsigned long nl = ListFor(n->size);
    if (hdr_->lists[nl].head == nullptr) return ECORRUPT;  // a free block on no list
    if (int e = Unlink(nl, n, tid)) return e;
    if (indexed) big_.erase(Key(b->size, b));
    b->size += n->size;
    if (indexed) big_.emplace(b->size, b);
    // Wipe the old boundary so no stale header is ever mistaken for a block.
    if (int e = Cover(tid, end_guard, sizeof(*end_guard) + sizeof(BlockHeader))) return e;
    *end_guard = 0;
    memset(static_cast<void*>(n), 0, sizeof(BlockHeader));
    n = Advance(b, b->size * chunk_);
  }
  return SUCCESS;
}

int Heap::Release(BlockHeader* b, rvm_tid_t* tid) {
  if (corrupt_) return ECORRUPT;
  if (int e = Cover(tid, &b->type, sizeof(b->type))) return e;
  b->type = kFreeGuard;
  rds_stats_t& st = hdr_->stats;
  st.free++;
  st.freebytes += static_cast<unsigned>(b->size * chunk_);
  st.mallocbytes -= static_cast<unsigned>(b->size * chunk_);
  bool merged = false;
  if (int e = MergeFollowing(b, 0, tid, &merged)) return e;
  return Push(b, tid);
}

int Heap::Preallocate(unsigned long chunks, rvm_tid_t* tid) {
  if (corrupt_) return ECORRUPT;
  BlockHeader* b = nullptr;
  if (int e = Split(chunks, tid, &b)) return e;
  return Push(b, tid);
}

int Heap::Coalesce(rvm_tid_t* tid) {
  if (int e = CoverStats(tid)) return e;
  rds_stats_t& st = hdr_->stats;
  st.coalesce++;
  const unsigned long nlists = hdr_->nlists;
  const unsigned long limit =
      static_cast<unsigned long>(end_ - reinterpret_cast<char*>(first_)) / chunk_;
  const bool nothing_to_merge = merge_mark_ok_ && index_ok_ && st.free == seen_free_at_merge_ &&
                                st.prealloc == seen_prealloc_at_merge_;
  if (!nothing_to_merge) {
    for (unsigned long i = nlists; i > 0; --i) {
      if (hdr_->lists[i].guard != kListGuard) return ECORRUPT;
      unsigned long steps = 0;
      BlockHeader* b = hdr_->lists[i].head;
      while (b != nullptr) {
        if (++steps > limit || !InHeap(b) || b->type != kFreeGuard) return ECORRUPT;
        bool merged = false;
        if (int e = MergeFollowing(b, i, tid, &merged)) return e;
        if (!merged) st.unmerged++;
        if (merged && i < nlists) {
          // It grew: move it to the list of its new size.
          if (int e = Unlink(i, b, tid)) return e;
          BlockHeader* next = b->next;
          if (int e = Push(b, tid)) return e;
          b = next;
        } else {
          b = b->next;
        }
      }
    }
    merge_mark_ok_ = true;
    seen_free_at_merge_ = st.free;
    seen_prealloc_at_merge_ = st.prealloc;
  }
  if (hdr_->maxlist < nlists) {
    // Give the lists above the old maximum back their blocks, then settle on
    // the highest non-empty list.
    const unsigned long old_max = hdr_->maxlist;
    if (int e = SetMaxList(nlists, tid)) return e;
    unsigned long steps = 0;
    BlockHeader* b = hdr_->lists[old_max].head;
    while (b != nullptr) {
      if (++steps > limit || !InHeap(b)) return ECORRUPT;
      BlockHeader* next = b->next;
      if (b->size > old_max) {
        if (int e = Unlink(old_max, b, tid)) return e;
        if (int e = Push(b, tid)) return e;
      }
      b = next;
    }
    unsigned long m = hdr_->maxlist;
    while (hdr_->lists[m].head == nullptr && m > 1) --m;
    hdr_->maxlist = m;
    if (!RebuildIndex()) return ECORRUPT;
  }
  return SUCCESS;
}

bool Heap::HasBlockOf(unsigned long nchunks) const {
  const unsigned long m = hdr_->maxlist;
  if (hdr_->lists[m].head != nullptr) {
    return !big_.empty() && big_.rbegin()->first >= nchunks;
  }
  for (unsigned long i = m - 1; i > nchunks; --i) {
    if (hdr_->lists[i].head != nullptr) return true;
  }
  return false;
}

int Heap::Validate(char* user, BlockHeader** out) const {
  if (user == nullptr || reinterpret_cast<uintptr_t>(user) % sizeof(void*) != 0) return EBAD_ARGS;
  BlockHeader* b = BlockOf(user);
  if (!InHeap(b)) return EBAD_ARGS;
  if (b->type == kFreeGuard) return EFREED_TWICE;
  if (b->type != kAllocGuard || b->size == 0 ||
      b->size > static_cast<unsigned long>(end_ - reinterpret_cast<char*>(b)) / chunk_) {
    return ECORRUPT;
  }
  auto* end_guard = reinterpret_cast<unsigned long*>(Advance(b, b->size * chunk_)) - 1;
  if (*end_guard != kEndGuard) return ECORRUPT;
  *out = b;
  return SUCCESS;
}

}  // namespace rvmr::rds
