#include "shim/durable_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace rvmr {

Status WriteFileSynced(const std::string& path, std::string_view text, int flags, mode_t mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return Status::IoError("cannot create " + path, errno);
  auto fail = [&](const std::string& what, int e) {
    ::close(fd);
    ::unlink(path.c_str());
    return Status::IoError("cannot " + what + " " + path, e);
  };
  const char* p = text.data();
  size_t left = text.size();
  while (left > 0) {
    ssize_t w = ::write(fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return fail("write", w < 0 ? errno : EIO);
    p += w;
    left -= static_cast<size_t>(w);
  }
  if (::fsync(fd) != 0) return fail("fsync", errno);
  ::close(fd);
  return Status::Ok();
}

Status SyncDirectoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return Status::IoError("cannot open directory " + dir, errno);
  int rc = ::fsync(dfd);
  int e = errno;
  ::close(dfd);
  if (rc != 0) return Status::IoError("cannot fsync directory " + dir, e);
  return Status::Ok();
}

}  // namespace rvmr
