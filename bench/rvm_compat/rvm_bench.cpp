// rvm_bench: the RVM API on the local log, through the public interface.
//   flush commit latency (p50/p99/p99.9) for 8 B .. 1 MiB transactions,
//   no_flush commit cost, and a TPC-B-like workload (1 and N threads).
// Usage: rvm_bench [dir] [--quick] [--flush-only N]
//   dir must be on a real disk: the figures are about fdatasync (/tmp on tmpfs
//   would make them meaningless). --flush-only N: after setup, only N 64-byte
//   flush commits (run under `strace -c` to count the syscalls per commit).
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "rvm/rvm.h"
#include "rvm/rvm_statistics.h"

namespace {

using Clock = std::chrono::steady_clock;

double Ns(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::nano>(b - a).count();
}

double Pct(std::vector<double>& v, double p) {
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p / 100.0 * (v.size() - 1));
  return v[i];
}

void Check(rvm_return_t rc, const char* what) {
  if (rc != RVM_SUCCESS) {
    std::fprintf(stderr, "%s: %s\n", what, rvm_return(rc));
    std::exit(1);
  }
}

void MakeFile(const std::string& p, size_t n) {
  FILE* f = std::fopen(p.c_str(), "wb");
  if (!f) std::exit(1);
  std::vector<char> z(1 << 20, 0);
  for (size_t done = 0; done < n; done += z.size())
    std::fwrite(z.data(), 1, std::min(z.size(), n - done), f);
  std::fclose(f);
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = ".";
  bool quick = false;
  long flush_only = -1;
  for (int i = 1; i < argc; i++) {
    if (std::string(argv[i]) == "--quick")
      quick = true;
    else if (std::string(argv[i]) == "--flush-only" && i + 1 < argc)
      flush_only = std::atol(argv[++i]);
    else
      dir = argv[i];
  }
  std::string base = dir + "/rvm_bench." + std::to_string(getpid());
  std::filesystem::create_directories(base);
  std::string log = base + "/log", seg = base + "/seg";
  const size_t kSeg = 64 << 20;
  MakeFile(seg, kSeg);

  rvm_options_t* o = rvm_malloc_options();
  o->log_dev = log.data();
  o->truncate = 0;
  o->flags = RVM_ALL_OPTIMIZATIONS;
  o->create_log_file = rvm_true;
  o->create_log_size = RVM_MK_OFFSET(0, 256ul << 20);
  Check(RVM_INIT(o), "rvm_initialize");
  rvm_region_t* r = rvm_malloc_region();
  r->data_dev = seg.data();
  Check(rvm_map(r, nullptr), "rvm_map");
  char* m = r->vmaddr;
  rvm_tid_t tid;
  rvm_init_tid(&tid);

  if (flush_only >= 0) {
    for (long i = 0; i < flush_only; i++) {
      Check(rvm_begin_transaction(&tid, restore), "begin");
      Check(rvm_set_range(&tid, m + i * 64, 64), "set_range");
      std::memset(m + i * 64, static_cast<int>(i), 64);
      Check(rvm_end_transaction(&tid, flush), "end");
    }
    std::_Exit(0);  // no terminate: only the commits' syscalls
  }
  std::printf("# rvm_bench: local log on %s\n", dir.c_str());
  std::printf("\n## flush commit latency (one range, restore mode)\n");
  std::printf("| size | n | p50 us | p99 us | p99.9 us | MB/s |\n|---|---|---|---|---|---|\n");
  for (size_t size : {8ul, 64ul, 512ul, 4096ul, 65536ul, 1ul << 20}) {
    int n = size >= (1 << 20) ? 100 : size >= 65536 ? 500 : 2000;
    if (quick) n = std::max(20, n / 20);
    std::vector<double> lat;
    lat.reserve(n);
    auto t0 = Clock::now();
    for (int i = 0; i < n; i++) {
      char* p = m + (static_cast<size_t>(i) * 4096 * 3) % (kSeg - size - 4096);
      auto a = Clock::now();
      Check(rvm_begin_transaction(&tid, restore), "begin");
      Check(rvm_set_range(&tid, p, size), "set_range");
      std::memset(p, i, size);
      Check(rvm_end_transaction(&tid, flush), "end");
      lat.push_back(Ns(a, Clock::now()));
    }
    double secs = Ns(t0, Clock::now()) / 1e9;
    std::printf("| %zu | %d | %.1f | %.1f | %.1f | %.1f |\n", size, n, Pct(lat, 50) / 1e3,
                Pct(lat, 99) / 1e3, Pct(lat, 99.9) / 1e3, size * n / secs / 1e6);
    Check(rvm_truncate(), "truncate");
  }

  std::printf("\n## no_flush commit cost (begin + set_range + end, no_restore)\n");
  std::printf("| size | n | p50 us | p99 us | mean us |\n|---|---|---|---|---|\n");
  for (size_t size : {8ul, 64ul, 512ul, 4096ul}) {
    int n = quick ? 5000 : 100000;
    std::vector<double> lat;
    lat.reserve(n);
    double sum = 0;
    for (int i = 0; i < n; i++) {
      char* p = m + (static_cast<size_t>(i) * 64) % (kSeg - size);
      auto a = Clock::now();
      Check(rvm_begin_transaction(&tid, no_restore), "begin");
      Check(rvm_set_range(&tid, p, size), "set_range");
      std::memset(p, i, size);
      Check(rvm_end_transaction(&tid, no_flush), "end");
      double ns = Ns(a, Clock::now());
      lat.push_back(ns);
      sum += ns;
      if (i % 1000 == 999) Check(rvm_flush(), "flush");  // untimed drain
    }
    std::printf("| %zu | %d | %.2f | %.2f | %.2f |\n", size, n, Pct(lat, 50) / 1e3,
                Pct(lat, 99) / 1e3, sum / n / 1e3);
    Check(rvm_flush(), "flush");
    Check(rvm_truncate(), "truncate");
  }

  // TPC-B-like: 100000 accounts, 10 tellers, 1 branch (x scale), a history
  // ring; each transaction updates one account, its teller and branch and
  // appends a history record, then commits with flush.
  std::printf("\n## TPC-B-like (flush commits; account+teller+branch+history per txn)\n");
  std::printf("| threads | txns | txn/s | p50 us | p99 us |\n|---|---|---|---|---|\n");
  struct Acct {
    long balance;
    char pad[92];
  };
  const size_t kAccounts = 100000, kTellers = 10 * 8, kBranches = 8, kHist = 100000;
  Acct* accounts = reinterpret_cast<Acct*>(m);
  Acct* tellers = accounts + kAccounts;
  Acct* branches = tellers + kTellers;
  struct Hist {
    long aid, tid, bid, delta;
    char filler[18];
  };
  Hist* hist = reinterpret_cast<Hist*>(branches + kBranches + 1);
  std::atomic<size_t> hist_next{0};
  for (int threads : {1, 4}) {
    const int per = quick ? 100 : 1500;
    std::vector<std::vector<double>> lats(threads);
    std::vector<std::thread> ts;
    auto t0 = Clock::now();
    for (int t = 0; t < threads; t++) {
      ts.emplace_back([&, t] {
        std::mt19937_64 rng(t + 1);
        rvm_tid_t x;
        rvm_init_tid(&x);
        // Each thread owns one branch, its tellers and every threads-th account.
        size_t b = t % kBranches;
        for (int i = 0; i < per; i++) {
          size_t a = t + threads * (rng() % (kAccounts / threads)), te = b * 10 + rng() % 10;
          long delta = static_cast<long>(rng() % 1999999) - 999999;
          auto s = Clock::now();
          Check(rvm_begin_transaction(&x, restore), "begin");
          Check(rvm_set_range(&x, &accounts[a].balance, sizeof(long)), "sr");
          accounts[a].balance += delta;
          Check(rvm_set_range(&x, &tellers[te].balance, sizeof(long)), "sr");
          tellers[te].balance += delta;
          Check(rvm_set_range(&x, &branches[b].balance, sizeof(long)), "sr");
          branches[b].balance += delta;
          size_t h = hist_next.fetch_add(1) % kHist;
          Check(rvm_set_range(&x, &hist[h], sizeof(Hist)), "sr");
          hist[h] =
              Hist{static_cast<long>(a), static_cast<long>(te), static_cast<long>(b), delta, {}};
          Check(rvm_end_transaction(&x, flush), "end");
          lats[t].push_back(Ns(s, Clock::now()));
        }
      });
    }
    for (auto& th : ts) th.join();
    double secs = Ns(t0, Clock::now()) / 1e9;
    std::vector<double> all;
    for (auto& l : lats) all.insert(all.end(), l.begin(), l.end());
    std::printf("| %d | %zu | %.0f | %.1f | %.1f |\n", threads, all.size(), all.size() / secs,
                Pct(all, 50) / 1e3, Pct(all, 99) / 1e3);
    Check(rvm_truncate(), "truncate");
  }

  rvm_statistics_t* st = rvm_malloc_statistics();
  Check(RVM_STATISTICS(st), "statistics");
  std::printf("\nlog writes (flushes): %lu for %lu flush commits\n", st->n_flush,
              st->tot_flush_commit);
  Check(rvm_terminate(), "terminate");
  std::filesystem::remove_all(base);
  return 0;
}
