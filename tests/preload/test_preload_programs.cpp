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
#include "preload_fixtures.h"

using namespace rvmr;
using namespace rvmr::preload_test;
namespace fs = std::filesystem;

TEST_CASE("io_ops: write/pwrite/writev/O_APPEND/O_DSYNC/ftruncate/preallocation/rename/threads "
          "restore") {
  Mirror m;
  TempDir d;
  Child c = Spawn({IO_OPS_PROG, d.path, "run"}, ShimEnv(m, d.path + "/*.log", true), d.File("err"));
  WaitDoneThenKill(c);
  std::vector<std::string> names = {"a2.log", "b.log", "c.log", "d.log", "e.log", "f.log"};
  std::vector<std::string> snap;
  for (const auto& n : names) snap.push_back(ReadFile(d.File(n)));
  CHECK(snap[0].size() == 14500);
  CHECK(snap[1].size() == 3 * 777);
  CHECK(snap[2].size() == 4 * 64 * 512);
  CHECK(snap[3].size() == 5 * 300);
  CHECK(snap[4].size() == 2048);
  CHECK(snap[5] == std::string(4096, 'M') + std::string(4096, 'N'));
  INFO(ReadFile(d.File("err")));
  CHECK(ReadFile(d.File("err")).find("refused") == std::string::npos);
  // The local copies never synced: lose them. a2.log was drained to disk at
  // the rename, so only what was written to it afterwards is lost.
  Truncate(d.File("a2.log"), 14000);
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
  CHECK(out.find("mmap mapped") != std::string::npos);  // mapped, and the file refused
  CHECK(err.find("z.log: refused: mmap(PROT_WRITE, MAP_SHARED)") != std::string::npos);
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
  REQUIRE(logs.size() == 2);  // the WAL's log and its path log
  if (logs[0].name != preload::RemoteLogNameForPath(db + "-wal")) std::swap(logs[0], logs[1]);
  CHECK(logs[0].name == preload::RemoteLogNameForPath(db + "-wal"));
  CHECK(logs[1].name == preload::RemoteLogNameForPath(db + "-wal") + ".path");
  CHECK(logs[0].info.tail > 50u * 100u);  // every commit went through the mirror
  CHECK(logs[0].info.durable == logs[0].info.tail);
  REQUIRE(Run({SQLITE_PROG, db, "check"}, {}, d.File("err"), &out) == 0);
  CHECK(out.rfind("rows 50 max 50", 0) == 0);
}

TEST_CASE("SQLite: WAL restarts after checkpoints (writes at offset 0) are not taken as rewrites") {
  Mirror m;
  TempDir d;
  std::string db = d.File("app.db");
  std::string out;
  // 2500 commits write more than the 1000 pages of SQLite's autocheckpoint:
  // the WAL is checkpointed and restarted from offset 0 more than once.
  REQUIRE(Run({SQLITE_PROG, db, "bench", "2500"}, ShimEnv(m, d.path + "/*-wal", false),
              d.File("err"), &out) == 0);
  std::string err = ReadFile(d.File("err"));
  INFO(err);
  CHECK(err.find("refused") == std::string::npos);
  REQUIRE(Run({SQLITE_PROG, db, "check"}, {}, d.File("err2"), &out) == 0);
  CHECK(out.rfind("rows 2500 max 2500", 0) == 0);
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
