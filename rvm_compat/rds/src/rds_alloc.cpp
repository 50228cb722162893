// The allocation half of the librds C interface: rds_malloc, rds_free,
// rds_fake_free, rds_do_free, rds_prealloc, rds_maxblock, and the internals
// coalesce and print_heap (contracts in rvm/rds.h).
#include <cstdlib>
#include <cstring>

#include <rvm/rds.h>

#include "heap_state.h"

using rvmr::rds::BlockHeader;
using rvmr::rds::CallTransaction;
using rvmr::rds::Heap;
using rvmr::rds::HeapLock;
using rvmr::rds::TheHeap;
using rvmr::rds::UserBytes;

extern "C" char* rds_malloc(unsigned long size, rvm_tid_t* tid, int* err) {
  std::lock_guard<std::mutex> guard(HeapLock());
  Heap& heap = TheHeap();
  if (!heap.attached()) {
    *err = EHEAP_INIT;
    return nullptr;
  }
  const unsigned long chunks = heap.ChunksFor(size);
  if (chunks == 0) {
    *err = ENO_ROOM;
    return nullptr;
  }
  CallTransaction tx(tid);
  if (tx.begin_error() != RVM_SUCCESS) {
    *err = tx.begin_error();
    return nullptr;
  }
  heap.BeginOp();
  BlockHeader* b = nullptr;
  int rc = tx.Finish(heap, heap.Allocate(chunks, tx.tid(), &b));
  *err = rc;
  if (rc != RVM_SUCCESS) return nullptr;
  RDS_LOG("rdstrace: malloc addr %p size %lx req %lx\n", static_cast<void*>(UserBytes(b)),
          chunks * heap.header()->chunk_size, size);
  return UserBytes(b);
}

extern "C" int rds_free(char* addr, rvm_tid_t* tid, int* err) {
  std::lock_guard<std::mutex> guard(HeapLock());
  Heap& heap = TheHeap();
  if (!heap.attached()) {
    *err = EHEAP_INIT;
    return -1;
  }
  RDS_LOG("rdstrace: Error!!! rds_free called\n");
  BlockHeader* b = nullptr;
  if (int rc = heap.Validate(addr, &b); rc != SUCCESS) {
    *err = rc;
    return -1;
  }
  CallTransaction tx(tid);
  if (tx.begin_error() != RVM_SUCCESS) {
    *err = tx.begin_error();
    return -1;
  }
  heap.BeginOp();
  int rc = heap.CoverStats(tx.tid());
  if (rc == SUCCESS) rc = heap.Release(b, tx.tid());
  rc = tx.Finish(heap, rc);
  *err = rc;
  return rc == RVM_SUCCESS ? 0 : -1;
}

extern "C" int rds_fake_free(char* addr, intentionList_t* list) {
  if (addr == nullptr) return SUCCESS;
  {
    std::lock_guard<std::mutex> guard(HeapLock());
    Heap& heap = TheHeap();
    if (!heap.attached()) return EHEAP_INIT;
    BlockHeader* b = nullptr;
    if (int rc = heap.Validate(addr, &b); rc != SUCCESS) return rc;
  }
  if (list == nullptr) return EBAD_ARGS;
  if (list->table == nullptr) {
    list->size = STARTSIZE;
    list->count = 0;
    list->table = static_cast<char**>(malloc(list->size));
    if (list->table == nullptr) return ENO_ROOM;
  } else if (list->count * sizeof(char*) >= list->size) {
    auto* grown = static_cast<char**>(realloc(list->table, list->size * 2));
    if (grown == nullptr) return ENO_ROOM;
    list->table = grown;
    list->size *= 2;
  }
  list->table[list->count++] = addr;
  return SUCCESS;
}

extern "C" int rds_do_free(intentionList_t* list, rvm_mode_t mode) {
  if (list == nullptr) return EBAD_ARGS;
  int rc = SUCCESS;
  {
    std::lock_guard<std::mutex> guard(HeapLock());
    Heap& heap = TheHeap();
    if (!heap.attached()) return EHEAP_INIT;
    rvm_tid_t* tid = rvm_malloc_tid();
    if (tid == nullptr) return RVM_ENO_MEMORY;
    rc = rvm_begin_transaction(tid, restore);
    if (rc != RVM_SUCCESS) {
      rvm_free_tid(tid);
      return rc;
    }
    RDS_LOG("rdstrace: start do_free\n");
    heap.BeginOp();
    rc = heap.CoverStats(tid);
    for (unsigned long i = 0; rc == SUCCESS && i < list->count; ++i) {
      BlockHeader* b = nullptr;
      rc = heap.Validate(list->table[i], &b);
      if (rc != SUCCESS) break;
      RDS_LOG("rdstrace: addr %p size %lx\n", static_cast<void*>(list->table[i]),
              b->size * heap.header()->chunk_size);
      rc = heap.Release(b, tid);
    }
    RDS_LOG("rdstrace: end do_free\n");
    if (rc != SUCCESS) {
      rvm_abort_transaction(tid);
      heap.EndOp(false);
    } else {
      rc = rvm_end_transaction(tid, mode);
      heap.EndOp(rc == RVM_SUCCESS);
    }
    rvm_free_tid(tid);
  }
  free(list->table);
  list->table = nullptr;
  list->count = 0;
  return rc;
}

extern "C" int rds_prealloc(unsigned long size, unsigned long nblocks, rvm_tid_t* tid, int* err) {
  std::lock_guard<std::mutex> guard(HeapLock());
  Heap& heap = TheHeap();
  if (!heap.attached()) {
    *err = EHEAP_INIT;
    return -1;
  }
  const unsigned long chunks = heap.ChunksFor(size);
  if (chunks == 0) {
    *err = ENO_ROOM;
    return -1;
  }
  // Blocks of the largest list's size would be split again at once.
  if (chunks == heap.header()->maxlist) {
    *err = SUCCESS;
    return -1;
  }
  CallTransaction tx(tid);
  if (tx.begin_error() != RVM_SUCCESS) {
    *err = tx.begin_error();
    return -1;
  }
  heap.BeginOp();
  int rc = heap.CoverStats(tx.tid());
  if (rc == SUCCESS) heap.header()->stats.prealloc++;
  for (unsigned long i = 0; rc == SUCCESS && i < nblocks; ++i)
    rc = heap.Preallocate(chunks, tx.tid());
  rc = tx.Finish(heap, rc);
  *err = rc;
  return rc == RVM_SUCCESS ? 0 : -1;
}

extern "C" int rds_maxblock(unsigned long size) {
  std::lock_guard<std::mutex> guard(HeapLock());
  Heap& heap = TheHeap();
  if (!heap.attached()) return 0;
  heap.BeginOp();
  return heap.HasBlockOf(size / heap.header()->chunk_size) ? 1 : 0;
}

// Exported internal (norton, rds_test): coalesce the whole heap.
extern "C" void coalesce(rvm_tid_t* tid, int* err) {
  std::lock_guard<std::mutex> guard(HeapLock());
  Heap& heap = TheHeap();
  if (!heap.attached()) {
    *err = EHEAP_INIT;
    return;
  }
  CallTransaction tx(tid);
  if (tx.begin_error() != RVM_SUCCESS) {
    *err = tx.begin_error();
    return;
  }
  heap.BeginOp();
  *err = tx.Finish(heap, heap.Coalesce(tx.tid()));
}

// Exported internal (norton): prints every free list and checks its links
// and guards. -1 when no heap is loaded.
extern "C" int print_heap(void) {
  using namespace rvmr::rds;
  std::lock_guard<std::mutex> guard(HeapLock());
  Heap& heap = TheHeap();
  if (!heap.attached()) return -1;
  HeapHeader* h = heap.header();
  const unsigned long chunk = h->chunk_size;
  printf("Heap starts at %lx, uses %ld sized chunks, and use %ld of %ld lists\n",
         reinterpret_cast<long>(h), chunk, h->maxlist, h->nlists);
  long total = 0;
  const unsigned long limit = h->heaplength / chunk + 1;
  for (unsigned long i = 1; i <= h->nlists; ++i) {
    printf("list %lu %c\n", i, i == h->maxlist ? '+' : ' ');
    if (h->lists[i].guard != kListGuard) printf("Bad guard on list %lu!!!\n", i);
    BlockHeader* b = h->lists[i].head;
    if (b != nullptr && b->prev != nullptr) printf("Non-null Initial prev pointer.\n");
    unsigned long n = 1;
    for (; b != nullptr && n <= limit; b = b->next) {
      printf("%lu\tblock %lx, size %ld\n", n++, reinterpret_cast<long>(b), b->size);
      total += static_cast<long>(b->size);
      if (b->type != kFreeGuard) printf("Bad lowguard on block\n");
      auto* end_guard =
          reinterpret_cast<unsigned long*>(reinterpret_cast<char*>(b) + b->size * chunk) - 1;
      if (b->size == 0 || b->size > limit) {
        printf("Bad size on block\n");
        break;
      }
      if (*end_guard != kEndGuard) {
        printf("Bad highguard, %p=%lx\n", static_cast<void*>(end_guard), *end_guard);
      }
      if (b->next != nullptr && b->next->prev != b) {
        printf("Bad chain link %lx <-> %lx\n", reinterpret_cast<long>(b),
               reinterpret_cast<long>(b->next));
      }
      if (i != h->maxlist && b->size != i) printf("OBJECT IS ON WRONG LIST!!!!\n");
    }
  }
  printf("Sum of sizes of objects in free lists is %ld.\n", total);
  return 0;
}
