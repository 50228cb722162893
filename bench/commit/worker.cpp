#include "worker.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <limits>
#include <thread>

#include "bench_util.h"
#include "rvm/rvm.h"
#include "rvm/rvm_statistics.h"

namespace commit_bench {

namespace {

void Check(rvm_return_t r, const char* what) {
  if (r != RVM_SUCCESS) Die(std::string(what) + ": " + rvm_return(r));
}

// Maps a fresh segment of `seg_len` bytes from a fresh log in `dir`.
char* SetUpRvm(const std::string& dir, size_t seg_len, uint64_t log_len) {
  std::string log = dir + "/log", data = dir + "/data";
  rvm_options_t* o = rvm_malloc_options();
  o->log_dev = const_cast<char*>(log.c_str());
  o->create_log_file = rvm_true;
  o->create_log_size = RVM_MK_OFFSET(0, log_len);
  o->create_log_mode = 0600;
  o->truncate = 30;
  o->flags = RVM_ALL_OPTIMIZATIONS;
  Check(RVM_INIT(o), "rvm_initialize");
  int fd = ::open(data.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(seg_len)) != 0) Die("cannot create " + data);
  ::close(fd);
  rvm_region_t* r = rvm_malloc_region();
  r->data_dev = strdup(data.c_str());
  r->length = seg_len;
  Check(rvm_map(r, nullptr), "rvm_map");
  return r->vmaddr;
}

// Flush-commit latency for each size: one range of `size` bytes per transaction.
void LatencyRun(const WorkerArgs& a, char* seg, size_t seg_len) {
  rvm_tid_t* tid = rvm_malloc_tid();
  for (size_t size : a.sizes) {
    std::vector<double> us;
    auto deadline = Clock::now() + std::chrono::duration<double>(a.seconds_per_size);
    size_t slots = seg_len / size;
    const double cpu0 = ProcessCpuUs();
    for (size_t i = 0; i < a.max_count && (i < 50 || Clock::now() < deadline); ++i) {
      char* p = seg + (i % slots) * size;
      auto t0 = Clock::now();
      Check(rvm_begin_transaction(tid, restore), "begin");
      Check(rvm_set_range(tid, p, size), "set_range");
      std::memset(p, static_cast<int>(i), size);
      Check(rvm_end_transaction(tid, flush), "end(flush)");
      us.push_back(Seconds(Clock::now() - t0) * 1e6);
    }
    const double cpu = (ProcessCpuUs() - cpu0) / static_cast<double>(us.size());
    Percentiles p = Summarise(us);
    std::printf("latency %zu %zu %.2f %.2f %.2f %.2f\n", size, p.n, p.p50, p.p99, p.p999, cpu);
    std::fflush(stdout);
    Check(rvm_truncate(), "rvm_truncate");
  }
  rvm_free_tid(tid);
}

// no_flush commits of 8 bytes, flushed at the end (outside the timing).
void NoFlushRun(char* seg) {
  rvm_tid_t* tid = rvm_malloc_tid();
  std::vector<double> us;
  for (size_t i = 0; i < 20000; ++i) {
    char* p = seg + (i % 512) * 8;
    auto t0 = Clock::now();
    Check(rvm_begin_transaction(tid, no_restore), "begin");
    Check(rvm_set_range(tid, p, 8), "set_range");
    std::memcpy(p, &i, 8);
    Check(rvm_end_transaction(tid, no_flush), "end(no_flush)");
    us.push_back(Seconds(Clock::now() - t0) * 1e6);
  }
  Check(rvm_flush(), "rvm_flush");
  rvm_free_tid(tid);
  Percentiles p = Summarise(us);
  std::printf("noflush 8 %zu %.3f %.3f %.3f\n", p.n, p.p50, p.p99, p.p999);
  std::fflush(stdout);
}

// ------------------------------------------------------------- TPC-B --

// Branches, tellers, accounts and a history ring laid out in the segment.
struct TpcbTables {
  static constexpr size_t kBranches = 16, kTellers = 160, kAccounts = 100000;
  struct History {
    long account, teller, branch, amount, stamp;
  };
  long* branch;
  long* teller;
  long* account;
  History* hist;
  size_t hist_slots;
  std::atomic<long> hist_next{0};

  TpcbTables(char* seg, size_t seg_len)
      : branch(reinterpret_cast<long*>(seg)),
        teller(branch + kBranches),
        account(teller + kTellers),
        hist(reinterpret_cast<History*>(account + kAccounts)),
        hist_slots((seg_len - (kBranches + kTellers + kAccounts) * sizeof(long)) /
                   sizeof(History)) {}
};

// One committing thread's results. `commit_ns` is allocated and touched
// before the run, so recording a sample is a store and an increment.
struct TpcbThread {
  std::vector<uint32_t> commit_ns;
  size_t samples = 0;
  long txns = 0;
};

// Upper bound on the flush commits one thread records per second.
constexpr size_t kMaxSamplesPerSecond = 250000;

// One transaction: moves an amount (3 balance updates + 1 history row) and
// commits with flush. Returns the duration of rvm_end_transaction(flush) in ns.
uint64_t TpcbTransaction(TpcbTables& t, rvm_tid_t* tid, unsigned& seed, long stamp) {
  seed = seed * 1103515245u + 12345u;
  size_t acc = seed % TpcbTables::kAccounts, tel = (seed >> 8) % TpcbTables::kTellers,
         br = tel % TpcbTables::kBranches;
  long amount = static_cast<long>(seed % 1000) - 500;
  size_t h = static_cast<size_t>(t.hist_next.fetch_add(1)) % t.hist_slots;
  Check(rvm_begin_transaction(tid, no_restore), "begin");
  Check(rvm_set_range(tid, &t.account[acc], sizeof(long)), "set_range");
  Check(rvm_set_range(tid, &t.teller[tel], sizeof(long)), "set_range");
  Check(rvm_set_range(tid, &t.branch[br], sizeof(long)), "set_range");
  Check(rvm_set_range(tid, &t.hist[h], sizeof(TpcbTables::History)), "set_range");
  // Different threads may touch the same balance: the sums are not the
  // point here, the commit path is.
  t.account[acc] += amount;
  t.teller[tel] += amount;
  t.branch[br] += amount;
  t.hist[h] = TpcbTables::History{static_cast<long>(acc), static_cast<long>(tel),
                                  static_cast<long>(br), amount, stamp};
  auto c0 = Clock::now();
  Check(rvm_end_transaction(tid, flush), "end(flush)");
  return static_cast<uint64_t>(std::chrono::nanoseconds(Clock::now() - c0).count());
}

void TpcbThreadLoop(TpcbTables& t, TpcbThread& me, unsigned seed, const std::atomic<bool>& stop) {
  rvm_tid_t* tid = rvm_malloc_tid();
  constexpr uint64_t kMax = std::numeric_limits<uint32_t>::max();
  while (!stop.load(std::memory_order_relaxed)) {
    uint64_t ns = TpcbTransaction(t, tid, seed, me.txns);
    if (me.samples < me.commit_ns.size())
      me.commit_ns[me.samples++] = static_cast<uint32_t>(std::min(ns, kMax));
    ++me.txns;
  }
  rvm_free_tid(tid);
}

// p50 and p99 in microseconds of all threads' samples together.
std::pair<double, double> CommitPercentiles(const std::vector<TpcbThread>& per_thread) {
  std::vector<uint32_t> all;
  for (const auto& t : per_thread)
    all.insert(all.end(), t.commit_ns.begin(),
               t.commit_ns.begin() + static_cast<std::ptrdiff_t>(t.samples));
  if (all.empty()) return {0, 0};
  auto at = [&](double q) {
    auto it = all.begin() + static_cast<std::ptrdiff_t>(
                                std::min(all.size() - 1, static_cast<size_t>(q * all.size())));
    std::nth_element(all.begin(), it, all.end());
    return *it / 1e3;
  };
  const double p50 = at(0.50);
  return {p50, at(0.99)};
}

struct FlushCounts {
  unsigned long commits = 0, writes = 0;
};

FlushCounts ReadFlushCounts() {
  rvm_statistics_t* st = rvm_malloc_statistics();
  Check(RVM_STATISTICS(st), "rvm_statistics");
  FlushCounts c{st->tot_flush_commit, st->tot_flush};
  rvm_free_statistics(st);
  return c;
}

// Runs `threads` committing threads for tpcb_seconds and prints one tpcb line.
void TpcbRun(const WorkerArgs& a, TpcbTables& tables, int threads) {
  std::vector<TpcbThread> per_thread(static_cast<size_t>(threads));
  for (auto& t : per_thread)
    t.commit_ns.assign(kMaxSamplesPerSecond * static_cast<size_t>(a.tpcb_seconds) + 1024, 0);
  std::atomic<bool> stop{false};
  const FlushCounts c0 = ReadFlushCounts();
  auto t0 = Clock::now();
  const double cpu0 = ProcessCpuUs();
  std::vector<std::thread> ts;
  for (int i = 0; i < threads; ++i)
    ts.emplace_back(TpcbThreadLoop, std::ref(tables), std::ref(per_thread[static_cast<size_t>(i)]),
                    7u + 31u * static_cast<unsigned>(i), std::cref(stop));
  std::this_thread::sleep_for(std::chrono::seconds(a.tpcb_seconds));
  stop = true;
  for (auto& t : ts) t.join();
  const double secs = Seconds(Clock::now() - t0);
  const double cpu_total = ProcessCpuUs() - cpu0;
  const FlushCounts c1 = ReadFlushCounts();
  long done = 0;
  for (const auto& t : per_thread) done += t.txns;
  const double cpu = cpu_total / static_cast<double>(std::max(1L, done));
  // Group commit: flush commits per log write (a batch; 1.0 = no sharing).
  const double per_write = static_cast<double>(c1.commits - c0.commits) /
                           static_cast<double>(std::max(1UL, c1.writes - c0.writes));
  auto [p50, p99] = CommitPercentiles(per_thread);
  std::printf("tpcb %d %ld %.1f %.2f %.2f %.2f %.2f\n", threads, done,
              static_cast<double>(done) / secs, cpu, per_write, p50, p99);
  std::fflush(stdout);
}

}  // namespace

WorkerArgs ParseWorkerArgs(int argc, char** argv) {
  WorkerArgs a;
  a.dir = argv[2];
  a.sizes = ParseList<size_t>(argv[3]);
  a.seconds_per_size = std::atof(argv[4]);
  a.tpcb_seconds = a.seconds_per_size < 1.0 ? 1 : 2;
  if (argc >= 6 && argv[5][0] != '\0') a.tpcb_seconds = std::atoi(argv[5]);
  if (argc >= 7) a.threads = ParseList<int>(argv[6]);
  return a;
}

int RunWorker(const WorkerArgs& a) {
  const size_t seg_len = std::max<size_t>(8u << 20, 4 * a.sizes.back());
  char* seg = SetUpRvm(a.dir, seg_len, 64u << 20);
  LatencyRun(a, seg, seg_len);
  NoFlushRun(seg);
  if (a.tpcb_seconds > 0) {
    TpcbTables tables(seg, seg_len);
    for (int threads : a.threads) TpcbRun(a, tables, threads);
  }
  rvm_statistics_t* st = rvm_malloc_statistics();
  Check(RVM_STATISTICS(st), "rvm_statistics");
  std::printf("stats flush_commits %lu log_written %lu\n", st->tot_flush_commit,
              st->tot_log_written.low);
  Check(rvm_terminate(), "rvm_terminate");
  return 0;
}

}  // namespace commit_bench
