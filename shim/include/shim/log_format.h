// log_format.h: the byte layout of one log record (see docs/log-format.md).
//
// The log is a circular byte stream addressed by a 64-bit logical offset that
// only grows. Every record is a fixed 48-byte little-endian header followed by
// its payload and zero padding up to a multiple of 8 bytes. The header names
// the record's own logical offset, so bytes left over from an earlier lap of
// the circular area can never be taken for a valid record.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace rvmr::log {

// "RVMR" read as a little-endian u32.
inline constexpr uint32_t kRecordMagic = 0x524D5652u;
inline constexpr uint16_t kFormatVersion = 1;
inline constexpr size_t kRecordHeaderSize = 48;
inline constexpr size_t kRecordAlign = 8;
// A payload may not exceed this (the u32 length field, less alignment slack).
inline constexpr uint64_t kMaxPayload = 0xFFFFFFF0u;

enum class RecordType : uint16_t {
  kTransaction = 1,     // one committed transaction (or several coalesced ones)
  kSegmentDict = 2,     // segment code -> segment file name
  kPadding = 3,         // ignored by readers (reserved for sinks that need it)
};

// Flags of a kTransaction record.
enum : uint32_t {
  kTxnFlagFlush = 1u << 0,      // committed with mode flush
  kTxnFlagRestore = 1u << 1,    // committed in restore mode
  kTxnFlagCoalesced = 1u << 2,  // several no_flush transactions merged into one
};

// Decoded header. Encode/Decode convert to and from the 48 wire bytes:
//   0 magic u32 | 4 crc32c u32 | 8 version u16 | 10 type u16 | 12 flags u32
//   16 payload_len u32 | 20 reserved u32 (0) | 24 offset u64 | 32 lsn u64
//   40 epoch u64
// The CRC32C covers the 48 header bytes (crc field taken as 0) and the payload,
// not the padding.
struct RecordHeader {
  uint32_t magic = kRecordMagic;
  uint32_t crc = 0;
  uint16_t version = kFormatVersion;
  uint16_t type = 0;
  uint32_t flags = 0;
  uint32_t payload_len = 0;
  uint64_t offset = 0;  // the record's own logical offset
  uint64_t lsn = 0;     // record sequence number, +1 per record
  uint64_t epoch = 0;   // writer epoch (bumped at every log open)
};

// Bytes a record with `payload_len` payload bytes occupies in the log.
inline constexpr uint64_t RecordSize(uint64_t payload_len) {
  return (kRecordHeaderSize + payload_len + kRecordAlign - 1) & ~uint64_t{kRecordAlign - 1};
}

// Little-endian field helpers (the project targets little-endian hosts, but
// the helpers keep the format explicit).
inline void PutU16(char* p, uint16_t v) {
  p[0] = static_cast<char>(v);
  p[1] = static_cast<char>(v >> 8);
}
inline void PutU32(char* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = static_cast<char>(v >> (8 * i));
}
inline void PutU64(char* p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = static_cast<char>(v >> (8 * i));
}
inline uint16_t GetU16(const char* p) {
  return static_cast<uint16_t>(static_cast<uint8_t>(p[0]) | (static_cast<uint8_t>(p[1]) << 8));
}
inline uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
inline uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

// Writes the 48 header bytes of `h` to `dst` (crc written as given).
void EncodeRecordHeader(const RecordHeader& h, char* dst);
// Parses 48 bytes at `src`; no validation.
RecordHeader DecodeRecordHeader(const char* src);
// CRC32C of a record: header bytes at `hdr` with the crc field zeroed, then
// `payload_len` bytes at `payload`.
uint32_t RecordCrc(const char* hdr, const char* payload, size_t payload_len);

}  // namespace rvmr::log
