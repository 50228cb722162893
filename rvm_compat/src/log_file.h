// LogFile: the RVM log file and its status block (docs/log-format.md). It
// creates and opens the file, recognises a log of the original RVM, and
// writes the status block. Not thread-safe: after LogManager::Open, status()
// changes only under LogTruncator's truncation lock.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "internal.h"
#include "shim/log_status.h"

namespace rvmr::compat {

class LogFile {
 public:
  // Creates a new log file of `area_len` bytes (rounded down to 512) with
  // `mode`: RVM_ELOG if the file exists, RVM_ETOO_BIG if under 512 bytes,
  // RVM_EIO (errno set) on a system error.
  static rvm_return_t Create(const char* path, uint64_t area_len, long mode);

  // Opens `path` read-write and reads its status block. RVM_ELOG if it is
  // missing or not a log, RVM_ELOG_VERSION_SKEW if it is a log of the
  // original RVM, RVM_EIO on a read error.
  static rvm_return_t Open(const std::string& path, std::unique_ptr<LogFile>* out);

  ~LogFile();
  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;

  const std::string& path() const { return path_; }
  int fd() const { return fd_; }
  log::LogStatus& status() { return status_; }
  const log::LogStatus& status() const { return status_; }
  // Size of the record area (constant).
  uint64_t area_size() const { return status_.area_size; }

  // Writes status() to the file (one copy, pwrite + fdatasync); an error
  // names the log and what the write was for (`doing`, e.g. "recovery").
  Status WriteStatus(const char* doing);

 private:
  LogFile() = default;

  std::string path_;
  int fd_ = -1;
  log::LogStatus status_;
};

}  // namespace rvmr::compat
