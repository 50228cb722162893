// LogStats: the log-level counters rvm_statistics reports, shared by the
// parts of the log (framer, truncator, LogManager). Thread-safe: every
// access goes through its own mutex, a leaf in every lock order.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>

#include "internal.h"

namespace rvmr::compat {

struct LogCounters {
  uint64_t n_flush = 0, n_rvm_flush = 0, n_special = 0, n_wrap = 0;
  uint64_t n_trans_coalesced = 0, n_trans_elim = 0;
  uint64_t log_written_total = 0;  // bytes appended since open
  uint64_t n_truncations = 0, n_async_truncations = 0, n_sync_truncations = 0;
  uint64_t n_truncation_wait = 0, n_recovery = 0;
  uint64_t last_flush_ms = 0, last_truncation_s = 0;
  uint64_t flush_time_us = 0, truncation_time_us = 0;
  uint64_t flush_times[flush_times_len] = {};
  uint64_t truncation_times[truncation_times_len] = {};
};

class LogStats {
 public:
  // Runs fn(LogCounters&) with the counters locked.
  template <class F>
  void Update(F fn) {
    std::lock_guard<std::mutex> l(mu_);
    fn(c_);
  }
  // A consistent copy of every counter.
  LogCounters Get() {
    std::lock_guard<std::mutex> l(mu_);
    return c_;
  }
  // Counts a flush that waited `us` microseconds (flush_times histogram).
  void AddFlush(uint64_t us);
  // Counts a completed truncation that took `us` microseconds.
  void AddTruncation(uint64_t us);

 private:
  std::mutex mu_;
  LogCounters c_;  // mu_
};

using LogClock = std::chrono::steady_clock;

// Microseconds from t0 to now.
inline uint64_t MicrosSince(LogClock::time_point t0) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(LogClock::now() - t0).count());
}

// Sets rvm_errmsg, the original's "last error" string, to a static message.
inline void SetRvmErrmsg(const char* msg) {
  rvm_errmsg = const_cast<char*>(msg);
}

}  // namespace rvmr::compat
