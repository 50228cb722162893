// rvm_print_statistics: a readable dump of an rvm_statistics_t.
#include <cstdio>

#include "internal.h"
#include "rvm/rvm_commit_stats.h"
#include "shim/shim_stats.h"

namespace {

void PrintHist(FILE* f, const char* name, const rvm_length_t* v, int n) {
  std::fprintf(f, "  %-22s", name);
  for (int i = 0; i < n; i++) std::fprintf(f, " %lu", v[i]);
  std::fprintf(f, "\n");
}

}  // namespace

bool rvmr::compat::RemoteStatsNow(rvm_remote_stats_t* out) {
  *out = rvm_remote_stats_t{};
  rvmr::ShimStats sh;
  if (!rvmr::GetActiveShimStats(&sh)) return false;
  out->remote_mode = 1;
  out->degraded = sh.degraded ? 1 : 0;
  out->appends = sh.appends;
  out->bytes = sh.bytes;
  out->remote_acks = sh.remote_acks;
  out->fallback_commits = sh.fallback_commits;
  out->degraded_episodes = sh.degraded_episodes;
  out->mirror_restores = sh.mirror_restores;
  out->trims = sh.trims;
  out->max_in_flight = sh.max_in_flight;
  out->remote_only_bytes = sh.remote_only_bytes;
  out->max_remote_only_bytes = sh.max_remote_only_bytes;
  out->tail = sh.tail;
  out->disk_durable = sh.disk_durable;
  return true;
}

extern "C" rvm_return_t rvm_print_statistics(rvm_statistics_t* s, FILE* f) {
  if (!s || s->struct_id != rvm_statistics_id) return RVM_ESTATISTICS;
  if (!f) f = stdout;
  std::fprintf(f, "RVM statistics (%s)\n", RVM_STATISTICS_VERSION);
  std::fprintf(f, " Current log:\n");
  std::fprintf(f, "  uncommitted transactions       %lu\n", s->n_uncommit);
  std::fprintf(f, "  flush commits                  %lu\n", s->n_flush_commit);
  std::fprintf(f, "  no_flush commits               %lu\n", s->n_no_flush_commit);
  std::fprintf(f, "  queued no_flush transactions   %lu (%lu bytes)\n", s->n_no_flush,
               RVM_OFFSET_TO_LENGTH(s->no_flush_length));
  std::fprintf(f, "  aborts                         %lu\n", s->n_abort);
  std::fprintf(f, "  log writes (flushes)           %lu\n", s->n_flush);
  std::fprintf(f, "  rvm_flush calls                %lu\n", s->n_rvm_flush);
  std::fprintf(f, "  segment dictionary records     %lu\n", s->n_special);
  std::fprintf(f, "  writes across the wrap point   %lu\n", s->n_wrap);
  std::fprintf(f, "  waits for truncation           %lu\n", s->n_truncation_wait);
  std::fprintf(f, "  log in use                     %lu%% (max %lu%%), %lu bytes\n", s->log_dev_cur,
               s->log_dev_max, RVM_OFFSET_TO_LENGTH(s->log_written));
  std::fprintf(f, "  ranges eliminated              %lu (%lu bytes)\n", s->n_range_elim,
               RVM_OFFSET_TO_LENGTH(s->range_overlap));
  std::fprintf(f, "  transactions coalesced         %lu (%lu ranges eliminated)\n",
               s->n_trans_coalesced, s->n_trans_elim);
  std::fprintf(f, "  flush time                     %ld.%06ld s (last %lu ms)\n",
               static_cast<long>(s->flush_time.tv_sec), static_cast<long>(s->flush_time.tv_usec),
               s->last_flush_time);
  PrintHist(f, "flush times (ms)", s->flush_times, flush_times_len);
  PrintHist(f, "range lengths", s->range_lengths, range_lengths_len);
  PrintHist(f, "range eliminations", s->range_elims, range_elims_len);
  PrintHist(f, "range overlaps", s->range_overlaps, range_overlaps_len);
  std::fprintf(f, " Totals:\n");
  std::fprintf(f, "  flush commits %lu, no_flush commits %lu, aborts %lu\n", s->tot_flush_commit,
               s->tot_no_flush_commit, s->tot_abort);
  std::fprintf(f, "  log bytes written              %lu\n",
               RVM_OFFSET_TO_LENGTH(s->tot_log_written));
  std::fprintf(f, "  truncations: rvm_truncate %lu, background %lu, forced %lu, recoveries %lu\n",
               s->tot_rvm_truncate, s->tot_async_truncation, s->tot_sync_truncation,
               s->tot_recovery);
  std::fprintf(f, "  truncation time                %ld.%06ld s\n",
               static_cast<long>(s->tot_truncation_time.tv_sec),
               static_cast<long>(s->tot_truncation_time.tv_usec));
  PrintHist(f, "truncation times (s)", s->tot_truncation_times, truncation_times_len);
  rvm_commit_stats_t cs;
  if (rvm_commit_statistics(&cs) == RVM_SUCCESS) {
    std::fprintf(f, " Group commit:\n");
    std::fprintf(f, "  log writes %lu carrying %lu transactions (%.2f per write)\n", cs.log_writes,
                 cs.transactions,
                 cs.log_writes ? static_cast<double>(cs.transactions) / cs.log_writes : 0.0);
    std::fprintf(f, "  committers that joined another's write  %lu (hand-offs: %lu writer, %lu reader)\n",
                 cs.joins, cs.lead_handoffs, cs.read_handoffs);
    std::fprintf(f, "  log writes in flight now / max          %lu / %lu\n", cs.in_flight,
                 cs.max_in_flight);
  }
  // Remote mode (RVM_MIRRORS): what the log shim did, live.
  rvm_remote_stats_t sh;
  if (rvmr::compat::RemoteStatsNow(&sh)) {
    std::fprintf(f, " Remote log (mirrors + background disk writer):\n");
    std::fprintf(f, "  log writes acknowledged by the mirrors   %lu of %lu (%lu bytes)\n",
                 sh.remote_acks, sh.appends, sh.bytes);
    std::fprintf(f,
                 "  log writes that waited for the disk      %lu (%lu degraded episodes, %lu "
                 "restores)\n",
                 sh.fallback_commits, sh.degraded_episodes, sh.mirror_restores);
    std::fprintf(f, "  log writes in flight at once, max        %lu\n", sh.max_in_flight);
    std::fprintf(f, "  bytes only in remote memory now / max    %lu / %lu\n", sh.remote_only_bytes,
                 sh.max_remote_only_bytes);
    std::fprintf(f, "  log tail %lu, disk durable to %lu, trims %lu%s\n", sh.tail, sh.disk_durable,
                 sh.trims, sh.degraded ? ", DEGRADED" : "");
  }
  return RVM_SUCCESS;
}
