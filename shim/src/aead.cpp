#include "shim/aead.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstring>
#include <limits>

namespace rvmr::log {

namespace {

const unsigned char* U(const char* p) {
  return reinterpret_cast<const unsigned char*>(p);
}

bool AddAad(EVP_CIPHER_CTX* c, const std::string_view* aad, size_t naad, bool enc) {
  for (size_t i = 0; i < naad; i++) {
    if (aad[i].empty()) continue;
    if (aad[i].size() > static_cast<size_t>(std::numeric_limits<int>::max())) return false;
    int n = 0;
    int ok = enc ? EVP_EncryptUpdate(c, nullptr, &n, U(aad[i].data()), static_cast<int>(aad[i].size()))
                 : EVP_DecryptUpdate(c, nullptr, &n, U(aad[i].data()), static_cast<int>(aad[i].size()));
    if (ok != 1) return false;
  }
  return true;
}

}  // namespace

Aead::~Aead() {
  EVP_CIPHER_CTX_free(enc_);
  EVP_CIPHER_CTX_free(dec_);
}

const char* Aead::name() const {
  return algorithm_ == Algorithm::kAes256Gcm ? "AES-256-GCM" : "ChaCha20-Poly1305";
}

Status Aead::Failure(const char* what) const {
  return Status::Failed(std::string(name()) + " " + what + " failed");
}

Status Aead::Create(Algorithm algorithm, std::string_view key, std::unique_ptr<Aead>* out) {
  std::unique_ptr<Aead> g(new Aead(algorithm));
  if (key.size() != kAeadKeySize)
    return Status::InvalidArgument(std::string(g->name()) + " key has the wrong size");
  const EVP_CIPHER* cipher =
      algorithm == Algorithm::kAes256Gcm ? EVP_aes_256_gcm() : EVP_chacha20_poly1305();
  g->enc_ = EVP_CIPHER_CTX_new();
  g->dec_ = EVP_CIPHER_CTX_new();
  if (g->enc_ == nullptr || g->dec_ == nullptr) return Status::Failed("EVP_CIPHER_CTX_new failed");
  if (cipher == nullptr ||
      EVP_EncryptInit_ex(g->enc_, cipher, nullptr, U(key.data()), nullptr) != 1 ||
      EVP_DecryptInit_ex(g->dec_, cipher, nullptr, U(key.data()), nullptr) != 1)
    return g->Failure("key setup");
  *out = std::move(g);
  return Status::Ok();
}

Status Aead::Seal(const uint8_t* iv, const std::string_view* aad, size_t naad, const char* in,
                  char* out, size_t len, uint8_t* tag) {
  int n = 0;
  if (len > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      EVP_EncryptInit_ex(enc_, nullptr, nullptr, nullptr, iv) != 1 || !AddAad(enc_, aad, naad, true))
    return Failure("sealing");
  if (len > 0 && EVP_EncryptUpdate(enc_, reinterpret_cast<unsigned char*>(out), &n, U(in),
                                   static_cast<int>(len)) != 1)
    return Failure("sealing");
  if (EVP_EncryptFinal_ex(enc_, tag, &n) != 1 ||
      EVP_CIPHER_CTX_ctrl(enc_, EVP_CTRL_AEAD_GET_TAG, kAeadTagSize, tag) != 1)
    return Failure("sealing");
  return Status::Ok();
}

Status Aead::Open(const uint8_t* iv, const std::string_view* aad, size_t naad, const char* in,
                  char* out, size_t len, const uint8_t* tag) {
  int n = 0;
  if (len > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      EVP_DecryptInit_ex(dec_, nullptr, nullptr, nullptr, iv) != 1 || !AddAad(dec_, aad, naad, false))
    return Failure("verification");
  if (len > 0 && EVP_DecryptUpdate(dec_, reinterpret_cast<unsigned char*>(out), &n, U(in),
                                   static_cast<int>(len)) != 1)
    return Failure("verification");
  unsigned char t[kAeadTagSize];
  std::memcpy(t, tag, kAeadTagSize);
  if (EVP_CIPHER_CTX_ctrl(dec_, EVP_CTRL_AEAD_SET_TAG, kAeadTagSize, t) != 1)
    return Failure("verification");
  if (EVP_DecryptFinal_ex(dec_, t, &n) != 1) {
    if (len > 0) OPENSSL_cleanse(out, len);
    return Status::Corruption("authentication tag mismatch");
  }
  return Status::Ok();
}

}  // namespace rvmr::log
