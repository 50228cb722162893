// coda_log_format.h: byte layout of the ORIGINAL RVM's (Coda's) log, as its
// x86-64 builds write it (docs/coda-log-format.md). Read-only knowledge for
// migrating a site: this project never writes records in this format.
//
// Everything is native-endian (little-endian) 64-bit words; a "timeval" is
// two i64 (seconds, microseconds); an "offset" is two u64 (high, low), of
// which only the low word is ever nonzero on 64-bit builds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "common/status.h"

namespace rvmr::coda {

// Status block position: file offset 0 in a log file; 16 sectors in on a
// raw partition (the original skips a disk label there).
inline constexpr uint64_t kFileStatusOffset = 0;
inline constexpr uint64_t kRawStatusOffset = 16 * 512;
// Status area: the 2240-byte block rounded up to whole sectors.
inline constexpr uint64_t kStatusAreaSize = 2560;

// Structure ids (the first word of every status block and record).
enum : uint32_t {
  kIdDevStatus = 24,
  kIdWrap = 25,
  kIdSegment = 26,
  kIdTransaction = 28,
  kIdRecordEnd = 29,
  kIdRange = 30,
};

// Record sizes (bytes); every record starts at an 8-byte aligned offset.
inline constexpr uint64_t kRecHdrSize = 40;       // id, length, timestamp, rec_num
inline constexpr uint64_t kTransHdrSize = 96;
inline constexpr uint64_t kRangeHdrSize = 112;
inline constexpr uint64_t kRecEndSize = 56;
inline constexpr uint64_t kWrapSize = 48;
inline constexpr uint64_t kSegmentHdrSize = 80;   // then the NUL-terminated name

// Transaction header flags.
enum : uint64_t {
  kFlagCoalesceRanges = 1,
  kFlagCoalesceTrans = 2,
  kFlagRestore = 4,
  kFlagFlush = 8,
  kFlagFirstEntry = 16,
  kFlagLastEntry = 32,
};

// The version strings this reader knows (the status block carries all three).
inline constexpr std::string_view kInterfaceVersionPrefix = "RVM Interface Version";
inline constexpr std::string_view kLogVersion = "RVM Log Version  1.4 Oct 17, 1997 ";
inline constexpr std::string_view kStatisticsVersion = "RVM Statistics Version 1.1 8 Dec 1992";

struct Timeval {
  int64_t sec = 0;
  int64_t usec = 0;
  bool zero() const { return sec == 0 && usec == 0; }
  friend bool operator<(const Timeval& a, const Timeval& b) {
    return a.sec != b.sec ? a.sec < b.sec : a.usec < b.usec;
  }
  friend bool operator==(const Timeval& a, const Timeval& b) {
    return a.sec == b.sec && a.usec == b.usec;
  }
};

// Little-endian loads from a byte buffer.
inline uint64_t LoadU64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline uint32_t LoadU32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline Timeval LoadTimeval(const char* p) {
  return Timeval{static_cast<int64_t>(LoadU64(p)), static_cast<int64_t>(LoadU64(p + 8))};
}
inline void StoreU64(char* p, uint64_t v) { std::memcpy(p, &v, 8); }

// The original's checksum of `len` bytes whose first byte sits `skew` bytes
// (0..7) into an 8-byte word at `words` (which must hold the whole span,
// rounded up to words): the sum modulo 2^64 of the words covering the span,
// bytes outside the span taken as zero, with the original's quirks kept (see
// docs/coda-log-format.md: a span of one word keeps its trailing bytes, a span
// of two words counts only the first).
uint64_t Checksum(const char* words, unsigned skew, uint64_t len);

// ---- the status block (log_dev_status_t) ----

struct LogStatus {
  uint64_t status_offset = 0;  // file position of the block
  uint64_t stored_checksum = 0;
  std::string version;             // interface version string
  std::string log_version;         // must be kLogVersion
  std::string statistics_version;  // must be kStatisticsVersion
  bool log_empty = false;
  uint64_t log_start = 0;  // file offset of the record area
  uint64_t log_size = 0;   // bytes of the record area
  uint64_t log_head = 0;   // file offset of the oldest record not yet applied
  uint64_t log_tail = 0;   // end of the records, as of the last status write
  uint64_t prev_log_head = 0;  // nonzero: a truncation of [prev head, prev tail)
  uint64_t prev_log_tail = 0;  // was under way when the log was last written
  Timeval status_init;
  Timeval status_write;
  Timeval last_trunc;
  Timeval prev_trunc;
  Timeval last_commit;
  uint64_t first_rec_num = 0;
  uint64_t last_rec_num = 0;
  uint64_t next_rec_num = 0;
  uint64_t tot_wrap = 0;
  // Where a scan of the records not yet applied starts: prev_log_head when
  // a truncation was caught by a crash, else log_head.
  uint64_t scan_start() const { return prev_log_head != 0 ? prev_log_head : log_head; }
  uint64_t log_end() const { return log_start + log_size; }
};

// Field positions within the status block (bytes from its start).
namespace status_field {
inline constexpr size_t kStructId = 0, kChecksum = 8, kVersion = 16, kLogVersionStr = 144,
                        kStatisticsVersionStr = 272, kVersionMax = 128, kStatus = 400;
// Within log_status_t (add kStatus).
inline constexpr size_t kValid = 8, kLogEmpty = 12, kLogStart = 16, kLogSize = 32, kLogHead = 48,
                        kLogTail = 64, kPrevLogHead = 80, kPrevLogTail = 96, kStatusInit = 112,
                        kStatusWrite = 128, kLastTrunc = 144, kPrevTrunc = 160,
                        kFirstWrite = 176, kLastWrite = 192, kFirstUname = 208, kLastUname = 224,
                        kLastCommit = 240, kWrapTime = 256, kFirstRecNum = 272,
                        kLastRecNum = 280, kNextRecNum = 288, kTotWrap = 1008;
}  // namespace status_field

// True when `block` (kStatusAreaSize bytes) starts like the original's status
// block: structure id 24 and the interface version string in place, whatever
// the checksum says.
bool LooksLikeStatusBlock(const char* block);

// Decodes a status block. Corruption when the id or the checksum is wrong or
// the geometry does not fit `file_size` (0: unknown); NotSupported when the
// block is sound but its log or statistics version is not the one this
// reader knows (the message names the version found).
Status DecodeLogStatus(const char* block, uint64_t status_offset, uint64_t file_size,
                       LogStatus* out);

}  // namespace rvmr::coda
