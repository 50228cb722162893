#include "remote_log/auth.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/crc32c.h"

namespace rvmr::remote_log::auth {

namespace {

void Mac(std::string_view secret, std::string_view label, const uint8_t* a, const uint8_t* b,
         uint8_t* mac) {
  uint8_t msg[32 + 2 * wire::kNonceSize];
  size_t n = label.size();
  std::memcpy(msg, label.data(), n);
  std::memcpy(msg + n, a, wire::kNonceSize);
  std::memcpy(msg + n + wire::kNonceSize, b, wire::kNonceSize);
  n += 2 * wire::kNonceSize;
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), int(secret.size()), msg, n, mac, &len);
}

}  // namespace

Status CheckSecretLength(std::string_view secret, std::string_view origin) {
  if (secret.empty() || secret.size() >= kMinSecretSize) return Status::Ok();
  return Status::InvalidArgument(std::string(origin) + ": the shared secret is " +
                                 std::to_string(secret.size()) + " bytes; at least " +
                                 std::to_string(kMinSecretSize) +
                                 " are required (e.g. head -c 32 /dev/urandom | base64)");
}

Status RandomNonce(uint8_t* out) {
  if (RAND_bytes(out, int(wire::kNonceSize)) != 1) return Status::Failed("RAND_bytes failed");
  return Status::Ok();
}

void ClientMac(std::string_view secret, const uint8_t* server_nonce, const uint8_t* client_nonce,
               uint8_t* mac) {
  Mac(secret, "rvml-client-v1", server_nonce, client_nonce, mac);
}

void ServerMac(std::string_view secret, const uint8_t* client_nonce, const uint8_t* server_nonce,
               uint8_t* mac) {
  Mac(secret, "rvml-server-v1", client_nonce, server_nonce, mac);
}

bool MacEqual(const uint8_t* a, const uint8_t* b) {
  return CRYPTO_memcmp(a, b, wire::kMacSize) == 0;
}

void SessionKey(std::string_view secret, const uint8_t* server_nonce, const uint8_t* client_nonce,
                uint8_t* key) {
  Mac(secret, "rvml-session-v2", server_nonce, client_nonce, key);
}

void ControlMac(const uint8_t* session_key, const uint8_t* hdr, const uint8_t* payload, size_t n,
                uint8_t* mac) {
  static const char kLabel[] = "rvml-ctl-v2";
  // Control messages are small (at most an OPEN with a 255-byte name).
  std::vector<uint8_t> msg(kLabel, kLabel + sizeof kLabel - 1);
  msg.insert(msg.end(), hdr + 4, hdr + 24);
  if (n) msg.insert(msg.end(), payload, payload + n);
  unsigned int len = 0;
  HMAC(EVP_sha256(), session_key, int(wire::kMacSize), msg.data(), msg.size(), mac, &len);
}

bool CheckControlMac(const uint8_t* session_key, uint64_t* last_id, const wire::Header& h,
                     const uint8_t* p, size_t* n) {
  if ((h.flags & wire::kFlagMac) == 0 || *n < wire::kMacSize || h.request_id <= *last_id)
    return false;
  const size_t len = *n - wire::kMacSize;
  uint8_t hdr[wire::kHeaderSize];
  wire::EncodeHeader(h, hdr);
  uint8_t want[wire::kMacSize];
  ControlMac(session_key, hdr, p, len, want);
  if (!MacEqual(want, p + len)) return false;
  *n = len;
  *last_id = h.request_id;
  return true;
}

void BuildRequest(uint8_t type, uint64_t request_id, const std::vector<uint8_t>& payload,
                  const uint8_t* session_key, std::vector<uint8_t>* out) {
  wire::Header h;
  h.type = type;
  h.request_id = request_id;
  h.payload_len = uint32_t(payload.size() + (session_key ? wire::kMacSize : 0));
  if (session_key) h.flags = wire::kFlagMac;
  out->assign(wire::kHeaderSize, 0);
  out->insert(out->end(), payload.begin(), payload.end());
  if (session_key) {
    wire::EncodeHeader(h, out->data());
    uint8_t mac[wire::kMacSize];
    ControlMac(session_key, out->data(), payload.data(), payload.size(), mac);
    out->insert(out->end(), mac, mac + wire::kMacSize);
  }
  h.payload_crc = crc32c::Value(out->data() + wire::kHeaderSize, out->size() - wire::kHeaderSize);
  wire::EncodeHeader(h, out->data());
}

bool CheckOwnerProof(uint64_t* last_id, const wire::Header& h, const wire::OwnerProof& proof,
                     const std::vector<uint8_t>& msg) {
  if (h.request_id <= *last_id || !VerifyOwner(proof.key, msg, proof.sig)) return false;
  *last_id = h.request_id;
  return true;
}

Status OwnerKey::FromSeed(std::string_view seed, std::unique_ptr<OwnerKey>* out) {
  if (seed.size() != 32) return Status::InvalidArgument("owner key seed must be 32 bytes");
  std::unique_ptr<OwnerKey> k(new OwnerKey());
  EVP_PKEY* pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                              reinterpret_cast<const uint8_t*>(seed.data()), 32);
  if (pk == nullptr) return Status::Failed("Ed25519 key setup failed");
  k->pkey_ = pk;
  size_t len = wire::kOwnerKeySize;
  if (EVP_PKEY_get_raw_public_key(pk, k->pub_, &len) != 1 || len != wire::kOwnerKeySize)
    return Status::Failed("Ed25519 public key failed");
  *out = std::move(k);
  return Status::Ok();
}

OwnerKey::~OwnerKey() { EVP_PKEY_free(static_cast<EVP_PKEY*>(pkey_)); }

Status OwnerKey::Sign(const std::vector<uint8_t>& msg, uint8_t* sig) const {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  size_t len = wire::kOwnerSigSize;
  bool ok = md != nullptr &&
            EVP_DigestSignInit(md, nullptr, nullptr, nullptr, static_cast<EVP_PKEY*>(pkey_)) == 1 &&
            EVP_DigestSign(md, sig, &len, msg.data(), msg.size()) == 1 &&
            len == wire::kOwnerSigSize;
  EVP_MD_CTX_free(md);
  return ok ? Status::Ok() : Status::Failed("Ed25519 signing failed");
}

bool VerifyOwner(const uint8_t* pub, const std::vector<uint8_t>& msg, const uint8_t* sig) {
  EVP_PKEY* pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, pub, wire::kOwnerKeySize);
  if (pk == nullptr) return false;
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  bool ok = md != nullptr && EVP_DigestVerifyInit(md, nullptr, nullptr, nullptr, pk) == 1 &&
            EVP_DigestVerify(md, sig, wire::kOwnerSigSize, msg.data(), msg.size()) == 1;
  EVP_MD_CTX_free(md);
  EVP_PKEY_free(pk);
  return ok;
}

namespace {
void PutLabel(std::vector<uint8_t>* m, const char* label, const uint8_t* nonce, uint64_t id) {
  m->insert(m->end(), label, label + std::strlen(label));
  m->insert(m->end(), nonce, nonce + wire::kNonceSize);
  uint8_t b[8];
  wire::Put64(b, id);
  m->insert(m->end(), b, b + 8);
}
}  // namespace

std::vector<uint8_t> OpenProofMessage(const uint8_t* server_nonce, uint64_t request_id,
                                      const wire::OpenRequest& m) {
  std::vector<uint8_t> msg;
  PutLabel(&msg, "rvml-open-v2", server_nonce, request_id);
  uint8_t b[24];
  wire::Put64(b, m.epoch);
  wire::Put64(b + 8, m.create_offset);
  wire::Put32(b + 16, (m.create ? 1u : 0u) | (m.owner.present ? 2u : 0u));
  wire::Put32(b + 20, uint32_t(m.name.size()));
  msg.insert(msg.end(), b, b + 24);
  msg.insert(msg.end(), m.name.begin(), m.name.end());
  msg.insert(msg.end(), m.owner.key, m.owner.key + wire::kOwnerKeySize);
  return msg;
}

std::vector<uint8_t> ListProofMessage(const uint8_t* server_nonce, uint64_t request_id,
                                      const uint8_t* owner_key) {
  std::vector<uint8_t> msg;
  PutLabel(&msg, "rvml-list-v2", server_nonce, request_id);
  msg.insert(msg.end(), owner_key, owner_key + wire::kOwnerKeySize);
  return msg;
}

Status ReadSecretFile(const std::string& path, std::string* secret) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError("cannot open secret file " + path, errno);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return Status::IoError("cannot stat secret file " + path, e);
  }
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    close(fd);
    return Status::InvalidArgument("secret file " + path +
                                   " is accessible by group or others (chmod 600 it)");
  }
  std::string s;
  char buf[4096];
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int e = errno;
      close(fd);
      return Status::IoError("cannot read secret file " + path, e);
    }
    if (r == 0) break;
    s.append(buf, size_t(r));
    if (s.size() > (1 << 16)) {
      close(fd);
      return Status::InvalidArgument("secret file " + path + " is over 64 KiB");
    }
  }
  close(fd);
  if (!s.empty() && s.back() == '\n') s.pop_back();
  if (s.empty()) return Status::InvalidArgument("secret file " + path + " is empty");
  Status length = CheckSecretLength(s, "secret file " + path);
  if (!length.ok()) return length;
  *secret = std::move(s);
  return Status::Ok();
}

}  // namespace rvmr::remote_log::auth
