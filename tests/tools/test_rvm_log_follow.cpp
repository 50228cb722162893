// rvm-log inspect --follow as a subprocess: it prints the records an RVM
// process commits while it runs, notices a head that moved past it and a
// re-created log, ends on SIGTERM/SIGINT (exit 0) or at its --limit. Each
// test waits on what the follower prints, never on time.
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>

#include "rvm/rvm.h"
#include "tools_test_helpers.h"

using rvmr::testing::ChildProcess;
using rvmr::testing::Count;
using rvmr::testing::LogBuilder;
using rvmr::testing::TempDir;

namespace {

const std::string kTxn = "\"type\":\"transaction\"";

std::string Follow(const std::string& args) {
  return std::string(RVM_LOG_BINARY) + " inspect --follow --json --poll-ms 20 " + args;
}

// A writer process: an RVM application committing transactions on `log`
// (created) to segment `seg`, in two batches. It says "1" on `to_test` after
// the first batch, waits for a byte on `from_test`, commits the second,
// says "2", and terminates RVM on the next byte.
void Writer(const std::string& log, const std::string& seg, int first, int second, int to_test,
            int from_test) {
  auto fail = [](const char* what, rvm_return_t rc) {
    std::fprintf(stderr, "writer: %s: %s\n", what, rvm_return(rc));
    std::fflush(stderr);
    ::_exit(3);
  };
  rvm_options_t* o = rvm_malloc_options();
  o->log_dev = const_cast<char*>(log.c_str());
  o->truncate = 0;
  o->create_log_file = rvm_true;
  o->create_log_size = RVM_MK_OFFSET(0, 1 << 20);
  o->create_log_mode = 0600;
  rvm_return_t rc = RVM_INIT(o);
  if (rc != RVM_SUCCESS) fail("rvm_initialize", rc);
  rvm_region_t* r = rvm_malloc_region();
  r->data_dev = const_cast<char*>(seg.c_str());
  if ((rc = rvm_map(r, nullptr)) != RVM_SUCCESS) fail("rvm_map", rc);
  char* m = r->vmaddr;
  int n = 0;
  auto commit = [&](int count) {
    for (int i = 0; i < count; i++, n++) {
      rvm_tid_t* t = rvm_malloc_tid();
      if ((rc = rvm_begin_transaction(t, restore)) != RVM_SUCCESS) fail("begin", rc);
      if ((rc = rvm_set_range(t, m + 64 * n, 16)) != RVM_SUCCESS) fail("set_range", rc);
      std::snprintf(m + 64 * n, 16, "txn %d", n);
      if ((rc = rvm_end_transaction(t, flush)) != RVM_SUCCESS) fail("end", rc);
      rvm_free_tid(t);
    }
  };
  char c = 0;
  commit(first);
  if (::write(to_test, "1", 1) != 1 || ::read(from_test, &c, 1) != 1) ::_exit(4);
  commit(second);
  if (::write(to_test, "2", 1) != 1 || ::read(from_test, &c, 1) != 1) ::_exit(4);
  rvm_terminate();
  ::_exit(0);
}

}  // namespace

TEST_CASE("inspect --follow prints the transactions an RVM process commits meanwhile", "[follow]") {
  TempDir dir;
  const std::string log = dir.File("log"), seg = dir.File("seg");
  rvmr::testing::WriteFile(seg, std::string(64 * 1024, '\0'));
  int to_test[2], from_test[2];
  REQUIRE(::pipe(to_test) == 0);
  REQUIRE(::pipe(from_test) == 0);
  std::fflush(nullptr);
  pid_t writer = ::fork();
  REQUIRE(writer >= 0);
  if (writer == 0) Writer(log, seg, 3, 4, to_test[1], from_test[0]);
  char c = 0;
  REQUIRE(::read(to_test[0], &c, 1) == 1);  // the first 3 are committed

  ChildProcess f(Follow(log));
  REQUIRE(f.ok());
  CHECK(f.ReadUntil([](const std::string& o) { return Count(o, kTxn) >= 3; }));
  REQUIRE(::write(from_test[1], "g", 1) == 1);  // commit 4 more while it follows
  REQUIRE(::read(to_test[0], &c, 1) == 1);
  INFO(f.output());
  CHECK(f.ReadUntil([](const std::string& o) { return Count(o, kTxn) >= 7; }));
  CHECK(f.Stop(SIGTERM) == 0);
  const std::string out = f.output();
  CHECK(Count(out, kTxn) == 7);
  CHECK(Count(out, "\"kind\":\"status\"") == 1);
  CHECK(out.find("\"segment\":\"" + seg + "\"") != std::string::npos);
  CHECK(out.find("\"kind\":\"end\"") != std::string::npos);
  CHECK(out.find("\"transactions\":7") != std::string::npos);

  REQUIRE(::write(from_test[1], "q", 1) == 1);
  int st = 0;
  REQUIRE(::waitpid(writer, &st, 0) == writer);
  CHECK((WIFEXITED(st) && WEXITSTATUS(st) == 0));
  for (int fd : {to_test[0], to_test[1], from_test[0], from_test[1]}) ::close(fd);
}

TEST_CASE("inspect --follow: a head moved past it, a re-created log, --limit", "[follow]") {
  TempDir dir;
  const std::string path = dir.File("log");
  auto add = [&](LogBuilder* b, int txns) {
    for (int i = 0; i < txns; i++) b->AddTxn({{1, uint64_t(8 * i), "abcdefgh"}});
  };
  LogBuilder b(path, 1 << 20);
  REQUIRE(b.ok());
  b.AddDict(1, dir.File("seg1"));
  add(&b, 3);
  b.Sync();
  // The same records and 4 more in a scratch log, to lay them into the log
  // without ever letting the follower read the first of them.
  LogBuilder scratch(dir.File("scratch"), 1 << 20);
  REQUIRE(scratch.ok());
  scratch.AddDict(1, dir.File("seg1"));
  add(&scratch, 7);
  REQUIRE(scratch.offsets()[4] == b.tail());

  ChildProcess f(Follow(path));
  REQUIRE(f.ok());
  CHECK(f.ReadUntil([](const std::string& o) { return Count(o, kTxn) >= 3; }));
  // Records 6 to 8 (LSNs) are written, record 5 is not: the follower waits
  // at 5 until the head moves to 7 (truncation took 5 and 6 unread).
  const std::string& s = scratch.stream();
  uint64_t from = scratch.offsets()[5];
  b.Poke(from, s.substr(size_t(from - scratch.offsets()[0])));
  b.SetHead(scratch.offsets()[6], 7, scratch.tail());
  INFO(f.output());
  CHECK(
      f.ReadUntil([](const std::string& o) { return o.find("\"lsn\":8,") != std::string::npos; }));
  CHECK(f.output().find("the head moved to offset " + std::to_string(scratch.offsets()[6]) +
                        " (lsn 7), past offset " + std::to_string(scratch.offsets()[4])) !=
        std::string::npos);
  CHECK(f.output().find("\"lsn\":5,") == std::string::npos);
  CHECK(f.output().find("\"lsn\":6,") == std::string::npos);
  CHECK(f.output().find("\"lsn\":7,") != std::string::npos);

  // A new log renamed over the path: read from its head.
  {
    LogBuilder n(dir.File("new"), 1 << 20);
    REQUIRE(n.ok());
    n.AddDict(1, dir.File("seg9"));
    add(&n, 2);
    n.Sync();
  }
  std::filesystem::rename(dir.File("new"), path);
  CHECK(f.ReadUntil([](const std::string& o) { return Count(o, kTxn) >= 7; }));
  CHECK(f.output().find("the log was re-created") != std::string::npos);
  CHECK(f.output().find(dir.File("seg9")) != std::string::npos);
  CHECK(f.Stop(SIGINT) == 0);

  // --limit ends a follow by itself.
  ChildProcess l(Follow("--limit 2 " + path));
  CHECK(l.Wait() == 0);
  CHECK(Count(l.output(), "\"kind\":\"record\"") == 2);
  CHECK(l.output().find("record limit reached") != std::string::npos);

  // Several logs followed at once: each headed, each ends at its limit.
  ChildProcess two(Follow("--limit 3 " + path + " " + dir.File("scratch")));
  CHECK(two.Wait() == 0);
  CHECK(Count(two.output(), "\"kind\":\"record\"") == 6);
  CHECK(Count(two.output(), "{\"kind\":\"file\",\"path\":\"" + path + "\"}") == 2);
  CHECK(Count(two.output(), "\"reason\":\"record limit reached\"") == 2);
}
