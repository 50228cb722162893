// Crash recovery: children killed with SIGKILL between and in the middle of
// commits (and of truncations), torn and corrupted log tails, damaged status.
#include <fcntl.h>
#include <poll.h>

#include <chrono>
#include <cstring>
#include <random>

#include "rvm_test_util.h"
#include "shim/log_record_reader.h"
#include "shim/log_source.h"
#include "shim/log_status.h"

using namespace rvmtest;

namespace {

constexpr int kSlots = 8;
constexpr size_t kSlotStride = 8 * 4096;  // slots on different pages
constexpr size_t kBlobOff = kSlots * kSlotStride;
constexpr size_t kBlobLen = 24 * 1024;
constexpr size_t kSegSize = kBlobOff + kBlobLen + 4096;

void WriteAll(int fd, uint64_t v) {
  ssize_t n = ::write(fd, &v, sizeof(v));
  (void)n;
}

// Worker: recover, check the data is one whole transaction no older than
// `min_acked`, report ready, then commit forever, acking flush commits.
void Worker(const std::string& log, const std::string& seg, uint64_t min_acked, int ackfd,
            bool fresh) {
  if (fresh)
    InitWithNewLog(log, 1 << 20, 50);
  else
    InitWithLog(log, 50);
  rvm_region_t* r = MapAll(seg);
  char* m = r->vmaddr;
  uint64_t v;
  std::memcpy(&v, m, 8);
  for (int k = 1; k < kSlots; k++) {
    uint64_t w;
    std::memcpy(&w, m + k * kSlotStride, 8);
    CHILD_REQUIRE(w == v);  // no partial transaction
  }
  for (size_t i = 0; i < kBlobLen; i++) CHILD_REQUIRE(m[kBlobOff + i] == static_cast<char>(v));
  CHILD_REQUIRE(v >= min_acked);  // every acknowledged flush commit is there
  WriteAll(ackfd, ~0ull);         // ready
  rvm_tid_t t;
  rvm_init_tid(&t);
  for (uint64_t i = v + 1;; i++) {
    CHILD_RC(rvm_begin_transaction(&t, (i & 1) ? restore : no_restore), RVM_SUCCESS);
    for (int k = 0; k < kSlots; k++) {
      CHILD_RC(rvm_set_range(&t, m + k * kSlotStride, 8), RVM_SUCCESS);
      std::memcpy(m + k * kSlotStride, &i, 8);
    }
    size_t blob = (i % 5 == 0) ? kBlobLen : 512;
    // Small blobs rewrite a prefix; keep the whole blob consistent by
    // writing all of it every time, in two ranges of different sizes.
    CHILD_RC(rvm_set_range(&t, m + kBlobOff, blob), RVM_SUCCESS);
    CHILD_RC(rvm_set_range(&t, m + kBlobOff + blob, kBlobLen - blob), RVM_SUCCESS);
    std::memset(m + kBlobOff, static_cast<char>(i), kBlobLen);
    bool fl = (i % 3 == 0);
    CHILD_RC(rvm_end_transaction(&t, fl ? flush : no_flush), RVM_SUCCESS);
    if (fl) WriteAll(ackfd, i);
  }
}

}  // namespace

TEST_CASE("SIGKILL at random points: acknowledged commits survive, nothing partial") {
  TempDir dir;
  std::string log = dir.File("log"), seg = dir.File("seg");
  MakeFile(seg, kSegSize, 0);
  std::mt19937 rng(12345);
  uint64_t acked = 0;
  const int kRounds = 12;
  for (int round = 0; round <= kRounds; round++) {
    int p[2];
    REQUIRE(::pipe(p) == 0);
    std::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(p[0]);
      Worker(log, seg, acked, p[1], round == 0);
      _exit(0);
    }
    ::close(p[1]);
    uint64_t v = 0;
    REQUIRE(::read(p[0], &v, 8) == 8);
    REQUIRE(v == ~0ull);  // recovered and verified
    if (round == kRounds) {
      ::kill(pid, SIGKILL);
    } else {
      // Let it commit for a while, then kill it wherever it is.
      auto deadline =
          std::chrono::steady_clock::now() + std::chrono::microseconds(2000 + rng() % 30000);
      // Every other round also waits for a new acknowledgement first (slow
      // builds, e.g. under sanitizers, may not reach one in the window).
      uint64_t before = acked;
      auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (std::chrono::steady_clock::now() < deadline ||
             (round % 2 == 1 && acked == before && std::chrono::steady_clock::now() < give_up)) {
        struct pollfd pf = {p[0], POLLIN, 0};
        if (::poll(&pf, 1, 1) > 0) {
          if (::read(p[0], &v, 8) == 8) acked = std::max(acked, v);
        }
      }
      ::kill(pid, SIGKILL);
    }
    int st;
    ::waitpid(pid, &st, 0);
    REQUIRE(WIFSIGNALED(st));
    // Acks written before the kill still count.
    while (::read(p[0], &v, 8) == 8) acked = std::max(acked, v);
    ::close(p[0]);
  }
  CHECK(acked > 0);
}

namespace {

// Offsets of the records in the log's live range [head, end).
std::vector<rvmr::log::LogRecord> ScanLog(const std::string& log, rvmr::log::LogStatus* st) {
  int fd = ::open(log.c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  REQUIRE(rvmr::log::ReadLogStatus(fd, st).ok());
  rvmr::log::FileLogSource src(fd, st->area_start, st->area_size);
  rvmr::log::LogRecordReader rd(&src, st->head, st->head + st->area_size, st->head_lsn);
  std::vector<rvmr::log::LogRecord> recs;
  rvmr::log::LogRecord rec;
  while (rd.ReadRecord(&rec).ok()) recs.push_back(rec);
  ::close(fd);
  return recs;
}

void Poke(const std::string& path, uint64_t pos, const std::string& bytes) {
  int fd = ::open(path.c_str(), O_RDWR);
  REQUIRE(fd >= 0);
  REQUIRE(::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(pos)) ==
          static_cast<ssize_t>(bytes.size()));
  ::close(fd);
}

// Commits values 1..n into the first 8 bytes (and a 300-byte range), then crashes.
void CommitAndCrash(const std::string& log, const std::string& seg, int from, int n, bool fresh) {
  REQUIRE(RunInChild([&] {
            if (fresh)
              InitWithNewLog(log, 1 << 16);
            else
              InitWithLog(log);
            rvm_region_t* r = MapAll(seg);
            rvm_tid_t t;
            rvm_init_tid(&t);
            for (int i = from; i < from + n; i++) {
              CHILD_RC(rvm_begin_transaction(&t, restore), RVM_SUCCESS);
              CHILD_RC(rvm_set_range(&t, r->vmaddr, 300), RVM_SUCCESS);
              std::memset(r->vmaddr, i, 300);
              CHILD_RC(rvm_end_transaction(&t, flush), RVM_SUCCESS);
            }
            _exit(0);
          }) == 0);
}

// A scratch directory with a log path, a 4096-byte zeroed segment and a file
// for a child's stderr.
struct LogFiles {
  TempDir dir;
  std::string log = dir.File("log"), seg = dir.File("seg"), err = dir.File("err");
  LogFiles() { MakeFile(seg, 4096, 0); }
};

// Recovers in a child with stderr captured; returns the value found.
int RecoverValue(const std::string& log, const std::string& seg, const std::string& err) {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  int rc = RunInChild([&] {
    int fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 2);
    InitWithLog(log);
    rvm_region_t* r = MapAll(seg);
    for (int i = 1; i < 300; i++) CHILD_REQUIRE(r->vmaddr[i] == r->vmaddr[0]);
    char v = r->vmaddr[0];
    CHILD_REQUIRE(::write(p[1], &v, 1) == 1);
    CHILD_RC(rvm_terminate(), RVM_SUCCESS);
  });
  REQUIRE(rc == 0);
  char v = 0;
  REQUIRE(::read(p[0], &v, 1) == 1);
  ::close(p[0]);
  ::close(p[1]);
  return v;
}

}  // namespace

TEST_CASE_METHOD(LogFiles,
                 "a corrupted last record is cut off and reported, earlier ones applied") {
  CommitAndCrash(log, seg, 1, 3, true);
  rvmr::log::LogStatus st;
  auto recs = ScanLog(log, &st);
  REQUIRE(recs.size() == 4);  // segment dictionary + 3 transactions
  uint64_t last = recs.back().offset();
  SECTION("payload byte flipped") {
    Poke(log, st.area_start + (last + 100) % st.area_size, "\x7f");
  }
  SECTION("torn write: the record's second half never reached the disk") {
    Poke(log, st.area_start + (last + 200) % st.area_size, std::string(150, '\0'));
  }
  CHECK(RecoverValue(log, seg, err) == 2);
  CHECK(ReadFile(err).find("cut off") != std::string::npos);
  // New commits go after the cut; the damaged record never comes back.
  CommitAndCrash(log, seg, 9, 1, false);
  CHECK(RecoverValue(log, seg, err) == 9);
  CHECK(ReadFile(err).empty());
}

TEST_CASE_METHOD(LogFiles,
                 "garbage after the tail and a stale record from an earlier lap are ignored") {
  CommitAndCrash(log, seg, 1, 3, true);
  rvmr::log::LogStatus st;
  auto recs = ScanLog(log, &st);
  uint64_t end = recs.back().end();
  Poke(log, st.area_start + end % st.area_size, std::string(64, '\x5a'));
  CHECK(RecoverValue(log, seg, err) == 3);
  CHECK(ReadFile(err).empty());  // the normal end of the log is not damage
}

TEST_CASE_METHOD(LogFiles, "one damaged status copy: recovery uses the other") {
  CommitAndCrash(log, seg, 1, 2, true);
  int fd = ::open(log.c_str(), O_RDONLY);
  rvmr::log::LogStatus st;
  int which = -1;
  REQUIRE(rvmr::log::ReadLogStatus(fd, &st, &which).ok());
  ::close(fd);
  Poke(log, static_cast<uint64_t>(which) * 4096 + 20, "garbage");
  CHECK(RecoverValue(log, seg, err) == 2);
  // Both copies damaged: the file is no longer a log.
  Poke(log, static_cast<uint64_t>(1 - which) * 4096 + 20, "garbage");
  Poke(log, static_cast<uint64_t>(which) * 4096 + 20, "garbage");
  REQUIRE(RunInChild([&] {
            rvm_options_t* o = rvm_malloc_options();
            o->log_dev = const_cast<char*>(log.c_str());
            CHILD_RC(RVM_INIT(o), RVM_ELOG);
          }) == 0);
}

// Truncation moves the head one window (an eighth of this log) at a time,
// and the head may be left at any window boundary: recovery from there must
// find a segment dictionary record for every segment the rest of the log
// uses, for both segments.
TEST_CASE("a crash between truncation windows: the head is mid-log and recovery applies the rest") {
  TempDir dir;
  const std::string log = dir.File("log"), a = dir.File("a"), b = dir.File("b");
  constexpr size_t kSeg = 64 * 1024;
  constexpr int kTxns = 40;          // ~4.2 KiB each: ~170 KiB of a 256 KiB log
  constexpr size_t kChunk = 4096;
  MakeFile(a, kSeg, 0);
  MakeFile(b, kSeg, 0);
  int st = RunInChild([&] {
    ::setenv("RVM_FAULT", "rvm.truncate_before_head:kill:3", 1);
    InitWithNewLog(log, 256 * 1024, 0);
    char* ma = MapAll(a)->vmaddr;
    char* mb = MapAll(b)->vmaddr;
    rvm_tid_t t;
    rvm_init_tid(&t);
    for (int i = 0; i < kTxns; i++) {
      CHILD_RC(rvm_begin_transaction(&t, no_restore), RVM_SUCCESS);
      // Transaction i fills chunk i % 16 of a with i, and byte i of b.
      char* pa = ma + (i % 16) * kChunk;
      CHILD_RC(rvm_set_range(&t, pa, kChunk), RVM_SUCCESS);
      std::memset(pa, i + 1, kChunk);
      CHILD_RC(rvm_set_range(&t, mb + i, 1), RVM_SUCCESS);
      mb[i] = static_cast<char>(i + 1);
      CHILD_RC(rvm_end_transaction(&t, flush), RVM_SUCCESS);
    }
    rvm_truncate();  // killed at the third window, after two head moves
    _exit(9);
  });
  REQUIRE(st == 128 + SIGKILL);

  int fd = ::open(log.c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  rvmr::log::LogStatus status;
  REQUIRE(rvmr::log::ReadLogStatus(fd, &status).ok());
  ::close(fd);
  // Two windows of 32 KiB applied: the head is past them, short of the tail.
  CHECK(status.head >= 2 * 32 * 1024);
  CHECK(status.head < uint64_t(kTxns) * kChunk);

  st = RunInChild([&] {
    InitWithLog(log, 0);
    char* ma = MapAll(a)->vmaddr;
    char* mb = MapAll(b)->vmaddr;
    for (int c = 0; c < 16; c++) {
      int last = c + 16 * ((kTxns - 1 - c) / 16);  // the last transaction that wrote chunk c
      for (size_t k = 0; k < kChunk; k++) CHILD_REQUIRE(ma[c * kChunk + k] == char(last + 1));
    }
    for (int i = 0; i < kTxns; i++) CHILD_REQUIRE(mb[i] == char(i + 1));
    _exit(0);
  });
  CHECK(st == 0);
}
