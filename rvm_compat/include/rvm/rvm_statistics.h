/*
 * rvm_statistics.h - RVM statistics (compatible with Coda's RVM 1.3).
 *
 * Include <rvm/rvm.h> first: like the original, this header does not.
 * rvm_statistics_t is 1600 bytes on x86-64 with the original's field order.
 */
#ifndef RVM_STATISTICS_VERSION

#define RVM_STATISTICS_VERSION "RVM Statistics Version 1.1 8 Dec 1992"

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Histogram sizes and bucket bounds (usable as array initializers). */
#define flush_times_len 10 /* flush durations, milliseconds */
#define flush_times_dist 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000
#define truncation_times_len 5 /* truncation durations, seconds */
#define truncation_times_dist 1, 10, 100, 500
#define range_lengths_len 13 /* range lengths, bytes */
#define range_lengths_dist 0, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096
#define range_overlaps_len 13 /* bytes saved by range coalescing */
#define range_overlaps_dist 0, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096
#define trans_overlaps_len 13 /* bytes saved by transaction coalescing */
#define trans_overlaps_dist 0, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096
#define range_elims_len 6 /* ranges removed by range coalescing */
#define range_elims_dist 0, 5, 10, 50, 100
#define trans_elims_len 6 /* ranges removed by transaction coalescing */
#define trans_elims_dist 0, 5, 10, 50, 100
#define trans_coalesces_len 6 /* transactions merged per flush */
#define trans_coalesces_dist 0, 5, 10, 50, 100

typedef struct {
  rvm_struct_id_t struct_id; /* rvm_statistics_id */
  rvm_bool_t from_heap;

  /* Since the last truncation. */
  rvm_length_t n_abort;
  rvm_length_t n_flush_commit;
  rvm_length_t n_no_flush_commit;
  rvm_length_t n_uncommit;         /* transactions begun and not yet ended */
  rvm_length_t n_no_flush;         /* committed no_flush transactions not yet flushed */
  rvm_length_t n_truncation_wait;
  rvm_offset_t no_flush_length;    /* bytes those queued transactions will write */
  rvm_length_t n_split;
  rvm_length_t n_flush;
  rvm_length_t n_rvm_flush;
  rvm_length_t n_special;
  rvm_length_t n_wrap;
  rvm_length_t log_dev_cur;        /* percent of the log in use */
  rvm_offset_t log_written;        /* bytes written to the log */
  rvm_offset_t range_overlap;
  rvm_offset_t trans_overlap;
  rvm_length_t n_range_elim;
  rvm_length_t n_trans_elim;
  rvm_length_t n_trans_coalesced;
  struct timeval flush_time;
  rvm_length_t last_flush_time;      /* milliseconds */
  rvm_length_t last_truncation_time; /* seconds */
  rvm_length_t last_tree_build_time;
  rvm_length_t last_tree_apply_time;
  rvm_length_t flush_times[flush_times_len];
  rvm_length_t range_lengths[range_lengths_len];
  rvm_length_t range_elims[range_elims_len];
  rvm_length_t trans_elims[trans_elims_len];
  rvm_length_t range_overlaps[range_overlaps_len];
  rvm_length_t trans_overlaps[range_overlaps_len];

  /* Cumulative since the log was created. */
  rvm_length_t tot_abort;
  rvm_length_t tot_flush_commit;
  rvm_length_t tot_no_flush_commit;
  rvm_length_t tot_split;
  rvm_length_t tot_flush;
  rvm_length_t tot_rvm_flush;
  rvm_length_t tot_special;
  rvm_length_t tot_wrap;
  rvm_length_t log_dev_max;
  rvm_offset_t tot_log_written;
  rvm_offset_t tot_range_overlap;
  rvm_offset_t tot_trans_overlap;
  rvm_length_t tot_range_elim;
  rvm_length_t tot_trans_elim;
  rvm_length_t tot_trans_coalesced;
  rvm_length_t tot_rvm_truncate;
  rvm_length_t tot_async_truncation;
  rvm_length_t tot_sync_truncation;
  rvm_length_t tot_truncation_wait;
  rvm_length_t tot_recovery;
  struct timeval tot_flush_time;
  struct timeval tot_truncation_time;
  rvm_length_t tot_tree_build_times[truncation_times_len];
  rvm_length_t tot_tree_apply_times[truncation_times_len];
  rvm_length_t tot_truncation_times[truncation_times_len];
  rvm_length_t tot_flush_times[flush_times_len];
  rvm_length_t tot_range_lengths[range_lengths_len];
  rvm_length_t tot_range_elims[range_elims_len];
  rvm_length_t tot_trans_elims[trans_elims_len];
  rvm_length_t tot_range_overlaps[range_overlaps_len];
  rvm_length_t tot_trans_overlaps[range_overlaps_len];
  rvm_length_t tot_trans_coalesces[trans_coalesces_len];
} rvm_statistics_t;

rvm_return_t rvm_statistics(const char *version, rvm_statistics_t *statistics);
#define RVM_STATISTICS(statistics) rvm_statistics(RVM_STATISTICS_VERSION, (statistics))

rvm_statistics_t *rvm_malloc_statistics(void);
void rvm_init_statistics(rvm_statistics_t *statistics);
rvm_statistics_t *rvm_copy_statistics(rvm_statistics_t *statistics);
void rvm_free_statistics(rvm_statistics_t *statistics);
rvm_return_t rvm_print_statistics(rvm_statistics_t *statistics, FILE *out_stream);

#ifdef __cplusplus
}
#endif

#endif /* RVM_STATISTICS_VERSION */
