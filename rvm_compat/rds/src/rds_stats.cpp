// Statistics and tracing in the librds C interface: rds_print_stats,
// rds_clear_stats, rds_get_stats, rds_trace_on/off/dump_heap (contracts in
// rvm/rds.h). Output formats are the original's, for scripts that read them.
#include <cstdio>
#include <cstring>

#include <rvm/rds.h>

#include "heap_state.h"

using namespace rvmr::rds;

extern "C" {
int rds_tracing = FALSE;
FILE* rds_tracing_file = nullptr;
}

namespace {

HeapHeader* Loaded() {
  return TheHeap().header();
}

void TraceStats(const rds_stats_t& s) {
  RDS_LOG("rdstrace: start dump_stats\n");
  RDS_LOG("rdstrace: Free_bytes \t %x\n", s.freebytes);
  RDS_LOG("rdstrace: Alloced_bytes\t %x\n", s.mallocbytes);
  RDS_LOG("rdstrace: Mallocs \t %d\n", s.malloc);
  RDS_LOG("rdstrace: Frees \t %d\n", s.free);
  RDS_LOG("rdstrace: Preallocs \t %d\n", s.prealloc);
  RDS_LOG("rdstrace: Hits \t\t %d\n", s.hits);
  RDS_LOG("rdstrace: Misses \t %d\n", s.misses);
  RDS_LOG("rdstrace: Large_Hits \t %d\n", s.large_hits);
  RDS_LOG("rdstrace: Large_Misses \t %d\n", s.large_misses);
  RDS_LOG("rdstrace: Coalesces \t %d\n", s.coalesce);
  RDS_LOG("rdstrace: Merges \t %d\n", s.merged);
  RDS_LOG("rdstrace: Not_Merged \t %d\n", s.unmerged);
  RDS_LOG("rdstrace: Large_List %d\n", s.large_list);
  RDS_LOG("rdstrace: stop dump_stats\n");
}

void TraceFreeLists(HeapHeader* h) {
  RDS_LOG("rdstrace: start dump_free_lists\n");
  const unsigned long limit = h->heaplength / h->chunk_size + 1;
  for (unsigned long i = 1; i <= h->nlists; ++i) {
    BlockHeader* b = h->lists[i].head;
    if (h->lists[i].guard != kListGuard)
      RDS_LOG("rdstrace: Error!!! Bad guard on list %lu!!!\n", i);
    if (b != nullptr && b->prev != nullptr) {
      RDS_LOG("rdstrace: Error!!! Non-null Initial prev pointer.\n");
    }
    unsigned long count = 0;
    for (; b != nullptr && count <= limit; b = b->next) {
      ++count;
      if (i == h->maxlist) RDS_LOG("rdstrace: size %ld count 1\n", b->size);
      if (b->type != kFreeGuard) RDS_LOG("rdstrace: Error!!! Bad lowguard on block\n");
      if (b->size == 0 || b->size > limit) break;
      auto* end_guard =
          reinterpret_cast<unsigned long*>(reinterpret_cast<char*>(b) + b->size * h->chunk_size) -
          1;
      if (*end_guard != kEndGuard) {
        RDS_LOG("rdstrace: Error!!! Bad highguard, %p=%lx\n", static_cast<void*>(end_guard),
                *end_guard);
      }
      if (b->next != nullptr && b->next->prev != b) {
        RDS_LOG("rdstrace: Error!!! Bad chain link %p <-> %p\n", static_cast<void*>(b),
                static_cast<void*>(b->next));
      }
      if (i != h->maxlist && b->size != i) {
        RDS_LOG("rdstrace: Error!!! OBJECT IS ON WRONG LIST!!!!\n");
      }
    }
    if (i != h->maxlist) RDS_LOG("rdstrace: size %lu count %lu\n", i, count);
  }
  RDS_LOG("rdstrace: stop dump_free_lists\n");
}

}  // namespace

extern "C" int rds_print_stats(void) {
  HeapHeader* h = Loaded();
  if (h == nullptr) return -1;
  const rds_stats_t& s = h->stats;
  printf("Number of\n");
  printf(" Free bytes: \t %x\n", s.freebytes);
  printf(" Alloced bytes:\t %x\n", s.mallocbytes);
  printf(" Mallocs: \t %d\n", s.malloc);
  printf(" Frees: \t %d\n", s.free);
  printf(" Preallocs: \t %d\n", s.prealloc);
  printf(" Hits: \t\t %d\n", s.hits);
  printf(" Misses: \t %d\n", s.misses);
  printf(" Large Hits: \t %d\n", s.large_hits);
  printf(" Large Misses: \t %d\n", s.large_misses);
  printf(" Coalesces: \t %d\n", s.coalesce);
  printf(" Merges \t %d\n", s.merged);
  printf(" Not Merged: \t %d\n", s.unmerged);
  printf(" Times the Large List pointer has changed: %d\n", s.large_list);
  return 0;
}

extern "C" int rds_clear_stats(int* err) {
  std::lock_guard<std::mutex> guard(HeapLock());
  Heap& heap = TheHeap();
  if (!heap.attached()) {
    *err = EHEAP_INIT;
    return -1;
  }
  CallTransaction tx(nullptr);
  if (tx.begin_error() != RVM_SUCCESS) {
    *err = tx.begin_error();
    return -1;
  }
  heap.BeginOp();
  int rc = heap.CoverStats(tx.tid());
  if (rc == SUCCESS) memset(&heap.header()->stats, 0, sizeof(rds_stats_t));
  rc = tx.Finish(heap, rc);
  *err = rc;
  return rc == RVM_SUCCESS ? 0 : -1;
}

extern "C" int rds_get_stats(rds_stats_t* stats) {
  if (stats == nullptr) return EBAD_ARGS;
  HeapHeader* h = Loaded();
  if (h == nullptr) return EHEAP_INIT;
  memcpy(stats, &h->stats, sizeof(rds_stats_t));
  return 0;
}

extern "C" int rds_trace_on(FILE* file) {
  if (Loaded() == nullptr || file == nullptr) return -1;
  rds_tracing = TRUE;
  rds_tracing_file = file;
  RDS_LOG("rdstrace: tracing on\n");
  return 0;
}

extern "C" int rds_trace_off(void) {
  if (Loaded() == nullptr) return -1;
  RDS_LOG("rdstrace: tracing off\n");
  rds_tracing = FALSE;
  return 0;
}

extern "C" int rds_trace_dump_heap(void) {
  std::lock_guard<std::mutex> guard(HeapLock());
  HeapHeader* h = Loaded();
  if (h == nullptr) return -1;
  RDS_LOG("rdstrace: start heap_dump\n");
  RDS_LOG("rdstrace: version_string %s\n", h->version);
  RDS_LOG("rdstrace: heaplength %ld\n", h->heaplength);
  RDS_LOG("rdstrace: chunk_size %ld\n", h->chunk_size);
  RDS_LOG("rdstrace: nlists %ld\n", h->nlists);
  TraceStats(h->stats);
  RDS_LOG("rdstrace: maxlist %ld\n", h->maxlist);
  TraceFreeLists(h);
  RDS_LOG("rdstrace: stop heap_dump\n");
  return 0;
}
