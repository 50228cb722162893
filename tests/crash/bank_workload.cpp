// bank_workload: the crash suite's workload process (see docs/crash-suite.md).
//
//   bank_workload run DIR REPORT_FD MAX_TXNS LOG_BYTES TRUNCATE_PCT
//     Initializes RVM on DIR/rvm.log (created if missing; recovery runs
//     otherwise; remote mode if RVM_MIRRORS is set), maps DIR/bank.seg,
//     checks the recovered bank and reports it, then runs up to MAX_TXNS
//     transfer transactions, each committed with flush. Reports on REPORT_FD
//     (16-byte messages, see Msg) the recovered counter, each transaction's
//     sequence number before it begins and the moment rvm_end_transaction
//     returns. Exits 0 after MAX_TXNS (with rvm_terminate), 2 if the recovered
//     bank is inconsistent, 3 on an RVM error.
//   bank_workload check SEGMENT
//     Checks a segment file directly (after `rvm-log replay`): prints
//     "committed=C" and exits 0 if consistent, else prints the problem, exit 2.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "bank.h"
#include "rvm/rvm.h"

namespace {

using namespace rvmr::crash;

enum MsgType : uint32_t { kRecovered = 1, kInconsistent = 2, kBegin = 3, kAck = 4 };
struct Msg {
  uint32_t type;
  uint32_t pad;
  uint64_t value;
};

int g_report = -1;

void Report(MsgType t, uint64_t v) {
  Msg m{t, 0, v};
  const char* p = reinterpret_cast<const char*>(&m);
  size_t left = sizeof(m);
  while (left > 0) {
    ssize_t w = ::write(g_report, p, left);
    if (w <= 0) std::_Exit(4);  // the driver is gone
    p += w;
    left -= static_cast<size_t>(w);
  }
}

int Fail(const char* what, rvm_return_t rc) {
  std::fprintf(stderr, "bank_workload: %s: %s\n", what, rvm_return(rc));
  return 3;
}

int Run(const std::string& dir, int fd, uint64_t max_txns, unsigned long log_bytes, long trunc) {
  g_report = fd;
  std::string log = dir + "/rvm.log", seg = dir + "/bank.seg";
  rvm_options_t* o = rvm_malloc_options();
  o->log_dev = const_cast<char*>(log.c_str());
  o->truncate = trunc;
  o->flags = RVM_ALL_OPTIMIZATIONS;
  struct stat sb;
  o->create_log_file = ::stat(log.c_str(), &sb) != 0 ? rvm_true : rvm_false;
  o->create_log_size = RVM_MK_OFFSET(0, log_bytes);
  o->create_log_mode = 0600;
  rvm_return_t rc = RVM_INIT(o);
  rvm_free_options(o);
  if (rc != RVM_SUCCESS) return Fail("rvm_initialize", rc);
  rvm_region_t* r = rvm_malloc_region();
  r->data_dev = const_cast<char*>(seg.c_str());
  r->offset = RVM_MK_OFFSET(0, 0);
  r->length = kSegmentBytes;
  rc = rvm_map(r, nullptr);
  if (rc != RVM_SUCCESS) return Fail("rvm_map", rc);
  Bank* b = reinterpret_cast<Bank*>(r->vmaddr);
  std::string bad = CheckBank(*b);
  Report(kRecovered, b->committed);
  if (!bad.empty()) {
    std::fprintf(stderr, "bank_workload: recovered bank inconsistent: %s\n", bad.c_str());
    Report(kInconsistent, b->committed);
    return 2;
  }
  rvm_tid_t* tid = rvm_malloc_tid();
  const uint64_t first = b->committed + 1;
  for (uint64_t k = first; k < first + max_txns; k++) {
    Report(kBegin, k);
    rc = rvm_begin_transaction(tid, restore);
    if (rc != RVM_SUCCESS) return Fail("rvm_begin_transaction", rc);
    const uint32_t f = From(k), t = To(k);
    if ((rc = rvm_set_range(tid, &b->committed, sizeof(b->committed))) != RVM_SUCCESS ||
        (rc = rvm_set_range(tid, &b->balance[f], sizeof(int64_t))) != RVM_SUCCESS ||
        (rc = rvm_set_range(tid, &b->balance[t], sizeof(int64_t))) != RVM_SUCCESS ||
        (rc = rvm_set_range(tid, &b->history[k % kHistory], sizeof(HistoryEntry))) != RVM_SUCCESS)
      return Fail("rvm_set_range", rc);
    ApplyTxn(b, k);
    rc = rvm_end_transaction(tid, flush);
    if (rc != RVM_SUCCESS) return Fail("rvm_end_transaction", rc);
    Report(kAck, k);
  }
  rvm_free_tid(tid);
  rvm_free_region(r);
  rc = rvm_terminate();
  if (rc != RVM_SUCCESS) return Fail("rvm_terminate", rc);
  return 0;
}

int Check(const std::string& seg) {
  static Bank b;
  int fd = ::open(seg.c_str(), O_RDONLY);
  if (fd < 0 || ::pread(fd, &b, sizeof(b), 0) != static_cast<ssize_t>(sizeof(b))) {
    std::printf("cannot read %s\n", seg.c_str());
    return 2;
  }
  ::close(fd);
  std::string bad = CheckBank(b);
  if (!bad.empty()) {
    std::printf("inconsistent: %s\n", bad.c_str());
    return 2;
  }
  std::printf("committed=%llu\n", static_cast<unsigned long long>(b.committed));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "run" && argc == 7)
    return Run(argv[2], std::atoi(argv[3]), std::strtoull(argv[4], nullptr, 10),
               std::strtoul(argv[5], nullptr, 10), std::atol(argv[6]));
  if (mode == "check" && argc == 3) return Check(argv[2]);
  std::fprintf(stderr,
               "usage: bank_workload run DIR REPORT_FD MAX_TXNS LOG_BYTES TRUNCATE_PCT\n"
               "       bank_workload check SEGMENT\n");
  return 64;
}
