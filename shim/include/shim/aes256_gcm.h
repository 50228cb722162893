// Aes256Gcm: AES-256-GCM over libcrypto, the one AEAD under every sealed
// record: the RVM log's records on the mirrors (record_sealer.h) and the
// preload shim's (preload/preload_record.h). Each caller builds its own
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

inline constexpr size_t kGcmKeySize = 32;
inline constexpr size_t kGcmIvSize = 12;
inline constexpr size_t kGcmTagSize = 16;

class Aes256Gcm {
 public:
  // A cipher under `key` (kGcmKeySize bytes). InvalidArgument for another
  // size, Failed if libcrypto cannot set it up.
  static Status Create(std::string_view key, std::unique_ptr<Aes256Gcm>* out);
  ~Aes256Gcm();
  Aes256Gcm(const Aes256Gcm&) = delete;
  Aes256Gcm& operator=(const Aes256Gcm&) = delete;

  // Seals one message under nonce iv[0..kGcmIvSize): authenticates the
  // additional data aad[0..naad) (in order, as if concatenated), encrypts
  // in[0..len) into out[0..len) (out may equal in; len may be 0 to only
  // authenticate) and writes the tag to tag[0..kGcmTagSize). Failed if
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
  Aes256Gcm() = default;
  EVP_CIPHER_CTX* enc_ = nullptr;  // owned; used by Seal only
  EVP_CIPHER_CTX* dec_ = nullptr;  // owned; used by Open only
};

}  // namespace rvmr::log
