#include "split_log_source.h"

#include <algorithm>

namespace rvmr::tools {

Status SplitLogSource::Read(uint64_t offset, void* dst, size_t n) {
  char* d = static_cast<char*>(dst);
  if (offset < split_) {
    size_t m = static_cast<size_t>(std::min<uint64_t>(n, split_ - offset));
    Status s = lower_->Read(offset, d, m);
    if (!s.ok() || m == n) return s;
    d += m;
    offset += m;
    n -= m;
  }
  return upper_->Read(offset, d, n);
}

}  // namespace rvmr::tools
