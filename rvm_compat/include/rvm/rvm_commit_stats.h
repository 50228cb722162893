/* rvm_commit_statistics: what the commit pipeline did (group commit), as
   numbers rather than rvm_print_statistics text. An extension of this
   library; Coda's RVM has no such call. */
#ifndef RVM_COMMIT_STATS_H
#define RVM_COMMIT_STATS_H

#include <rvm/rvm.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  unsigned long log_writes;     /* batches written to the log (one per group commit) */
  unsigned long transactions;   /* transactions those writes carried */
  unsigned long commits_waited; /* flushes that had to wait or do the work */
  unsigned long joins;          /* times a committer slept while another wrote */
  unsigned long lead_handoffs;  /* writer role handed to a waiting committer */
  unsigned long read_handoffs;  /* acknowledgement reader role handed over */
  unsigned long in_flight;      /* log writes sent and not yet durable, now */
  unsigned long max_in_flight;  /* the most at once */
} rvm_commit_stats_t;

/* Fills *out. RVM_EINIT before rvm_initialize or after rvm_terminate,
   RVM_ELOG without a log. */
rvm_return_t rvm_commit_statistics(rvm_commit_stats_t* out);

#ifdef __cplusplus
}
#endif

#endif /* RVM_COMMIT_STATS_H */
