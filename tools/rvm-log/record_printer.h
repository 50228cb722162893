// RecordPrinter: the record lines of rvm-log inspect (text or JSON), with
// its filters: LSN range, segment, one transaction, an offset range and a
// record limit. It keeps the segment dictionary seen so far, so a copy can
// be printed in several scans (inspect --follow).
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "commands.h"
#include "log_copy.h"
#include "shim/log_payload.h"
#include "shim/log_record_reader.h"

namespace rvmr::tools {

class RecordPrinter {
 public:
  // Prints to `out` the records `o`'s filters select; notes (where an
  // --from-offset led) go to `err` prefixed with `label`.
  RecordPrinter(const InspectOptions& o, std::ostream& out, std::ostream& err);

  // Prints `rec` of copy `c` if the filters select it (and the limit is not
  // reached yet). Records are passed in log order; every record is passed,
  // selected or not, so the segment dictionary stays complete.
  void Visit(const log::LogRecord& rec, const LogCopy& c);
  // Prints to `out` from now on.
  void SetOutput(std::ostream& out) { out_ = &out; }
  // Forgets the segment dictionary (the log was re-created).
  void ResetDictionary() { dict_.clear(); }
  // Records printed so far.
  uint64_t shown() const { return shown_; }
  // True once `limit` records are printed; the scan should stop. Stable
  // address: ScanOptions::halt may point here.
  const bool* limit_reached() const { return &limit_reached_; }

 private:
  std::string SegmentName(uint32_t code) const;
  void NoteFromOffset(const log::LogRecord& rec, const LogCopy& c);

  const InspectOptions& o_;
  std::ostream* out_;
  std::ostream& err_;
  bool seg_by_code_ = false;  // o_.segment is a code (seg_code_), not a path
  uint64_t seg_code_ = 0;
  uint64_t lsn_from_, lsn_to_;
  std::map<uint32_t, std::string> dict_;  // segment code -> path, from dictionary records
  std::vector<log::RangeView> ranges_;    // scratch
  uint64_t shown_ = 0;
  bool limit_reached_ = false;
  bool from_seen_ = false;    // a record at or after from_offset was passed
  uint64_t prev_offset_ = 0;  // the previous record passed, for the from-offset note
  uint64_t prev_end_ = 0;
  bool has_prev_ = false;
};

// "transaction", "segment_dict", "padding" or "unknown".
const char* RecordTypeName(uint16_t type);

}  // namespace rvmr::tools
