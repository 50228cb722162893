// RecordSealer: end-to-end protection of log records on the mirrors
// (docs/log-format.md "Sealed form", docs/security.md), over Aes256Gcm.
//
// The writer hands the mirrors each record in its sealed form, made with
// AES-256-GCM under a key derived from the log key (log_key.h), which the
// mirrors never see; the disk copy stays in the plain form. The sealed form
// has the same length as the plain one, so offsets, tails and trims mean the
// same on both copies:
//
//   0 magic u32: "RVMA" (authenticated, payload in clear) or "RVME" (encrypted)
//   4 tag bytes 0..3
//   8 version u16 | 10 type u16 | 12 flags u32 | 16 payload_len u32
//  20 tag bytes 4..15
//  32 lsn u64 | 40 epoch u64
//  48 payload (clear, or ciphertext of the same length), zero padding to 8
//
// The record's offset and CRC are not stored (the offset is where it lies;
// the CRC is recomputed when it is unsealed). Nonce: offset u64 || epoch u32
// (little-endian), unique because a writer epoch is never reused and an
// offset is written once per epoch. Additional data: "rvmr-seal-v1", the mode
// byte ('A' or 'E'), the log name (u32 length, bytes) and the header fields
// version, type, flags, payload_len, offset, lsn, epoch; in "RVMA" the
// payload too. A sealed record whose offset, epoch, header, name, mode or
// payload was altered, or that was moved, fails Unseal.
//
// Not thread-safe: one thread uses a sealer at a time.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "shim/aes256_gcm.h"

namespace rvmr::log {

inline constexpr uint32_t kSealedAuthMagic = 0x414D5652u;  // "RVMA"
inline constexpr uint32_t kSealedEncMagic = 0x454D5652u;   // "RVME"
inline constexpr size_t kSealTagSize = 16;

// Whether the 4 bytes at `p` are the magic of a sealed record.
bool IsSealedMagic(const char* p);

class RecordSealer {
 public:
  enum class Mode { kAuthenticate, kEncrypt };

  // A sealer for log `log_name` (its name on the mirrors) under `log_key`
  // (kLogKeySize bytes). Seal uses `mode`; Unseal accepts either.
  static Status Create(const std::string& log_key, const std::string& log_name, Mode mode,
                       std::unique_ptr<RecordSealer>* out);
  ~RecordSealer();
  RecordSealer(const RecordSealer&) = delete;
  RecordSealer& operator=(const RecordSealer&) = delete;

  Mode mode() const { return mode_; }

  // Seals the plain records in iov[0..iovcnt), which lie back to back from
  // log offset `offset`; every iovec holds whole records. Replaces *out with
  // the iovecs of the sealed form (same total length), which point into a
  // buffer of the sealer (valid until the next Seal) and, in authenticate
  // mode, at the callers' payload bytes. InvalidArgument if the iovecs do
  // not hold whole plain records at their offsets.
  Status Seal(uint64_t offset, const struct iovec* iov, int iovcnt, std::vector<struct iovec>* out);

  // Seals, in place, the plain record of `len` bytes at `rec`, which lies at
  // log offset `offset` (len = RecordSize(payload_len)).
  Status SealInPlace(uint64_t offset, char* rec, size_t len);

  // Verifies the sealed record of `len` bytes at `rec` (len =
  // RecordSize(payload_len)) as the record at log offset `offset` and turns
  // it into the plain form in place (decrypted, offset and CRC filled in,
  // padding zeroed). Corruption naming the offset if it fails verification;
  // then `rec` holds nothing usable.
  Status Unseal(uint64_t offset, char* rec, size_t len);

 private:
  RecordSealer(Mode mode, const std::string& log_name);
  // The per-record nonce and additional data of a header (plain or sealed
  // form: only the shared fields are used).
  Status Prepare(uint64_t offset, const char* hdr, uint8_t* iv, char* aad_fields);
  Status SealRecord(uint64_t offset, const char* plain, size_t len, char* hdr_out,
                    char* payload_out);

  Mode mode_;
  // "rvmr-seal-v1" || mode byte || u32 name length || name, per mode.
  std::string aad_auth_, aad_enc_;
  std::unique_ptr<Aes256Gcm> gcm_;  // under the record key
  std::string scratch_;        // sealed headers (and ciphertext) of the last Seal
};

}  // namespace rvmr::log
