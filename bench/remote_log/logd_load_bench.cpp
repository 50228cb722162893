// rvm-logd-load-bench: one rvm-logd process (the real binary) under load.
//  A. Stalled connections: a writer's synchronous append round trip
//     (p50/p99) and the server's RSS and thread count, without and then with
//     N connections that sent 3 bytes and stalled (never authenticating), and
//     the server's RSS after they are gone.
//  B. Many writers: 1, 4, 8, 12 ... writer processes (fork, each with its own
//     log and connection, as independent RVM processes would be), each
//     appending small records synchronously (append, wait for the ack: a
//     flush commit's remote part) for a fixed time; per-writer appends/s and
//     their ratio to a lone writer's, and the CPU time one append costs the
//     writer process and the server, from which the CPUs that N writers at
//     the lone rate need follow (docs/performance.md).
// Usage: rvm-logd-load-bench --logd PATH [--writers 1,4,8,12] [--seconds S]
//                            [--stalled N] [--size BYTES] [--appends N]
//                            [--legacy] [--threads N] [--event-loops-only]
// --legacy: start PATH without the options an older rvm-logd lacks
// (--auth-timeout, --max-connections, --threads), to compare with one.
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "connect_or_exit.h"
#include "remote_log/client.h"

using namespace rvmr;
using namespace rvmr::remote_log;
using Clock = std::chrono::steady_clock;

namespace {

struct Args {
  std::string logd;
  std::vector<int> writers = {1, 4, 8, 12};
  double seconds = 3;
  int stalled = 1000;
  size_t size = 200;
  int appends = 20000;
  bool legacy = false;
  int threads = 0;
  bool event_loops_only = false;
};

std::vector<int> ParseList(const std::string& s) {
  std::vector<int> v;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) v.push_back(std::atoi(item.c_str()));
  return v;
}

// A field of /proc/PID/status ("VmRSS", "Threads") as a number.
long ProcStatus(pid_t pid, const char* field) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  size_t n = std::strlen(field);
  while (std::getline(f, line))
    if (line.compare(0, n, field) == 0 && line[n] == ':') return std::atol(line.c_str() + n + 1);
  return -1;
}

// CPU time (user + system, all threads) process `pid` used so far, seconds.
double ProcCpuSeconds(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  size_t close_paren = all.rfind(')');
  if (close_paren == std::string::npos) return 0;
  std::istringstream rest(all.substr(close_paren + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; i++) {  // fields 14, 15: utime, stime
    if (i == 14) utime = std::atof(field.c_str());
    if (i == 15) stime = std::atof(field.c_str());
  }
  return (utime + stime) / double(sysconf(_SC_CLK_TCK));
}

double RusageSeconds(const rusage& ru) {
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

class Logd {
 public:
  explicit Logd(const Args& a) {
    char dir[] = "/tmp/logd-load-XXXXXX";
    if (mkdtemp(dir) == nullptr) std::exit(1);
    dir_ = dir;
    std::string port_file = dir_ + "/port";
    std::vector<std::string> argv = {a.logd, "--listen", "127.0.0.1:0", "--capacity", "4G",
                                     "--port-file", port_file};
    if (!a.legacy) {
      argv.insert(argv.end(), {"--auth-timeout", "600", "--max-connections", "4096"});
      if (a.threads > 0) argv.insert(argv.end(), {"--threads", std::to_string(a.threads)});
      if (a.event_loops_only) argv.push_back("--event-loops-only");
    }
    pid_ = fork();
    if (pid_ == 0) {
      std::vector<char*> cargv;
      for (auto& s : argv) cargv.push_back(s.data());
      cargv.push_back(nullptr);
      execv(cargv[0], cargv.data());
      _exit(127);
    }
    for (int i = 0; i < 5000 && port_ == 0; ++i) {
      std::ifstream f(port_file);
      if (!(f >> port_)) port_ = 0;
      if (port_ == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (port_ == 0) {
      std::fprintf(stderr, "rvm-logd did not start\n");
      std::exit(1);
    }
  }
  ~Logd() {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    std::remove((dir_ + "/port").c_str());
    rmdir(dir_.c_str());
  }
  pid_t pid() const { return pid_; }
  std::string uri() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
  uint16_t port() const { return uint16_t(port_); }

 private:
  std::string dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

std::unique_ptr<MirrorSet> Connect(const std::string& uri) {
  return bench::ConnectOrExit({uri});
}

// Synchronous appends of `size` bytes; returns the round trips in us.
std::vector<double> Latencies(const std::string& uri, const std::string& name, size_t size,
                              int n) {
  auto m = Connect(uri);
  if (!m->Open(name, 1, true, 0, nullptr).ok()) std::exit(1);
  std::vector<uint8_t> d(size, 0x5A);
  std::vector<double> t;
  uint64_t off = 0;
  for (int i = 0; i < n + 500; ++i) {
    auto t0 = Clock::now();
    if (!m->Append(off, d.data(), d.size()).ok()) std::exit(1);
    if (i >= 500) t.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    off += size;
    if (off % (1 << 20) < size) bench::OkOrExit(m->Trim(off), "trim");
  }
  std::sort(t.begin(), t.end());
  return t;
}

double Pct(const std::vector<double>& v, double p) {
  return v[std::min(v.size() - 1, size_t(p * double(v.size())))];
}

// Opens n connections that send 3 bytes of a header and stall.
std::vector<int> Stall(uint16_t port, int n) {
  std::vector<int> fds;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < n; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        send(fd, "RVM", 3, MSG_NOSIGNAL) != 3) {
      std::fprintf(stderr, "stalled connection %d: %s\n", i, std::strerror(errno));
      close(fd);
      break;
    }
    fds.push_back(fd);
  }
  return fds;
}

void PartA(const Args& a) {
  Logd logd(a);
  std::printf("## A. %d stalled connections against a writer (%zu B appends, %d per row)\n\n",
              a.stalled, a.size, a.appends);
  std::printf("| state | server RSS KiB | server threads | writer p50 us | p99 us |\n");
  std::printf("|---|---|---|---|---|\n");
  auto row = [&](const char* state, const std::string& log) {
    auto t = Latencies(logd.uri(), log, a.size, a.appends);
    std::printf("| %s | %ld | %ld | %.1f | %.1f |\n", state, ProcStatus(logd.pid(), "VmRSS"),
                ProcStatus(logd.pid(), "Threads"), Pct(t, 0.5), Pct(t, 0.99));
    std::fflush(stdout);
  };
  row("no stalled connections", "a0");
  std::vector<int> fds = Stall(logd.port(), a.stalled);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let the server accept them
  std::printf("| %zu stalled, idle | %ld | %ld | - | - |\n", fds.size(),
              ProcStatus(logd.pid(), "VmRSS"), ProcStatus(logd.pid(), "Threads"));
  row("stalled connections open", "a1");
  for (int fd : fds) close(fd);
  std::this_thread::sleep_for(std::chrono::seconds(3));  // sweeps and trims
  std::printf("| after they closed (3 s) | %ld | %ld | - | - |\n",
              ProcStatus(logd.pid(), "VmRSS"), ProcStatus(logd.pid(), "Threads"));
  // 10,000 more: each a whole writer session (connect, open, append, close).
  for (int i = 0; i < 10000; ++i) {
    auto m = Connect(logd.uri());
    std::vector<LogInfo> infos;
    if (!m->Open("many", uint64_t(i) + 1, true, 0, &infos).ok()) std::exit(1);
    const uint64_t tail = infos[0].tail;
    std::vector<uint8_t> d(40, 1);
    if (!m->Append(tail, d.data(), d.size()).ok()) std::exit(1);
    bench::OkOrExit(m->Trim(tail + d.size()), "trim");
  }
  std::this_thread::sleep_for(std::chrono::seconds(3));  // sweeps and trims
  std::printf("| after 10,000 writer sessions (3 s) | %ld | %ld | - | - |\n\n",
              ProcStatus(logd.pid(), "VmRSS"), ProcStatus(logd.pid(), "Threads"));
}

// Child: one writer for `seconds` after the start signal; writes its count.
[[noreturn]] void Writer(const Args& a, const std::string& uri, int id, int ready_fd,
                         int start_fd) {
  auto m = Connect(uri);
  if (!m->Open("writer-" + std::to_string(id), 1, true, 0, nullptr).ok()) _exit(1);
  std::vector<uint8_t> d(a.size, uint8_t(id));
  char c = 'r';
  if (write(ready_fd, &c, 1) != 1 || read(start_fd, &c, 1) != 1) _exit(1);
  uint64_t off = 0, n = 0;
  auto end = Clock::now() + std::chrono::duration<double>(a.seconds);
  while (Clock::now() < end) {
    for (int k = 0; k < 32; ++k) {
      if (!m->Append(off, d.data(), d.size()).ok()) _exit(1);
      off += a.size;
      ++n;
    }
    if (off % (1 << 20) < 32 * a.size) bench::OkOrExit(m->Trim(off), "trim");
  }
  double rate = double(n) / a.seconds;
  if (write(ready_fd, &rate, sizeof rate) != sizeof rate) _exit(1);
  _exit(0);
}

void PartB(const Args& a) {
  Logd logd(a);
  std::printf("## B. Independent writers on one rvm-logd (%zu B synchronous appends, %.1f s)\n\n",
              a.size, a.seconds);
  std::printf(
      "| writers | appends/s per writer (mean) | min | ratio to a lone writer (mean / min) | total/s "
      "| CPU us per append: writer / server | CPUs busy |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  double lone = 0;
  for (int n : a.writers) {
    int ready[2], start[2];
    if (pipe(ready) != 0 || pipe(start) != 0) std::exit(1);
    std::vector<pid_t> kids;
    for (int i = 0; i < n; ++i) {
      pid_t p = fork();
      if (p == 0) {
        close(ready[0]);
        close(start[1]);
        Writer(a, logd.uri(), n * 100 + i, ready[1], start[0]);
      }
      kids.push_back(p);
    }
    close(ready[1]);
    close(start[0]);
    for (int i = 0; i < n; ++i) {
      char c;
      if (read(ready[0], &c, 1) != 1) std::exit(1);
    }
    const double server_cpu0 = ProcCpuSeconds(logd.pid());
    const auto t0 = Clock::now();
    std::string go(size_t(n), 'g');
    if (write(start[1], go.data(), go.size()) != ssize_t(go.size())) std::exit(1);
    std::vector<double> rates;
    for (int i = 0; i < n; ++i) {
      double r;
      if (read(ready[0], &r, sizeof r) != sizeof r) std::exit(1);
      rates.push_back(r);
    }
    double writer_cpu = 0;
    for (pid_t p : kids) {
      rusage ru{};
      wait4(p, nullptr, 0, &ru);
      writer_cpu += RusageSeconds(ru);
    }
    const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    const double server_cpu = ProcCpuSeconds(logd.pid()) - server_cpu0;
    close(ready[0]);
    close(start[1]);
    double sum = 0, mn = rates[0];
    for (double r : rates) {
      sum += r;
      mn = std::min(mn, r);
    }
    double mean = sum / double(n);
    if (lone == 0) lone = mean;
    const double appends = sum * a.seconds;
    std::printf("| %d | %.0f | %.0f | %.2f / %.2f | %.0f | %.1f / %.1f | %.2f |\n", n, mean, mn,
                mean / lone, mn / lone, sum, writer_cpu * 1e6 / appends, server_cpu * 1e6 / appends,
                (writer_cpu + server_cpu) / wall);
    std::fflush(stdout);
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", k.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--logd") a.logd = val();
    else if (k == "--writers") a.writers = ParseList(val());
    else if (k == "--seconds") a.seconds = std::atof(val().c_str());
    else if (k == "--stalled") a.stalled = std::atoi(val().c_str());
    else if (k == "--size") a.size = size_t(std::atol(val().c_str()));
    else if (k == "--appends") a.appends = std::atoi(val().c_str());
    else if (k == "--threads") a.threads = std::atoi(val().c_str());
    else if (k == "--legacy") a.legacy = true;
    else if (k == "--event-loops-only") a.event_loops_only = true;
    else if (k == "--help" || k == "-h") {
      std::printf(
          "usage: rvm-logd-load-bench --logd PATH [--writers 1,4,8,12] [--seconds S]\n"
          "       [--stalled N] [--size BYTES] [--appends N] [--threads N] [--legacy]\n"
          "       [--event-loops-only]\n"
          "Runs PATH (an rvm-logd) and measures (A) a writer's append round trip and the\n"
          "server's RSS and threads with N stalled connections, (B) per-writer appends/s of\n"
          "independent writer processes. --legacy: an rvm-logd without --auth-timeout,\n"
          "--max-connections and --threads. --event-loops-only: pass it to rvm-logd.\n"
          "--stalled 0 or --writers '' skips a part.\n");
      return 0;
    } else {
      std::fprintf(stderr, "unknown argument %s (see --help)\n", k.c_str());
      return 2;
    }
  }
  if (a.logd.empty()) {
    std::fprintf(stderr, "--logd PATH is required (see --help)\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  std::printf("rvm-logd: %s%s%s, %u CPUs\n\n", a.logd.c_str(),
              a.legacy ? " (legacy options)" : "",
              a.event_loops_only ? " --event-loops-only" : "", std::thread::hardware_concurrency());
  if (a.stalled > 0) PartA(a);
  if (!a.writers.empty()) PartB(a);
  return 0;
}
