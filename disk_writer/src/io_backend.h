// IoBackend: runs chains of log writes, each followed by an fdatasync,
// against the log file. Two implementations: UringBackend (io_uring, linked
// SQEs, several chains in flight) and PwriteBackend (pwritev + fdatasync on
// the calling thread, one chain at a time).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/status.h"

namespace rvmr {

// One operation of a chain.
struct IoOp {
  enum class Kind { kWrite, kSync };
  Kind kind = Kind::kWrite;
  const char* buf = nullptr;  // kWrite: the bytes
  size_t len = 0;             // kWrite: how many
  uint64_t file_pos = 0;      // kWrite: where in the file
  int buf_index = -1;         // index of the registered buffer holding buf, or -1
};

// The result of one op: bytes written (0 for a sync) or -errno.
struct IoCompletion {
  uint64_t tag = 0;
  int result = 0;
};

class IoBackend {
 public:
  virtual ~IoBackend() = default;

  // Starts ops[0..n) as one chain: each op starts after the previous one
  // completed. Op i completes with tag first_tag + i. A write that fails or
  // completes short may end the chain: the ops after it then complete with
  // -ECANCELED (callers must treat everything after the first incomplete
  // write as not done, whatever it reports). ops need not outlive the call;
  // the buffers they point to must stay until the chain has completed. A
  // non-OK status means the backend itself is broken.
  virtual Status Submit(const IoOp* ops, size_t n, uint64_t first_tag) = 0;

  // Waits until at least one op has completed or Wake() was called, and
  // appends the completions to *out (possibly none, after a Wake).
  virtual Status Wait(std::vector<IoCompletion>* out) = 0;

  // Makes a Wait in progress, or the next one, return. Any thread.
  virtual void Wake() = 0;

  // Most chains worth having in flight at once.
  virtual size_t max_chains() const = 0;
};

}  // namespace rvmr
