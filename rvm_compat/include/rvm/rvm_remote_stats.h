/* rvm_remote_statistics: what the log shim did in remote mode (mirrors plus
   the background disk writer), as numbers; rvm_print_statistics prints the
   same counters. The writer's side of rvm-logd's metrics (docs/operations.md).
   An extension of this library; Coda's RVM has no such call. */
#ifndef RVM_REMOTE_STATS_H
#define RVM_REMOTE_STATS_H

#include <rvm/rvm.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int remote_mode;                     /* 1: commits go to mirrors; 0: classic (all else 0) */
  int degraded;                        /* 1: commits wait for the local disk now */
  unsigned long appends;               /* log writes sent to the mirrors */
  unsigned long bytes;                 /* bytes those writes carried */
  unsigned long remote_acks;           /* writes acknowledged by the mirror quorum */
  unsigned long fallback_commits;      /* writes that waited for the disk instead */
  unsigned long degraded_episodes;     /* times the mirrors stopped answering */
  unsigned long mirror_restores;       /* times a failed mirror was brought back */
  unsigned long trims;                 /* trims sent (the disk caught up) */
  unsigned long max_in_flight;         /* most writes awaiting acknowledgement at once */
  unsigned long remote_only_bytes;     /* acknowledged, not yet durable on disk, now */
  unsigned long max_remote_only_bytes; /* the largest such window seen */
  unsigned long tail;                  /* log offset after the last write */
  unsigned long disk_durable;          /* log offset the disk copy is durable to */
} rvm_remote_stats_t;

/* Fills *out (remote_mode 0 and zeros in classic mode). RVM_ESTATISTICS for
   a null pointer, RVM_EINIT before rvm_initialize or after rvm_terminate. */
rvm_return_t rvm_remote_statistics(rvm_remote_stats_t* out);

#ifdef __cplusplus
}
#endif

#endif /* RVM_REMOTE_STATS_H */
