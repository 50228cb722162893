#include "log_manager.h"

#include <cerrno>

#include "log_replay.h"
#include "rvm_error.h"
#include "shim/log_format.h"

namespace rvmr::compat {

rvm_return_t LogManager::Open(const std::string& path, std::unique_ptr<LogManager>* out) {
  std::unique_ptr<LogManager> lm(new LogManager());
  rvm_return_t rc = LogFile::Open(path, &lm->file_);
  if (rc != RVM_SUCCESS) return rc;
  LogFile* file = lm->file_.get();
  LogSinkConfig cfg;
  cfg.fd = file->fd();
  cfg.path = path;
  cfg.tail = kTailUnknown;
  // Refused before anything is written (not even the epoch) when mirrors
  // may hold commits the disk copy lacks and none are configured.
  cfg.status = file->status();
  bool refused = false;
  Status s = CheckLogSinkStart(cfg, &refused);
  if (!s.ok()) {
    SetRvmErrmsg(refused ? "the log's mirrors may hold commits its disk copy lacks, and none "
                           "are configured"
                         : "cannot open the log sink");
    // A refusal says why in its message; the original's code for it is RVM_ELOG.
    if (refused) return Fail(RVM_ELOG, s);
    return Fail(std::move(s).WithContext("cannot open log " + path));
  }
  // A new writer epoch, durable before anything is appended in it.
  file->status().epoch++;
  s = file->WriteStatus("starting a new writer epoch");
  if (!s.ok()) return Fail(s);
  cfg.status = file->status();
  s = OpenLogSink(cfg, &lm->sink_);
  if (!s.ok()) {
    SetRvmErrmsg("cannot open the log sink");
    return Fail(std::move(s).WithContext("cannot open log " + path));
  }
  auto t0 = LogClock::now();
  LogPoint end;
  rc = RecoverLog(file, &end.offset, &end.lsn);
  if (rc != RVM_SUCCESS) return rc;
  lm->stats_.Update([us = MicrosSince(t0)](LogCounters& c) {
    c.n_recovery++;
    c.truncation_time_us += us;
  });
  lm->truncator_ = std::make_unique<LogTruncator>(file, lm->sink_.get(), &lm->stats_, end);
  lm->framer_ = std::make_unique<BatchFramer>(file, &lm->queue_, &lm->dict_, lm->truncator_.get(),
                                              &lm->stats_, end);
  lm->pipeline_ = std::make_unique<CommitPipeline>(lm->sink_.get(), lm->framer_.get());
  lm->framer_->set_pipeline(lm->pipeline_.get());
  lm->truncator_->Start([f = lm->framer_.get()](LogPoint* t) { return f->SnapshotForTruncation(t); });
  *out = std::move(lm);
  return RVM_SUCCESS;
}

LogManager::~LogManager() {
  if (truncator_) truncator_->Stop();
  pipeline_.reset();
  framer_.reset();
  truncator_.reset();
  sink_.reset();
}

rvm_return_t LogManager::Commit(PendingTxn txn) {
  uint64_t need = log::RecordSize(txn.record.size() - log::kRecordHeaderSize);
  for (uint32_t c : txn.seg_codes) need += dict_.RecordSize(c);
  if (need > file_->area_size() || txn.record.size() > log::kMaxPayload)
    return Fail(RVM_ETOO_BIG,
                "the transaction needs %llu bytes of log, more than log %s holds (%llu bytes)",
                static_cast<unsigned long long>(need), file_->path().c_str(),
                static_cast<unsigned long long>(file_->area_size()));
  bool flush = txn.flush;
  uint64_t seq = queue_.Push(std::move(txn));
  if (!flush) return RVM_SUCCESS;
  return FlushUpTo(seq);
}

rvm_return_t LogManager::Flush(bool explicit_call) {
  uint64_t seq = queue_.last_seq();
  if (explicit_call) stats_.Update([](LogCounters& c) { c.n_rvm_flush++; });
  return FlushUpTo(seq);
}

rvm_return_t LogManager::FlushUpTo(uint64_t seq) {
  if (pipeline_->durable_seq() >= seq) return RVM_SUCCESS;
  auto t0 = LogClock::now();
  Status s = pipeline_->WaitDurable(seq);
  if (!s.ok()) {
    SetRvmErrmsg("log write failed");
    errno = s.sys_errno();
    const bool earlier = failure_returned_.exchange(true);
    return Fail(std::move(s).WithContext(
        earlier ? "making commits durable: no more commits after an earlier failure"
                : "making commits durable"));
  }
  stats_.AddFlush(MicrosSince(t0));
  truncator_->MaybeKick();
  return RVM_SUCCESS;
}

rvm_return_t LogManager::Truncate() {
  rvm_return_t rc = Flush();
  if (rc != RVM_SUCCESS) return rc;
  return framer_->TruncateAll();
}

rvm_return_t LogManager::Close() {
  rvm_return_t rc = Flush();
  truncator_->Stop();
  rvm_return_t hint = framer_->WriteTailHint();
  return rc != RVM_SUCCESS ? rc : hint;
}

LogManager::Occupancy LogManager::GetOccupancy() {
  Occupancy o;
  LogTruncator::Range r = truncator_->range();
  o.head = r.head;
  o.tail = r.tail;
  o.area = file_->area_size();
  CommitQueue::Backlog b = queue_.backlog();
  o.n_no_flush = b.n_no_flush;
  o.no_flush_bytes = b.no_flush_bytes;
  o.empty = o.head == o.tail && b.empty;
  return o;
}

}  // namespace rvmr::compat
