// ScanLog: walks the records of a log copy with LogRecordReader and sums up
// where and why the scan stopped. Every subcommand reads logs through it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/status.h"
#include "shim/log_record_reader.h"

namespace rvmr::tools {

struct ScanOptions {
  uint64_t start = 0;           // logical offset of the first record
  uint64_t limit = UINT64_MAX;  // scan no further (exclusive)
  uint64_t first_lsn = 0;       // LSN the first record must carry (0: any)
  uint64_t max_epoch = UINT64_MAX;
  // The scan ends (stop kEndOfRange) where the next record would start at
  // or beyond this offset, without reading it.
  uint64_t stop_at = UINT64_MAX;
  // When set, checked after each visit: true ends the scan there (stop
  // kEndOfRange), e.g. once a record limit is reached.
  const bool* halt = nullptr;
};

struct ScanResult {
  uint64_t end = 0;      // end of the valid prefix (where the scan stopped)
  uint64_t end_lsn = 0;  // LSN of the last valid record (0 if none)
  uint64_t last_epoch = 0;
  uint64_t records = 0;
  uint64_t transactions = 0;
  uint64_t txn_bytes = 0;  // range data bytes of all transactions
  log::ReadError stop = log::ReadError::kNone;
  bool damage = false;  // the stop looks like a damaged or torn record
  bool halted = false;  // stopped by ScanOptions::stop_at or halt, not by the log
  Status stop_status;   // the reader's message for the stop (or an I/O error)
  bool io_error() const { return stop == log::ReadError::kIo; }
};

// Called for each valid record; returning a non-OK status ends the scan
// with that status as the result of ScanLog.
using RecordVisitor = std::function<Status(const log::LogRecord&)>;

// Scans `src` as `opts` says, calling `visit` (may be null) per record.
// Returns OK when the scan ran to its natural stop (described in *result,
// including damage); the visitor's error otherwise.
Status ScanLog(log::LogSource* src, const ScanOptions& opts, const RecordVisitor& visit,
               ScanResult* result);

// A one-line description of where and why a scan stopped.
std::string DescribeStop(const ScanResult& r);

}  // namespace rvmr::tools
