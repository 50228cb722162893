#include "remote_log/auth.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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
