#include "uring_backend.h"

#include <cerrno>
#include <cstring>
#include <string>

namespace rvmr {

namespace {
constexpr unsigned kRingEntries = 16;
}  // namespace

Status UringBackend::Create(int fd, const std::vector<struct iovec>& buffers,
                            std::unique_ptr<UringBackend>* backend) {
  std::unique_ptr<UringBackend> b(new UringBackend());
  b->fd_ = fd;
  int r = io_uring_queue_init(kRingEntries, &b->ring_, 0);
  if (r < 0) return Status::IoError("io_uring_queue_init", -r);
  b->ring_ok_ = true;

  struct io_uring_probe* probe = io_uring_get_probe_ring(&b->ring_);
  if (probe == nullptr) return Status::IoError("io_uring probe", ENOSYS);
  bool have_ops = io_uring_opcode_supported(probe, IORING_OP_WRITE) &&
                  io_uring_opcode_supported(probe, IORING_OP_FSYNC) &&
                  io_uring_opcode_supported(probe, IORING_OP_NOP);
  bool have_fixed = io_uring_opcode_supported(probe, IORING_OP_WRITE_FIXED);
  io_uring_free_probe(probe);
  if (!have_ops) return Status::IoError("io_uring lacks IORING_OP_WRITE/FSYNC", ENOSYS);

  // A NOP round trip: seccomp may allow io_uring_setup but refuse io_uring_enter.
  struct io_uring_sqe* sqe = io_uring_get_sqe(&b->ring_);
  io_uring_prep_nop(sqe);
  r = io_uring_submit_and_wait(&b->ring_, 1);
  if (r < 0) return Status::IoError("io_uring_enter", -r);
  struct io_uring_cqe* cqe = nullptr;
  do {
    r = io_uring_wait_cqe(&b->ring_, &cqe);
  } while (r == -EINTR);
  if (r < 0) return Status::IoError("io_uring_wait_cqe", -r);
  int res = cqe->res;
  io_uring_cqe_seen(&b->ring_, cqe);
  if (res < 0) return Status::IoError("io_uring NOP", -res);

  if (io_uring_register_files(&b->ring_, &fd, 1) == 0) b->fixed_file_ = true;
  if (have_fixed && !buffers.empty() &&
      io_uring_register_buffers(&b->ring_, buffers.data(), static_cast<unsigned>(buffers.size())) ==
          0) {
    b->fixed_buffers_ = true;
  }
  *backend = std::move(b);
  return Status::Ok();
}

UringBackend::~UringBackend() {
  if (ring_ok_) io_uring_queue_exit(&ring_);
}

Status UringBackend::Run(IoOp* ops, size_t n) {
  if (n == 0) return Status::Ok();
  if (n > kRingEntries) return Status::InvalidArgument("io chain longer than the ring");
  const int file = fixed_file_ ? 0 : fd_;
  for (size_t i = 0; i < n; i++) {
    struct io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) return Status::Failed("io_uring submission queue full");
    IoOp& op = ops[i];
    if (op.kind == IoOp::Kind::kWrite) {
      if (fixed_buffers_ && op.buf_index >= 0) {
        io_uring_prep_write_fixed(sqe, file, op.buf, static_cast<unsigned>(op.len), op.file_pos,
                                  op.buf_index);
      } else {
        io_uring_prep_write(sqe, file, op.buf, static_cast<unsigned>(op.len), op.file_pos);
      }
    } else {
      io_uring_prep_fsync(sqe, file, IORING_FSYNC_DATASYNC);
    }
    if (fixed_file_) sqe->flags |= IOSQE_FIXED_FILE;
    if (i + 1 < n) sqe->flags |= IOSQE_IO_LINK;
    io_uring_sqe_set_data64(sqe, i);
    op.result = -ECANCELED;
  }
  // Submit everything (retrying interrupted or busy submissions) and wait.
  while (io_uring_sq_ready(&ring_) > 0) {
    int r = io_uring_submit_and_wait(&ring_, static_cast<unsigned>(n));
    if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
      return Status::Failed("io_uring_submit", -r);
    }
  }
  for (size_t got = 0; got < n;) {
    struct io_uring_cqe* cqe = nullptr;
    int r = io_uring_wait_cqe(&ring_, &cqe);
    if (r == -EINTR) continue;
    if (r < 0) return Status::Failed("io_uring_wait_cqe", -r);
    uint64_t idx = io_uring_cqe_get_data64(cqe);
    if (idx < n) ops[idx].result = cqe->res;
    io_uring_cqe_seen(&ring_, cqe);
    got++;
  }
  return Status::Ok();
}

}  // namespace rvmr
