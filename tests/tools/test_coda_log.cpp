// Logs of the original RVM (Coda's): the reader (tools/coda_log) on the
// fixtures the original library wrote (tests/fixtures/coda-logs), damaged
// copies of them, applying them, and rvmutl / rvm-log on them; plus rvmutl
// init_log's refusal to overwrite a log holding unapplied commits.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "coda_log/coda_log.h"
#include "coda_log/coda_log_apply.h"
#include "tools_test_helpers.h"

namespace {

using namespace rvmr;
using rvmr::testing::ReadFile;
using rvmr::testing::TempDir;
using rvmr::testing::WriteFile;

// Unpacks FIXTURE/NAME.gz into `dest`.
void Gunzip(const std::string& fixture, const std::string& name, const std::string& dest) {
  std::string cmd = "gzip -dc '" + std::string(CODA_FIXTURE_DIR) + "/" + fixture + "/" + name +
                    ".gz' > '" + dest + "'";
  REQUIRE(std::system(cmd.c_str()) == 0);
}

// A fixture unpacked in a fresh directory: log (mode 0600), data, expected.
struct Fixture {
  explicit Fixture(const std::string& name) {
    Gunzip(name, "log", log());
    Gunzip(name, "data", data());
    Gunzip(name, "expected", expected());
    REQUIRE(::chmod(log().c_str(), 0600) == 0);
  }
  std::string log() const { return dir.File("log"); }
  std::string data() const { return dir.File("data"); }
  std::string expected() const { return dir.File("expected"); }
  TempDir dir;
};

std::unique_ptr<coda::CodaLog> OpenOk(const std::string& path) {
  std::unique_ptr<coda::CodaLog> log;
  Status s = coda::CodaLog::Open(path, &log);
  INFO(s.ToString());
  REQUIRE(s.ok());
  return log;
}

// Rewrites bytes of a file in place.
void Patch(const std::string& path, uint64_t pos, const std::string& bytes) {
  std::string f = ReadFile(path);
  REQUIRE(pos + bytes.size() <= f.size());
  f.replace(pos, bytes.size(), bytes);
  WriteFile(path, f);
}

using Run = rvmr::testing::RunResult;

// Runs `cmd` (stdout and stderr together) with `input` on stdin.
Run Shell(const std::string& cmd, const std::string& input = "") {
  TempDir d;
  WriteFile(d.File("in"), input);
  return rvmr::testing::RunShell(cmd + " < '" + d.File("in") + "' 2>&1");
}

Run Rvmutl(const std::string& commands) { return Shell(RVMUTL_BINARY, commands); }

mode_t ModeOf(const std::string& path) {
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

coda::ApplyOptions MapTo(const std::string& data) {
  coda::ApplyOptions o;
  o.segment_map[1] = data;
  return o;
}

}  // namespace

TEST_CASE("coda checksum: the original's word sum and its quirks", "[coda_log]") {
  alignas(8) char w[32];
  for (int i = 0; i < 32; ++i) w[i] = static_cast<char>(i + 1);
  auto word = [&](int i) { return coda::LoadU64(w + 8 * i); };
  CHECK(coda::Checksum(w, 0, 0) == 0);
  // One word: leading bytes masked, trailing bytes kept.
  CHECK(coda::Checksum(w, 2, 3) == (word(0) & ~uint64_t{0xffff}));
  // Two words: only the first counts.
  CHECK(coda::Checksum(w, 0, 12) == word(0));
  // Three words and more: the last word's trailing bytes masked.
  CHECK(coda::Checksum(w, 0, 17) == word(0) + word(1) + (word(2) & 0xff));
  CHECK(coda::Checksum(w, 3, 29) == (word(0) & ~uint64_t{0xffffff}) + word(1) + word(2) + word(3));
}

TEST_CASE("coda log: committed transactions, tail found past the status block's", "[coda_log]") {
  Fixture fx("committed");
  CHECK(coda::CodaLog::Recognize(fx.log()));
  auto log = OpenOk(fx.log());
  CHECK(log->status().log_version == "RVM Log Version  1.4 Oct 17, 1997 ");
  CHECK(log->status().log_start == 2560);
  CHECK(log->transactions().size() == 150);
  REQUIRE(log->segments().size() == 1);
  CHECK(log->segments()[0].seg_code == 1);
  CHECK(log->segments()[0].name == "/tmp/rvm-coda-fixtures/committed/data");
  CHECK(log->end() == coda::LogEnd::kClean);
  CHECK(log->wraps() == 0);
  // The status block was last written at the 100th flush: the reader goes on.
  CHECK(log->tail() > log->status().log_tail);
  CHECK(log->records().size() == 151);
  CHECK(log->Describe().find("is a log of the original RVM (Coda), version 'RVM Log Version  "
                             "1.4 Oct 17, 1997 '; 150 committed transactions not yet applied") !=
        std::string::npos);
  CHECK_FALSE(coda::CodaLog::Recognize(fx.data()));
}

TEST_CASE("coda log: a wrapped log with a transaction split at the wrap", "[coda_log]") {
  Fixture fx("wrapped");
  auto log = OpenOk(fx.log());
  CHECK(log->status().log_head > log->status().log_tail);
  CHECK(log->wraps() == 1);
  CHECK(log->transactions().size() == 5);
  size_t splits = 0;
  for (const auto& t : log->transactions()) splits += t.split ? 1 : 0;
  CHECK(splits == 1);
  CHECK(log->end() == coda::LogEnd::kClean);
  CHECK(log->tail() < log->status().log_head);  // the tail is in the second lap

  SECTION("its second part torn off: the split transaction did not commit") {
    Patch(fx.log(), log->status().log_start, std::string(96, '\0'));
    auto torn = OpenOk(fx.log());
    CHECK(torn->end() == coda::LogEnd::kTorn);
    CHECK(torn->end_reason().find("split") != std::string::npos);
    CHECK(torn->transactions().size() < 5);
    for (const auto& t : torn->transactions()) CHECK_FALSE(t.split);
  }
}

TEST_CASE("coda log: a torn tail ends the log before the torn transaction", "[coda_log]") {
  Fixture fx("torn");
  auto log = OpenOk(fx.log());
  CHECK(log->end() == coda::LogEnd::kTorn);
  CHECK(log->transactions().size() == 60);
  CHECK(log->Describe().find("torn") != std::string::npos);
}

TEST_CASE("coda log: applying gives the segment the original's recovery gave", "[coda_log]") {
  for (const char* name : {"committed", "wrapped", "torn"}) {
    INFO(name);
    Fixture fx(name);
    auto log = OpenOk(fx.log());
    std::string before = ReadFile(fx.data());
    coda::ApplyResult res;
    coda::ApplyOptions dry = MapTo(fx.data());
    dry.dry_run = true;
    REQUIRE(coda::ApplyLog(*log, dry, &res).ok());
    CHECK(res.transactions == log->transactions().size());
    CHECK(ReadFile(fx.data()) == before);
    CHECK(OpenOk(fx.log())->transactions().size() == log->transactions().size());

    Status s = coda::ApplyLog(*log, MapTo(fx.data()), &res);
    INFO(s.ToString());
    REQUIRE(s.ok());
    CHECK(ReadFile(fx.data()) == ReadFile(fx.expected()));
    // The status block now says: applied, empty.
    auto after = OpenOk(fx.log());
    CHECK(after->transactions().empty());
    CHECK(after->status().log_empty);
    CHECK(after->status().log_head == log->tail());
    CHECK(after->status().log_tail == log->tail());
    CHECK(after->status().next_rec_num == log->next_rec_num());
  }
}

TEST_CASE("coda log: the dictionary names the segment, even after the transaction using it",
          "[coda_log]") {
  // In the wrapped fixture the dictionary record follows the split
  // transaction (it starts the truncation epoch). Point it at this copy of
  // the segment (segment records carry no checksum) and apply with no map.
  Fixture fx("wrapped");
  auto log = OpenOk(fx.log());
  REQUIRE(log->segments().size() == 1);
  REQUIRE(log->records()[0].kind == coda::RecordKind::kTransaction);
  const coda::Segment& seg = log->segments()[0];
  REQUIRE(fx.data().size() <= seg.name.size());
  std::string name_len(8, '\0');
  coda::StoreU64(name_len.data(), fx.data().size());
  Patch(fx.log(), seg.file_offset + 64, name_len);
  Patch(fx.log(), seg.file_offset + coda::kSegmentHdrSize, fx.data() + std::string(1, '\0'));
  log = OpenOk(fx.log());
  REQUIRE(log->segments()[0].name == fx.data());
  coda::ApplyResult res;
  Status s = coda::ApplyLog(*log, coda::ApplyOptions(), &res);
  INFO(s.ToString());
  REQUIRE(s.ok());
  CHECK(ReadFile(fx.data()) == ReadFile(fx.expected()));
}

TEST_CASE("coda log: a truncation caught by a crash is redone from the previous head",
          "[coda_log]") {
  // The status block as the original's truncation leaves it before it
  // applies anything (new_epoch): previous head/tail bracket the records,
  // head = tail. (The original's own recovery of this very log gives the
  // committed fixture's expected segment.)
  Fixture fx("committed");
  auto log = OpenOk(fx.log());
  const uint64_t head = log->status().log_head, tail = log->status().log_tail;
  std::string block = ReadFile(fx.log()).substr(0, coda::kStatusAreaSize);
  char* st = block.data() + coda::status_field::kStatus;
  coda::StoreU64(st + coda::status_field::kPrevLogHead + 8, head);
  coda::StoreU64(st + coda::status_field::kPrevLogTail + 8, tail);
  coda::StoreU64(st + coda::status_field::kLogHead + 8, tail);
  coda::StoreU64(block.data() + coda::status_field::kChecksum, 0);
  coda::StoreU64(block.data() + coda::status_field::kChecksum,
                 coda::Checksum(block.data(), 0, coda::kStatusAreaSize));
  Patch(fx.log(), 0, block);
  log = OpenOk(fx.log());
  CHECK(log->status().scan_start() == head);
  CHECK(log->transactions().size() == 150);
  coda::ApplyResult res;
  REQUIRE(coda::ApplyLog(*log, MapTo(fx.data()), &res).ok());
  CHECK(ReadFile(fx.data()) == ReadFile(fx.expected()));
  auto after = OpenOk(fx.log());
  CHECK(after->status().prev_log_head == 0);
  CHECK(after->transactions().empty());
}

TEST_CASE("coda log: a segment the dictionary names but that is missing", "[coda_log]") {
  Fixture fx("committed");
  auto log = OpenOk(fx.log());
  coda::ApplyResult res;
  Status s = coda::ApplyLog(*log, MapTo(fx.dir.File("absent")), &res);
  CHECK_FALSE(s.ok());
  CHECK(s.message().find("absent") != std::string::npos);
  CHECK(OpenOk(fx.log())->transactions().size() == 150);  // the log is untouched
}

TEST_CASE("coda log: damage before the recorded tail is refused", "[coda_log]") {
  Fixture fx("committed");
  auto log = OpenOk(fx.log());
  // A byte of the first transaction's first range's data.
  const auto& t = log->transactions()[0];
  uint64_t pos = t.file_offset + coda::kTransHdrSize + coda::kRangeHdrSize +
                 t.ranges[0].offset % 8;
  std::string f = ReadFile(fx.log());
  Patch(fx.log(), pos, std::string(1, static_cast<char>(f[pos] ^ 0x5a)));
  auto damaged = OpenOk(fx.log());
  CHECK(damaged->end() == coda::LogEnd::kDamaged);
  CHECK(damaged->end_reason().find("checksum") != std::string::npos);
  CHECK(damaged->Describe().find("DAMAGED") != std::string::npos);
  std::string before = ReadFile(fx.data());
  coda::ApplyResult res;
  Status s = coda::ApplyLog(*damaged, MapTo(fx.data()), &res);
  CHECK(s.code() == Status::Code::kCorruption);
  CHECK(ReadFile(fx.data()) == before);
}

TEST_CASE("coda log: damaged, foreign and truncated status blocks", "[coda_log]") {
  Fixture fx("committed");
  std::unique_ptr<coda::CodaLog> log;
  std::string good = ReadFile(fx.log());

  SECTION("a byte of the status block changed: recognised, not readable") {
    Patch(fx.log(), 1000, "\x7f");
    CHECK(coda::CodaLog::Recognize(fx.log()));
    Status s = coda::CodaLog::Open(fx.log(), &log);
    CHECK(s.code() == Status::Code::kCorruption);
    CHECK(s.message().find("checksum") != std::string::npos);
  }
  SECTION("another log version, checksum right: not supported, named") {
    std::string block = good.substr(0, coda::kStatusAreaSize);
    std::memcpy(block.data() + coda::status_field::kLogVersionStr + 16, "9", 1);
    coda::StoreU64(block.data() + 8, 0);
    coda::StoreU64(block.data() + 8, coda::Checksum(block.data(), 0, coda::kStatusAreaSize));
    Patch(fx.log(), 0, block);
    Status s = coda::CodaLog::Open(fx.log(), &log);
    CHECK(s.code() == Status::Code::kNotSupported);
    CHECK(s.message().find("log version") != std::string::npos);
  }
  SECTION("cut inside the status block: not a log of the original") {
    WriteFile(fx.log(), good.substr(0, 1000));
    CHECK(coda::CodaLog::Open(fx.log(), &log).code() == Status::Code::kNotFound);
  }
  SECTION("cut inside the record area: the geometry does not fit") {
    WriteFile(fx.log(), good.substr(0, 10000));
    Status s = coda::CodaLog::Open(fx.log(), &log);
    CHECK(s.code() == Status::Code::kCorruption);
  }
  SECTION("a log of this RVM is not one of the original") {
    REQUIRE(log::CreateLogFile(fx.dir.File("ours").c_str(), 65536, 0644).ok());
    CHECK_FALSE(coda::CodaLog::Recognize(fx.dir.File("ours")));
  }
}

TEST_CASE("coda log: changed range data ends the log there; any change is read safely",
          "[coda_log]") {
  Fixture fx("wrapped");
  const std::string good = ReadFile(fx.log());
  auto orig = OpenOk(fx.log());
  const auto& txns = orig->transactions();
  std::mt19937_64 rng(19);
  for (int i = 0; i < 100; ++i) {
    // A byte of a range's data. (The original's checksum leaves the second
    // word of a two-word data area out; such ranges are not picked.)
    size_t t = rng() % txns.size();
    const coda::Range& r = txns[t].ranges[rng() % txns[t].ranges.size()];
    uint64_t words = (r.offset % 8 + r.length + 7) / 8;
    if (words == 2) continue;
    std::string f = good;
    uint64_t at = r.data_offset + rng() % r.length;
    f[at] ^= static_cast<char>(1 + rng() % 255);
    WriteFile(fx.log(), f);
    auto log = OpenOk(fx.log());
    CHECK(log->end() != coda::LogEnd::kClean);
    REQUIRE(log->transactions().size() <= t);
    for (size_t k = 0; k < log->transactions().size(); ++k)
      CHECK(log->transactions()[k].rec_num == txns[k].rec_num);
  }
  // Any bytes changed or cut: read without crashing, never more transactions.
  int refused = 0;
  for (int i = 0; i < 300; ++i) {
    std::string f = good;
    if (i % 3 == 0) {
      f.resize(rng() % good.size());
    } else {
      for (int k = 0; k < 1 + i % 4; ++k) f[rng() % f.size()] ^= static_cast<char>(1 + rng() % 255);
    }
    WriteFile(fx.log(), f);
    std::unique_ptr<coda::CodaLog> log;
    if (!coda::CodaLog::Open(fx.log(), &log).ok()) {
      ++refused;
      continue;
    }
    CHECK(log->transactions().size() <= txns.size());
    CHECK(log->tail() <= f.size());
  }
  CHECK(refused > 0);
}

TEST_CASE("rvmutl and rvm-log name an original log, without calling it damaged", "[coda_log]") {
  Fixture fx("committed");
  Run r = Rvmutl("open_log " + fx.log() + "\nstatus\nseg_dict\nshow all\nhead\nquit\n");
  INFO(r.output);
  CHECK(r.output.find("is a log of the original RVM (Coda), version 'RVM Log Version  1.4 Oct "
                      "17, 1997 '; 150 committed transactions not yet applied; use rvmutl "
                      "open_log") != std::string::npos);
  CHECK(r.output.find("(a log of the original RVM)") != std::string::npos);
  CHECK(r.output.find("1: /tmp/rvm-coda-fixtures/committed/data") != std::string::npos);
  CHECK(r.output.find("transaction at offset") != std::string::npos);
  CHECK(r.output.find("head: not available on a log of the original RVM") != std::string::npos);
  CHECK(r.output.find("damaged") == std::string::npos);

  for (const char* sub : {"inspect", "verify"}) {
    Run l = Shell(std::string(RVM_LOG_BINARY) + " " + sub + " " + fx.log());
    INFO(l.output);
    CHECK(l.code == 2);
    CHECK(l.output.find("is a log of the original RVM (Coda)") != std::string::npos);
    CHECK(l.output.find("150 committed transactions not yet applied") != std::string::npos);
    CHECK(l.output.find("damaged") == std::string::npos);
  }
}

TEST_CASE("rvmutl open_log + recover applies an original log; then i makes ours", "[coda_log]") {
  for (const char* name : {"committed", "wrapped", "torn"}) {
    INFO(name);
    Fixture fx(name);
    std::string log_before = ReadFile(fx.log());
    // i refuses the log while it holds committed transactions.
    Run r = Rvmutl("i " + fx.log() + " 1M\nquit\n");
    INFO(r.output);
    CHECK(r.output.find("init_log refuses to overwrite it") != std::string::npos);
    CHECK(ReadFile(fx.log()) == log_before);

    r = Rvmutl("open_log " + fx.log() + "\nrecover no_update map 1=" + fx.data() + "\nquit\n");
    CHECK(r.output.find("no_update: nothing written") != std::string::npos);
    CHECK(ReadFile(fx.log()) == log_before);

    r = Rvmutl("open_log " + fx.log() + "\nrecover map 1=" + fx.data() + "\nstatus\ni " +
               fx.log() + " 1M\nstatus\nquit\n");
    CHECK(r.output.find("applied") != std::string::npos);
    CHECK(r.output.find("is now empty") != std::string::npos);
    CHECK(r.output.find("refuses") == std::string::npos);
    CHECK(ReadFile(fx.data()) == ReadFile(fx.expected()));
    // Now a log of this RVM, with the old file's mode.
    log::LogStatus st;
    int fd = ::open(fx.log().c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    CHECK(log::ReadLogStatus(fd, &st).ok());
    ::close(fd);
    CHECK(st.area_size == 1024 * 1024);
    CHECK(ModeOf(fx.log()) == 0600);
  }
}

TEST_CASE("rvmutl recover LOG names the log on its line, as the original's does", "[coda_log]") {
  Fixture fx("wrapped");
  Run r = Rvmutl("recover map 1=" + fx.data() + " " + fx.log() + "\nquit\n");
  INFO(r.output);
  CHECK(r.output.find("applied 5 committed transaction(s)") != std::string::npos);
  CHECK(ReadFile(fx.data()) == ReadFile(fx.expected()));
}

TEST_CASE("rvmutl i refuses our log with unapplied commits unless forced; keeps the mode",
          "[coda_log]") {
  TempDir dir;
  std::string path = dir.File("log");
  {
    testing::LogBuilder b(path, 256 * 1024);
    REQUIRE(b.ok());
    testing::MakeTwoSegments(dir);
    testing::FillTwoSegments(&b, dir, 5);
  }
  REQUIRE(::chmod(path.c_str(), 0600) == 0);
  std::string before = ReadFile(path);
  Run r = Rvmutl("i " + path + " 1M\nquit\n");
  INFO(r.output);
  CHECK(r.output.find("holds 5 committed transaction(s) not yet applied") != std::string::npos);
  CHECK(r.output.find("init_log " + path + " 1M force") != std::string::npos);
  CHECK(ReadFile(path) == before);

  r = Rvmutl("i " + path + " 1M force\nquit\n");
  CHECK(ReadFile(path) != before);
  CHECK(ModeOf(path) == 0600);
  // An empty log of ours is replaced without force, still keeping the mode.
  REQUIRE(::chmod(path.c_str(), 0640) == 0);
  r = Rvmutl("i " + path + " 2M\nquit\n");
  CHECK(r.output.find("refuses") == std::string::npos);
  CHECK(ModeOf(path) == 0640);
  log::LogStatus st;
  int fd = ::open(path.c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  CHECK(log::ReadLogStatus(fd, &st).ok());
  ::close(fd);
  CHECK(st.area_size == 2 * 1024 * 1024);

  // Through a symbolic link: the link stays, the file it names is replaced.
  std::string link = dir.File("link");
  REQUIRE(::symlink(path.c_str(), link.c_str()) == 0);
  r = Rvmutl("i " + link + " 1M\nquit\n");
  struct stat lst;
  REQUIRE(::lstat(link.c_str(), &lst) == 0);
  CHECK(S_ISLNK(lst.st_mode));
  CHECK(ModeOf(path) == 0640);
  fd = ::open(path.c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  CHECK(log::ReadLogStatus(fd, &st).ok());
  ::close(fd);
  CHECK(st.area_size == 1024 * 1024);

  // A file that is no log at all is refused too; an empty file is not.
  WriteFile(path, "precious data, not a log");
  r = Rvmutl("i " + path + " 1M\nquit\n");
  CHECK(r.output.find("not an RVM log this rvmutl can read") != std::string::npos);
  CHECK(ReadFile(path) == "precious data, not a log");
  WriteFile(path, "");
  r = Rvmutl("i " + path + " 1M\nquit\n");
  CHECK(r.output.find("refuses") == std::string::npos);
  CHECK(ReadFile(path).size() > 1024 * 1024);
}

TEST_CASE("rvmutl --help and --version", "[coda_log]") {
  Run r = Shell(std::string(RVMUTL_BINARY) + " --help");
  CHECK(r.code == 0);
  CHECK(r.output.find("init_log LOG LEN [force]") != std::string::npos);
  r = Shell(std::string(RVMUTL_BINARY) + " --version");
  CHECK(r.code == 0);
  CHECK(r.output.find("rvmutl") != std::string::npos);
}
