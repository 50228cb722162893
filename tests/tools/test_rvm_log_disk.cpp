// rvm-log on disk logs: inspect, verify and replay over sound, empty,
// wrapped, corrupted and truncated logs; the CLI as a subprocess.
#include <catch2/catch.hpp>
#include <sstream>

#include "commands.h"
#include "disk_log.h"
#include "shim/remote_marker.h"
#include "tools_test_helpers.h"

using namespace rvmr;
using namespace rvmr::tools;
using rvmr::testing::LogBuilder;
using rvmr::testing::TempDir;

namespace {

using Out = testing::CommandOutput;
using testing::kSegSize;

int Verify(const std::string& path, Out* o) {
  VerifyOptions v;
  v.log_paths = {path};
  return RunVerify(v, o->out, o->err);
}

int Replay(const std::string& path, Out* o, bool dry = false,
           std::map<uint32_t, std::string> map = {}) {
  ReplayCmdOptions r;
  r.log_path = path;
  r.from = "disk";
  r.dry_run = dry;
  r.progress = 0;
  r.segment_map = std::move(map);
  return RunReplay(r, o->out, o->err);
}

// A log with two segments and `n` random transactions; the segment files
// zero-filled.
void Fill(LogBuilder* b, const TempDir& dir, int n) {
  testing::FillTwoSegments(b, dir, n);
  testing::MakeTwoSegments(dir);
}

void CheckSegments(const LogBuilder& b, const TempDir& dir) {
  for (const char* s : {"seg1", "seg2"}) {
    auto it = b.model().find(dir.File(s));
    std::string want = testing::Expected(it == b.model().end() ? "" : it->second, kSegSize);
    CHECK(testing::ReadFile(dir.File(s)) == want);
  }
}

}  // namespace

TEST_CASE("inspect shows status, records, ranges and the end", "[inspect]") {
  TempDir dir;
  LogBuilder b(dir.File("log"), 1 << 20);
  REQUIRE(b.ok());
  Fill(&b, dir, 10);
  Out o;
  InspectOptions io;
  io.log_paths = {b.path()};
  REQUIRE(RunInspect(io, o.out, o.err) == kExitOk);
  std::string s = o.out.str();
  CHECK(s.find("log id " + LogIdHex(b.status())) != std::string::npos);
  CHECK(s.find("lsn 12") != std::string::npos);
  CHECK(s.find("code 1 -> " + dir.File("seg1")) != std::string::npos);
  CHECK(s.find("seg 2 (" + dir.File("seg2") + ")") != std::string::npos);
  CHECK(s.find("12 records, 10 transactions") != std::string::npos);
  CHECK(s.find("normal end of the log") != std::string::npos);
}

TEST_CASE("inspect --json: one object per line with the documented fields", "[inspect]") {
  TempDir dir;
  LogBuilder b(dir.File("log"), 1 << 20);
  REQUIRE(b.ok());
  Fill(&b, dir, 5);
  Out o;
  InspectOptions io;
  io.log_paths = {b.path()};
  io.json = true;
  REQUIRE(RunInspect(io, o.out, o.err) == kExitOk);
  std::istringstream lines(o.out.str());
  std::string line;
  int status = 0, records = 0, end = 0;
  while (std::getline(lines, line)) {
    REQUIRE(line.front() == '{');
    REQUIRE(line.back() == '}');
    if (line.find("\"kind\":\"status\"") != std::string::npos) {
      status++;
      for (const char* f : {"\"head\":", "\"head_lsn\":", "\"tail_hint\":", "\"epoch\":",
                            "\"area_size\":", "\"log_id\":", "\"copy\":"})
        CHECK(line.find(f) != std::string::npos);
    } else if (line.find("\"kind\":\"record\"") != std::string::npos) {
      records++;
      for (const char* f : {"\"offset\":", "\"file_pos\":", "\"lsn\":", "\"epoch\":", "\"type\":",
                            "\"crc\":\"0x", "\"payload_len\":", "\"size\":"})
        CHECK(line.find(f) != std::string::npos);
      if (line.find("\"type\":\"transaction\"") != std::string::npos) {
        CHECK(line.find("\"ranges\":[{\"segment_code\":") != std::string::npos);
        CHECK(line.find("\"length\":") != std::string::npos);
      }
    } else if (line.find("\"kind\":\"end\"") != std::string::npos) {
      end++;
      CHECK(line.find("\"damage\":false") != std::string::npos);
    }
  }
  CHECK(status == 1);
  CHECK(records == 7);
  CHECK(end == 1);
}

TEST_CASE("inspect filters by LSN, segment and transaction", "[inspect]") {
  TempDir dir;
  LogBuilder b(dir.File("log"), 1 << 20);
  REQUIRE(b.ok());
  b.AddDict(1, dir.File("seg1"));
  b.AddDict(2, dir.File("seg2"));
  b.AddTxn({{1, 0, "aaaa"}});
  b.AddTxn({{2, 8, "bbbb"}});
  b.AddTxn({{1, 16, "cccc"}, {2, 0, "dd"}});
  b.Sync();
  auto count = [](const std::string& s) {
    size_t n = 0, p = 0;
    while ((p = s.find("\"kind\":\"record\"", p)) != std::string::npos) n++, p++;
    return n;
  };
  InspectOptions io;
  io.log_paths = {b.path()};
  io.json = true;
  {
    Out o;
    io.lsn_from = 3;
    io.lsn_to = 4;
    REQUIRE(RunInspect(io, o.out, o.err) == kExitOk);
    CHECK(count(o.out.str()) == 2);
    CHECK(o.out.str().find("\"lsn\":5") == std::string::npos);
  }
  {
    Out o;
    io.lsn_from = 0;
    io.lsn_to = UINT64_MAX;
    io.segment = "2";
    REQUIRE(RunInspect(io, o.out, o.err) == kExitOk);
    CHECK(count(o.out.str()) == 3);  // dict 2, txn 4, txn 5
  }
  {
    Out o;
    io.segment = dir.File("seg1");
    REQUIRE(RunInspect(io, o.out, o.err) == kExitOk);
    CHECK(count(o.out.str()) == 3);  // dict 1, txn 3, txn 5
  }
  {
    Out o;
    io.segment.clear();
    io.has_txn = true;
    io.txn_lsn = 4;
    REQUIRE(RunInspect(io, o.out, o.err) == kExitOk);
    CHECK(count(o.out.str()) == 1);
    CHECK(o.out.str().find("\"data\":\"62 62 62 62\"") != std::string::npos);
  }
}

TEST_CASE("verify: a sound log, an empty log and a wrapped log", "[verify]") {
  TempDir dir;
  {
    LogBuilder b(dir.File("sound"), 1 << 20);
    REQUIRE(b.ok());
    Fill(&b, dir, 50);
    Out o;
    CHECK(Verify(b.path(), &o) == kExitOk);
    CHECK(o.out.str().find("OK:") != std::string::npos);
  }
  {
    LogBuilder b(dir.File("empty"), 4096);
    REQUIRE(b.ok());
    Out o;
    CHECK(Verify(b.path(), &o) == kExitOk);
    CHECK(o.out.str().find("0 records") != std::string::npos);
    Out r;
    CHECK(Replay(b.path(), &r) == kExitOk);
    CHECK(r.out.str().find("replayed 0 transactions") != std::string::npos);
  }
  {
    // Head near the end of a small area, at a later lap: records straddle
    // the wrap point.
    const uint64_t area = 16384;
    LogBuilder b(dir.File("wrapped"), area, 5 * area - 1000, 777, 4);
    REQUIRE(b.ok());
    Fill(&b, dir, 20);
    REQUIRE(b.tail() > 5 * area);
    REQUIRE(b.tail() - b.head() < area);
    Out o;
    CHECK(Verify(b.path(), &o) == kExitOk);
    Out r;
    REQUIRE(Replay(b.path(), &r) == kExitOk);
    CheckSegments(b, dir);
  }
}

TEST_CASE("verify reports the offset, file position and reason of corruption", "[verify]") {
  TempDir dir;
  LogBuilder b(dir.File("log"), 1 << 20);
  REQUIRE(b.ok());
  Fill(&b, dir, 10);
  uint64_t bad = b.offsets()[5];
  b.Poke(bad + 60, "\x55");  // inside the payload
  Out o;
  CHECK(Verify(b.path(), &o) == kExitProblem);
  std::string s = o.out.str();
  CHECK(s.find("FAIL") != std::string::npos);
  CHECK(s.find("offset " + std::to_string(bad) + " (file position " + std::to_string(8192 + bad) +
               ")") != std::string::npos);
  CHECK(s.find("bad crc") != std::string::npos);
  // inspect shows the prefix and flags the damage.
  Out i;
  InspectOptions io;
  io.log_paths = {b.path()};
  CHECK(RunInspect(io, i.out, i.err) == kExitProblem);
  CHECK(i.out.str().find("DAMAGED") != std::string::npos);
}

TEST_CASE("verify: a log shorter than its committed tail", "[verify]") {
  TempDir dir;
  LogBuilder b(dir.File("log"), 1 << 20);
  REQUIRE(b.ok());
  Fill(&b, dir, 10);
  uint64_t last = b.offsets().back();
  b.Zero(last, b.tail());  // the last committed record is gone
  Out o;
  CHECK(Verify(b.path(), &o) == kExitProblem);
  CHECK(o.out.str().find("offset " + std::to_string(last)) != std::string::npos);
  CHECK(o.out.str().find("tail_hint " + std::to_string(b.tail())) != std::string::npos);
  Out r;
  CHECK(Replay(b.path(), &r) == kExitProblem);
  CHECK(r.err.str().find("cannot be fully found") != std::string::npos);
}

TEST_CASE("verify: truncated files and damaged status blocks", "[verify]") {
  TempDir dir;
  {
    LogBuilder b(dir.File("short"), 1 << 20);
    REQUIRE(b.ok());
    Fill(&b, dir, 3);
    REQUIRE(::truncate(b.path().c_str(), 100000) == 0);
    Out o;
    CHECK(Verify(b.path(), &o) == kExitProblem);
    CHECK(o.out.str().find("the file is 100000 bytes") != std::string::npos);
    Out r;
    CHECK(Replay(b.path(), &r) == kExitProblem);
  }
  {
    LogBuilder b(dir.File("tiny"), 1 << 20);
    REQUIRE(b.ok());
    REQUIRE(::truncate(b.path().c_str(), 3000) == 0);
    Out o;
    CHECK(Verify(b.path(), &o) == kExitProblem);
    CHECK(o.out.str().find("neither status copy is valid") != std::string::npos);
  }
  {
    LogBuilder b(dir.File("onecopy"), 1 << 20);
    REQUIRE(b.ok());
    Fill(&b, dir, 3);
    int fd = ::open(b.path().c_str(), O_RDWR);
    REQUIRE(fd >= 0);
    int which = -1;
    log::LogStatus st;
    REQUIRE(log::ReadLogStatus(fd, &st, &which).ok());
    REQUIRE(::pwrite(fd, "garbage", 7, off_t(which * 4096 + 20)) == 7);
    ::close(fd);
    Out o;
    CHECK(Verify(b.path(), &o) == kExitOk);  // the older copy still describes the log
    CHECK(o.err.str().find("status copy " + std::to_string(which) + " is invalid") !=
          std::string::npos);
  }
  {
    TempDir d2;
    testing::WriteFile(d2.File("notalog"), std::string(20000, 'x'));
    Out o;
    CHECK(Verify(d2.File("notalog"), &o) == kExitError);  // not a log: a usage error
    CHECK(o.err.str().find("not an rvm_remote log") != std::string::npos);
    Out i;
    InspectOptions io;
    io.log_paths = {d2.File("missing")};
    CHECK(RunInspect(io, i.out, i.err) == kExitError);
    CHECK(i.err.str().find(d2.File("missing")) != std::string::npos);
  }
}

TEST_CASE("replay from disk applies every transaction, idempotently", "[replay]") {
  TempDir dir;
  LogBuilder b(dir.File("log"), 1 << 20);
  REQUIRE(b.ok());
  Fill(&b, dir, 200);
  {
    Out o;
    REQUIRE(Replay(b.path(), &o, /*dry=*/true) == kExitOk);
    CHECK(o.out.str().find("dry run") != std::string::npos);
    CHECK(testing::ReadFile(dir.File("seg1")) == std::string(kSegSize, '\0'));
  }
  Out o;
  REQUIRE(Replay(b.path(), &o) == kExitOk);
  CHECK(o.out.str().find("replayed 200 transactions") != std::string::npos);
  CheckSegments(b, dir);
  std::string s1 = testing::ReadFile(dir.File("seg1"));
  std::string s2 = testing::ReadFile(dir.File("seg2"));
  Out again;
  REQUIRE(Replay(b.path(), &again) == kExitOk);
  CHECK(testing::ReadFile(dir.File("seg1")) == s1);
  CHECK(testing::ReadFile(dir.File("seg2")) == s2);
}

TEST_CASE("replay: later ranges win, --segment-map redirects, missing files fail", "[replay]") {
  TempDir dir;
  LogBuilder b(dir.File("log"), 1 << 20);
  REQUIRE(b.ok());
  b.AddDict(1, dir.File("seg1"));
  b.AddTxn({{1, 0, "AAAAAAAA"}, {1, 4, "bb"}});
  b.AddTxn({{1, 6, "C"}});
  b.Sync();
  testing::WriteFile(dir.File("other"), std::string(16, '.'));
  Out o;
  REQUIRE(Replay(b.path(), &o, false, {{1, dir.File("other")}}) == kExitOk);
  CHECK(testing::ReadFile(dir.File("other")) == "AAAAbbCA........");
  CHECK(!std::filesystem::exists(dir.File("seg1")));
  Out m;
  CHECK(Replay(b.path(), &m) == kExitError);
  CHECK(m.err.str().find(dir.File("seg1")) != std::string::npos);
  // A transaction naming a segment code no dictionary record names.
  LogBuilder c(dir.File("log2"), 1 << 20);
  REQUIRE(c.ok());
  c.AddTxn({{9, 0, "x"}});
  c.Sync();
  Out n;
  CHECK(Replay(c.path(), &n) == kExitProblem);
  CHECK(n.err.str().find("segment code 9") != std::string::npos);
  Out v;
  CHECK(Verify(c.path(), &v) == kExitProblem);
}

TEST_CASE("a log whose mirrors may hold more: warned, replay incomplete", "[marker]") {
  TempDir dir;
  LogBuilder b(dir.File("log"), 1 << 20);
  REQUIRE(b.ok());
  Fill(&b, dir, 10);
  const std::string marker = dir.File("log") + ".remote";
  auto write_marker = [&](RemoteMarker::State state) {
    RemoteMarker m;
    m.name = LogIdHex(b.status());
    m.log_id = m.name;
    m.state = state;
    REQUIRE(WriteRemoteMarker(b.path(), m).ok());
  };
  auto warned = [&](const Out& o) {
    const std::string e = o.err.str();
    return e.find("warning:") != std::string::npos && e.find(marker) != std::string::npos &&
           e.find("RVM_MIRRORS") != std::string::npos &&
           e.find("abandon_mirror_copy = yes") != std::string::npos &&
           e.find("--remote") != std::string::npos;
  };
  // The last remote-mode writer did not close it: the mirrors may hold more.
  write_marker(RemoteMarker::State::kOpen);
  {
    Out o;
    InspectOptions io;
    io.log_paths = {b.path()};
    CHECK(RunInspect(io, o.out, o.err) == kExitOk);  // inspection: a warning only
    CHECK(warned(o));
  }
  {
    Out o;
    CHECK(Verify(b.path(), &o) == kExitOk);  // the disk copy itself is sound
    CHECK(warned(o));
  }
  {
    Out o;
    CHECK(Replay(b.path(), &o) == kExitProblem);  // applied, but maybe not all
    CHECK(warned(o));
    CHECK(o.err.str().find("the committed tail cannot be fully found") != std::string::npos);
    CheckSegments(b, dir);
  }
  // Closed cleanly, or abandoned: the disk copy is the log; nothing to say.
  for (auto state : {RemoteMarker::State::kClosed, RemoteMarker::State::kAbandoned}) {
    write_marker(state);
    Out o;
    CHECK(Replay(b.path(), &o) == kExitOk);
    CHECK(o.err.str().empty());
  }
}

TEST_CASE("the CLI as a subprocess: exit codes and messages", "[cli]") {
  TempDir dir;
  LogBuilder b(dir.File("log"), 1 << 20);
  REQUIRE(b.ok());
  Fill(&b, dir, 20);
  auto r = testing::RunCli("verify " + b.path());
  CHECK(r.code == 0);
  CHECK(r.output.find("OK:") != std::string::npos);
  r = testing::RunCli("inspect --json --lsn-from 3 --lsn-to 3 " + b.path());
  CHECK(r.code == 0);
  CHECK(r.output.find("\"lsn\":3") != std::string::npos);
  CHECK(r.output.find("\"lsn\":4") == std::string::npos);
  r = testing::RunCli("replay --from disk --no-progress " + b.path());
  CHECK(r.code == 0);
  CHECK(r.output.find("replayed 20 transactions") != std::string::npos);
  CheckSegments(b, dir);
  r = testing::RunCli("replay --from disk --progress --dry-run " + b.path());
  CHECK(r.code == 0);
  CHECK(r.output.find("replay [####") != std::string::npos);
  b.Poke(b.offsets()[3] + 50, "\xAB\xCD");
  r = testing::RunCli("verify " + b.path());
  CHECK(r.code == 1);
  CHECK(r.output.find("offset " + std::to_string(b.offsets()[3])) != std::string::npos);
  r = testing::RunCli("verify " + dir.File("nope"));
  CHECK(r.code == 2);
  CHECK(r.output.find(dir.File("nope")) != std::string::npos);
  r = testing::RunCli("replay --from sideways " + b.path());
  CHECK(r.code == 2);
  r = testing::RunCli("replay --segment-map nonsense " + b.path());
  CHECK(r.code == 2);
  CHECK(r.output.find("CODE=PATH") != std::string::npos);
  r = testing::RunCli("--help");
  CHECK(r.code == 0);
  CHECK(r.output.find("replay") != std::string::npos);
}
