#include "commit_queue.h"

#include "shim/log_format.h"

namespace rvmr::compat {

uint64_t CommitQueue::Push(PendingTxn txn) {
  std::lock_guard<std::mutex> l(mu_);
  if (!txn.flush) {
    backlog_.n_no_flush++;
    backlog_.no_flush_bytes += log::RecordSize(txn.record.size() - log::kRecordHeaderSize);
  }
  queue_.push_back(std::move(txn));
  return ++last_seq_;
}

uint64_t CommitQueue::last_seq() {
  std::lock_guard<std::mutex> l(mu_);
  return last_seq_;
}

uint64_t CommitQueue::TakeAll(std::vector<PendingTxn>* out) {
  out->clear();
  std::lock_guard<std::mutex> l(mu_);
  out->swap(queue_);
  backlog_.n_no_flush = 0;
  backlog_.no_flush_bytes = 0;
  return last_seq_;
}

CommitQueue::Backlog CommitQueue::backlog() {
  std::lock_guard<std::mutex> l(mu_);
  Backlog b = backlog_;
  b.empty = queue_.empty();
  return b;
}

}  // namespace rvmr::compat
