// RemoteSink against real log servers on loopback: the synchronous remote
// append plus background disk write, trim, mirror loss and return, strict
// policy, fencing, disk failure, and recovery of the tail from the mirrors.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "remote_log/log_store.h"
#include "remote_log/server.h"
#include "shim/log_record_reader.h"
#include "shim/log_record_writer.h"
#include "shim/log_sink.h"
#include "shim/log_source.h"
#include "shim/log_status.h"
#include "shim/remote_marker.h"
#include "shim/remote_sink.h"
#include "sink_fixtures.h"

using namespace rvmr;
using namespace rvmr::sinktest;

namespace {

// Builds the state a crashed writer leaves: `n` records of `size` bytes (fill
// = record index) held by every mirror in `mirrors`, of which only the first
// `on_disk` reached the disk copy. Returns the end offsets of each record.
std::vector<uint64_t> SeedCrashState(const TempLog& log, std::vector<Mirror*> mirrors, int n,
                                     int on_disk, size_t size = 300) {
  log::LogRecordWriter w(1, 0, 1);
  std::string all;
  std::vector<uint64_t> ends;
  for (int i = 0; i < n; ++i) {
    w.Add(&all, log::RecordType::kTransaction, 0, std::string(size, static_cast<char>(i)));
    ends.push_back(w.next_offset());
  }
  const std::string name = RemoteLogName(log.st);
  const std::string sealed = log.Sealed(0, all);
  for (Mirror* m : mirrors) {
    std::shared_ptr<remote_log::LogStore::Log> h;
    remote_log::LogInfo info;
    REQUIRE(m->server->store().Open(name, 1, true, 0, &h, &info) == 0);
    uint64_t tail = 0;
    REQUIRE(m->server->store().Append(h.get(), 1, 0,
                                      reinterpret_cast<const uint8_t*>(sealed.data()),
                                      sealed.size(), &tail) == 0);
  }
  const uint64_t disk_end = on_disk == 0 ? 0 : ends[on_disk - 1];
  REQUIRE(::pwrite(log.fd, all.data(), disk_end, static_cast<off_t>(log.st.area_start)) ==
          static_cast<ssize_t>(disk_end));
  return ends;
}

}  // namespace

TEST_CASE("remote sink: a commit is on the mirror when Append returns, on disk soon after") {
  TempLog log;
  Mirror m1, m2;
  std::unique_ptr<RemoteSink> sink;
  REQUIRE(RemoteSink::Open(log.Config(), Cfg({m1.uri(), m2.uri()}), &sink).ok());
  CHECK(sink->recovery().recovered_tail == 0);
  Framer f(sink->recovery().epoch, 0, 1);
  for (int i = 0; i < 50; ++i) {
    REQUIRE(AppendRecord(sink.get(), &f, 100 + i, static_cast<char>('a' + i % 26)).ok());
    // Synchronous remote append: both mirrors hold the record already.
    CHECK(m1.Info().tail == f.w.next_offset());
    CHECK(m2.Info().tail == f.w.next_offset());
  }
  REQUIRE(sink->SyncToDisk(f.w.next_offset()).ok());
  auto recs = log.DiskRecords();
  REQUIRE(recs.size() == 50);
  CHECK(recs[49].payload == std::string(149, static_cast<char>('a' + 49 % 26)));
  ShimStats st = sink->stats();
  CHECK(st.appends == 50);
  CHECK(st.remote_acks == 50);
  CHECK(st.fallback_commits == 0);
  CHECK_FALSE(st.degraded);
}

TEST_CASE("remote sink: mirrors are trimmed as the disk copy becomes durable") {
  TempLog log;
  Mirror m;
  ShimConfig c = Cfg({m.uri()});
  c.trim_interval_bytes = 4096;
  std::unique_ptr<RemoteSink> sink;
  REQUIRE(RemoteSink::Open(log.Config(), c, &sink).ok());
  Framer f(sink->recovery().epoch, 0, 1);
  for (int i = 0; i < 200; ++i) {
    REQUIRE(AppendRecord(sink.get(), &f, 1000, 'x').ok());
    if (i % 20 == 0) REQUIRE(sink->SyncToDisk(f.w.next_offset()).ok());
  }
  CHECK(sink->stats().trims > 0);
  CHECK(m.Info().start > 0);
  CHECK(m.Info().durable > 0);
  CHECK(m.Info().durable <= sink->stats().disk_durable);
}

TEST_CASE("remote sink: recovery copies the tail the disk lost from the mirror") {
  TempLog log;
  Mirror m;
  // The local machine crashed: 30 commits acknowledged by the mirror, only
  // the first 10 reached the disk.
  auto ends = SeedCrashState(log, {&m}, 30, 10);
  REQUIRE(log.DiskRecords().size() == 10);

  std::unique_ptr<RemoteSink> sink;
  REQUIRE(RemoteSink::Open(log.Config(), Cfg({m.uri()}), &sink).ok());
  const auto& rep = sink->recovery();
  CHECK(rep.disk_tail == ends[9]);
  CHECK(rep.recovered_tail == ends[29]);
  CHECK(rep.fetched_bytes == ends[29] - ends[9]);
  CHECK(rep.source == m.uri());
  CHECK(rep.epoch == 2);
  CHECK_FALSE(rep.lost);
  CHECK_FALSE(rep.unverified);
  auto recs = log.DiskRecords();
  REQUIRE(recs.size() == 30);
  CHECK(recs[29].payload == std::string(300, static_cast<char>(29)));
  // The new writer continues at the recovered tail with the new epoch.
  Framer f(rep.epoch, ends[29], 31);
  CHECK(AppendRecord(sink.get(), &f, 10, 'z').ok());
  CHECK(m.Info().tail == f.w.next_offset());
  CHECK(m.Info().epoch == rep.epoch);
}

TEST_CASE("remote sink: an abandoned mirror copy is dropped and the log continues beyond it") {
  TempLog log;
  Mirror m;
  // The mirror holds 30 records of epoch 1; the disk only the first 10. The
  // log's marker says copies below epoch 5 were abandoned (a start without
  // mirrors, then one with other mirrors that this one missed).
  auto ends = SeedCrashState(log, {&m}, 30, 10);
  RemoteMarker mk;
  mk.name = RemoteLogName(log.st);
  mk.log_id = mk.name;
  mk.stale_below_epoch = 5;
  REQUIRE(WriteRemoteMarker(log.path, mk).ok());
  LogSinkConfig cfg = log.Config();
  cfg.status.epoch = 6;  // the status block's epoch, bumped at every open
  std::unique_ptr<RemoteSink> sink;
  REQUIRE(RemoteSink::Open(cfg, Cfg({m.uri()}), &sink).ok());
  const auto& rep = sink->recovery();
  CHECK(rep.fetched_bytes == 0);  // never a source
  REQUIRE(rep.dropped.size() == 1);
  CHECK(rep.dropped[0].uri == m.uri());
  CHECK(rep.dropped[0].from == 0);
  CHECK(rep.dropped[0].to == ends[29]);
  CHECK(rep.padded_from == ends[9]);
  CHECK(rep.padded_to == ends[29]);
  CHECK(rep.recovered_tail == ends[29]);
  CHECK_FALSE(rep.lost);
  CHECK_FALSE(rep.unverified);
  // The disk copy: the 10 records, then padding up to the stale copy's end.
  log::FileLogSource src(log.fd, log.st.area_start, log.st.area_size);
  log::LogRecordReader r(&src, 0, log.st.area_size, 1, cfg.status.epoch);
  log::LogRecord rec;
  int txns = 0, pads = 0;
  while (r.ReadRecord(&rec).ok()) {
    if (rec.header.type == uint16_t(log::RecordType::kTransaction)) txns++;
    if (rec.header.type == uint16_t(log::RecordType::kPadding)) pads++;
  }
  CHECK(txns == 10);
  CHECK(pads >= 1);
  CHECK(r.offset() == ends[29]);
  // The mirror was emptied and takes appends in step with the disk.
  CHECK(m.Info().start == ends[29]);
  Framer f(cfg.status.epoch, ends[29], r.last_lsn() + 1);
  REQUIRE(AppendRecord(sink.get(), &f, 64, 'n').ok());
  CHECK(m.Info().tail == f.w.next_offset());
  // The marker keeps the bound, and says the log is open.
  RemoteMarker now;
  bool exists = false;
  REQUIRE(ReadRemoteMarker(log.path, &now, &exists).ok());
  CHECK(now.state == RemoteMarker::State::kOpen);
  CHECK(now.stale_below_epoch == 5);
  CHECK(now.disk_end == ends[29]);
}

TEST_CASE("remote sink: a corrupt mirror copy is reported and the good one used") {
  TempLog log;
  Mirror good, bad;
  auto ends = SeedCrashState(log, {&good}, 20, 5, 200);
  // The bad mirror's copy is damaged after record 5 (and claims more bytes).
  {
    std::shared_ptr<remote_log::LogStore::Log> h;
    remote_log::LogInfo info;
    REQUIRE(bad.server->store().Open(RemoteLogName(log.st), 1, true, ends[4], &h, &info) == 0);
    std::string junk(ends[19] - ends[4] + 64, '\x5a');
    uint64_t tail = 0;
    REQUIRE(bad.server->store().Append(h.get(), 1, ends[4],
                                       reinterpret_cast<const uint8_t*>(junk.data()), junk.size(),
                                       &tail) == 0);
  }
  std::unique_ptr<RemoteSink> sink;
  REQUIRE(RemoteSink::Open(log.Config(), Cfg({bad.uri(), good.uri()}), &sink).ok());
  const auto& rep = sink->recovery();
  CHECK(rep.recovered_tail == ends[19]);
  CHECK(rep.source == good.uri());
  CHECK_FALSE(rep.lost);  // with ack=all, nothing beyond the good copy was acknowledged
  bool reported = false;
  for (const auto& p : rep.problems)
    if (p.find(bad.uri()) != std::string::npos && p.find("fails verification") != std::string::npos)
      reported = true;
  CHECK(reported);
  CHECK(log.DiskRecords().size() == 20);
}

TEST_CASE("remote sink: a range no copy can supply is reported exactly as lost") {
  TempLog log;
  Mirror m;
  uint64_t lost_from = 0, end = 0;
  {
    ShimConfig c = Cfg({m.uri()});
    c.trim_interval_bytes = 1;  // trim at every opportunity
    std::unique_ptr<RemoteSink> sink;
    REQUIRE(RemoteSink::Open(log.Config(), c, &sink).ok());
    Framer f(sink->recovery().epoch, 0, 1);
    for (int i = 0; i < 10; ++i) REQUIRE(AppendRecord(sink.get(), &f, 500, 'q').ok());
    end = f.w.next_offset();
    REQUIRE(sink->SyncToDisk(end).ok());
    REQUIRE(AppendRecord(sink.get(), &f, 500, 'r').ok());  // trims the mirror up to `end`
    end = f.w.next_offset();
    lost_from = 1000;  // anywhere before the mirror's start
  }
  REQUIRE(m.Info().start > lost_from);
  // The disk lost what the mirror had already dropped: the design cannot
  // survive this, and must say so exactly.
  log.LoseDiskTailFrom(0);
  std::unique_ptr<RemoteSink> sink;
  REQUIRE(RemoteSink::Open(log.Config(), Cfg({m.uri()}), &sink).ok());
  const auto& rep = sink->recovery();
  CHECK(rep.lost);
  CHECK(rep.lost_from == 0);
  CHECK(rep.lost_to == end);

  ShimConfig strict = Cfg({m.uri()});
  strict.failure_policy = ShimConfig::FailurePolicy::kStrict;
  sink.reset();
  std::unique_ptr<RemoteSink> sink2;
  Status s = RemoteSink::Open(log.Config(), strict, &sink2);
  CHECK_FALSE(s.ok());
}

TEST_CASE("remote sink: with every mirror gone the unverifiable window is reported") {
  TempLog log;
  Mirror m;
  std::string uri = m.uri();
  m.Stop();
  std::unique_ptr<RemoteSink> sink;
  REQUIRE(RemoteSink::Open(log.Config(), Cfg({uri}), &sink).ok());
  CHECK(sink->recovery().unverified);
  CHECK(sink->stats().degraded);
  // Commits still succeed, by waiting for the disk.
  Framer f(sink->recovery().epoch, 0, 1);
  REQUIRE(AppendRecord(sink.get(), &f, 64, 'd').ok());
  CHECK(sink->stats().fallback_commits == 1);
  CHECK(sink->stats().disk_durable >= f.w.next_offset());
  sink.reset();

  ShimConfig req = Cfg({uri});
  req.require_mirror_at_recovery = true;
  CHECK_FALSE(RemoteSink::Open(log.Config(), req, &sink).ok());
}

TEST_CASE("remote sink: a lost mirror makes commits wait for the disk until it is back") {
  TempLog log;
  Mirror m;
  const uint16_t port = m.port;
  std::unique_ptr<RemoteSink> sink;
  REQUIRE(RemoteSink::Open(log.Config(), Cfg({m.uri()}), &sink).ok());
  Framer f(sink->recovery().epoch, 0, 1);
  for (int i = 0; i < 5; ++i) REQUIRE(AppendRecord(sink.get(), &f, 100, 'a').ok());
  m.Stop();
  // The mirror is gone: the commit still succeeds, durable on the local disk.
  REQUIRE(AppendRecord(sink.get(), &f, 100, 'b').ok());
  ShimStats st = sink->stats();
  CHECK(st.degraded);
  CHECK(st.fallback_commits == 1);
  CHECK(st.disk_durable >= f.w.next_offset());
  REQUIRE(AppendRecord(sink.get(), &f, 100, 'c').ok());
  CHECK(sink->stats().fallback_commits == 2);
  // The mirror comes back (restarted: its log is gone) and is caught up.
  m.Start(port);
  bool restored = false;
  for (int i = 0; i < 200 && !restored; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(AppendRecord(sink.get(), &f, 100, 'd').ok());
    restored = !sink->stats().degraded;
  }
  REQUIRE(restored);
  CHECK(sink->stats().mirror_restores == 1);
  const uint64_t acks = sink->stats().remote_acks;
  REQUIRE(AppendRecord(sink.get(), &f, 100, 'e').ok());
  CHECK(sink->stats().remote_acks == acks + 1);
  CHECK(m.Info().tail == f.w.next_offset());
  REQUIRE(sink->SyncToDisk(f.w.next_offset()).ok());
  CHECK(log.DiskRecords().size() == static_cast<size_t>(f.w.next_lsn() - 1));
}

TEST_CASE("remote sink: the strict policy fails a commit the mirrors cannot acknowledge") {
  TempLog log;
  Mirror m;
  ShimConfig c = Cfg({m.uri()});
  c.failure_policy = ShimConfig::FailurePolicy::kStrict;
  std::unique_ptr<RemoteSink> sink;
  REQUIRE(RemoteSink::Open(log.Config(), c, &sink).ok());
  Framer f(sink->recovery().epoch, 0, 1);
  REQUIRE(AppendRecord(sink.get(), &f, 100, 'a').ok());
  m.Stop();
  CHECK_FALSE(AppendRecord(sink.get(), &f, 100, 'b').ok());
  CHECK(sink->stats().fallback_commits == 0);
}

TEST_CASE("remote sink: a newer writer fences the old one") {
  TempLog log;
  Mirror m;
  std::unique_ptr<RemoteSink> old_sink;
  REQUIRE(RemoteSink::Open(log.Config(), Cfg({m.uri()}), &old_sink).ok());
  Framer f(old_sink->recovery().epoch, 0, 1);
  REQUIRE(AppendRecord(old_sink.get(), &f, 100, 'a').ok());
  REQUIRE(old_sink->SyncToDisk(f.w.next_offset()).ok());

  // A second writer recovers the same log (as after a failover): new epoch.
  TempLog other;  // its own disk copy; the remote log is named by the first log's id
  ShimConfig c2 = Cfg({m.uri()});
  c2.log_name = RemoteLogName(log.st);
  c2.log_key_file = log.path + ".key";  // taking a log over needs its key
  std::unique_ptr<RemoteSink> new_sink;
  REQUIRE(RemoteSink::Open(other.Config(), c2, &new_sink).ok());
  CHECK(new_sink->recovery().epoch > old_sink->recovery().epoch);
  CHECK(new_sink->recovery().fetched_bytes == f.w.next_offset());

  Status s = AppendRecord(old_sink.get(), &f, 100, 'b');
  CHECK(s.code() == Status::Code::kFenced);
  // Fenced is final: no fallback to the disk.
  CHECK(AppendRecord(old_sink.get(), &f, 100, 'c').code() == Status::Code::kFenced);
  CHECK(old_sink->stats().fallback_commits == 0);
}

TEST_CASE("remote sink: a disk writer failure fails the commit") {
  TempLog log;
  Mirror m;
  ShimConfig c = Cfg({m.uri()});
  c.disk_writer = ShimConfig::DiskWriterKind::kPwrite;
  std::atomic<bool> fail{false};
  c.disk_fault_hook = [&](const DiskFaultRequest&) {
    DiskFaultAction a;
    if (fail.load()) a.error = EIO;
    return a;
  };
  std::unique_ptr<RemoteSink> sink;
  REQUIRE(RemoteSink::Open(log.Config(), c, &sink).ok());
  Framer f(sink->recovery().epoch, 0, 1);
  REQUIRE(AppendRecord(sink.get(), &f, 100, 'a').ok());
  REQUIRE(sink->SyncToDisk(f.w.next_offset()).ok());
  fail = true;
  REQUIRE(AppendRecord(sink.get(), &f, 100, 'b').ok());   // acknowledged by the mirror
  CHECK_FALSE(sink->SyncToDisk(f.w.next_offset()).ok());  // the disk copy failed
  // From now on nothing more is acknowledged.
  bool failed = false;
  for (int i = 0; i < 100 && !failed; ++i) failed = !AppendRecord(sink.get(), &f, 100, 'c').ok();
  CHECK(failed);
}

TEST_CASE("remote sink: a second local process cannot open the same log file") {
  TempLog log;
  Mirror m;
  std::unique_ptr<RemoteSink> first;
  REQUIRE(RemoteSink::Open(log.Config(), Cfg({m.uri()}), &first).ok());
  LogSinkConfig c = log.Config();
  c.fd = ::open(log.path.c_str(), O_RDWR);  // another open file description
  REQUIRE(c.fd >= 0);
  std::unique_ptr<RemoteSink> second;
  Status s = RemoteSink::Open(c, Cfg({m.uri()}), &second);
  CHECK_FALSE(s.ok());
  CHECK(s.ToString().find("in use by another process") != std::string::npos);
  first.reset();
  ::close(c.fd);
}

TEST_CASE("remote sink: the open sink's counters are visible process-wide") {
  ShimStats none;
  CHECK_FALSE(GetActiveShimStats(&none));
  TempLog log;
  Mirror m;
  std::unique_ptr<RemoteSink> sink;
  REQUIRE(RemoteSink::Open(log.Config(), Cfg({m.uri()}), &sink).ok());
  Framer f(sink->recovery().epoch, 0, 1);
  REQUIRE(AppendRecord(sink.get(), &f, 10, 'a').ok());
  ShimStats st;
  REQUIRE(GetActiveShimStats(&st));
  CHECK(st.appends == 1);
  CHECK(st.remote_acks == 1);
  sink.reset();
  CHECK_FALSE(GetActiveShimStats(&st));
}

TEST_CASE("remote sink: several threads send and wait at once and every batch is acknowledged") {
  // Pipelined commits as the RVM core makes them: Sends serialised by a lock,
  // each thread then waiting for its own batch while others send and wait.
  TempLog log;
  Mirror m1, m2;
  std::unique_ptr<RemoteSink> sink;
  REQUIRE(RemoteSink::Open(log.Config(), Cfg({m1.uri(), m2.uri()}), &sink).ok());
  Framer f(sink->recovery().epoch, 0, 1);
  constexpr int kThreads = 4, kEach = 200;
  std::mutex send_mu;
  std::atomic<int> bad{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        uint64_t end;
        {
          std::lock_guard<std::mutex> l(send_mu);
          std::string rec = f.Next(50 + i % 200, static_cast<char>('a' + t));
          end = f.w.next_offset();
          struct iovec v = {rec.data(), rec.size()};
          if (!sink->Send(end - rec.size(), &v, 1).ok()) bad++;
        }
        if (!sink->Wait(end).ok()) bad++;
        // Acknowledged: both mirrors hold it (no Catch assertions here: not
        // thread-safe).
        for (Mirror* m : {&m1, &m2}) {
          auto logs = m->server->store().List();
          if (logs.size() != 1 || logs[0].info.tail < end) bad++;
        }
      }
    });
  for (auto& t : ts) t.join();
  CHECK(bad == 0);
  ShimStats st = sink->stats();
  CHECK(st.appends == kThreads * kEach);
  CHECK(st.remote_acks == kThreads * kEach);
  CHECK(st.fallback_commits == 0);
  REQUIRE(sink->SyncToDisk(f.w.next_offset()).ok());
  CHECK(log.DiskRecords().size() == static_cast<size_t>(kThreads * kEach));
}
