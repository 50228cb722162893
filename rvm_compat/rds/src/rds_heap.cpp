// The heap-lifecycle half of the librds C interface: rds_init_heap,
// rds_zap_heap, rds_load_heap, rds_unload_heap, rds_start_heap,
// rds_stop_heap, and the globals programs use (contracts in rvm/rds.h).
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <rvm/rds.h>
#include <rvm/rvm_segment.h>

#include "heap_state.h"

using namespace rvmr::rds;

extern "C" {
// The segment's region table as rds_load_heap loaded it (rvm_basher reads it).
rvm_region_def_t* RegionDefs = nullptr;
unsigned long NRegionDefs = 0;
// Test switch some programs define or set; librds itself does not read it.
rvm_bool_t rds_testsw = rvm_false;
}

extern "C" int rds_init_heap(char* base, rvm_length_t length, unsigned long chunkSize,
                             unsigned long nlists, rvm_tid_t* tid, int* err) {
  if (base == nullptr || tid == nullptr || nlists == 0 || chunkSize < kMinChunkSize ||
      chunkSize % sizeof(void*) != 0) {
    *err = EBAD_ARGS;
    return -1;
  }
  const unsigned long hdr_len = HeaderLength(nlists);
  if (hdr_len > length) {
    printf("Heap not long enough to hold heap header\n");
    *err = ENO_ROOM;
    return -1;
  }
  // First block: right after the list heads, rounded up to a multiple of the
  // chunk size as an address; its size is what is left after the header.
  auto first_addr = reinterpret_cast<uintptr_t>(base) + hdr_len;
  first_addr = (first_addr + chunkSize - 1) / chunkSize * chunkSize;
  auto* first = reinterpret_cast<BlockHeader*>(first_addr);
  unsigned long chunks = (length - hdr_len) / chunkSize;
  while (chunks > 0 &&
         first_addr + chunks * chunkSize > reinterpret_cast<uintptr_t>(base) + length) {
    --chunks;  // only when base is not chunk-aligned
  }
  if (chunks == 0) {
    printf("Heap not long enough to hold heap header\n");
    *err = ENO_ROOM;
    return -1;
  }

  auto* h = reinterpret_cast<HeapHeader*>(base);
  int rc = rvm_set_range(tid, h, hdr_len);
  if (rc != RVM_SUCCESS) {
    *err = rc;
    return -1;
  }
  // Like the original: the version's NUL-terminated string only, list 0 and
  // the reserved words keep whatever the segment held (zeros from rdsinit).
  memcpy(h->version, kHeapVersion, sizeof(kHeapVersion));
  h->heaplength = length;
  h->chunk_size = chunkSize;
  h->nlists = nlists;
  h->maxlist = nlists;
  memset(&h->stats, 0, sizeof(h->stats));
  for (unsigned long i = 1; i <= nlists; ++i) {
    h->lists[i].head = nullptr;
    h->lists[i].guard = kListGuard;
  }
  rc = rvm_set_range(tid, first, sizeof(BlockHeader));
  if (rc != RVM_SUCCESS) {
    *err = rc;
    return -1;
  }
  first->size = chunks;
  first->type = kFreeGuard;
  first->prev = first->next = nullptr;
  h->lists[nlists].head = first;
  h->stats.freebytes = static_cast<unsigned>(chunks * chunkSize);
  auto* end_guard = reinterpret_cast<unsigned long*>(first_addr + chunks * chunkSize) - 1;
  rc = rvm_set_range(tid, end_guard, sizeof(*end_guard));
  if (rc != RVM_SUCCESS) {
    *err = rc;
    return -1;
  }
  *end_guard = kEndGuard;
  {
    std::lock_guard<std::mutex> guard(HeapLock());
    if (TheHeap().header() == h) TheHeap().Invalidate();
  }
  *err = SUCCESS;
  return 0;
}

extern "C" int rds_zap_heap(char* DevName, rvm_offset_t DevLength, char* startAddr,
                            rvm_length_t staticLength, rvm_length_t heapLength,
                            unsigned long nlists, unsigned long chunkSize, int* err) {
  rvm_region_def_t regions[2];
  memset(regions, 0, sizeof(regions));
  regions[0].length = heapLength;
  regions[0].vmaddr = startAddr;
  regions[1].length = staticLength;
  regions[1].vmaddr = startAddr + heapLength;

  int rc = rvm_create_segment(DevName, DevLength, nullptr, 2, regions);
  if (rc == RVM_SUCCESS) rc = rvm_truncate();  // the header must reach the data file
  if (rc != RVM_SUCCESS) {
    *err = rc;
    return -1;
  }
  unsigned long n = 0;
  rvm_region_def_t* loaded = nullptr;
  rc = rvm_load_segment(DevName, DevLength, nullptr, &n, &loaded);
  if (rc != RVM_SUCCESS) {
    *err = rc;
    return -1;
  }
  if (n != 2) {
    rvm_release_segment(n, &loaded);
    *err = EBAD_SEGMENT_HDR;
    return -1;
  }
  rvm_tid_t* tid = rvm_malloc_tid();
  rc = rvm_begin_transaction(tid, restore);
  if (rc != RVM_SUCCESS) {
    rvm_free_tid(tid);
    rvm_release_segment(n, &loaded);
    *err = rc;
    return -1;
  }
  *err = SUCCESS;
  rds_init_heap(startAddr, heapLength, chunkSize, nlists, tid, err);
  if (*err != SUCCESS) {
    rvm_abort_transaction(tid);
    rvm_free_tid(tid);
    rvm_release_segment(n, &loaded);
    return -1;
  }
  rc = rvm_end_transaction(tid, no_flush);
  if (rc != RVM_SUCCESS) *err = rc;
  rvm_free_tid(tid);
  // Commit the heap to the log, then apply it to the data file.
  rvm_flush();
  rvm_truncate();
  rvm_release_segment(n, &loaded);
  return *err == SUCCESS ? 0 : -1;
}

extern "C" int rds_start_heap(char* startAddr, int* err) {
  std::lock_guard<std::mutex> guard(HeapLock());
  int rc = TheHeap().Attach(reinterpret_cast<HeapHeader*>(startAddr));
  PublishHeap();
  *err = rc;
  return rc == SUCCESS ? 0 : -1;
}

extern "C" int rds_stop_heap(int* err) {
  std::lock_guard<std::mutex> guard(HeapLock());
  TheHeap().Detach();
  PublishHeap();
  *err = SUCCESS;
  return 0;
}

extern "C" int rds_load_heap(char* DevName, rvm_offset_t DevLength, char** staticAddr, int* err) {
  rvm_return_t rc = rvm_load_segment(DevName, DevLength, nullptr, &NRegionDefs, &RegionDefs);
  if (rc != RVM_SUCCESS) {
    printf("Error rvm_load_segment returns %d\n", rc);
    *err = rc;
    return -1;
  }
  if (NRegionDefs != 2) {
    rvm_release_segment(NRegionDefs, &RegionDefs);
    NRegionDefs = 0;
    *err = EBAD_SEGMENT_HDR;
    return -1;
  }
  *staticAddr = RegionDefs[1].vmaddr;
  // On a damaged heap the segment stays loaded (for inspection);
  // rds_unload_heap releases it.
  return rds_start_heap(RegionDefs[0].vmaddr, err);
}

extern "C" int rds_unload_heap(int* err) {
  rvm_flush();
  rvm_truncate();
  if (RegionDefs != nullptr) rvm_release_segment(NRegionDefs, &RegionDefs);
  RegionDefs = nullptr;
  NRegionDefs = 0;
  return rds_stop_heap(err);
}
