// DiskWriter under faults: short writes, EAGAIN/EINTR, EIO, ENOSPC (a real
// full tmpfs where the test may mount one), and the retry limit. Faults are
// injected through the fault hook while the real io_uring (or pwritev) path
// runs.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "disk_writer/disk_writer.h"
#include "test_util.h"

using rvmr::DiskFaultAction;
using rvmr::DiskFaultRequest;
using rvmr::DiskWriter;
using rvmr::DiskWriterOptions;
using rvmr::Status;
using rvmr::test::Pattern;
using rvmr::test::ReadFile;
using rvmr::test::TempDir;

namespace {

// Subscribes a checker that, at each durable advance, reads the file through
// its own descriptor and records whether the newly durable bytes are there.
struct DurableChecker {
  std::string path;
  std::mutex mu;
  std::vector<uint64_t> seen;
  bool contents_ok = true;

  void Attach(DiskWriter* w, uint64_t initial) {
    {
      std::lock_guard<std::mutex> l(mu);
      seen.push_back(initial);
    }
    w->Subscribe([this](uint64_t d) {
      std::lock_guard<std::mutex> l(mu);
      uint64_t prev = seen.back();
      if (d <= prev) contents_ok = false;
      std::vector<char> want = Pattern(prev, d - prev);
      std::vector<char> got(d - prev);
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || ::pread(fd, got.data(), got.size(), prev) != ssize_t(got.size()) ||
          got != want) {
        contents_ok = false;
      }
      if (fd >= 0) ::close(fd);
      seen.push_back(d);
    });
  }
};

std::unique_ptr<DiskWriter> OpenOrFail(const DiskWriterOptions& o) {
  std::unique_ptr<DiskWriter> w;
  Status s = DiskWriter::Open(o, &w);
  INFO(s.ToString());
  REQUIRE(s.ok());
  return w;
}

}  // namespace

TEST_CASE("DiskWriter resubmits the rest of short writes", "[disk_writer][faults]") {
  const bool fallback = GENERATE(false, true);
  CAPTURE(fallback);
  TempDir dir;
  std::atomic<int> calls{0};
  DiskWriterOptions o;
  o.path = dir.File("log");
  o.area_size = 1 << 22;
  o.staging_bytes = 1 << 16;
  o.force_fallback = fallback;
  // Every other write is cut to a third; one in seven to nothing.
  o.fault_hook = [&](const DiskFaultRequest& r) {
    DiskFaultAction a;
    if (r.op == DiskFaultRequest::Op::kWrite) {
      int c = calls++;
      if (c % 2 == 0 && r.length >= 3) a.short_length = r.length / 3;
      if (c % 7 == 3) a.short_length = 0;
    }
    return a;
  };
  std::unique_ptr<DiskWriter> w = OpenOrFail(o);
  DurableChecker check;
  check.path = o.path;
  check.Attach(w.get(), 0);

  uint64_t end = 0;
  for (int i = 0; i < 200; i++) {
    size_t n = 100 + (i * 997) % 9000;
    std::vector<char> p = Pattern(end, n);
    Status st = w->Append(p.data(), n, &end);
    INFO(st.ToString());
    REQUIRE(st.ok());
    if (i % 25 == 0) REQUIRE(w->WaitDurable(end).ok());
  }
  REQUIRE(w->WaitDurable(end).ok());
  rvmr::DiskWriterStats s = w->stats();
  REQUIRE(w->Close().ok());
  REQUIRE(s.short_writes > 0);
  REQUIRE(s.retries > 0);
  REQUIRE(s.bytes_durable == end);
  {
    std::lock_guard<std::mutex> l(check.mu);
    REQUIRE(check.contents_ok);
    REQUIRE(check.seen.back() == end);
  }
  std::vector<char> file = ReadFile(o.path);
  REQUIRE(file.size() == end);
  REQUIRE(rvmr::test::HoldsPattern(file, 0, 0, end));
}

TEST_CASE("DiskWriter retries writes and syncs that fail with EAGAIN or EINTR",
          "[disk_writer][faults]") {
  const bool fallback = GENERATE(false, true);
  CAPTURE(fallback);
  TempDir dir;
  std::atomic<int> calls{0};
  DiskWriterOptions o;
  o.path = dir.File("log");
  o.area_size = 1 << 22;
  o.force_fallback = fallback;
  o.fault_hook = [&](const DiskFaultRequest&) {
    int c = calls++;
    DiskFaultAction a;
    if (c % 3 == 0) a.error = EAGAIN;
    if (c % 5 == 1) a.error = EINTR;
    return a;
  };
  std::unique_ptr<DiskWriter> w = OpenOrFail(o);
  DurableChecker check;
  check.path = o.path;
  check.Attach(w.get(), 0);
  uint64_t end = 0;
  for (int i = 0; i < 100; i++) {
    std::vector<char> p = Pattern(end, 3000);
    REQUIRE(w->Append(p.data(), p.size(), &end).ok());
    if (i % 10 == 0) REQUIRE(w->WaitDurable(end).ok());
  }
  REQUIRE(w->Close().ok());
  rvmr::DiskWriterStats s = w->stats();
  REQUIRE(s.retries > 0);
  REQUIRE(s.bytes_durable == end);
  {
    std::lock_guard<std::mutex> l(check.mu);
    REQUIRE(check.contents_ok);
  }
  std::vector<char> file = ReadFile(o.path);
  REQUIRE(file.size() == end);
  REQUIRE(rvmr::test::HoldsPattern(file, 0, 0, end));
}

TEST_CASE("DiskWriter fails permanently on EIO", "[disk_writer][faults]") {
  const bool fallback = GENERATE(false, true);
  const bool on_sync = GENERATE(false, true);
  CAPTURE(fallback, on_sync);
  TempDir dir;
  std::atomic<bool> armed{false};
  DiskWriterOptions o;
  o.path = dir.File("log");
  o.area_size = 1 << 20;
  o.force_fallback = fallback;
  o.fault_hook = [&](const DiskFaultRequest& r) {
    DiskFaultAction a;
    bool is_sync = r.op == DiskFaultRequest::Op::kSync;
    if (armed.load() && is_sync == on_sync) a.error = EIO;
    return a;
  };
  std::unique_ptr<DiskWriter> w = OpenOrFail(o);
  std::mutex mu;
  std::vector<uint64_t> notified;
  w->Subscribe([&](uint64_t d) {
    std::lock_guard<std::mutex> l(mu);
    notified.push_back(d);
  });

  uint64_t end = 0;
  REQUIRE(w->Append("0123456789", 10, &end).ok());
  REQUIRE(w->WaitDurable(10).ok());
  armed = true;
  REQUIRE(w->Append("abcdefghij", 10, &end).ok());
  Status s = w->WaitDurable(20);
  REQUIRE(s.code() == Status::Code::kFailed);
  REQUIRE(s.sys_errno() == EIO);
  REQUIRE(w->durable_offset() == 10);
  REQUIRE(w->stats().failed);

  // Everything later sees the same error; nothing more becomes durable.
  armed = false;
  s = w->Append("klmno", 5, &end);
  REQUIRE(s.code() == Status::Code::kFailed);
  REQUIRE(s.sys_errno() == EIO);
  REQUIRE(w->WaitDurable(20).sys_errno() == EIO);
  REQUIRE(w->WaitDurable(10).ok());  // that much did reach the disk
  s = w->Close();
  REQUIRE(s.sys_errno() == EIO);
  REQUIRE(w->durable_offset() == 10);
  REQUIRE(w->stats().bytes_durable == 10);
  std::lock_guard<std::mutex> l(mu);
  REQUIRE(notified == std::vector<uint64_t>{10});
}

TEST_CASE("DiskWriter wakes every waiter with the error", "[disk_writer][faults]") {
  TempDir dir;
  std::atomic<bool> release{false};
  DiskWriterOptions o;
  o.path = dir.File("log");
  o.area_size = 1 << 20;
  o.staging_bytes = 4096;
  // The first sync waits until the test has waiters queued, then fails.
  o.fault_hook = [&](const DiskFaultRequest& r) {
    DiskFaultAction a;
    if (r.op == DiskFaultRequest::Op::kSync) {
      while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      a.error = EIO;
    }
    return a;
  };
  std::unique_ptr<DiskWriter> w = OpenOrFail(o);
  std::vector<char> block(4096, 'z');
  uint64_t end = 0;
  REQUIRE(w->Append(block.data(), block.size(), &end).ok());  // fills the ring
  std::vector<Status> results(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; i++) {
    threads.emplace_back([&, i] { results[i] = w->WaitDurable(4096); });
  }
  for (int i = 2; i < 4; i++) {  // these wait for staging space
    threads.emplace_back([&, i] { results[i] = w->Append(block.data(), 100, nullptr); });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  release = true;
  for (auto& t : threads) t.join();
  for (const Status& s : results) {
    REQUIRE(s.code() == Status::Code::kFailed);
    REQUIRE(s.sys_errno() == EIO);
  }
  REQUIRE(w->durable_offset() == 0);
  REQUIRE(w->Close().sys_errno() == EIO);
}

TEST_CASE("DiskWriter gives up after max_retries attempts without progress",
          "[disk_writer][faults]") {
  TempDir dir;
  DiskWriterOptions o;
  o.path = dir.File("log");
  o.area_size = 1 << 20;
  o.max_retries = 5;
  o.fault_hook = [](const DiskFaultRequest&) {
    DiskFaultAction a;
    a.error = EAGAIN;
    return a;
  };
  std::unique_ptr<DiskWriter> w = OpenOrFail(o);
  uint64_t end = 0;
  REQUIRE(w->Append("abc", 3, &end).ok());
  Status s = w->WaitDurable(3);
  REQUIRE(s.code() == Status::Code::kFailed);
  REQUIRE(s.sys_errno() == EAGAIN);
  REQUIRE(w->durable_offset() == 0);
  REQUIRE(w->stats().retries == 6);
}

TEST_CASE("DiskWriter fails with ENOSPC when the filesystem is full",
          "[disk_writer][faults][enospc]") {
  const bool fallback = GENERATE(false, true);
  CAPTURE(fallback);
  TempDir dir;
  std::string mnt = dir.File("mnt");
  REQUIRE(::mkdir(mnt.c_str(), 0755) == 0);
  bool mounted = ::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=1m") == 0;
  int mount_errno = errno;

  DiskWriterOptions o;
  o.area_size = 4 << 20;  // larger than the filesystem
  o.force_fallback = fallback;
  if (mounted) {
    o.path = mnt + "/log";
  } else {
    WARN("cannot mount a 1 MiB tmpfs (" << std::strerror(mount_errno)
                                        << "): injecting ENOSPC instead");
    o.path = dir.File("log");
    o.fault_hook = [](const DiskFaultRequest& r) {
      DiskFaultAction a;
      if (r.op == DiskFaultRequest::Op::kWrite && r.logical_offset + r.length > (1 << 20)) {
        a.short_length = (1 << 20) - r.logical_offset;
        if (r.logical_offset >= (1 << 20)) a.error = ENOSPC;
      }
      return a;
    };
  }
  std::unique_ptr<DiskWriter> w = OpenOrFail(o);
  uint64_t end = 0;
  Status s;
  std::vector<char> chunk(64 * 1024, 'q');
  for (int i = 0; i < 48 && s.ok(); i++) {  // 3 MiB
    s = w->Append(chunk.data(), chunk.size(), &end);
  }
  if (s.ok()) s = w->WaitDurable(end);
  CAPTURE(s.ToString());
  REQUIRE(s.code() == Status::Code::kFailed);
  REQUIRE(s.sys_errno() == ENOSPC);
  uint64_t durable = w->durable_offset();
  REQUIRE(durable <= (1 << 20));
  REQUIRE(w->Append("x", 1, nullptr).sys_errno() == ENOSPC);
  REQUIRE(w->Close().sys_errno() == ENOSPC);
  REQUIRE(w->durable_offset() == durable);
  w.reset();
  if (mounted) REQUIRE(::umount2(mnt.c_str(), MNT_DETACH) == 0);
}
