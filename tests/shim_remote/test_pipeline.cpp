// RemoteSink's pipelined appends: Send returns without waiting for the
// mirrors, Wait does, and a batch whose mirror is lost while it is in flight
// falls back to the disk (or fails under the strict policy). The mirror runs
// in its own process so that it can be stopped (acks held) and killed.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "mirror_process.h"
#include "sink_fixtures.h"

using namespace rvmr;
using namespace rvmr::sinktest;

namespace {

// Sends one framed record without waiting; returns its end offset.
uint64_t SendRecord(RemoteSink* sink, Framer* f, size_t size, char fill) {
  std::string rec = f->Next(size, fill);
  const uint64_t end = f->w.next_offset();
  struct iovec v = {rec.data(), rec.size()};
  REQUIRE(sink->Send(end - rec.size(), &v, 1).ok());
  return end;
}

// Waits for `end` in another thread; done() tells whether it returned.
struct Waiter {
  std::atomic<bool> finished{false};
  Status status;
  std::thread t;
  Waiter(RemoteSink* sink, uint64_t end) {
    t = std::thread([this, sink, end] {
      status = sink->Wait(end);
      finished = true;
    });
  }
  ~Waiter() {
    if (t.joinable()) t.join();
  }
  Status Join() {
    t.join();
    return status;
  }
};

// A sink on one mirror in its own process, which a test stops and kills; a
// stopped mirror is not taken for a failed one (long io timeout).
struct PipelineRig {
  TempLog log;
  MirrorProcess m;
  std::unique_ptr<RemoteSink> sink;
  std::unique_ptr<Framer> f;
  explicit PipelineRig(ShimConfig::FailurePolicy policy = ShimConfig::FailurePolicy::kFallback) {
    ShimConfig c = Cfg({m.uri()});
    c.io_timeout_ms = 30000;
    c.failure_policy = policy;
    REQUIRE(RemoteSink::Open(log.Config(), c, &sink).ok());
    f = std::make_unique<Framer>(sink->recovery().epoch, 0, 1);
  }
  uint64_t Send(size_t size, char fill) { return SendRecord(sink.get(), f.get(), size, fill); }
};

}  // namespace

TEST_CASE("remote sink: Sends go out while earlier acks are outstanding and Wait waits for them") {
  PipelineRig rig;
  RemoteSink* sink = rig.sink.get();
  const uint64_t first = rig.Send(100, 'a');
  REQUIRE(sink->Wait(first).ok());
  rig.m.Pause();  // appends reach the mirror's socket; no ack comes back
  const uint64_t e1 = rig.Send(100, 'b');
  const uint64_t e2 = rig.Send(200, 'c');
  const uint64_t e3 = rig.Send(300, 'd');
  ShimStats st = sink->stats();
  CHECK(st.appends == 4);
  CHECK(st.max_in_flight == 3);
  CHECK(st.remote_acks == 1);
  Waiter w1(sink, e1), w3(sink, e3);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK_FALSE(w1.finished);  // no ack, no return: the disk alone is not enough
  CHECK_FALSE(w3.finished);
  CHECK(sink->Wait(first).ok());  // what is acked stays acked
  rig.m.Resume();
  CHECK(w1.Join().ok());
  CHECK(w3.Join().ok());
  CHECK(sink->Wait(e2).ok());
  st = sink->stats();
  CHECK(st.remote_acks == 4);
  CHECK(st.fallback_commits == 0);
  CHECK_FALSE(sink->Wait(e3 + 1).ok());  // beyond what was sent
}

TEST_CASE("remote sink: batches in flight when the mirror dies wait for the disk instead") {
  PipelineRig rig;
  RemoteSink* sink = rig.sink.get();
  rig.m.Pause();
  const uint64_t e1 = rig.Send(100, 'a');
  const uint64_t e2 = rig.Send(100, 'b');
  Waiter w1(sink, e1);
  rig.m.Kill();  // the connection breaks with both batches unacknowledged
  CHECK(w1.Join().ok());
  CHECK(sink->Wait(e2).ok());
  ShimStats st = sink->stats();
  CHECK(st.remote_acks == 0);
  CHECK(st.fallback_commits == 2);
  CHECK(st.degraded);
  CHECK(st.disk_durable >= e2);  // Wait returned: the disk holds both
  REQUIRE(rig.log.DiskRecords().size() == 2);
}

TEST_CASE("remote sink: under the strict policy a batch in flight when the mirror dies fails") {
  PipelineRig rig(ShimConfig::FailurePolicy::kStrict);
  rig.m.Pause();
  Waiter w1(rig.sink.get(), rig.Send(100, 'a'));
  rig.m.Kill();
  Status s = w1.Join();
  CHECK_FALSE(s.ok());
  CHECK(s.code() == Status::Code::kUnavailable);
  CHECK(rig.sink->stats().remote_acks == 0);
}
