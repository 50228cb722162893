// Replayer: applies a log's committed transactions to the data segment
// files, the way truncation does: ranges in log order (a later range wins
// where ranges overlap), segment files named by the segment dictionary
// records (or redirected by a segment map), each file synced once at the end.
// Writing absolute bytes makes replay idempotent.
//
// NOTE: rvm_compat's truncation keeps its apply step private
// (LogManager::Apply); this is a second implementation of the same rules and
// the two should be folded into one shared function.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "common/status.h"
#include "shim/log_record_reader.h"

namespace rvmr::tools {

struct ReplayOptions {
  // Segment code -> file path, overriding the log's dictionary records.
  std::map<uint32_t, std::string> segment_map;
  // Parse and check everything, open nothing for writing, write nothing.
  bool dry_run = false;
};

struct ReplayStats {
  uint64_t transactions = 0;
  uint64_t ranges = 0;
  uint64_t bytes = 0;  // range data bytes applied
  uint64_t dict_records = 0;
  std::map<std::string, uint64_t> bytes_per_segment;
};

class Replayer {
 public:
  explicit Replayer(ReplayOptions options);
  // Closes the segment files (without syncing: call Finish).
  ~Replayer();
  Replayer(const Replayer&) = delete;
  Replayer& operator=(const Replayer&) = delete;

  // Applies one record (in log order): a dictionary record names a segment
  // code; a transaction's ranges are written to their segment files. Fails
  // (naming the record's offset and LSN) on an unparsable payload, a segment
  // code no dictionary record or map entry names, or a failed write.
  Status Apply(const log::LogRecord& rec);

  // fdatasyncs every segment file written, once each.
  Status Finish();

  const ReplayStats& stats() const { return stats_; }

 private:
  Status SegmentFd(uint32_t code, const log::LogRecord& rec, int* fd, const std::string** path);

  ReplayOptions options_;
  std::map<uint32_t, std::string> dict_;  // from dictionary records
  std::map<std::string, int> fds_;        // open segment files by path (-1 in dry run)
  ReplayStats stats_;
};

}  // namespace rvmr::tools
