// ShimStats: what the log shim has done, for rvm_statistics, benchmarks and
// operators.
#pragma once

#include <cstdint>

namespace rvmr {

struct ShimStats {
  uint64_t appends = 0;                // batches sent (one per group commit)
  uint64_t bytes = 0;                  // bytes appended
  uint64_t remote_acks = 0;            // appends acknowledged by the mirror quorum
  uint64_t fallback_commits = 0;       // appends that waited for the local disk instead
  uint64_t degraded_episodes = 0;      // times the mirrors stopped answering
  uint64_t mirror_restores = 0;        // times a failed mirror was brought back
  uint64_t trims = 0;                  // trim messages sent
  uint64_t max_in_flight = 0;          // most batches awaiting their acks at once
  uint64_t remote_only_bytes = 0;      // bytes acknowledged but not yet durable on disk, now
  uint64_t max_remote_only_bytes = 0;  // the largest such window seen
  uint64_t disk_durable = 0;           // the disk writer's durable offset
  uint64_t tail = 0;                   // end of the last append
  bool degraded = false;               // commits currently wait for the disk
};

// The counters of this process's remote sink, if one is open (remote mode):
// true and *out filled; false in classic mode. Any thread.
bool GetActiveShimStats(ShimStats* out);

}  // namespace rvmr
