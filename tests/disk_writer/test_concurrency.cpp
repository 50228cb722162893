// DiskWriter with concurrent appenders: each append lands contiguously at
// the offset it was told, per-thread order is kept, durable offsets are
// reported in increasing order and only for bytes that are in the file, and
// full staging makes appenders wait.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/crc32c.h"
#include "disk_writer/disk_writer.h"
#include "test_util.h"

using rvmr::DiskFaultAction;
using rvmr::DiskFaultRequest;
using rvmr::DiskWriter;
using rvmr::DiskWriterOptions;
using rvmr::Status;
using rvmr::test::ReadFile;
using rvmr::test::TempDir;

namespace {

// A test record: thread (4) | sequence (4) | payload length (4) | payload |
// CRC32C of everything before (4), little-endian.
std::vector<char> MakeRecord(uint32_t thread, uint32_t seq, uint32_t len) {
  std::vector<char> r(12 + len + 4);
  std::memcpy(&r[0], &thread, 4);
  std::memcpy(&r[4], &seq, 4);
  std::memcpy(&r[8], &len, 4);
  for (uint32_t i = 0; i < len; i++) r[12 + i] = static_cast<char>(thread * 31 + seq + i);
  uint32_t crc = rvmr::crc32c::Value(r.data(), 12 + len);
  std::memcpy(&r[12 + len], &crc, 4);
  return r;
}

struct Placed {
  uint64_t end;
  uint32_t seq;
  uint32_t len;  // whole record length
};

}  // namespace

TEST_CASE("DiskWriter keeps concurrent appends whole and ordered", "[disk_writer][concurrent]") {
  const bool fallback = GENERATE(false, true);
  const bool direct = GENERATE(false, true);
  CAPTURE(fallback, direct);
  TempDir dir;
  DiskWriterOptions o;
  o.path = dir.File("log");
  o.area_size = 8 << 20;  // no wrap: the file is the stream
  o.staging_bytes = 64 * 1024;
  o.max_batch_bytes = 16 * 1024;
  o.force_fallback = fallback;
  o.use_o_direct = direct;
  std::unique_ptr<DiskWriter> w;
  Status s = DiskWriter::Open(o, &w);
  if (direct && s.code() == Status::Code::kIoError && s.sys_errno() == EINVAL) {
    WARN("O_DIRECT not supported on /tmp here; skipped");
    return;
  }
  REQUIRE(s.ok());

  std::mutex mu;
  std::vector<uint64_t> durables;
  bool durable_bytes_present = true;
  w->Subscribe([&](uint64_t d) {
    std::lock_guard<std::mutex> l(mu);
    durables.push_back(d);
  });
  // A second subscriber reads the file: what is durable must be written.
  int rfd = ::open(o.path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(rfd >= 0);
  w->Subscribe([&](uint64_t d) {
    // The record at the durable end's last 4 bytes is a CRC that must be
    // on file; cheap check: the file is at least d bytes long.
    struct stat st;
    if (::fstat(rfd, &st) != 0 || static_cast<uint64_t>(st.st_size) < d) {
      std::lock_guard<std::mutex> l(mu);
      durable_bytes_present = false;
    }
  });

  constexpr int kThreads = 4;
  constexpr int kPerThread = 400;
  std::vector<std::vector<Placed>> placed(kThreads);
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      for (uint32_t seq = 0; seq < kPerThread; seq++) {
        uint32_t len = 1 + (seq * 131 + t * 17) % 3000;
        std::vector<char> rec = MakeRecord(t, seq, len);
        uint64_t end = 0;
        Status st;
        if (seq % 3 == 0) {
          // Same bytes through the iovec variant, in three pieces.
          struct iovec iov[3] = {
              {rec.data(), 5}, {rec.data() + 5, 7}, {rec.data() + 12, rec.size() - 12}};
          st = w->AppendV(iov, 3, &end);
        } else {
          st = w->Append(rec.data(), rec.size(), &end);
        }
        if (!st.ok()) return;
        placed[t].push_back({end, seq, static_cast<uint32_t>(rec.size())});
        if (seq % 50 == 0) (void)w->WaitDurable(end);
      }
    });
  }
  go = true;
  for (auto& th : threads) th.join();
  uint64_t final_end = w->staged_offset();
  REQUIRE(w->WaitDurable(final_end).ok());
  rvmr::DiskWriterStats stats = w->stats();
  REQUIRE(w->Close().ok());
  ::close(rfd);

  // Each thread's appends got increasing offsets; all records tile the stream.
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (int t = 0; t < kThreads; t++) {
    REQUIRE(placed[t].size() == kPerThread);
    for (size_t i = 1; i < placed[t].size(); i++) REQUIRE(placed[t][i].end > placed[t][i - 1].end);
    for (const Placed& p : placed[t]) ranges.emplace_back(p.end - p.len, p.end);
  }
  std::sort(ranges.begin(), ranges.end());
  REQUIRE(ranges.front().first == 0);
  for (size_t i = 1; i < ranges.size(); i++) REQUIRE(ranges[i].first == ranges[i - 1].second);
  REQUIRE(ranges.back().second == final_end);

  // The file holds exactly the record each append was told it got.
  std::vector<char> file = ReadFile(o.path);
  REQUIRE(file.size() >= final_end);
  for (int t = 0; t < kThreads; t++) {
    for (const Placed& p : placed[t]) {
      std::vector<char> want = MakeRecord(t, p.seq, p.len - 16);
      if (std::memcmp(file.data() + (p.end - p.len), want.data(), p.len) != 0) {
        FAIL("record " << t << "/" << p.seq << " at " << (p.end - p.len) << " differs");
      }
    }
  }
  if (direct) {
    // Past the tail only the zero padding of the last block.
    REQUIRE(rvmr::test::Filled(file, final_end, file.size(), 0));
    REQUIRE(file.size() == (final_end + 4095) / 4096 * 4096);
  } else {
    REQUIRE(file.size() == final_end);
  }

  std::lock_guard<std::mutex> l(mu);
  REQUIRE(durable_bytes_present);
  REQUIRE(!durables.empty());
  for (size_t i = 1; i < durables.size(); i++) REQUIRE(durables[i] > durables[i - 1]);
  REQUIRE(durables.back() == final_end);
  REQUIRE(stats.bytes_staged == final_end);
  REQUIRE(stats.batches >= durables.size());
}

TEST_CASE("DiskWriter makes appenders wait when staging is full", "[disk_writer][concurrent]") {
  const bool fallback = GENERATE(false, true);
  CAPTURE(fallback);
  TempDir dir;
  std::atomic<bool> release{false};
  DiskWriterOptions o;
  o.path = dir.File("log");
  o.area_size = 1 << 20;
  o.staging_bytes = 8192;
  o.force_fallback = fallback;
  // Syncs wait for the test's go-ahead, so the ring cannot drain before.
  o.fault_hook = [&](const DiskFaultRequest& r) {
    if (r.op == DiskFaultRequest::Op::kSync) {
      while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return DiskFaultAction{};
  };
  std::unique_ptr<DiskWriter> w;
  REQUIRE(DiskWriter::Open(o, &w).ok());
  std::vector<char> data(8192, 'a');
  REQUIRE(w->Append(data.data(), data.size(), nullptr).ok());
  std::atomic<bool> appended{false};
  uint64_t end = 0;
  Status append_status;
  std::thread t([&] {
    append_status = w->Append(data.data(), 100, &end);
    appended = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  REQUIRE_FALSE(appended.load());  // cannot have found room: nothing is durable
  REQUIRE(w->staged_offset() == 8192);
  release = true;
  t.join();
  REQUIRE(append_status.ok());
  REQUIRE(end == 8292);
  REQUIRE(w->WaitDurable(8292).ok());
  rvmr::DiskWriterStats s = w->stats();
  REQUIRE(s.backpressure_waits == 1);
  REQUIRE(s.backpressure_wait_ns > 0);
  REQUIRE(s.max_lag_bytes == 8192);
  REQUIRE(w->Close().ok());
}

TEST_CASE("DiskWriter stays correct with faults while batches overlap",
          "[disk_writer][concurrent][faults]") {
  const bool fallback = GENERATE(false, true);
  const bool direct = GENERATE(false, true);
  CAPTURE(fallback, direct);
  TempDir dir;
  DiskWriterOptions o;
  o.path = dir.File("log");
  o.area_size = 4 << 20;  // no wrap: the file is the stream
  o.staging_bytes = 32 * 1024;
  o.max_batch_bytes = 8 * 1024;  // small batches: several in flight, many retries
  o.max_inflight_batches = 4;
  o.force_fallback = fallback;
  o.use_o_direct = direct;
  // Deterministic pseudo-random faults (the hook runs on the writer thread).
  uint64_t rng = 12345;
  o.fault_hook = [&rng](const DiskFaultRequest& r) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    uint32_t x = static_cast<uint32_t>(rng >> 33);
    DiskFaultAction a;
    if (r.op == DiskFaultRequest::Op::kWrite && x % 5 == 0) a.short_length = r.length / 2;
    if (x % 11 == 1) a.error = (x & 1) ? EAGAIN : EINTR;
    return a;
  };
  std::unique_ptr<DiskWriter> w;
  Status s = DiskWriter::Open(o, &w);
  if (direct && s.code() == Status::Code::kIoError && s.sys_errno() == EINVAL) {
    WARN("O_DIRECT not supported on /tmp here; skipped");
    return;
  }
  REQUIRE(s.ok());

  // At each durable advance, snapshot the newly durable bytes from the file.
  std::vector<char> snap(o.area_size);
  uint64_t snapped = 0;
  bool snap_ok = true;
  int rfd = ::open(o.path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(rfd >= 0);
  w->Subscribe([&](uint64_t d) {
    if (d <= snapped || d > snap.size() ||
        ::pread(rfd, snap.data() + snapped, d - snapped, snapped) != ssize_t(d - snapped)) {
      snap_ok = false;
    }
    snapped = d;
  });

  constexpr int kThreads = 3;
  constexpr int kPerThread = 150;
  std::vector<std::vector<Placed>> placed(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      for (uint32_t seq = 0; seq < kPerThread; seq++) {
        uint32_t len = 1 + (seq * 257 + t * 91) % 5000;
        std::vector<char> rec = MakeRecord(t, seq, len);
        uint64_t end = 0;
        if (!w->Append(rec.data(), rec.size(), &end).ok()) return;
        placed[t].push_back({end, seq, static_cast<uint32_t>(rec.size())});
      }
    });
  }
  for (auto& th : threads) th.join();
  uint64_t final_end = w->staged_offset();
  Status ws = w->WaitDurable(final_end);
  INFO(ws.ToString());
  REQUIRE(ws.ok());
  rvmr::DiskWriterStats stats = w->stats();
  REQUIRE(w->Close().ok());
  ::close(rfd);
  REQUIRE(stats.retries > 0);
  REQUIRE(snap_ok);
  REQUIRE(snapped == final_end);

  std::vector<char> file = ReadFile(o.path);
  REQUIRE(file.size() >= final_end);
  for (int t = 0; t < kThreads; t++) {
    REQUIRE(placed[t].size() == kPerThread);
    for (const Placed& p : placed[t]) {
      std::vector<char> want = MakeRecord(t, p.seq, p.len - 16);
      const char* at_durable = snap.data() + (p.end - p.len);
      const char* at_end = file.data() + (p.end - p.len);
      if (std::memcmp(at_end, want.data(), p.len) != 0 ||
          std::memcmp(at_durable, want.data(), p.len) != 0) {
        FAIL("record " << t << "/" << p.seq << " at " << (p.end - p.len) << " differs");
      }
    }
  }
}
