// The preload shim's record protection and its refusals, with unmodified
// programs under LD_PRELOAD against in-process mirrors: every record is
// sealed (a mirror whose stored copy was altered, CRCs made valid again, is
// caught by rvm-preload-restore, which reads the record from another mirror
// or reports it lost, never writing it); with encrypt = yes the mirrors hold
// no plaintext; --list names the protected files; an unknown path is an
// error; a file rewritten in place is refused once, loudly.
#include <algorithm>

#include "common/crc32c.h"
#include "preload/preload_record.h"
#include "preload_fixtures.h"
#include "remote_log/transport.h"

using namespace rvmr;
using namespace rvmr::preload_test;

namespace {

std::unique_ptr<remote_log::Connection> Connect(const Mirror& m) {
  remote_log::ConnectOptions o;
  o.owner_seed = log::OwnerSeed(TestKey());
  std::unique_ptr<remote_log::Connection> c;
  REQUIRE(remote_log::TransportRegistry::Global().Connect(m.uri(), o, &c).ok());
  return c;
}

// The bytes a mirror holds of log `name`, and its state.
std::string HeldBytes(const Mirror& m, const std::string& name, remote_log::LogInfo* info) {
  auto c = Connect(m);
  std::vector<remote_log::LogEntry> logs;
  REQUIRE(c->List(&logs).ok());
  auto it = std::find_if(logs.begin(), logs.end(),
                         [&](const remote_log::LogEntry& e) { return e.name == name; });
  REQUIRE(it != logs.end());
  REQUIRE(c->Open(name, it->info.epoch, false, 0, info).ok());
  std::string bytes(info->tail - info->start, '\0');
  size_t got = 0;
  REQUIRE(c->Read(info->start, bytes.size(), bytes.data(), &got).ok());
  REQUIRE(got == bytes.size());
  return bytes;
}

// Makes mirror `m` hold log `name` as `bytes` from stream offset `start`:
// what a compromised mirror would present.
void Plant(const Mirror& m, const std::string& name, uint64_t epoch, uint64_t start,
           const std::string& bytes) {
  auto c = Connect(m);
  remote_log::LogInfo info;
  REQUIRE(c->Open(name, epoch, true, start, &info).ok());
  struct iovec iov = {const_cast<char*>(bytes.data()), bytes.size()};
  uint64_t acked = 0;
  REQUIRE(c->StartAppend(start, &iov, 1).ok());
  REQUIRE(c->WaitAcked(start + bytes.size(), &acked).ok());
}

// Alters payload byte `at` of the record at the start of `rec` and makes its
// CRC32C valid again.
void AlterRecord(std::string* rec, size_t at) {
  (*rec)[preload::kRecordHeaderSize + at] ^= 0x20;
  uint32_t len = 0;
  for (int i = 0; i < 4; ++i) len |= uint32_t{static_cast<unsigned char>((*rec)[24 + i])} << (8 * i);
  uint32_t c = crc32c::Value(rec->data(), 28);
  c = crc32c::Extend(c, rec->data() + 32, preload::kRecordHeaderSize - 32);
  c = crc32c::Extend(c, rec->data() + preload::kRecordHeaderSize, len);
  for (int i = 0; i < 4; ++i) (*rec)[28 + i] = static_cast<char>(c >> (8 * i));
}

// Runs io_ops under the shim (logs matching `logs` designated, never synced
// locally, so their records stay pending on `m`) until it is done; returns
// the path of its e.log (2048 bytes of 'S').
std::string RunIoOps(const Mirror& m, const TempDir& d, const std::string& logs,
                     const std::vector<std::string>& extra_env = {}) {
  std::vector<std::string> env = ShimEnv(m, d.path + "/" + logs, true);
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  Child c = Spawn({IO_OPS_PROG, d.path, "run"}, env, d.File("err"));
  WaitDoneThenKill(c);
  return d.File("e.log");
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}


}  // namespace

TEST_CASE("preload: a mirror's altered copy (valid CRCs) is detected, never written") {
  Mirror a, forged;
  TempDir d;
  const std::string e = RunIoOps(a, d, "e.log");
  const std::string want = ReadFile(e);
  REQUIRE(want == std::string(2048, 'S'));
  const std::string name = preload::RemoteLogNameForPath(e);
  remote_log::LogInfo info;
  std::string held = HeldBytes(a, name, &info);
  REQUIRE(held.size() >= preload::kRecordHeaderSize + 2048);
  // The forged mirror holds the same stream with one payload byte altered.
  std::string altered = held;
  AlterRecord(&altered, 10);
  Plant(forged, name, info.epoch, info.start, altered);
  Truncate(e, 0);

  std::string out;
  CHECK(RestoreTool(forged.uri(), {e}, d.File("r1.err"), &out) == 1);
  std::string err = ReadFile(d.File("r1.err"));
  INFO(out << err);
  CHECK(err.find(forged.uri()) != std::string::npos);
  CHECK(err.find("stream offset " + std::to_string(info.start)) != std::string::npos);
  CHECK(err.find("fails verification") != std::string::npos);
  CHECK(err.find("treated as absent") != std::string::npos);
  CHECK(ReadFile(e).empty());  // nothing of the altered record was written

  // With the intact mirror too, the record comes from it.
  CHECK(RestoreTool(forged.uri() + "," + a.uri(), {e}, d.File("r2.err"), &out) == 0);
  err = ReadFile(d.File("r2.err"));
  INFO(out << err);
  CHECK(err.find(forged.uri()) != std::string::npos);
  CHECK(ReadFile(e) == want);
}

TEST_CASE("preload: a truncated copy on a mirror is reported as lost, not applied") {
  Mirror a, forged;
  TempDir d;
  const std::string e = RunIoOps(a, d, "e.log");
  const std::string name = preload::RemoteLogNameForPath(e);
  remote_log::LogInfo info;
  std::string held = HeldBytes(a, name, &info);
  // A copy that ends inside the record, but claims the whole tail.
  Plant(forged, name, info.epoch + 5, info.start, held.substr(0, held.size() - 100));
  Truncate(e, 0);
  std::string out;
  CHECK(RestoreTool(forged.uri(), {e}, d.File("r.err"), &out) == 1);
  std::string err = ReadFile(d.File("r.err"));
  INFO(out << err);
  CHECK(err.find("lost") != std::string::npos);
  CHECK(ReadFile(e).empty());
}

TEST_CASE("preload: with encrypt = yes the mirrors hold no plaintext, restore still works") {
  for (bool encrypt : {false, true}) {
    INFO("encrypt " << encrypt);
    Mirror m;
    TempDir d;
    std::string conf = d.File("shim.conf");
    {
      std::ofstream f(conf);
      f << "encrypt = " << (encrypt ? "yes" : "no") << "\n";
    }
    const std::string e = RunIoOps(m, d, "e.log", {"RVM_SHIM_CONFIG=" + conf});
    remote_log::LogInfo info;
    std::string held = HeldBytes(m, preload::RemoteLogNameForPath(e), &info);
    REQUIRE(held.size() >= 2048);
    const bool plain_seen = held.find(std::string(64, 'S')) != std::string::npos;
    CHECK(plain_seen == !encrypt);
    // The path log hides the path as well.
    std::string path_log =
        HeldBytes(m, preload::RemoteLogNameForPath(e) + ".path", &info);
    CHECK((path_log.find(e) == std::string::npos) == encrypt);
    Truncate(e, 0);
    std::string out;
    std::vector<std::string> argv = {RESTORE_TOOL, "--mirrors", m.uri(), e};
    REQUIRE(Run(argv, {"RVM_PRELOAD_KEY=" + TestKeyPath(), "RVM_SHIM_CONFIG=" + conf},
                d.File("r.err"), &out) == 0);
    INFO(out << ReadFile(d.File("r.err")));
    CHECK(ReadFile(e) == std::string(2048, 'S'));
  }
}

TEST_CASE("preload: restore without the key, or with another key, restores nothing") {
  Mirror m;
  TempDir d;
  const std::string e = RunIoOps(m, d, "e.log");
  Truncate(e, 0);
  std::string out;
  CHECK(Run({RESTORE_TOOL, "--mirrors", m.uri(), "--key-file", d.File("missing.key"), e}, {},
            d.File("r1.err"), &out) == 2);
  CHECK(ReadFile(d.File("r1.err")).find(d.File("missing.key")) != std::string::npos);
  std::string other;
  REQUIRE(log::CreateLogKey(d.File("other.key"), &other).ok());
  // Another key also proves another owner: the mirror shows it no such log.
  CHECK(Run({RESTORE_TOOL, "--mirrors", m.uri(), "--key-file", d.File("other.key"), e}, {},
            d.File("r2.err"), &out) != 0);
  CHECK(ReadFile(e).empty());
}

TEST_CASE("rvm-preload-restore --list names the protected files; an unknown path is an error") {
  Mirror m;
  TempDir d;
  RunIoOps(m, d, "*.log");
  std::string out;
  REQUIRE(RestoreTool(m.uri(), {"--list"}, d.File("l.err"), &out) == 0);
  INFO(out << ReadFile(d.File("l.err")));
  for (const char* n : {"a2.log", "b.log", "c.log", "d.log", "e.log", "f.log"}) {
    std::string line = d.File(n) + " " + preload::RemoteLogNameForPath(d.File(n)) + " mirror=";
    CHECK(out.find(line) != std::string::npos);
  }
  CHECK(out.find(".path") == std::string::npos);  // path logs are not listed as logs

  const std::string typo = d.File("nosuch.log");
  CHECK(RestoreTool(m.uri(), {typo}, d.File("t.err"), &out) == 2);
  std::string err = ReadFile(d.File("t.err"));
  INFO(err);
  CHECK(err.find(typo) != std::string::npos);
  CHECK(err.find(m.uri()) != std::string::npos);
  CHECK(err.find("no log for this file") != std::string::npos);
  CHECK(out.find("nothing to restore") == std::string::npos);
}

TEST_CASE("preload: a file rewritten in place is refused once, loudly, and restore refuses it") {
  Mirror m;
  TempDir d;
  std::string out;
  REQUIRE(Run({IO_OPS_PROG, d.path, "inplace"}, ShimEnv(m, d.path + "/*.log", false),
              d.File("err"), &out) == 0);
  std::string err = ReadFile(d.File("err"));
  INFO(out << err);
  const std::string g = d.File("g.log"), h = d.File("h.log");
  // One message per file, naming it and the operation.
  const std::string gmsg = g + ": refused: pwrite at offset 100";
  CHECK(err.find(gmsg) != std::string::npos);
  CHECK(Count(err, g + ": refused:") == 1);  // once, though rewritten twice
  CHECK(err.find(h + ": refused: ftruncate at offset 500") != std::string::npos);
  // The program's writes all reached the file (synced locally after the refusal).
  std::string gw = std::string(100, 'a') + std::string(10, 'b') + std::string(90, 'a') +
                   std::string(10, 'c') + std::string(790, 'a') + std::string(10, 'c');
  CHECK(ReadFile(g) == gw);
  CHECK(ReadFile(h).size() == 500);
  // The remote log is marked refused: restore says so and exits 1, naming the file.
  CHECK(RestoreTool(m.uri(), {g}, d.File("r1.err"), &out) == 1);
  std::string rerr = ReadFile(d.File("r1.err"));
  CHECK(rerr.find("stopped protecting " + g) != std::string::npos);
  CHECK(rerr.find("rewritten in place") != std::string::npos);
  CHECK(ReadFile(g) == gw);
  // The next run under the shim refuses to open it until --discard.
  CHECK(Run({IO_OPS_PROG, d.path, "inplace"}, ShimEnv(m, d.path + "/g.log", false),
            d.File("err2"), &out) != 0);
  CHECK(ReadFile(d.File("err2")).find("rvm-preload-restore") != std::string::npos);
  CHECK(RestoreTool(m.uri(), {"--discard", g}, d.File("r2.err"), &out) == 0);
  CHECK(RestoreTool(m.uri(), {g}, d.File("r3.err"), &out) == 0);
  CHECK(out.find("replayed 0 records") != std::string::npos);
}

TEST_CASE("rvm-log inspect/verify read a preload log, named by its file, and verify it") {
  Mirror a, forged;
  TempDir d;
  const std::string e = RunIoOps(a, d, "e.log");
  const std::string name = preload::RemoteLogNameForPath(e);
  const std::string key = "--key-file=" + TestKeyPath();
  std::string out;
  REQUIRE(Run({RVM_LOG_TOOL, "inspect", "--remote", a.uri(), "--name", e, key}, {},
              d.File("i.err"), &out) == 0);
  INFO(out << ReadFile(d.File("i.err")));
  CHECK(out.find("preload log " + name) != std::string::npos);
  CHECK(out.find("protects " + e) != std::string::npos);
  CHECK(out.find("DATA  authenticated  file offset 0  2048 bytes") != std::string::npos);
  CHECK(out.find("0 records") == std::string::npos);
  CHECK(Run({RVM_LOG_TOOL, "verify", "--remote", a.uri(), "--name", name, key}, {},
            d.File("v.err"), &out) == 0);
  // A mirror presenting an altered record (CRC fixed): both exit 1, naming the offset.
  remote_log::LogInfo info;
  std::string altered = HeldBytes(a, name, &info);
  AlterRecord(&altered, 10);
  Plant(forged, name, info.epoch, info.start, altered);
  for (const char* cmd : {"inspect", "verify"}) {
    INFO(cmd);
    CHECK(Run({RVM_LOG_TOOL, cmd, "--remote", forged.uri(), "--name", name, key}, {},
              d.File("f.err"), &out) == 1);
    std::string err = ReadFile(d.File("f.err"));
    INFO(out << err);
    CHECK(err.find("stream offset " + std::to_string(info.start)) != std::string::npos);
    CHECK(err.find("fails verification") != std::string::npos);
    CHECK(err.find("protected path unknown") != std::string::npos);  // no path log there
  }
  // A name no server holds: exit 2.
  CHECK(Run({RVM_LOG_TOOL, "inspect", "--remote", a.uri(), "--name", d.File("nosuch.log"), key},
            {}, d.File("n.err"), &out) == 2);
  CHECK(ReadFile(d.File("n.err")).find(d.File("nosuch.log")) != std::string::npos);
}
