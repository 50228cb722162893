// LogRecordReader: scans records forward from a logical offset over a
// LogSource and says precisely why it stopped.
//
// A record is accepted only if its magic, version, length, own-offset field,
// CRC32C, LSN (exactly previous + 1) and epoch (never below the previous
// record's, never above max_epoch) all check out. The first record that fails
// ends the scan: the caller treats everything from there on as the end of the
// log (a torn or stale tail).
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "shim/log_format.h"
#include "shim/log_source.h"

namespace rvmr::log {

enum class ReadError {
  kNone = 0,
  kEndOfRange,       // reached the `limit` given to the reader
  kBadMagic,         // no record header here (zeros, stale bytes)
  kBadVersion,       // a header of an unknown format version
  kLengthOutOfRange, // payload length beyond the area or the limit
  kOffsetMismatch,   // a header written for another lap of the area
  kTruncated,        // the record runs past `limit`
  kBadCrc,           // header or payload damaged, or torn write
  kBadSequence,      // LSN not previous + 1, or epoch out of order
  kIo,               // the source failed
  kBadAuth,          // a mirror's sealed record fails verification (UnsealingLogSource)
};

const char* ReadErrorName(ReadError e);

struct LogRecord {
  RecordHeader header;
  std::string payload;
  uint64_t offset() const { return header.offset; }
  uint64_t end() const { return header.offset + RecordSize(header.payload_len); }
};

class LogRecordReader {
 public:
  // Reads records starting at logical offset `start` and ending no later than
  // `limit` (exclusive; at most start + area size). If `first_lsn` is nonzero
  // the first record must carry that LSN. Records with epoch > max_epoch are
  // rejected (kBadSequence).
  LogRecordReader(LogSource* src, uint64_t start, uint64_t limit, uint64_t first_lsn = 0,
                  uint64_t max_epoch = UINT64_MAX);

  // Reads the next record into *rec. On failure returns a non-OK Status
  // (Corruption "offset N: reason", or IoError) and sets error()/error_offset();
  // the reader then stays at that offset.
  Status ReadRecord(LogRecord* rec);

  // Logical offset of the next record to read (the end of the valid prefix).
  uint64_t offset() const { return offset_; }
  ReadError error() const { return error_; }
  uint64_t error_offset() const { return offset_; }
  // True when the failure looks like a damaged or torn record (a header that
  // names this very offset but whose contents do not check out), as opposed
  // to the normal end of the written log (zeros or bytes from an earlier lap).
  bool error_is_damage() const { return damage_; }
  uint64_t last_lsn() const { return last_lsn_; }
  uint64_t last_epoch() const { return last_epoch_; }

 private:
  Status Fail(ReadError e, bool damage);
  Status SourceFailed(const Status& s);

  LogSource* src_;
  uint64_t offset_;
  uint64_t limit_;
  uint64_t expect_lsn_;
  uint64_t max_epoch_;
  uint64_t last_lsn_ = 0;
  uint64_t last_epoch_ = 0;
  ReadError error_ = ReadError::kNone;
  bool damage_ = false;
};

}  // namespace rvmr::log
