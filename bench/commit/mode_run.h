// The parent side of one mode: runs `self --worker` in a child process with
// RVM_MIRRORS set for the mode and collects what it prints (see worker.h).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "bench_util.h"

namespace commit_bench {

// One TPC-B-like run at one thread count.
struct TpcbRow {
  double txn_per_s = 0;
  double cpu_us = 0;             // RVM process CPU per transaction, all its threads
  double commits_per_write = 0;  // flush commits per log write (1.0: no sharing)
  double commit_p50_us = 0;      // rvm_end_transaction(flush), all threads' samples
  double commit_p99_us = 0;
};

struct ModeResult {
  std::string name;
  std::map<size_t, Percentiles> latency;  // size -> flush-commit latency
  Percentiles noflush;
  std::map<int, TpcbRow> tpcb;  // threads -> row
  double relay_cpu_s = 0;       // CPU of the relay processes during the mode
  bool ok = false;
};

struct ModeSpec {
  std::string name;
  std::string mirrors;  // RVM_MIRRORS; empty: local disk (classic) mode
  // RVM_SHIM_CONFIG file contents (`key = value` lines); empty: no file.
  std::string shim_config;
};

// What every worker gets: sizes, seconds per size, TPC-B seconds per thread
// count (empty: the worker's default) and the TPC-B thread counts.
struct WorkerOptions {
  std::string sizes, secs, tpcb_secs, threads;
  std::vector<int> cpus;  // pin the worker process to these CPUs; empty: no pinning
};

ModeResult RunMode(const std::string& self, const ModeSpec& mode, const WorkerOptions& w);

}  // namespace commit_bench
