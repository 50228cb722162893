// The RVM API: initialization, options, mapping, transactions, flush,
// truncation, query and statistics. The log itself is LogManager's.
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "internal.h"
#include "log_manager.h"
#include "rvm/rvm_commit_stats.h"
#include "rvm/rvm_remote_stats.h"
#include "rvm_error.h"
#include "shim/log_format.h"
#include "shim/log_payload.h"

// ---- exported globals (facts file 3.1)
extern "C" {
long rvm_no_yield = 0;
rvm_bool_t rvm_utlsw = rvm_false;
rvm_bool_t rvm_no_update = rvm_false;
char* rvm_errmsg = nullptr;
// An rvm_bool_t (4 bytes) in the original, which stores RVM_MAP_PRIVATE (8)
// in it; an int here so that value is well defined.
int rvm_map_private = 0;
rvm_length_t rvm_optimizations = 0;
char rvm_version[RVM_VERSION_MAX] = RVM_VERSION;
char rvm_log_version[RVM_VERSION_MAX] = "RVM Log Version  1.4 Oct 17, 1997 ";
char rvm_statistics_version[RVM_VERSION_MAX] = RVM_STATISTICS_VERSION;
char rvm_release[RVM_VERSION_MAX] = "RVM Release 11 Jan 1993";
}

namespace rvmr::compat {
namespace {

constexpr uint32_t kTxnMagic = 0x54584e31;  // "TXN1"

struct Region {
  char* vmaddr;
  uint64_t length;
  uint64_t offset;  // in the segment
  uint32_t seg_code;
  std::string seg_path;
  bool rvm_allocated;
  std::atomic<long> n_uncommit{0};
  char* end() const { return vmaddr + length; }
};

struct TxnRange {
  Region* region;
  char* addr;
  uint64_t len;
  uint64_t old_off;  // into Txn::old_values (restore mode)
};

struct Txn {
  uint32_t magic = kTxnMagic;
  rvm_mode_t mode;
  struct timeval uname;
  std::mutex mu;  // ranges (rvm_query reads them from another thread)
  std::vector<TxnRange> ranges;
  std::string old_values;
};

// Transaction-level counters (the log-level ones are LogManager's).
struct TxnCounters {
  uint64_t n_abort = 0, n_flush_commit = 0, n_no_flush_commit = 0;
  // Values of the three above at the last truncation ("n_*" count from there).
  uint64_t base_abort = 0, base_flush_commit = 0, base_no_flush_commit = 0;
  uint64_t n_range_elim = 0, range_overlap = 0;
  uint64_t n_rvm_truncate = 0, log_dev_max = 0;
  uint64_t range_lengths[range_lengths_len] = {};
  uint64_t range_elims[range_elims_len] = {};
  uint64_t range_overlaps[range_overlaps_len] = {};
};

struct State {
  std::mutex init_mu;  // initialize/terminate/options
  std::atomic<bool> inited{false};
  bool terminated = false;
  std::atomic<LogManager*> log{nullptr};
  std::unique_ptr<LogManager> log_owner;
  rvm_length_t recovery_buf_len = RECOVERY_BUF_LEN;
  rvm_length_t flush_buf_len = FLUSH_BUF_LEN;
  rvm_length_t max_read_len = MAX_READ_LEN;

  std::shared_mutex map_mu;
  std::map<uintptr_t, Region*> regions;  // by vmaddr

  std::mutex txn_mu;
  std::unordered_set<Txn*> live;
  struct timeval last_uname = {0, 0};

  std::mutex stats_mu;
  TxnCounters counters;
};

State& S() {
  static State* s = new State();  // never destroyed: threads may outlive exit
  return *s;
}

bool BadInit() {
  return !S().inited.load(std::memory_order_acquire);
}
LogManager* Log() {
  return S().log.load(std::memory_order_acquire);
}

rvm_return_t BadOptions(const rvm_options_t* o, bool chk_log_dev) {
  if (!o) return RVM_SUCCESS;
  if (o->struct_id != rvm_options_id) return RVM_EOPTIONS;
  if (chk_log_dev && o->log_dev && std::strlen(o->log_dev) > MAXPATHLEN - 1)
    return RVM_ENAME_TOO_LONG;
  return RVM_SUCCESS;
}

rvm_return_t BadRegion(const rvm_region_t* r) {
  if (!r || r->struct_id != rvm_region_id) return RVM_EREGION;
  if (r->data_dev && std::strlen(r->data_dev) > MAXPATHLEN - 1) return RVM_ENAME_TOO_LONG;
  return RVM_SUCCESS;
}

std::string CanonicalPath(const char* p) {
  char buf[PATH_MAX];
  if (::realpath(p, buf)) return buf;
  return p;
}

size_t Bucket(uint64_t v, const uint64_t* bounds, size_t n) {
  size_t i = 0;
  while (i < n && v >= bounds[i]) i++;
  return i;
}

void OnTruncated() {
  std::lock_guard<std::mutex> l(S().stats_mu);
  TxnCounters& c = S().counters;
  c.base_abort = c.n_abort;
  c.base_flush_commit = c.n_flush_commit;
  c.base_no_flush_commit = c.n_no_flush_commit;
}

// Applies an options record (init_mu held).
rvm_return_t DoOptions(rvm_options_t* o) {
  if (!o) return RVM_SUCCESS;
  State& s = S();
  o->max_read_len &= ~rvm_length_t{511};
  if (o->max_read_len < 512) o->max_read_len = MAX_READ_LEN;
  s.max_read_len = o->max_read_len;
  if (o->log_dev) {
    std::string path = CanonicalPath(o->log_dev);
    LogManager* lm = Log();
    if (!lm) {
      std::unique_ptr<LogManager> nl;
      rvm_return_t rc = LogManager::Open(path, &nl);
      if (rc != RVM_SUCCESS) return rc;
      s.log_owner = std::move(nl);
      lm = s.log_owner.get();
      lm->SetTruncationHook(&OnTruncated);
      s.log.store(lm, std::memory_order_release);
      if (o->recovery_buf_len) s.recovery_buf_len = o->recovery_buf_len;
      if (o->flush_buf_len) s.flush_buf_len = o->flush_buf_len;
    } else if (lm->path() != path) {
      return Fail(RVM_ELOG, "log %s is open already, and a process has one log (not %s)",
                  lm->path().c_str(), path.c_str());
    }
    lm->SetTruncateThreshold(o->truncate);
  }
  rvm_length_t opt = o->flags & RVM_ALL_OPTIMIZATIONS;
  if (opt & RVM_COALESCE_TRANS) opt |= RVM_COALESCE_RANGES;
  rvm_optimizations = opt;
  rvm_map_private = (o->flags & RVM_MAP_PRIVATE) ? RVM_MAP_PRIVATE : 0;
  return RVM_SUCCESS;
}

rvm_return_t CreateLog(rvm_options_t* o, rvm_offset_t* len, long mode) {
  rvm_return_t rc = BadOptions(o, true);
  if (rc != RVM_SUCCESS) return rc;
  if (!o) return RVM_EOPTIONS;
  if (!o->log_dev) return Fail(RVM_ELOG, "the options name no log_dev to create");
  if (std::strlen(o->log_dev) >= MAXPATHLEN) return RVM_ENAME_TOO_LONG;
  if (!len || len->high != 0)
    return Fail(RVM_ETOO_BIG, "log %s: no length, or one of 4 GiB or more", o->log_dev);
  LogManager* lm = Log();
  if (lm && lm->path() == CanonicalPath(o->log_dev))
    return Fail(RVM_ELOG, "log %s is the open log", o->log_dev);
  return LogManager::Create(o->log_dev, len->low, mode);
}

// The live transaction named by `tid`, or null.
Txn* GetTxn(const rvm_tid_t* tid) {
  if (!tid || tid->struct_id != rvm_tid_id || tid->uname.tv_sec == 0 || !tid->tid) return nullptr;
  Txn* t = static_cast<Txn*>(tid->tid);
  std::lock_guard<std::mutex> l(S().txn_mu);
  if (!S().live.count(t)) return nullptr;
  if (t->uname.tv_sec != tid->uname.tv_sec || t->uname.tv_usec != tid->uname.tv_usec)
    return nullptr;
  return t;
}

// Removes `t` from the live set; false if another thread got there first.
bool Unlink(Txn* t) {
  std::lock_guard<std::mutex> l(S().txn_mu);
  return S().live.erase(t) == 1;
}

// The region wholly containing [addr, addr+len), map_mu held.
Region* FindRegion(const char* addr, uint64_t len) {
  auto& m = S().regions;
  uintptr_t a = reinterpret_cast<uintptr_t>(addr);
  auto it = m.upper_bound(a);
  if (it == m.begin()) return nullptr;
  Region* r = std::prev(it)->second;
  if (addr < r->vmaddr || addr > r->end() || len > static_cast<uint64_t>(r->end() - addr))
    return nullptr;
  return r;
}

void ReleaseRanges(Txn* t) {
  for (const TxnRange& r : t->ranges) r.region->n_uncommit.fetch_sub(1);
}

uint64_t NowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace
}  // namespace rvmr::compat

using namespace rvmr::compat;
using rvmr::Status;
using rvmr::compat::LogManager;
using rvmr::compat::PendingTxn;

extern "C" {

rvm_return_t rvm_initialize(const char* version, rvm_options_t* opts) {
  ApiCall call("rvm_initialize");
  if (!version || std::strcmp(version, RVM_VERSION) != 0)
    return call.Return(Fail(RVM_EVERSION_SKEW,
                            "the caller's RVM_VERSION '%s' is not this library's '%s'",
                            version ? version : "(null)", RVM_VERSION));
  rvm_return_t rc = BadOptions(opts, true);
  if (rc != RVM_SUCCESS) return call.Return(rc);
  State& s = S();
  std::lock_guard<std::mutex> l(s.init_mu);
  if (s.inited.load()) return call.Return(RVM_SUCCESS);
  if (s.terminated)
    return call.Return(Fail(
        RVM_EINIT, "rvm_terminate was called: RVM cannot be initialized again in this process"));
  InitPageSize();
  if (opts && opts->create_log_file) {
    rc = CreateLog(opts, &opts->create_log_size, opts->create_log_mode);
    if (rc != RVM_SUCCESS) return call.Return(rc);
  }
  rc = DoOptions(opts);
  if (rc != RVM_SUCCESS) return call.Return(rc);
  s.inited.store(true, std::memory_order_release);
  return call.Return(RVM_SUCCESS);
}

rvm_return_t rvm_terminate(void) {
  ApiCall call("rvm_terminate");
  State& s = S();
  std::lock_guard<std::mutex> l(s.init_mu);
  if (s.terminated) return call.Return(RVM_SUCCESS);
  if (!s.inited.load()) return call.Return(RVM_EINIT);
  {
    std::lock_guard<std::mutex> tl(s.txn_mu);
    if (!s.live.empty())
      return call.Return(Fail(RVM_EUNCOMMIT, "%zu transactions are not ended", s.live.size()));
  }
  if (LogManager* lm = Log()) {
    rvm_return_t rc = lm->Close();
    if (rc != RVM_SUCCESS) return call.Return(rc);
  }
  s.inited.store(false, std::memory_order_release);
  s.terminated = true;
  s.log.store(nullptr, std::memory_order_release);
  s.log_owner.reset();
  return call.Return(RVM_SUCCESS);
}

rvm_return_t rvm_create_log(rvm_options_t* options, rvm_offset_t* log_len, long mode) {
  ApiCall call("rvm_create_log");
  if (BadInit()) return call.Return(RVM_EINIT);
  std::lock_guard<std::mutex> l(S().init_mu);
  return call.Return(CreateLog(options, log_len, mode));
}

rvm_return_t rvm_set_options(rvm_options_t* options) {
  ApiCall call("rvm_set_options");
  if (BadInit()) return call.Return(RVM_EINIT);
  rvm_return_t rc = BadOptions(options, true);
  if (rc != RVM_SUCCESS) return call.Return(rc);
  if (!options) return call.Return(RVM_EOPTIONS);
  std::lock_guard<std::mutex> l(S().init_mu);
  return call.Return(DoOptions(options));
}

rvm_return_t rvm_map(rvm_region_t* region, rvm_options_t* options) {
  ApiCall call("rvm_map");
  if (BadInit()) return call.Return(RVM_EINIT);
  rvm_return_t rc = BadRegion(region);
  if (rc != RVM_SUCCESS) return call.Return(rc);
  if (options) {
    if ((rc = BadOptions(options, true)) != RVM_SUCCESS) return call.Return(rc);
    if (options->pager) return call.Return(RVM_EPAGER);  // external pagers: never implemented
    std::lock_guard<std::mutex> l(S().init_mu);
    if ((rc = DoOptions(options)) != RVM_SUCCESS) return call.Return(rc);
  }
  LogManager* lm = Log();
  if (!lm) return call.Return(Fail(RVM_ELOG, "no log is open (options.log_dev)"));
  if (!region->data_dev) return call.Return(Fail(RVM_EREGION, "the region names no data_dev"));
  const rvm_region_t saved = *region;
  std::string path = CanonicalPath(region->data_dev);
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return call.Return(Fail(Status::IoError("cannot open segment " + path, errno)));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    Status e = Status::IoError("cannot stat segment " + path, errno);
    ::close(fd);
    return call.Return(Fail(e));
  }
  uint64_t num_bytes;
  if (S_ISREG(st.st_mode)) {
    num_bytes = static_cast<uint64_t>(st.st_size) & ~uint64_t{511};
  } else {
    num_bytes = region->dev_length.low;
    if (region->dev_length.high != 0) num_bytes = UINT64_MAX;
    if (num_bytes == 0) {
      ::close(fd);
      return call.Return(Fail(RVM_ENOT_MAPPED,
                              "segment %s is a device: the region needs dev_length", path.c_str()));
    }
  }
  char* vmaddr = nullptr;
  bool allocated = false;
  uint64_t alloc_len = 0;
  auto fail = [&](rvm_return_t code) {
    if (allocated) page_free(vmaddr, alloc_len);
    ::close(fd);
    *region = saved;
    return code;
  };
  // Region bounds, rounded to pages as the original does.
  if (region->offset.high != 0 || region->offset.low > num_bytes)
    return call.Return(fail(Fail(RVM_EOFFSET, "the offset is beyond the %llu bytes of segment %s",
                                 static_cast<unsigned long long>(num_bytes), path.c_str())));
  uint64_t end = region->offset.low + region->length;
  if (end < region->offset.low) return call.Return(fail(RVM_EOFFSET));
  end = (end + g_page_size - 1) & g_page_mask;
  uint64_t off = region->offset.low & g_page_mask;
  if (region->length == 0 || end > num_bytes) end = num_bytes;
  region->offset.low = off;
  region->length = end - off;
  if (region->vmaddr) {
    if (reinterpret_cast<uintptr_t>(region->vmaddr) & (g_page_size - 1))
      return call.Return(fail(RVM_ERANGE));
    if (!PagesRegistered(region->vmaddr, region->length)) return call.Return(fail(RVM_ERANGE));
    vmaddr = region->vmaddr;
  } else {
    alloc_len = (region->length + g_page_size - 1) & g_page_mask;
    vmaddr = alloc_len ? page_alloc(alloc_len) : nullptr;
    if (!vmaddr) return call.Return(fail(RVM_ENO_MEMORY));
    allocated = true;
  }
  State& s = S();
  std::unique_lock<std::shared_mutex> ml(s.map_mu);
  for (const auto& [a, r] : s.regions) {
    if (vmaddr < r->end() && r->vmaddr < vmaddr + region->length)
      return call.Return(fail(RVM_EVM_OVERLAP));
  }
  for (const auto& [a, r] : s.regions) {
    if (r->seg_path == path && off < r->offset + r->length && r->offset < off + region->length)
      return call.Return(fail(RVM_EOVERLAP));
  }
  // Bring the segment up to date with the log before reading it.
  if ((rc = lm->Truncate()) != RVM_SUCCESS)
    return call.Return(fail(AddContext(rc, "bringing segment " + path + " up to date")));
  if (rvm_map_private) {
    void* p = ::mmap(vmaddr, region->length, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE, fd,
                     static_cast<off_t>(off));
    if (p == MAP_FAILED || p != vmaddr)
      return call.Return(
          fail(Fail(RVM_ENOT_MAPPED, Status::IoError("mmap of segment " + path, errno))));
  } else if (!region->no_copy) {
    uint64_t done = 0;
    while (done < region->length) {
      ssize_t n = ::pread(fd, vmaddr + done, region->length - done, static_cast<off_t>(off + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        return call.Return(fail(Fail(
            Status::IoError("reading segment " + path + " at offset " + std::to_string(off + done),
                            n < 0 ? errno : EIO))));
      done += static_cast<uint64_t>(n);
    }
  }
  ::close(fd);
  auto* r = new Region();
  r->vmaddr = vmaddr;
  r->length = region->length;
  r->offset = off;
  r->seg_path = path;
  r->seg_code = lm->SegmentCode(path);
  r->rvm_allocated = allocated;
  s.regions[reinterpret_cast<uintptr_t>(vmaddr)] = r;
  region->vmaddr = vmaddr;
  return call.Return(RVM_SUCCESS);
}

rvm_return_t rvm_unmap(rvm_region_t* region) {
  ApiCall call("rvm_unmap");
  if (BadInit()) return call.Return(RVM_EINIT);
  rvm_return_t rc = BadRegion(region);
  if (rc != RVM_SUCCESS) return call.Return(rc);
  State& s = S();
  std::unique_lock<std::shared_mutex> ml(s.map_mu);
  Region* r = FindRegion(region->vmaddr, region->length);
  if (!r) return call.Return(RVM_ENOT_MAPPED);
  if (r->n_uncommit.load() != 0) return call.Return(RVM_EUNCOMMIT);
  if (r->vmaddr != region->vmaddr || r->length != region->length) return call.Return(RVM_ERANGE);
  s.regions.erase(reinterpret_cast<uintptr_t>(r->vmaddr));
  // As the original: the pages stay mapped for the program, but are no longer
  // registered with RVM.
  if (r->rvm_allocated) rvm_unregister_page(r->vmaddr, (r->length + g_page_size - 1) & g_page_mask);
  delete r;
  return call.Return(RVM_SUCCESS);
}

rvm_return_t rvm_begin_transaction(rvm_tid_t* tid, rvm_mode_t mode) {
  ApiCall call("rvm_begin_transaction");
  if (BadInit()) return call.Return(RVM_EINIT);
  if (!tid || tid->struct_id != rvm_tid_id) return call.Return(RVM_ETID);
  if (!Log()) return call.Return(Fail(RVM_ELOG, "no log is open (options.log_dev)"));
  if (mode != restore && mode != no_restore) return call.Return(RVM_EMODE);
  Txn* t = new (std::nothrow) Txn();
  if (!t) return call.Return(Fail(RVM_ENO_MEMORY, "no memory for a transaction"));
  t->mode = mode;
  State& s = S();
  struct timeval now;
  ::gettimeofday(&now, nullptr);
  {
    std::lock_guard<std::mutex> l(s.txn_mu);
    // Unique names: strictly increasing timestamps.
    if (now.tv_sec < s.last_uname.tv_sec ||
        (now.tv_sec == s.last_uname.tv_sec && now.tv_usec <= s.last_uname.tv_usec)) {
      now = s.last_uname;
      if (++now.tv_usec >= 1000000) {
        now.tv_usec = 0;
        now.tv_sec++;
      }
    }
    s.last_uname = now;
    t->uname = now;
    s.live.insert(t);
  }
  tid->uname = t->uname;
  tid->tid = t;
  return call.Return(RVM_SUCCESS);
}

rvm_return_t rvm_set_range(rvm_tid_t* tid, void* dest, rvm_length_t length) {
  ApiCall call("rvm_set_range");
  if (BadInit()) return call.Return(RVM_EINIT);
  if (rvm_optimizations != 0 && length == 0) return call.Return(RVM_SUCCESS);
  Txn* t = GetTxn(tid);
  if (!t) return call.Return(RVM_ETID);
  State& s = S();
  std::shared_lock<std::shared_mutex> ml(s.map_mu);
  Region* r = FindRegion(static_cast<char*>(dest), length);
  if (!r)
    return call.Return(Fail(RVM_ENOT_MAPPED, "[%p, +%lu) is not inside one mapped region", dest,
                            static_cast<unsigned long>(length)));
  if (length == 0)
    return call.Return(RVM_SUCCESS);  // the original leaks a count here (compatibility.md)
  std::lock_guard<std::mutex> tl(t->mu);
  TxnRange tr{r, static_cast<char*>(dest), length, t->old_values.size()};
  if (t->mode == restore) t->old_values.append(static_cast<const char*>(dest), length);
  t->ranges.push_back(tr);
  r->n_uncommit.fetch_add(1);
  return call.Return(RVM_SUCCESS);
}

rvm_return_t rvm_modify_bytes(rvm_tid_t* tid, void* dest, const void* src, rvm_length_t length) {
  ApiCall call("rvm_modify_bytes");
  rvm_return_t rc = rvm_set_range(tid, dest, length);
  if (rc != RVM_SUCCESS) return call.Return(rc);
  std::memmove(dest, src, length);
  return call.Return(RVM_SUCCESS);
}

rvm_return_t rvm_abort_transaction(rvm_tid_t* tid) {
  ApiCall call("rvm_abort_transaction");
  if (BadInit()) return call.Return(RVM_EINIT);
  Txn* t = GetTxn(tid);
  if (!t || !Unlink(t)) return call.Return(RVM_ETID);
  if (t->mode == restore) {
    for (auto it = t->ranges.rbegin(); it != t->ranges.rend(); ++it)
      std::memcpy(it->addr, t->old_values.data() + it->old_off, it->len);
  }
  ReleaseRanges(t);
  {
    std::lock_guard<std::mutex> l(S().stats_mu);
    S().counters.n_abort++;
  }
  tid->tid = nullptr;
  delete t;
  return call.Return(RVM_SUCCESS);
}

rvm_return_t rvm_end_transaction(rvm_tid_t* tid, rvm_mode_t mode) {
  ApiCall call("rvm_end_transaction");
  if (BadInit()) return call.Return(RVM_EINIT);
  if (mode != flush && mode != no_flush) return call.Return(RVM_EMODE);
  Txn* t = GetTxn(tid);
  if (!t || !Unlink(t)) return call.Return(RVM_ETID);
  State& s = S();
  rvm_length_t opt = rvm_optimizations;
  if (t->ranges.empty()) {
    {
      std::lock_guard<std::mutex> l(s.stats_mu);
      (mode == flush ? s.counters.n_flush_commit : s.counters.n_no_flush_commit)++;
    }
    tid->tid = nullptr;
    delete t;
    return call.Return(RVM_SUCCESS);
  }
  // The ranges to log: with RVM_COALESCE_RANGES overlapping and adjacent
  // ranges of one region become one; the new values come from memory now.
  std::vector<TxnRange> rs = t->ranges;
  uint64_t in_bytes = 0;
  for (const auto& r : rs) in_bytes += r.len;
  size_t in_count = rs.size();
  if (opt & RVM_COALESCE_RANGES) {
    std::sort(rs.begin(), rs.end(), [](const TxnRange& a, const TxnRange& b) {
      return a.region != b.region ? a.region < b.region : a.addr < b.addr;
    });
    std::vector<TxnRange> merged;
    for (const auto& r : rs) {
      if (!merged.empty() && merged.back().region == r.region &&
          r.addr <= merged.back().addr + merged.back().len) {
        char* e = std::max(merged.back().addr + merged.back().len, r.addr + r.len);
        merged.back().len = static_cast<uint64_t>(e - merged.back().addr);
      } else {
        merged.push_back(r);
      }
    }
    rs.swap(merged);
  }
  PendingTxn p;
  p.record.assign(rvmr::log::kRecordHeaderSize, '\0');
  uint64_t out_bytes = 0;
  {
    rvmr::log::TransactionPayloadBuilder b(&p.record, NowNs());
    for (const auto& r : rs) {
      b.AddRange(r.region->seg_code,
                 r.region->offset + static_cast<uint64_t>(r.addr - r.region->vmaddr), r.addr,
                 r.len);
      out_bytes += r.len;
      if (std::find(p.seg_codes.begin(), p.seg_codes.end(), r.region->seg_code) ==
          p.seg_codes.end())
        p.seg_codes.push_back(r.region->seg_code);
    }
    b.Finish();
  }
  p.flush = mode == flush;
  p.flags = (p.flush ? uint32_t{rvmr::log::kTxnFlagFlush} : 0u) |
            (t->mode == restore ? uint32_t{rvmr::log::kTxnFlagRestore} : 0u);
  p.coalescable = (opt & RVM_COALESCE_TRANS) != 0;
  p.ranges = rs.size();
  rvm_return_t rc = Log()->Commit(std::move(p));
  if (rc == RVM_ETOO_BIG) {
    // Still uncommitted: the caller may abort it.
    std::lock_guard<std::mutex> l(s.txn_mu);
    s.live.insert(t);
    return call.Return(rc);
  }
  {
    std::lock_guard<std::mutex> l(s.stats_mu);
    TxnCounters& c = s.counters;
    (mode == flush ? c.n_flush_commit : c.n_no_flush_commit)++;
    static const uint64_t kLen[] = {range_lengths_dist};
    for (const auto& r : rs) c.range_lengths[Bucket(r.len, kLen, range_lengths_len - 1)]++;
    if (in_count > rs.size()) {
      c.n_range_elim += in_count - rs.size();
      static const uint64_t kElim[] = {range_elims_dist};
      c.range_elims[Bucket(in_count - rs.size(), kElim, range_elims_len - 1)]++;
    }
    if (in_bytes > out_bytes) {
      c.range_overlap += in_bytes - out_bytes;
      static const uint64_t kOv[] = {range_overlaps_dist};
      c.range_overlaps[Bucket(in_bytes - out_bytes, kOv, range_overlaps_len - 1)]++;
    }
  }
  ReleaseRanges(t);
  tid->tid = nullptr;
  delete t;
  return call.Return(rc);
}

rvm_return_t rvm_flush(void) {
  ApiCall call("rvm_flush");
  if (BadInit()) return call.Return(RVM_EINIT);
  LogManager* lm = Log();
  if (!lm) return call.Return(RVM_ELOG);
  return call.Return(lm->Flush(/*explicit_call=*/true));
}

rvm_return_t rvm_commit_statistics(rvm_commit_stats_t* out) {
  ApiCall call("rvm_commit_statistics");
  if (!out) return call.Return(RVM_ESTATISTICS);
  if (BadInit()) return call.Return(RVM_EINIT);
  LogManager* lm = Log();
  if (!lm) return call.Return(RVM_ELOG);
  const rvmr::CommitPipelineStats p = lm->GetPipelineStats();
  out->log_writes = p.batches;
  out->transactions = p.transactions;
  out->commits_waited = p.commits_waited;
  out->joins = p.joins;
  out->lead_handoffs = p.lead_handoffs;
  out->read_handoffs = p.read_handoffs;
  out->in_flight = p.in_flight;
  out->max_in_flight = p.max_in_flight;
  return call.Return(RVM_SUCCESS);
}

rvm_return_t rvm_remote_statistics(rvm_remote_stats_t* out) {
  ApiCall call("rvm_remote_statistics");
  if (!out) return call.Return(RVM_ESTATISTICS);
  if (BadInit()) return call.Return(RVM_EINIT);
  rvmr::compat::RemoteStatsNow(out);
  return call.Return(RVM_SUCCESS);
}

rvm_return_t rvm_truncate(void) {
  ApiCall call("rvm_truncate");
  if (BadInit()) return call.Return(RVM_EINIT);
  LogManager* lm = Log();
  if (!lm) return call.Return(RVM_ELOG);
  {
    std::lock_guard<std::mutex> l(S().stats_mu);
    S().counters.n_rvm_truncate++;
  }
  return call.Return(lm->Truncate());
}

rvm_return_t rvm_query(rvm_options_t* options, rvm_region_t* region) {
  ApiCall call("rvm_query");
  if (BadInit()) return call.Return(RVM_EINIT);
  if (region && BadRegion(region) != RVM_SUCCESS) return call.Return(RVM_EREGION);
  if (!options) return call.Return(RVM_EOPTIONS);
  rvm_return_t rc = BadOptions(options, false);
  if (rc != RVM_SUCCESS) return call.Return(rc);
  State& s = S();
  if (LogManager* lm = Log()) {
    if (options->log_dev) std::strcpy(options->log_dev, lm->path().c_str());
    options->truncate = lm->truncate_threshold();
    options->recovery_buf_len = s.recovery_buf_len;
    options->flush_buf_len = s.flush_buf_len;
    options->log_empty = lm->GetOccupancy().empty ? rvm_true : rvm_false;
    std::shared_lock<std::shared_mutex> ml(s.map_mu);
    Region* want = nullptr;
    if (region) {
      want = FindRegion(region->vmaddr, region->length);
      if (!want) return call.Return(RVM_ENOT_MAPPED);
    }
    std::lock_guard<std::mutex> tl(s.txn_mu);
    for (Txn* t : s.live) {
      if (want) {
        std::lock_guard<std::mutex> l(t->mu);
        bool hit = false;
        for (const auto& r : t->ranges) hit = hit || r.region == want;
        if (!hit) continue;
      }
      // As the original: n_uncommit grows from the caller's value.
      long n = options->n_uncommit + 1;
      auto* arr = static_cast<rvm_tid_t*>(
          std::realloc(options->tid_array, static_cast<size_t>(n) * sizeof(rvm_tid_t)));
      if (!arr) return call.Return(RVM_ENO_MEMORY);
      options->tid_array = arr;
      options->n_uncommit = n;
      rvm_init_tid(&arr[n - 1]);
      arr[n - 1].uname = t->uname;
      arr[n - 1].tid = t;
    }
  }
  options->flags = rvm_optimizations | static_cast<rvm_length_t>(rvm_map_private);
  options->max_read_len = s.max_read_len;
  return call.Return(RVM_SUCCESS);
}

rvm_return_t rvm_statistics(const char* version, rvm_statistics_t* st) {
  ApiCall call("rvm_statistics");
  if (BadInit()) return call.Return(RVM_EINIT);
  if (!version || std::strcmp(version, RVM_STATISTICS_VERSION) != 0)
    return call.Return(RVM_ESTAT_VERSION_SKEW);
  if (!st || st->struct_id != rvm_statistics_id) return call.Return(RVM_ESTATISTICS);
  LogManager* lm = Log();
  if (!lm) return call.Return(RVM_ELOG);
  State& s = S();
  LogManager::Occupancy o = lm->GetOccupancy();
  rvmr::compat::LogCounters lc = lm->GetCounters();
  TxnCounters tc;
  {
    std::lock_guard<std::mutex> l(s.stats_mu);
    uint64_t cur = o.area ? (o.tail - o.head) * 100 / o.area : 0;
    s.counters.log_dev_max = std::max(s.counters.log_dev_max, cur);
    tc = s.counters;
  }
  rvm_bool_t fh = st->from_heap;
  rvm_init_statistics(st);
  st->from_heap = fh;
  {
    std::lock_guard<std::mutex> l(s.txn_mu);
    st->n_uncommit = s.live.size();
  }
  // n_*: since the last truncation; tot_*: since rvm_initialize.
  st->tot_abort = tc.n_abort;
  st->tot_flush_commit = tc.n_flush_commit;
  st->tot_no_flush_commit = tc.n_no_flush_commit;
  st->n_abort = tc.n_abort - tc.base_abort;
  st->n_flush_commit = tc.n_flush_commit - tc.base_flush_commit;
  st->n_no_flush_commit = tc.n_no_flush_commit - tc.base_no_flush_commit;
  st->n_no_flush = o.n_no_flush;
  st->no_flush_length = rvm_mk_offset(0, o.no_flush_bytes);
  st->n_truncation_wait = st->tot_truncation_wait = lc.n_truncation_wait;
  st->n_flush = st->tot_flush = lc.n_flush;
  st->n_rvm_flush = st->tot_rvm_flush = lc.n_rvm_flush;
  st->n_special = st->tot_special = lc.n_special;
  st->n_wrap = st->tot_wrap = lc.n_wrap;
  st->log_dev_cur = o.area ? (o.tail - o.head) * 100 / o.area : 0;
  st->log_dev_max = tc.log_dev_max;
  st->log_written = rvm_mk_offset(0, o.tail - o.head);
  st->tot_log_written = rvm_mk_offset(0, lc.log_written_total);
  st->range_overlap = st->tot_range_overlap = rvm_mk_offset(0, tc.range_overlap);
  st->n_range_elim = st->tot_range_elim = tc.n_range_elim;
  st->n_trans_elim = st->tot_trans_elim = lc.n_trans_elim;
  st->n_trans_coalesced = st->tot_trans_coalesced = lc.n_trans_coalesced;
  st->flush_time.tv_sec = static_cast<time_t>(lc.flush_time_us / 1000000);
  st->flush_time.tv_usec = static_cast<suseconds_t>(lc.flush_time_us % 1000000);
  st->tot_flush_time = st->flush_time;
  st->tot_truncation_time.tv_sec = static_cast<time_t>(lc.truncation_time_us / 1000000);
  st->tot_truncation_time.tv_usec = static_cast<suseconds_t>(lc.truncation_time_us % 1000000);
  st->last_flush_time = lc.last_flush_ms;
  st->last_truncation_time = lc.last_truncation_s;
  for (int i = 0; i < flush_times_len; i++)
    st->flush_times[i] = st->tot_flush_times[i] = lc.flush_times[i];
  for (int i = 0; i < truncation_times_len; i++)
    st->tot_truncation_times[i] = lc.truncation_times[i];
  for (int i = 0; i < range_lengths_len; i++)
    st->range_lengths[i] = st->tot_range_lengths[i] = tc.range_lengths[i];
  for (int i = 0; i < range_elims_len; i++)
    st->range_elims[i] = st->tot_range_elims[i] = tc.range_elims[i];
  for (int i = 0; i < range_overlaps_len; i++)
    st->range_overlaps[i] = st->tot_range_overlaps[i] = tc.range_overlaps[i];
  st->tot_rvm_truncate = tc.n_rvm_truncate;
  st->tot_async_truncation = lc.n_async_truncations;
  st->tot_sync_truncation = lc.n_sync_truncations;
  st->tot_recovery = lc.n_recovery;
  return call.Return(RVM_SUCCESS);
}

}  // extern "C"
