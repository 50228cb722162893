#include "pwrite_backend.h"

#include "common/fault_point.h"

#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

namespace rvmr {

Status PwriteBackend::Submit(const IoOp* ops, size_t n, uint64_t first_tag) {
  std::vector<int> res(n, -ECANCELED);
  size_t i = 0;
  while (i < n) {
    if (ops[i].kind == IoOp::Kind::kSync) {
      RVMR_FAULT_POINT("disk.before_sync");
      int r = ::fdatasync(fd_);
      res[i] = r == 0 ? 0 : -errno;
      if (r != 0) break;
      i++;
      continue;
    }
    // Gather the run of writes that continue each other in the file.
    struct iovec iov[64];
    size_t j = i;
    size_t total = 0;
    int cnt = 0;
    while (j < n && ops[j].kind == IoOp::Kind::kWrite && cnt < 64 &&
           ops[j].file_pos == ops[i].file_pos + total) {
      iov[cnt].iov_base = const_cast<char*>(ops[j].buf);
      iov[cnt].iov_len = ops[j].len;
      total += ops[j].len;
      cnt++;
      j++;
    }
    RVMR_FAULT_POINT_TORN("disk.torn_write", fd_, iov[0].iov_base, iov[0].iov_len, ops[i].file_pos);
    ssize_t r = ::pwritev(fd_, iov, cnt, static_cast<off_t>(ops[i].file_pos));
    if (r < 0) {
      res[i] = -errno;
      break;
    }
    // Hand the bytes written out to the ops of the run, in order.
    size_t left = static_cast<size_t>(r);
    bool short_write = false;
    for (size_t k = i; k < j; k++) {
      size_t got = left < ops[k].len ? left : ops[k].len;
      res[k] = static_cast<int>(got);
      left -= got;
      if (got < ops[k].len) {
        short_write = true;
        break;
      }
    }
    if (short_write) break;
    i = j;
  }
  for (size_t k = 0; k < n; k++) done_.push_back({first_tag + k, res[k]});
  return Status::Ok();
}

Status PwriteBackend::Wait(std::vector<IoCompletion>* out) {
  out->insert(out->end(), done_.begin(), done_.end());
  done_.clear();
  return Status::Ok();
}

}  // namespace rvmr
