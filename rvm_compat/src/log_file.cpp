#include "log_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rvmr::compat {

namespace {

// True if the file starts like a log of the original RVM (its status block
// carries the interface version string).
bool LooksLikeOriginalLog(int fd) {
  char buf[512];
  ssize_t n = ::pread(fd, buf, sizeof(buf), 0);
  if (n <= 0) return false;
  static const char kSig[] = "RVM Interface Version";
  for (ssize_t i = 0; i + static_cast<ssize_t>(sizeof(kSig)) - 1 <= n; i++)
    if (std::memcmp(buf + i, kSig, sizeof(kSig) - 1) == 0) return true;
  return false;
}

}  // namespace

rvm_return_t LogFile::Create(const char* path, uint64_t area_len, long mode) {
  uint64_t area = area_len & ~uint64_t{511};
  if (area < 512) return RVM_ETOO_BIG;
  struct stat st;
  if (::stat(path, &st) == 0) return RVM_ELOG;
  Status s = log::CreateLogFile(path, area, static_cast<int>(mode));
  if (!s.ok()) {
    if (s.sys_errno() == EEXIST) return RVM_ELOG;
    errno = s.sys_errno();
    return RVM_EIO;
  }
  return RVM_SUCCESS;
}

rvm_return_t LogFile::Open(const std::string& path, std::unique_ptr<LogFile>* out) {
  std::unique_ptr<LogFile> f(new LogFile());
  f->path_ = path;
  f->fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (f->fd_ < 0) return errno == ENOENT ? RVM_ELOG : RVM_EIO;
  Status s = log::ReadLogStatus(f->fd_, &f->status_);
  if (!s.ok()) {
    if (s.code() == Status::Code::kIoError) return RVM_EIO;
    return LooksLikeOriginalLog(f->fd_) ? RVM_ELOG_VERSION_SKEW : RVM_ELOG;
  }
  *out = std::move(f);
  return RVM_SUCCESS;
}

LogFile::~LogFile() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace rvmr::compat
