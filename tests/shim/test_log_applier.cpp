// LogApplier (the apply step of truncation, recovery and rvm-log replay):
// streaming and coalescing writes, later ranges winning, the segment map, a
// dry run, every error it reports, and its fault point; ExtentMap beneath it.
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <random>
#include <sstream>
#include <vector>

#include "shim/extent_map.h"
#include "shim/log_applier.h"
#include "shim/log_format.h"
#include "shim/log_payload.h"
#include "test_helpers.h"

using namespace rvmr;
using namespace rvmr::log;
using rvmr::testing::TempDir;

namespace {

struct Range {
  uint32_t code;
  uint64_t offset;
  std::string data;
};

// Records as a reader would return them: consecutive LSNs and offsets.
class Records {
 public:
  LogRecord Dict(uint32_t code, const std::string& path) {
    return Make(RecordType::kSegmentDict, EncodeSegmentDict(code, path));
  }
  LogRecord Txn(const std::vector<Range>& ranges) {
    std::string payload;
    TransactionPayloadBuilder b(&payload, 1234);
    for (const Range& r : ranges) b.AddRange(r.code, r.offset, r.data.data(), r.data.size());
    b.Finish();
    return Make(RecordType::kTransaction, payload);
  }
  LogRecord Make(RecordType type, std::string payload) {
    LogRecord rec;
    rec.header.type = static_cast<uint16_t>(type);
    rec.header.lsn = lsn_++;
    rec.header.offset = offset_;
    rec.header.payload_len = static_cast<uint32_t>(payload.size());
    rec.payload = std::move(payload);
    offset_ = rec.end();
    return rec;
  }

 private:
  uint64_t lsn_ = 1;
  uint64_t offset_ = 0;
};

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

// Applies `recs` in order, then Finish; the first failure.
Status ApplyAll(LogApplier* a, const std::vector<LogRecord>& recs) {
  for (const LogRecord& r : recs) {
    Status s = a->Apply(r);
    if (!s.ok()) return s;
  }
  return a->Finish();
}

LogApplyOptions Coalescing() {
  LogApplyOptions o;
  o.coalesce = true;
  return o;
}

// A log over two segments whose ranges overlap and abut.
std::vector<LogRecord> OverlappingLog(const TempDir& dir) {
  Records r;
  return {r.Dict(1, dir.File("a")), r.Dict(2, dir.File("b")),
          r.Txn({{1, 0, "AAAAAAAA"}, {1, 4, "bb"}, {2, 2, "xy"}}), r.Txn({{1, 6, "C"}}),
          r.Txn({{1, 8, "DD"}, {2, 0, "zz"}})};
}

}  // namespace

TEST_CASE("ExtentMap: later writes win, adjacent extents merge") {
  ExtentMap m;
  CHECK(m.empty());
  m.Write(10, "abcdef", 6);
  m.Write(12, "XY", 2);    // inside
  m.Write(16, "gh", 2);    // abuts the end
  m.Write(5, "12345", 5);  // abuts the start
  m.Write(0, "", 0);       // nothing
  REQUIRE(m.extents().size() == 1);
  CHECK(m.extents().begin()->first == 5);
  CHECK(m.extents().begin()->second == "12345abXYefgh");
  CHECK(m.written() == 15);
  m.Write(30, "zz", 2);
  std::string q(24, 'Q');
  m.Write(8, q.data(), q.size());  // replaces the tail, swallows the second extent
  REQUIRE(m.extents().size() == 1);
  CHECK(m.extents().begin()->second == "123" + q);
  m.Write(40, "k", 1);
  CHECK(m.extents().size() == 2);
}

TEST_CASE("streaming and coalescing apply the same bytes; coalescing writes merged extents") {
  TempDir dir;
  for (bool coalesce : {false, true}) {
    CAPTURE(coalesce);
    WriteFile(dir.File("a"), std::string(12, '.'));
    WriteFile(dir.File("b"), std::string(6, '.'));
    LogApplyOptions o;
    o.coalesce = coalesce;
    LogApplier a(o);
    std::vector<LogRecord> recs = OverlappingLog(dir);
    for (const LogRecord& r : recs) REQUIRE(a.Apply(r).ok());
    // Coalescing touches no file before Finish; streaming has written already.
    CHECK((ReadFile(dir.File("a")) == std::string(12, '.')) == coalesce);
    REQUIRE(a.Finish().ok());
    CHECK(ReadFile(dir.File("a")) == "AAAAbbCADD..");
    CHECK(ReadFile(dir.File("b")) == "zzxy..");
    const LogApplyStats& st = a.stats();
    CHECK(st.transactions == 3);
    CHECK(st.dict_records == 2);
    CHECK(st.ranges == 6);
    CHECK(st.bytes == 17);
    CHECK(st.bytes_per_segment.at(dir.File("a")) == 13);
    CHECK(st.bytes_per_segment.at(dir.File("b")) == 4);
    CHECK(st.writes == (coalesce ? 2u : 6u));  // one extent per segment
    // Finish again writes nothing more.
    REQUIRE(a.Finish().ok());
    CHECK(a.stats().writes == st.writes);
  }
}

TEST_CASE("coalescing with direct writes of large ranges leaves the bytes streaming leaves") {
  // Large ranges are written as met and forgotten from what is pending;
  // small ones are merged and written at Finish. Random overlapping ranges
  // of both kinds must end as the streaming result: the last write wins.
  TempDir dir;
  std::mt19937 rng(4242);
  for (int round = 0; round < 40; ++round) {
    CAPTURE(round);
    Records r;
    std::vector<LogRecord> recs = {r.Dict(1, dir.File("s"))};
    for (int t = 0; t < 30; ++t) {
      std::vector<Range> ranges;
      for (int k = 0; k < 1 + int(rng() % 3); ++k) {
        size_t len = (rng() % 3 == 0) ? 16 + rng() % 48 : 1 + rng() % 15;
        size_t off = rng() % (256 - len);
        ranges.push_back({1, off, std::string(len, char('A' + rng() % 26))});
      }
      recs.push_back(r.Txn(ranges));
    }
    WriteFile(dir.File("s"), std::string(256, '.'));
    LogApplier streaming{LogApplyOptions{}};
    REQUIRE(ApplyAll(&streaming, recs).ok());
    const std::string want = ReadFile(dir.File("s"));
    WriteFile(dir.File("s"), std::string(256, '.'));
    LogApplyOptions o = Coalescing();
    o.direct_min = 16;
    LogApplier mixed(o);
    REQUIRE(ApplyAll(&mixed, recs).ok());
    CHECK(ReadFile(dir.File("s")) == want);
    // Fewer writes than streaming: the small ranges were merged.
    CHECK(mixed.stats().writes < streaming.stats().writes);
  }
}

TEST_CASE("applying the same records again is harmless") {
  TempDir dir;
  WriteFile(dir.File("a"), std::string(12, '.'));
  WriteFile(dir.File("b"), std::string(6, '.'));
  for (int i = 0; i < 2; i++) {
    LogApplier a(Coalescing());
    REQUIRE(ApplyAll(&a, OverlappingLog(dir)).ok());
    CHECK(ReadFile(dir.File("a")) == "AAAAbbCADD..");
  }
}

TEST_CASE("a range goes to the file its code names at that point of the log") {
  TempDir dir;
  for (bool coalesce : {false, true}) {
    CAPTURE(coalesce);
    WriteFile(dir.File("a"), "....");
    WriteFile(dir.File("b"), "....");
    Records r;
    LogApplyOptions o;
    o.coalesce = coalesce;
    LogApplier a(o);
    REQUIRE(ApplyAll(&a, {r.Dict(1, dir.File("a")), r.Txn({{1, 0, "1"}}), r.Dict(1, dir.File("b")),
                          r.Txn({{1, 1, "2"}})})
                .ok());
    CHECK(ReadFile(dir.File("a")) == "1...");
    CHECK(ReadFile(dir.File("b")) == ".2..");
  }
}

TEST_CASE("the segment map overrides dictionary records and names codes they do not") {
  TempDir dir;
  WriteFile(dir.File("other"), "........");
  Records r;
  LogApplyOptions o;
  o.segment_map[1] = dir.File("other");
  o.segment_map[7] = dir.File("other");
  LogApplier a(o);
  REQUIRE(ApplyAll(&a, {r.Dict(1, dir.File("never")), r.Txn({{1, 0, "ab"}}), r.Txn({{7, 4, "cd"}})})
              .ok());
  CHECK(ReadFile(dir.File("other")) == "ab..cd..");
  CHECK(!std::filesystem::exists(dir.File("never")));
}

TEST_CASE("a dry run checks records and files but writes nothing") {
  TempDir dir;
  WriteFile(dir.File("a"), std::string(12, '.'));
  WriteFile(dir.File("b"), std::string(6, '.'));
  for (bool coalesce : {false, true}) {
    LogApplyOptions o;
    o.dry_run = true;
    o.coalesce = coalesce;
    LogApplier a(o);
    REQUIRE(ApplyAll(&a, OverlappingLog(dir)).ok());
    CHECK(ReadFile(dir.File("a")) == std::string(12, '.'));
    CHECK(ReadFile(dir.File("b")) == std::string(6, '.'));
    CHECK(a.stats().ranges == 6);
    CHECK(a.stats().writes == 0);
  }
  // A missing file fails at the record that names it.
  Records r;
  LogApplyOptions o;
  o.dry_run = true;
  LogApplier a(o);
  REQUIRE(a.Apply(r.Dict(3, dir.File("gone"))).ok());
  LogRecord t = r.Txn({{3, 0, "x"}});
  Status s = a.Apply(t);
  CHECK(s.code() == Status::Code::kIoError);
  CHECK(s.ToString().find(dir.File("gone")) != std::string::npos);
  CHECK(s.ToString().find("offset " + std::to_string(t.header.offset)) != std::string::npos);
  CHECK(!std::filesystem::exists(dir.File("gone")));
}

TEST_CASE("errors name the record and what is wrong") {
  TempDir dir;
  WriteFile(dir.File("a"), "....");
  Records r;
  LogApplier a(LogApplyOptions{});
  // A code no dictionary record names (yet).
  LogRecord early = r.Txn({{1, 0, "x"}});
  Status s = a.Apply(early);
  CHECK(s.code() == Status::Code::kNotFound);
  CHECK(s.ToString().find("segment code 1") != std::string::npos);
  CHECK(s.ToString().find("lsn " + std::to_string(early.header.lsn)) != std::string::npos);
  // Unparsable payloads.
  s = a.Apply(r.Make(RecordType::kSegmentDict, "abc"));
  CHECK(s.code() == Status::Code::kCorruption);
  CHECK(s.ToString().find("segment dictionary") != std::string::npos);
  LogRecord bad = r.Txn({{1, 0, "xyz"}});
  bad.payload.resize(bad.payload.size() - 8);
  s = a.Apply(bad);
  CHECK(s.code() == Status::Code::kCorruption);
  CHECK(s.ToString().find("transaction payload") != std::string::npos);
  // A range past INT64_MAX.
  REQUIRE(a.Apply(r.Dict(1, dir.File("a"))).ok());
  s = a.Apply(r.Txn({{1, uint64_t(INT64_MAX) - 1, "xyz"}}));
  CHECK(s.code() == Status::Code::kCorruption);
  CHECK(s.ToString().find("out of range") != std::string::npos);
  // Padding and unknown types carry nothing.
  CHECK(a.Apply(r.Make(RecordType::kPadding, std::string(16, '\xff'))).ok());
  CHECK(a.Apply(r.Make(static_cast<RecordType>(77), "??")).ok());
  REQUIRE(a.Finish().ok());
  CHECK(a.stats().transactions == 0);
  CHECK(ReadFile(dir.File("a")) == "....");
}

TEST_CASE(
    "a segment file that cannot be opened fails, streaming at the record, coalescing at "
    "Finish") {
  TempDir dir;
  Records r;
  std::vector<LogRecord> recs = {r.Dict(1, dir.File("missing")), r.Txn({{1, 0, "x"}})};
  {
    LogApplier a(LogApplyOptions{});
    REQUIRE(a.Apply(recs[0]).ok());
    Status s = a.Apply(recs[1]);
    CHECK(s.code() == Status::Code::kIoError);
    CHECK(s.sys_errno() == ENOENT);
    CHECK(s.ToString().find(dir.File("missing")) != std::string::npos);
  }
  LogApplier a(Coalescing());
  for (const LogRecord& rec : recs) REQUIRE(a.Apply(rec).ok());
  Status s = a.Finish();
  CHECK(s.code() == Status::Code::kIoError);
  CHECK(s.ToString().find(dir.File("missing")) != std::string::npos);
  CHECK(!std::filesystem::exists(dir.File("missing")));
}

// The fault point: the test re-runs itself (this test case only) with
// RVM_FAULT set, since RVM_FAULT is read once per process.
TEST_CASE("the fault point is hit after each range or after each coalesced extent") {
  const char* child_dir = ::getenv("LOG_APPLIER_FAULT_DIR");
  const char* child_mode = ::getenv("LOG_APPLIER_FAULT_COALESCE");
  if (child_dir != nullptr && child_mode != nullptr) {
    // The child: dies at the hit RVM_FAULT names (exit 77) if the point works.
    std::string d(child_dir);
    Records r;
    LogApplyOptions o;
    o.coalesce = std::string(child_mode) == "1";
    o.fault_point = "test.apply";
    LogApplier a(o);
    Status s = ApplyAll(&a, {r.Dict(1, d + "/a"), r.Dict(2, d + "/b"), r.Txn({{1, 0, "1"}}),
                             r.Txn({{1, 1, "2"}, {2, 0, "3"}})});
    ::_exit(s.ok() ? 0 : 1);
  }
  TempDir dir;
  for (const char* mode : {"0", "1"}) {
    CAPTURE(mode);
    WriteFile(dir.File("a"), "..");
    WriteFile(dir.File("b"), "..");
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::setenv("LOG_APPLIER_FAULT_DIR", dir.File("").c_str(), 1);
      ::setenv("LOG_APPLIER_FAULT_COALESCE", mode, 1);
      ::setenv("RVM_FAULT", mode[0] == '1' ? "test.apply:exit:1" : "test.apply:exit:2", 1);
      const char* argv[] = {
          "/proc/self/exe",
          "the fault point is hit after each range or after each coalesced extent", nullptr};
      ::execv(argv[0], const_cast<char* const*>(argv));
      ::_exit(127);
    }
    int st = 0;
    REQUIRE(::waitpid(pid, &st, 0) == pid);
    REQUIRE(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 77);
    // Streaming, dying at the 2nd hit: ranges "1" and "2" written, "3" not.
    // Coalescing, dying at the 1st: segment a's one merged extent "12"
    // written, b's not.
    CHECK(ReadFile(dir.File("a")) == "12");
    CHECK(ReadFile(dir.File("b")) == "..");
  }
}
