// RecordSealer: end-to-end protection of log records on the mirrors
// (docs/log-format.md "Sealed form", docs/security.md), over Aead.
//
// The writer hands the mirrors each record in its sealed form, made with an
// AEAD under a key derived from the log key (log_key.h), which the mirrors
// never see; the disk copy stays in the plain form. The sealed form has the
// same length as the plain one, so offsets, tails and trims mean the same on
// both copies:
//
//   0 magic u32 (below)
//   4 tag bytes 0..3
//   8 version u16 | 10 type u16 | 12 flags u32 | 16 payload_len u32
//  20 tag bytes 4..15
//  32 lsn u64 | 40 epoch u64
//  48 payload (clear, or ciphertext of the same length), zero padding to 8
//
// The magic names the kind of seal; each is the faster AEAD for its job on
// x86-64 with Debian 12's OpenSSL (docs/performance.md):
//   "RVMa" authenticated (payload in clear), ChaCha20-Poly1305, subkey
//          "rvmr-record-key-v2", additional data prefix "rvmr-seal-v2";
//   "RVME" encrypted (encrypt = yes), AES-256-GCM, subkey
//          "rvmr-record-key-v1", prefix "rvmr-seal-v1";
//   "RVMA" authenticated, AES-256-GCM, "rvmr-record-key-v1", "rvmr-seal-v1":
//          what earlier releases wrote; read only, so that a log sealed before
//          an upgrade is still recovered from its mirrors after it.
//
// The record's offset and CRC are not stored (the offset is where it lies;
// the CRC is recomputed when it is unsealed). Nonce: offset u64 || epoch u32
// (little-endian), unique because a writer epoch is never reused and an
// offset is written once per epoch. Additional data: the prefix, the mode
// byte ('A' or 'E'), the log name (u32 length, bytes) and the header fields
// version, type, flags, payload_len, offset, lsn, epoch; in authenticated
// records the payload too. A sealed record whose offset, epoch, header,
// name, mode or payload was altered, or that was moved, fails Unseal.
//
// Not thread-safe: one thread uses a sealer at a time.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "shim/aead.h"

namespace rvmr::log {

inline constexpr uint32_t kSealedAuthMagic = 0x614D5652u;    // "RVMa" (ChaCha20-Poly1305)
inline constexpr uint32_t kSealedEncMagic = 0x454D5652u;     // "RVME" (AES-256-GCM)
inline constexpr uint32_t kSealedAuthMagicV1 = 0x414D5652u;  // "RVMA" (AES-256-GCM, read only)
inline constexpr size_t kSealTagSize = kAeadTagSize;

// Whether the 4 bytes at `p` are the magic of a sealed record (any kind).
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

  // Verifies the sealed record (any kind) of `len` bytes at `rec` (len =
  // RecordSize(payload_len)) as the record at log offset `offset` and turns
  // it into the plain form in place (decrypted, offset and CRC filled in,
  // padding zeroed). Corruption naming the offset if it fails verification;
  // then `rec` holds nothing usable.
  Status Unseal(uint64_t offset, char* rec, size_t len);

 private:
  // One kind of seal: its magic, its cipher (owned by the sealer) and its
  // additional data prefix (label || mode byte || u32 name length || name).
  struct Kind {
    uint32_t magic = 0;
    bool encrypt = false;
    Aead* aead = nullptr;
    std::string aad;
  };
  // The kind of the magic `m`, or nullptr.
  const Kind* KindOf(uint32_t m) const;

  explicit RecordSealer(Mode mode) : mode_(mode) {}
  // The per-record nonce and additional data of a header (plain or sealed
  // form: only the shared fields are used).
  Status Prepare(uint64_t offset, const char* hdr, uint8_t* iv, char* aad_fields);
  Status SealRecord(uint64_t offset, const char* plain, size_t len, char* hdr_out,
                    char* payload_out);

  Mode mode_;
  std::unique_ptr<Aead> chacha_;  // under "rvmr-record-key-v2"
  std::unique_ptr<Aead> gcm_;     // under "rvmr-record-key-v1"
  Kind auth_, enc_, auth_v1_;     // RVMa, RVME (both written), RVMA (read only)
  std::string scratch_;        // sealed headers (and ciphertext) of the last Seal
};

}  // namespace rvmr::log
