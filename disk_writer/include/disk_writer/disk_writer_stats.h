// DiskWriterStats: counters a DiskWriter keeps about its own progress.
#pragma once

#include <cstdint>

namespace rvmr {

struct DiskWriterStats {
  uint64_t bytes_staged = 0;   // bytes accepted by Append since Open
  uint64_t bytes_durable = 0;  // bytes made durable since Open
  uint64_t batches = 0;        // batches made durable (each ends with an fdatasync)
  uint64_t writes = 0;         // write operations submitted (each piece, each retry)
  uint64_t syncs = 0;          // fdatasync operations submitted
  uint64_t retries = 0;        // batch attempts repeated after a short write, EAGAIN or EINTR
  uint64_t short_writes = 0;   // writes that completed with fewer bytes than asked
  uint64_t max_lag_bytes = 0;  // largest (staged end - durable offset) seen by an Append
  uint64_t max_lag_ns = 0;     // largest time from an Append returning to its bytes being durable
  uint64_t backpressure_waits = 0;    // Appends that waited for staging space
  uint64_t backpressure_wait_ns = 0;  // total time Appends waited for staging space
  bool io_uring = false;              // false: the pwritev + fdatasync thread is in use
  bool registered_buffers = false;    // io_uring writes use registered (fixed) buffers
                                      // (O_DIRECT only; set as the writer thread starts)
  bool failed = false;                // the writer is in its permanent failed state
};

}  // namespace rvmr
