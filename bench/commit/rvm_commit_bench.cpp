// rvm-commit-bench: what a commit costs through the public RVM API, in
// local-disk mode and with remote memory mirrors, measured side by side in
// one run together with a bare TCP ping-pong of the same sizes.
//
// The parent starts the mirrors (in-process log servers on loopback) and a
// ping-pong echo server, then runs each mode in a child process (RVM cannot
// be initialised twice in one process) with RVM_MIRRORS set accordingly, and
// prints one table. `--worker` is the child side.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "remote_log/server.h"
#include "rvm/rvm.h"
#include "rvm/rvm_statistics.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

struct Percentiles {
  double p50 = 0, p99 = 0, p999 = 0;
  size_t n = 0;
  double cpu_us = 0;  // process CPU per operation (worker side)
};

Percentiles Summarise(std::vector<double> us) {
  Percentiles p;
  p.n = us.size();
  if (us.empty()) return p;
  std::sort(us.begin(), us.end());
  auto at = [&](double q) {
    return us[std::min(us.size() - 1, static_cast<size_t>(q * us.size()))];
  };
  p.p50 = at(0.50);
  p.p99 = at(0.99);
  p.p999 = at(0.999);
  return p;
}

std::vector<size_t> ParseSizes(const std::string& s) {
  std::vector<size_t> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(std::stoul(item));
  return out;
}

// CPU time (user + system) this process used so far, all its threads: the
// committing threads, the disk writer, truncation; not the mirrors.
double ProcessCpuUs() {
  rusage ru;
  ::getrusage(RUSAGE_SELF, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + ru.ru_utime.tv_usec +
         ru.ru_stime.tv_usec;
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "rvm-commit-bench: %s\n", what.c_str());
  std::exit(2);
}

void Check(rvm_return_t r, const char* what) {
  if (r != RVM_SUCCESS) Die(std::string(what) + ": " + rvm_return(r));
}

// ---------------------------------------------------------------- worker --

struct WorkerArgs {
  std::string dir;
  std::vector<size_t> sizes;
  double seconds_per_size = 1.0;
  size_t max_count = 20000;
  int tpcb_seconds = 2;
};

// Maps a fresh segment of `len` bytes from a fresh log in `dir`.
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
  // no_flush commits of 8 bytes, flushed at the end (outside the timing).
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
  Percentiles p = Summarise(us);
  std::printf("noflush 8 %zu %.3f %.3f %.3f\n", p.n, p.p50, p.p99, p.p999);
  std::fflush(stdout);
}

// TPC-B-like: branches, tellers, accounts and a history ring in the segment;
// each transaction moves an amount (3 balance updates + 1 history row) and
// commits with flush. Runs `threads` threads for a fixed time.
void TpcbRun(const WorkerArgs& a, char* seg, size_t seg_len, int threads) {
  constexpr size_t kBranches = 16, kTellers = 160, kAccounts = 100000;
  struct History {
    long account, teller, branch, amount, stamp;
  };
  long* branch = reinterpret_cast<long*>(seg);
  long* teller = branch + kBranches;
  long* account = teller + kTellers;
  History* hist = reinterpret_cast<History*>(account + kAccounts);
  const size_t hist_slots =
      (seg_len - (kBranches + kTellers + kAccounts) * sizeof(long)) / sizeof(History);
  std::atomic<long> done{0}, hist_next{0};
  std::atomic<bool> stop{false};
  auto worker = [&](unsigned seed) {
    rvm_tid_t* tid = rvm_malloc_tid();
    long mine = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      seed = seed * 1103515245u + 12345u;
      size_t acc = seed % kAccounts, tel = (seed >> 8) % kTellers, br = tel % kBranches;
      long amount = static_cast<long>(seed % 1000) - 500;
      size_t h = static_cast<size_t>(hist_next.fetch_add(1)) % hist_slots;
      Check(rvm_begin_transaction(tid, no_restore), "begin");
      Check(rvm_set_range(tid, &account[acc], sizeof(long)), "set_range");
      Check(rvm_set_range(tid, &teller[tel], sizeof(long)), "set_range");
      Check(rvm_set_range(tid, &branch[br], sizeof(long)), "set_range");
      Check(rvm_set_range(tid, &hist[h], sizeof(History)), "set_range");
      // Different threads may touch the same balance: the sums are not the
      // point here, the commit path is.
      account[acc] += amount;
      teller[tel] += amount;
      branch[br] += amount;
      hist[h] = History{static_cast<long>(acc), static_cast<long>(tel), static_cast<long>(br),
                        amount, mine};
      Check(rvm_end_transaction(tid, flush), "end(flush)");
      ++mine;
    }
    done += mine;
    rvm_free_tid(tid);
  };
  rvm_statistics_t* st = rvm_malloc_statistics();
  Check(RVM_STATISTICS(st), "rvm_statistics");
  const unsigned long commits0 = st->tot_flush_commit, writes0 = st->tot_flush;
  auto t0 = Clock::now();
  const double cpu0 = ProcessCpuUs();
  std::vector<std::thread> ts;
  for (int i = 0; i < threads; ++i) ts.emplace_back(worker, 7u + 31u * static_cast<unsigned>(i));
  std::this_thread::sleep_for(std::chrono::seconds(a.tpcb_seconds));
  stop = true;
  for (auto& t : ts) t.join();
  double secs = Seconds(Clock::now() - t0);
  const double cpu = (ProcessCpuUs() - cpu0) / static_cast<double>(std::max(1L, done.load()));
  Check(RVM_STATISTICS(st), "rvm_statistics");
  // Group commit: flush commits per log write (a batch; 1.0 = no sharing).
  const double per_write = static_cast<double>(st->tot_flush_commit - commits0) /
                           static_cast<double>(std::max(1UL, st->tot_flush - writes0));
  rvm_free_statistics(st);
  std::printf("tpcb %d %ld %.1f %.2f %.2f\n", threads, done.load(),
              static_cast<double>(done.load()) / secs, cpu, per_write);
  std::fflush(stdout);
}

int Worker(const WorkerArgs& a) {
  const size_t seg_len = std::max<size_t>(8u << 20, 4 * a.sizes.back());
  char* seg = SetUpRvm(a.dir, seg_len, 64u << 20);
  LatencyRun(a, seg, seg_len);
  if (a.tpcb_seconds > 0)
    for (int threads : {1, 2, 4}) TpcbRun(a, seg, seg_len, threads);
  rvm_statistics_t* st = rvm_malloc_statistics();
  Check(RVM_STATISTICS(st), "rvm_statistics");
  std::printf("stats flush_commits %lu log_written %lu\n", st->tot_flush_commit,
              st->tot_log_written.low);
  Check(rvm_terminate(), "rvm_terminate");
  return 0;
}

// ------------------------------------------------------------- ping-pong --

// A bare TCP echo of the append shape: the client sends an 8-byte length and
// the payload, the server answers with 16 bytes. No framing, no CRC, no RVM.
class PingPongServer {
 public:
  PingPongServer() {
    lfd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(lfd_, 4) != 0)
      Die("ping-pong server: bind/listen failed");
    socklen_t len = sizeof a;
    ::getsockname(lfd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~PingPongServer() {
    ::shutdown(lfd_, SHUT_RDWR);
    ::close(lfd_);
    thread_.join();
  }
  uint16_t port() const { return port_; }

 private:
  static bool ReadFull(int fd, void* p, size_t n) {
    char* c = static_cast<char*>(p);
    while (n > 0) {
      ssize_t r = ::read(fd, c, n);
      if (r <= 0) return false;
      c += r;
      n -= static_cast<size_t>(r);
    }
    return true;
  }
  void Serve() {
    int fd = ::accept(lfd_, nullptr, nullptr);
    if (fd < 0) return;
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::vector<char> buf(2u << 20);
    uint64_t n = 0;
    char ack[16] = {};
    while (ReadFull(fd, &n, 8) && n <= buf.size() && ReadFull(fd, buf.data(), n))
      if (::write(fd, ack, sizeof ack) != sizeof ack) break;
    ::close(fd);
  }
  int lfd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

std::map<size_t, Percentiles> PingPong(const std::vector<size_t>& sizes, double secs) {
  PingPongServer srv;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(srv.port());
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) Die("ping-pong connect");
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::map<size_t, Percentiles> out;
  std::vector<char> buf(sizes.back() + 8, 'p');
  char ack[16];
  for (size_t size : sizes) {
    std::vector<double> us;
    auto deadline = Clock::now() + std::chrono::duration<double>(secs);
    for (size_t i = 0; i < 20000 && (i < 50 || Clock::now() < deadline); ++i) {
      uint64_t n = size;
      std::memcpy(buf.data(), &n, 8);
      auto t0 = Clock::now();
      size_t off = 0;
      while (off < size + 8) {
        ssize_t w = ::write(fd, buf.data() + off, size + 8 - off);
        if (w <= 0) Die("ping-pong write");
        off += static_cast<size_t>(w);
      }
      size_t got = 0;
      while (got < sizeof ack) {
        ssize_t r = ::read(fd, ack + got, sizeof ack - got);
        if (r <= 0) Die("ping-pong read");
        got += static_cast<size_t>(r);
      }
      us.push_back(Seconds(Clock::now() - t0) * 1e6);
    }
    out[size] = Summarise(us);
  }
  ::close(fd);
  return out;
}

// ---------------------------------------------------------------- parent --

struct ModeResult {
  std::string name;
  std::map<size_t, Percentiles> latency;
  Percentiles noflush;
  std::map<int, double> tpcb;        // threads -> transactions/s
  std::map<int, double> tpcb_cpu;    // threads -> worker CPU µs per transaction
  std::map<int, double> tpcb_batch;  // threads -> flush commits per log write
  bool ok = false;
};

ModeResult RunMode(const std::string& self, const std::string& name, const std::string& mirrors,
                   const std::string& sizes, const std::string& secs,
                   const std::string& tpcb_secs = "") {
  ModeResult res;
  res.name = name;
  char tmpl[] = "/var/tmp/rvmbenchXXXXXX";
  if (!mkdtemp(tmpl)) Die("mkdtemp");
  std::string dir = tmpl;
  int pipefd[2];
  if (::pipe(pipefd) != 0) Die("pipe");
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipefd[1], 1);
    ::close(pipefd[0]);
    if (mirrors.empty())
      ::unsetenv("RVM_MIRRORS");
    else
      ::setenv("RVM_MIRRORS", mirrors.c_str(), 1);
    if (tpcb_secs.empty())
      ::execl(self.c_str(), self.c_str(), "--worker", dir.c_str(), sizes.c_str(), secs.c_str(),
              static_cast<char*>(nullptr));
    else
      ::execl(self.c_str(), self.c_str(), "--worker", dir.c_str(), sizes.c_str(), secs.c_str(),
              tpcb_secs.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  ::close(pipefd[1]);
  FILE* in = ::fdopen(pipefd[0], "r");
  char line[512];
  while (std::fgets(line, sizeof line, in)) {
    char kind[32];
    if (std::sscanf(line, "%31s", kind) != 1) continue;
    if (std::strcmp(kind, "latency") == 0) {
      size_t size = 0;
      Percentiles p;
      std::sscanf(line, "latency %zu %zu %lf %lf %lf %lf", &size, &p.n, &p.p50, &p.p99, &p.p999,
                  &p.cpu_us);
      res.latency[size] = p;
    } else if (std::strcmp(kind, "noflush") == 0) {
      std::sscanf(line, "noflush 8 %zu %lf %lf %lf", &res.noflush.n, &res.noflush.p50,
                  &res.noflush.p99, &res.noflush.p999);
    } else if (std::strcmp(kind, "tpcb") == 0) {
      int threads = 0;
      long n = 0;
      double tps = 0, cpu = 0, batch = 0;
      std::sscanf(line, "tpcb %d %ld %lf %lf %lf", &threads, &n, &tps, &cpu, &batch);
      res.tpcb[threads] = tps;
      res.tpcb_cpu[threads] = cpu;
      res.tpcb_batch[threads] = batch;
    }
  }
  std::fclose(in);
  int status = 0;
  ::waitpid(pid, &status, 0);
  res.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  std::string cleanup = "rm -rf '" + dir + "'";
  if (std::system(cleanup.c_str()) != 0) std::fprintf(stderr, "could not remove %s\n", dir.c_str());
  return res;
}

void Usage() {
  std::printf(
      "usage: rvm-commit-bench [--quick] [--sizes LIST] [--seconds S]\n"
      "\n"
      "Measures RVM commits through the public API in one run, side by side:\n"
      "  local   classic mode: a flush commit waits for the log's fdatasync\n"
      "  1 mirror, 2 mirrors   remote mode (RVM_MIRRORS): a flush commit waits for\n"
      "          the mirrors' acks; the disk copy is written in the background\n"
      "  ping-pong   a bare TCP request/ack of the same sizes on loopback\n"
      "Reports flush-commit latency p50/p99/p99.9 per size, no_flush commit cost,\n"
      "and TPC-B-like transactions/s with 1, 2 and 4 threads.\n"
      "\n"
      "  --quick        sizes 8,4096,65536 and 0.5 s per size (the main job)\n"
      "  --sizes LIST   comma-separated transaction sizes in bytes\n"
      "                 (default 8,64,512,4096,65536,1048576)\n"
      "  --seconds S    time budget per size and mode (default 1.5)\n"
      "  --tpcb-seconds N   TPC-B run time per thread count (0: skip; with --only)\n"
      "  --only MODE    run one mode alone (local, 1, 2) and print its raw lines\n"
      "                 (for profiling: perf record / strace -f the whole run)\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 5 && std::strcmp(argv[1], "--worker") == 0) {
    WorkerArgs a;
    a.dir = argv[2];
    a.sizes = ParseSizes(argv[3]);
    a.seconds_per_size = std::atof(argv[4]);
    a.tpcb_seconds = a.seconds_per_size < 1.0 ? 1 : 2;
    if (argc >= 6) a.tpcb_seconds = std::atoi(argv[5]);
    return Worker(a);
  }
  std::string sizes = "8,64,512,4096,65536,1048576";
  std::string secs = "1.5";
  std::string only, tpcb_secs;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      Usage();
      return 0;
    } else if (arg == "--quick") {
      sizes = "8,4096,65536";
      secs = "0.5";
    } else if (arg == "--sizes" && i + 1 < argc) {
      sizes = argv[++i];
    } else if (arg == "--seconds" && i + 1 < argc) {
      secs = argv[++i];
    } else if (arg == "--only" && i + 1 < argc) {
      only = argv[++i];
    } else if (arg == "--tpcb-seconds" && i + 1 < argc) {
      tpcb_secs = argv[++i];
    } else {
      std::fprintf(stderr, "rvm-commit-bench: unknown argument '%s' (see --help)\n", arg.c_str());
      return 2;
    }
  }
  std::vector<size_t> size_list = ParseSizes(sizes);
  if (size_list.empty()) Die("no sizes");
  std::sort(size_list.begin(), size_list.end());

  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) Die("cannot find /proc/self/exe");
  self[n] = '\0';

  std::vector<std::unique_ptr<rvmr::remote_log::Server>> servers;
  std::vector<std::string> uris;
  for (int i = 0; i < 2; ++i) {
    rvmr::remote_log::ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.capacity = uint64_t{1} << 30;
    servers.push_back(std::make_unique<rvmr::remote_log::Server>(o));
    auto s = servers.back()->Start();
    if (!s.ok()) Die("log server: " + s.ToString());
    uris.push_back("tcp://127.0.0.1:" + std::to_string(servers.back()->port()));
  }
  std::printf("rvm-commit-bench: log servers on %s and %s (loopback); log and data in /var/tmp\n",
              uris[0].c_str(), uris[1].c_str());
  std::fflush(stdout);

  if (!only.empty()) {
    std::string m = only == "local" ? "" : only == "1" ? uris[0] : uris[0] + "," + uris[1];
    ModeResult r = RunMode(self, only, m, sizes, secs, tpcb_secs);
    for (const auto& [size, p] : r.latency)
      std::printf("%9zu p50 %.1f p99 %.1f p99.9 %.1f cpu/commit %.1f us\n", size, p.p50, p.p99,
                  p.p999, p.cpu_us);
    std::printf("no_flush p50 %.3f\n", r.noflush.p50);
    for (const auto& [t, tps] : r.tpcb)
      std::printf("tpcb %d threads %.0f/s cpu/txn %.1f us commits/write %.2f\n", t, tps,
                  r.tpcb_cpu[t], r.tpcb_batch[t]);
    return r.ok ? 0 : 1;
  }
  std::vector<ModeResult> modes;
  modes.push_back(RunMode(self, "local disk", "", sizes, secs));
  modes.push_back(RunMode(self, "1 mirror", uris[0], sizes, secs));
  modes.push_back(RunMode(self, "2 mirrors", uris[0] + "," + uris[1], sizes, secs));
  for (const auto& m : modes)
    if (!m.ok) Die("the '" + m.name + "' run failed (see its messages above)");
  auto pp = PingPong(size_list, std::atof(secs.c_str()));

  std::printf("\nflush commit latency, microseconds (p50 / p99 / p99.9)\n");
  std::printf("%9s  %-26s %-26s %-26s %-26s\n", "size", "local disk", "1 mirror", "2 mirrors",
              "bare TCP ping-pong");
  for (size_t size : size_list) {
    std::printf("%9zu ", size);
    for (const auto& m : modes) {
      const Percentiles& p = m.latency.at(size);
      std::printf(" %8.1f/%8.1f/%8.1f", p.p50, p.p99, p.p999);
    }
    std::printf(" %8.1f/%8.1f/%8.1f\n", pp[size].p50, pp[size].p99, pp[size].p999);
  }
  std::printf("\nratios of p50 latency\n");
  std::printf("%9s  %-22s %-22s %-22s\n", "size", "local / 1 mirror", "1 mirror / ping-pong",
              "2 mirrors / ping-pong");
  for (size_t size : size_list) {
    double l = modes[0].latency.at(size).p50, r1 = modes[1].latency.at(size).p50,
           r2 = modes[2].latency.at(size).p50, p = pp[size].p50;
    std::printf("%9zu  %-22.1f %-22.2f %-22.2f\n", size, l / r1, r1 / p, r2 / p);
  }
  std::printf(
      "\nCPU per flush commit in the RVM process (all its threads: committer, disk writer,\n"
      "truncation; not the mirrors), microseconds\n");
  std::printf("%9s  %-12s %-12s %-12s\n", "size", "local disk", "1 mirror", "2 mirrors");
  for (size_t size : size_list) {
    std::printf("%9zu ", size);
    for (const auto& m : modes) std::printf(" %-12.1f", m.latency.at(size).cpu_us);
    std::printf("\n");
  }
  std::printf("\nno_flush commit (8 bytes), microseconds p50 / p99\n");
  for (const auto& m : modes)
    std::printf("  %-10s %.3f / %.3f\n", m.name.c_str(), m.noflush.p50, m.noflush.p99);
  std::printf("\nTPC-B-like flush transactions per second\n");
  std::printf("  %-10s %10s %10s %14s %21s %16s\n", "mode", "1 thread", "2 threads",
              "2 thr / 1 thr", "CPU us/txn 1 / 2 thr", "txn/write 2 thr");
  for (const auto& m : modes)
    std::printf("  %-10s %10.0f %10.0f %14.2f %13.1f / %5.1f %16.2f\n", m.name.c_str(),
                m.tpcb.at(1), m.tpcb.at(2), m.tpcb.at(2) / m.tpcb.at(1), m.tpcb_cpu.at(1),
                m.tpcb_cpu.at(2), m.tpcb_batch.at(2));
  std::printf("  1 mirror / local disk, 1 thread: %.1fx\n",
              modes[1].tpcb.at(1) / modes[0].tpcb.at(1));
  // More committers than pipeline_depth (2): the batches are shared again.
  std::printf("  4 threads (group commit beyond the pipeline depth): ");
  for (const auto& m : modes)
    std::printf("%s %.0f/s, %.2f txn/write%s", m.name.c_str(), m.tpcb.at(4), m.tpcb_batch.at(4),
                &m == &modes.back() ? "\n" : "; ");
  return 0;
}
