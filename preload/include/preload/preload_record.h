// PreloadRecord: the format of the bytes the preload shim appends to a
// designated file's remote log (docs/preload.md, "Record format").
//
// The remote log of one file is a byte stream of records. Each record is a
// 64-byte header followed by its payload:
//   DATA    (type 1): `arg` is the file offset the payload was written at;
//   SIZE    (type 2): the file was truncated or extended to `arg` bytes;
//   OPEN    (type 3): the payload is the file's absolute path (first record
//                     of each writer session);
//   REFUSED (type 4): the shim stopped protecting the file (it is rewritten
//                     in place, not appended); the payload says why, `arg`
//                     is the file offset of the offending operation.
//
// Every record is sealed with AES-256-GCM (shim/aead.h) under a key
// derived from the preload key, which the mirrors never see: authenticated
// (mode 'A', payload in clear) or also encrypted (mode 'E'); mode 'P' (plain,
// protect_records = no) carries no tag. Header layout (little-endian):
//    0 magic u32 "RVPL"   4 version u8 (2)   5 type u8   6 mode u8   7 zero
//    8 stream offset u64  16 arg u64   24 payload length u32   28 CRC32C u32
//   32 session id (16 random bytes, one per writer session)
//   48 GCM tag (16 bytes; zero in mode 'P')
// The CRC32C covers the header (its own field excluded) and the payload as
// stored: it tells a torn or garbled record from a forged one. The record
// key is HMAC-SHA256(preload key, "rvmr-preload-seal-v2" || session id); the
// nonce is the stream offset (u64) followed by 4 zero bytes, unique because
// a session writes each offset once. The additional data is
// "rvmr-preload-seal-v2", the log name (u32 length, bytes), header bytes
// [0, 28) and [32, 48) (so type, mode, offset, arg, length and session are
// bound), and in mode 'A' the payload. A record altered, moved to another
// offset or log, or sealed under another key fails Decode.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "shim/aead.h"

namespace rvmr::preload {

inline constexpr uint32_t kRecordMagic = 0x4C505652;  // "RVPL" little-endian
inline constexpr uint8_t kRecordVersion = 2;
inline constexpr size_t kRecordHeaderSize = 64;
inline constexpr size_t kSessionIdSize = 16;
// Largest payload of one record; longer dirty ranges are split.
inline constexpr size_t kMaxRecordPayload = size_t{1} << 20;

enum class RecordType : uint8_t { kData = 1, kSize = 2, kOpen = 3, kRefused = 4 };

// How a record is protected; the byte stored at header offset 6.
enum class SealMode : uint8_t { kPlain = 'P', kAuthenticate = 'A', kEncrypt = 'E' };

struct RecordHeader {
  RecordType type = RecordType::kData;
  SealMode mode = SealMode::kPlain;  // set by Decode
  uint64_t stream_offset = 0;        // where this header starts in the remote log
  uint64_t arg = 0;                  // file offset (DATA, REFUSED) or file size (SIZE)
  uint32_t length = 0;               // payload bytes
};

// RecordCodec: seals records for one remote log (writer side) and verifies
// them (reader side). Not thread-safe: one thread uses a codec at a time.
class RecordCodec {
 public:
  // A codec for the remote log `log_name` under `key` (the preload key,
  // 32 bytes; may be empty only with mode kPlain). A writer seals with
  // `mode` in a fresh random session. A reader with mode other than kPlain
  // refuses plain records (a mirror cannot strip the protection); with
  // kPlain it still verifies sealed records if it has the key.
  static Status Create(const std::string& key, const std::string& log_name, SealMode mode,
                       std::unique_ptr<RecordCodec>* out);
  ~RecordCodec();

  // Starts a new writer session (fresh session id, fresh record key): call
  // before re-sending bytes at a stream offset already sealed once (a
  // failed append), so no nonce is used twice.
  Status NewSession();

  // Encodes the record `h` whose payload (h.length bytes) already lies at
  // rec[kRecordHeaderSize..): writes the header to rec[0..kRecordHeaderSize)
  // and seals the payload in place (encrypted in mode kEncrypt).
  Status Encode(const RecordHeader& h, char* rec);

  // Decodes the record starting at buf[0..n), expected at stream offset
  // `expect_offset`, verifying its seal and decrypting its payload in place.
  // On success fills *h and *payload (pointing into buf). InvalidArgument
  // (with the record's size in *need, 0 if unknown) if buf holds too few
  // bytes for the whole record; Corruption naming the stream offset for a
  // bad magic, version, type, mode, stream offset, checksum, a record that
  // fails verification, or a plain record where sealed ones are required.
  // After a Corruption, buf holds nothing usable.
  Status Decode(char* buf, size_t n, uint64_t expect_offset, RecordHeader* h,
                std::string_view* payload, size_t* need);

 private:
  RecordCodec(const std::string& key, const std::string& log_name, SealMode mode);
  // The cipher of session `id` (reader: cached for the last few sessions).
  Status CipherFor(std::string_view id, log::Aead** out);

  std::string key_;   // the preload key (empty: cannot seal or verify)
  std::string name_;  // the remote log name, bound into every seal
  SealMode mode_;
  std::string session_;                       // the writer's session id
  std::unique_ptr<log::Aead> writer_;    // the writer session's cipher
  std::map<std::string, std::unique_ptr<log::Aead>> readers_;  // by session id
};

// The remote log name of the file at absolute path `path`: "rvmpl-" plus
// 16 hex digits of a 64-bit FNV-1a hash of the path.
std::string RemoteLogNameForPath(std::string_view path);

// The name of a record type ("DATA", "SIZE", "OPEN", "REFUSED").
const char* RecordTypeName(RecordType t);

}  // namespace rvmr::preload
