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

#include "mirror_process.h"
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

// The remote log counters as rvm_print_statistics shows them (the shim
// inside librvm is not reachable from the test binary directly).
struct ShimCounters {
  unsigned long acked = 0, sent = 0, fallback = 0, max_in_flight = 0;
  bool Read() {
    rvm_statistics_t* st = rvm_malloc_statistics();
    char* buf = nullptr;
    size_t len = 0;
    FILE* f = open_memstream(&buf, &len);
    bool ok = f != nullptr && RVM_STATISTICS(st) == RVM_SUCCESS &&
              rvm_print_statistics(st, f) == RVM_SUCCESS;
    if (f) std::fclose(f);
    rvm_free_statistics(st);
    unsigned long bytes = 0;
    const char* p = ok ? std::strstr(buf, "acknowledged by the mirrors") : nullptr;
    const char* q = ok ? std::strstr(buf, "waited for the disk") : nullptr;
    const char* r = ok ? std::strstr(buf, "in flight at once, max") : nullptr;
    ok = p && q && r &&
         std::sscanf(p, "acknowledged by the mirrors %lu of %lu (%lu", &acked, &sent, &bytes) == 3 &&
         std::sscanf(q, "waited for the disk %lu", &fallback) == 1 &&
         std::sscanf(r, "in flight at once, max %lu", &max_in_flight) == 1;
    std::free(buf);
    return ok;
  }
};

}  // namespace


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

TEST_CASE("rvm remote mode: a commit goes out while an earlier one's ack is outstanding") {
  // Pipelined group commit (pipeline_depth 2). The mirror is stopped, so
  // thread A's commit is sent and its ack does not come. Thread B's commit,
  // made after A's went out, must be sent too (not wait for A's round trip to
  // end before starting its own). Threads C and D, committing while two
  // batches are out, must queue and then share one batch. All four return
  // once the mirror runs again, and come back from the mirror alone.
  Dir dir;
  MirrorProcess m;
  std::string conf = dir.path + "/shim.conf";
  // The stopped mirror is not "failed"; the mirror keeps everything.
  std::ofstream(conf) << "io_timeout_ms = 30000\npipeline_depth = 2\ntrim_interval_bytes = 1G\n";
  setenv("RVM_SHIM_CONFIG", conf.c_str(), 1);
  setenv("RVM_MIRRORS", m.uri().c_str(), 1);
  const pid_t mirror = m.pid;
  int rc = InChild([&] {
    char* seg = StartRvm(dir.path);
    ShimCounters st;
    if (!st.Read()) return 40;
    const unsigned long base = st.sent, base_acks = st.acked;
    auto sent = [&](unsigned long n) {  // waits up to 5 s for n batches sent
      for (int i = 0; i < 500; ++i) {
        if (st.Read() && st.sent >= n) return true;
        usleep(10000);
      }
      return false;
    };
    std::atomic<int> bad{0}, ending{0};
    auto commit = [&](int slot) {
      rvm_tid_t* tid = rvm_malloc_tid();
      long* p = reinterpret_cast<long*>(seg) + slot;
      if (rvm_begin_transaction(tid, restore) != RVM_SUCCESS) bad++;
      if (rvm_set_range(tid, p, sizeof(long)) != RVM_SUCCESS) bad++;
      *p = slot + 100;
      ending++;
      if (rvm_end_transaction(tid, flush) != RVM_SUCCESS) bad++;
      rvm_free_tid(tid);
    };
    kill(mirror, SIGSTOP);
    if (!MirrorProcess::WaitStopped(mirror)) return 47;
    std::thread a(commit, 0);
    const bool a_sent = sent(base + 1);
    std::thread b(commit, 1);
    const bool b_sent = sent(base + 2);
    std::thread c(commit, 2), d(commit, 3);
    while (ending < 4) usleep(1000);
    usleep(200000);  // C and D are queued by now (microseconds after `ending`)
    const bool held = st.Read() && st.sent == base + 2;
    kill(mirror, SIGCONT);
    for (std::thread* t : {&a, &b, &c, &d}) t->join();
    if (!a_sent) return 41;
    if (!b_sent) return 42;  // B's batch waited for A's ack
    if (!held) return 43;    // more than pipeline_depth batches went out
    if (!st.Read() || st.max_in_flight != 2) return 44;
    if (st.sent != base + 3) return 45;  // C and D did not share a batch
    if (st.acked != base_acks + 3 || st.fallback != 0) return 46;
    return bad ? 48 : 0;  // no rvm_terminate: a crash right after the commits
  });
  CHECK(rc == 0);
  unsetenv("RVM_MIRRORS");
  unsetenv("RVM_SHIM_CONFIG");
  // The four commits are recovered from the mirror alone.
  LoseDiskLog(dir.path);
  setenv("RVM_MIRRORS", m.uri().c_str(), 1);
  CHECK(InChild([&] {
          const long* v = reinterpret_cast<const long*>(StartRvm(dir.path));
          for (int i = 0; i < 4; ++i)
            if (v[i] != 100 + i) return 50 + i;
          return 0;
        }) == 0);
  unsetenv("RVM_MIRRORS");
}
