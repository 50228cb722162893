#include "log_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "rvm_error.h"

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
  if (area < 512)
    return Fail(RVM_ETOO_BIG,
                "log %s: a log area of %llu bytes is below the 512 bytes of one "
                "sector",
                path, static_cast<unsigned long long>(area_len));
  struct stat st;
  if (::stat(path, &st) == 0) return Fail(RVM_ELOG, "log %s: the file exists already", path);
  Status s = log::CreateLogFile(path, area, static_cast<int>(mode));
  if (!s.ok()) {
    s = std::move(s).WithContext(std::string("creating log ") + path);
    if (s.sys_errno() == EEXIST) return Fail(RVM_ELOG, s);
    return Fail(s);
  }
  return RVM_SUCCESS;
}

rvm_return_t LogFile::Open(const std::string& path, std::unique_ptr<LogFile>* out) {
  std::unique_ptr<LogFile> f(new LogFile());
  f->path_ = path;
  f->fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (f->fd_ < 0) {
    int err = errno;
    return Fail(err == ENOENT ? RVM_ELOG : RVM_EIO,
                Status::IoError("cannot open log " + path, err));
  }
  Status s = log::ReadLogStatus(f->fd_, &f->status_);
  if (!s.ok()) {
    s = std::move(s).WithContext("log " + path + ": reading the status block");
    if (s.code() == Status::Code::kIoError) return Fail(s);
    if (!LooksLikeOriginalLog(f->fd_)) return Fail(RVM_ELOG, s.WithContext("not a log"));
    return Fail(
        RVM_ELOG_VERSION_SKEW,
        Status::NotSupported(path +
                             " is a log of the original RVM (Coda), not of this RVM: apply it "
                             "with this RVM's rvmutl (open_log " +
                             path +
                             ", then recover), then make a "
                             "log of this RVM with rvmutl init_log (docs/migration.md)"));
  }
  *out = std::move(f);
  return RVM_SUCCESS;
}

Status LogFile::WriteStatus(const char* doing) {
  return log::WriteLogStatus(fd_, &status_)
      .WithContext("log " + path_ + ": " + doing + ": writing the status block");
}

LogFile::~LogFile() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace rvmr::compat
