#include "shim/log_record_reader.h"

#include <algorithm>
#include <string>

#include "common/fault_point.h"

namespace rvmr::log {

const char* ReadErrorName(ReadError e) {
  switch (e) {
    case ReadError::kNone: return "none";
    case ReadError::kEndOfRange: return "end of range";
    case ReadError::kBadMagic: return "bad magic";
    case ReadError::kBadVersion: return "bad format version";
    case ReadError::kLengthOutOfRange: return "length out of range";
    case ReadError::kOffsetMismatch: return "offset mismatch";
    case ReadError::kTruncated: return "truncated record";
    case ReadError::kBadCrc: return "bad crc";
    case ReadError::kBadSequence: return "bad sequence (lsn or epoch)";
    case ReadError::kIo: return "i/o error";
    case ReadError::kBadAuth: return "fails verification (sealed record altered or foreign)";
  }
  return "unknown";
}

LogRecordReader::LogRecordReader(LogSource* src, uint64_t start, uint64_t limit,
                                 uint64_t first_lsn, uint64_t max_epoch)
    : src_(src),
      offset_(start),
      limit_(std::min(limit, start + src->area_size())),
      expect_lsn_(first_lsn),
      max_epoch_(max_epoch) {}

Status LogRecordReader::Fail(ReadError e, bool damage) {
  error_ = e;
  damage_ = damage;
  return Status::Corruption("offset " + std::to_string(offset_) + ": " + ReadErrorName(e));
}

Status LogRecordReader::SourceFailed(const Status& s) {
  // A source that verifies records says Corruption for one that fails.
  const bool auth = s.code() == Status::Code::kCorruption;
  error_ = auth ? ReadError::kBadAuth : ReadError::kIo;
  damage_ = auth;
  return s;
}

Status LogRecordReader::ReadRecord(LogRecord* rec) {
  error_ = ReadError::kNone;
  damage_ = false;
  if (offset_ >= limit_) return Fail(ReadError::kEndOfRange, false);
  if (limit_ - offset_ < kRecordHeaderSize) return Fail(ReadError::kTruncated, false);
  char hdr[kRecordHeaderSize];
  Status s = src_->Read(offset_, hdr, sizeof(hdr));
  if (!s.ok()) return SourceFailed(s);
  RecordHeader h = DecodeRecordHeader(hdr);
  if (h.magic != kRecordMagic) return Fail(ReadError::kBadMagic, false);
  // The offset field is checked before anything else that could be stale.
  if (h.offset != offset_) return Fail(ReadError::kOffsetMismatch, false);
  if (h.version != kFormatVersion) return Fail(ReadError::kBadVersion, true);
  uint64_t total = RecordSize(h.payload_len);
  if (total > src_->area_size()) return Fail(ReadError::kLengthOutOfRange, true);
  if (total > limit_ - offset_) return Fail(ReadError::kTruncated, true);
  // Mutation: a record that wraps around the end of the log area is taken for
  // the end of the log (it and everything after it are lost).
  if (RVMR_MUTATION("wrap_ends_log") &&
      offset_ % src_->area_size() + total > src_->area_size())
    return Fail(ReadError::kEndOfRange, false);
  rec->payload.resize(h.payload_len);
  if (h.payload_len) {
    s = src_->Read(offset_ + kRecordHeaderSize, rec->payload.data(), h.payload_len);
    if (!s.ok()) return SourceFailed(s);
  }
  // Mutation: a record whose checksum does not match is accepted.
  if (RecordCrc(hdr, rec->payload.data(), h.payload_len) != h.crc &&
      !RVMR_MUTATION("accept_bad_crc"))
    return Fail(ReadError::kBadCrc, true);
  if (expect_lsn_ != 0 && h.lsn != expect_lsn_) return Fail(ReadError::kBadSequence, false);
  if (h.epoch > max_epoch_ || h.epoch < last_epoch_) return Fail(ReadError::kBadSequence, false);
  rec->header = h;
  last_lsn_ = h.lsn;
  last_epoch_ = h.epoch;
  expect_lsn_ = h.lsn + 1;
  offset_ += total;
  return Status::Ok();
}

}  // namespace rvmr::log
