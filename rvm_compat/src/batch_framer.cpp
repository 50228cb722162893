#include "batch_framer.h"

#include <algorithm>

#include "rvm_error.h"
#include "shim/log_format.h"
#include "shim/log_payload.h"
#include "txn_coalescer.h"

namespace rvmr::compat {

BatchFramer::BatchFramer(LogFile* file, CommitQueue* queue, SegmentDictionary* dict,
                         LogTruncator* truncator, LogStats* stats, LogPoint end)
    : file_(file),
      queue_(queue),
      dict_(dict),
      truncator_(truncator),
      stats_(stats),
      writer_(file->status().epoch, end.offset, end.lsn),
      next_generation_(end.offset + truncator->window()) {}

Status BatchFramer::Lead(CommitPipeline*, uint64_t* last_seq) {
  std::lock_guard<std::mutex> l(append_mu_);
  if (failed_) return failure_.WithContext("no more commits after an earlier failure");
  return AppendQueued(last_seq);
}

Status BatchFramer::Failed(const Status& s) {
  // Reported by the calls that return it (rvm_error.h), not here.
  if (!failed_) failure_ = s.WithContext("log " + file_->path());
  failed_ = true;
  return failure_;
}

LogPoint BatchFramer::StartGeneration() {
  dict_->NewGeneration();
  LogPoint p{writer_.next_offset(), writer_.next_lsn()};
  truncator_->MarkPoint(p);
  next_generation_ = p.offset + truncator_->window();
  return p;
}

Status BatchFramer::AppendQueued(uint64_t* last_seq) {
  const uint64_t last = queue_->TakeAll(&batch_);
  *last_seq = last;
  const uint64_t area = file_->area_size();
  if ((rvm_optimizations & RVM_COALESCE_TRANS) && batch_.size() > 1)
    CoalesceTransactions(&batch_, area / 2, stats_);
  iov_.clear();
  dicts_.clear();
  uint64_t bytes = 0;
  for (PendingTxn& p : batch_) {
    for (;;) {
      if (writer_.next_offset() >= next_generation_) StartGeneration();
      need_dict_.clear();
      uint64_t need = log::RecordSize(p.record.size() - log::kRecordHeaderSize) +
                      dict_->Missing(p.seg_codes, &need_dict_);
      uint64_t head = truncator_->head();
      if (writer_.next_offset() + need - head <= area) break;
      // The log is full: what is framed so far goes out (completing only the
      // transactions of earlier batches), then the truncator makes room.
      if (!iov_.empty()) {
        Status s = SendIov(bytes, framed_seq_);
        if (!s.ok()) return s;
        iov_.clear();
        dicts_.clear();
        bytes = 0;
        continue;
      }
      if (need > area)  // Commit() refuses such transactions
        return Failed(Status::Failed("a queued transaction is larger than the log"));
      stats_->Update([](LogCounters& c) { c.n_truncation_wait++; });
      LogPoint tail = StartGeneration();
      rvm_return_t rc = truncator_->MakeRoom(head, tail.offset + need - area, tail);
      if (rc != RVM_SUCCESS)
        return Failed(Status::IoError(
            "truncation to make room in the log failed: " + std::string(rvm_return(rc)), errno));
    }
    for (SegmentDictionary::Entry* e : need_dict_) {
      dicts_.emplace_back();
      writer_.Add(&dicts_.back(), log::RecordType::kSegmentDict, 0,
                  log::EncodeSegmentDict(e->code, e->path));
      dict_->MarkWritten(e);
      iov_.push_back({dicts_.back().data(), dicts_.back().size()});
      bytes += dicts_.back().size();
    }
    if (!need_dict_.empty())
      stats_->Update([n = need_dict_.size()](LogCounters& c) { c.n_special += n; });
    writer_.Finish(&p.record, 0, log::RecordType::kTransaction, p.flags);
    iov_.push_back({p.record.data(), p.record.size()});
    bytes += p.record.size();
  }
  // Nothing (more) to write: the queue's transactions went out in earlier
  // batches; the pipeline counts them durable with the last one.
  if (iov_.empty()) {
    framed_seq_ = std::max(framed_seq_, last);
    return Status::Ok();
  }
  return SendIov(bytes, last);
}

Status BatchFramer::SendIov(uint64_t bytes, uint64_t last_seq) {
  uint64_t offset = writer_.next_offset() - bytes;
  Status s = pipeline_->SendBatch(offset, iov_.data(), static_cast<int>(iov_.size()), last_seq);
  if (!s.ok()) return Failed(s);
  framed_seq_ = std::max(framed_seq_, last_seq);
  truncator_->Sent(LogPoint{writer_.next_offset(), writer_.next_lsn()});
  const uint64_t area = file_->area_size();
  stats_->Update([&](LogCounters& c) {
    c.n_flush++;
    c.log_written_total += bytes;
    if (offset / area != (offset + bytes - 1) / area) c.n_wrap++;
  });
  return Status::Ok();
}

bool BatchFramer::SnapshotForTruncation(LogPoint* tail) {
  std::lock_guard<std::mutex> l(append_mu_);
  if (failed_ || truncator_->head() == writer_.next_offset()) return false;
  *tail = StartGeneration();
  return true;
}

rvm_return_t BatchFramer::TruncateAll() {
  std::lock_guard<std::mutex> l(append_mu_);
  if (failed_) return Fail(failure_.WithContext("no truncation after an earlier failure"));
  return truncator_->TruncateTo(StartGeneration());
}

rvm_return_t BatchFramer::WriteTailHint() {
  std::lock_guard<std::mutex> l(append_mu_);
  if (failed_) return RVM_SUCCESS;
  Status s = truncator_->WriteTailHint();
  return s.ok() ? RVM_SUCCESS : Fail(s);
}

}  // namespace rvmr::compat
