// RemoteLogSource: a LogSource over a remote log on one log server, read
// through a window that it refills with READ requests as the reader moves
// forward. A refill is split over several connections to the server, read in
// parallel (one thread each), because one connection's request/reply READs
// leave both ends idle half of the time. The window buffer is reused, so a
// long sequential scan allocates nothing after the first refill.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "remote_log/transport.h"
#include "shim/log_source.h"

namespace rvmr::tools {

class RemoteLogSource : public log::LogSource {
 public:
  // Bytes fetched per refill (at least the read asked for).
  static constexpr size_t kWindow = 16u << 20;
  // Connections OpenRemoteLog makes for parallel refills.
  static constexpr size_t kConnections = 4;
  // Bytes per READ request: kept at most 1 MiB so neither side of the TCP
  // transport drops and reallocates its reply buffer per request.
  static constexpr size_t kReadChunk = (1u << 20) - 64;

  // Reads the log open on every connection in `conns` (at least one), which
  // holds [start, tail). `area_size` bounds record sizes. `label` names the
  // copy in errors.
  RemoteLogSource(std::vector<std::unique_ptr<remote_log::Connection>> conns, uint64_t start,
                  uint64_t tail, uint64_t area_size, std::string label);

  // IoError (naming the copy and the offsets) outside [start, tail) or when
  // the server fails.
  Status Read(uint64_t offset, void* dst, size_t n) override;
  uint64_t area_size() const override { return area_size_; }
  // Total bytes received from the server.
  uint64_t fetched() const { return fetched_; }

 private:
  Status Fill(uint64_t offset, size_t n);
  Status ReadSlice(remote_log::Connection* c, uint64_t offset, size_t len, char* dst);

  std::vector<std::unique_ptr<remote_log::Connection>> conns_;
  uint64_t start_, tail_, area_size_;
  std::string label_;
  std::vector<char> win_;
  uint64_t wbase_ = 0;
  size_t wlen_ = 0;
  uint64_t fetched_ = 0;
};

}  // namespace rvmr::tools
