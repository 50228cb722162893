#include "shim/log_key.h"

#include <fcntl.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "shim/durable_file.h"

namespace rvmr::log {

namespace {

constexpr char kPrefix[] = "rvm-log-key v1 ";

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string LogKeyPath(const std::string& log_path, const std::string& configured) {
  return configured.empty() ? log_path + ".key" : configured;
}

Status ReadLogKey(const std::string& path, std::string* key) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("log key file " + path + " does not exist");
    return Status::IoError("cannot open log key file " + path, errno);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return Status::IoError("cannot stat log key file " + path, e);
  }
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    ::close(fd);
    return Status::InvalidArgument("log key file " + path +
                                   " is accessible by group or others (chmod 600 it)");
  }
  char buf[256];
  size_t n = 0;
  for (;;) {
    ssize_t r = ::read(fd, buf + n, sizeof buf - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int e = errno;
      ::close(fd);
      return Status::IoError("cannot read log key file " + path, e);
    }
    if (r == 0 || n + static_cast<size_t>(r) == sizeof buf) {
      n += static_cast<size_t>(r);
      break;
    }
    n += static_cast<size_t>(r);
  }
  ::close(fd);
  std::string text(buf, n);
  std::memset(buf, 0, sizeof buf);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  const size_t plen = sizeof(kPrefix) - 1;
  if (text.size() != plen + 2 * kLogKeySize || text.compare(0, plen, kPrefix) != 0)
    return Status::InvalidArgument("log key file " + path +
                                   " is not a log key (expected one line 'rvm-log-key v1' and 64 "
                                   "hex digits)");
  std::string k(kLogKeySize, '\0');
  for (size_t i = 0; i < kLogKeySize; i++) {
    int hi = HexDigit(text[plen + 2 * i]), lo = HexDigit(text[plen + 2 * i + 1]);
    if (hi < 0 || lo < 0)
      return Status::InvalidArgument("log key file " + path + " holds a non-hex digit");
    k[i] = static_cast<char>(hi << 4 | lo);
  }
  *key = std::move(k);
  return Status::Ok();
}

Status CreateLogKey(const std::string& path, std::string* key) {
  std::string k(kLogKeySize, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(k.data()), static_cast<int>(k.size())) != 1)
    return Status::Failed("RAND_bytes failed while creating log key file " + path);
  static const char* kHex = "0123456789abcdef";
  std::string text = kPrefix;
  for (unsigned char b : k) {
    text.push_back(kHex[b >> 4]);
    text.push_back(kHex[b & 15]);
  }
  text.push_back('\n');
  Status s = WriteFileSynced(path, text, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (s.ok()) s = SyncDirectoryOf(path);
  if (!s.ok()) return Status::IoError("log key file: " + s.message(), s.sys_errno());
  *key = std::move(k);
  return Status::Ok();
}

std::string DeriveLogSubkey(const std::string& key, const std::string& purpose) {
  unsigned char out[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(purpose.data()), purpose.size(), out, &len);
  std::string s(reinterpret_cast<const char*>(out), len);
  std::memset(out, 0, sizeof out);
  return s;
}

std::string OwnerSeed(const std::string& key) {
  return key.empty() ? std::string() : DeriveLogSubkey(key, "rvmr-owner-seed-v1");
}

}  // namespace rvmr::log
