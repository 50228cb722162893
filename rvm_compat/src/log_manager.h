// LogManager: the RVM log of one process, put together from its parts:
//   LogFile            the log file and its status block (log_file.h);
//   RecoverLog/ApplyLog recovery and apply (log_replay.h);
//   SegmentDictionary  segment codes and their dictionary records;
//   CommitQueue        committed transactions waiting to be framed;
//   BatchFramer        framing and sending a batch (the pipeline's source);
//   LogTruncator       moving the head, in windows, in the background or
//                      when the log is full;
//   CommitPipeline     (shim) who leads a batch and who waits for what.
//
// Lock order: BatchFramer's append lock -> LogTruncator's trunc_mu_ ->
// LogTruncator's state_mu_; the pipeline's lock, the queue's, the segment
// dictionary's and LogStats' are leaves.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "batch_framer.h"
#include "commit_queue.h"
#include "internal.h"
#include "log_file.h"
#include "log_stats.h"
#include "log_truncator.h"
#include "segment_dictionary.h"
#include "shim/commit_pipeline.h"
#include "shim/log_sink.h"

namespace rvmr::compat {

class LogManager {
 public:
  // Creates a new log file (rvm_create_log): RVM_ELOG if it exists.
  static rvm_return_t Create(const char* path, uint64_t area_len, long mode) {
    return LogFile::Create(path, area_len, mode);
  }

  // Opens `path`, bumps the writer epoch, opens the sink, recovers (applies
  // every valid record to the segments) and starts the truncation thread.
  static rvm_return_t Open(const std::string& path, std::unique_ptr<LogManager>* out);

  // Stops the truncation thread and closes the sink and the file (without
  // flushing: see Close).
  ~LogManager();

  const std::string& path() const { return file_->path(); }
  uint64_t area_size() const { return file_->area_size(); }

  // Returns the segment code of `path` (an absolute path), assigning one.
  uint32_t SegmentCode(const std::string& path) { return dict_.CodeFor(path); }

  // Queues a committed transaction; if txn.flush, returns once it and every
  // transaction queued before it are durable. RVM_ETOO_BIG if it can never fit.
  rvm_return_t Commit(PendingTxn txn);
  // Makes every queued transaction durable; `explicit_call`: from rvm_flush
  // (counted in the statistics).
  rvm_return_t Flush(bool explicit_call = false);
  // Flush, then apply the whole log to the segments and empty it.
  rvm_return_t Truncate();
  // Flush, stop the truncation thread, write the status block.
  rvm_return_t Close();

  void SetTruncateThreshold(long percent) { truncator_->SetThreshold(percent); }
  // Called (truncation lock held) each time a truncation has moved the head;
  // the API resets its "since the last truncation" counters there. Set once,
  // before any truncation can run.
  void SetTruncationHook(void (*hook)()) { truncator_->SetHook(hook); }
  long truncate_threshold() { return truncator_->threshold(); }

  // Snapshot of the queue and log occupancy for rvm_statistics/rvm_query.
  struct Occupancy {
    uint64_t head, tail, area;
    uint64_t n_no_flush, no_flush_bytes;
    bool empty;
  };
  Occupancy GetOccupancy();
  LogCounters GetCounters() { return stats_.Get(); }
  // The commit pipeline's counters (batches, transactions per batch, in flight).
  CommitPipelineStats GetPipelineStats() const { return pipeline_->stats(); }

 private:
  LogManager() = default;
  rvm_return_t FlushUpTo(uint64_t seq);

  std::unique_ptr<LogFile> file_;
  std::unique_ptr<LogSink> sink_;
  LogStats stats_;
  SegmentDictionary dict_;
  CommitQueue queue_;
  std::unique_ptr<LogTruncator> truncator_;
  std::unique_ptr<BatchFramer> framer_;
  std::unique_ptr<CommitPipeline> pipeline_;
  // A call has already returned the log's write failure (atomic: any
  // committing thread): later ones say it is an earlier failure.
  std::atomic<bool> failure_returned_{false};
};

}  // namespace rvmr::compat
