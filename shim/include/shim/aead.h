// Aead: an AEAD from libcrypto, the one primitive under every sealed record:
// the RVM log's records on the mirrors (record_sealer.h: ChaCha20-Poly1305
// for authenticated records, AES-256-GCM for encrypted ones) and the preload shim's
// (preload/preload_record.h: AES-256-GCM). Both algorithms take a 32-byte
// key, a 12-byte nonce and make a 16-byte tag. Each caller builds its own
// nonce and additional data; this class only seals and opens one message.
//
// Not thread-safe: one thread uses an instance at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;

namespace rvmr::log {

inline constexpr size_t kAeadKeySize = 32;
inline constexpr size_t kAeadIvSize = 12;
inline constexpr size_t kAeadTagSize = 16;

class Aead {
 public:
  enum class Algorithm { kAes256Gcm, kChaCha20Poly1305 };

  // A cipher of `algorithm` under `key` (kAeadKeySize bytes).
  // InvalidArgument for another size, Failed if libcrypto cannot set it up.
  static Status Create(Algorithm algorithm, std::string_view key, std::unique_ptr<Aead>* out);
  ~Aead();
  Aead(const Aead&) = delete;
  Aead& operator=(const Aead&) = delete;

  // "AES-256-GCM" or "ChaCha20-Poly1305", for messages.
  const char* name() const;

  // Seals one message under nonce iv[0..kAeadIvSize): authenticates the
  // additional data aad[0..naad) (in order, as if concatenated), encrypts
  // in[0..len) into out[0..len) (out may equal in; len may be 0 to only
  // authenticate) and writes the tag to tag[0..kAeadTagSize). Failed if
  // libcrypto fails. A nonce must never be used twice under one key.
  Status Seal(const uint8_t* iv, const std::string_view* aad, size_t naad, const char* in,
              char* out, size_t len, uint8_t* tag);

  // Opens what Seal made: verifies tag over the same additional data and
  // ciphertext in[0..len) and decrypts it into out (may equal in).
  // Corruption if the tag does not match (then out[0..len) is zeroed: no
  // unauthenticated plaintext is ever left), Failed if libcrypto fails.
  Status Open(const uint8_t* iv, const std::string_view* aad, size_t naad, const char* in,
              char* out, size_t len, const uint8_t* tag);

 private:
  explicit Aead(Algorithm a) : algorithm_(a) {}
  Status Failure(const char* what) const;

  const Algorithm algorithm_;
  EVP_CIPHER_CTX* enc_ = nullptr;  // owned; used by Seal only
  EVP_CIPHER_CTX* dec_ = nullptr;  // owned; used by Open only
};

}  // namespace rvmr::log
