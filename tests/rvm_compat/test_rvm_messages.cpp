// The message of each error path of the RVM API (docs/diagnostics.md): a
// program's hook (rvm_set_diag_hook) gets one message per failed call,
// "<call>: <RVM_CODE>: <cause>", the same text rvm_last_error_text() gives;
// failures of the disk name the cause, the file and the step. Full and
// failing disks are injected with RVM_FAULT (common/fault_point.h), which a
// process reads once, at its first fault point: each scenario is a child.
#include <sys/mman.h>

#include <cstring>
#include <initializer_list>

#include "rvm/rvm_diag.h"
#include "rvm_test_util.h"

using namespace rvmtest;

namespace {

struct Message {
  int level;
  std::string text;
};
std::vector<Message> g_msgs;  // the child's captured messages (one thread)

void Capture(void*, int level, const char* message) {
  // The fault point's own note ("fault: <name> hit 1: enospc") is not the API's.
  if (std::strncmp(message, "fault: ", 7) == 0) return;
  g_msgs.push_back({level, message});
}

void CaptureAll() {
  rvm_set_diag_hook(&Capture, nullptr);
  rvm_set_diag_level(RVM_DIAG_DEBUG);
  g_msgs.clear();
}

[[noreturn]] void Die(int line, const std::string& why) {
  std::fprintf(stderr, "%s:%d: %s\n", __FILE__, line, why.c_str());
  for (const Message& m : g_msgs)
    std::fprintf(stderr, "  captured [%d] %s\n", m.level, m.text.c_str());
  std::fflush(stderr);
  _exit(3);
}

// `rc` must be `want`, with exactly one message captured, at `level`, that
// starts with `head` and contains every one of `parts`; rvm_last_error_text
// gives the same text.
void Expect(int line, rvm_return_t rc, rvm_return_t want, int level, const std::string& head,
            std::initializer_list<std::string> parts = {}) {
  if (rc != want)
    Die(line, std::string("returned ") + rvm_return(rc) + ", expected " + rvm_return(want));
  if (g_msgs.size() != 1) Die(line, std::to_string(g_msgs.size()) + " messages, expected 1");
  const Message& m = g_msgs[0];
  if (m.level != level) Die(line, "level " + std::to_string(m.level));
  if (m.text.compare(0, head.size(), head) != 0) Die(line, "expected it to start: " + head);
  for (const std::string& p : parts)
    if (m.text.find(p) == std::string::npos) Die(line, "expected it to contain: " + p);
  if (m.text != rvm_last_error_text())
    Die(line, std::string("last error: ") + rvm_last_error_text());
  g_msgs.clear();
}

// As Expect, for the whole text.
void ExpectExact(int line, rvm_return_t rc, rvm_return_t want, int level, const std::string& text) {
  Expect(line, rc, want, level, text);
  if (std::string(rvm_last_error_text()) != text) Die(line, "expected exactly: " + text);
}

// A call that succeeds says nothing and clears the last error.
void ExpectQuiet(int line, rvm_return_t rc) {
  if (rc != RVM_SUCCESS) Die(line, std::string("returned ") + rvm_return(rc));
  if (!g_msgs.empty()) Die(line, "a message for a call that succeeded");
  if (*rvm_last_error_text() != '\0') Die(line, "last error not cleared");
}

#define EXPECT_MSG(expr, want, level, head, ...) \
  Expect(__LINE__, (expr), (want), (level), (head), {__VA_ARGS__})
#define EXPECT_EXACT(expr, want, level, text) ExpectExact(__LINE__, (expr), (want), (level), (text))
#define EXPECT_QUIET(expr) ExpectQuiet(__LINE__, (expr))

constexpr int kInfo = RVM_DIAG_INFO;
constexpr int kError = RVM_DIAG_ERROR;
const char* const kNoSpace = "(No space left on device)";

rvm_options_t* Options(const std::string& log) {
  rvm_options_t* o = rvm_malloc_options();
  o->log_dev = const_cast<char*>(log.c_str());
  return o;
}

// Leaves `log` holding one committed transaction ("hello" at offset 4096 of
// `seg`) that recovery must apply: the process exits without truncating.
void CommitAndCrash(const std::string& log, const std::string& seg) {
  REQUIRE(RunInChild([&] {
            InitWithNewLog(log, 1 << 16);
            rvm_region_t* r = MapAll(seg);
            rvm_tid_t t;
            rvm_init_tid(&t);
            CHILD_RC(rvm_begin_transaction(&t, no_restore), RVM_SUCCESS);
            CHILD_RC(rvm_set_range(&t, r->vmaddr + 4096, 5), RVM_SUCCESS);
            std::memcpy(r->vmaddr + 4096, "hello", 5);
            CHILD_RC(rvm_end_transaction(&t, flush), RVM_SUCCESS);
            _exit(0);
          }) == 0);
}

// In a child whose disk fails at `fault` (RVM_FAULT), rvm_initialize of
// `log` fails with RVM_EIO, errno ENOSPC, and exactly the message `text`.
void ExpectInitFails(const std::string& log, const char* fault, const std::string& text) {
  REQUIRE(RunInChild([&] {
            ::setenv("RVM_FAULT", fault, 1);
            CaptureAll();
            rvm_options_t* o = Options(log);
            EXPECT_EXACT(RVM_INIT(o), RVM_EIO, kError, text);
            CHILD_REQUIRE(errno == ENOSPC);
          }) == 0);
}

// Child side: with RVM_FAULT=`fault`, a new log at `log` and `seg` mapped
// whole; messages are captured from here on. Returns the region.
rvm_region_t* StartWithFault(const std::string& log, const std::string& seg, const char* fault) {
  ::setenv("RVM_FAULT", fault, 1);
  InitWithNewLog(log, 1 << 16);
  rvm_region_t* r = MapAll(seg);
  CaptureAll();
  return r;
}

// Child side: begins a no_restore transaction `t` with the range [addr, +len).
void BeginWithRange(rvm_tid_t* t, char* addr, rvm_length_t len) {
  rvm_init_tid(t);
  EXPECT_QUIET(rvm_begin_transaction(t, no_restore));
  EXPECT_QUIET(rvm_set_range(t, addr, len));
}

}  // namespace

TEST_CASE("each argument error of the RVM API reports its call, code and cause once") {
  TempDir dir;
  std::string log = dir.File("log"), seg = dir.File("seg");
  MakeFile(seg, 4 * 4096, 0);
  REQUIRE(
      RunInChild([&] {
        CaptureAll();
        rvm_tid_t tid;
        rvm_init_tid(&tid);
        EXPECT_EXACT(rvm_begin_transaction(&tid, restore), RVM_EINIT, kInfo,
                     "rvm_begin_transaction: RVM_EINIT: RVM is not initialized (no "
                     "rvm_initialize yet, or rvm_terminate was called)");
        EXPECT_EXACT(rvm_initialize("RVM Interface Version 1.2", nullptr), RVM_EVERSION_SKEW, kInfo,
                     "rvm_initialize: RVM_EVERSION_SKEW: the caller's RVM_VERSION 'RVM "
                     "Interface Version 1.2' is not this library's '" RVM_VERSION "'");
        rvm_options_t bad;
        std::memset(&bad, 0, sizeof(bad));
        EXPECT_EXACT(rvm_initialize(RVM_VERSION, &bad), RVM_EOPTIONS, kInfo,
                     "rvm_initialize: RVM_EOPTIONS: the options record is missing or is not "
                     "an rvm_options_t");
        std::string missing = dir.File("nolog");
        rvm_options_t* o = Options(missing);
        EXPECT_MSG(RVM_INIT(o), RVM_ELOG, kError,
                   "rvm_initialize: RVM_ELOG: IO error: cannot open log " + missing,
                   "(No such file or directory)");
        EXPECT_QUIET(RVM_INIT(nullptr));
        EXPECT_EXACT(rvm_begin_transaction(&tid, restore), RVM_ELOG, kInfo,
                     "rvm_begin_transaction: RVM_ELOG: no log is open (options.log_dev)");
        rvm_region_t* r = rvm_malloc_region();
        r->data_dev = const_cast<char*>(seg.c_str());
        EXPECT_EXACT(rvm_map(r, nullptr), RVM_ELOG, kInfo,
                     "rvm_map: RVM_ELOG: no log is open (options.log_dev)");
        rvm_offset_t len = RVM_MK_OFFSET(0, 1 << 16);
        rvm_options_t* lo = Options(log);
        EXPECT_QUIET(rvm_create_log(lo, &len, 0600));
        EXPECT_EXACT(rvm_create_log(lo, &len, 0600), RVM_ELOG, kInfo,
                     "rvm_create_log: RVM_ELOG: log " + log + ": the file exists already");
        EXPECT_EXACT(rvm_set_options(nullptr), RVM_EOPTIONS, kInfo,
                     "rvm_set_options: RVM_EOPTIONS: the options record is missing or is not "
                     "an rvm_options_t");
        EXPECT_QUIET(rvm_set_options(lo));
        std::string other = dir.File("log2");
        rvm_options_t* oo = Options(other);
        EXPECT_QUIET(rvm_create_log(oo, &len, 0600));
        EXPECT_EXACT(rvm_set_options(oo), RVM_ELOG, kInfo,
                     "rvm_set_options: RVM_ELOG: log " + log +
                         " is open already, and a process has one log (not " + other + ")");
        // rvm_map
        EXPECT_EXACT(rvm_map(nullptr, nullptr), RVM_EREGION, kInfo,
                     "rvm_map: RVM_EREGION: the region record is missing, is not an "
                     "rvm_region_t, or names no data_dev");
        rvm_region_t* nodev = rvm_malloc_region();
        EXPECT_EXACT(rvm_map(nodev, nullptr), RVM_EREGION, kInfo,
                     "rvm_map: RVM_EREGION: the region names no data_dev");
        rvm_region_t* gone = rvm_malloc_region();
        std::string nofile = dir.File("noseg");
        gone->data_dev = nofile.data();
        EXPECT_EXACT(rvm_map(gone, nullptr), RVM_EIO, kError,
                     "rvm_map: RVM_EIO: IO error: cannot open segment " + nofile +
                         " (No such file or directory)");
        rvm_region_t* far = rvm_malloc_region();
        far->data_dev = const_cast<char*>(seg.c_str());
        far->offset = RVM_MK_OFFSET(0, 100 * 4096);
        EXPECT_EXACT(
            rvm_map(far, nullptr), RVM_EOFFSET, kInfo,
            "rvm_map: RVM_EOFFSET: the offset is beyond the 16384 bytes of segment " + seg);
        rvm_options_t* po = rvm_malloc_options();
        po->pager = const_cast<char*>("pager");
        EXPECT_EXACT(rvm_map(r, po), RVM_EPAGER, kInfo,
                     "rvm_map: RVM_EPAGER: external pagers are not supported");
        EXPECT_QUIET(rvm_map(r, nullptr));
        rvm_region_t* again = rvm_malloc_region();
        again->data_dev = const_cast<char*>(seg.c_str());
        EXPECT_EXACT(rvm_map(again, nullptr), RVM_EOVERLAP, kInfo,
                     "rvm_map: RVM_EOVERLAP: the region overlaps a region mapped from the "
                     "same segment");
        // Transactions
        EXPECT_EXACT(rvm_begin_transaction(nullptr, restore), RVM_ETID, kInfo,
                     "rvm_begin_transaction: RVM_ETID: the tid is missing, is not an "
                     "rvm_tid_t, or names no live transaction");
        EXPECT_EXACT(rvm_begin_transaction(&tid, static_cast<rvm_mode_t>(99)), RVM_EMODE, kInfo,
                     "rvm_begin_transaction: RVM_EMODE: the mode is not one this call takes");
        EXPECT_EXACT(rvm_set_range(&tid, r->vmaddr, 8), RVM_ETID, kInfo,
                     "rvm_set_range: RVM_ETID: the tid is missing, is not an rvm_tid_t, or "
                     "names no live transaction");
        EXPECT_QUIET(rvm_begin_transaction(&tid, restore));
        char* outside = r->vmaddr + r->length - 4;
        char want[128];
        std::snprintf(want, sizeof want,
                      "rvm_set_range: RVM_ENOT_MAPPED: [%p, +8) is not inside one mapped region",
                      static_cast<void*>(outside));
        EXPECT_EXACT(rvm_set_range(&tid, outside, 8), RVM_ENOT_MAPPED, kInfo, want);
        EXPECT_MSG(rvm_modify_bytes(&tid, outside, "12345678", 8), RVM_ENOT_MAPPED, kInfo,
                   "rvm_modify_bytes: RVM_ENOT_MAPPED: [");
        EXPECT_QUIET(rvm_set_range(&tid, r->vmaddr, 8));
        EXPECT_EXACT(rvm_unmap(r), RVM_EUNCOMMIT, kInfo,
                     "rvm_unmap: RVM_EUNCOMMIT: uncommitted transactions remain");
        EXPECT_EXACT(rvm_terminate(), RVM_EUNCOMMIT, kInfo,
                     "rvm_terminate: RVM_EUNCOMMIT: 1 transactions are not ended");
        EXPECT_EXACT(rvm_end_transaction(&tid, static_cast<rvm_mode_t>(99)), RVM_EMODE, kInfo,
                     "rvm_end_transaction: RVM_EMODE: the mode is not one this call takes");
        EXPECT_QUIET(rvm_end_transaction(&tid, flush));
        EXPECT_EXACT(rvm_end_transaction(&tid, flush), RVM_ETID, kInfo,
                     "rvm_end_transaction: RVM_ETID: the tid is missing, is not an rvm_tid_t, "
                     "or names no live transaction");
        EXPECT_EXACT(rvm_abort_transaction(&tid), RVM_ETID, kInfo,
                     "rvm_abort_transaction: RVM_ETID: the tid is missing, is not an "
                     "rvm_tid_t, or names no live transaction");
        // A transaction larger than the log.
        rvm_region_t* big = rvm_malloc_region();
        std::string bigseg = dir.File("bigseg");
        MakeFile(bigseg, 1 << 17, 0);
        big->data_dev = bigseg.data();
        EXPECT_QUIET(rvm_map(big, nullptr));
        EXPECT_QUIET(rvm_begin_transaction(&tid, no_restore));
        EXPECT_QUIET(rvm_set_range(&tid, big->vmaddr, 1 << 17));
        EXPECT_MSG(rvm_end_transaction(&tid, flush), RVM_ETOO_BIG, kInfo,
                   "rvm_end_transaction: RVM_ETOO_BIG: the transaction needs ",
                   " bytes of log, more than log " + log + " holds (65536 bytes)");
        EXPECT_QUIET(rvm_abort_transaction(&tid));
        // Query and statistics.
        EXPECT_EXACT(rvm_query(nullptr, nullptr), RVM_EOPTIONS, kInfo,
                     "rvm_query: RVM_EOPTIONS: the options record is missing or is not an "
                     "rvm_options_t");
        rvm_statistics_t* st = rvm_malloc_statistics();
        EXPECT_EXACT(rvm_statistics("wrong", st), RVM_ESTAT_VERSION_SKEW, kInfo,
                     "rvm_statistics: RVM_ESTAT_VERSION_SKEW: the caller's "
                     "RVM_STATISTICS_VERSION is not this library's");
        EXPECT_EXACT(rvm_statistics(RVM_STATISTICS_VERSION, nullptr), RVM_ESTATISTICS, kInfo,
                     "rvm_statistics: RVM_ESTATISTICS: the statistics record is missing or "
                     "is not an rvm_statistics_t");
        EXPECT_QUIET(rvm_flush());
        EXPECT_QUIET(rvm_truncate());
        EXPECT_QUIET(rvm_terminate());
        EXPECT_EXACT(RVM_INIT(nullptr), RVM_EINIT, kInfo,
                     "rvm_initialize: RVM_EINIT: rvm_terminate was called: RVM cannot be "
                     "initialized again in this process");
        rvm_set_diag_hook(nullptr, nullptr);
      }) == 0);
}

TEST_CASE("a restart on a full disk says no space is left, on which file, doing what") {
  TempDir dir;
  std::string log = dir.File("log"), seg = dir.File("seg");
  MakeFile(seg, 4 * 4096, 0);
  CommitAndCrash(log, seg);
  // The segment's disk is full: recovery cannot apply the commit.
  const std::string applying = "rvm_initialize: RVM_EIO: IO error: log " + log +
                               ": recovery: writing the applied records to the segments: writing "
                               "5 bytes at offset 4096 of segment file " +
                               seg + " " + kNoSpace;
  ExpectInitFails(log, "rvm.segment_write:enospc", applying);
  // The log's disk is full: the new writer epoch cannot be recorded.
  ExpectInitFails(log, "rvm.log_status_write:enospc",
                  "rvm_initialize: RVM_EIO: IO error: log " + log +
                      ": starting a new writer epoch: writing the status block: write of log "
                      "status " +
                      kNoSpace);
  // Without a hook the same line goes to stderr, once, with the prefix and level.
  std::string err = dir.File("stderr");
  REQUIRE(RunInChild([&] {
            ::setenv("RVM_FAULT", "rvm.segment_write:enospc", 1);
            int fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            CHILD_REQUIRE(fd >= 0 && ::dup2(fd, 2) == 2);
            rvm_options_t* o = Options(log);
            CHILD_RC(RVM_INIT(o), RVM_EIO);
          }) == 0);
  const std::string text = ReadFile(err);
  INFO(text);
  const std::string line = "rvm: error: " + applying + "\n";
  CHECK(text.find(line) != std::string::npos);
  CHECK(text.find("rvm_initialize") == text.rfind("rvm_initialize"));  // said once
  // Space again: recovery applies the commit.
  REQUIRE(RunInChild([&] {
            CaptureAll();
            rvm_options_t* o = Options(log);
            EXPECT_QUIET(RVM_INIT(o));
          }) == 0);
  CHECK(ReadFile(seg).substr(4096, 5) == "hello");
}

TEST_CASE("failing log and segment writes name the log or segment in commit, flush, truncate") {
  TempDir dir;
  std::string log = dir.File("log"), seg = dir.File("seg");
  MakeFile(seg, 4 * 4096, 0);
  // The log's disk fails at the first commit's write.
  REQUIRE(RunInChild([&] {
            rvm_region_t* r = StartWithFault(log, seg, "rvm.log_write:eio");
            rvm_tid_t t;
            BeginWithRange(&t, r->vmaddr, 4);
            EXPECT_QUIET(rvm_end_transaction(&t, no_flush));
            EXPECT_EXACT(rvm_flush(), RVM_EIO, kError,
                         "rvm_flush: RVM_EIO: IO error: making commits durable: log " + log +
                             ": pwritev to log " + log + " (Input/output error)");
            BeginWithRange(&t, r->vmaddr, 4);
            EXPECT_EXACT(rvm_end_transaction(&t, flush), RVM_EIO, kError,
                         "rvm_end_transaction: RVM_EIO: IO error: making commits durable: no more "
                         "commits after an earlier failure: log " +
                             log + ": pwritev to log " + log + " (Input/output error)");
            EXPECT_EXACT(rvm_truncate(), RVM_EIO, kError,
                         "rvm_truncate: RVM_EIO: IO error: making commits durable: no more "
                         "commits after an earlier failure: log " +
                             log + ": pwritev to log " + log + " (Input/output error)");
            _exit(0);
          }) == 0);
  std::remove(log.c_str());
  // The segments' disk is full at the truncation.
  REQUIRE(RunInChild([&] {
            rvm_region_t* r = StartWithFault(log, seg, "rvm.segment_write:enospc");
            rvm_tid_t t;
            BeginWithRange(&t, r->vmaddr + 8, 3);
            EXPECT_QUIET(rvm_end_transaction(&t, flush));
            EXPECT_EXACT(rvm_truncate(), RVM_EIO, kError,
                         "rvm_truncate: RVM_EIO: IO error: log " + log +
                             ": truncation: writing the applied records to the segments: writing "
                             "3 bytes at offset 8 of segment file " +
                             seg + " " + kNoSpace);
            _exit(0);
          }) == 0);
}

TEST_CASE(
    "the threshold: info messages are dropped by default, RVM_DIAG_LEVEL and the API set it") {
  TempDir dir;
  REQUIRE(RunInChild([&] {
            rvm_set_diag_hook(&Capture, nullptr);
            rvm_tid_t tid;
            rvm_init_tid(&tid);
            // Default threshold: notice. A caller's mistake (info) is not said...
            CHILD_RC(rvm_begin_transaction(&tid, restore), RVM_EINIT);
            CHILD_REQUIRE(g_msgs.empty());
            // ...but its cause is still there to read.
            CHILD_REQUIRE(
                std::string(rvm_last_error_text()).rfind("rvm_begin_transaction: RVM_EINIT: ", 0) ==
                0);
            CHILD_REQUIRE(rvm_set_diag_level(RVM_DIAG_INFO) == RVM_DIAG_NOTICE);
            CHILD_REQUIRE(rvm_set_diag_level(7) == -1);
            CHILD_RC(rvm_begin_transaction(&tid, restore), RVM_EINIT);
            CHILD_REQUIRE(g_msgs.size() == 1 && g_msgs[0].level == RVM_DIAG_INFO);
          }) == 0);
  REQUIRE(RunInChild([&] {
            ::setenv("RVM_DIAG_LEVEL", "error", 1);
            rvm_set_diag_hook(&Capture, nullptr);
            CHILD_REQUIRE(rvm_set_diag_level(RVM_DIAG_DEBUG) == RVM_DIAG_ERROR);
          }) == 0);
}
