// UringBackend: the IoBackend on io_uring. A chain is submitted as linked
// SQEs (IOSQE_IO_LINK) ending in an fdatasync (IORING_FSYNC_DATASYNC), with
// the file and the staging buffers registered where the kernel allows.
#pragma once

#include <liburing.h>
#include <sys/uio.h>

#include <memory>
#include <vector>

#include "io_backend.h"

namespace rvmr {

class UringBackend : public IoBackend {
 public:
  // Sets up a ring for fd (owned by the caller) and checks that it really
  // works (a NOP round trip and the opcodes the writer needs). buffers are
  // registered as fixed buffers 0..n-1 if the kernel allows (failing that,
  // ordinary writes are used). Returns IoError with the errno when io_uring
  // is refused, so that the caller can fall back.
  static Status Create(int fd, const std::vector<struct iovec>& buffers,
                       std::unique_ptr<UringBackend>* backend);

  ~UringBackend() override;

  // See IoBackend::Run. Fails only if the ring itself fails.
  Status Run(IoOp* ops, size_t n) override;

  bool registered_buffers() const { return fixed_buffers_; }

 private:
  UringBackend() = default;

  struct io_uring ring_;
  bool ring_ok_ = false;
  int fd_ = -1;
  bool fixed_file_ = false;
  bool fixed_buffers_ = false;
};

}  // namespace rvmr
