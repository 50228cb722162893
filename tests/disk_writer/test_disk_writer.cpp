// DiskWriter basics: contents on disk, offsets, wrap-around, options, the
// fallback path, O_DIRECT, and the API contract around Close.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "disk_writer/disk_writer.h"
#include "test_util.h"

using rvmr::DiskFaultAction;
using rvmr::DiskFaultRequest;
using rvmr::DiskWriter;
using rvmr::DiskWriterOptions;
using rvmr::Status;
using rvmr::test::AppendPattern;
using rvmr::test::Filled;
using rvmr::test::HoldsPattern;
using rvmr::test::Pattern;
using rvmr::test::PatternByte;
using rvmr::test::ReadFile;
using rvmr::test::TempDir;

namespace {

// Checks that the record area of `file` holds the last area_size bytes of the
// pattern stream [first, end) (bytes before `first` are `fill`).
void CheckArea(const std::vector<char>& file, uint64_t area_start, uint64_t area_size,
               uint64_t first, uint64_t end, char fill) {
  REQUIRE(file.size() <= area_start + area_size);
  for (uint64_t pos = 0; pos < area_size; pos++) {
    // The newest logical offset l < end with l % area_size == pos.
    if (end == 0) break;
    uint64_t last = end - 1;
    uint64_t back = (last % area_size + area_size - pos) % area_size;
    char want = fill;
    if (last >= back && last - back >= first) want = PatternByte(last - back);
    char got = area_start + pos < file.size() ? file[area_start + pos] : 0;
    if (got != want) {
      FAIL("area byte " << pos << " is " << int(got) << ", want " << int(want));
    }
  }
}

}  // namespace

TEST_CASE("DiskWriter writes appended bytes and reports them durable", "[disk_writer]") {
  const bool fallback = GENERATE(false, true);
  CAPTURE(fallback);
  TempDir dir;
  DiskWriterOptions o;
  o.path = dir.File("log");
  o.area_start = 4096;
  o.area_size = 1 << 20;
  o.force_fallback = fallback;
  std::unique_ptr<DiskWriter> w;
  REQUIRE(DiskWriter::Open(o, &w).ok());
  REQUIRE(w->durable_offset() == 0);

  AppendPattern(w.get(), 0, 100000, 777);
  REQUIRE(w->staged_offset() == 100000);
  REQUIRE(w->WaitDurable(100000).ok());
  REQUIRE(w->durable_offset() == 100000);

  rvmr::DiskWriterStats s = w->stats();
  REQUIRE(s.bytes_staged == 100000);
  REQUIRE(s.bytes_durable == 100000);
  REQUIRE(s.batches >= 1);
  REQUIRE(s.syncs >= s.batches);
  REQUIRE(s.writes >= s.batches);
  REQUIRE(s.max_lag_bytes > 0);
  REQUIRE(s.max_lag_ns > 0);
  REQUIRE_FALSE(s.failed);
  if (fallback) {
    REQUIRE_FALSE(s.io_uring);
  } else {
    REQUIRE(s.io_uring == rvmr::test::IoUringWorks());
  }
  REQUIRE(w->Close().ok());

  std::vector<char> file = ReadFile(o.path);
  REQUIRE(file.size() == 4096 + 100000);
  REQUIRE(Filled(file, 0, 4096, 0));
  std::vector<char> want = Pattern(0, 100000);
  REQUIRE(std::memcmp(file.data() + 4096, want.data(), want.size()) == 0);
}

TEST_CASE("DiskWriter continues from the initial offset", "[disk_writer]") {
  TempDir dir;
  DiskWriterOptions o;
  o.path = dir.File("log");
  o.area_size = 1 << 16;
  o.initial_offset = 5 * (1 << 16) + 1000;  // the log has wrapped five times
  std::unique_ptr<DiskWriter> w;
  REQUIRE(DiskWriter::Open(o, &w).ok());
  REQUIRE(w->durable_offset() == o.initial_offset);
  REQUIRE(w->staged_offset() == o.initial_offset);
  AppendPattern(w.get(), o.initial_offset, 3000, 1000);
  REQUIRE(w->WaitDurable(o.initial_offset + 3000).ok());
  REQUIRE(w->stats().bytes_durable == 3000);
  REQUIRE(w->Close().ok());
  std::vector<char> file = ReadFile(o.path);
  REQUIRE(file.size() == 4000);
  std::vector<char> want = Pattern(o.initial_offset, 3000);
  REQUIRE(std::memcmp(file.data() + 1000, want.data(), 3000) == 0);
  REQUIRE(Filled(file, 0, 1000, 0));
}

TEST_CASE("DiskWriter wraps around the record area and never writes past it",
          "[disk_writer][wrap]") {
  const bool fallback = GENERATE(false, true);
  CAPTURE(fallback);
  TempDir dir;
  const uint64_t area_start = 512;
  const uint64_t area_size = 10007;  // prime: every wrap point lands mid-append
  std::string path = dir.File("log");
  {
    // A status area the writer must not touch.
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0644);
    REQUIRE(fd >= 0);
    std::vector<char> status(area_start, '\x5A');
    REQUIRE(::pwrite(fd, status.data(), status.size(), 0) == ssize_t(area_start));
    ::close(fd);
  }
  std::mutex mu;
  std::vector<DiskFaultRequest> writes;
  DiskWriterOptions o;
  o.path = path;
  o.area_start = area_start;
  o.area_size = area_size;
  o.initial_offset = 3 * area_size - 100;
  o.staging_bytes = 8192;  // smaller than the area: batches and ring wrap too
  o.force_fallback = fallback;
  o.fault_hook = [&](const DiskFaultRequest& r) {
    std::lock_guard<std::mutex> l(mu);
    if (r.op == DiskFaultRequest::Op::kWrite) writes.push_back(r);
    return DiskFaultAction{};
  };
  std::unique_ptr<DiskWriter> w;
  REQUIRE(DiskWriter::Open(o, &w).ok());

  uint64_t l = o.initial_offset;
  const size_t sizes[] = {1, 99, 100, 333, 4096, 9999, 10007, 12000, 50, 7};
  for (int round = 0; round < 4; round++) {
    for (size_t n : sizes) {
      AppendPattern(w.get(), l, n, n);
      l += n;
    }
    REQUIRE(w->WaitDurable(l).ok());
  }
  REQUIRE(w->Close().ok());

  {
    std::lock_guard<std::mutex> lk(mu);
    REQUIRE(!writes.empty());
    for (const DiskFaultRequest& r : writes) {
      INFO("write at logical " << r.logical_offset << " length " << r.length);
      REQUIRE(r.logical_offset % area_size + r.length <= area_size);
    }
  }
  std::vector<char> file = ReadFile(path);
  REQUIRE(file.size() == area_start + area_size);
  REQUIRE(Filled(file, 0, area_start, '\x5A'));
  CheckArea(file, area_start, area_size, o.initial_offset, l, 0);
}

TEST_CASE("DiskWriter AppendV and appends larger than the staging ring", "[disk_writer]") {
  const bool fallback = GENERATE(false, true);
  CAPTURE(fallback);
  TempDir dir;
  DiskWriterOptions o;
  o.path = dir.File("log");
  o.area_size = 1 << 22;
  o.staging_bytes = 16384;
  o.force_fallback = fallback;
  std::unique_ptr<DiskWriter> w;
  REQUIRE(DiskWriter::Open(o, &w).ok());

  std::vector<char> a = Pattern(0, 10), b = Pattern(10, 0), c = Pattern(10, 20000);
  struct iovec iov[3] = {{a.data(), a.size()}, {b.data(), 0}, {c.data(), c.size()}};
  uint64_t end = 0;
  REQUIRE(w->AppendV(iov, 3, &end).ok());
  REQUIRE(end == 20010);
  std::vector<char> big = Pattern(20010, 1 << 20);  // 64 times the ring
  REQUIRE(w->Append(big.data(), big.size(), &end).ok());
  REQUIRE(end == 20010 + (1 << 20));
  REQUIRE(w->Append(nullptr, 0, &end).ok());
  REQUIRE(end == 20010 + (1 << 20));
  REQUIRE(w->Close().ok());
  REQUIRE(w->stats().backpressure_waits > 0);

  std::vector<char> file = ReadFile(o.path);
  REQUIRE(file.size() == end);
  REQUIRE(HoldsPattern(file, 0, 0, end));
}

TEST_CASE("DiskWriter rejects inconsistent options", "[disk_writer]") {
  TempDir dir;
  std::unique_ptr<DiskWriter> w;
  DiskWriterOptions o;
  o.area_size = 4096;
  REQUIRE(DiskWriter::Open(o, &w).code() == Status::Code::kInvalidArgument);  // no file

  o.path = dir.File("log");
  o.fd = 0;
  REQUIRE(DiskWriter::Open(o, &w).code() == Status::Code::kInvalidArgument);  // both

  o.fd = -1;
  o.area_size = 0;
  REQUIRE(DiskWriter::Open(o, &w).code() == Status::Code::kInvalidArgument);

  o.area_size = 4096;
  o.use_o_direct = true;
  o.area_start = 100;
  REQUIRE(DiskWriter::Open(o, &w).code() == Status::Code::kInvalidArgument);
  o.area_start = 0;
  o.area_size = 5000;
  REQUIRE(DiskWriter::Open(o, &w).code() == Status::Code::kInvalidArgument);

  o.use_o_direct = false;
  o.path = dir.File("no/such/dir/log");
  Status s = DiskWriter::Open(o, &w);
  REQUIRE(s.code() == Status::Code::kIoError);
  REQUIRE(s.sys_errno() == ENOENT);
  REQUIRE(w == nullptr);

  o.path = dir.File("log");
  o.max_inflight_batches = 0;
  REQUIRE(DiskWriter::Open(o, &w).code() == Status::Code::kInvalidArgument);
  o.max_inflight_batches = 2;
  o.max_retries = -1;
  REQUIRE(DiskWriter::Open(o, &w).code() == Status::Code::kInvalidArgument);
  REQUIRE(w == nullptr);
}

TEST_CASE("DiskWriter reopens an adopted fd for O_DIRECT", "[disk_writer][o_direct]") {
  TempDir dir;
  std::string path = dir.File("log");
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0644);
  REQUIRE(fd >= 0);
  DiskWriterOptions o;
  o.fd = fd;
  o.use_o_direct = true;
  o.area_size = 8192;
  std::unique_ptr<DiskWriter> w;
  Status s = DiskWriter::Open(o, &w);
  if (s.code() == Status::Code::kIoError && s.sys_errno() == EINVAL) {
    WARN("O_DIRECT not supported on /tmp here; skipped: " << s.ToString());
    ::close(fd);
    return;
  }
  REQUIRE(s.ok());
  std::vector<char> p = Pattern(0, 5000);
  uint64_t end = 0;
  REQUIRE(w->Append(p.data(), p.size(), &end).ok());
  REQUIRE(w->Close().ok());
  REQUIRE(::fcntl(fd, F_GETFD) >= 0);               // the caller's fd stays open
  REQUIRE((::fcntl(fd, F_GETFL) & O_DIRECT) == 0);  // and unchanged
  ::close(fd);
  std::vector<char> file = ReadFile(path);
  REQUIRE(file.size() == 8192);
  REQUIRE(HoldsPattern(file, 0, 0, 5000));
  REQUIRE(Filled(file, 5000, 8192, 0));
}

TEST_CASE("DiskWriter on an open fd leaves it open; Close contract", "[disk_writer]") {
  TempDir dir;
  int fd = ::open(dir.File("log").c_str(), O_RDWR | O_CREAT, 0644);
  REQUIRE(fd >= 0);
  DiskWriterOptions o;
  o.fd = fd;
  o.area_size = 1 << 16;
  std::unique_ptr<DiskWriter> w;
  REQUIRE(DiskWriter::Open(o, &w).ok());
  uint64_t end = 0;
  REQUIRE(w->Append("hello", 5, &end).ok());
  REQUIRE(end == 5);
  REQUIRE(w->WaitDurable(6).code() == Status::Code::kInvalidArgument);
  REQUIRE(w->Close().ok());  // drains
  REQUIRE(w->durable_offset() == 5);
  REQUIRE(w->Close().ok());  // idempotent
  REQUIRE(w->WaitDurable(5).ok());
  Status s = w->Append("x", 1, &end);
  REQUIRE(s.code() == Status::Code::kFailed);
  REQUIRE(w->durable_offset() == 5);

  REQUIRE(::fcntl(fd, F_GETFD) >= 0);  // still open
  char buf[8] = {};
  REQUIRE(::pread(fd, buf, 8, 0) == 5);
  REQUIRE(std::string(buf) == "hello");
  ::close(fd);
}

TEST_CASE("DiskWriter with O_DIRECT writes aligned blocks and keeps earlier bytes",
          "[disk_writer][o_direct]") {
  const bool fallback = GENERATE(false, true);
  CAPTURE(fallback);
  TempDir dir;
  std::string path = dir.File("log");
  const uint64_t area_start = 8192, area_size = 64 * 1024;
  // The log already holds pattern bytes [0, initial); the tail is mid-block.
  const uint64_t initial = 2 * area_size + 12 * 4096 + 1234;
  {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0644);
    REQUIRE(fd >= 0);
    std::vector<char> status(area_start, '\x11');
    REQUIRE(::pwrite(fd, status.data(), status.size(), 0) == ssize_t(area_start));
    std::vector<char> old = Pattern(initial - area_size, area_size);
    for (uint64_t i = 0; i < area_size; i++) {
      uint64_t l = initial - area_size + i;
      REQUIRE(::pwrite(fd, &old[i], 1, area_start + l % area_size) == 1);
    }
    ::close(fd);
  }
  std::mutex mu;
  std::vector<DiskFaultRequest> writes;
  DiskWriterOptions o;
  o.path = path;
  o.area_start = area_start;
  o.area_size = area_size;
  o.initial_offset = initial;
  o.use_o_direct = true;
  o.staging_bytes = 3 * 4096;
  o.force_fallback = fallback;
  o.fault_hook = [&](const DiskFaultRequest& r) {
    std::lock_guard<std::mutex> l(mu);
    if (r.op == DiskFaultRequest::Op::kWrite) writes.push_back(r);
    return DiskFaultAction{};
  };
  std::unique_ptr<DiskWriter> w;
  Status s = DiskWriter::Open(o, &w);
  if (s.code() == Status::Code::kIoError && s.sys_errno() == EINVAL) {
    WARN("O_DIRECT not supported on /tmp here; skipped: " << s.ToString());
    return;
  }
  REQUIRE(s.ok());
  uint64_t l = initial;
  for (size_t n : {size_t{1}, size_t{100}, size_t{5000}, size_t{4096}, size_t{30000}, size_t{3}}) {
    AppendPattern(w.get(), l, n, n);
    l += n;
    REQUIRE(w->WaitDurable(l).ok());
  }
  REQUIRE(w->Close().ok());
  {
    std::lock_guard<std::mutex> lk(mu);
    for (const DiskFaultRequest& r : writes) {
      REQUIRE(r.logical_offset % 4096 == 0);
      REQUIRE(r.length % 4096 == 0);
      REQUIRE(r.logical_offset % area_size + r.length <= area_size);
    }
  }
  std::vector<char> file = ReadFile(path);
  REQUIRE(Filled(file, 0, area_start, '\x11'));
  // Every byte of the area holds the newest pattern byte, except the zero
  // padding of the last block, past the tail.
  REQUIRE(file.size() == area_start + area_size);
  uint64_t pad_from = l % area_size, pad_to = (l + 4095) / 4096 * 4096 % area_size;
  if (pad_to == 0) pad_to = area_size;
  for (uint64_t pos = 0; pos < area_size; pos++) {
    char got = file[area_start + pos];
    if (pos >= pad_from && pos < pad_to) {
      REQUIRE(got == 0);
      continue;
    }
    uint64_t last = l - 1;
    uint64_t back = (last % area_size + area_size - pos) % area_size;
    if (got != PatternByte(last - back)) FAIL("area byte " << pos << " differs");
  }
}
