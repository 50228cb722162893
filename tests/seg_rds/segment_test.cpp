// libseg: segment create/load/release round trips, the on-disk header, and
// fixed-address conflicts.
#include <catch2/catch.hpp>

#include "seg_rds_test_util.h"

using namespace segtest;

extern "C" {
extern long rds_rvmsize;
extern char* rds_startaddr;
}

namespace {

// Below 2 GiB: outside the ranges sanitizers reserve (ASan shadow, TSan meta).
constexpr uintptr_t kBase = 0x40000000;
const size_t kPage = static_cast<size_t>(sysconf(_SC_PAGESIZE));

char* At(uintptr_t a) {
  return reinterpret_cast<char*>(a);
}

// Creates a 2-region segment: 3 pages at kBase, 2 pages at kBase + 8 pages.
void CreateTwoRegions(const std::string& data) {
  rvm_region_def_t defs[2];
  memset(defs, 0, sizeof(defs));
  // Given in descending address order: the loader sorts them.
  RVM_INIT_REGION(defs[0], RVM_MK_OFFSET(0, 0), 2 * kPage, At(kBase + 8 * kPage));
  RVM_INIT_REGION(defs[1], RVM_MK_OFFSET(0, 0), 3 * kPage, At(kBase));
  rvm_return_t rc =
      rvm_create_segment(const_cast<char*>(data.c_str()), RVM_MK_OFFSET(0, 0), nullptr, 2, defs);
  CHILD_EXPECT(rc == RVM_SUCCESS);
  CHILD_EXPECT(rvm_truncate() == RVM_SUCCESS);
}

// True if nothing is mapped at the page at `p` (probed with a mapping that
// may not replace one).
bool PageIsFree(char* p) {
  void* probe = mmap(p, kPage, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (probe != MAP_FAILED) munmap(probe, kPage);
  return probe == p;
}

rvm_return_t LoadSegment(const std::string& data, unsigned long* n, rvm_region_def_t** regs) {
  return rvm_load_segment(const_cast<char*>(data.c_str()), RVM_MK_OFFSET(0, 0), nullptr, n, regs);
}

// A scratch directory with a log path and a 12-page zeroed data file.
struct SegmentFiles {
  ScratchDir dir;
  const std::string log = dir.file("log"), data = dir.file("data");
  SegmentFiles() { ZeroFile(data, 12 * kPage); }
  // Creates the two-region segment in `data`, in a child using `log`.
  void CreateTwoRegionsInChild() const {
    REQUIRE(ExitedOk(RunChild([&] {
      InitRvm(log);
      CreateTwoRegions(data);
      rvm_terminate();
    })));
  }
};

}  // namespace

TEST_CASE_METHOD(SegmentFiles, "segment header on disk is the original's layout", "[seg]") {
  CreateTwoRegionsInChild();
  std::string hdr = ReadBytes(data, 0, kPage);
  REQUIRE(hdr.size() == kPage);
  int32_t id;
  memcpy(&id, hdr.data(), 4);
  CHECK(id == 1);
  CHECK(std::string(hdr.data() + 4) == "RVM Segment Loader Release 0.1  15 Nov. 1990");
  uint64_t n;
  memcpy(&n, hdr.data() + 136, 8);
  CHECK(n == 2);
  rvm_region_def_t r[2];
  memcpy(r, hdr.data() + 144, sizeof(r));
  // Sorted by address, laid out one after the other after the header page.
  CHECK(r[0].vmaddr == At(kBase));
  CHECK(r[0].length == 3 * kPage);
  CHECK(r[0].offset.high == 0);
  CHECK(r[0].offset.low == kPage);
  CHECK(r[1].vmaddr == At(kBase + 8 * kPage));
  CHECK(r[1].offset.low == 4 * kPage);
  // Everything after the table keeps the file's (zero) bytes.
  CHECK(hdr.find_first_not_of('\0', 144 + sizeof(r)) == std::string::npos);
}

TEST_CASE_METHOD(SegmentFiles,
                 "segment load maps regions at their addresses; data survives release", "[seg]") {
  REQUIRE(ExitedOk(RunChild([&] {
    InitRvm(log);
    CreateTwoRegions(data);
    unsigned long n = 0;
    rvm_region_def_t* regs = nullptr;
    CHILD_EXPECT(LoadSegment(data, &n, &regs) == RVM_SUCCESS);
    CHILD_EXPECT(n == 2);
    CHILD_EXPECT(regs[0].vmaddr == At(kBase));
    CHILD_EXPECT(rds_startaddr == At(kBase));
    CHILD_EXPECT(rds_rvmsize == static_cast<long>(5 * kPage));
    rvm_tid_t* tid = rvm_malloc_tid();
    CHILD_EXPECT(rvm_begin_transaction(tid, restore) == RVM_SUCCESS);
    CHILD_EXPECT(rvm_set_range(tid, At(kBase + 100), 5) == RVM_SUCCESS);
    memcpy(At(kBase + 100), "hello", 5);
    CHILD_EXPECT(rvm_set_range(tid, At(kBase + 8 * kPage + 7), 5) == RVM_SUCCESS);
    memcpy(At(kBase + 8 * kPage + 7), "world", 5);
    CHILD_EXPECT(rvm_end_transaction(tid, flush) == RVM_SUCCESS);
    rvm_free_tid(tid);
    CHILD_EXPECT(rvm_truncate() == RVM_SUCCESS);
    CHILD_EXPECT(rvm_release_segment(n, &regs) == RVM_SUCCESS);
    // Released: the address range is free again.
    CHILD_EXPECT(PageIsFree(At(kBase)));
    rvm_terminate();
  })));
  // Region 0 starts at file offset one page, region 1 at four pages.
  CHECK(ReadBytes(data, static_cast<off_t>(kPage + 100), 5) == "hello");
  CHECK(ReadBytes(data, static_cast<off_t>(4 * kPage + 7), 5) == "world");
  // A second process loads the same data back at the same addresses.
  REQUIRE(ExitedOk(RunChild([&] {
    InitRvm(log);
    unsigned long n = 0;
    rvm_region_def_t* regs = nullptr;
    CHILD_EXPECT(LoadSegment(data, &n, &regs) == RVM_SUCCESS);
    CHILD_EXPECT(memcmp(At(kBase + 100), "hello", 5) == 0);
    CHILD_EXPECT(memcmp(At(kBase + 8 * kPage + 7), "world", 5) == 0);
    CHILD_EXPECT(rvm_release_segment(n, &regs) == RVM_SUCCESS);
    rvm_terminate();
  })));
}

TEST_CASE_METHOD(SegmentFiles, "segment load never replaces an existing mapping", "[seg]") {
  REQUIRE(ExitedOk(RunChild([&] {
    InitRvm(log);
    CreateTwoRegions(data);
    // Something else already lives in the second region's range.
    char* mine = static_cast<char*>(mmap(At(kBase + 9 * kPage), kPage, PROT_READ | PROT_WRITE,
                                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0));
    CHILD_EXPECT(mine == At(kBase + 9 * kPage));
    strcpy(mine, "precious");
    unsigned long n = 0;
    rvm_region_def_t* regs = nullptr;
    rvm_return_t rc = LoadSegment(data, &n, &regs);
    CHILD_EXPECT(rc == RVM_EVM_OVERLAP);
    CHILD_EXPECT(strcmp(mine, "precious") == 0);
    // The first region was rolled back: its range is free again.
    CHILD_EXPECT(PageIsFree(At(kBase)));
    // Once the range is free, loading works.
    munmap(mine, kPage);
    CHILD_EXPECT(LoadSegment(data, &n, &regs) == RVM_SUCCESS);
    CHILD_EXPECT(rvm_release_segment(n, &regs) == RVM_SUCCESS);
    rvm_terminate();
  })));
}

TEST_CASE_METHOD(SegmentFiles, "segment create rejects overlapping regions", "[seg]") {
  REQUIRE(ExitedOk(RunChild([&] {
    InitRvm(log);
    rvm_region_def_t defs[2];
    memset(defs, 0, sizeof(defs));
    RVM_INIT_REGION(defs[0], RVM_MK_OFFSET(0, 0), 3 * kPage, At(kBase));
    RVM_INIT_REGION(defs[1], RVM_MK_OFFSET(0, 0), 3 * kPage, At(kBase + 2 * kPage));
    CHILD_EXPECT(rvm_create_segment(const_cast<char*>(data.c_str()), RVM_MK_OFFSET(0, 0), nullptr,
                                    2, defs) == RVM_ERANGE);
    rvm_terminate();
  })));
}

TEST_CASE_METHOD(SegmentFiles, "damaged or foreign segment headers are refused", "[seg]") {
  CreateTwoRegionsInChild();
  rvm_return_t want = RVM_SUCCESS;
  SECTION("wrong identifier") {
    int32_t bad = 7;
    PatchBytes(data, 0, &bad, 4);
    want = RVM_ESEGMENT_HDR;
  }
  SECTION("other loader version") {
    PatchBytes(data, 4 + 27, "9", 1);
    want = RVM_EVERSION_SKEW;
  }
  SECTION("absurd region count") {
    uint64_t n = 1000;
    PatchBytes(data, 136, &n, 8);
    want = RVM_ESEGMENT_HDR;
  }
  SECTION("zeroed header page (no segment at all)") {
    std::string zeros(kPage, '\0');
    PatchBytes(data, 0, zeros.data(), zeros.size());
    want = RVM_ESEGMENT_HDR;
  }
  REQUIRE(ExitedOk(RunChild([&] {
    InitRvm(log);
    unsigned long n = 0;
    rvm_region_def_t* regs = nullptr;
    rvm_return_t rc = LoadSegment(data, &n, &regs);
    if (rc != want) fprintf(stderr, "rvm_load_segment: %s\n", rvm_return(rc));
    CHILD_EXPECT(rc == want);
    rvm_terminate();
  })));
}
