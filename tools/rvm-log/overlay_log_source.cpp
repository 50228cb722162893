#include "overlay_log_source.h"

#include <algorithm>
#include <cstring>

namespace rvmr::tools {

Status OverlayLogSource::ReadLower(uint64_t offset, char* dst, size_t n) {
  if (lower_ == nullptr) {
    return Status::IoError(what_ + " holds [" + std::to_string(base_) + ", " +
                           std::to_string(end()) + "), not offset " + std::to_string(offset));
  }
  return lower_->Read(offset, dst, n);
}

Status OverlayLogSource::Read(uint64_t offset, void* dst, size_t n) {
  char* d = static_cast<char*>(dst);
  if (offset + n < offset) return Status::InvalidArgument("read range overflows");
  // Part before the memory range.
  if (offset < base_) {
    size_t m = static_cast<size_t>(std::min<uint64_t>(n, base_ - offset));
    Status s = ReadLower(offset, d, m);
    if (!s.ok()) return s;
    d += m;
    offset += m;
    n -= m;
  }
  // Part inside it.
  if (n > 0 && offset < end()) {
    size_t m = static_cast<size_t>(std::min<uint64_t>(n, end() - offset));
    std::memcpy(d, bytes_.data() + (offset - base_), m);
    d += m;
    offset += m;
    n -= m;
  }
  // Part after it.
  if (n > 0) return ReadLower(offset, d, n);
  return Status::Ok();
}

}  // namespace rvmr::tools
