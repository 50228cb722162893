#include "shim/tail_recovery.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>

#include "common/diag.h"
#include "common/fault_point.h"
#include "remote_log/wire.h"
#include "shim/log_record_reader.h"
#include "shim/log_key.h"
#include "shim/log_record_writer.h"
#include "shim/log_source.h"
#include "shim/record_sealer.h"
#include "shim/unsealing_log_source.h"

namespace rvmr {

namespace {

using remote_log::Connection;
using remote_log::LogInfo;

// Bytes [base, base + data.size()) of the log, held in memory: the source a
// fetched continuation is verified from.
class MemoryLogSource : public log::LogSource {
 public:
  MemoryLogSource(uint64_t base, const std::string& data, uint64_t area_size)
      : base_(base), data_(data), area_size_(area_size) {}
  Status Read(uint64_t offset, void* dst, size_t n) override {
    if (offset < base_ || offset - base_ > data_.size() || n > data_.size() - (offset - base_))
      return Status::IoError("offset " + std::to_string(offset) + " outside the fetched range");
    std::memcpy(dst, data_.data() + (offset - base_), n);
    return Status::Ok();
  }
  uint64_t area_size() const override { return area_size_; }

 private:
  uint64_t base_;
  const std::string& data_;
  uint64_t area_size_;
};

struct Mirror {
  std::string uri;
  std::unique_ptr<Connection> conn;
  bool has_log = false;
  bool void_copy = false;  // its copy was abandoned (TailRecoveryOptions)
  LogInfo info;
};

// Largest padding record written to continue the log beyond a dropped copy
// (a longer gap takes several).
constexpr uint64_t kMaxPaddingRecord = uint64_t{1} << 20;

// Reads [from, to) of the open log from `c` into *out.
Status FetchRange(Connection* c, uint64_t from, uint64_t to, std::string* out) {
  out->assign(to - from, '\0');
  uint64_t off = from;
  while (off < to) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(to - off, 1u << 20));
    size_t got = 0;
    Status s = c->Read(off, want, out->data() + (off - from), &got);
    if (!s.ok()) return s;
    if (got == 0)
      return Status::Corruption("server returned no bytes at offset " + std::to_string(off) +
                                " although its tail is " + std::to_string(to));
    off += got;
  }
  return Status::Ok();
}

// Writes bytes of the log at logical offset `off` to their wrapped file
// positions.
Status WriteWrapped(int fd, const log::LogStatus& st, uint64_t off, const char* p, size_t n) {
  while (n > 0) {
    uint64_t pos = off % st.area_size;
    size_t piece = static_cast<size_t>(std::min<uint64_t>(n, st.area_size - pos));
    ssize_t w = ::pwrite(fd, p, piece, static_cast<off_t>(st.area_start + pos));
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::IoError("writing the recovered log tail at offset " + std::to_string(off),
                             errno);
    }
    if (w == 0) return Status::IoError("short write of the recovered log tail", EIO);
    off += static_cast<uint64_t>(w);
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

}  // namespace

remote_log::ConnectOptions MirrorConnectOptions(const ShimConfig& sc) {
  remote_log::ConnectOptions co;
  co.secret = sc.secret;
  co.connect_timeout_ms = sc.connect_timeout_ms;
  co.io_timeout_ms = sc.io_timeout_ms;
  co.owner_seed = log::OwnerSeed(sc.log_key);
  return co;
}

std::string RemoteLogName(const log::LogStatus& st) {
  static const char* kHex = "0123456789abcdef";
  std::string s;
  for (uint8_t b : st.log_id) {
    s.push_back(kHex[b >> 4]);
    s.push_back(kHex[b & 15]);
  }
  return s;
}

Status ScanDiskTail(int fd, const log::LogStatus& st, uint64_t* tail, uint64_t* next_lsn) {
  log::FileLogSource disk(fd, st.area_start, st.area_size);
  log::LogRecordReader rd(&disk, st.head, st.head + st.area_size, st.head_lsn);
  log::LogRecord rec;
  while (rd.ReadRecord(&rec).ok()) {
  }
  if (rd.error() == log::ReadError::kIo)
    return Status::IoError("reading the disk log at offset " + std::to_string(rd.offset()));
  *tail = rd.offset();
  *next_lsn = rd.last_lsn() != 0 ? rd.last_lsn() + 1 : st.head_lsn;
  return Status::Ok();
}

Status RecoverTailFromMirrors(int fd, const log::LogStatus& st, const ShimConfig& sc,
                              const std::string& name, TailRecoveryReport* rep, bool used_before) {
  TailRecoveryOptions opt;
  opt.used_before = used_before;
  return RecoverTailFromMirrors(fd, st, sc, name, opt, rep);
}

Status RecoverTailFromMirrors(int fd, const log::LogStatus& st, const ShimConfig& sc,
                              const std::string& name, const TailRecoveryOptions& opt,
                              TailRecoveryReport* rep) {
  *rep = TailRecoveryReport();
  const bool used_before = opt.used_before;

  // 1. The valid prefix of the disk copy.
  uint64_t disk_tail = 0, next_lsn = 0;
  Status ds = ScanDiskTail(fd, st, &disk_tail, &next_lsn);
  if (!ds.ok()) return Status::IoError("during recovery: " + ds.message(), ds.sys_errno());
  rep->disk_tail = rep->recovered_tail = disk_tail;
  log::LogRecord rec;

  // 2. Every reachable mirror; the new epoch is above any epoch seen.
  const remote_log::ConnectOptions co = MirrorConnectOptions(sc);
  std::vector<Mirror> mirrors;
  uint64_t mirror_epoch = 0;  // the newest epoch any mirror has seen
  for (const std::string& uri : sc.mirrors) {
    Mirror m;
    m.uri = uri;
    Status s = remote_log::TransportRegistry::Global().Connect(uri, co, &m.conn);
    if (!s.ok()) {
      rep->problems.push_back(uri + ": unreachable: " + s.ToString());
      continue;
    }
    std::vector<remote_log::LogEntry> logs;
    s = m.conn->List(&logs);
    if (!s.ok()) {
      rep->problems.push_back(uri + ": cannot list logs: " + s.ToString());
      continue;
    }
    for (const auto& e : logs)
      if (e.name == name) {
        m.has_log = true;
        m.void_copy = opt.abandoned || e.info.epoch < opt.stale_below_epoch;
        mirror_epoch = std::max(mirror_epoch, e.info.epoch);
      }
    rep->mirrors_reachable++;
    if (!m.has_log) rep->problems.push_back(uri + ": does not hold log '" + name + "'");
    mirrors.push_back(std::move(m));
  }
  // The core has already bumped the status block's epoch for this open; use
  // it unless a mirror has seen that one (or a newer) already.
  rep->epoch = std::max(st.epoch, mirror_epoch + 1);

  // 3. Open (fences older writers) and fetch what lies beyond the disk copy.
  std::unique_ptr<log::RecordSealer> sealer;
  if (!opt.log_key.empty()) {
    Status s = log::RecordSealer::Create(opt.log_key, name,
                                         log::RecordSealer::Mode::kAuthenticate, &sealer);
    if (!s.ok()) return s;
  }
  std::vector<uint64_t> claims;  // the tail each mirror holding the log claims
  std::string best;
  uint64_t best_next_lsn = next_lsn;  // the LSN after the best continuation
  for (Mirror& m : mirrors) {
    if (!m.has_log) continue;
    Status s = m.conn->Open(name, rep->epoch, false, 0, &m.info);
    if (!s.ok()) {
      rep->problems.push_back(m.uri + ": cannot open log '" + name + "': " + s.ToString());
      m.has_log = false;
      continue;
    }
    rep->mirrors_with_log++;
    if (m.void_copy) {
      // Abandoned: it vouches for nothing beyond the disk copy (nothing was
      // acknowledged by the mirrors since), and is emptied below.
      claims.push_back(0);
      continue;
    }
    claims.push_back(m.info.tail);
    if (m.info.tail <= disk_tail) continue;
    if (m.info.start > disk_tail) {
      rep->problems.push_back(m.uri + ": holds [" + std::to_string(m.info.start) + ", " +
                              std::to_string(m.info.tail) + ") but the disk copy ends at " +
                              std::to_string(disk_tail));
      continue;
    }
    if (m.info.tail - st.head > st.area_size) {
      rep->problems.push_back(m.uri + ": tail " + std::to_string(m.info.tail) +
                              " lies more than the log size beyond head " +
                              std::to_string(st.head));
      continue;
    }
    std::string data;
    s = FetchRange(m.conn.get(), disk_tail, m.info.tail, &data);
    if (!s.ok()) {
      rep->problems.push_back(m.uri + ": fetching [" + std::to_string(disk_tail) + ", " +
                              std::to_string(m.info.tail) + "): " + s.ToString());
      continue;
    }
    // Sealed records are verified (and decrypted) first: one that fails is
    // absent, and so is everything after it.
    Status why;
    const size_t verified = log::UnsealRange(sealer.get(), !opt.require_sealed, disk_tail, &data, &why);
    if (!why.ok()) data.resize(verified);
    if (!why.ok())
      rep->problems.push_back(m.uri + ": copy fails verification: " + why.message() +
                              "; its tail is " + std::to_string(m.info.tail) +
                              " (the record and everything after it are ignored)");
    MemoryLogSource mem(disk_tail, data, st.area_size);
    log::LogRecordReader vr(&mem, disk_tail, disk_tail + data.size(), next_lsn);
    while (vr.ReadRecord(&rec).ok()) {
    }
    if (vr.offset() < m.info.tail && why.ok())
      rep->problems.push_back(m.uri + ": copy fails verification at offset " +
                              std::to_string(vr.offset()) + " (" + log::ReadErrorName(vr.error()) +
                              "); its tail is " + std::to_string(m.info.tail));
    uint64_t good = vr.offset() - disk_tail;
    if (good > best.size()) {
      data.resize(good);
      best = std::move(data);
      rep->source = m.uri;
      best_next_lsn = vr.last_lsn() != 0 ? vr.last_lsn() + 1 : next_lsn;
    }
  }

  // 4. Make the continuation durable on disk. (Mutation: it is counted as
  // fetched, so that nothing is reported lost, but never written.)
  if (!best.empty() && RVMR_MUTATION("recovery_skips_tail_write")) {
    rep->fetched_bytes = best.size();
  } else if (!best.empty()) {
    RVMR_FAULT_POINT_TORN("recovery.write_tail", fd, best.data(),
                          std::min<uint64_t>(best.size(), st.area_size - disk_tail % st.area_size),
                          st.area_start + disk_tail % st.area_size);
    Status s = WriteWrapped(fd, st, disk_tail, best.data(), best.size());
    if (!s.ok()) return s;
    if (::fdatasync(fd) != 0) return Status::IoError("fdatasync of the recovered log tail", errno);
    rep->fetched_bytes = best.size();
    rep->recovered_tail = disk_tail + best.size();
  }

  // 4b. Void copies: the log continues beyond every offset they used (a
  // padding record over the gap, durable before any copy is emptied, so
  // that a crash in between repeats this), then each is emptied; the disk
  // copy catches them up once the sink opens the mirrors.
  uint64_t void_end = 0;
  for (const Mirror& m : mirrors)
    if (m.has_log && m.void_copy) void_end = std::max(void_end, (m.info.tail + 7) & ~uint64_t{7});
  if (void_end > rep->recovered_tail) {
    const uint64_t from = rep->recovered_tail;
    const uint64_t to = std::max(void_end, from + log::kRecordHeaderSize);
    if (to - st.head > st.area_size)
      return Status::NoSpace("log '" + name +
                             "' has no room to continue beyond the abandoned "
                             "mirror copy (up to offset " +
                             std::to_string(void_end) + ")");
    log::LogRecordWriter w(st.epoch, from, best_next_lsn);
    std::string pad;
    while (w.next_offset() < to) {
      uint64_t left = to - w.next_offset();
      // Every record is at least a header; never leave less than one behind.
      uint64_t piece = left > kMaxPaddingRecord + log::kRecordHeaderSize ? kMaxPaddingRecord : left;
      pad.clear();
      w.Add(&pad, log::RecordType::kPadding, 0,
            std::string(static_cast<size_t>(piece - log::kRecordHeaderSize), '\0'));
      Status s = WriteWrapped(fd, st, w.next_offset() - pad.size(), pad.data(), pad.size());
      if (!s.ok()) return s;
    }
    if (::fdatasync(fd) != 0)
      return Status::IoError("fdatasync of the padding after an abandoned mirror copy", errno);
    rep->padded_from = from;
    rep->padded_to = to;
    rep->recovered_tail = to;
  }
  for (Mirror& m : mirrors) {
    if (!m.has_log || !m.void_copy) continue;
    LogInfo after;
    Status s = m.conn->Trim(m.info.tail, &after);
    if (!s.ok()) {
      rep->problems.push_back(m.uri + ": cannot drop its abandoned copy of log '" + name +
                              "': " + s.ToString());
      continue;
    }
    rep->dropped.push_back({m.uri, m.info.start, m.info.tail});
  }

  // 5. What could not be found. An acknowledged byte is held by at least W
  // mirrors (W = the write quorum), so at least k = W - (mirrors not heard
  // from) of the mirrors that answered hold it: the k-th largest tail they
  // claim bounds what was acknowledged. With k < 1 nothing bounds it.
  const size_t n = sc.mirrors.size();
  const size_t w = sc.write_quorum == 0 ? n : sc.write_quorum;
  const size_t silent = n - rep->mirrors_with_log;
  if (w > silent) {
    const size_t k = w - silent;
    std::sort(claims.begin(), claims.end(), std::greater<uint64_t>());
    const uint64_t acked_bound = claims.size() >= k ? claims[k - 1] : disk_tail;
    // Against the verified end: padding (4b) continues the log, it holds
    // no commit.
    const uint64_t verified_end = disk_tail + rep->fetched_bytes;
    if (acked_bound > verified_end) {
      rep->lost = true;
      rep->lost_from = verified_end;
      rep->lost_to = acked_bound;
    }
  } else {
    rep->unverified = true;
  }

  const bool first_use =
      !used_before && rep->mirrors_reachable == sc.mirrors.size() && rep->mirrors_with_log == 0;
  for (const std::string& p : first_use ? std::vector<std::string>{} : rep->problems)
    Report(DiagLevel::kWarning, "recovery: %s", p.c_str());
  if (rep->fetched_bytes > 0)
    Report(DiagLevel::kNotice, "recovery: copied log bytes [%llu, %llu) from %s onto the disk copy",
           static_cast<unsigned long long>(rep->disk_tail),
           static_cast<unsigned long long>(rep->disk_tail + rep->fetched_bytes),
           rep->source.c_str());
  for (const auto& d : rep->dropped) {
    const uint64_t beyond = std::max(d.from, opt.abandoned_disk_end);
    std::string lost_part =
        d.to > beyond && opt.abandoned
            ? "; bytes [" + std::to_string(beyond) + ", " + std::to_string(d.to) +
                  ") of it lay beyond the disk copy when it was abandoned: the commits there are "
                  "gone"
            : "";
    Report(DiagLevel::kNotice,
           "recovery: dropped the abandoned copy of log '%s' on mirror %s: log bytes "
           "[%llu, %llu) (the log was started without mirrors with abandon_mirror_copy = yes, so "
           "the disk copy, which ends at offset %llu, is the log)%s",
           name.c_str(), d.uri.c_str(), static_cast<unsigned long long>(d.from),
           static_cast<unsigned long long>(d.to), static_cast<unsigned long long>(rep->disk_tail),
           lost_part.c_str());
  }
  if (rep->padded_to > rep->padded_from)
    Report(DiagLevel::kNotice,
           "recovery: log '%s' continues at offset %llu: padding records fill [%llu, "
           "%llu), the offsets the dropped copy used, so the mirrors restart in step with the "
           "disk",
           name.c_str(), static_cast<unsigned long long>(rep->padded_to),
           static_cast<unsigned long long>(rep->padded_from),
           static_cast<unsigned long long>(rep->padded_to));
  if (rep->lost) {
    Report(DiagLevel::kError,
           "recovery: LOST: log bytes [%llu, %llu) of log '%s' may hold acknowledged "
           "commits but no copy can supply them verified; transactions in that range are not "
           "recovered",
           static_cast<unsigned long long>(rep->lost_from),
           static_cast<unsigned long long>(rep->lost_to), name.c_str());
    if (sc.failure_policy == ShimConfig::FailurePolicy::kStrict)
      return Status::Corruption("log bytes [" + std::to_string(rep->lost_from) + ", " +
                                std::to_string(rep->lost_to) + ") are lost (strict policy)");
  }
  if (rep->unverified && first_use) {
    Report(DiagLevel::kNotice,
           "no mirror holds log '%s' yet (first use in remote mode, or the mirrors "
           "restarted while it was closed); it starts at offset %llu",
           name.c_str(), static_cast<unsigned long long>(rep->recovered_tail));
  } else if (rep->unverified) {
    Report(DiagLevel::kError,
           "recovery: UNVERIFIED: too few mirrors answered with log '%s' to vouch for "
           "it; the log now ends at offset %llu and commits acknowledged after it, if any, cannot "
           "be recovered",
           name.c_str(), static_cast<unsigned long long>(rep->recovered_tail));
    if (sc.require_mirror_at_recovery)
      return Status::Unavailable("too few mirrors hold log '" + name +
                                 "' to vouch for its tail, and require_mirror_at_recovery is set");
  }
  return Status::Ok();
}

}  // namespace rvmr
