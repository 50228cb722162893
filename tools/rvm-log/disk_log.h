// DiskLog: a log file opened read-only for inspection, verification and
// replay. It reads both status copies (reporting each one's fate), checks
// that the file really holds the record area the status describes, and
// offers a LogSource over that area.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "shim/log_source.h"
#include "shim/log_status.h"

namespace rvmr::tools {

class DiskLog {
 public:
  // Opens `path` read-only and reads its status. Fails, naming the file and
  // what was expected: IoError if it cannot be opened or read; Corruption if
  // neither status copy is valid but one carries the status magic (a damaged
  // log); InvalidArgument if neither does (not a log of this format);
  // NotSupported, naming it as such, for a log of the original RVM. A file
  // shorter than area_start + area_size opens, but area_complete() is false
  // and source() is null.
  static Status Open(const std::string& path, std::unique_ptr<DiskLog>* out);
  ~DiskLog();
  DiskLog(const DiskLog&) = delete;
  DiskLog& operator=(const DiskLog&) = delete;

  const std::string& path() const { return path_; }
  // The winning status (the valid copy with the higher write counter).
  const log::LogStatus& status() const { return status_; }
  // Which copy won (0 or 1).
  int status_copy() const { return which_; }
  // Why copy i (0 or 1) did not decode (OK if it is valid).
  const Status& copy_status(int i) const { return copy_status_[i]; }
  // Write counter of copy i, when it is valid.
  uint64_t copy_counter(int i) const { return copy_counter_[i]; }
  uint64_t file_size() const { return file_size_; }
  // True when the file holds the whole record area.
  bool area_complete() const { return source_ != nullptr; }
  // A LogSource over the record area (null when !area_complete()).
  log::LogSource* source() const { return source_.get(); }
  // File position of logical offset `offset`.
  uint64_t FilePos(uint64_t offset) const {
    return status_.area_start + offset % status_.area_size;
  }

 private:
  DiskLog() = default;

  std::string path_;
  int fd_ = -1;
  log::LogStatus status_;
  int which_ = 0;
  std::array<Status, 2> copy_status_;
  std::array<uint64_t, 2> copy_counter_{};
  uint64_t file_size_ = 0;
  std::unique_ptr<log::FileLogSource> source_;
};

// The remote log's default name: the log id as 32 lowercase hex digits.
std::string LogIdHex(const log::LogStatus& st);

}  // namespace rvmr::tools
