#include "coda_log/coda_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

namespace rvmr::coda {

namespace {

constexpr uint64_t RoundUp8(uint64_t v) { return (v + 7) & ~uint64_t{7}; }

// Bytes the original gives the data of a range at `vmaddr`: from the word
// holding its first byte to the end of the word holding its last.
uint64_t AlignedLen(uint64_t vmaddr, uint64_t len) {
  return RoundUp8(vmaddr + len) - (vmaddr & ~uint64_t{7});
}

Status ReadAll(int fd, std::string* out, uint64_t size, const std::string& path) {
  out->assign(size, '\0');
  uint64_t got = 0;
  while (got < size) {
    ssize_t r = ::pread(fd, out->data() + got, size - got, static_cast<off_t>(got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(path + ": read", errno);
    }
    if (r == 0) break;
    got += static_cast<uint64_t>(r);
  }
  out->resize(got);
  return Status::Ok();
}

// Size of the file or block device open as `fd`; sets *raw for devices
// (whose status block sits kRawStatusOffset in).
Status DeviceSize(int fd, const std::string& path, uint64_t* size, bool* raw) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::IoError(path + ": fstat", errno);
  *raw = S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode);
  if (!*raw && !S_ISREG(st.st_mode))
    return Status::InvalidArgument(path + ": not a regular file or device");
  *size = static_cast<uint64_t>(st.st_size);
  if (*raw) {
    off_t end = ::lseek(fd, 0, SEEK_END);
    if (end < 0) return Status::IoError(path + ": lseek", errno);
    *size = static_cast<uint64_t>(end);
  }
  return Status::Ok();
}

// One step of the walk: the checks of the record at `pos`.
struct Step {
  std::string why;         // empty: the record is sound
  bool plausible = false;  // the header names the record expected here
};

// The common header of the record at `pos` of `b`.
struct Header {
  uint32_t id = 0;
  uint64_t len = 0;
  Timeval ts;
  uint64_t rn = 0;
};

// Checks 4 and 5 of docs/coda-log-format.md: the record (a transaction or a
// segment record) and its end marker lie in the area and agree. Why not,
// or empty.
std::string CheckFrame(const char* b, uint64_t pos, const Header& h, uint64_t end_dev) {
  uint64_t min_len = h.id == kIdTransaction ? kTransHdrSize : kSegmentHdrSize + 8;
  if (h.len % 8 != 0 || h.len < min_len || h.len > end_dev || pos + h.len + kRecEndSize > end_dev)
    return "record length " + std::to_string(h.len) + " does not fit the record area";
  const char* e = b + pos + h.len;
  if (LoadU32(e) != kIdRecordEnd || LoadU32(e + 40) != h.id || LoadU64(e + 32) != h.rn ||
      LoadU64(e + 8) != h.len || !(LoadTimeval(e + 16) == h.ts))
    return "its end marker does not match its header (torn write)";
  return "";
}

// Check 6 for a segment dictionary record at `pos` (framed).
std::string ReadSegment(const char* b, uint64_t pos, const Header& h, Segment* seg) {
  seg->file_offset = pos;
  seg->rec_num = h.rn;
  seg->seg_code = static_cast<int64_t>(LoadU64(b + pos + 40));
  seg->num_bytes = LoadU64(b + pos + 56);
  uint64_t name_len = LoadU64(b + pos + 64);
  std::string_view area(b + pos + kSegmentHdrSize, h.len - kSegmentHdrSize);
  size_t nul = area.find('\0');
  if (nul == std::string_view::npos || nul != name_len || LoadU64(b + pos + h.len + 48) != h.len)
    return "segment dictionary record damaged";
  seg->name.assign(area.substr(0, nul));
  return "";
}

// Check 6 for one range at `p`, the k-th of the transaction `h` whose end
// marker is at `e`; `back` is the length of the sub-record before it.
std::string ReadRange(const char* b, uint64_t p, uint64_t e, const Header& h, uint64_t k,
                      uint64_t back, uint64_t end_dev, Range* r) {
  const char* nv = b + p;
  uint64_t rl = LoadU64(nv + 8);
  r->length = LoadU64(nv + 56);
  r->offset = LoadU64(nv + 72);
  r->vmaddr = LoadU64(nv + 80);
  r->seg_code = static_cast<int64_t>(LoadU64(nv + 96));
  r->is_split = LoadU32(nv + 104) != 0;
  unsigned skew = static_cast<unsigned>(r->offset % 8);
  std::string which = "range " + std::to_string(k);
  if (LoadU32(nv) != kIdRange || LoadU64(nv + 32) != h.rn || !(LoadTimeval(nv + 16) == h.ts))
    return which + " missing or of another record";
  if (LoadU64(nv + 40) != back || LoadU64(nv + 48) != k || LoadU64(nv + 64) != 0 ||
      r->length > end_dev || rl != kRangeHdrSize + AlignedLen(r->vmaddr, r->length) ||
      kRangeHdrSize + RoundUp8(skew + r->length) > rl || rl > e - p)
    return which + " header damaged";
  if (Checksum(nv + kRangeHdrSize, skew, r->length) != LoadU64(nv + 88))
    return which + " data checksum wrong (torn write)";
  r->data_offset = p + kRangeHdrSize + skew;
  r->data = std::string_view(nv + kRangeHdrSize + skew, r->length);
  return "";
}

// Check 6 for a transaction at `pos` (framed): its header and every range.
std::string ReadTransaction(const char* b, uint64_t pos, const Header& h, uint64_t end_dev,
                            Transaction* txn) {
  txn->file_offset = pos;
  txn->rec_num = h.rn;
  txn->timestamp = h.ts;
  txn->uname = LoadTimeval(b + pos + 48);
  txn->commit_stamp = LoadTimeval(b + pos + 64);
  txn->n_coalesced = LoadU64(b + pos + 80);
  txn->flags = LoadU64(b + pos + 88);
  uint64_t num_ranges = LoadU64(b + pos + 40);
  uint64_t e = pos + h.len;
  uint64_t p = pos + kTransHdrSize, back = kTransHdrSize, k = 1;
  while (p < e) {
    Range r;
    std::string why = ReadRange(b, p, e, h, k, back, end_dev, &r);
    if (!why.empty()) return why;
    txn->ranges.push_back(r);
    back = LoadU64(b + p + 8);
    p += back;
    ++k;
  }
  if (k - 1 != num_ranges || LoadU64(b + e + 48) != back)
    return "transaction holds " + std::to_string(k - 1) + " of its " +
           std::to_string(num_ranges) + " ranges";
  return "";
}

}  // namespace

bool CodaLog::Recognize(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  uint64_t size = 0;
  bool raw = false;
  char block[kStatusAreaSize];
  bool yes = DeviceSize(fd, path, &size, &raw).ok() &&
             ::pread(fd, block, sizeof(block),
                     static_cast<off_t>(raw ? kRawStatusOffset : kFileStatusOffset)) ==
                 static_cast<ssize_t>(sizeof(block)) &&
             LooksLikeStatusBlock(block);
  ::close(fd);
  return yes;
}

Status CodaLog::Open(const std::string& path, std::unique_ptr<CodaLog>* out) {
  std::unique_ptr<CodaLog> log(new CodaLog());
  log->path_ = path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError(path + ": cannot open", errno);
  uint64_t size = 0;
  bool raw = false;
  Status s = DeviceSize(fd, path, &size, &raw);
  if (s.ok()) s = ReadAll(fd, &log->bytes_, size, path);
  ::close(fd);
  if (!s.ok()) return s;
  uint64_t at = raw ? kRawStatusOffset : kFileStatusOffset;
  if (log->bytes_.size() < at + kStatusAreaSize ||
      !LooksLikeStatusBlock(log->bytes_.data() + at))
    return Status::NotFound(path + ": not a log of the original RVM");
  s = DecodeLogStatus(log->bytes_.data() + at, at, log->bytes_.size(), &log->status_);
  if (!s.ok()) {
    std::string msg = path + ": " + s.message();
    return s.code() == Status::Code::kNotSupported ? Status::NotSupported(msg)
                                                   : Status::Corruption(msg);
  }
  log->Walk();
  *out = std::move(log);
  return Status::Ok();
}

void CodaLog::Walk() {
  const char* b = bytes_.data();
  const LogStatus& st = status_;
  const uint64_t end_dev = st.log_end();
  uint64_t pos = st.scan_start();
  uint64_t expect = 0;  // record number the next record must carry (0: any)
  Timeval prev_ts;
  bool reached_tail = false;
  std::optional<Transaction> first_part;  // a split transaction's first part
  size_t first_part_slot = 0;             // where its Record goes
  bool after_wrap_of_split = false;

  for (;;) {
    if (pos == st.log_tail) reached_tail = true;
    Step step;
    Header h;
    if (pos % 8 != 0 || pos < st.log_start || pos + kRecHdrSize > end_dev) {
      step.why = "position outside the record area";
    } else {
      h = Header{LoadU32(b + pos), LoadU64(b + pos + 8), LoadTimeval(b + pos + 16),
                 LoadU64(b + pos + 32)};
      if (h.id != kIdTransaction && h.id != kIdSegment && h.id != kIdWrap) {
        step.why = "no record header (structure id " + std::to_string(h.id) + ")";
      } else if (expect != 0 && h.rn != expect) {
        step.why = "record number " + std::to_string(h.rn) + ", expected " + std::to_string(expect);
      } else if (expect == 0 && st.first_rec_num != 0 && h.rn < st.first_rec_num) {
        step.why = "record number " + std::to_string(h.rn) + " older than the log's first (" +
                   std::to_string(st.first_rec_num) + ")";
      } else if (h.ts < prev_ts || h.ts < st.prev_trunc) {
        step.why = "timestamp older than the record before it or the last truncation";
      } else {
        step.plausible = true;
      }
    }
    const uint32_t id = h.id;
    Transaction txn;
    Segment seg;
    if (step.why.empty() && id == kIdWrap) {
      if (h.len != kWrapSize || LoadU32(b + pos + 40) != kIdWrap || pos + kWrapSize > end_dev)
        step.why = "wrap marker damaged";
      else if (first_part.has_value() && after_wrap_of_split)
        step.why = "a second wrap marker inside a split transaction";
    } else if (step.why.empty()) {
      step.why = CheckFrame(b, pos, h, end_dev);
      if (step.why.empty())
        step.why = id == kIdSegment ? ReadSegment(b, pos, h, &seg)
                                    : ReadTransaction(b, pos, h, end_dev, &txn);
    }
    // Split transactions: first part, wrap marker, second part.
    if (step.why.empty()) {
      bool is_first = (txn.flags & kFlagFirstEntry) != 0;
      bool is_last = (txn.flags & kFlagLastEntry) != 0;
      if (first_part.has_value() && !after_wrap_of_split && id != kIdWrap) {
        step.why = "a split transaction's first part is not followed by a wrap marker";
      } else if (first_part.has_value() && after_wrap_of_split &&
                 (id != kIdTransaction || is_first || !is_last ||
                  !(txn.uname == first_part->uname))) {
        step.why = "a split transaction's second part is missing";
      } else if (!first_part.has_value() && id == kIdTransaction && !is_first) {
        step.why = "second part of a split transaction without its first part";
      }
    }
    if (!step.why.empty()) {
      tail_ = pos;
      std::string where = "offset " + std::to_string(pos) + ": ";
      if (!reached_tail) {
        end_ = LogEnd::kDamaged;
        end_reason_ = where + step.why + " (before the tail the status block records, " +
                      std::to_string(st.log_tail) + ")";
      } else if (step.plausible || first_part.has_value()) {
        end_ = LogEnd::kTorn;
        end_reason_ = where + step.why;
        if (first_part.has_value())
          end_reason_ += "; the transaction split at the wrap (record " +
                         std::to_string(first_part->rec_num) + ") was not committed";
      } else {
        end_ = LogEnd::kClean;
        end_reason_ = where + step.why;
      }
      break;
    }
    // The record is sound.
    expect = h.rn + 1;
    prev_ts = h.ts;
    next_rec_num_ = h.rn + 1;
    if (id == kIdWrap) {
      records_.push_back(Record{RecordKind::kWrap, pos, h.rn, 0});
      ++wraps_;
      if (first_part.has_value()) after_wrap_of_split = true;
      pos = st.log_start;
      continue;
    }
    pos += h.len + kRecEndSize;
    if (id == kIdSegment) {
      records_.push_back(Record{RecordKind::kSegment, seg.file_offset, h.rn, segments_.size()});
      segments_.push_back(std::move(seg));
      continue;
    }
    bool is_first = (txn.flags & kFlagFirstEntry) != 0;
    bool is_last = (txn.flags & kFlagLastEntry) != 0;
    if (is_first && !is_last) {
      first_part_slot = records_.size();
      first_part = std::move(txn);
      after_wrap_of_split = false;
      continue;
    }
    if (first_part.has_value()) {
      // The second part completes it.
      first_part->split = true;
      for (Range& r : txn.ranges) first_part->ranges.push_back(r);
      txn = std::move(*first_part);
      first_part.reset();
      records_.insert(records_.begin() + static_cast<std::ptrdiff_t>(first_part_slot),
                      Record{RecordKind::kTransaction, txn.file_offset, txn.rec_num,
                             transactions_.size()});
    } else {
      records_.push_back(
          Record{RecordKind::kTransaction, txn.file_offset, h.rn, transactions_.size()});
    }
    transactions_.push_back(std::move(txn));
  }
  if (st.next_rec_num > next_rec_num_) next_rec_num_ = st.next_rec_num;
}

uint64_t CodaLog::ranges() const {
  uint64_t n = 0;
  for (const Transaction& t : transactions_) n += t.ranges.size();
  return n;
}

uint64_t CodaLog::range_bytes() const {
  uint64_t n = 0;
  for (const Transaction& t : transactions_)
    for (const Range& r : t.ranges) n += r.length;
  return n;
}

std::string CodaLog::Describe() const {
  std::string s = path_ + " is a log of the original RVM (Coda), version '" +
                  status_.log_version + "'; " + std::to_string(transactions_.size()) +
                  " committed transaction" + (transactions_.size() == 1 ? "" : "s") +
                  " not yet applied";
  if (end_ == LogEnd::kDamaged) {
    s += "; its records are DAMAGED (" + end_reason_ + ")";
  } else if (end_ == LogEnd::kTorn) {
    s += " (its tail is torn at " + end_reason_ + "; what follows was never committed)";
  }
  if (!transactions_.empty())
    s += "; use rvmutl open_log " + path_ +
         " and recover to apply them to the data segments, then rvmutl init_log to make a "
         "log of this RVM";
  return s;
}

}  // namespace rvmr::coda
