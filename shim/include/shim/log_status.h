// log_status.h: the log file's status block (see docs/log-format.md).
//
// The log file starts with a status area of two 4096-byte copies of the
// status block (file offsets 0 and 4096). Every write increments write_counter
// and goes to copy write_counter % 2 with pwrite + fdatasync, so the other
// copy is never touched while one is being written. The valid status is the
// CRC-good copy with the higher counter: a torn write leaves at worst the
// previous status, never a mixture.
#pragma once

#include <array>
#include <cstdint>

#include "common/status.h"

namespace rvmr::log {

inline constexpr uint64_t kStatusMagic = 0x54415453524D5652ull;  // "RVMRSTAT"
inline constexpr uint32_t kStatusVersion = 1;
inline constexpr uint64_t kStatusCopySize = 4096;
inline constexpr uint64_t kStatusAreaSize = 2 * kStatusCopySize;
// Encoded bytes of the status block within a copy (the rest is zero).
inline constexpr size_t kStatusEncodedSize = 112;

struct LogStatus {
  uint32_t version = kStatusVersion;
  uint64_t write_counter = 0;  // incremented by every write
  uint64_t area_start = kStatusAreaSize;
  uint64_t area_size = 0;
  uint64_t head = 0;       // logical offset of the oldest live record
  uint64_t head_lsn = 1;   // LSN the record at `head` must carry
  uint64_t tail_hint = 0;  // a logical offset <= the durable tail when written
  uint64_t epoch = 0;      // writer epoch, bumped at every open for writing
  std::array<uint8_t, 16> log_id{};  // random at creation
  uint64_t create_time_ns = 0;       // CLOCK_REALTIME at creation
  uint32_t flags = 0;                // reserved, 0
};

// Encodes `s` into a kStatusCopySize-byte buffer (fields, CRC, zero fill).
void EncodeLogStatus(const LogStatus& s, char* copy);
// Decodes one copy; Corruption if magic, version, CRC or geometry are bad.
Status DecodeLogStatus(const char* copy, LogStatus* s);

// Reads both copies from `fd` and returns the valid one with the higher
// counter in *s (*which = 0 or 1). Corruption if neither copy is valid.
Status ReadLogStatus(int fd, LogStatus* s, int* which = nullptr);

// Increments s->write_counter and writes `*s` to copy (counter % 2) with
// pwrite + fdatasync.
Status WriteLogStatus(int fd, LogStatus* s);

// Creates a log file at `path` (must not exist: NotFound-style errors come
// back as IoError with errno EEXIST) with a record area of `area_size` bytes
// (a nonzero multiple of 8), mode `mode`, a random log id, and both status
// copies written; the file is fdatasync'ed. *out (optional) gets the status.
Status CreateLogFile(const char* path, uint64_t area_size, int mode, LogStatus* out = nullptr);

}  // namespace rvmr::log
