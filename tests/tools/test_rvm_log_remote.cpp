// rvm-log with remote copies: an in-process log server on loopback holding
// the same bytes as the disk log (appended with the client), replay
// equivalence, diff, stat, and an unreachable server.
#include <netinet/in.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <sstream>

#include "commands.h"
#include "disk_log.h"
#include "remote_copy.h"
#include "remote_log/server.h"
#include "remote_log/transport.h"
#include "tools_test_helpers.h"

using namespace rvmr;
using namespace rvmr::tools;
using rvmr::testing::LogBuilder;
using rvmr::testing::TempDir;

namespace {

using Out = testing::CommandOutput;
using testing::kSegSize;

class TestServer {
 public:
  TestServer() : server_(Options()) { ok_ = server_.Start().ok(); }
  ~TestServer() { server_.Stop(); }
  bool ok() const { return ok_; }
  std::string uri() const { return "tcp://127.0.0.1:" + std::to_string(server_.port()); }

 private:
  static remote_log::ServerOptions Options() {
    remote_log::ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.capacity = 256u << 20;
    return o;
  }
  remote_log::Server server_;
  bool ok_ = false;
};

// Appends `bytes` (the log at [start, ...)) to remote log `name` as writer `epoch`.
Status FillRemote(const std::string& uri, const std::string& name, uint64_t epoch, uint64_t start,
                  const std::string& bytes) {
  std::unique_ptr<remote_log::Connection> c;
  Status s = remote_log::TransportRegistry::Global().Connect(uri, {}, &c);
  if (!s.ok()) return s;
  remote_log::LogInfo info;
  s = c->Open(name, epoch, true, start, &info);
  if (!s.ok()) return s;
  uint64_t off = info.tail;
  if (off < start || off > start + bytes.size()) return Status::InvalidArgument("remote tail");
  while (off < start + bytes.size()) {
    size_t n = std::min<size_t>(1 << 20, start + bytes.size() - off);
    struct iovec iov = {const_cast<char*>(bytes.data() + (off - start)), n};
    s = c->StartAppend(off, &iov, 1);
    if (!s.ok()) return s;
    off += n;
  }
  uint64_t acked = 0;
  return c->WaitAcked(off, &acked);
}

// A port nothing listens on.
uint16_t DeadPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string Segs(const TempDir& dir) {
  return testing::ReadFile(dir.File("seg1")) + "|" + testing::ReadFile(dir.File("seg2"));
}

int Replay(const std::string& log, const std::vector<std::string>& uris, const std::string& from,
           Out* o, const std::string& name = "") {
  ReplayCmdOptions r;
  r.log_path = log;
  r.remote_uris = uris;
  r.from = from;
  r.progress = 0;
  r.name = name;
  return RunReplay(r, o->out, o->err);
}

}  // namespace

TEST_CASE("replay --from remote and --from disk give byte-identical segments", "[replay]") {
  TestServer srv;
  REQUIRE(srv.ok());
  TempDir dir;
  LogBuilder b(dir.File("log"), 1 << 20, 4096, 33, 2);
  REQUIRE(b.ok());
  testing::FillTwoSegments(&b, dir, 300);
  std::string name = LogIdHex(b.status());
  REQUIRE(FillRemote(srv.uri(), name, 2, b.head(), b.stream()).ok());

  testing::MakeTwoSegments(dir);
  Out d;
  REQUIRE(Replay(b.path(), {}, "disk", &d) == kExitOk);
  std::string from_disk = Segs(dir);
  CHECK(from_disk != std::string(kSegSize, '\0') + "|" + std::string(kSegSize, '\0'));

  testing::MakeTwoSegments(dir);
  Out r;
  REQUIRE(Replay(b.path(), {srv.uri()}, "remote", &r) == kExitOk);
  CHECK(r.out.str().find("replayed 300 transactions") != std::string::npos);
  CHECK(Segs(dir) == from_disk);

  // Remote alone (no disk log at hand), by name.
  testing::MakeTwoSegments(dir);
  Out ro;
  REQUIRE(Replay("", {srv.uri()}, "remote", &ro, name) == kExitOk);
  CHECK(Segs(dir) == from_disk);

  testing::MakeTwoSegments(dir);
  Out a;
  REQUIRE(Replay(b.path(), {srv.uri()}, "auto", &a) == kExitOk);
  CHECK(Segs(dir) == from_disk);

  // Both agree: verify and diff say so.
  Out v;
  VerifyOptions vo;
  vo.log_paths = {b.path()};
  vo.remote_uri = srv.uri();
  CHECK(RunVerify(vo, v.out, v.err) == kExitOk);
  Out df;
  DiffOptions dop;
  dop.log_path = b.path();
  dop.remote_uris = {srv.uri()};
  CHECK(RunDiff(dop, df.out, df.err) == kExitOk);
  CHECK(df.out.str().find("identical: [4096, " + std::to_string(b.tail()) + "), 302 records") !=
        std::string::npos);
  CHECK(df.out.str().find("both copies end at") != std::string::npos);
}

TEST_CASE("auto replay takes the committed tail the disk lacks from a mirror", "[replay][diff]") {
  TestServer srv1, srv2;
  REQUIRE(srv1.ok());
  REQUIRE(srv2.ok());
  TempDir dir;
  LogBuilder b(dir.File("log"), 1 << 20);
  REQUIRE(b.ok());
  testing::FillTwoSegments(&b, dir, 100);
  std::string name = LogIdHex(b.status());
  // Mirror 1 holds everything since offset 0; mirror 2 only the tail window.
  REQUIRE(FillRemote(srv1.uri(), name, 1, 0, b.stream()).ok());
  uint64_t cut = b.offsets()[60];
  REQUIRE(FillRemote(srv2.uri(), name, 1, cut, b.stream().substr(cut)).ok());
  // The disk copy lost its last 20 records (the window between remote ack and disk sync).
  uint64_t disk_end = b.offsets()[80];
  b.Zero(disk_end, b.tail());
  b.Sync(disk_end);

  testing::MakeTwoSegments(dir);
  Out a;
  REQUIRE(Replay(b.path(), {srv2.uri()}, "auto", &a) == kExitOk);
  CHECK(a.out.str().find("replayed 100 transactions") != std::string::npos);
  for (const char* s : {"seg1", "seg2"}) {
    auto it = b.model().find(dir.File(s));
    CHECK(testing::ReadFile(dir.File(s)) == testing::Expected(it->second, kSegSize));
  }
  // --from disk gets only what the disk holds (and knows no better).
  Out d;
  CHECK(Replay(b.path(), {}, "disk", &d) == kExitOk);
  CHECK(d.out.str().find("replayed 78 transactions") != std::string::npos);
  // --from remote with the tail-only mirror cannot reach back to the head.
  Out r;
  CHECK(Replay(b.path(), {srv2.uri()}, "remote", &r) != kExitOk);
  CHECK(r.err.str().find("only on disk") != std::string::npos);

  Out df;
  DiffOptions dop;
  dop.log_path = b.path();
  dop.remote_uris = {srv1.uri(), srv2.uri()};
  CHECK(RunDiff(dop, df.out, df.err) == kExitOk);
  std::string s = df.out.str();
  CHECK(s.find("the remote copy has 22 more committed transactions than the disk: [" +
               std::to_string(disk_end) + ", " + std::to_string(b.tail()) + ")") !=
        std::string::npos);
  CHECK(s.find("identical: [" + std::to_string(cut) + ", " + std::to_string(disk_end)) !=
        std::string::npos);
}

TEST_CASE("diff finds where copies differ; damaged copies; lost tails", "[diff][replay]") {
  TestServer srv;
  REQUIRE(srv.ok());
  TempDir dir;
  LogBuilder b(dir.File("log"), 1 << 20);
  REQUIRE(b.ok());
  testing::FillTwoSegments(&b, dir, 30);
  std::string name = LogIdHex(b.status());
  // The remote copy of record 10 is damaged.
  std::string bytes = b.stream();
  uint64_t bad = b.offsets()[10];
  bytes[size_t(bad + 50)] ^= 0x20;
  REQUIRE(FillRemote(srv.uri(), name, 1, 0, bytes).ok());
  Out df;
  DiffOptions dop;
  dop.log_path = b.path();
  dop.remote_uris = {srv.uri()};
  CHECK(RunDiff(dop, df.out, df.err) == kExitProblem);
  CHECK(df.out.str().find("DAMAGED at offset " + std::to_string(bad)) != std::string::npos);
  Out v;
  VerifyOptions vo;
  vo.remote_uri = srv.uri();
  vo.name = name;
  CHECK(RunVerify(vo, v.out, v.err) == kExitProblem);
  CHECK(v.out.str().find("offset " + std::to_string(bad)) != std::string::npos);
  // The remote alone cannot supply the committed tail.
  testing::MakeTwoSegments(dir);
  Out r;
  CHECK(Replay("", {srv.uri()}, "remote", &r, name) == kExitProblem);
  CHECK(r.err.str().find("cannot be fully found") != std::string::npos);

  // A different (but well-formed) record at the same offset: same first 12
  // records, then one transaction with other data.
  TempDir dir2;
  LogBuilder c(dir2.File("log"), 1 << 20);
  LogBuilder other(dir2.File("other"), 1 << 20);
  REQUIRE(c.ok());
  REQUIRE(other.ok());
  for (LogBuilder* x : {&c, &other}) {
    x->AddDict(1, dir2.File("seg1"));
    std::mt19937_64 rng(5);
    x->AddRandomTxns(10, 1, kSegSize, &rng);
  }
  c.AddTxn({{1, 100, "disk data"}});
  other.AddTxn({{1, 100, "remote!!!"}});
  c.AddTxn({{1, 200, "more"}});
  c.Sync();
  REQUIRE(c.offsets()[11] == other.offsets()[11]);
  TestServer srv2;
  REQUIRE(srv2.ok());
  REQUIRE(FillRemote(srv2.uri(), LogIdHex(c.status()), 1, 0, other.stream()).ok());
  Out d2;
  dop.log_path = c.path();
  dop.remote_uris = {srv2.uri()};
  CHECK(RunDiff(dop, d2.out, d2.err) == kExitProblem);
  CHECK(d2.out.str().find("identical: [0, " + std::to_string(c.offsets()[11]) + "), 11 records") !=
        std::string::npos);
  CHECK(d2.out.str().find("DIFFER at offset " + std::to_string(c.offsets()[11]) +
                          " (file position " + std::to_string(8192 + c.offsets()[11]) + ")") !=
        std::string::npos);
  Out d3;
  dop.json = true;
  CHECK(RunDiff(dop, d3.out, d3.err) == kExitProblem);
  CHECK(d3.out.str().find("\"differ_at\":" + std::to_string(c.offsets()[11])) != std::string::npos);
}

TEST_CASE("inspect, verify and stat a remote log; stat over time", "[inspect][stat]") {
  TestServer srv;
  REQUIRE(srv.ok());
  TempDir dir;
  LogBuilder b(dir.File("log"), 1 << 20);
  REQUIRE(b.ok());
  testing::FillTwoSegments(&b, dir, 10);
  std::string name = LogIdHex(b.status());
  REQUIRE(FillRemote(srv.uri(), name, 3, 0, b.stream()).ok());
  Out i;
  InspectOptions io;
  io.log_paths = {b.path()};  // names the remote copy
  io.remote_uri = srv.uri();
  REQUIRE(RunInspect(io, i.out, i.err) == kExitOk);
  CHECK(i.out.str().find("remote log " + name + " on " + srv.uri()) != std::string::npos);
  CHECK(i.out.str().find("12 records, 10 transactions") != std::string::npos);
  CHECK(i.out.str().find("seg 1 (" + dir.File("seg1") + ")") != std::string::npos);

  Out s;
  StatOptions so;
  so.uri = srv.uri();
  REQUIRE(RunStat(so, s.out, s.err) == kExitOk);
  CHECK(s.out.str().find("1 logs") != std::string::npos);
  CHECK(s.out.str().find(name) != std::string::npos);
  CHECK(s.out.str().find(std::to_string(b.tail())) != std::string::npos);
  Out sj;
  so.json = true;
  so.interval_s = 0.05;
  so.count = 2;
  REQUIRE(RunStat(so, sj.out, sj.err) == kExitOk);
  CHECK(sj.out.str().find("\"tail\":" + std::to_string(b.tail())) != std::string::npos);
  CHECK(sj.out.str().find("\"append_bytes_per_s\":0") != std::string::npos);
  // Reading never fenced the writer: it can still append as epoch 3.
  CHECK(FillRemote(srv.uri(), name, 3, 0, b.stream() + std::string()).ok());

  auto r = testing::RunCli("stat --json " + srv.uri());
  CHECK(r.code == 0);
  CHECK(r.output.find("\"kind\":\"log\",\"name\":\"" + name + "\"") != std::string::npos);
  r = testing::RunCli("inspect --remote " + srv.uri() + " --name nosuchlog");
  CHECK(r.code == 2);
  CHECK(r.output.find("holds no log named nosuchlog") != std::string::npos);
}

TEST_CASE("an unreachable server is named in the error", "[unreachable]") {
  TempDir dir;
  LogBuilder b(dir.File("log"), 1 << 20);
  REQUIRE(b.ok());
  testing::FillTwoSegments(&b, dir, 5);
  testing::MakeTwoSegments(dir);
  std::string uri = "tcp://127.0.0.1:" + std::to_string(DeadPort());
  auto r = testing::RunCli("stat " + uri);
  CHECK(r.code == 2);
  CHECK(r.output.find(uri) != std::string::npos);
  r = testing::RunCli("inspect --remote " + uri + " " + b.path());
  CHECK(r.code == 2);
  CHECK(r.output.find(uri) != std::string::npos);
  r = testing::RunCli("replay --from remote --remote " + uri + " " + b.path());
  CHECK(r.code == 2);
  CHECK(r.output.find(uri) != std::string::npos);
  r = testing::RunCli("diff --remote " + uri + " " + b.path());
  CHECK(r.code == 2);
  CHECK(r.output.find("NOT READ") != std::string::npos);
  // auto falls back to the disk copy, saying the mirror was not read.
  r = testing::RunCli("replay --from auto --no-progress --remote " + uri + " " + b.path());
  CHECK(r.code == 0);
  CHECK(r.output.find("warning") != std::string::npos);
  CHECK(r.output.find("replayed 5 transactions") != std::string::npos);
  r = testing::RunCli("stat tcp://nonsense");
  CHECK(r.code == 2);
}

TEST_CASE("a remote copy larger than the read window, read over parallel connections", "[replay]") {
  TestServer srv;
  REQUIRE(srv.ok());
  TempDir dir;
  LogBuilder b(dir.File("log"), 64u << 20);
  REQUIRE(b.ok());
  b.AddDict(1, dir.File("seg1"));
  b.AddDict(2, dir.File("seg2"));
  std::mt19937_64 rng(11);
  b.AddRandomTxns(600, 2, kSegSize, &rng, 60000);
  b.Sync();
  REQUIRE(b.tail() > 2 * RemoteLogSource::kWindow);
  std::string name = LogIdHex(b.status());
  REQUIRE(FillRemote(srv.uri(), name, 1, 0, b.stream()).ok());

  testing::MakeTwoSegments(dir);
  Out r;
  REQUIRE(Replay("", {srv.uri()}, "remote", &r, name) == kExitOk);
  CHECK(r.out.str().find("replayed 600 transactions") != std::string::npos);
  std::string from_remote = Segs(dir);
  testing::MakeTwoSegments(dir);
  Out d;
  REQUIRE(Replay(b.path(), {}, "disk", &d) == kExitOk);
  CHECK(Segs(dir) == from_remote);
  for (const char* s : {"seg1", "seg2"}) {
    auto it = b.model().find(dir.File(s));
    REQUIRE(it != b.model().end());
    CHECK(testing::ReadFile(dir.File(s)) == testing::Expected(it->second, kSegSize));
  }
  // The source reads every byte exactly where the stream has it.
  RemoteCopy rc;
  std::unique_ptr<RemoteLogSource> src;
  REQUIRE(OpenRemoteLog(srv.uri(), name, {}, 0, &rc, &src).ok());
  std::string got(size_t(b.tail()), '\0');
  for (uint64_t off = 0; off < b.tail();) {
    size_t n = size_t(std::min<uint64_t>(b.tail() - off, 3 + (off % 5000000)));
    REQUIRE(src->Read(off, got.data() + off, n).ok());
    off += n;
  }
  CHECK(got == b.stream());
  CHECK(!src->Read(b.tail() - 4, got.data(), 8).ok());
}

TEST_CASE("inspect --follow --remote prints what the writer appends meanwhile", "[follow]") {
  TestServer srv;
  REQUIRE(srv.ok());
  TempDir dir;
  LogBuilder b(dir.File("log"), 1 << 20);
  REQUIRE(b.ok());
  testing::FillTwoSegments(&b, dir, 10);
  const std::string name = LogIdHex(b.status());
  const std::string first = b.stream().substr(0, size_t(b.offsets()[6]));
  REQUIRE(FillRemote(srv.uri(), name, 3, 0, first).ok());
  testing::ChildProcess f(std::string(RVM_LOG_BINARY) + " inspect --follow --json --poll-ms 20 " +
                          "--remote " + srv.uri() + " --name " + name);
  REQUIRE(f.ok());
  const std::string rec = "\"kind\":\"record\"";
  CHECK(f.ReadUntil([&](const std::string& o) { return testing::Count(o, rec) >= 6; }));
  REQUIRE(FillRemote(srv.uri(), name, 3, 0, b.stream()).ok());  // the other 6 records
  INFO(f.output());
  CHECK(f.ReadUntil([&](const std::string& o) { return testing::Count(o, rec) >= 12; }));
  CHECK(f.Stop(SIGTERM) == 0);
  CHECK(testing::Count(f.output(), rec) == 12);
  CHECK(f.output().find("\"lsn\":12,") != std::string::npos);
  CHECK(f.output().find("\"kind\":\"end\",\"offset\":" + std::to_string(b.tail())) !=
        std::string::npos);
}
