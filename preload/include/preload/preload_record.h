// PreloadRecord: the framing of the bytes the preload shim appends to a
// designated file's remote log (docs/preload.md, "Record format").
//
// The remote log of one file is a byte stream of records. Each record is a
// 32-byte header followed by its payload:
//   DATA  (type 1): `arg` is the file offset the payload was written at;
//   SIZE  (type 2): the file was truncated or extended to `arg` bytes;
//   OPEN  (type 3): the payload is the file's absolute path (first record
//                   of each process that opens the file).
// A header carries its own stream offset and a CRC32C over the header and
// payload, so a record read from the wrong place, torn or corrupted is
// detected.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace rvmr::preload {

inline constexpr uint32_t kRecordMagic = 0x4C505652;  // "RVPL" little-endian
inline constexpr uint8_t kRecordVersion = 1;
inline constexpr size_t kRecordHeaderSize = 32;
// Largest payload of one record; longer dirty ranges are split.
inline constexpr size_t kMaxRecordPayload = size_t{1} << 20;

enum class RecordType : uint8_t { kData = 1, kSize = 2, kOpen = 3 };

struct RecordHeader {
  RecordType type = RecordType::kData;
  uint64_t stream_offset = 0;  // where this header starts in the remote log
  uint64_t arg = 0;            // file offset (DATA) or file size (SIZE)
  uint32_t length = 0;         // payload bytes
};

// Encodes the header of a record whose payload is `payload` into
// out[0..kRecordHeaderSize). h.length must equal payload.size().
void EncodeRecordHeader(const RecordHeader& h, std::string_view payload, char* out);

// Decodes the record starting at buf[0..n), expected at stream offset
// `expect_offset`. On success fills *h and *payload (pointing into buf) and
// returns OK. Returns InvalidArgument (with the record's size in *need, 0 if
// unknown) if buf holds too few bytes for the whole record, Corruption for a
// bad magic, version, type, stream offset or checksum.
Status DecodeRecord(const char* buf, size_t n, uint64_t expect_offset, RecordHeader* h,
                    std::string_view* payload, size_t* need);

// The remote log name of the file at absolute path `path`: "rvmpl-" plus
// 16 hex digits of a 64-bit FNV-1a hash of the path.
std::string RemoteLogNameForPath(std::string_view path);

}  // namespace rvmr::preload
