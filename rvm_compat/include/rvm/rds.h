/*
 * rds.h - the Recoverable Dynamic Storage heap (librds).
 *
 * A malloc/free heap that lives in region 0 of an RVM segment, so every
 * allocation and release is made under an RVM transaction and survives
 * crashes. The heap's layout in memory and on disk is the one of Coda's
 * librds (docs/rds-heap.md), so a heap written by either library is used by
 * the other.
 *
 * Errors: functions taking `int *err` store SUCCESS, a positive
 * rvm_return_t when RVM failed, or one of the negative RDS codes below.
 * Functions taking a tid use it when it is non-NULL (the caller commits or
 * aborts); with a NULL tid they run their own no_flush transaction.
 */
#ifndef _RDS_H_
#define _RDS_H_

#include <stdio.h>
#include "rvm.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SUCCESS 0
#define ERVM_FAILED -1        /* RVM reported an error */
#define EBAD_LIST -2          /* a free list is damaged */
#define EBAD_SEGMENT_HDR -3   /* the segment does not hold exactly heap + statics */
#define EHEAP_VERSION_SKEW -4 /* heap written by another allocator version */
#define EHEAP_INIT -5         /* no heap loaded */
#define EBAD_ARGS -6          /* bad argument (misaligned pointer, NULL stats) */
#define ECORRUPT -7           /* a guard word is damaged */
#define EFREED_TWICE -8       /* block already free */
#define ENO_ROOM -9           /* no free block is large enough */

/* Creates a segment of two regions on DevName (heap of heapLength bytes at
 * startAddr, then staticLength bytes of statics) and initializes the heap,
 * committing and truncating so that the data file holds the result. */
int rds_zap_heap(char* DevName, rvm_offset_t DevLength, char* startAddr, rvm_length_t staticLength,
                 rvm_length_t heapLength, unsigned long nlists, unsigned long chunkSize, int* err);

/* Formats length bytes at base as an empty heap, under the caller's tid. */
int rds_init_heap(char* base, rvm_length_t length, unsigned long chunkSize, unsigned long nlists,
                  rvm_tid_t* tid, int* err);

/* Loads the segment on DevName, starts its heap and returns the static
 * region's address in *staticAddr. */
int rds_load_heap(char* DevName, rvm_offset_t DevLength, char** staticAddr, int* err);

/* Flushes, truncates, releases the segment and stops the heap. */
int rds_unload_heap(int* err);

/* Starts using the heap already mapped at startAddr. */
int rds_start_heap(char* startAddr, int* err);

/* Forgets the current heap. */
int rds_stop_heap(int* err);

/* Fills the free lists with nblocks blocks able to hold size bytes each. */
int rds_prealloc(unsigned long size, unsigned long nblocks, rvm_tid_t* tid, int* err);

/* Allocates size bytes; NULL with *err set on failure. */
char* rds_malloc(unsigned long size, rvm_tid_t* tid, int* err);

/* Releases a block returned by rds_malloc. */
int rds_free(char* addr, rvm_tid_t* tid, int* err);

/* 1 when a block of size bytes can currently be allocated without
 * coalescing, 0 otherwise. */
int rds_maxblock(unsigned long size);

/* Deferred frees: rds_fake_free records the intention to free addr in list
 * (nothing in the heap changes, so an abort needs no undo); rds_do_free frees
 * everything recorded in one transaction ended with mode and empties list. */
typedef struct intlist {
  unsigned long size;  /* bytes allocated for table */
  unsigned long count; /* entries in use */
  char** table;
} intentionList_t;

#define STARTSIZE 128 /* initial table size in bytes */

int rds_fake_free(char* addr, intentionList_t* list);
int rds_do_free(intentionList_t* list, rvm_mode_t mode);

/* Counters kept in the heap header (so they are recoverable too). */
typedef struct {
  unsigned malloc;       /* rds_malloc calls */
  unsigned prealloc;     /* rds_prealloc calls */
  unsigned free;         /* blocks freed */
  unsigned coalesce;     /* coalescing passes */
  unsigned hits;         /* requests served from an exact-size list */
  unsigned misses;       /* requests that needed a split */
  unsigned large_list;   /* times the largest non-empty list went empty */
  unsigned large_hits;   /* large requests served without a split */
  unsigned large_misses; /* large requests that needed a split */
  unsigned merged;       /* blocks merged into their predecessor */
  unsigned unmerged;     /* free blocks coalescing could not merge */
  unsigned freebytes;    /* bytes in free blocks */
  unsigned mallocbytes;  /* bytes in allocated blocks */
} rds_stats_t;

int rds_print_stats(void);
int rds_clear_stats(int* err);
int rds_get_stats(rds_stats_t* stats);

/* Tracing of heap operations to a stdio stream. */
extern int rds_tracing;
extern FILE* rds_tracing_file;

int rds_trace_on(FILE*);
int rds_trace_off(void);
int rds_trace_dump_heap(void);

#define RDS_LOG(format, a...)                 \
  do {                                        \
    if (rds_tracing && rds_tracing_file) {    \
      fprintf(rds_tracing_file, format, ##a); \
      fflush(rds_tracing_file);               \
    }                                         \
  } while (0)

#ifdef __cplusplus
}
#endif

#endif /* _RDS_H_ */
