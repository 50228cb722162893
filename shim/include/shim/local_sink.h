// LocalSink: a LogSink on the local log file. One pwritev per contiguous
// piece (two when the append straddles the wrap point) and one fdatasync per
// Append; nothing else.
#pragma once

#include <atomic>

#include "shim/log_sink.h"

namespace rvmr {

class LocalSink : public LogSink {
 public:
  // Writes to `fd` (not owned); logical offset L lives at file position
  // area_start + L % area_size. `tail` is where the first append must be, or
  // kTailUnknown (then the first append may be anywhere).
  LocalSink(int fd, std::string path, uint64_t area_start, uint64_t area_size, uint64_t tail);
  // Writes and fdatasyncs before returning: durable already.
  Status Send(uint64_t offset, const struct iovec* iov, int iovcnt) override;
  // Every Send is durable on return: checks `end` and returns.
  Status Wait(uint64_t end) override;
  // The end of the last Send (0 before the first).
  uint64_t durable_end() const override;
  // Durable on Send: the pipeline never waits.
  Traits traits() const override { return Traits{true, 0, true}; }
  // Every Send is already durable: checks `offset` against the end of the
  // last Send and returns.
  Status SyncToDisk(uint64_t offset) override;
  std::string Describe() const override;

 private:
  Status WritePiece(uint64_t file_pos, const struct iovec* iov, int iovcnt);

  int fd_;
  std::string path_;
  uint64_t area_start_;
  uint64_t area_size_;
  std::atomic<uint64_t> end_;  // end of the last append (SyncToDisk reads it concurrently)
};

}  // namespace rvmr
