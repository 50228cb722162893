#include "shim/local_sink.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <vector>

#include "common/fault_point.h"

namespace rvmr {

LocalSink::LocalSink(int fd, std::string path, uint64_t area_start, uint64_t area_size,
                     uint64_t tail)
    : fd_(fd), path_(std::move(path)), area_start_(area_start), area_size_(area_size), end_(tail) {}

Status LocalSink::WritePiece(uint64_t file_pos, const struct iovec* iov, int iovcnt) {
  // A full or failing disk, injected (common/fault_point.h).
  if (int e = RVMR_FAULT_ERRNO("rvm.log_write"); e != 0)
    return Status::IoError("pwritev to log " + path_, -e);
  std::vector<struct iovec> v(iov, iov + iovcnt);
  size_t i = 0;
  while (i < v.size()) {
    int n = static_cast<int>(std::min<size_t>(v.size() - i, IOV_MAX));
    ssize_t r = ::pwritev(fd_, v.data() + i, n, static_cast<off_t>(file_pos));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::IoError("pwritev to log " + path_, errno);
    }
    file_pos += static_cast<uint64_t>(r);
    size_t left = static_cast<size_t>(r);
    while (i < v.size() && left >= v[i].iov_len) left -= v[i++].iov_len;
    if (left) {
      v[i].iov_base = static_cast<char*>(v[i].iov_base) + left;
      v[i].iov_len -= left;
    }
    while (i < v.size() && v[i].iov_len == 0) i++;
  }
  return Status::Ok();
}

Status LocalSink::Send(uint64_t offset, const struct iovec* iov, int iovcnt) {
  uint64_t end = end_.load(std::memory_order_acquire);
  if (end != kTailUnknown && offset != end)
    return Status::InvalidArgument("append not at the end of the log");
  uint64_t len = 0;
  for (int i = 0; i < iovcnt; i++) len += iov[i].iov_len;
  if (len > area_size_) return Status::InvalidArgument("append longer than the log area");
  uint64_t in_area = offset % area_size_;
  uint64_t first = std::min(len, area_size_ - in_area);
  Status s;
  if (first == len) {
    s = WritePiece(area_start_ + in_area, iov, iovcnt);
  } else {
    // Split the iovec list at the wrap point.
    std::vector<struct iovec> a, b;
    uint64_t left = first;
    for (int i = 0; i < iovcnt; i++) {
      const struct iovec& v = iov[i];
      if (left >= v.iov_len) {
        a.push_back(v);
        left -= v.iov_len;
      } else if (left > 0) {
        a.push_back({v.iov_base, left});
        b.push_back({static_cast<char*>(v.iov_base) + left, v.iov_len - left});
        left = 0;
      } else {
        b.push_back(v);
      }
    }
    s = WritePiece(area_start_ + in_area, a.data(), static_cast<int>(a.size()));
    if (s.ok()) s = WritePiece(area_start_, b.data(), static_cast<int>(b.size()));
  }
  if (!s.ok()) return s;
  if (::fdatasync(fd_) != 0) return Status::IoError("fdatasync of log " + path_, errno);
  end_.store(offset + len, std::memory_order_release);
  return Status::Ok();
}

Status LocalSink::SyncToDisk(uint64_t offset) {
  // Nothing appended yet: everything this sink knows of is on disk already.
  uint64_t end = end_.load(std::memory_order_acquire);
  if (end == kTailUnknown) return Status::Ok();
  if (offset > end) return Status::InvalidArgument("sync beyond the end of the log");
  return Status::Ok();
}

Status LocalSink::Wait(uint64_t end) {
  return SyncToDisk(end);
}

uint64_t LocalSink::durable_end() const {
  uint64_t end = end_.load(std::memory_order_acquire);
  return end == kTailUnknown ? 0 : end;
}

std::string LocalSink::Describe() const {
  return "local log " + path_;
}

}  // namespace rvmr
