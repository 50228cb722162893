#include "shim/commit_pipeline.h"

#include <algorithm>

namespace rvmr {

CommitPipeline::CommitPipeline(LogSink* sink, BatchSource* source)
    : sink_(sink), source_(source), traits_(sink->traits()) {}

bool CommitPipeline::CanLeadLocked() const {
  if (leading_) return false;
  if (traits_.max_in_flight > 0 && in_flight_.size() >= traits_.max_in_flight) return false;
  return traits_.send_while_waiting || !reading_;
}

bool CommitPipeline::CanReadLocked() const {
  if (reading_ || in_flight_.empty()) return false;
  return traits_.send_while_waiting || !leading_;
}

CommitPipeline::Role CommitPipeline::TakeRoleLocked(Waiter* w) {
  // DispatchLocked hands a role that frees up to the oldest sleeper that
  // needs it, so a role found free here has nobody queued for it.
  if (w->seq > sent_seq_) {
    if (!CanLeadLocked()) return Role::kNone;
    leading_ = true;
    return Role::kLead;
  }
  if (!CanReadLocked()) return Role::kNone;
  reading_ = true;
  return Role::kRead;
}

void CommitPipeline::CompleteLocked(uint64_t end) {
  uint64_t durable = durable_seq_.load(std::memory_order_relaxed);
  while (!in_flight_.empty() && in_flight_.front().end <= end) {
    durable = std::max(durable, in_flight_.front().last_seq);
    in_flight_.pop_front();
  }
  durable_seq_.store(durable, std::memory_order_release);
  stats_.in_flight = in_flight_.size();
}

void CommitPipeline::DispatchLocked(Waiter** wake) {
  const uint64_t durable = durable_seq_.load(std::memory_order_relaxed);
  const bool failed = !error_.ok();
  // *wake is built in order: the covered committers first, then the one
  // given a role. Covered committers go back to the program at once and in
  // classic mode often queue their next transaction before the new leader,
  // woken last, frames the batch: it then carries them too.
  Waiter** tail = wake;
  while (*tail) tail = &(*tail)->next;
  auto take = [&](Waiter** link) {
    Waiter* w = *link;
    *link = w->next;
    w->next = nullptr;
    *tail = w;
    tail = &w->next;
    n_sleepers_--;
  };
  // Covered (or failed): woken with no role; they return at once.
  for (Waiter** link = &sleepers_; *link;) {
    if (failed || (*link)->seq <= durable)
      take(link);
    else
      link = &(*link)->next;
  }
  if (failed) return;
  // The oldest sleeper that needs a free role gets it; sending first, so that
  // batches keep going out (over a transport that cannot send and wait at
  // once the reader role then waits for the leader, who usually takes it).
  auto hand = [&](bool lead) {
    for (Waiter** link = &sleepers_; *link; link = &(*link)->next) {
      Waiter* w = *link;
      const bool needs = lead ? w->seq > sent_seq_ : w->seq <= sent_seq_;
      if (!needs) continue;
      w->role = lead ? Role::kLead : Role::kRead;
      (lead ? leading_ : reading_) = true;
      (lead ? stats_.lead_handoffs : stats_.read_handoffs)++;
      take(link);
      return;
    }
  };
  if (CanLeadLocked()) hand(true);
  if (CanReadLocked()) hand(false);
}

void CommitPipeline::Wake(Waiter* list) {
  while (list) {
    Waiter* w = list;
    list = w->next;  // read before the store: the waiter may return at once
    w->woken.store(1, std::memory_order_release);
    w->woken.notify_one();
  }
}

void CommitPipeline::FailLocked(const Status& s) {
  if (error_.ok()) error_ = s;
}

Status CommitPipeline::Lead() {
  uint64_t last = 0;
  Status s = source_->Lead(this, &last);
  std::lock_guard<std::mutex> l(mu_);
  leading_ = false;
  if (!s.ok()) {
    FailLocked(s);
    return s;
  }
  if (last > sent_seq_) {
    // Transactions with no bytes of their own: durable with the batch before.
    sent_seq_ = last;
    if (in_flight_.empty())
      durable_seq_.store(std::max(durable_seq_.load(std::memory_order_relaxed), last),
                         std::memory_order_release);
    else
      in_flight_.back().last_seq = last;
  }
  return Status::Ok();
}

Status CommitPipeline::Read(uint64_t seq) {
  uint64_t end = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const InFlight& b : in_flight_)
      if (b.last_seq >= seq) {
        end = b.end;
        break;
      }
  }
  // The reader role keeps in_flight_'s front alive: only it completes batches.
  Status s = sink_->Wait(end);
  const uint64_t done = sink_->durable_end();
  std::lock_guard<std::mutex> l(mu_);
  reading_ = false;
  if (!s.ok()) {
    FailLocked(s);
    return s;
  }
  CompleteLocked(std::max(end, done));
  return Status::Ok();
}

Status CommitPipeline::WaitDurable(uint64_t seq) {
  if (durable_seq_.load(std::memory_order_acquire) >= seq) return Status::Ok();
  Waiter me;
  me.seq = seq;
  std::unique_lock<std::mutex> l(mu_);
  stats_.commits_waited++;
  for (;;) {
    if (!error_.ok()) return error_;
    if (durable_seq_.load(std::memory_order_relaxed) >= seq) return Status::Ok();
    Role r = me.role != Role::kNone ? me.role : TakeRoleLocked(&me);
    me.role = Role::kNone;
    if (r == Role::kNone) {
      // Join: sleep until a hand-off or a completion that covers us.
      Waiter** link = &sleepers_;
      while (*link && (*link)->seq <= seq) link = &(*link)->next;
      me.next = *link;
      *link = &me;
      n_sleepers_++;
      stats_.joins++;
      me.woken.store(0, std::memory_order_relaxed);
      l.unlock();
      while (me.woken.load(std::memory_order_acquire) == 0) me.woken.wait(0, std::memory_order_acquire);
      // Covered with no role: done without touching mu_ (the waker set role
      // and durable_seq_ before the release store that woke us).
      if (me.role == Role::kNone && durable_seq_.load(std::memory_order_acquire) >= seq)
        return Status::Ok();
      l.lock();
      continue;
    }
    l.unlock();
    Status s = r == Role::kLead ? Lead() : Read(seq);
    Waiter* wake = nullptr;
    l.lock();
    DispatchLocked(&wake);
    l.unlock();
    Wake(wake);
    if (!s.ok()) return s;
    l.lock();
  }
}

Status CommitPipeline::SendBatch(uint64_t offset, const struct iovec* iov, int iovcnt,
                                 uint64_t last_seq) {
  uint64_t end = offset;
  for (int i = 0; i < iovcnt; ++i) end += iov[i].iov_len;
  Status s = sink_->Send(offset, iov, iovcnt);
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> l(mu_);
  stats_.batches++;
  stats_.transactions += last_seq > sent_seq_ ? last_seq - sent_seq_ : 0;
  sent_seq_ = std::max(sent_seq_, last_seq);
  if (traits_.durable_on_send) {
    durable_seq_.store(std::max(durable_seq_.load(std::memory_order_relaxed), sent_seq_),
                       std::memory_order_release);
    return Status::Ok();
  }
  in_flight_.push_back(InFlight{end, sent_seq_});
  stats_.in_flight = in_flight_.size();
  stats_.max_in_flight = std::max<uint64_t>(stats_.max_in_flight, in_flight_.size());
  return Status::Ok();
}

size_t CommitPipeline::sleeping() const {
  std::lock_guard<std::mutex> l(mu_);
  return n_sleepers_;
}

Status CommitPipeline::error() const {
  std::lock_guard<std::mutex> l(mu_);
  return error_;
}

CommitPipelineStats CommitPipeline::stats() const {
  std::lock_guard<std::mutex> l(mu_);
  return stats_;
}

}  // namespace rvmr
