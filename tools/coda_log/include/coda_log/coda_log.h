// CodaLog: a log file of the ORIGINAL RVM (Coda's), read for migration.
//
// Open reads the status block and walks the records from the head (or from
// the previous head, when a truncation was caught by a crash) forward,
// checking each one as the original's recovery does (docs/coda-log-format.md):
// record type, record number (exactly previous + 1), timestamps (never going
// back, never before the previous truncation), the end marker that repeats
// the header, every range header and every range's data checksum. A wrap
// marker sends the walk back to the start of the record area; a transaction
// split by the wrap counts only when both its parts are sound. The first
// record that fails ends the log: after the tail the status block recorded
// that is a torn or clean end; before it, the log is damaged.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "coda_log/coda_log_format.h"
#include "common/status.h"

namespace rvmr::coda {

struct Range {
  int64_t seg_code = 0;
  uint64_t offset = 0;  // byte offset in the segment
  uint64_t length = 0;
  uint64_t vmaddr = 0;  // where the segment was mapped when written
  bool is_split = false;
  uint64_t data_offset = 0;  // file offset of the first changed byte
  std::string_view data;     // `length` bytes, inside the CodaLog's buffer
};

struct Transaction {
  uint64_t file_offset = 0;  // of its (first) header
  uint64_t rec_num = 0;      // of its (first) header
  Timeval timestamp;
  Timeval uname;
  Timeval commit_stamp;
  uint64_t flags = 0;  // of the first part
  uint64_t n_coalesced = 0;
  bool split = false;  // written in two parts around a wrap marker
  std::vector<Range> ranges;
};

struct Segment {
  uint64_t file_offset = 0;
  uint64_t rec_num = 0;
  int64_t seg_code = 0;
  uint64_t num_bytes = 0;
  std::string name;
};

enum class RecordKind { kTransaction, kSegment, kWrap };

// One record in log order. A split transaction is one kTransaction record
// (at its first part); its wrap marker is a kWrap record of its own.
struct Record {
  RecordKind kind;
  uint64_t file_offset;
  uint64_t rec_num;
  size_t index;  // into transactions() or segments(); 0 for kWrap
};

enum class LogEnd {
  kClean,    // no record follows the last sound one
  kTorn,     // a record after the recorded tail is incomplete or damaged
  kDamaged,  // a record before the recorded tail fails its checks
};

class CodaLog {
 public:
  // Opens `path` read-only and reads its status block and records. NotFound
  // (with "not a log of the original RVM") when the file does not start with
  // the original's status block; Corruption when it does but the block is
  // damaged; NotSupported for another log format version; IoError naming the
  // file when it cannot be read. A damaged record area opens (see end()).
  static Status Open(const std::string& path, std::unique_ptr<CodaLog>* out);

  // True when the file at `path` starts like a log of the original RVM.
  static bool Recognize(const std::string& path);

  const std::string& path() const { return path_; }
  const LogStatus& status() const { return status_; }
  const std::vector<Record>& records() const { return records_; }
  // The committed transactions not yet applied, in log order.
  const std::vector<Transaction>& transactions() const { return transactions_; }
  // Segment dictionary records, in log order.
  const std::vector<Segment>& segments() const { return segments_; }
  // File offset just past the last sound record (where the original's
  // recovery puts the tail).
  uint64_t tail() const { return tail_; }
  // Record number the next record would carry.
  uint64_t next_rec_num() const { return next_rec_num_; }
  LogEnd end() const { return end_; }
  // Why the walk stopped, with the file offset.
  const std::string& end_reason() const { return end_reason_; }
  uint64_t wraps() const { return wraps_; }
  uint64_t ranges() const;
  uint64_t range_bytes() const;

  // "PATH is a log of the original RVM (Coda), version '...'; N committed
  // transactions not yet applied" (+ what to do when N > 0).
  std::string Describe() const;

 private:
  CodaLog() = default;
  void Walk();

  std::string path_;
  LogStatus status_;
  std::string bytes_;  // the whole file
  std::vector<Record> records_;
  std::vector<Transaction> transactions_;
  std::vector<Segment> segments_;
  uint64_t tail_ = 0;
  uint64_t next_rec_num_ = 0;
  LogEnd end_ = LogEnd::kClean;
  std::string end_reason_;
  uint64_t wraps_ = 0;
};

}  // namespace rvmr::coda
