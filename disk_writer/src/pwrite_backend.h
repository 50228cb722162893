// PwriteBackend: the IoBackend used where io_uring is refused (or
// force_fallback): pwritev for runs of writes contiguous in the file, then
// fdatasync, all on the writer thread.
#pragma once

#include "io_backend.h"

namespace rvmr {

class PwriteBackend : public IoBackend {
 public:
  // fd stays owned by the caller.
  explicit PwriteBackend(int fd) : fd_(fd) {}

  // See IoBackend::Run. Never returns an error status.
  Status Run(IoOp* ops, size_t n) override;

 private:
  int fd_;
};

}  // namespace rvmr
