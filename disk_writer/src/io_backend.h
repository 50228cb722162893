// IoBackend: runs one chain of log writes followed by an fdatasync against
// the log file. Two implementations: UringBackend (io_uring, linked SQEs) and
// PwriteBackend (pwritev + fdatasync on the calling thread).
#pragma once

#include <cstddef>
#include <cstdint>

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
  int result = 0;             // set by Run: bytes written (0 for a sync) or -errno
};

class IoBackend {
 public:
  virtual ~IoBackend() = default;

  // Runs ops[0..n) in order, each starting after the previous completed, and
  // returns when all have completed, with each op's result set. A write that
  // fails or completes short may end the chain: the ops after it then report
  // -ECANCELED (callers must treat everything after the first incomplete
  // write as not done whatever it reports). A non-OK status means the
  // backend itself is broken (not an I/O error of one op).
  virtual Status Run(IoOp* ops, size_t n) = 0;
};

}  // namespace rvmr
