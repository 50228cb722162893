#include "coda_log/coda_log_apply.h"

#include <fcntl.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "shim/log_applier.h"
#include "shim/log_format.h"
#include "shim/log_payload.h"

namespace rvmr::coda {

namespace {

Status CheckCode(int64_t code, uint64_t offset) {
  if (code < 0 || code > static_cast<int64_t>(UINT32_MAX))
    return Status::Corruption("segment code " + std::to_string(code) + " at offset " +
                              std::to_string(offset) + " is out of range");
  return Status::Ok();
}

void StoreTimeval(char* p, const struct timeval& tv) {
  StoreU64(p, static_cast<uint64_t>(tv.tv_sec));
  StoreU64(p + 8, static_cast<uint64_t>(tv.tv_usec));
}

// Our record header for a record converted from the original's: the
// original's file offset and record number stand in for ours, so the
// applier's messages point into the original's log.
log::LogRecord Converted(log::RecordType type, uint64_t file_offset, uint64_t rec_num) {
  log::LogRecord rec;
  rec.header.type = static_cast<uint16_t>(type);
  rec.header.offset = file_offset;
  rec.header.lsn = rec_num;
  return rec;
}

// `r` (a segment or transaction record) as a record of this project's
// format, for the LogApplier.
Status Convert(const CodaLog& log, const Record& r, log::LogRecord* rec) {
  if (r.kind == RecordKind::kSegment) {
    const Segment& seg = log.segments()[r.index];
    Status s = CheckCode(seg.seg_code, seg.file_offset);
    if (!s.ok()) return s;
    *rec = Converted(log::RecordType::kSegmentDict, seg.file_offset, seg.rec_num);
    rec->payload = log::EncodeSegmentDict(static_cast<uint32_t>(seg.seg_code), seg.name);
  } else {
    const Transaction& txn = log.transactions()[r.index];
    *rec = Converted(log::RecordType::kTransaction, txn.file_offset, txn.rec_num);
    log::TransactionPayloadBuilder builder(
        &rec->payload, static_cast<uint64_t>(txn.commit_stamp.sec) * 1000000000ull +
                           static_cast<uint64_t>(txn.commit_stamp.usec) * 1000ull);
    for (const Range& range : txn.ranges) {
      Status s = CheckCode(range.seg_code, txn.file_offset);
      if (!s.ok()) return s;
      builder.AddRange(static_cast<uint32_t>(range.seg_code), range.offset, range.data.data(),
                       range.length);
    }
    builder.Finish();
  }
  if (rec->payload.size() > log::kMaxPayload)
    return Status::Corruption("record at offset " + std::to_string(r.file_offset) +
                              " too large to apply");
  rec->header.payload_len = static_cast<uint32_t>(rec->payload.size());
  return Status::Ok();
}

}  // namespace

Status ApplyLog(const CodaLog& log, const ApplyOptions& options, ApplyResult* result) {
  *result = ApplyResult();
  if (log.end() == LogEnd::kDamaged)
    return Status::Corruption(log.path() + ": records damaged, nothing applied: " +
                              log.end_reason());
  log::LogApplyOptions ao;
  ao.segment_map = options.segment_map;
  ao.dry_run = options.dry_run;
  ao.coalesce = true;
  ao.direct_min = 16 * 1024;
  log::LogApplier applier(ao);
  // The original's recovery gathers the whole segment dictionary of the
  // records it applies before it writes anything: a dictionary record may
  // follow a transaction that uses its code (one written at the start of a
  // truncation epoch, after a transaction split at the wrap). So all the
  // dictionary records go first, then the transactions, in log order.
  for (RecordKind kind : {RecordKind::kSegment, RecordKind::kTransaction}) {
    for (const Record& r : log.records()) {
      if (r.kind != kind) continue;
      log::LogRecord rec;
      Status s = Convert(log, r, &rec);
      if (s.ok()) s = applier.Apply(rec);
      if (!s.ok()) return s;
    }
  }
  Status s = applier.Finish();
  if (!s.ok()) return s;
  const log::LogApplyStats& st = applier.stats();
  result->transactions = st.transactions;
  result->ranges = st.ranges;
  result->bytes = st.bytes;
  result->bytes_per_segment = st.bytes_per_segment;
  if (options.dry_run) return Status::Ok();
  return MarkApplied(log);
}

Status MarkApplied(const CodaLog& log) {
  using namespace status_field;
  const std::string& path = log.path();
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return Status::IoError(path + ": cannot open for writing", errno);
  const uint64_t at = log.status().status_offset;
  std::string block(kStatusAreaSize, '\0');
  ssize_t n = ::pread(fd, block.data(), block.size(), static_cast<off_t>(at));
  LogStatus current;
  Status s = n == static_cast<ssize_t>(block.size())
                 ? DecodeLogStatus(block.data(), at, 0, &current)
                 : Status::IoError(path + ": reading the status block", n < 0 ? errno : EIO);
  if (s.ok() && LoadU64(block.data() + kChecksum) != log.status().stored_checksum)
    s = Status::Failed(path + ": the status block changed since the log was read");
  if (!s.ok()) {
    ::close(fd);
    return s;
  }
  char* st = block.data() + kStatus;
  struct timeval now;
  ::gettimeofday(&now, nullptr);
  const uint32_t yes = 1;
  std::memcpy(st + kValid, &yes, 4);
  std::memcpy(st + kLogEmpty, &yes, 4);
  for (size_t f : {kLogHead, kLogTail}) {
    StoreU64(st + f, 0);
    StoreU64(st + f + 8, log.tail());
  }
  for (size_t f : {kPrevLogHead, kPrevLogTail}) {
    StoreU64(st + f, 0);
    StoreU64(st + f + 8, 0);
  }
  for (size_t f : {kFirstWrite, kLastWrite, kFirstUname, kLastUname, kLastCommit, kWrapTime})
    StoreTimeval(st + f, timeval{0, 0});
  StoreTimeval(st + kStatusWrite, now);
  StoreTimeval(st + kLastTrunc, now);
  StoreTimeval(st + kPrevTrunc, now);
  StoreU64(st + kFirstRecNum, 0);
  StoreU64(st + kLastRecNum, 0);
  StoreU64(st + kNextRecNum, log.next_rec_num());
  StoreU64(block.data() + kChecksum, 0);
  StoreU64(block.data() + kChecksum, Checksum(block.data(), 0, kStatusAreaSize));
  n = ::pwrite(fd, block.data(), block.size(), static_cast<off_t>(at));
  if (n != static_cast<ssize_t>(block.size())) {
    int e = n < 0 ? errno : EIO;
    ::close(fd);
    return Status::IoError(path + ": writing the status block", e);
  }
  if (::fdatasync(fd) != 0) {
    int e = errno;
    ::close(fd);
    return Status::IoError(path + ": fdatasync", e);
  }
  ::close(fd);
  return Status::Ok();
}

}  // namespace rvmr::coda
