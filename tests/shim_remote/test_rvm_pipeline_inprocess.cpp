// The pipelined commit path in one process, so that ThreadSanitizer sees all
// of it (label concurrent): librvm in remote mode over TCP to a log server in
// this process, 8 committing threads, a log small enough to wrap and be
// truncated many times, pipeline_depth 2. Then the group-commit accounting
// through rvm_commit_statistics, and every committed value in the segment
// file after a final truncation. No fork: RVM is initialised once per
// process, and CTest runs each test case in a process of its own.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "remote_log/server.h"
#include "rvm/rvm.h"
#include "rvm/rvm_commit_stats.h"
#include "rvm/rvm_remote_stats.h"
#include "rvm/rvm_statistics.h"

namespace {

constexpr int kThreads = 8;
constexpr int kPerThread = 150;
constexpr size_t kSlot = 512;  // each thread's part of the segment
constexpr size_t kSegLen = 64 * 1024;

struct TempDir {
  std::string path;
  TempDir() {
    char t[] = "/tmp/rvm-pipeline-XXXXXX";
    REQUIRE(mkdtemp(t) != nullptr);
    path = t;
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

}  // namespace

TEST_CASE("pipelined remote commits from 8 threads with log wraps and truncations, in process") {
  TempDir dir;
  rvmr::remote_log::ServerOptions so;
  so.listen = "127.0.0.1:0";
  rvmr::remote_log::Server srv(so);
  REQUIRE(srv.Start().ok());
  const std::string conf = dir.path + "/shim.conf";
  {
    std::ofstream c(conf);
    c << "mirrors = tcp://127.0.0.1:" << srv.port() << "\n"
      << "pipeline_depth = 2\n"
      << "failure_policy = strict\n"
      << "io_timeout_ms = 30000\n"
      << "trim_interval_bytes = 4096\n";
  }
  unsetenv("RVM_MIRRORS");
  setenv("RVM_SHIM_CONFIG", conf.c_str(), 1);

  const std::string log = dir.path + "/log", data = dir.path + "/data";
  rvm_options_t* o = rvm_malloc_options();
  std::string log_dev = log;  // outlives RVM_INIT (the free calls leave names alone)
  o->log_dev = log_dev.data();
  o->create_log_file = rvm_true;
  o->create_log_size = RVM_MK_OFFSET(0, 64 * 1024);  // wraps many times
  o->truncate = 30;
  REQUIRE(RVM_INIT(o) == RVM_SUCCESS);
  rvm_free_options(o);
  {
    int fd = open(data.c_str(), O_RDWR | O_CREAT, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(ftruncate(fd, kSegLen) == 0);
    close(fd);
  }
  rvm_region_t* r = rvm_malloc_region();
  std::string data_dev = data;
  r->data_dev = data_dev.data();
  r->length = kSegLen;
  REQUIRE(rvm_map(r, nullptr) == RVM_SUCCESS);
  char* base = r->vmaddr;
  rvm_free_region(r);

  std::atomic<int> failures{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; t++)
    ts.emplace_back([&, t] {
      char* mine = base + t * kSlot;
      rvm_tid_t tid;
      rvm_init_tid(&tid);
      for (int i = 1; i <= kPerThread; i++) {
        if (rvm_begin_transaction(&tid, restore) != RVM_SUCCESS) failures++;
        const size_t len = 64 + (i * 37) % 400;
        if (rvm_set_range(&tid, mine, len) != RVM_SUCCESS) failures++;
        std::memset(mine, (t * 31 + i) & 0xff, len);
        if (rvm_end_transaction(&tid, flush) != RVM_SUCCESS) failures++;
      }
    });
  for (auto& th : ts) th.join();
  REQUIRE(failures.load() == 0);

  rvm_commit_stats_t cs;
  REQUIRE(rvm_commit_statistics(&cs) == RVM_SUCCESS);
  rvm_statistics_t st;
  rvm_init_statistics(&st);
  REQUIRE(RVM_STATISTICS(&st) == RVM_SUCCESS);
  // Every flush commit went out in some log write; group commit can only
  // put several in one, never split one over writes that count twice.
  CHECK(cs.transactions == static_cast<unsigned long>(kThreads * kPerThread));
  CHECK(cs.log_writes >= 1);
  CHECK(cs.log_writes <= cs.transactions);
  CHECK(cs.max_in_flight >= 1);
  CHECK(cs.max_in_flight <= 2);  // pipeline_depth
  CHECK(cs.in_flight == 0);
  CHECK(st.n_flush == cs.log_writes);
  CHECK(st.n_wrap > 0);
  CHECK(st.tot_async_truncation + st.tot_sync_truncation > 0);
  // The shim's counters, as numbers (rvm_remote_statistics) and as text.
  rvm_remote_stats_t rs;
  REQUIRE(rvm_remote_statistics(&rs) == RVM_SUCCESS);
  CHECK(rs.remote_mode == 1);
  CHECK(rs.degraded == 0);
  CHECK(rs.appends == cs.log_writes);
  CHECK(rs.remote_acks == rs.appends);  // strict policy: every write acknowledged
  CHECK(rs.fallback_commits == 0);
  CHECK(rs.bytes > 0);
  CHECK(rs.tail >= rs.disk_durable);
  CHECK(rs.trims > 0);  // trim_interval_bytes 4096 over many wraps
  CHECK(rs.max_in_flight >= 1);
  CHECK(rs.max_in_flight <= 2);
  CHECK(rvm_remote_statistics(nullptr) == RVM_ESTATISTICS);
  {
    char* text = nullptr;
    size_t text_len = 0;
    FILE* mf = open_memstream(&text, &text_len);
    REQUIRE(mf != nullptr);
    REQUIRE(rvm_print_statistics(&st, mf) == RVM_SUCCESS);
    std::fclose(mf);
    const std::string printed(text, text_len);
    std::free(text);
    CHECK(printed.find("log writes acknowledged by the mirrors   " +
                       std::to_string(rs.remote_acks) + " of " + std::to_string(rs.appends)) !=
          std::string::npos);
  }

  // Everything committed reaches the segment file.
  REQUIRE(rvm_truncate() == RVM_SUCCESS);
  std::vector<char> want(base, base + kThreads * kSlot);
  REQUIRE(rvm_terminate() == RVM_SUCCESS);
  std::vector<char> got(want.size());
  int fd = open(data.c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  REQUIRE(pread(fd, got.data(), got.size(), 0) == static_cast<ssize_t>(got.size()));
  close(fd);
  CHECK(got == want);
  unsetenv("RVM_SHIM_CONFIG");
  srv.Stop();
}
