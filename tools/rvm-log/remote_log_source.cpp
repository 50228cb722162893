#include "remote_log_source.h"

#include <algorithm>
#include <cstring>

namespace rvmr::tools {

RemoteLogSource::RemoteLogSource(std::unique_ptr<remote_log::Connection> conn, uint64_t start,
                                 uint64_t tail, uint64_t area_size, std::string label)
    : conn_(std::move(conn)),
      start_(start),
      tail_(tail),
      area_size_(area_size),
      label_(std::move(label)) {}

Status RemoteLogSource::Fill(uint64_t offset, size_t n) {
  size_t want = static_cast<size_t>(std::min<uint64_t>(std::max(n, kWindow), tail_ - offset));
  if (win_.size() < want) win_.resize(want);
  wlen_ = 0;
  size_t got = 0;
  while (got < want) {
    size_t g = 0;
    Status s = conn_->Read(offset + got, std::min(kReadChunk, want - got), win_.data() + got, &g);
    if (!s.ok()) {
      return Status::IoError(label_ + ": reading offset " + std::to_string(offset + got) + ": " +
                             s.ToString());
    }
    if (g == 0) {
      return Status::IoError(label_ + ": the server's copy ends at " +
                             std::to_string(offset + got) + ", before its tail " +
                             std::to_string(tail_) + " (trimmed or replaced meanwhile?)");
    }
    got += g;
    fetched_ += g;
  }
  wbase_ = offset;
  wlen_ = want;
  return Status::Ok();
}

Status RemoteLogSource::Read(uint64_t offset, void* dst, size_t n) {
  if (offset < start_ || offset > tail_ || n > tail_ - offset) {
    return Status::IoError(label_ + " holds [" + std::to_string(start_) + ", " +
                           std::to_string(tail_) + "), not [" + std::to_string(offset) + ", " +
                           std::to_string(offset + n) + ")");
  }
  if (n == 0) return Status::Ok();
  if (offset < wbase_ || offset + n > wbase_ + wlen_) {
    Status s = Fill(offset, n);
    if (!s.ok()) return s;
  }
  std::memcpy(dst, win_.data() + (offset - wbase_), n);
  return Status::Ok();
}

}  // namespace rvmr::tools
