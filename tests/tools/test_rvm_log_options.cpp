// rvm-log options shared by the subcommands: --from-offset, --to-offset and
// --limit; several logs in one call; the exit status scheme of every
// subcommand (0 ok, 1 verification failed, 2 usage or I/O error).
#include <catch2/catch.hpp>
#include <sstream>

#include "commands.h"
#include "tools_test_helpers.h"

using namespace rvmr;
using namespace rvmr::tools;
using rvmr::testing::Count;
using rvmr::testing::LogBuilder;
using rvmr::testing::TempDir;

namespace {

using Out = testing::CommandOutput;

int Inspect(InspectOptions io, const std::string& path, Out* o) {
  io.log_paths = {path};
  io.json = true;
  return RunInspect(io, o->out, o->err);
}

// The LSNs of the records an inspect --json printed, in order.
std::vector<uint64_t> Lsns(const std::string& out) {
  std::vector<uint64_t> v;
  for (size_t p = out.find("\"lsn\":"); p != std::string::npos; p = out.find("\"lsn\":", p + 1))
    v.push_back(std::stoull(out.substr(p + 6)));
  return v;
}

// A sound log: 2 dictionary records, then 10 transactions (LSNs 1..12).
void Fill(LogBuilder* b, const TempDir& dir) {
  testing::FillTwoSegments(b, dir, 10);
}

// Both status copies of `path` with a damaged CRC: still a log, but damaged.
void DamageStatusBlocks(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR);
  REQUIRE(fd >= 0);
  for (off_t copy : {0, 4096}) REQUIRE(::pwrite(fd, "\x5a", 1, copy + 20) == 1);
  ::close(fd);
}

}  // namespace

TEST_CASE("inspect --from-offset, --to-offset and --limit select records", "[options]") {
  TempDir dir;
  LogBuilder b(dir.File("log"), 1 << 20);
  REQUIRE(b.ok());
  Fill(&b, dir);
  const auto& off = b.offsets();
  InspectOptions io;
  {
    Out o;  // a record boundary: from that record on, no note
    io.from_offset = off[4];
    REQUIRE(Inspect(io, b.path(), &o) == kExitOk);
    CHECK(Lsns(o.out.str()) == std::vector<uint64_t>{5, 6, 7, 8, 9, 10, 11, 12});
    CHECK(o.err.str().empty());
  }
  {
    Out o;  // inside record 5: from record 6, with a note naming record 5
    io.from_offset = off[4] + 8;
    REQUIRE(Inspect(io, b.path(), &o) == kExitOk);
    CHECK(Lsns(o.out.str()).front() == 6);
    CHECK(o.err.str().find("note: disk log " + b.path() + ": --from-offset " +
                           std::to_string(off[4] + 8) + " is inside the record at offset " +
                           std::to_string(off[4])) != std::string::npos);
    CHECK(o.err.str().find("showing from the next record, at offset " + std::to_string(off[5])) !=
          std::string::npos);
  }
  {
    Out o;  // [from, to): records starting before to
    io.from_offset = off[2];
    io.to_offset = off[5];
    REQUIRE(Inspect(io, b.path(), &o) == kExitOk);
    CHECK(Lsns(o.out.str()) == std::vector<uint64_t>{3, 4, 5});
    CHECK(o.out.str().find("\"reason\":\"--to-offset reached\"") != std::string::npos);
    CHECK(o.out.str().find("\"offset\":" + std::to_string(off[5]) + ",") != std::string::npos);
  }
  {
    Out o;  // --limit after the other filters
    io.from_offset = off[3];
    io.to_offset = UINT64_MAX;
    io.limit = 2;
    REQUIRE(Inspect(io, b.path(), &o) == kExitOk);
    CHECK(Lsns(o.out.str()) == std::vector<uint64_t>{4, 5});
    CHECK(o.out.str().find("\"reason\":\"record limit reached\"") != std::string::npos);
    CHECK(o.out.str().find("\"shown\":2") != std::string::npos);
  }
  {
    Out o;  // --limit with --segment counts the records shown
    InspectOptions s;
    s.segment = "1";
    s.limit = 3;
    s.lsn_from = 3;
    REQUIRE(Inspect(s, b.path(), &o) == kExitOk);
    CHECK(Count(o.out.str(), "\"kind\":\"record\"") == 3);
  }
  // A head after offset 0: an offset before it starts at the head, noted.
  const uint64_t area = 16384;
  LogBuilder w(dir.File("wrapped"), area, 3 * area + 512, 40, 2);
  REQUIRE(w.ok());
  Fill(&w, dir);
  Out o;
  InspectOptions from0;
  from0.from_offset = 100;
  REQUIRE(Inspect(from0, w.path(), &o) == kExitOk);
  CHECK(Lsns(o.out.str()).front() == 40);
  CHECK(o.err.str().find("is before the first record the copy holds") != std::string::npos);
  // The text form says why the listing ended.
  auto r = testing::RunCli("inspect --limit 1 " + b.path());
  CHECK(r.code == 0);
  CHECK(r.output.find("record limit reached") != std::string::npos);
  CHECK(r.output.find("summary: 1 records") != std::string::npos);
  r = testing::RunCli("inspect --limit 0 " + b.path());
  CHECK(r.code == 2);
}

TEST_CASE("verify --to-offset checks the records before it only", "[options]") {
  TempDir dir;
  LogBuilder b(dir.File("log"), 1 << 20);
  REQUIRE(b.ok());
  Fill(&b, dir);
  b.Poke(b.offsets()[7] + 60, "\x55");
  VerifyOptions v;
  v.log_paths = {b.path()};
  Out all;
  CHECK(RunVerify(v, all.out, all.err) == kExitProblem);
  v.to_offset = b.offsets()[7];
  Out part;
  CHECK(RunVerify(v, part.out, part.err) == kExitOk);
  INFO(part.out.str() + part.err.str());
  CHECK(part.out.str().find("OK: disk log " + b.path() + ": 7 records") != std::string::npos);
  v.to_offset = b.offsets()[7] + 1;
  Out past;
  CHECK(RunVerify(v, past.out, past.err) == kExitProblem);
}

TEST_CASE("several logs in one call: each headed, the worst exit status", "[options]") {
  TempDir dir;
  LogBuilder a(dir.File("a.log"), 1 << 20), d(dir.File("d.log"), 1 << 20);
  REQUIRE(a.ok());
  REQUIRE(d.ok());
  Fill(&a, dir);
  Fill(&d, dir);
  d.Poke(d.offsets()[3] + 60, "\x55");  // damaged
  const std::string missing = dir.File("missing.log");

  auto r = testing::RunCli("inspect " + a.path() + " " + a.path());
  CHECK(r.code == 0);
  CHECK(Count(r.output, "==> " + a.path() + " <==") == 2);
  CHECK(Count(r.output, "summary: 12 records") == 2);
  r = testing::RunCli("inspect " + a.path() + " " + d.path());
  CHECK(r.code == 1);
  CHECK(r.output.find("==> " + d.path() + " <==") != std::string::npos);
  CHECK(r.output.find("DAMAGED") != std::string::npos);
  r = testing::RunCli("inspect " + missing + " " + d.path() + " " + a.path());
  CHECK(r.code == 2);  // the worst: a log that cannot be read
  CHECK(r.output.find(missing + ": cannot open log file") != std::string::npos);
  CHECK(Count(r.output, "summary: ") == 2);  // the others are still shown

  r = testing::RunCli("verify " + a.path() + " " + d.path());
  CHECK(r.code == 1);
  CHECK(r.output.find("OK: disk log " + a.path()) != std::string::npos);
  CHECK(r.output.find("FAIL: disk log " + d.path()) != std::string::npos);
  r = testing::RunCli("verify --json " + a.path() + " " + a.path());
  CHECK(r.code == 0);
  CHECK(Count(r.output, "{\"kind\":\"file\",\"path\":\"" + a.path() + "\"}") == 2);
  CHECK(Count(r.output, "\"sound\":true") == 2);
  r = testing::RunCli("verify --name x --remote tcp://127.0.0.1:1 " + a.path() + " " + a.path());
  CHECK(r.code == 2);
  CHECK(r.output.find("--name names one remote copy") != std::string::npos);
}

TEST_CASE("every subcommand's exit status: 0 ok, 1 verification failed, 2 usage or I/O",
          "[options][exit]") {
  TempDir dir;
  LogBuilder ok(dir.File("ok.log"), 1 << 20), bad(dir.File("bad.log"), 1 << 20),
      status(dir.File("status.log"), 1 << 20);
  REQUIRE(ok.ok());
  REQUIRE(bad.ok());
  REQUIRE(status.ok());
  Fill(&ok, dir);
  Fill(&bad, dir);
  Fill(&status, dir);
  testing::MakeTwoSegments(dir);
  bad.Poke(bad.offsets()[3] + 60, "\x55");  // a damaged record
  DamageStatusBlocks(status.path());        // a log whose status blocks are both damaged
  const std::string notalog = dir.File("notalog"), missing = dir.File("missing");
  testing::WriteFile(notalog, std::string(20000, 'x'));
  const std::string dead = "--timeout-ms 500 --remote tcp://127.0.0.1:1";

  struct Case {
    std::string args;
    int code;
    const char* says;  // in the output ("" : anything)
  };
  const std::vector<Case> cases = {
      {"--help", 0, "Exit status (every subcommand): 0 ok"},
      {"--version", 0, "rvm-log"},
      {"", 2, "subcommand is required"},
      {"nosuch", 2, ""},
      {"inspect --help", 0, "2 usage or I/O error"},
      {"inspect " + ok.path(), 0, "normal end of the log"},
      {"inspect " + bad.path(), 1, "DAMAGED"},
      {"inspect " + status.path(), 1, "a damaged rvm_remote log"},
      {"inspect " + notalog, 2, "not an rvm_remote log"},
      {"inspect " + missing, 2, "cannot open log file"},
      {"inspect", 2, "give a disk log path"},
      {"inspect --lsn-from x " + ok.path(), 2, ""},
      {"verify --help", 0, "1 verification failed"},
      {"verify " + ok.path(), 0, "OK:"},
      {"verify " + bad.path(), 1, "FAIL:"},
      {"verify " + status.path(), 1, "a damaged rvm_remote log"},
      {"verify " + notalog, 2, "not an rvm_remote log"},
      {"verify " + missing, 2, "cannot open log file"},
      {"verify --to-offset x " + ok.path(), 2, ""},
      {"replay --help", 0, "Exit status"},
      {"replay --from disk --no-progress --dry-run " + ok.path(), 0, "dry run"},
      {"replay --from disk --no-progress --dry-run " + bad.path(), 1, "cannot be fully found"},
      {"replay --from disk --no-progress " + status.path(), 1, "a damaged rvm_remote log"},
      {"replay --from disk --no-progress " + notalog, 2, "not an rvm_remote log"},
      {"replay --from disk --no-progress " + missing, 2, "cannot open log file"},
      {"replay --from sideways " + ok.path(), 2, ""},
      {"diff --help", 0, "Exit status"},
      {"diff " + status.path() + " " + dead, 1, "a damaged rvm_remote log"},
      {"diff " + notalog + " " + dead, 2, "not an rvm_remote log"},
      {"diff " + ok.path() + " " + dead, 2, "NOT READ"},
      {"diff " + ok.path(), 2, "--remote"},
      {"stat --help", 0, "Exit status"},
      {"stat --timeout-ms 500 tcp://127.0.0.1:1", 2, "tcp://127.0.0.1:1"},
      {"stat", 2, "uri"},
  };
  for (const Case& c : cases) {
    auto r = testing::RunCli(c.args);
    INFO("rvm-log " << c.args << "\n" << r.output);
    CHECK(r.code == c.code);
    CHECK(r.output.find(c.says) != std::string::npos);
  }
}
