// CommitPipeline: owns a commit from "queued" to "durable as the sink
// promises", for both sinks (LocalSink: written and fdatasync'ed; RemoteSink:
// acknowledged by the mirrors). It knows nothing of RVM: the core queues
// committed transactions with its BatchSource, numbering them 1, 2, 3, ...,
// and asks WaitDurable(n) for the n-th.
//
// Group commit, leader/follower with explicit hand-off (as RocksDB's
// WriteThread), waiters covered by whoever completes a batch (as PostgreSQL's
// WAL flush), batches in flight per connection (as the Kafka producer):
//
//  - Lead or join. A committer whose transaction is not sent yet either leads
//    (asks the BatchSource to frame everything queued and send it as one
//    batch) or, while another leads, joins: it sleeps and its transaction
//    goes out with the next batch. When a leader is done it hands the role to
//    the oldest committer still waiting for a batch, so nobody barges past
//    queued committers: in classic mode every commit that arrives during one
//    write + fdatasync joins the next one.
//  - Completion-driven. The thread that reads a batch's acknowledgement (the
//    reader: the oldest committer whose batch is in flight) wakes exactly the
//    committers it covers, each on its own futex, and hands the reader role to
//    the next committer that needs it. No wait is a timed poll.
//  - Depth and transports. At most LogSink::Traits::max_in_flight batches are
//    sent and not yet durable; commits made meanwhile join the next batch.
//    A sink whose transport cannot send while another thread waits for acks
//    (RDMA) gets the two roles one after the other, never at once.
//
// Lock order: the pipeline's mu_ is a leaf for its users; it is never held
// across BatchSource or LogSink calls. BatchSource::Lead may call SendBatch,
// which takes mu_ briefly.
#pragma once

#include <sys/uio.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>

#include "common/status.h"
#include "shim/log_sink.h"

namespace rvmr {

class CommitPipeline;

// The pipeline's source of framed batches (the RVM core's commit queue).
class BatchSource {
 public:
  virtual ~BatchSource() = default;
  // Called by the leader, one leader at a time: frames every transaction
  // queued so far and hands the bytes to pipeline->SendBatch (once, or
  // several times if the log fills up on the way). Returns once they are
  // sent; *last_seq = the number of the last transaction taken (those with
  // no bytes to write, if any, are durable with the batch before them).
  virtual Status Lead(CommitPipeline* pipeline, uint64_t* last_seq) = 0;
};

// Counters of the pipeline (monotonic except in_flight).
struct CommitPipelineStats {
  uint64_t batches = 0;        // SendBatch calls: log writes
  uint64_t transactions = 0;   // transactions carried by those writes
  uint64_t commits_waited = 0; // WaitDurable calls that had to wait or work
  uint64_t joins = 0;          // times a committer slept while others worked
  uint64_t lead_handoffs = 0;  // leader role handed to a waiting committer
  uint64_t read_handoffs = 0;  // reader role handed to a waiting committer
  uint64_t in_flight = 0;      // batches sent and not yet durable, now
  uint64_t max_in_flight = 0;  // the most at once
};

class CommitPipeline {
 public:
  // `sink` and `source` outlive the pipeline.
  CommitPipeline(LogSink* sink, BatchSource* source);
  CommitPipeline(const CommitPipeline&) = delete;
  CommitPipeline& operator=(const CommitPipeline&) = delete;

  // Returns once transaction `seq` (already queued with the BatchSource) and
  // every one before it are durable as the sink promises; leads, reads acks
  // or sleeps as needed. After a Send or Wait error every call returns that
  // error (the log takes no more commits).
  Status WaitDurable(uint64_t seq);

  // For BatchSource::Lead only: sends [offset, offset+len) given as iovecs
  // (see LogSink::Send) as a batch carrying transactions up to `last_seq`.
  Status SendBatch(uint64_t offset, const struct iovec* iov, int iovcnt, uint64_t last_seq);

  // Transactions up to here are durable (non-blocking).
  uint64_t durable_seq() const { return durable_seq_.load(std::memory_order_acquire); }

  // Committers asleep in WaitDurable now (tests wait for a batch to form on
  // this, not on a timer).
  size_t sleeping() const;

  // The first error, OK while none.
  Status error() const;

  CommitPipelineStats stats() const;

 private:
  enum class Role { kNone, kLead, kRead };
  // One committer inside WaitDurable (lives on its stack).
  struct Waiter {
    uint64_t seq = 0;
    Role role = Role::kNone;        // mu_: given by a hand-off
    std::atomic<uint32_t> woken{0};  // set (then notified) to end its sleep
    Waiter* next = nullptr;         // mu_: in sleepers_
  };
  // A batch sent and not yet durable.
  struct InFlight {
    uint64_t end;
    uint64_t last_seq;
  };

  // Takes a free role for w if it needs one and nobody is queued ahead of it
  // (mu_ held). Returns the role taken.
  Role TakeRoleLocked(Waiter* w);
  bool CanLeadLocked() const;
  bool CanReadLocked() const;
  // The batches up to `end` are durable (mu_ held).
  void CompleteLocked(uint64_t end);
  // Moves the committers to wake from sleepers_ to *wake: those covered by
  // durable_seq_ (or all, after an error), and the oldest that needs a free
  // role, with the role, appended to *wake in that order (mu_ held).
  void DispatchLocked(Waiter** wake);
  static void Wake(Waiter* list);
  void FailLocked(const Status& s);
  Status Lead();
  Status Read(uint64_t seq);

  LogSink* const sink_;
  BatchSource* const source_;
  const LogSink::Traits traits_;

  mutable std::mutex mu_;
  Status error_;                     // mu_
  bool leading_ = false;             // mu_: a committer holds the leader role
  bool reading_ = false;             // mu_: a committer holds the reader role
  uint64_t sent_seq_ = 0;            // mu_: transactions up to here were sent
  std::deque<InFlight> in_flight_;   // mu_: sent, not yet durable, in log order
  Waiter* sleepers_ = nullptr;       // mu_: asleep, oldest transaction first
  size_t n_sleepers_ = 0;            // mu_
  std::atomic<uint64_t> durable_seq_{0};  // written under mu_
  CommitPipelineStats stats_;        // mu_
};

}  // namespace rvmr
