#include "shim/aes256_gcm.h"

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

Aes256Gcm::~Aes256Gcm() {
  EVP_CIPHER_CTX_free(enc_);
  EVP_CIPHER_CTX_free(dec_);
}

Status Aes256Gcm::Create(std::string_view key, std::unique_ptr<Aes256Gcm>* out) {
  if (key.size() != kGcmKeySize) return Status::InvalidArgument("AES-256-GCM key has the wrong size");
  std::unique_ptr<Aes256Gcm> g(new Aes256Gcm);
  g->enc_ = EVP_CIPHER_CTX_new();
  g->dec_ = EVP_CIPHER_CTX_new();
  if (g->enc_ == nullptr || g->dec_ == nullptr) return Status::Failed("EVP_CIPHER_CTX_new failed");
  if (EVP_EncryptInit_ex(g->enc_, EVP_aes_256_gcm(), nullptr, U(key.data()), nullptr) != 1 ||
      EVP_DecryptInit_ex(g->dec_, EVP_aes_256_gcm(), nullptr, U(key.data()), nullptr) != 1)
    return Status::Failed("AES-256-GCM key setup failed");
  *out = std::move(g);
  return Status::Ok();
}

Status Aes256Gcm::Seal(const uint8_t* iv, const std::string_view* aad, size_t naad,
                       const char* in, char* out, size_t len, uint8_t* tag) {
  int n = 0;
  if (len > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      EVP_EncryptInit_ex(enc_, nullptr, nullptr, nullptr, iv) != 1 || !AddAad(enc_, aad, naad, true))
    return Status::Failed("AES-256-GCM sealing failed");
  if (len > 0 && EVP_EncryptUpdate(enc_, reinterpret_cast<unsigned char*>(out), &n, U(in),
                                   static_cast<int>(len)) != 1)
    return Status::Failed("AES-256-GCM sealing failed");
  if (EVP_EncryptFinal_ex(enc_, tag, &n) != 1 ||
      EVP_CIPHER_CTX_ctrl(enc_, EVP_CTRL_GCM_GET_TAG, kGcmTagSize, tag) != 1)
    return Status::Failed("AES-256-GCM sealing failed");
  return Status::Ok();
}

Status Aes256Gcm::Open(const uint8_t* iv, const std::string_view* aad, size_t naad,
                       const char* in, char* out, size_t len, const uint8_t* tag) {
  int n = 0;
  if (len > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      EVP_DecryptInit_ex(dec_, nullptr, nullptr, nullptr, iv) != 1 || !AddAad(dec_, aad, naad, false))
    return Status::Failed("AES-256-GCM verification failed");
  if (len > 0 && EVP_DecryptUpdate(dec_, reinterpret_cast<unsigned char*>(out), &n, U(in),
                                   static_cast<int>(len)) != 1)
    return Status::Failed("AES-256-GCM verification failed");
  unsigned char t[kGcmTagSize];
  std::memcpy(t, tag, kGcmTagSize);
  if (EVP_CIPHER_CTX_ctrl(dec_, EVP_CTRL_GCM_SET_TAG, kGcmTagSize, t) != 1)
    return Status::Failed("AES-256-GCM verification failed");
  if (EVP_DecryptFinal_ex(dec_, t, &n) != 1) {
    if (len > 0) OPENSSL_cleanse(out, len);
    return Status::Corruption("authentication tag mismatch");
  }
  return Status::Ok();
}

}  // namespace rvmr::log
