// PwriteBackend: the IoBackend used where io_uring is refused (or
// force_fallback): Submit runs the chain on the calling thread, pwritev for
// runs of writes contiguous in the file, then fdatasync; Wait hands back the
// results.
#pragma once

#include <vector>

#include "io_backend.h"

namespace rvmr {

class PwriteBackend : public IoBackend {
 public:
  // fd stays owned by the caller.
  explicit PwriteBackend(int fd) : fd_(fd) {}

  // Runs the chain to completion before returning. Never fails.
  Status Submit(const IoOp* ops, size_t n, uint64_t first_tag) override;
  // Returns the completions of the chains submitted since the last Wait.
  Status Wait(std::vector<IoCompletion>* out) override;
  void Wake() override {}
  size_t max_chains() const override { return 1; }

 private:
  int fd_;
  std::vector<IoCompletion> done_;
};

}  // namespace rvmr
