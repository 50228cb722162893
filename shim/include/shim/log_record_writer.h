// LogRecordWriter: frames records (header, CRC32C, padding) at consecutive
// logical offsets and LSNs. It only produces bytes; a LogSink makes them
// durable. Not thread-safe: the caller serializes (the RVM commit lock).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "shim/log_format.h"

namespace rvmr::log {

class LogRecordWriter {
 public:
  // The next record gets logical offset `next_offset` (a multiple of 8),
  // sequence number `next_lsn` and writer epoch `epoch`.
  LogRecordWriter(uint64_t epoch, uint64_t next_offset, uint64_t next_lsn)
      : epoch_(epoch), next_offset_(next_offset), next_lsn_(next_lsn) {}

  // Appends kRecordHeaderSize placeholder bytes to *buf: the caller then
  // appends the payload and calls Finish with the position returned here.
  static size_t Begin(std::string* buf);

  // Completes the record that starts at (*buf)[start]: pads it to 8 bytes,
  // fills the header (offset, LSN, epoch, type, flags, length) and the CRC
  // over header + payload, computed once. Returns the record's logical offset
  // and advances next_offset/next_lsn. The payload must not exceed kMaxPayload.
  uint64_t Finish(std::string* buf, size_t start, RecordType type, uint32_t flags);

  // Begin + append `payload` + Finish.
  uint64_t Add(std::string* buf, RecordType type, uint32_t flags, std::string_view payload);

  uint64_t next_offset() const { return next_offset_; }
  uint64_t next_lsn() const { return next_lsn_; }
  uint64_t epoch() const { return epoch_; }

 private:
  uint64_t epoch_;
  uint64_t next_offset_;
  uint64_t next_lsn_;
};

}  // namespace rvmr::log
