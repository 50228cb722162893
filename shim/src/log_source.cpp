#include "shim/log_source.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace rvmr::log {

LogSource::~LogSource() = default;

namespace {
Status PreadFull(int fd, char* dst, size_t n, uint64_t pos) {
  while (n > 0) {
    ssize_t r = ::pread(fd, dst, n, static_cast<off_t>(pos));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::IoError("pread of log", errno);
    }
    if (r == 0) return Status::IoError("short read of log (file too small)");
    dst += r;
    n -= static_cast<size_t>(r);
    pos += static_cast<uint64_t>(r);
  }
  return Status::Ok();
}
}  // namespace

Status FileLogSource::Read(uint64_t offset, void* dst, size_t n) {
  if (n > area_size_) return Status::InvalidArgument("read longer than the log area");
  char* d = static_cast<char*>(dst);
  uint64_t in_area = offset % area_size_;
  uint64_t first = std::min<uint64_t>(n, area_size_ - in_area);
  Status s = PreadFull(fd_, d, first, area_start_ + in_area);
  if (!s.ok() || first == n) return s;
  return PreadFull(fd_, d + first, n - first, area_start_);
}

}  // namespace rvmr::log
