// UringBackend: the IoBackend on io_uring. A chain is submitted as linked
// SQEs (IOSQE_IO_LINK) ending in an fdatasync (IORING_FSYNC_DATASYNC), with
// the file (and, once RegisterBuffers is called, the staging buffers)
// registered where the kernel allows. An
// eventfd read kept in the ring lets Wake() interrupt a Wait.
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
  // works (a NOP round trip and the opcodes the writer needs). No buffers
  // are registered yet (see RegisterBuffers). Returns IoError with the errno
  // when io_uring is refused, so that the caller can fall back.
  static Status Create(int fd, size_t max_chains, std::unique_ptr<UringBackend>* backend);

  // Registers buffers as fixed buffers 0..n-1 if the kernel allows (and the
  // memlock limit does); from then on writes whose IoOp names a buffer index
  // use IORING_OP_WRITE_FIXED, before that (or if it fails) ordinary writes.
  // Registering pins, and so faults in, every page of the buffers: call it on
  // the thread that calls Submit and Wait, before its first Submit (nothing
  // in flight, so no kernel needs to quiesce the ring), off any latency-
  // critical path. Returns whether the buffers are registered. At most once.
  bool RegisterBuffers(const std::vector<struct iovec>& buffers);

  ~UringBackend() override;

  Status Submit(const IoOp* ops, size_t n, uint64_t first_tag) override;
  Status Wait(std::vector<IoCompletion>* out) override;
  void Wake() override;
  size_t max_chains() const override { return max_chains_; }

  bool registered_buffers() const { return fixed_buffers_; }

 private:
  UringBackend() = default;
  Status SubmitPending();

  struct io_uring ring_;
  bool ring_ok_ = false;
  int fd_ = -1;
  int event_fd_ = -1;
  bool wake_armed_ = false;  // an eventfd read is in the ring
  uint64_t wake_buf_ = 0;
  size_t max_chains_ = 1;
  bool fixed_file_ = false;
  bool have_fixed_op_ = false;  // the kernel has IORING_OP_WRITE_FIXED
  bool fixed_buffers_ = false;  // set by RegisterBuffers (the Submit thread)
};

}  // namespace rvmr
