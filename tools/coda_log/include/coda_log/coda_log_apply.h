// Applying a log of the original RVM (Coda's) to its data segments, the way
// the original's recovery does, and marking the log applied.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "coda_log/coda_log.h"
#include "common/status.h"

namespace rvmr::coda {

struct ApplyOptions {
  // Segment code -> file, overriding the path the log's dictionary names.
  std::map<uint32_t, std::string> segment_map;
  // Check everything (each segment file must exist), write nothing.
  bool dry_run = false;
};

struct ApplyResult {
  uint64_t transactions = 0;
  uint64_t ranges = 0;
  uint64_t bytes = 0;
  std::map<std::string, uint64_t> bytes_per_segment;
};

// Writes the committed transactions of `log`, in log order (a later range
// winning where ranges overlap, which gives what the original's newest-wins
// recovery gives), into the segment files its dictionary records name (all
// of them, wherever they stand among the records, as the original's recovery
// reads them; or options.segment_map names), and fdatasyncs them. Then, unless dry_run,
// rewrites the log's status block as the original's recovery leaves it: head
// and tail at the end of the sound records, no truncation pending, log empty
// (MarkApplied). Refuses (Corruption) a log whose records are damaged before
// their recorded tail; NotFound for a segment code no record names; IoError
// naming the file when a segment cannot be opened or written.
Status ApplyLog(const CodaLog& log, const ApplyOptions& options, ApplyResult* result);

// Rewrites the status block of the log file at log.path() to say that every
// record up to log.tail() is applied: head = tail = log.tail(), previous
// head/tail cleared, log empty, the record numbers continuing from
// log.next_rec_num() and the truncation times set to now (so no record left
// in the file counts as current). Written with pwrite + fdatasync; the
// checksum is recomputed. The original's library and rvmutl accept the result.
Status MarkApplied(const CodaLog& log);

}  // namespace rvmr::coda
