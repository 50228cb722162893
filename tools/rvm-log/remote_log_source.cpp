#include "remote_log_source.h"

#include <algorithm>
#include <cstring>
#include <thread>

namespace rvmr::tools {

RemoteLogSource::RemoteLogSource(std::vector<std::unique_ptr<remote_log::Connection>> conns,
                                 uint64_t start, uint64_t tail, uint64_t area_size,
                                 std::string label)
    : conns_(std::move(conns)),
      start_(start),
      tail_(tail),
      area_size_(area_size),
      label_(std::move(label)) {}

Status RemoteLogSource::ReadSlice(remote_log::Connection* c, uint64_t offset, size_t len,
                                  char* dst) {
  size_t got = 0;
  while (got < len) {
    size_t g = 0;
    Status s = c->Read(offset + got, std::min(kReadChunk, len - got), dst + got, &g);
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
  }
  return Status::Ok();
}

Status RemoteLogSource::Fill(uint64_t offset, size_t n) {
  size_t want = static_cast<size_t>(std::min<uint64_t>(std::max(n, kWindow), tail_ - offset));
  if (win_.size() < want) win_.resize(want);
  wlen_ = 0;
  // Split into slices of at least one READ chunk, one per connection.
  size_t slices = std::min(conns_.size(), (want + kReadChunk - 1) / kReadChunk);
  if (slices == 0) slices = 1;
  size_t per = (want + slices - 1) / slices;
  std::vector<Status> st(slices);
  std::vector<std::thread> threads;
  for (size_t i = 1; i < slices; i++) {
    size_t from = i * per;
    if (from >= want) break;
    size_t len = std::min(per, want - from);
    threads.emplace_back([this, i, from, len, offset, &st] {
      st[i] = ReadSlice(conns_[i].get(), offset + from, len, win_.data() + from);
    });
  }
  st[0] = ReadSlice(conns_[0].get(), offset, std::min(per, want), win_.data());
  for (auto& t : threads) t.join();
  for (const Status& s : st) {
    if (!s.ok()) return s;
  }
  fetched_ += want;
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
