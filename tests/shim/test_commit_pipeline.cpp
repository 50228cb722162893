// CommitPipeline against a sink the test holds: batches form
// deterministically (the test waits on the pipeline's count of sleeping
// committers, never on a timer), completions wake exactly the committers
// they cover, the depth limit holds, a transport that cannot send while
// waiting never does both at once, and an error reaches every committer.
// Runs under ThreadSanitizer (label concurrent).
#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "shim/commit_pipeline.h"

using namespace rvmr;

namespace {

// A sink whose Send (durable_on_send) or Wait (pipelined) blocks while the
// test holds it, and that records what it was given.
class HeldSink : public LogSink {
 public:
  explicit HeldSink(Traits t) : traits_(t) {}

  Status Send(uint64_t offset, const struct iovec* iov, int iovcnt) override {
    std::unique_lock<std::mutex> l(mu_);
    size_t n = 0;
    for (int i = 0; i < iovcnt; i++) n += iov[i].iov_len;
    if (offset != sent_) return Status::InvalidArgument("send out of order");
    sending_++;
    if (waiting_ > 0 && !traits_.send_while_waiting) overlap_ = true;
    sends_.push_back(n);
    cv_.notify_all();
    if (traits_.durable_on_send) cv_.wait(l, [&] { return !held_ || fail_; });
    sending_--;
    if (fail_) return Status::IoError("held sink fails", 5);
    sent_ = offset + n;
    if (traits_.durable_on_send) done_ = sent_;
    return Status::Ok();
  }
  Status Wait(uint64_t end) override {
    std::unique_lock<std::mutex> l(mu_);
    waiting_++;
    if (sending_ > 0 && !traits_.send_while_waiting) overlap_ = true;
    cv_.wait(l, [&] { return fail_ || (!held_ && end <= sent_) || end <= acked_; });
    waiting_--;
    if (fail_) return Status::Unavailable("held sink fails");
    done_ = std::max(done_, std::max(end, acked_));
    return Status::Ok();
  }
  uint64_t durable_end() const override {
    std::lock_guard<std::mutex> l(mu_);
    return done_;
  }
  Traits traits() const override { return traits_; }
  Status SyncToDisk(uint64_t) override { return Status::Ok(); }
  std::string Describe() const override { return "held"; }

  void Hold(bool on) {
    std::lock_guard<std::mutex> l(mu_);
    held_ = on;
    cv_.notify_all();
  }
  void Fail() {
    std::lock_guard<std::mutex> l(mu_);
    fail_ = true;
    cv_.notify_all();
  }
  // Waits until `n` Sends have started.
  void AwaitSends(size_t n) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return sends_.size() >= n; });
  }
  std::vector<size_t> sends() const {
    std::lock_guard<std::mutex> l(mu_);
    return sends_;
  }
  bool overlapped() const {
    std::lock_guard<std::mutex> l(mu_);
    return overlap_;
  }

 private:
  const Traits traits_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false, fail_ = false, overlap_ = false;
  int sending_ = 0, waiting_ = 0;
  uint64_t sent_ = 0, acked_ = 0, done_ = 0;
  std::vector<size_t> sends_;
};

// A commit queue: each transaction is 10 bytes; Lead sends everything queued
// as one batch.
class Queue : public BatchSource {
 public:
  uint64_t Push() {
    std::lock_guard<std::mutex> l(mu_);
    return ++queued_;
  }
  Status Lead(CommitPipeline* p, uint64_t* last_seq) override {
    uint64_t from, to;
    {
      std::lock_guard<std::mutex> l(mu_);
      from = framed_;
      to = framed_ = queued_;
    }
    *last_seq = to;
    if (to == from) return Status::Ok();
    buf_.assign(static_cast<size_t>(to - from) * 10, 'x');
    struct iovec v = {buf_.data(), buf_.size()};
    Status s = p->SendBatch(offset_, &v, 1, to);
    offset_ += buf_.size();
    return s;
  }

 private:
  std::mutex mu_;
  uint64_t queued_ = 0;  // mu_
  uint64_t framed_ = 0;  // mu_
  std::string buf_;      // the leader's
  uint64_t offset_ = 0;  // the leader's
};

// Committer threads: each queues one transaction and waits for it.
struct Committers {
  std::vector<std::thread> ts;
  std::atomic<int> ok{0}, failed{0};
  void Start(CommitPipeline* p, Queue* q, int n) {
    for (int i = 0; i < n; i++)
      ts.emplace_back([this, p, q] { (p->WaitDurable(q->Push()).ok() ? ok : failed)++; });
  }
  void Join() {
    for (auto& t : ts) t.join();
    ts.clear();
  }
};

void AwaitSleeping(const CommitPipeline& p, size_t n) {
  while (p.sleeping() < n) std::this_thread::yield();
}

}  // namespace

TEST_CASE("pipeline, durable sink: commits arriving during one write all join the next") {
  constexpr int kN = 8;
  HeldSink sink(LogSink::Traits{true, 0, true});
  Queue q;
  CommitPipeline p(&sink, &q);
  sink.Hold(true);
  Committers first;
  first.Start(&p, &q, 1);
  sink.AwaitSends(1);  // the first committer leads and is inside its write
  Committers later;
  later.Start(&p, &q, kN);
  AwaitSleeping(p, kN);  // all of them queued behind it
  sink.Hold(false);
  first.Join();
  later.Join();
  CHECK(first.ok == 1);
  CHECK(later.ok == kN);
  // One write for the first, one for all the others.
  CHECK(sink.sends() == std::vector<size_t>{10, kN * 10});
  CommitPipelineStats st = p.stats();
  CHECK(st.batches == 2);
  CHECK(st.transactions == kN + 1);
  CHECK(st.lead_handoffs == 1);
  CHECK(st.joins >= kN);
  CHECK(p.durable_seq() == kN + 1);
}

TEST_CASE("pipeline, pipelined sink: depth bounds the batches in flight, the rest share one") {
  constexpr int kN = 6;
  HeldSink sink(LogSink::Traits{false, 2, true});
  Queue q;
  CommitPipeline p(&sink, &q);
  sink.Hold(true);  // Sends return, Waits do not
  Committers a, b, rest;
  a.Start(&p, &q, 1);
  sink.AwaitSends(1);
  b.Start(&p, &q, 1);
  sink.AwaitSends(2);  // two batches in flight: the depth
  rest.Start(&p, &q, kN);
  // a reads acks (held), b and the kN others sleep: nobody sends a third.
  AwaitSleeping(p, kN + 1);
  CHECK(sink.sends().size() == 2);
  CHECK(p.stats().in_flight == 2);
  sink.Hold(false);
  a.Join();
  b.Join();
  rest.Join();
  CHECK(a.ok + b.ok + rest.ok == kN + 2);
  CHECK(sink.sends() == std::vector<size_t>{10, 10, kN * 10});
  CommitPipelineStats st = p.stats();
  CHECK(st.max_in_flight == 2);
  CHECK(st.batches == 3);
  CHECK(st.in_flight == 0);
}

TEST_CASE("pipeline: a transport that cannot send while waiting never does both") {
  HeldSink sink(LogSink::Traits{false, 4, false});
  Queue q;
  CommitPipeline p(&sink, &q);
  Committers c;
  for (int round = 0; round < 50; round++) c.Start(&p, &q, 4);
  c.Join();
  CHECK(c.ok == 200);
  CHECK_FALSE(sink.overlapped());
  CHECK(p.durable_seq() == 200);
}

TEST_CASE("pipeline: a failed write fails every committer, now and later") {
  HeldSink sink(LogSink::Traits{false, 2, true});
  Queue q;
  CommitPipeline p(&sink, &q);
  sink.Hold(true);
  Committers c;
  c.Start(&p, &q, 1);
  sink.AwaitSends(1);
  Committers more;
  more.Start(&p, &q, 5);
  AwaitSleeping(p, 4);  // one leads or reads, the rest sleep
  sink.Fail();
  c.Join();
  more.Join();
  CHECK(c.ok + more.ok == 0);
  CHECK(c.failed + more.failed == 6);
  CHECK_FALSE(p.error().ok());
  CHECK_FALSE(p.WaitDurable(q.Push()).ok());
}

TEST_CASE("pipeline: many committers, many rounds, every commit durable in order") {
  for (bool durable : {true, false}) {
    HeldSink sink(LogSink::Traits{durable, durable ? 0u : 3u, true});
    Queue q;
    CommitPipeline p(&sink, &q);
    std::vector<std::thread> ts;
    std::atomic<int> bad{0};
    for (int t = 0; t < 8; t++)
      ts.emplace_back([&] {
        for (int i = 0; i < 200; i++) {
          uint64_t seq = q.Push();
          if (!p.WaitDurable(seq).ok() || p.durable_seq() < seq) bad++;
        }
      });
    for (auto& t : ts) t.join();
    CHECK(bad == 0);
    CommitPipelineStats st = p.stats();
    CHECK(st.transactions == 1600);
    CHECK(st.in_flight == 0);
    size_t bytes = 0;
    for (size_t n : sink.sends()) bytes += n;
    CHECK(bytes == 16000);
  }
}
