// librvm in remote mode (RVM_MIRRORS), end to end through the public API:
// commits from several threads, a local crash that loses the disk copy of the
// log, recovery of every acknowledged commit from the mirror at
// rvm_initialize, and the classic path when nothing is configured.
// Each RVM instance runs in a forked child (RVM cannot be re-initialized).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "remote_log/server.h"
#include "rvm/rvm.h"
#include "rvm/rvm_statistics.h"
#include "shim/log_status.h"

namespace {

constexpr size_t kSegLen = 1 << 20;
constexpr int kThreads = 4;
constexpr int kPerThread = 150;

struct Dir {
  std::string path;
  Dir() {
    char d[] = "/tmp/rvmremoteXXXXXX";
    REQUIRE(mkdtemp(d) != nullptr);
    path = d;
  }
  ~Dir() { REQUIRE(std::system(("rm -rf '" + path + "'").c_str()) == 0); }
};

// Runs fn in a child process; returns its exit status (or 128+signal).
int InChild(const std::function<int()>& fn) {
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) _exit(fn());
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

// Child side: initialise RVM on dir/log (created if missing) and map dir/data.
// By default the log is large and never truncated (recovery must replay it
// all); a small log with a truncation threshold wraps and truncates often.
char* StartRvm(const std::string& dir, uint64_t log_len = 8u << 20, long truncate_pct = 0) {
  std::string log = dir + "/log", data = dir + "/data";
  rvm_options_t* o = rvm_malloc_options();
  o->log_dev = strdup(log.c_str());
  o->create_log_file = access(log.c_str(), F_OK) == 0 ? rvm_false : rvm_true;
  o->create_log_size = RVM_MK_OFFSET(0, log_len);
  o->truncate = truncate_pct;
  if (RVM_INIT(o) != RVM_SUCCESS) _exit(10);
  if (access(data.c_str(), F_OK) != 0) {
    int fd = open(data.c_str(), O_RDWR | O_CREAT, 0600);
    if (fd < 0 || ftruncate(fd, kSegLen) != 0) _exit(11);
    close(fd);
  }
  rvm_region_t* r = rvm_malloc_region();
  r->data_dev = strdup(data.c_str());
  r->length = kSegLen;
  if (rvm_map(r, nullptr) != RVM_SUCCESS) _exit(12);
  return r->vmaddr;
}

// Child: kThreads threads commit per_thread flush transactions each, slot
// t*per_thread+i gets value i+1; reports via exit status; never terminates
// RVM (a crash right after the last acknowledged commit).
int CommitAndCrash(const std::string& dir, const std::string& stats_file,
                   int per_thread = kPerThread, uint64_t log_len = 8u << 20,
                   long truncate_pct = 0) {
  char* seg = StartRvm(dir, log_len, truncate_pct);
  std::vector<std::thread> ts;
  std::atomic<int> bad{0};
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      rvm_tid_t* tid = rvm_malloc_tid();
      for (int i = 0; i < per_thread; ++i) {
        long* slot = reinterpret_cast<long*>(seg) + t * per_thread + i;
        if (rvm_begin_transaction(tid, restore) != RVM_SUCCESS) bad++;
        if (rvm_set_range(tid, slot, sizeof(long)) != RVM_SUCCESS) bad++;
        *slot = i + 1;
        if (rvm_end_transaction(tid, flush) != RVM_SUCCESS) bad++;
      }
    });
  for (auto& t : ts) t.join();
  rvm_statistics_t* st = rvm_malloc_statistics();
  if (RVM_STATISTICS(st) != RVM_SUCCESS) return 20;
  std::ofstream(stats_file) << st->tot_flush_commit << " " << st->tot_flush << "\n";
  if (bad) return 21;
  _exit(0);  // no rvm_terminate: the process dies with the disk writer's work pending
}

// Child: recovers and checks every slot.
int Verify(const std::string& dir, int per_thread = kPerThread, uint64_t log_len = 8u << 20) {
  char* seg = StartRvm(dir, log_len);
  const long* v = reinterpret_cast<const long*>(seg);
  for (int t = 0; t < kThreads; ++t)
    for (int i = 0; i < per_thread; ++i)
      if (v[t * per_thread + i] != i + 1) return 30;
  return rvm_terminate() == RVM_SUCCESS ? 0 : 31;
}

// The local machine crashed and its disk kept nothing of the log's records.
void LoseDiskLog(const std::string& dir) {
  std::string log = dir + "/log";
  int fd = open(log.c_str(), O_RDWR);
  REQUIRE(fd >= 0);
  rvmr::log::LogStatus st;
  REQUIRE(rvmr::log::ReadLogStatus(fd, &st).ok());
  std::string zeros(st.area_size, '\0');
  REQUIRE(pwrite(fd, zeros.data(), zeros.size(), static_cast<off_t>(st.area_start)) ==
          static_cast<ssize_t>(zeros.size()));
  REQUIRE(fsync(fd) == 0);
  close(fd);
  // With truncate = 0 the data segment is untouched by commits, so it is
  // still zero; otherwise it holds what truncations applied before the head.
}

}  // namespace

// A log server in its own process, so that it can be SIGKILLed.
struct MirrorProcess {
  pid_t pid = -1;
  uint16_t port = 0;
  MirrorProcess() {
    int p[2];
    REQUIRE(pipe(p) == 0);
    std::fflush(nullptr);
    pid = fork();
    if (pid == 0) {
      rvmr::remote_log::ServerOptions o;
      o.listen = "127.0.0.1:0";
      rvmr::remote_log::Server srv(o);
      if (!srv.Start().ok()) _exit(1);
      uint16_t port = srv.port();
      if (write(p[1], &port, sizeof port) != sizeof port) _exit(1);
      for (;;) pause();
    }
    close(p[1]);
    REQUIRE(read(p[0], &port, sizeof port) == sizeof port);
    close(p[0]);
  }
  void Kill() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      pid = -1;
    }
  }
  ~MirrorProcess() { Kill(); }
  std::string uri() const { return "tcp://127.0.0.1:" + std::to_string(port); }
};

TEST_CASE("rvm remote mode: a local crash that loses the disk log loses no commit") {
  Dir dir;
  // Servers in their own processes: forking RVM children from a process
  // that runs server threads is not safe (allocator locks, sanitizers).
  MirrorProcess m1, m2;
  std::string conf = dir.path + "/shim.conf";
  std::ofstream(conf) << "trim_interval_bytes = 1G\n";  // the mirrors keep everything
  setenv("RVM_SHIM_CONFIG", conf.c_str(), 1);
  setenv("RVM_MIRRORS", (m1.uri() + "," + m2.uri()).c_str(), 1);
  std::string stats = dir.path + "/stats";
  REQUIRE(InChild([&] { return CommitAndCrash(dir.path, stats); }) == 0);
  unsigned long commits = 0, flushes = 0;
  std::ifstream(stats) >> commits >> flushes;
  CHECK(commits == kThreads * kPerThread);
  // Group commit: concurrent flush commits shared log writes.
  CHECK(flushes < commits);

  LoseDiskLog(dir.path);
  // Without the mirrors the commits would be gone: prove the test can fail.
  {
    unsetenv("RVM_MIRRORS");
    std::string copy = dir.path + "/copy";
    REQUIRE(mkdir(copy.c_str(), 0700) == 0);
    REQUIRE(std::system(
                ("cp '" + dir.path + "/log' '" + dir.path + "/data' '" + copy + "/'").c_str()) ==
            0);
    CHECK(InChild([&] { return Verify(copy); }) == 30);
  }
  setenv("RVM_MIRRORS", (m1.uri() + "," + m2.uri()).c_str(), 1);
  CHECK(InChild([&] { return Verify(dir.path); }) == 0);
  unsetenv("RVM_MIRRORS");
  unsetenv("RVM_SHIM_CONFIG");
}

TEST_CASE("rvm remote mode: with one mirror killed commits go on and nothing is lost") {
  Dir dir;
  MirrorProcess m1, m2;
  setenv("RVM_MIRRORS", (m1.uri() + "," + m2.uri()).c_str(), 1);
  std::string conf = dir.path + "/shim.conf";
  std::ofstream(conf)
      << "io_timeout_ms = 500\ntrim_interval_bytes = 1G\nreconnect_interval_ms = 50\n";
  setenv("RVM_SHIM_CONFIG", conf.c_str(), 1);
  int to_parent[2], to_child[2];
  REQUIRE(pipe(to_parent) == 0);
  REQUIRE(pipe(to_child) == 0);
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    char* seg = StartRvm(dir.path);
    rvm_tid_t* tid = rvm_malloc_tid();
    long* v = reinterpret_cast<long*>(seg);
    char c = 0;
    for (int i = 0; i < 100; ++i) {
      if (i == 50) {  // let the parent kill a mirror, then go on
        if (write(to_parent[1], &c, 1) != 1 || read(to_child[0], &c, 1) != 1) _exit(42);
      }
      rvm_begin_transaction(tid, restore);
      rvm_set_range(tid, &v[i], sizeof(long));
      v[i] = i + 1;
      if (rvm_end_transaction(tid, flush) != RVM_SUCCESS) _exit(40);
    }
    _exit(0);  // crash: no rvm_terminate
  }
  char c = 0;
  REQUIRE(read(to_parent[0], &c, 1) == 1);
  m2.Kill();
  REQUIRE(write(to_child[1], &c, 1) == 1);
  int st = 0;
  waitpid(pid, &st, 0);
  REQUIRE(WIFEXITED(st));
  REQUIRE(WEXITSTATUS(st) == 0);
  // The disk copy is complete here (degraded commits waited for it), but the
  // surviving mirror must hold every commit too: degraded commits still go to
  // the mirrors that answer. Lose the disk log and recover from m1 alone.
  LoseDiskLog(dir.path);
  setenv("RVM_MIRRORS", m1.uri().c_str(), 1);
  CHECK(InChild([&] {
          char* seg = StartRvm(dir.path);
          const long* v = reinterpret_cast<const long*>(seg);
          for (int i = 0; i < 100; ++i)
            if (v[i] != i + 1) return 41;
          return 0;
        }) == 0);
  unsetenv("RVM_MIRRORS");
  unsetenv("RVM_SHIM_CONFIG");
}

TEST_CASE("rvm remote mode: group commit across log wraps and truncations loses no commit") {
  // A small log that fills up many times while 4 threads commit in shared
  // batches, truncations (background and when the log is full) running
  // between them. Every acknowledged commit
  // must then come back from the mirrors alone, and recovery must find a
  // segment dictionary record for every transaction after the head.
  Dir dir;
  MirrorProcess m1, m2;
  std::string conf = dir.path + "/shim.conf";
  std::ofstream(conf) << "trim_interval_bytes = 1G\n";  // the mirrors keep everything
  setenv("RVM_SHIM_CONFIG", conf.c_str(), 1);
  setenv("RVM_MIRRORS", (m1.uri() + "," + m2.uri()).c_str(), 1);
  constexpr int kMany = 1500;
  constexpr uint64_t kSmallLog = 64u << 10;
  std::string stats = dir.path + "/stats";
  REQUIRE(InChild([&] { return CommitAndCrash(dir.path, stats, kMany, kSmallLog, 25); }) == 0);
  unsigned long commits = 0, flushes = 0;
  std::ifstream(stats) >> commits >> flushes;
  CHECK(commits == kThreads * kMany);
  LoseDiskLog(dir.path);
  CHECK(InChild([&] { return Verify(dir.path, kMany, kSmallLog); }) == 0);
  unsetenv("RVM_MIRRORS");
  unsetenv("RVM_SHIM_CONFIG");
}
