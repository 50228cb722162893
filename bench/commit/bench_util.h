// Small helpers shared by the parts of rvm-commit-bench: timing, percentiles,
// list parsing, fatal errors.
#pragma once

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

namespace commit_bench {

using Clock = std::chrono::steady_clock;

inline double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

struct Percentiles {
  double p50 = 0, p99 = 0, p999 = 0;
  size_t n = 0;
  double cpu_us = 0;  // process CPU per operation (worker side)
};

inline Percentiles Summarise(std::vector<double> us) {
  Percentiles p;
  p.n = us.size();
  if (us.empty()) return p;
  std::sort(us.begin(), us.end());
  auto at = [&](double q) {
    return us[std::min(us.size() - 1, static_cast<size_t>(q * static_cast<double>(us.size())))];
  };
  p.p50 = at(0.50);
  p.p99 = at(0.99);
  p.p999 = at(0.999);
  return p;
}

// "8,64,512" -> {8, 64, 512}.
template <typename T>
std::vector<T> ParseList(const std::string& s) {
  std::vector<T> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(static_cast<T>(std::stoul(item)));
  return out;
}

// CPU time (user + system) this process used so far, all its threads: the
// committing threads, the disk writer, truncation; not the mirrors.
inline double ProcessCpuUs() {
  rusage ru;
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

[[noreturn]] inline void Die(const std::string& what) {
  std::fprintf(stderr, "rvm-commit-bench: %s\n", what.c_str());
  std::exit(2);
}

}  // namespace commit_bench
