// librds under concurrency: several threads allocating and freeing at once,
// each in transactions of the library's own (NULL tid, deferred frees), the heap sound
// afterwards and after a reload.
#include <catch2/catch.hpp>

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "seg_rds_test_util.h"

using namespace segtest;

namespace {

constexpr uintptr_t kStart = 0x4c000000;  // low: sanitizers reserve higher ranges
constexpr unsigned long kHeapLen = 256 * 4096;
constexpr unsigned long kStaticLen = 4096;

}  // namespace

TEST_CASE("threads allocate and free concurrently", "[rds][threads]") {
  ScratchDir dir;
  const std::string log = dir.file("log"), data = dir.file("data");
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  ZeroFile(data, page + kHeapLen + kStaticLen);
  REQUIRE(ExitedOk(RunChild([&] {
    InitRvm(log);
    int err = -100;
    rds_zap_heap(const_cast<char*>(data.c_str()), RVM_MK_OFFSET(0, 0),
                 reinterpret_cast<char*>(kStart), kStaticLen, kHeapLen, 30, 64, &err);
    CHILD_EXPECT(err == SUCCESS);
    char* statics = nullptr;
    rds_load_heap(const_cast<char*>(data.c_str()), RVM_MK_OFFSET(0, 0), &statics, &err);
    CHILD_EXPECT(err == SUCCESS);

    std::atomic<int> failures{0};
    auto worker = [&](int id) {
      std::mt19937 rng(static_cast<unsigned>(id));
      std::vector<char*> mine;
      for (int i = 0; i < 400; ++i) {
        int e = 0;
        if (mine.size() > 20 || (!mine.empty() && rng() % 3 == 0)) {
          size_t k = rng() % mine.size();
          if (rng() % 2 == 0) {
            rds_free(mine[k], nullptr, &e);
          } else {
            // Deferred free (rds_do_free runs its own transaction under the
            // heap lock). Caller tids are not used here: their commit copies
            // heap words outside the heap lock, which races with other
            // threads by design (docs/rds-heap.md).
            intentionList_t list{0, 0, nullptr};
            e = rds_fake_free(mine[k], &list);
            if (e == SUCCESS) e = rds_do_free(&list, no_flush);
          }
          if (e != SUCCESS) failures++;
          mine.erase(mine.begin() + static_cast<long>(k));
        } else {
          char* p = rds_malloc(1 + rng() % 3000, nullptr, &e);
          if (p == nullptr) {
            if (e != ENO_ROOM) failures++;
            continue;
          }
          mine.push_back(p);
        }
      }
      for (char* p : mine) {
        int e = 0;
        rds_free(p, nullptr, &e);
        if (e != SUCCESS) failures++;
      }
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) threads.emplace_back(worker, t);
    for (auto& th : threads) th.join();
    CHILD_EXPECT(failures.load() == 0);
    HeapWalk w = WalkHeap(reinterpret_cast<char*>(kStart));
    if (!w.ok) fprintf(stderr, "heap walk: %s\n", w.problem.c_str());
    CHILD_EXPECT(w.ok && w.alloc_blocks == 0);
    CHILD_EXPECT(rds_unload_heap(&err) == 0);
    rvm_terminate();
  })));
  // The committed result loads back sound.
  REQUIRE(ExitedOk(RunChild([&] {
    InitRvm(log);
    char* statics = nullptr;
    int err = -100;
    rds_load_heap(const_cast<char*>(data.c_str()), RVM_MK_OFFSET(0, 0), &statics, &err);
    CHILD_EXPECT(err == SUCCESS);
    HeapWalk w = WalkHeap(reinterpret_cast<char*>(kStart));
    CHILD_EXPECT(w.ok && w.alloc_blocks == 0);
    rds_stats_t s;
    rds_get_stats(&s);
    CHILD_EXPECT(s.malloc == s.free);
    rvm_terminate();
  })));
}
