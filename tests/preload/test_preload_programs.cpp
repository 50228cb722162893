// Unmodified programs under LD_PRELOAD=librvmshim-preload.so against mirrors
// running in this process on loopback: the file-operations program, SQLite
// in WAL mode with synchronous=FULL, Berkeley DB transactions. The crash
// tests kill the program, discard the local log copy that was never synced
// (the shim runs with RVM_PRELOAD_TEST_NO_DISK_SYNC=1, so nothing was),
// restore it with rvm-preload-restore and let the program's own recovery
// find every commit it acknowledged.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "preload/preload_record.h"
#include "remote_log/log_store.h"
#include "remote_log/server.h"

extern char** environ;

using namespace rvmr;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char d[] = "/tmp/rvm-preload-XXXXXX";
    REQUIRE(::mkdtemp(d) != nullptr);
    path = d;
  }
  ~TempDir() { fs::remove_all(path); }
  std::string File(const std::string& n) const { return path + "/" + n; }
};

struct Mirror {
  std::unique_ptr<remote_log::Server> server;
  Mirror() {
    remote_log::ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.capacity = 256u << 20;
    server = std::make_unique<remote_log::Server>(o);
    REQUIRE(server->Start().ok());
  }
  std::string uri() const { return "tcp://127.0.0.1:" + std::to_string(server->port()); }
};

std::string ReadFile(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The environment for a child: ours without LD_PRELOAD / RVM_*, plus `extra`.
std::vector<std::string> ChildEnv(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string s = *e;
    if (s.rfind("LD_PRELOAD=", 0) == 0 || s.rfind("RVM_", 0) == 0) continue;
    env.push_back(s);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

struct Child {
  pid_t pid = -1;
  FILE* out = nullptr;  // the child's stdout
  std::string err_path;
};

Child Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
            const std::string& err_path) {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  std::vector<std::string> env = ChildEnv(extra_env);
  std::vector<char*> av, ev;
  for (const auto& a : argv) av.push_back(const_cast<char*>(a.c_str()));
  av.push_back(nullptr);
  for (const auto& e : env) ev.push_back(const_cast<char*>(e.c_str()));
  ev.push_back(nullptr);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(p[1], 1);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (err >= 0) ::dup2(err, 2);
    ::close(p[0]);
    ::execve(av[0], av.data(), ev.data());
    ::_exit(127);
  }
  ::close(p[1]);
  Child c;
  c.pid = pid;
  c.out = ::fdopen(p[0], "r");
  c.err_path = err_path;
  return c;
}

// Runs to completion; returns the exit status and stdout.
int Run(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
        const std::string& err_path, std::string* out) {
  Child c = Spawn(argv, extra_env, err_path);
  out->clear();
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, c.out)) > 0) out->append(buf, n);
  std::fclose(c.out);
  int st = 0;
  ::waitpid(c.pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

// Reads "acked N" lines until `stop_after` acks (or "done"), then SIGKILLs
// the child. Returns the largest acknowledged id read.
long ReadAcksThenKill(Child& c, long stop_after) {
  long acked = 0, count = 0;
  char line[256];
  while (std::fgets(line, sizeof line, c.out) != nullptr) {
    long id;
    if (std::sscanf(line, "acked %ld", &id) == 1) {
      acked = std::max(acked, id);
      if (++count >= stop_after) break;
    } else if (std::strncmp(line, "done", 4) == 0) {
      break;
    }
  }
  ::kill(c.pid, SIGKILL);
  int st = 0;
  ::waitpid(c.pid, &st, 0);
  std::fclose(c.out);
  return acked;
}

void WaitDoneThenKill(Child& c) {
  char line[256];
  bool done = false;
  while (std::fgets(line, sizeof line, c.out) != nullptr)
    if (std::strncmp(line, "done", 4) == 0) {
      done = true;
      break;
    }
  ::kill(c.pid, SIGKILL);
  int st = 0;
  ::waitpid(c.pid, &st, 0);
  std::fclose(c.out);
  INFO(ReadFile(c.err_path));
  REQUIRE(done);
}

void Truncate(const std::string& p, off_t len) {
  REQUIRE(::truncate(p.c_str(), len) == 0);
}

// "rows COUNT max MAX" from a check run.
void ParseRows(const std::string& out, long* rows, long* max) {
  *rows = *max = -1;
  std::sscanf(out.c_str(), "rows %ld max %ld", rows, max);
}

std::vector<std::string> ShimEnv(const Mirror& m, const std::string& logs, bool no_disk_sync) {
  std::vector<std::string> env = {std::string("LD_PRELOAD=") + PRELOAD_LIB,
                                  "RVM_MIRRORS=" + m.uri(), "RVM_PRELOAD_LOGS=" + logs};
  if (no_disk_sync) env.push_back("RVM_PRELOAD_TEST_NO_DISK_SYNC=1");
  return env;
}

int Restore(const Mirror& m, const std::vector<std::string>& files, const std::string& err,
            std::string* out) {
  std::vector<std::string> argv = {RESTORE_TOOL, "--mirrors", m.uri()};
  argv.insert(argv.end(), files.begin(), files.end());
  return Run(argv, {}, err, out);
}

}  // namespace

TEST_CASE("io_ops: write/pwrite/writev/O_APPEND/O_DSYNC/ftruncate/mmap/rename/threads restore") {
  Mirror m;
  TempDir d;
  Child c = Spawn({IO_OPS_PROG, d.path, "run"}, ShimEnv(m, d.path + "/*.log", true), d.File("err"));
  WaitDoneThenKill(c);
  std::vector<std::string> names = {"a2.log", "b.log", "c.log", "d.log", "e.log", "f.log"};
  std::vector<std::string> snap;
  for (const auto& n : names) snap.push_back(ReadFile(d.File(n)));
  CHECK(snap[0].size() == 10000);
  CHECK(snap[1].size() == 3 * 777);
  CHECK(snap[2].size() == 4 * 64 * 512);
  CHECK(snap[3].size() == 5 * 300);
  CHECK(snap[4].size() == 2048);
  CHECK(snap[5] == std::string(4096, 'M') + std::string(4096, 'N'));
  // The local copies never synced: lose them. a2.log was drained to disk at
  // the rename, so only what was written to it afterwards is lost.
  {
    int fd = ::open(d.File("a2.log").c_str(), O_WRONLY);
    REQUIRE(fd >= 0);
    std::string zeros(500, '\0');
    REQUIRE(::pwrite(fd, zeros.data(), zeros.size(), 100) == 500);
    ::close(fd);
  }
  for (size_t i = 1; i < names.size(); ++i) Truncate(d.File(names[i]), 0);
  for (size_t i = 0; i < names.size(); ++i) REQUIRE(ReadFile(d.File(names[i])) != snap[i]);

  std::vector<std::string> paths;
  for (const auto& n : names) paths.push_back(d.File(n));
  std::string out;
  REQUIRE(Restore(m, paths, d.File("restore.err"), &out) == 0);
  INFO(out << ReadFile(d.File("restore.err")));
  for (size_t i = 0; i < names.size(); ++i) {
    INFO(names[i]);
    CHECK(ReadFile(d.File(names[i])) == snap[i]);
  }
  // A second restore finds nothing pending and changes nothing.
  REQUIRE(Restore(m, paths, d.File("restore.err"), &out) == 0);
  CHECK(out.find("replayed 0 records") != std::string::npos);
  for (size_t i = 0; i < names.size(); ++i) CHECK(ReadFile(d.File(names[i])) == snap[i]);
}

TEST_CASE("unsupported paths on a designated log are refused with a message") {
  Mirror m;
  TempDir d;
  std::string out;
  REQUIRE(Run({IO_OPS_PROG, d.path, "refuse"}, ShimEnv(m, d.path + "/*.log", false), d.File("err"),
              &out) == 0);
  std::string err = ReadFile(d.File("err"));
  INFO(out << err);
  CHECK(out.find("odirect Invalid argument") != std::string::npos);
  CHECK(out.find("fopen Operation not supported") != std::string::npos);
  CHECK(out.find("mmap mapped") != std::string::npos);  // msync(MS_SYNC) is a sync point
  CHECK(out.find("setfl Invalid argument") != std::string::npos);
  CHECK(out.find("plain-odirect opened") != std::string::npos);
  CHECK(err.find("rvmshim-preload: ") != std::string::npos);
  CHECK(err.find("O_DIRECT") != std::string::npos);
}

TEST_CASE("without RVM_MIRRORS the library passes everything through") {
  TempDir d;
  std::string out;
  REQUIRE(Run({IO_OPS_PROG, d.path, "refuse"},
              {std::string("LD_PRELOAD=") + PRELOAD_LIB, "RVM_PRELOAD_LOGS=" + d.path + "/*.log"},
              d.File("err"), &out) == 0);
  INFO(out);
  CHECK(out.find("odirect opened") != std::string::npos);
  CHECK(out.find("fopen opened") != std::string::npos);
  CHECK(out.find("mmap mapped") != std::string::npos);
}

#ifdef SQLITE_PROG
TEST_CASE("SQLite WAL synchronous=FULL: crash, lose the WAL, restore, recover every commit") {
  Mirror m;
  TempDir d;
  std::string db = d.File("app.db"), wal = db + "-wal";
  auto env = ShimEnv(m, d.path + "/*-wal", true);
  Child c = Spawn({SQLITE_PROG, db, "run", "1", "100000"}, env, d.File("err"));
  long acked = ReadAcksThenKill(c, 300);
  INFO(ReadFile(d.File("err")));
  REQUIRE(acked >= 300);
  // The machine "crashes": the never-synced WAL is gone, the shm is stale.
  Truncate(wal, 0);
  fs::remove(db + "-shm");
  std::string out;
  // The program restarted under the shim before the restore is refused.
  CHECK(Run({SQLITE_PROG, db, "check"}, env, d.File("err2"), &out) != 0);
  CHECK(ReadFile(d.File("err2")).find("rvm-preload-restore") != std::string::npos);
  // Control: without the restore, SQLite's recovery finds fewer commits.
  {
    TempDir ctl;
    fs::copy_file(db, ctl.File("app.db"));
    std::string cout;
    REQUIRE(Run({SQLITE_PROG, ctl.File("app.db"), "check"}, {}, ctl.File("err"), &cout) == 0);
    long rows, max;
    ParseRows(cout, &rows, &max);
    CHECK(rows < acked);
  }
  REQUIRE(Restore(m, {wal}, d.File("restore.err"), &out) == 0);
  INFO(out << ReadFile(d.File("restore.err")));
  CHECK(out.find("replayed") != std::string::npos);
  // The program's own recovery, under the shim again.
  REQUIRE(Run({SQLITE_PROG, db, "check"}, ShimEnv(m, d.path + "/*-wal", false), d.File("err3"),
              &out) == 0);
  long rows, max;
  ParseRows(out, &rows, &max);
  INFO(out << ReadFile(d.File("err3")));
  CHECK(max >= acked);
  CHECK(rows == max);  // every id from 1 to max, no gap
}

TEST_CASE("SQLite: RVM_PRELOAD_RESTORE=auto rebuilds the WAL when the program reopens it") {
  Mirror m;
  TempDir d;
  std::string db = d.File("app.db"), wal = db + "-wal";
  Child c = Spawn({SQLITE_PROG, db, "run", "1", "100000"}, ShimEnv(m, d.path + "/*-wal", true),
                  d.File("err"));
  long acked = ReadAcksThenKill(c, 200);
  REQUIRE(acked >= 200);
  Truncate(wal, 0);
  fs::remove(db + "-shm");
  auto env = ShimEnv(m, d.path + "/*-wal", false);
  env.push_back("RVM_PRELOAD_RESTORE=auto");
  std::string out;
  REQUIRE(Run({SQLITE_PROG, db, "check"}, env, d.File("err2"), &out) == 0);
  INFO(out << ReadFile(d.File("err2")));
  CHECK(ReadFile(d.File("err2")).find("restored") != std::string::npos);
  long rows, max;
  ParseRows(out, &rows, &max);
  CHECK(max >= acked);
  CHECK(rows == max);
}

TEST_CASE("SQLite: losing the only mirror falls back to the local disk, commits go on") {
  auto m = std::make_unique<Mirror>();
  TempDir d;
  std::string db = d.File("app.db");
  Child c = Spawn({SQLITE_PROG, db, "run", "1", "100000"}, ShimEnv(*m, d.path + "/*-wal", false),
                  d.File("err"));
  char line[256];
  long acked = 0;
  while (acked < 50 && std::fgets(line, sizeof line, c.out) != nullptr)
    std::sscanf(line, "acked %ld", &acked);
  m.reset();  // the mirror goes away
  long more = acked + 100;
  while (acked < more && std::fgets(line, sizeof line, c.out) != nullptr)
    std::sscanf(line, "acked %ld", &acked);
  ::kill(c.pid, SIGKILL);
  int st = 0;
  ::waitpid(c.pid, &st, 0);
  std::fclose(c.out);
  std::string err = ReadFile(d.File("err"));
  INFO(err);
  CHECK(acked >= more);
  CHECK(err.find("syncing this file to the local disk") != std::string::npos);
  std::string out;
  REQUIRE(Run({SQLITE_PROG, db, "check"}, {}, d.File("err2"), &out) == 0);
  long rows, max;
  ParseRows(out, &rows, &max);
  CHECK(max >= acked);
  CHECK(rows == max);
}

TEST_CASE("SQLite under the shim: clean exit leaves the mirrors trimmed to the disk") {
  Mirror m;
  TempDir d;
  std::string db = d.File("app.db");
  std::string out;
  REQUIRE(Run({SQLITE_PROG, db, "bench", "50"}, ShimEnv(m, d.path + "/*-wal", false), d.File("err"),
              &out) == 0);
  auto logs = m.server->store().List();
  REQUIRE(logs.size() == 1);
  CHECK(logs[0].name == preload::RemoteLogNameForPath(db + "-wal"));
  CHECK(logs[0].info.tail > 50u * 100u);  // every commit went through the mirror
  CHECK(logs[0].info.durable == logs[0].info.tail);
  REQUIRE(Run({SQLITE_PROG, db, "check"}, {}, d.File("err"), &out) == 0);
  CHECK(out.rfind("rows 50 max 50", 0) == 0);
}
#endif

#ifdef BDB_PROG
TEST_CASE("Berkeley DB transactions: crash, lose the log, restore, recover every commit") {
  Mirror m;
  TempDir d;
  std::string home = d.File("env");
  fs::create_directory(home);
  auto env = ShimEnv(m, home + "/log.*", true);
  Child c = Spawn({BDB_PROG, home, "run", "1", "100000"}, env, d.File("err"));
  long acked = ReadAcksThenKill(c, 300);
  INFO(ReadFile(d.File("err")));
  REQUIRE(acked >= 300);
  std::vector<std::string> logs;
  for (const auto& e : fs::directory_iterator(home))
    if (e.path().filename().string().rfind("log.", 0) == 0) logs.push_back(e.path().string());
  REQUIRE(!logs.empty());
  for (const auto& l : logs) Truncate(l, 0);
  std::string out;
  {  // Control: recovery without the restore cannot find the commits.
    TempDir ctl;
    fs::copy(home, ctl.File("env"), fs::copy_options::recursive);
    std::string cout;
    int rc = Run({BDB_PROG, ctl.File("env"), "check"}, {}, ctl.File("err"), &cout);
    long rows = -1, max = -1;
    ParseRows(cout, &rows, &max);
    CHECK((rc != 0 || rows < acked));
  }
  REQUIRE(Restore(m, logs, d.File("restore.err"), &out) == 0);
  INFO(out << ReadFile(d.File("restore.err")));
  REQUIRE(Run({BDB_PROG, home, "check"}, ShimEnv(m, home + "/log.*", false), d.File("err3"),
              &out) == 0);
  long rows, max;
  ParseRows(out, &rows, &max);
  INFO(out << ReadFile(d.File("err3")));
  CHECK(max >= acked);
  CHECK(rows == max);
}
#endif
