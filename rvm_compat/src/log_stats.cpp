#include "log_stats.h"

namespace rvmr::compat {

namespace {

// Index of the histogram bucket of v: the number of bounds <= v.
size_t Bucket(uint64_t v, const uint64_t* bounds, size_t nbounds) {
  size_t i = 0;
  while (i < nbounds && v >= bounds[i]) i++;
  return i;
}

}  // namespace

void LogStats::AddFlush(uint64_t us) {
  static const uint64_t kBounds[] = {flush_times_dist};
  std::lock_guard<std::mutex> l(mu_);
  c_.last_flush_ms = us / 1000;
  c_.flush_time_us += us;
  c_.flush_times[Bucket(us / 1000, kBounds, flush_times_len - 1)]++;
}

void LogStats::AddTruncation(uint64_t us) {
  static const uint64_t kBounds[] = {truncation_times_dist};
  std::lock_guard<std::mutex> l(mu_);
  c_.n_truncations++;
  c_.truncation_time_us += us;
  c_.last_truncation_s = us / 1000000;
  c_.truncation_times[Bucket(us / 1000000, kBounds, truncation_times_len - 1)]++;
}

}  // namespace rvmr::compat
