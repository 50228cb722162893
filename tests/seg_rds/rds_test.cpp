// librds: heap creation and loading, malloc/free and their error codes,
// transactions with abort, crash recovery, corruption detection, deferred
// frees, preallocation, coalescing.
#include <catch2/catch.hpp>

#include <vector>

#include "seg_rds_test_util.h"

using namespace segtest;
using rvmr::rds::BlockHeader;
using rvmr::rds::HeapHeader;

// Internals librds exports (used by norton and rds_test).
extern "C" void coalesce(rvm_tid_t* tid, int* err);
extern "C" int print_heap(void);

namespace {

constexpr uintptr_t kStart = 0x48000000;  // low: sanitizers reserve higher ranges
const size_t kPage = static_cast<size_t>(sysconf(_SC_PAGESIZE));
constexpr unsigned long kHeapLen = 64 * 4096;
constexpr unsigned long kStaticLen = 4 * 4096;
constexpr unsigned long kNLists = 20;
constexpr unsigned long kChunk = 64;

char* Start() {
  return reinterpret_cast<char*>(kStart);
}

// A scratch directory with a log and a data segment holding a fresh heap.
struct HeapFiles {
  ScratchDir dir;
  std::string log = dir.file("log");
  std::string data = dir.file("data");
  HeapFiles() {
    ZeroFile(data, kPage + kHeapLen + kStaticLen);
    int st = RunChild([&] {
      InitRvm(log);
      int err = -100;
      rds_zap_heap(const_cast<char*>(data.c_str()), RVM_MK_OFFSET(0, 0), Start(), kStaticLen,
                   kHeapLen, kNLists, kChunk, &err);
      CHILD_EXPECT(err == SUCCESS);
      rvm_terminate();
    });
    if (!ExitedOk(st)) abort();
  }
};

// In a child: initializes RVM and loads the heap of `f`; returns the error
// code rds_load_heap reports (its return value agreeing).
int TryLoadHeap(const HeapFiles& f, char** statics) {
  InitRvm(f.log);
  int err = -100;
  int rc = rds_load_heap(const_cast<char*>(f.data.c_str()), RVM_MK_OFFSET(0, 0), statics, &err);
  CHILD_EXPECT((rc == 0) == (err == SUCCESS));
  return err;
}

// In a child: initializes RVM and loads the heap; returns the static area.
char* LoadHeap(const HeapFiles& f) {
  char* statics = nullptr;
  CHILD_EXPECT(TryLoadHeap(f, &statics) == SUCCESS);
  CHILD_EXPECT(statics == Start() + kHeapLen);
  return statics;
}

void ExpectHeapSound() {
  HeapWalk w = WalkHeap(Start());
  if (!w.ok) fprintf(stderr, "heap walk: %s\n", w.problem.c_str());
  CHILD_EXPECT(w.ok);
}

}  // namespace

TEST_CASE("rds_zap_heap writes the original's heap header", "[rds]") {
  HeapFiles f;
  std::string h = ReadBytes(f.data, static_cast<off_t>(kPage), 4096);
  CHECK(std::string(h.data()) == "Dynamic Allocator Using Rvm Release 0.1 1 Dec 1990");
  auto word = [&](size_t off) {
    unsigned long v;
    memcpy(&v, h.data() + off, 8);
    return v;
  };
  CHECK(word(80) == kHeapLen);
  CHECK(word(88) == kChunk);
  CHECK(word(96) == kNLists);
  CHECK(word(160) == kNLists);  // maxlist
  CHECK(word(248) == 0);        // list 0 is never used
  for (unsigned long i = 1; i <= kNLists; ++i) CHECK(word(248 + 16 * i) == 0xad938945);
  // The single free block hangs off the last list, chunk-aligned after the lists.
  const unsigned long first = (264 + 16 * kNLists + kChunk - 1) / kChunk * kChunk;
  CHECK(word(248 + 16 * kNLists + 8) == kStart + first);
  CHECK(word(first) == 0x345298af);
  const unsigned long chunks = (kHeapLen - 264 - 16 * kNLists) / kChunk;
  CHECK(word(first + 8) == chunks);
  unsigned freebytes;
  memcpy(&freebytes, h.data() + 104 + 44, 4);
  CHECK(freebytes == chunks * kChunk);
}

TEST_CASE("malloc and free keep the heap sound and persist", "[rds]") {
  HeapFiles f;
  REQUIRE(ExitedOk(RunChild([&] {
    char* statics = LoadHeap(f);
    std::vector<char*> blocks;
    int err = -100;
    for (int i = 0; i < 200; ++i) {
      char* p = rds_malloc(static_cast<unsigned long>(1 + (i * 37) % 900), nullptr, &err);
      CHILD_EXPECT(err == SUCCESS && p != nullptr);
      blocks.push_back(p);
    }
    ExpectHeapSound();
    for (size_t i = 0; i < blocks.size(); i += 2) {
      CHILD_EXPECT(rds_free(blocks[i], nullptr, &err) == 0 && err == SUCCESS);
    }
    ExpectHeapSound();
    rds_stats_t st;
    CHILD_EXPECT(rds_get_stats(&st) == 0);
    CHILD_EXPECT(st.malloc == 200 && st.free == 100);
    // Remember one live block in the static area, durably.
    rvm_tid_t* tid = rvm_malloc_tid();
    CHILD_EXPECT(rvm_begin_transaction(tid, restore) == RVM_SUCCESS);
    CHILD_EXPECT(rvm_set_range(tid, statics, sizeof(char*)) == RVM_SUCCESS);
    memcpy(statics, &blocks[1], sizeof(char*));
    CHILD_EXPECT(rvm_end_transaction(tid, flush) == RVM_SUCCESS);
    rvm_free_tid(tid);
    CHILD_EXPECT(rds_unload_heap(&err) == 0 && err == SUCCESS);
    rvm_terminate();
  })));
  REQUIRE(ExitedOk(RunChild([&] {
    char* statics = LoadHeap(f);
    ExpectHeapSound();
    rds_stats_t st;
    CHILD_EXPECT(rds_get_stats(&st) == 0);
    CHILD_EXPECT(st.malloc == 200 && st.free == 100);
    char* live;
    memcpy(&live, statics, sizeof(char*));
    int err = -100;
    CHILD_EXPECT(rds_free(live, nullptr, &err) == 0 && err == SUCCESS);
    CHILD_EXPECT(rds_free(live, nullptr, &err) == -1 && err == EFREED_TWICE);
    ExpectHeapSound();
    rvm_terminate();
  })));
}

TEST_CASE("error codes: no heap, bad pointers, double free, no room", "[rds]") {
  HeapFiles f;
  REQUIRE(ExitedOk(RunChild([&] {
    InitRvm(f.log);
    int err = -100;
    CHILD_EXPECT(rds_malloc(10, nullptr, &err) == nullptr && err == EHEAP_INIT);
    CHILD_EXPECT(rds_free(Start() + 4096, nullptr, &err) == -1 && err == EHEAP_INIT);
    rvm_terminate();
  })));
  REQUIRE(ExitedOk(RunChild([&] {
    LoadHeap(f);
    int err = -100;
    char* p = rds_malloc(100, nullptr, &err);
    CHILD_EXPECT(p != nullptr);
    CHILD_EXPECT(rds_free(p + 1, nullptr, &err) == -1 && err == EBAD_ARGS);
    CHILD_EXPECT(rds_free(p + 8, nullptr, &err) == -1 && err == EBAD_ARGS);
    static char outside[64];
    CHILD_EXPECT(rds_free(outside + 16, nullptr, &err) == -1 && err == EBAD_ARGS);
    CHILD_EXPECT(rds_malloc(kHeapLen * 2, nullptr, &err) == nullptr && err == ENO_ROOM);
    CHILD_EXPECT(rds_fake_free(p + 1, nullptr) == EBAD_ARGS);
    CHILD_EXPECT(rds_get_stats(nullptr) == EBAD_ARGS);
    CHILD_EXPECT(rds_free(p, nullptr, &err) == 0);
    CHILD_EXPECT(rds_free(p, nullptr, &err) == -1 && err == EFREED_TWICE);
    ExpectHeapSound();
    rvm_terminate();
  })));
}

TEST_CASE("an overwritten guard is reported as corruption", "[rds]") {
  HeapFiles f;
  REQUIRE(ExitedOk(RunChild([&] {
    LoadHeap(f);
    int err = -100;
    char* p = rds_malloc(100, nullptr, &err);
    char* q = rds_malloc(100, nullptr, &err);
    CHILD_EXPECT(p != nullptr && q != nullptr);
    // The user writes past the end of p into its end guard.
    BlockHeader* b = rvmr::rds::BlockOf(p);
    auto* end_guard =
        reinterpret_cast<unsigned long*>(reinterpret_cast<char*>(b) + b->size * kChunk) - 1;
    *end_guard = 0x4141414141414141;
    CHILD_EXPECT(rds_free(p, nullptr, &err) == -1 && err == ECORRUPT);
    CHILD_EXPECT(rds_fake_free(p, nullptr) == ECORRUPT);
    // The lower guard of q trampled.
    rvmr::rds::BlockOf(q)->type = 0x12345678;
    CHILD_EXPECT(rds_free(q, nullptr, &err) == -1 && err == ECORRUPT);
    rvm_terminate();
  })));
}

TEST_CASE("a damaged heap header or list guard is refused at load", "[rds]") {
  HeapFiles f;
  int want = -100;
  SECTION("version") {
    PatchBytes(f.data, static_cast<off_t>(kPage + 3), "X", 1);
    want = EHEAP_VERSION_SKEW;
  }
  SECTION("list guard") {
    unsigned long bad = 0;
    PatchBytes(f.data, static_cast<off_t>(kPage + 248 + 16 * 3), &bad, 8);
    want = ECORRUPT;
  }
  SECTION("free-list cycle") {
    // Point the only free block's next link at itself.
    const unsigned long first = (264 + 16 * kNLists + kChunk - 1) / kChunk * kChunk;
    unsigned long self = kStart + first;
    PatchBytes(f.data, static_cast<off_t>(kPage + first + 24), &self, 8);
    want = ECORRUPT;
  }
  REQUIRE(ExitedOk(RunChild([&] {
    char* statics = nullptr;
    CHILD_EXPECT(TryLoadHeap(f, &statics) == want);
    // No heap is in use after a refused load.
    int err = -100;
    CHILD_EXPECT(rds_malloc(8, nullptr, &err) == nullptr && err == EHEAP_INIT);
    rvm_terminate();
  })));
}

TEST_CASE("operations in an aborted caller transaction leave no trace", "[rds]") {
  HeapFiles f;
  REQUIRE(ExitedOk(RunChild([&] {
    LoadHeap(f);
    int err = -100;
    std::vector<char*> keep;
    for (int i = 0; i < 30; ++i) keep.push_back(rds_malloc(700 + i * 50, nullptr, &err));
    for (size_t i = 0; i < keep.size(); i += 3) rds_free(keep[i], nullptr, &err);
    rds_stats_t before;
    rds_get_stats(&before);
    std::string image(Start(), kHeapLen);

    rvm_tid_t* tid = rvm_malloc_tid();
    CHILD_EXPECT(rvm_begin_transaction(tid, restore) == RVM_SUCCESS);
    for (int i = 0; i < 40; ++i) {
      char* p = rds_malloc(300 + i * 97, tid, &err);
      CHILD_EXPECT(err == SUCCESS && p != nullptr);
    }
    CHILD_EXPECT(rds_free(keep[1], tid, &err) == 0 && err == SUCCESS);
    CHILD_EXPECT(rds_prealloc(200, 5, tid, &err) == 0 && err == SUCCESS);
    CHILD_EXPECT(rvm_abort_transaction(tid) == RVM_SUCCESS);
    rvm_free_tid(tid);

    CHILD_EXPECT(memcmp(image.data(), Start(), kHeapLen) == 0);
    ExpectHeapSound();
    // The allocator notices the rollback and keeps working correctly.
    std::vector<char*> more;
    for (int i = 0; i < 40; ++i) {
      char* p = rds_malloc(300 + i * 97, nullptr, &err);
      CHILD_EXPECT(err == SUCCESS && p != nullptr);
      more.push_back(p);
    }
    ExpectHeapSound();
    for (char* p : more) CHILD_EXPECT(rds_free(p, nullptr, &err) == 0);
    ExpectHeapSound();
    rvm_terminate();
  })));
}

TEST_CASE("a crash mid-transaction loses only the uncommitted allocations", "[rds]") {
  HeapFiles f;
  int st = RunChild([&] {
    char* statics = LoadHeap(f);
    int err = -100;
    rvm_tid_t* tid = rvm_malloc_tid();
    // Ten committed allocations, their addresses recorded in the statics.
    CHILD_EXPECT(rvm_begin_transaction(tid, restore) == RVM_SUCCESS);
    CHILD_EXPECT(rvm_set_range(tid, statics, 10 * sizeof(char*)) == RVM_SUCCESS);
    for (int i = 0; i < 10; ++i) {
      char* p = rds_malloc(500, tid, &err);
      CHILD_EXPECT(p != nullptr);
      memcpy(statics + i * sizeof(char*), &p, sizeof(char*));
    }
    CHILD_EXPECT(rvm_end_transaction(tid, flush) == RVM_SUCCESS);
    // Then a transaction that allocates and frees but never commits.
    CHILD_EXPECT(rvm_begin_transaction(tid, restore) == RVM_SUCCESS);
    for (int i = 0; i < 10; ++i) rds_malloc(2000, tid, &err);
    char* first;
    memcpy(&first, statics, sizeof(char*));
    rds_free(first, tid, &err);
    kill(getpid(), SIGKILL);
  });
  REQUIRE(WIFSIGNALED(st));
  REQUIRE(WTERMSIG(st) == SIGKILL);
  REQUIRE(ExitedOk(RunChild([&] {
    char* statics = LoadHeap(f);
    ExpectHeapSound();
    rds_stats_t s;
    rds_get_stats(&s);
    CHILD_EXPECT(s.malloc == 10);
    CHILD_EXPECT(s.free == 0);
    HeapWalk w = WalkHeap(Start());
    CHILD_EXPECT(w.alloc_blocks == 10);
    int err = -100;
    for (int i = 0; i < 10; ++i) {
      char* p;
      memcpy(&p, statics + i * sizeof(char*), sizeof(char*));
      CHILD_EXPECT(rds_free(p, nullptr, &err) == 0 && err == SUCCESS);
    }
    ExpectHeapSound();
    rvm_terminate();
  })));
}

TEST_CASE("deferred frees take effect only in rds_do_free", "[rds]") {
  HeapFiles f;
  REQUIRE(ExitedOk(RunChild([&] {
    LoadHeap(f);
    int err = -100;
    intentionList_t list{0, 0, nullptr};
    std::vector<char*> blocks;
    for (int i = 0; i < 50; ++i) blocks.push_back(rds_malloc(64, nullptr, &err));
    for (char* p : blocks) CHILD_EXPECT(rds_fake_free(p, &list) == SUCCESS);
    CHILD_EXPECT(list.count == 50);
    CHILD_EXPECT(rds_fake_free(nullptr, &list) == SUCCESS);
    HeapWalk before = WalkHeap(Start());
    CHILD_EXPECT(before.alloc_blocks == 50);
    CHILD_EXPECT(rds_do_free(&list, flush) == SUCCESS);
    CHILD_EXPECT(list.table == nullptr);
    HeapWalk after = WalkHeap(Start());
    CHILD_EXPECT(after.ok && after.alloc_blocks == 0);
    rvm_terminate();
  })));
}

TEST_CASE("prealloc, maxblock, exhaustion and coalescing", "[rds]") {
  HeapFiles f;
  REQUIRE(ExitedOk(RunChild([&] {
    LoadHeap(f);
    int err = -100;
    CHILD_EXPECT(rds_prealloc(100, 10, nullptr, &err) == 0 && err == SUCCESS);
    rds_stats_t s;
    rds_get_stats(&s);
    CHILD_EXPECT(s.prealloc == 1);
    ExpectHeapSound();
    CHILD_EXPECT(rds_maxblock(100000) == 1);
    CHILD_EXPECT(rds_maxblock(kHeapLen * 2) == 0);
    // Fill the heap with small blocks until it is full.
    std::vector<char*> blocks;
    for (;;) {
      char* p = rds_malloc(200, nullptr, &err);
      if (p == nullptr) break;
      blocks.push_back(p);
    }
    CHILD_EXPECT(err == ENO_ROOM);
    CHILD_EXPECT(blocks.size() > 500);
    ExpectHeapSound();
    // Free them all: only coalescing turns the fragments into one big block.
    for (char* p : blocks) CHILD_EXPECT(rds_free(p, nullptr, &err) == 0);
    ExpectHeapSound();
    char* big = rds_malloc(kHeapLen / 2, nullptr, &err);
    CHILD_EXPECT(big != nullptr && err == SUCCESS);
    ExpectHeapSound();
    CHILD_EXPECT(rds_free(big, nullptr, &err) == 0);
    coalesce(nullptr, &err);
    CHILD_EXPECT(err == SUCCESS);
    ExpectHeapSound();
    CHILD_EXPECT(rds_clear_stats(&err) == 0 && err == SUCCESS);
    rds_get_stats(&s);
    CHILD_EXPECT(s.malloc == 0 && s.freebytes == 0);
    rvm_terminate();
  })));
}

TEST_CASE("tracing writes the heap dump", "[rds]") {
  HeapFiles f;
  ScratchDir out;
  const std::string trace = out.file("trace");
  REQUIRE(ExitedOk(RunChild([&] {
    LoadHeap(f);
    FILE* t = fopen(trace.c_str(), "w");
    CHILD_EXPECT(rds_trace_on(t) == 0);
    int err;
    char* p = rds_malloc(10, nullptr, &err);
    CHILD_EXPECT(p != nullptr);
    CHILD_EXPECT(rds_trace_dump_heap() == 0);
    CHILD_EXPECT(rds_trace_off() == 0);
    fclose(t);
    rvm_terminate();
  })));
  std::string text = ReadBytes(trace, 0, 1 << 16);
  CHECK(text.find("rdstrace: tracing on") != std::string::npos);
  CHECK(text.find("rdstrace: malloc addr") != std::string::npos);
  CHECK(text.find("rdstrace: nlists 20") != std::string::npos);
  CHECK(text.find("Error!!! Bad") == std::string::npos);
}
