// The libraries' threads never run the program's signal handlers. A program
// initialises RVM (its threads start: disk writer, truncation, mirror prober,
// and here an in-process log server's threads), then blocks every signal in
// its main thread as Coda's LWP does, keeps one thread of its own that takes
// them, and sends itself process-directed signals in a loop. A handler
// records the thread that ran it; every one must be the program's thread.
//
// RVM is initialised while the initialising thread has an empty mask, so a
// library thread that did not block signals itself would inherit an empty
// mask and take about half of them (the kernel gives a process-directed
// signal to any thread that does not block it).
#include <catch2/catch.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "../rvm_compat/rvm_test_util.h"
#include "remote_log/server.h"
#include "rvm/rvm.h"

namespace {

constexpr int kSignals = 400;
constexpr size_t kSegLen = 64 * 1024;

// Filled by the handler: which threads ran it.
sem_t g_ran;
std::atomic<pid_t> g_handler_tids[kSignals];
std::atomic<int> g_handled{0};

pid_t Gettid() {
  return static_cast<pid_t>(syscall(SYS_gettid));
}

void Handler(int) {
  int i = g_handled.fetch_add(1);
  if (i < kSignals) g_handler_tids[i].store(Gettid());
  sem_post(&g_ran);
}

// The process's threads: tid -> name.
std::map<pid_t, std::string> Threads() {
  std::map<pid_t, std::string> out;
  DIR* d = opendir("/proc/self/task");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream comm(std::string("/proc/self/task/") + e->d_name + "/comm");
    std::string name;
    std::getline(comm, name);
    out[std::atoi(e->d_name)] = name;
  }
  closedir(d);
  return out;
}

// True if thread `tid` blocks SIGUSR1 and SIGUSR2 (from /proc's SigBlk mask).
bool BlocksUsrSignals(pid_t tid) {
  std::ifstream st("/proc/self/task/" + std::to_string(tid) + "/status");
  std::string line;
  while (std::getline(st, line)) {
    if (line.rfind("SigBlk:", 0) != 0) continue;
    unsigned long long mask = std::strtoull(line.c_str() + 7, nullptr, 16);
    auto bit = [](int sig) { return 1ULL << (sig - 1); };
    return (mask & bit(SIGUSR1)) && (mask & bit(SIGUSR2));
  }
  return false;
}

// A mapped region to commit to.
char* MapSegment(const std::string& dir) {
  std::string data = dir + "/data";
  int fd = open(data.c_str(), O_RDWR | O_CREAT, 0600);
  CHILD_REQUIRE(fd >= 0 && ftruncate(fd, kSegLen) == 0);
  close(fd);
  rvm_region_t* r = rvm_malloc_region();
  r->data_dev = strdup(data.c_str());
  r->length = kSegLen;
  CHILD_REQUIRE(rvm_map(r, nullptr) == RVM_SUCCESS);
  return r->vmaddr;
}

void CommitOne(char* base, int i) {
  rvm_tid_t* t = rvm_malloc_tid();
  CHILD_REQUIRE(rvm_begin_transaction(t, restore) == RVM_SUCCESS);
  char* p = base + (i % 1024) * 8;
  CHILD_REQUIRE(rvm_set_range(t, p, 8) == RVM_SUCCESS);
  std::memcpy(p, &i, sizeof i);
  CHILD_REQUIRE(rvm_end_transaction(t, flush) == RVM_SUCCESS);
  rvm_free_tid(t);
}

// The child's scenario. `expect`: thread names that must be running.
void Scenario(const std::string& dir, const std::set<std::string>& expect) {
  CHILD_REQUIRE(sem_init(&g_ran, 0, 0) == 0);
  struct sigaction sa {};
  sa.sa_handler = Handler;
  sigemptyset(&sa.sa_mask);
  CHILD_REQUIRE(sigaction(SIGUSR1, &sa, nullptr) == 0 && sigaction(SIGUSR2, &sa, nullptr) == 0);

  // RVM starts with the program's (empty) mask in force.
  sigset_t none;
  sigemptyset(&none);
  CHILD_REQUIRE(pthread_sigmask(SIG_SETMASK, &none, nullptr) == 0);
  std::string log = dir + "/log";
  rvm_options_t* o = rvm_malloc_options();
  o->log_dev = strdup(log.c_str());
  o->create_log_file = rvm_true;
  o->create_log_size = RVM_MK_OFFSET(0, 1 << 20);
  o->truncate = 5;  // as Coda sets it: the truncation thread has work
  CHILD_REQUIRE(RVM_INIT(o) == RVM_SUCCESS);
  char* base = MapSegment(dir);
  for (int i = 0; i < 20; i++) CommitOne(base, i);

  // The program's own thread: takes the signals, and commits meanwhile
  // (so threads the libraries start on demand start from it).
  std::atomic<bool> stop{false};
  std::atomic<pid_t> taker{0};
  std::thread program([&] {
    taker = Gettid();
    for (int i = 20; !stop.load(); i++) CommitOne(base, i);
  });
  // Then the main thread blocks everything, as Coda's LWP does.
  sigset_t all;
  sigfillset(&all);
  CHILD_REQUIRE(pthread_sigmask(SIG_SETMASK, &all, nullptr) == 0);
  while (taker.load() == 0) std::this_thread::yield();

  auto threads = Threads();
  std::set<std::string> names;
  for (const auto& [tid, name] : threads) names.insert(name);
  for (const std::string& want : expect) {
    if (names.count(want) == 0) std::fprintf(stderr, "thread %s is not running\n", want.c_str());
    CHILD_REQUIRE(names.count(want) == 1);
  }
  // Every thread but the program's two blocks the signals.
  const pid_t self = Gettid();
  for (const auto& [tid, name] : threads) {
    if (tid == self || tid == taker.load()) continue;
    if (!BlocksUsrSignals(tid))
      std::fprintf(stderr, "library thread %d (%s) does not block signals\n", tid, name.c_str());
    CHILD_REQUIRE(BlocksUsrSignals(tid));
  }

  for (int i = 0; i < kSignals; i++) {
    CHILD_REQUIRE(kill(getpid(), i % 2 ? SIGUSR2 : SIGUSR1) == 0);
    while (sem_wait(&g_ran) != 0) CHILD_REQUIRE(errno == EINTR);
  }
  stop = true;
  program.join();
  CHILD_REQUIRE(g_handled.load() == kSignals);
  int wrong = 0;
  for (int i = 0; i < kSignals; i++) {
    pid_t t = g_handler_tids[i].load();
    if (t != taker.load()) {
      if (wrong++ == 0)
        std::fprintf(stderr, "signal %d ran on thread %d (%s)\n", i, t,
                     threads.count(t) ? threads[t].c_str() : "?");
    }
  }
  if (wrong) std::fprintf(stderr, "%d of %d signals ran on a library thread\n", wrong, kSignals);
  CHILD_REQUIRE(wrong == 0);
  CHILD_REQUIRE(rvm_terminate() == RVM_SUCCESS);
}

// A TCP port on loopback on which nothing listens (connections are refused)
// for as long as the socket lives.
struct DeadPort {
  int fd = -1;
  uint16_t port = 0;
  DeadPort() {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port = ntohs(a.sin_port);
  }
  ~DeadPort() { close(fd); }
};

}  // namespace

TEST_CASE("classic mode: no library thread runs the program's signal handlers") {
  rvmtest::TempDir dir;
  unsetenv("RVM_MIRRORS");
  unsetenv("RVM_SHIM_CONFIG");
  REQUIRE(rvmtest::RunInChild([&] { Scenario(dir.path(), {"rvm-truncate"}); }) == 0);
}

TEST_CASE("remote mode: no library thread runs the program's signal handlers") {
  rvmtest::TempDir dir;
  DeadPort dead;
  REQUIRE(rvmtest::RunInChild([&] {
            // An in-process log server (its threads are library threads too)
            // and a mirror that refuses connections: the shim runs degraded,
            // with its prober, disk writer and truncation threads.
            rvmr::remote_log::ServerOptions so;
            so.listen = "127.0.0.1:0";
            so.threads = 1;
            rvmr::remote_log::Server srv(so);
            CHILD_REQUIRE(srv.Start().ok());
            std::string mirrors = "tcp://127.0.0.1:" + std::to_string(srv.port()) +
                                  ",tcp://127.0.0.1:" + std::to_string(dead.port);
            setenv("RVM_MIRRORS", mirrors.c_str(), 1);
            unsetenv("RVM_SHIM_CONFIG");
            // (The server's threads for busy connections come and go:
            // checked whenever they are there.)
            Scenario(dir.path(), {"rvm-truncate", "rvm-diskwriter", "rvm-mirrorprobe",
                                  "rvm-logd-accept", "rvm-logd-w0"});
            srv.Stop();
          }) == 0);
}
