// LogSource: random read access to a circular log by logical offset, the byte
// source of LogRecordReader. FileLogSource reads a log file (status area +
// record area) with pread, splitting reads that straddle the wrap point.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/status.h"

namespace rvmr::log {

class LogSource {
 public:
  virtual ~LogSource();
  // Reads `n` bytes of the log at logical offset `offset` into `dst`
  // (n <= area size). IoError on a failed or short read.
  virtual Status Read(uint64_t offset, void* dst, size_t n) = 0;
  // Size of the circular area; a record can never be longer than this.
  virtual uint64_t area_size() const = 0;
};

class FileLogSource : public LogSource {
 public:
  // Reads from `fd` (not owned); logical offset L is at file position
  // area_start + L % area_size.
  FileLogSource(int fd, uint64_t area_start, uint64_t area_size)
      : fd_(fd), area_start_(area_start), area_size_(area_size) {}
  Status Read(uint64_t offset, void* dst, size_t n) override;
  uint64_t area_size() const override { return area_size_; }

 private:
  int fd_;
  uint64_t area_start_;
  uint64_t area_size_;
};

}  // namespace rvmr::log
