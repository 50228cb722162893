// remote_log_bench: side-by-side figures, all on loopback in one run.
//  1. Append round-trip latency (p50/p99/p99.9) for 64 B..64 KiB through
//     MirrorSet -> TCP -> in-process Server, against a bare TCP ping-pong of
//     the same shape (N bytes one way, a 48-byte reply the other, the size of
//     an APPEND ack) with blocking send/recv, interleaved in rounds so that
//     both see the same machine load.
//  2. Pipelined append throughput with 1 and 2 mirrors.
// Placement: with two or more CPUs the client threads run on CPU 0 and every
// server-side thread (the Servers' sessions and the ping-pong server) on
// CPU 1, as if on two machines, for both the append and the ping-pong: left
// to the scheduler, each new connection's threads land differently (same CPU:
// a cheap switch; two CPUs: a cross-CPU wakeup, which costs tens of
// microseconds on an idle VM), and that, not the code under test, decided
// whole rows. The fourth argument "onecpu" puts every thread on CPU 0 (each
// hand-off is then a switch on one CPU: what the code costs, without
// wakeup latency), "nopin" leaves placement to the scheduler. The throughput
// part always runs with placement left to the scheduler.
// Usage: remote_log_bench [iterations-per-size] [throughput-seconds] [smallest-size]
//                         [split|onecpu|nopin]
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "common/crc32c.h"
#include "connect_or_exit.h"
#include "remote_log/client.h"
#include "remote_log/server.h"

using namespace rvmr;
using namespace rvmr::remote_log;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kAckSize = 48;

bool ReadN(int fd, void* p, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = recv(fd, static_cast<char*>(p) + done, n - done, 0);
    if (r <= 0) return false;
    done += size_t(r);
  }
  return true;
}
bool WriteN(int fd, const void* p, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t w = send(fd, static_cast<const char*>(p) + done, n - done, MSG_NOSIGNAL);
    if (w <= 0) return false;
    done += size_t(w);
  }
  return true;
}

bool g_pin = false;
int g_server_cpu = 1;

// Binds the calling thread to one CPU (no-op unless placement is pinned).
void PinTo(int cpu) {
  if (!g_pin) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}
void PinToClientCpu() {
  PinTo(0);
}
void PinToServerCpu() {
  PinTo(g_server_cpu);
}

// Lets every thread of the process run on every CPU again.
void UnpinAllThreads() {
  if (!g_pin) return;
  cpu_set_t all;
  CPU_ZERO(&all);
  for (int c = 0; c < CPU_SETSIZE; ++c) CPU_SET(c, &all);
  DIR* d = opendir("/proc/self/task");
  if (d == nullptr) return;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    sched_setaffinity(pid_t(std::atoi(e->d_name)), sizeof all, &all);
  }
  closedir(d);
}

// Bare ping-pong server: reads a u32 size, then that many bytes, answers with
// kAckSize bytes.
class PingPong {
 public:
  PingPong() {
    lfd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(lfd_, 1);
    socklen_t len = sizeof a;
    getsockname(lfd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    th_ = std::thread([this] { Serve(); });
    cfd_ = socket(AF_INET, SOCK_STREAM, 0);
    connect(cfd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    int one = 1;
    setsockopt(cfd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~PingPong() {
    shutdown(cfd_, SHUT_RDWR);
    close(cfd_);
    th_.join();
    close(lfd_);
  }
  // One round trip of n bytes; the first 4 bytes carry n.
  bool RoundTrip(uint8_t* buf, size_t n) {
    uint32_t len = uint32_t(n);
    std::memcpy(buf, &len, 4);
    uint8_t ack[kAckSize];
    return WriteN(cfd_, buf, n) && ReadN(cfd_, ack, sizeof ack);
  }

 private:
  void Serve() {
    PinToServerCpu();
    int fd = accept(lfd_, nullptr, nullptr);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::vector<uint8_t> buf(1 << 20);
    uint8_t ack[kAckSize] = {};
    for (;;) {
      uint32_t n;
      if (!ReadN(fd, &n, 4) || n < 4 || n > buf.size()) break;
      if (!ReadN(fd, buf.data(), n - 4)) break;
      if (!WriteN(fd, ack, sizeof ack)) break;
    }
    close(fd);
  }
  int lfd_, cfd_;
  uint16_t port_;
  std::thread th_;
};

double Pct(std::vector<double>& v, double p) {
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, size_t(p * double(v.size())));
  return v[i];
}

double Us(Clock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

std::unique_ptr<MirrorSet> Connect(const std::vector<std::string>& uris, bool busy) {
  return bench::ConnectOrExit(uris, busy);
}

bool HaveCpus0And1() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return false;
  return CPU_ISSET(0, &set) && CPU_ISSET(1, &set);
}

// The first three fields of /proc/loadavg.
std::string LoadAverage() {
  char buf[128] = {};
  FILE* f = std::fopen("/proc/loadavg", "r");
  if (f == nullptr) return "?";
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  std::string s(buf, n);
  size_t cut = 0;
  for (int i = 0; i < 3 && cut != std::string::npos; ++i) cut = s.find(' ', cut + 1);
  return cut == std::string::npos ? s : s.substr(0, cut);
}

}  // namespace

int main(int argc, char** argv) {
  int iters = argc > 1 ? std::atoi(argv[1]) : 5000;
  double tput_secs = argc > 2 ? std::atof(argv[2]) : 2.0;
  size_t min_size = argc > 3 ? size_t(std::atol(argv[3])) : 0;
  const std::string placement = argc > 4 ? argv[4] : "split";
  if (placement != "split" && placement != "onecpu" && placement != "nopin") {
    std::fprintf(stderr, "placement must be split, onecpu or nopin\n");
    return 2;
  }
  g_pin = placement != "nopin" && HaveCpus0And1();
  g_server_cpu = placement == "onecpu" ? 0 : 1;
  ServerOptions so;
  so.listen = "127.0.0.1:0";
  so.capacity = uint64_t(2) << 30;
  Server s1(so), s2(so);
  // Threads inherit the creator's CPU mask: the servers' acceptors, and so
  // their sessions, start from a thread bound to the server CPU.
  PinToServerCpu();
  if (!s1.Start().ok() || !s2.Start().ok()) return 1;
  PinToClientCpu();
  std::printf("placement: %s\n", !g_pin ? "left to the scheduler"
                                 : g_server_cpu == 0
                                     ? "every thread on CPU 0"
                                     : "client threads on CPU 0, server threads on CPU 1");
  std::string u1 = "tcp://127.0.0.1:" + std::to_string(s1.port());
  std::string u2 = "tcp://127.0.0.1:" + std::to_string(s2.port());

  std::vector<uint8_t> data(64 << 10);
  for (size_t i = 0; i < data.size(); ++i) data[i] = uint8_t(i * 7);
  {
    // CRC32C speed of each variant on 64 KiB, for reading the figures.
    std::printf("crc32c of 64 KiB:");
    const char* names[] = {"portable", "sse4.2 three-way", "avx512 fold"};
    for (crc32c::Impl impl : {crc32c::Impl::kPortable, crc32c::Impl::kSse42, crc32c::Impl::kFold}) {
      if (!crc32c::Supported(impl)) continue;
      uint32_t c = crc32c::ExtendWith(impl, 0, data.data(), data.size());  // warm up
      auto t0 = Clock::now();
      for (int i = 0; i < 500; ++i) c = crc32c::ExtendWith(impl, c, data.data(), data.size());
      double us = Us(Clock::now() - t0) / 500;
      std::printf(" %s%s %.2f us (%.1f GB/s);", names[int(impl)],
                  impl == crc32c::Selected() ? " [used]" : "", us, double(data.size()) / us / 1000);
    }
    std::printf("\n\n");
  }

  std::printf("load average at start: %s\n", LoadAverage().c_str());
  std::printf("## Append round trip vs bare TCP ping-pong (loopback, %d per size)\n\n", iters);
  std::printf(
      "| size | ping-pong p50 | p99 | p99.9 | append p50 | p99 | p99.9 | p50 ratio |"
      " append busy-poll p50 | ratio |\n|---|---|---|---|---|---|---|---|---|---|\n");
  const size_t sizes[] = {64, 256, 1024, 4096, 16384, 65536};
  uint64_t epoch = 1;
  for (size_t size : sizes) {
    if (min_size != 0 && size < min_size) continue;
    PingPong pp;
    auto m = Connect({u1}, false);
    auto mb = Connect({u1}, true);
    std::string name = "lat-" + std::to_string(size);
    if (!m->Open(name, epoch, true, 0, nullptr).ok()) return 1;
    std::vector<double> tp, ta, tb;
    uint64_t off = 0;
    // Short rounds, so that both see the same machine load.
    const int per = std::min(iters, 100);
    const int rounds = std::max(1, iters / per);
    for (int w = 0; w < 200; ++w) {
      pp.RoundTrip(data.data(), size);
      bench::OkOrExit(m->Append(off, data.data(), size), "append");
      off += size;
    }
    for (int r = 0; r < rounds; ++r) {
      for (int i = 0; i < per; ++i) {
        auto t0 = Clock::now();
        if (!pp.RoundTrip(data.data(), size)) return 1;
        tp.push_back(Us(Clock::now() - t0));
      }
      for (int i = 0; i < per; ++i) {
        auto t0 = Clock::now();
        Status st = m->Append(off, data.data(), size);
        ta.push_back(Us(Clock::now() - t0));
        if (!st.ok()) {
          std::fprintf(stderr, "append: %s\n", st.ToString().c_str());
          return 1;
        }
        off += size;
      }
      bench::OkOrExit(m->Trim(off), "trim");
      // Busy-poll client: same log, a newer epoch takes over for this block.
      ++epoch;
      if (!mb->Open(name, epoch, false, 0, nullptr).ok()) return 1;
      for (int i = 0; i < per; ++i) {
        auto t0 = Clock::now();
        Status st = mb->Append(off, data.data(), size);
        tb.push_back(Us(Clock::now() - t0));
        if (!st.ok()) return 1;
        off += size;
      }
      bench::OkOrExit(mb->Trim(off), "trim");
      ++epoch;
      if (!m->Open(name, epoch, false, 0, nullptr).ok()) return 1;
    }
    double p50 = Pct(tp, 0.5), a50 = Pct(ta, 0.5), b50 = Pct(tb, 0.5);
    std::printf("| %zu B | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.2f | %.1f | %.2f |\n", size,
                p50, Pct(tp, 0.99), Pct(tp, 0.999), a50, Pct(ta, 0.99), Pct(ta, 0.999), a50 / p50,
                b50, b50 / p50);
    std::fflush(stdout);
  }
  std::printf("\n(latencies in microseconds; load average at end: %s)\n\n", LoadAverage().c_str());

  // Throughput is not a side-by-side comparison: the scheduler may place
  // every thread where it likes.
  UnpinAllThreads();
  std::printf("## Pipelined append throughput (%.1f s each, placement left to the scheduler)\n\n",
              tput_secs);
  std::printf("| mirrors | record | appends/s | MB/s |\n|---|---|---|---|\n");
  for (size_t nm : {1, 2}) {
    for (size_t size : {size_t(64), size_t(4096), size_t(65536)}) {
      std::vector<std::string> uris = {u1};
      if (nm == 2) uris.push_back(u2);
      auto m = Connect(uris, false);
      std::string name = "tput-" + std::to_string(nm) + "-" + std::to_string(size);
      if (!m->Open(name, 1, true, 0, nullptr).ok()) return 1;
      uint64_t off = 0, n = 0;
      const uint64_t window = std::max<uint64_t>(64 * size, 1 << 20);
      auto t0 = Clock::now();
      auto end = t0 + std::chrono::duration<double>(tput_secs);
      uint64_t trimmed = 0;
      while (Clock::now() < end) {
        for (int k = 0; k < 64; ++k) {
          iovec iov{data.data(), size};
          if (!m->AppendAsync(off, &iov, 1).ok()) return 1;
          off += size;
          ++n;
          if (off > window && !m->WaitAcked(off - window).ok()) return 1;
        }
        if (off - trimmed > (256u << 20)) {
          if (!m->WaitAcked(off).ok() || !m->Trim(off).ok()) return 1;
          trimmed = off;
        }
      }
      if (!m->WaitAcked(off).ok()) return 1;
      double secs = std::chrono::duration<double>(Clock::now() - t0).count();
      std::printf("| %zu | %zu B | %.0f | %.1f |\n", nm, size, double(n) / secs,
                  double(off) / secs / 1e6);
      std::fflush(stdout);
      bench::OkOrExit(m->Trim(off), "trim");
    }
  }
  return 0;
}
