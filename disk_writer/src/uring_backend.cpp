#include "uring_backend.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace rvmr {

namespace {
// Tag of the eventfd read (chain tags are much smaller).
constexpr uint64_t kWakeTag = ~uint64_t{0};
// SQEs per chain at most (the writer's chains are shorter).
constexpr unsigned kMaxChainOps = 8;
}  // namespace

Status UringBackend::Create(int fd, size_t max_chains, std::unique_ptr<UringBackend>* backend) {
  std::unique_ptr<UringBackend> b(new UringBackend());
  b->fd_ = fd;
  b->max_chains_ = max_chains < 1 ? 1 : max_chains;
  unsigned entries = 8;
  while (entries < b->max_chains_ * kMaxChainOps + 1) entries *= 2;
  int r = io_uring_queue_init(entries, &b->ring_, 0);
  if (r < 0) return Status::IoError("io_uring_queue_init", -r);
  b->ring_ok_ = true;

  struct io_uring_probe* probe = io_uring_get_probe_ring(&b->ring_);
  if (probe == nullptr) return Status::IoError("io_uring probe", ENOSYS);
  bool have_ops = io_uring_opcode_supported(probe, IORING_OP_WRITE) &&
                  io_uring_opcode_supported(probe, IORING_OP_READ) &&
                  io_uring_opcode_supported(probe, IORING_OP_FSYNC) &&
                  io_uring_opcode_supported(probe, IORING_OP_NOP);
  bool have_fixed = io_uring_opcode_supported(probe, IORING_OP_WRITE_FIXED);
  io_uring_free_probe(probe);
  if (!have_ops) return Status::IoError("io_uring lacks IORING_OP_WRITE/READ/FSYNC", ENOSYS);

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

  b->event_fd_ = ::eventfd(0, EFD_CLOEXEC);
  if (b->event_fd_ < 0) return Status::IoError("eventfd", errno);
  if (io_uring_register_files(&b->ring_, &fd, 1) == 0) b->fixed_file_ = true;
  b->have_fixed_op_ = have_fixed;
  *backend = std::move(b);
  return Status::Ok();
}

bool UringBackend::RegisterBuffers(const std::vector<struct iovec>& buffers) {
  if (fixed_buffers_ || !have_fixed_op_ || buffers.empty()) return fixed_buffers_;
  fixed_buffers_ = io_uring_register_buffers(&ring_, buffers.data(),
                                             static_cast<unsigned>(buffers.size())) == 0;
  return fixed_buffers_;
}

UringBackend::~UringBackend() {
  // Exiting the ring cancels the eventfd read and waits for the rest.
  if (ring_ok_) io_uring_queue_exit(&ring_);
  if (event_fd_ >= 0) ::close(event_fd_);
}

Status UringBackend::SubmitPending() {
  while (io_uring_sq_ready(&ring_) > 0) {
    int r = io_uring_submit(&ring_);
    if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
      return Status::Failed("io_uring_submit", -r);
    }
  }
  return Status::Ok();
}

Status UringBackend::Submit(const IoOp* ops, size_t n, uint64_t first_tag) {
  if (n == 0) return Status::Ok();
  if (n > kMaxChainOps) return Status::InvalidArgument("io chain too long");
  if (io_uring_sq_space_left(&ring_) < n) {
    Status s = SubmitPending();
    if (!s.ok()) return s;
  }
  const int file = fixed_file_ ? 0 : fd_;
  for (size_t i = 0; i < n; i++) {
    struct io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) return Status::Failed("io_uring submission queue full");
    const IoOp& op = ops[i];
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
    io_uring_sqe_set_data64(sqe, first_tag + i);
  }
  return SubmitPending();
}

Status UringBackend::Wait(std::vector<IoCompletion>* out) {
  if (!wake_armed_) {
    struct io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) {
      Status s = SubmitPending();
      if (!s.ok()) return s;
      sqe = io_uring_get_sqe(&ring_);
    }
    if (sqe != nullptr) {
      io_uring_prep_read(sqe, event_fd_, &wake_buf_, sizeof(wake_buf_), 0);
      io_uring_sqe_set_data64(sqe, kWakeTag);
      wake_armed_ = true;
    }
  }
  Status s = SubmitPending();
  if (!s.ok()) return s;
  struct io_uring_cqe* cqe = nullptr;
  int r;
  do {
    r = io_uring_wait_cqe(&ring_, &cqe);
  } while (r == -EINTR);
  if (r < 0) return Status::Failed("io_uring_wait_cqe", -r);
  // Take everything that is ready.
  while (io_uring_peek_cqe(&ring_, &cqe) == 0) {
    uint64_t tag = io_uring_cqe_get_data64(cqe);
    if (tag == kWakeTag) {
      wake_armed_ = false;
    } else {
      out->push_back({tag, cqe->res});
    }
    io_uring_cqe_seen(&ring_, cqe);
  }
  return Status::Ok();
}

void UringBackend::Wake() {
  uint64_t one = 1;
  ssize_t r = ::write(event_fd_, &one, sizeof(one));
  (void)r;  // a full counter (never in practice) still wakes the reader
}

}  // namespace rvmr
