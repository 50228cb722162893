// BatchFramer: the commit pipeline's BatchSource for the RVM log. The leader
// it is called for takes every queued transaction, coalesces them if asked
// (RVM_COALESCE_TRANS), frames them into log records (a segment dictionary
// record first wherever the current generation lacks one), makes room
// through the LogTruncator when the log is full, and sends the batch through
// the pipeline.
//
// Its append lock (append_mu_) comes first in the log's lock order: it is
// held while a batch is framed and sent, and while a truncation snapshot is
// taken (LogTruncator's header has the rest of the order).
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "commit_queue.h"
#include "log_file.h"
#include "log_stats.h"
#include "log_truncator.h"
#include "segment_dictionary.h"
#include "shim/commit_pipeline.h"
#include "shim/log_record_writer.h"

namespace rvmr::compat {

class BatchFramer : public BatchSource {
 public:
  // The next record goes at `end` (after recovery). Every pointer must
  // outlive the framer.
  BatchFramer(LogFile* file, CommitQueue* queue, SegmentDictionary* dict, LogTruncator* truncator,
              LogStats* stats, LogPoint end);

  // The pipeline batches are sent through; set once, before the first Lead.
  void set_pipeline(CommitPipeline* pipeline) { pipeline_ = pipeline; }

  // BatchSource: frames everything queued and sends it (append lock taken).
  // *last_seq: the last transaction the batch completes. Fails, and keeps
  // failing, once a send or a truncation has failed.
  Status Lead(CommitPipeline* pipeline, uint64_t* last_seq) override;

  // For the background truncation: starts a dictionary generation at the
  // tail and returns it in *tail (append lock taken). false if the log is
  // empty or takes no more commits.
  bool SnapshotForTruncation(LogPoint* tail);

  // rvm_truncate: applies everything sent (append lock taken). RVM_EIO if the
  // log has failed.
  rvm_return_t TruncateAll();

  // Close: writes the tail hint (append lock taken; the truncator's thread
  // stopped). Nothing is written once the log has failed.
  rvm_return_t WriteTailHint();

 private:
  // Takes the whole queue, frames it and sends it as one batch (append_mu_
  // held). If the log fills up on the way, what is framed so far is sent
  // and room made first.
  Status AppendQueued(uint64_t* last_seq);
  // Sends iov_ (`bytes` long, ending at the writer's end) through the
  // pipeline; `last_seq`: the last queued transaction it completes.
  Status SendIov(uint64_t bytes, uint64_t last_seq);
  // Starts a dictionary generation at the writer's end and marks it as a
  // place for the head (append_mu_ held).
  LogPoint StartGeneration();
  // The log can take no more commits (append_mu_ held): keeps the first
  // failure, which the calls that get it report (rvm_error.h).
  Status Failed(const Status& s);

  LogFile* const file_;
  CommitQueue* const queue_;
  SegmentDictionary* const dict_;
  LogTruncator* const truncator_;
  LogStats* const stats_;
  CommitPipeline* pipeline_ = nullptr;

  std::mutex append_mu_;
  log::LogRecordWriter writer_;  // append_mu_
  uint64_t next_generation_;     // append_mu_: offset where the next generation starts
  bool failed_ = false;          // append_mu_
  Status failure_;               // append_mu_: the first failure, naming the log
  uint64_t framed_seq_ = 0;      // append_mu_: transactions up to here were framed
  // Reused by AppendQueued (append_mu_): no allocation per batch once warm.
  std::vector<PendingTxn> batch_;
  std::vector<struct iovec> iov_;
  std::deque<std::string> dicts_;
  std::vector<SegmentDictionary::Entry*> need_dict_;
};

}  // namespace rvmr::compat
