// A remote-mode log restarted without its mirrors (issue 15, section 2),
// through librvm's public API: after a crash that left acknowledged commits
// only in the mirrors, a start without mirrors is refused (RVM_ELOG, the log
// untouched, a message naming the marker file and the two ways forward); a
// clean shutdown leaves nothing remote-only, so such a start is allowed; an
// explicit abandon_mirror_copy start goes on from the disk copy, and a later
// start with the mirrors settles their stale copy (dropped, said on stderr)
// and keeps every commit made since. And the library's messages reach a
// stderr that the program made fully buffered (freopen to a file) at once.
// Each RVM instance runs in a forked child (RVM cannot be re-initialized);
// the mirrors are processes (forking next to server threads is not safe).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "mirror_process.h"
#include "remote_log/transport.h"
#include "rvm/rvm.h"
#include "shim/log_key.h"
#include "shim/log_status.h"
#include "shim/remote_marker.h"
#include "shim/tail_recovery.h"

namespace {

constexpr size_t kSegLen = 1 << 20;

struct Dir {
  std::string path;
  Dir() {
    char d[] = "/tmp/rvmnomirrorXXXXXX";
    REQUIRE(mkdtemp(d) != nullptr);
    path = d;
  }
  ~Dir() { REQUIRE(std::system(("rm -rf '" + path + "'").c_str()) == 0); }
  std::string log() const { return path + "/log"; }
  std::string data() const { return path + "/data"; }
  std::string err() const { return path + "/stderr"; }
};

std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool Has(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

// Runs fn in a child process whose stderr goes to `err_file` (appended);
// returns its exit status (or 128+signal).
int InChild(const std::string& err_file, const std::function<int()>& fn) {
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(err_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd < 0 || dup2(fd, 2) < 0) _exit(120);
    close(fd);
    _exit(fn());
  }
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

// Child side: rvm_initialize on dir's log (created if missing).
rvm_return_t Init(const Dir& dir) {
  rvm_options_t* o = rvm_malloc_options();
  o->log_dev = strdup(dir.log().c_str());
  o->create_log_file = access(dir.log().c_str(), F_OK) == 0 ? rvm_false : rvm_true;
  o->create_log_size = RVM_MK_OFFSET(0, 8u << 20);
  o->truncate = 0;  // the log is replayed at recovery, never truncated meanwhile
  return RVM_INIT(o);
}

// Child side: maps dir's data segment (created if missing); null on failure.
long* Map(const Dir& dir) {
  if (access(dir.data().c_str(), F_OK) != 0) {
    int fd = open(dir.data().c_str(), O_RDWR | O_CREAT, 0600);
    if (fd < 0 || ftruncate(fd, kSegLen) != 0) return nullptr;
    close(fd);
  }
  rvm_region_t* r = rvm_malloc_region();
  r->data_dev = strdup(dir.data().c_str());
  r->length = kSegLen;
  if (rvm_map(r, nullptr) != RVM_SUCCESS) return nullptr;
  return reinterpret_cast<long*>(r->vmaddr);
}

// Child side: slots [from, to) get value base + slot, one flush commit each.
bool Commit(long* seg, int from, int to, long base) {
  rvm_tid_t* tid = rvm_malloc_tid();
  for (int i = from; i < to; ++i) {
    if (rvm_begin_transaction(tid, restore) != RVM_SUCCESS ||
        rvm_set_range(tid, seg + i, sizeof(long)) != RVM_SUCCESS)
      return false;
    seg[i] = base + i;
    if (rvm_end_transaction(tid, flush) != RVM_SUCCESS) return false;
  }
  rvm_free_tid(tid);
  return true;
}

// Child side: 0 if slots [from, to) hold base + slot (base 0: hold 0).
int Expect(const long* seg, int from, int to, long base, int code) {
  for (int i = from; i < to; ++i)
    if (seg[i] != (base == 0 ? 0 : base + i)) return code;
  return 0;
}

// The local disk lost every record after head (the crash came before the
// background disk writer synced them): what was acknowledged is held only by
// the mirrors.
void LoseDiskRecords(const Dir& dir) {
  int fd = open(dir.log().c_str(), O_RDWR);
  REQUIRE(fd >= 0);
  rvmr::log::LogStatus st;
  REQUIRE(rvmr::log::ReadLogStatus(fd, &st).ok());
  std::string zeros(st.area_size, '\0');
  REQUIRE(pwrite(fd, zeros.data(), zeros.size(), static_cast<off_t>(st.area_start)) ==
          static_cast<ssize_t>(zeros.size()));
  REQUIRE(fsync(fd) == 0);
  close(fd);
}

rvmr::RemoteMarker Marker(const Dir& dir) {
  rvmr::RemoteMarker m;
  bool exists = false;
  REQUIRE(rvmr::ReadRemoteMarker(dir.log(), &m, &exists).ok());
  REQUIRE(exists);
  return m;
}

// The mirror's state of the (single) log it holds.
rvmr::remote_log::LogInfo MirrorLog(const MirrorProcess& m, const Dir& dir) {
  std::unique_ptr<rvmr::remote_log::Connection> c;
  rvmr::remote_log::ConnectOptions co;
  std::string key;  // as the log's owner: only the owner sees it
  REQUIRE(rvmr::log::ReadLogKey(dir.log() + ".key", &key).ok());
  co.owner_seed = rvmr::log::OwnerSeed(key);
  REQUIRE(rvmr::remote_log::TransportRegistry::Global().Connect(m.uri(), co, &c).ok());
  std::vector<rvmr::remote_log::LogEntry> logs;
  REQUIRE(c->List(&logs).ok());
  REQUIRE(logs.size() == 1);
  return logs[0].info;
}

// The environment of a start: mirrors (or none), and the shim config file's
// lines (none: RVM_SHIM_CONFIG unset).
void Configure(const Dir& dir, const MirrorProcess* m, const std::string& conf_lines,
               bool with_conf = true) {
  if (m != nullptr)
    setenv("RVM_MIRRORS", m->uri().c_str(), 1);
  else
    unsetenv("RVM_MIRRORS");
  if (with_conf) {
    std::string conf = dir.path + "/shim.conf";
    std::ofstream(conf) << "trim_interval_bytes = 1G\n" << conf_lines;  // mirrors keep all
    setenv("RVM_SHIM_CONFIG", conf.c_str(), 1);
  } else {
    unsetenv("RVM_SHIM_CONFIG");
  }
}

void Unconfigure() {
  unsetenv("RVM_MIRRORS");
  unsetenv("RVM_SHIM_CONFIG");
}

// With the mirrors: commits slots [0, n) and crashes (no rvm_terminate), then
// the disk loses its records: the n commits live only in the mirror.
void CrashWithCommitsOnlyInMirror(const Dir& dir, const MirrorProcess& m, int n) {
  Configure(dir, &m, "");
  REQUIRE(InChild(dir.err(), [&] {
            if (Init(dir) != RVM_SUCCESS) return 10;
            long* seg = Map(dir);
            if (seg == nullptr) return 11;
            return Commit(seg, 0, n, 1) ? 0 : 12;
          }) == 0);
  LoseDiskRecords(dir);
}

}  // namespace

TEST_CASE("restart without mirrors: refused while the mirrors hold commits the disk lacks") {
  Dir dir;
  MirrorProcess m;
  CrashWithCommitsOnlyInMirror(dir, m, 100);
  const rvmr::remote_log::LogInfo held = MirrorLog(m, dir);
  REQUIRE(held.tail > 0);
  CHECK(Marker(dir).state == rvmr::RemoteMarker::State::kOpen);
  const std::string log_before = Slurp(dir.log());
  const std::string marker_before = Slurp(dir.log() + ".remote");

  // No mirrors configured: RVM_MIRRORS unset, and a config file without
  // `mirrors` (or no config file at all).
  for (bool with_conf : {true, false}) {
    INFO("RVM_SHIM_CONFIG " << (with_conf ? "set" : "unset"));
    std::remove(dir.err().c_str());
    Configure(dir, nullptr, "", with_conf);
    CHECK(InChild(dir.err(), [&] { return Init(dir) == RVM_ELOG ? 0 : 1; }) == 0);
    const std::string err = Slurp(dir.err());
    INFO(err);
    CHECK(Has(err, dir.log() + ".remote"));                           // names the marker file
    CHECK(Has(err, "RVM_MIRRORS"));                                   // way 1: the mirrors
    CHECK(Has(err, "abandon_mirror_copy = yes"));                     // way 2: abandon them
    CHECK(Has(err, "up to " + std::to_string(8u << 20) + " bytes"));  // the room left
    // Nothing was written: not the status block (epoch), not the marker.
    CHECK(Slurp(dir.log()) == log_before);
    CHECK(Slurp(dir.log() + ".remote") == marker_before);
  }

  // With the mirrors configured every acknowledged commit comes back.
  std::remove(dir.err().c_str());
  Configure(dir, &m, "");
  CHECK(InChild(dir.err(), [&] {
          if (Init(dir) != RVM_SUCCESS) return 10;
          const long* seg = Map(dir);
          if (seg == nullptr) return 11;
          return Expect(seg, 0, 100, 1, 20);
        }) == 0);
  CHECK(Has(Slurp(dir.err()), "copied log bytes [0, " + std::to_string(held.tail) + ")"));
  Unconfigure();
}

TEST_CASE("restart without mirrors: allowed after a clean shutdown, and the mirrors follow") {
  Dir dir;
  MirrorProcess m;
  Configure(dir, &m, "");
  REQUIRE(InChild(dir.err(), [&] {
            if (Init(dir) != RVM_SUCCESS) return 10;
            long* seg = Map(dir);
            if (seg == nullptr || !Commit(seg, 0, 50, 1)) return 11;
            return rvm_terminate() == RVM_SUCCESS ? 0 : 12;
          }) == 0);
  // rvm_terminate drained the disk writer: the marker says so.
  rvmr::RemoteMarker mk = Marker(dir);
  CHECK(mk.state == rvmr::RemoteMarker::State::kClosed);
  CHECK(mk.disk_end == MirrorLog(m, dir).tail);

  // Without mirrors: nothing to refuse; commit more, disk only.
  Configure(dir, nullptr, "");
  CHECK(InChild(dir.err(), [&] {
          if (Init(dir) != RVM_SUCCESS) return 10;
          long* seg = Map(dir);
          if (seg == nullptr) return 11;
          if (int rc = Expect(seg, 0, 50, 1, 20)) return rc;
          if (!Commit(seg, 50, 80, 1)) return 12;
          return rvm_terminate() == RVM_SUCCESS ? 0 : 13;
        }) == 0);
  CHECK_FALSE(Has(Slurp(dir.err()), "refusing"));

  // With the mirrors again: they are behind the disk and catch up; a commit
  // made now survives the loss of the disk's records.
  Configure(dir, &m, "");
  CHECK(InChild(dir.err(), [&] {
          if (Init(dir) != RVM_SUCCESS) return 10;
          long* seg = Map(dir);
          if (seg == nullptr) return 11;
          if (int rc = Expect(seg, 0, 80, 1, 20)) return rc;
          return Commit(seg, 100, 110, 1) ? 0 : 12;
        }) == 0);
  LoseDiskRecords(dir);
  CHECK(InChild(dir.err(), [&] {
          if (Init(dir) != RVM_SUCCESS) return 10;
          const long* seg = Map(dir);
          if (seg == nullptr) return 11;
          if (int rc = Expect(seg, 0, 80, 1, 20)) return rc;
          return Expect(seg, 100, 110, 1, 30);
        }) == 0);
  Unconfigure();
}

TEST_CASE("restart without mirrors: abandoned, then settled when the mirrors are back") {
  // The start without mirrors commits `k` transactions of its own: fewer
  // bytes than the mirror holds (its stale copy reaches beyond the disk: the
  // log must continue beyond it) or more (the mirror is behind and must be
  // emptied before it is caught up from the disk).
  const int k = GENERATE(10, 150);
  INFO("commits made without the mirrors: " << k);
  Dir dir;
  MirrorProcess m;
  CrashWithCommitsOnlyInMirror(dir, m, 100);
  const rvmr::remote_log::LogInfo stale = MirrorLog(m, dir);

  // The operator abandons the mirrors' copy; the program commits and crashes.
  std::remove(dir.err().c_str());
  Configure(dir, nullptr, "abandon_mirror_copy = yes\n");
  CHECK(InChild(dir.err(), [&] {
          if (Init(dir) != RVM_SUCCESS) return 10;
          long* seg = Map(dir);
          if (seg == nullptr) return 11;
          if (int rc = Expect(seg, 0, 100, 0, 20)) return rc;  // the disk had none of them
          return Commit(seg, 0, k, 1000) ? 0 : 12;
        }) == 0);
  CHECK(Has(Slurp(dir.err()), "abandon_mirror_copy = yes"));
  rvmr::RemoteMarker mk = Marker(dir);
  CHECK(mk.state == rvmr::RemoteMarker::State::kAbandoned);
  CHECK(mk.disk_end == 0);
  // Again without mirrors: the copy is already abandoned, no refusal.
  Configure(dir, nullptr, "");
  CHECK(InChild(dir.err(), [&] { return Init(dir) == RVM_SUCCESS ? 0 : 1; }) == 0);

  // The mirrors are configured again (the abandon key left in the file, as
  // an operator would): the start works, drops the stale copy and says so.
  std::remove(dir.err().c_str());
  Configure(dir, &m, "abandon_mirror_copy = yes\n");
  CHECK(InChild(dir.err(), [&] {
          if (Init(dir) != RVM_SUCCESS) return 10;
          long* seg = Map(dir);
          if (seg == nullptr) return 11;
          if (int rc = Expect(seg, 0, k, 1000, 20)) return rc;  // the disk's commits
          if (k < 100) {
            if (int rc = Expect(seg, k, 100, 0, 21)) return rc;  // not the abandoned ones
          }
          return Commit(seg, 200, 220, 1) ? 0 : 12;  // then crash
        }) == 0);
  const std::string err = Slurp(dir.err());
  INFO(err);
  CHECK(Has(err, "dropped the abandoned copy"));
  CHECK(Has(err, "[0, " + std::to_string(stale.tail) + ")"));
  mk = Marker(dir);
  CHECK(mk.state == rvmr::RemoteMarker::State::kOpen);
  CHECK(mk.stale_below_epoch > stale.epoch);
  CHECK(mk.disk_end >= stale.tail);  // the log continued beyond the stale copy

  // The mirror is in step with the disk again: what it acknowledged since
  // survives the loss of the disk's records.
  LoseDiskRecords(dir);
  std::remove(dir.err().c_str());
  Configure(dir, &m, "");
  CHECK(InChild(dir.err(), [&] {
          if (Init(dir) != RVM_SUCCESS) return 10;
          const long* seg = Map(dir);
          if (seg == nullptr) return 11;
          if (int rc = Expect(seg, 0, k, 1000, 20)) return rc;
          return Expect(seg, 200, 220, 1, 30);
        }) == 0);
  CHECK_FALSE(Has(Slurp(dir.err()), "LOST"));
  Unconfigure();
}

TEST_CASE("restart without mirrors: a marker left by another log at the same path is ignored") {
  Dir dir;
  Configure(dir, nullptr, "", false);
  REQUIRE(InChild(dir.err(), [&] { return Init(dir) == RVM_SUCCESS ? 0 : 1; }) == 0);
  int fd = open(dir.log().c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  rvmr::log::LogStatus st;
  REQUIRE(rvmr::log::ReadLogStatus(fd, &st).ok());
  close(fd);
  const std::string id = rvmr::RemoteLogName(st);
  std::string other = id;
  other[0] = other[0] == '0' ? '1' : '0';
  auto start = [&] { return InChild(dir.err(), [&] { return static_cast<int>(Init(dir)); }); };

  // Markers of this version: by log id.
  rvmr::RemoteMarker mk;
  mk.name = id;
  mk.log_id = other;
  REQUIRE(rvmr::WriteRemoteMarker(dir.log(), mk).ok());
  CHECK(start() == RVM_SUCCESS);
  mk.log_id = id;
  REQUIRE(rvmr::WriteRemoteMarker(dir.log(), mk).ok());
  CHECK(start() == RVM_ELOG);
  // Markers of earlier versions hold only the name line, and mean "open".
  std::ofstream(dir.log() + ".remote") << "remote log '" << other << "'\n";
  CHECK(start() == RVM_SUCCESS);
  std::ofstream(dir.log() + ".remote") << "remote log '" << id << "'\n";
  CHECK(start() == RVM_ELOG);
  std::ofstream(dir.log() + ".remote") << "remote log 'custom-name'\n";
  CHECK(start() == RVM_ELOG);
  Unconfigure();
}

// A program that redirects stderr to a file with freopen (as Coda's server
// does) makes it fully buffered: a message written with a plain fprintf
// would reach the file only at exit. The child triggers messages, then
// blocks; the parent reads the file meanwhile.
TEST_CASE("restart without mirrors: messages reach a fully buffered stderr when written") {
  Dir dir;
  MirrorProcess m;
  CrashWithCommitsOnlyInMirror(dir, m, 20);

  // Runs `action` in a child whose stderr was freopen'ed to `file`, then
  // checks (while the child waits) that the file holds each of `want` and
  // not the child's own unflushed line (which proves the stream buffers).
  auto check_written = [&](const std::string& file, const std::function<void()>& action,
                           const std::vector<std::string>& want) {
    int ready[2], go[2];
    REQUIRE(pipe(ready) == 0);
    REQUIRE(pipe(go) == 0);
    std::fflush(nullptr);
    pid_t pid = fork();
    if (pid == 0) {
      close(ready[0]);
      close(go[1]);
      if (std::freopen(file.c_str(), "w", stderr) == nullptr) _exit(120);
      // glibc's freopen already drops stderr's unbuffered mode; be explicit.
      static char buf[1 << 16];
      std::setvbuf(stderr, buf, _IOFBF, sizeof(buf));
      action();
      std::fprintf(stderr, "the program's own buffered line\n");
      char c = 'r';
      if (write(ready[1], &c, 1) != 1) _exit(121);
      if (read(go[0], &c, 1) != 1) _exit(122);
      _exit(0);
    }
    close(ready[1]);
    close(go[0]);
    char c = 0;
    REQUIRE(read(ready[0], &c, 1) == 1);
    const std::string text = Slurp(file);  // the child is blocked in read()
    c = 'g';
    REQUIRE(write(go[1], &c, 1) == 1);
    close(ready[0]);
    close(go[1]);
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK((WIFEXITED(st) && WEXITSTATUS(st) == 0));
    INFO(text);
    CHECK_FALSE(Has(text, "the program's own buffered line"));
    for (const std::string& w : want) CHECK(Has(text, w));
  };

  // The refusal.
  Configure(dir, nullptr, "");
  check_written(dir.path + "/refused", [&] { (void)Init(dir); },
                {"refusing to open the log", dir.log() + ".remote"});
  {
    // Said once, by the call that fails, at level error (issue 20: it was said twice).
    const std::string text = Slurp(dir.path + "/refused");
    INFO(text);
    CHECK(
        Has(text, "rvm: error: rvm_initialize: RVM_ELOG: Failed: refusing to open the log: log "));
    CHECK(text.find("refusing to open") == text.rfind("refusing to open"));
  }
  // The tail copied from the mirror.
  Configure(dir, &m, "");
  check_written(dir.path + "/copied", [&] { (void)Init(dir); }, {"copied log bytes [0, "});
  // UNVERIFIED: the mirror is gone, and the marker says it had the log.
  std::string uri = m.uri();
  m.Kill();
  setenv("RVM_MIRRORS", uri.c_str(), 1);
  check_written(dir.path + "/unverified", [&] { (void)Init(dir); }, {"UNVERIFIED"});
  Unconfigure();
}
