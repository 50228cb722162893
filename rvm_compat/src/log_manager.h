// LogManager: the RVM log of one process. It owns the log file, the LogSink
// the records go through, the queue of committed transactions not yet
// written, recovery, and truncation (synchronous and background).
//
// Commits go through a CommitPipeline (shim/commit_pipeline.h): it decides
// which committer frames the next batch (Lead, below) and who waits for what.
//
// Locks, in acquisition order: append_mu_ (the pipeline's leader frames and
// sends under it: writer state, segment dictionary generation; background
// truncation takes it to snapshot) -> trunc_mu_ (one truncation at a time,
// status block writes) -> state_mu_ (head/tail, leaf); the pipeline's own
// lock, q_mu_ and stats_mu_ are leaves. tail_ is the end of what was sent: a
// truncation waits for the disk to hold it (SyncToDisk) before applying.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "internal.h"
#include "shim/commit_pipeline.h"
#include "shim/log_record_writer.h"
#include "shim/log_sink.h"
#include "shim/log_status.h"

namespace rvmr::compat {

// A committed transaction waiting to be written: a record buffer whose first
// kRecordHeaderSize bytes are reserved for the header, then the payload.
struct PendingTxn {
  std::string record;
  std::vector<uint32_t> seg_codes;  // segments its ranges touch
  uint32_t flags = 0;               // log::kTxnFlag*
  bool coalescable = false;         // RVM_COALESCE_TRANS was on at commit
  bool flush = false;
  uint64_t ranges = 0;
};

// Counters the statistics call reports (guarded by LogManager's stats_mu_).
struct LogCounters {
  uint64_t n_flush = 0, n_rvm_flush = 0, n_special = 0, n_wrap = 0;
  uint64_t n_trans_coalesced = 0, n_trans_elim = 0;
  uint64_t log_written_total = 0;  // bytes appended since open
  uint64_t n_truncations = 0, n_async_truncations = 0, n_sync_truncations = 0;
  uint64_t n_truncation_wait = 0, n_recovery = 0;
  uint64_t last_flush_ms = 0, last_truncation_s = 0;
  uint64_t flush_time_us = 0, truncation_time_us = 0;
  uint64_t flush_times[flush_times_len] = {};
  uint64_t truncation_times[truncation_times_len] = {};
};

class LogManager : private BatchSource {
 public:
  // Creates a new log file (rvm_create_log): RVM_ELOG if it exists.
  static rvm_return_t Create(const char* path, uint64_t area_len, long mode);

  // Opens `path`, bumps the writer epoch, opens the sink, recovers (applies
  // every valid record to the segments) and starts the truncation thread.
  static rvm_return_t Open(const std::string& path, std::unique_ptr<LogManager>* out);

  ~LogManager();

  const std::string& path() const { return path_; }
  uint64_t area_size() const { return status_.area_size; }

  // Returns the segment code of `path` (an absolute path), assigning one.
  uint32_t SegmentCode(const std::string& path);
  // Bytes the dictionary record of segment `code` takes in the log.
  uint64_t DictRecordSize(uint32_t code);

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

  void SetTruncateThreshold(long percent);
  // Called (trunc_mu_ held) each time a truncation has moved the head; the
  // API resets its "since the last truncation" counters there. Set once,
  // before any truncation can run.
  void SetTruncationHook(void (*hook)()) { truncation_hook_ = hook; }
  long truncate_threshold() const;

  // Snapshot of the queue and log occupancy for rvm_statistics/rvm_query.
  struct Occupancy {
    uint64_t head, tail, area;
    uint64_t n_no_flush, no_flush_bytes;
    bool empty;
  };
  Occupancy GetOccupancy();
  LogCounters GetCounters();
  // The commit pipeline's counters (batches, transactions per batch, in flight).
  CommitPipelineStats GetPipelineStats() const { return pipeline_->stats(); }

 private:
  LogManager() = default;
  rvm_return_t Recover();
  // Applies the records in [head, tail) to the segment files. `limit_known`:
  // tail is the durable end (truncation) or only a bound (recovery scan).
  rvm_return_t Apply(uint64_t head, uint64_t head_lsn, uint64_t limit, bool recovery, uint64_t* end,
                     uint64_t* end_lsn);
  rvm_return_t FlushUpTo(uint64_t seq);
  // BatchSource: frames everything queued and sends it (append_mu_ taken).
  Status Lead(CommitPipeline* pipeline, uint64_t* last_seq) override;
  // Takes the whole queue, frames it and sends it as one batch (append_mu_
  // held). If the log fills up on the way, what is framed so far is sent and
  // the log truncated (which waits for it to reach the disk) first.
  Status AppendQueued(uint64_t* last_seq);
  // Sends iov_ (`bytes` long, ending at the writer's end) through the
  // pipeline; `last_seq`: the last queued transaction it completes.
  Status SendIov(uint64_t bytes, uint64_t last_seq);
  // The log can take no more commits (append_mu_ held); says why once.
  Status Failed(const Status& s);
  // Truncation with append_mu_ held by the caller (lk). Releases nothing.
  // With `seen_head`: only if the head is still there once trunc_mu_ is
  // held (a background truncation may have made room meanwhile).
  static constexpr uint64_t kAnyHead = ~uint64_t{0};
  rvm_return_t TruncateHoldingAppend(uint64_t seen_head = kAnyHead);
  // Truncation from the background thread.
  rvm_return_t TruncateBackground();
  // Snapshot (append_mu_ held), then apply and publish (trunc_mu_ held).
  rvm_return_t TruncateAfterSnapshot(uint64_t h, uint64_t hl, uint64_t t, uint64_t tl);
  void MaybeKickTruncation();
  void TruncationThread();
  void CoalesceBatch(std::vector<PendingTxn>* batch);

  std::string path_;
  int fd_ = -1;
  std::unique_ptr<LogSink> sink_;

  std::mutex append_mu_;
  std::unique_ptr<log::LogRecordWriter> writer_;  // append_mu_
  uint64_t dict_gen_ = 1;                         // append_mu_
  bool failed_ = false;    // append_mu_
  std::unique_ptr<CommitPipeline> pipeline_;  // set at Open
  uint64_t framed_seq_ = 0;  // append_mu_: transactions up to here were framed
  // Reused by AppendQueued (append_mu_): no allocation per batch once warm.
  std::vector<PendingTxn> batch_;
  std::vector<struct iovec> iov_;
  std::deque<std::string> dicts_;

  std::mutex trunc_mu_;
  log::LogStatus status_;  // trunc_mu_ (geometry fields are constant)

  std::mutex state_mu_;
  uint64_t head_ = 0, head_lsn_ = 1;  // state_mu_
  uint64_t tail_ = 0, tail_lsn_ = 1;  // state_mu_ (end of what was sent)
  long truncate_pct_ = 0;             // state_mu_

  std::mutex q_mu_;
  std::vector<PendingTxn> queue_;  // q_mu_
  uint64_t queued_seq_ = 0;        // q_mu_
  uint64_t q_no_flush_ = 0, q_no_flush_bytes_ = 0;

  struct SegInfo {
    std::string path;
    uint32_t code = 0;
    uint64_t dict_gen = 0;  // append_mu_: generation its dictionary record was written in
  };
  std::mutex seg_mu_;
  std::deque<SegInfo> segs_;         // code = index + 1
  std::vector<SegInfo*> need_dict_;  // append_mu_: AppendQueued's scratch
  std::unordered_map<std::string, uint32_t> seg_by_path_;

  std::mutex stats_mu_;
  LogCounters counters_;

  void (*truncation_hook_)() = nullptr;

  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  bool bg_stop_ = false, bg_kick_ = false;
  std::thread bg_;
};

}  // namespace rvmr::compat
