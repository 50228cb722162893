// LogFollower: reads one log copy as it grows (rvm-log inspect --follow).
// It keeps the reading position (offset and the LSN expected there) and, on
// each Refresh, reopens the copy and notices what moved under it: a disk
// log's head that passed the position (records truncated before they were
// read), a disk log re-created at the same path (a new log id), a remote
// copy trimmed past the position or replaced by a shorter one. Any LogCopy
// kind works: the opener says how to open it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "log_copy.h"
#include "log_scan.h"

namespace rvmr::tools {

class LogFollower {
 public:
  using Opener = std::function<Status(std::unique_ptr<LogCopy>*)>;
  explicit LogFollower(Opener open) : open_(std::move(open)) {}

  // Opens the copy; the position is the start of its scan (the disk head or
  // the first byte a server holds). The opener's error otherwise.
  Status Open();
  // Reopens the copy. Appends a note (for the user) per move it noticed,
  // and sets *restarted when the log was replaced (a new log: the reader
  // starts over from its beginning). The opener's error leaves the copy
  // and the position as they were.
  Status Refresh(std::vector<std::string>* notes, bool* restarted);
  // The copy as last opened (null before Open).
  LogCopy* copy() const { return copy_.get(); }
  // The scan from the position on.
  ScanOptions Next() const;
  // Moves the position to where `r` (a scan from Next()) stopped.
  void Advance(const ScanResult& r);
  uint64_t position() const { return pos_; }
  // True when the copy claims committed records beyond the position: a
  // record that does not check out there is damage, not a write in progress.
  bool BelowClaimedEnd() const { return copy_ != nullptr && pos_ < copy_->claimed_end(); }

 private:
  Opener open_;
  std::unique_ptr<LogCopy> copy_;
  uint64_t pos_ = 0;       // logical offset of the next record to read
  uint64_t next_lsn_ = 0;  // the LSN it must carry (0: any)
};

}  // namespace rvmr::tools
