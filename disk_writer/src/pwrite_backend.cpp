#include "pwrite_backend.h"

#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace rvmr {

namespace {
void CancelFrom(IoOp* ops, size_t from, size_t n) {
  for (size_t i = from; i < n; i++) ops[i].result = -ECANCELED;
}
}  // namespace

Status PwriteBackend::Run(IoOp* ops, size_t n) {
  size_t i = 0;
  while (i < n) {
    if (ops[i].kind == IoOp::Kind::kSync) {
      int r = ::fdatasync(fd_);
      ops[i].result = r == 0 ? 0 : -errno;
      if (r != 0) {
        CancelFrom(ops, i + 1, n);
        return Status::Ok();
      }
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
    ssize_t r = ::pwritev(fd_, iov, cnt, static_cast<off_t>(ops[i].file_pos));
    if (r < 0) {
      ops[i].result = -errno;
      CancelFrom(ops, i + 1, n);
      return Status::Ok();
    }
    // Hand the bytes written out to the ops of the run, in order.
    size_t left = static_cast<size_t>(r);
    for (size_t k = i; k < j; k++) {
      size_t got = left < ops[k].len ? left : ops[k].len;
      ops[k].result = static_cast<int>(got);
      left -= got;
      if (got < ops[k].len) {
        CancelFrom(ops, k + 1, n);
        return Status::Ok();
      }
    }
    i = j;
  }
  return Status::Ok();
}

}  // namespace rvmr
