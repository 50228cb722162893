// LogApplier: applies a log's records, in log order, to the data segment
// files. The one apply step of the project: RVM truncation and recovery
// (rvm_compat's LogManager) and `rvm-log replay` both go through it.
//
// Rules (docs/log-format.md): a segment dictionary record names the file of a
// segment code; a transaction's ranges are written at their segment offsets,
// a later range winning where ranges overlap. Writing absolute bytes makes
// applying the same records again harmless. Each segment file is fdatasynced
// once, by Finish.
//
// Two ways to write: streaming (each range is written as Apply meets it) or
// coalescing (each segment's ranges are collected in an ExtentMap and written
// by Finish as merged extents, one pwrite per extent; with direct_min, large
// ranges are written at once instead).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "common/status.h"
#include "shim/extent_map.h"
#include "shim/log_payload.h"
#include "shim/log_record_reader.h"

namespace rvmr::log {

struct LogApplyOptions {
  // Segment code -> file path, overriding the log's dictionary records.
  std::map<uint32_t, std::string> segment_map;
  // Parse and check every record, and that each segment file named exists;
  // open nothing for writing, write nothing.
  bool dry_run = false;
  // Collect the ranges and write merged extents at Finish (see above).
  bool coalesce = false;
  // Coalescing: a range of at least this many bytes is written as Apply
  // meets it (its bytes forgotten from what is pending, so an older pending
  // range never overwrites it at Finish) instead of being copied. 0: never.
  uint64_t direct_min = 0;
  // Fault point (common/fault_point.h) hit after each write: each range when
  // streaming (also in a dry run), each extent when coalescing. nullptr: none.
  // Must outlive the applier (a string literal).
  const char* fault_point = nullptr;
};

struct LogApplyStats {
  uint64_t transactions = 0;
  uint64_t ranges = 0;
  uint64_t bytes = 0;  // range data bytes applied (before coalescing)
  uint64_t dict_records = 0;
  uint64_t writes = 0;  // pwrite calls that wrote segment bytes
  std::map<std::string, uint64_t> bytes_per_segment;
};

class LogApplier {
 public:
  explicit LogApplier(LogApplyOptions options);
  // Closes the segment files, without syncing (call Finish).
  ~LogApplier();
  LogApplier(const LogApplier&) = delete;
  LogApplier& operator=(const LogApplier&) = delete;

  // Applies one record; records must come in log order. Padding and unknown
  // record types are skipped. Fails, naming the record's offset and LSN, with
  // Corruption on an unparsable payload or a range beyond INT64_MAX, NotFound
  // on a segment code that neither an earlier dictionary record nor the
  // segment map names, IoError when a segment file cannot be opened (checked
  // in a dry run) or written.
  Status Apply(const LogRecord& rec);

  // Writes what coalescing collected, then fdatasyncs every segment file
  // written, once each (segment by segment). IoError naming the file on a
  // failure. Writes and syncs nothing in a dry run.
  Status Finish();

  const LogApplyStats& stats() const { return stats_; }

 private:
  struct Segment {
    int fd = -1;
    bool checked = false;  // dry run: the file was found
    ExtentMap pending;     // coalescing: bytes not yet written
  };

  // The segment file of `code` at record `rec`.
  Status Resolve(uint32_t code, const LogRecord& rec, const std::string** path);
  Status ApplyRange(const LogRecord& rec, const RangeView& r);
  // pwrites all of [data, data + len) at `off` (counted in stats_.writes).
  Status WriteAll(int fd, const char* data, uint64_t len, uint64_t off);
  void HitFaultPoint();

  LogApplyOptions options_;
  std::map<uint32_t, std::string> dict_;     // from dictionary records
  std::map<std::string, Segment> segments_;  // by file path
  LogApplyStats stats_;
};

}  // namespace rvmr::log
