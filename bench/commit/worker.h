// The child side of rvm-commit-bench: one mode (local disk or remote, chosen
// by RVM_MIRRORS in its environment) run in a process of its own, since RVM
// cannot be initialised twice in one process. It prints one line per
// measurement on stdout for the parent to parse:
//   latency SIZE N P50 P99 P999 CPU_US
//   noflush 8 N P50 P99 P999
//   tpcb THREADS TXNS TXN_PER_S CPU_US_PER_TXN COMMITS_PER_WRITE COMMIT_P50_US COMMIT_P99_US
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace commit_bench {

struct WorkerArgs {
  std::string dir;                       // fresh directory for the log and the data segment
  std::vector<size_t> sizes;             // flush-commit latency sizes, ascending
  double seconds_per_size = 1.0;         // latency budget per size
  size_t max_count = 20000;              // latency samples per size at most
  int tpcb_seconds = 2;                  // TPC-B run time per thread count (0: skip)
  std::vector<int> threads{1, 2, 4, 8};  // TPC-B thread counts
};

// argv: --worker DIR SIZES SECONDS [TPCB_SECONDS [THREADS]]
WorkerArgs ParseWorkerArgs(int argc, char** argv);
int RunWorker(const WorkerArgs& a);

}  // namespace commit_bench
