// Many threads running transactions at once (run under ThreadSanitizer in CI).
#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "rvm_test_util.h"

using namespace rvmtest;

TEST_CASE("threads commit concurrently through a small log and everything recovers") {
  TempDir dir;
  std::string log = dir.File("log"), seg = dir.File("seg");
  constexpr int kThreads = 4, kIters = 300, kSlot = 4096;
  MakeFile(seg, kThreads * kSlot, 0);
  REQUIRE(RunInChild([&] {
            InitWithNewLog(log, 64 * 1024, 40);
            rvm_region_t* r = MapAll(seg);
            std::atomic<int> failures{0};
            std::vector<std::thread> ts;
            for (int t = 0; t < kThreads; t++) {
              ts.emplace_back([&, t] {
                char* mine = r->vmaddr + t * kSlot;
                rvm_tid_t tid;
                rvm_init_tid(&tid);
                for (int i = 1; i <= kIters; i++) {
                  if (rvm_begin_transaction(&tid, restore) != RVM_SUCCESS) failures++;
                  int len = 16 + (i * 37) % 1000;
                  if (rvm_set_range(&tid, mine, len) != RVM_SUCCESS) failures++;
                  std::memset(mine, i & 0x7f, len);
                  std::memcpy(mine + 2000, &i, sizeof(i));
                  if (rvm_set_range(&tid, mine + 2000, sizeof(i)) != RVM_SUCCESS) failures++;
                  if (i % 7 == 0) {
                    if (rvm_abort_transaction(&tid) != RVM_SUCCESS) failures++;
                    continue;
                  }
                  rvm_mode_t m = (i % 4 == 0 || i == kIters) ? flush : no_flush;
                  if (rvm_end_transaction(&tid, m) != RVM_SUCCESS) failures++;
                  if (i % 50 == 0 && rvm_flush() != RVM_SUCCESS) failures++;
                }
              });
            }
            // Meanwhile: statistics, queries and explicit truncations.
            for (int k = 0; k < 20; k++) {
              rvm_statistics_t st;
              rvm_init_statistics(&st);
              if (RVM_STATISTICS(&st) != RVM_SUCCESS) failures++;
              rvm_options_t q;
              rvm_init_options(&q);
              if (rvm_query(&q, nullptr) != RVM_SUCCESS) failures++;
              std::free(q.tid_array);
              if (k % 5 == 0 && rvm_truncate() != RVM_SUCCESS) failures++;
              std::this_thread::yield();
            }
            for (auto& th : ts) th.join();
            CHILD_REQUIRE(failures.load() == 0);
            _exit(0);  // crash without terminate
          }) == 0);
  REQUIRE(RunInChild([&] {
            InitWithLog(log);
            rvm_region_t* r = MapAll(seg);
            for (int t = 0; t < kThreads; t++) {
              int v;
              std::memcpy(&v, r->vmaddr + t * kSlot + 2000, sizeof(v));
              // The last transaction (kIters, not a multiple of 7) was a flush commit.
              CHILD_REQUIRE(v == kIters);
              int len = 16 + (kIters * 37) % 1000;
              for (int b = 0; b < len; b++)
                CHILD_REQUIRE(r->vmaddr[t * kSlot + b] == static_cast<char>(kIters & 0x7f));
            }
            CHILD_RC(rvm_terminate(), RVM_SUCCESS);
          }) == 0);
}
