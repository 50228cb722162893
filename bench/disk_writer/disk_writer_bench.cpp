// disk_writer_bench: sustained DiskWriter append throughput for several
// append sizes against the raw sequential write + fdatasync bandwidth of the
// same file, measured in the same run, and the latency from Append returning
// to the bytes being durable.
//
//   disk_writer_bench [--dir DIR] [--mib N] [--staging-mib N] [--batch-mib N]
//                     [--reps N] [--direct] [--fallback] [--warm]
//
// --warm first passes one staging ring's worth of bytes through each new
// writer, untimed, so that the figures show a writer whose staging pages are
// already in memory (the ring is faulted in on first use, not at Open).
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "disk_writer/disk_writer.h"

using rvmr::DiskWriter;
using rvmr::DiskWriterOptions;
using rvmr::Status;

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

struct Config {
  std::string dir = "/tmp";
  size_t mib = 512;  // bytes per throughput run
  size_t staging_mib = 64;
  size_t batch_mib = 32;
  bool direct = false;
  bool fallback = false;
  bool warm = false;  // fill the staging ring once, untimed, before measuring
  int reps = 3;
};

// Raw bandwidth: pwrite `chunk` bytes at a time sequentially over the area,
// fdatasync after every `sync_every` bytes and at the end.
double RawBandwidth(const Config& c, const std::string& path, size_t total, size_t chunk,
                    size_t sync_every) {
  int flags = O_RDWR | O_CREAT | O_CLOEXEC | (c.direct ? O_DIRECT : 0);
  int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) {
    std::perror("open");
    std::exit(1);
  }
  void* buf = nullptr;
  if (posix_memalign(&buf, 4096, chunk) != 0) std::exit(1);
  std::memset(buf, 'r', chunk);
  auto t0 = Clock::now();
  size_t since_sync = 0;
  for (size_t off = 0; off < total; off += chunk) {
    if (::pwrite(fd, buf, chunk, static_cast<off_t>(off)) != static_cast<ssize_t>(chunk)) {
      std::perror("pwrite");
      std::exit(1);
    }
    since_sync += chunk;
    if (since_sync >= sync_every) {
      ::fdatasync(fd);
      since_sync = 0;
    }
  }
  ::fdatasync(fd);
  double secs = Seconds(Clock::now() - t0);
  ::close(fd);
  std::free(buf);
  return static_cast<double>(total) / secs;
}

std::unique_ptr<DiskWriter> OpenWriter(const Config& c, const std::string& path, size_t area) {
  DiskWriterOptions o;
  o.path = path;
  o.area_size = area;
  o.staging_bytes = c.staging_mib << 20;
  o.max_batch_bytes = c.batch_mib << 20;
  o.use_o_direct = c.direct;
  o.force_fallback = c.fallback;
  std::unique_ptr<DiskWriter> w;
  Status s = DiskWriter::Open(o, &w);
  if (!s.ok()) {
    std::fprintf(stderr, "DiskWriter::Open: %s\n", s.ToString().c_str());
    std::exit(1);
  }
  return w;
}

struct Result {
  double bandwidth = 0;  // bytes/s from the first Append to all durable
  double p50_us = 0, p99_us = 0, max_us = 0;
  rvmr::DiskWriterStats stats;
};

// Appends `total` bytes in `size`-byte appends from one thread, as fast as
// it can, or paced at `rate` bytes/s if rate > 0, then waits for all of it to
// be durable. Latency: from an Append returning to the subscriber seeing its
// end durable, sampled on one append in 16.
Result WriterRun(const Config& c, const std::string& path, size_t area, size_t total, size_t size,
                 double rate) {
  std::unique_ptr<DiskWriter> w = OpenWriter(c, path, area);
  std::mutex mu;
  std::deque<std::pair<uint64_t, Clock::time_point>> pending;
  std::vector<double> lat_us;
  lat_us.reserve(total / size / 16 + 1);
  w->Subscribe([&](uint64_t d) {
    auto now = Clock::now();
    std::lock_guard<std::mutex> l(mu);
    while (!pending.empty() && pending.front().first <= d) {
      lat_us.push_back(
          std::chrono::duration<double, std::micro>(now - pending.front().second).count());
      pending.pop_front();
    }
  });
  std::vector<char> rec(size, 'w');
  uint64_t start = 0;
  if (c.warm) {
    std::vector<char> fill(1 << 20, 'f');
    for (size_t done = 0; done < (c.staging_mib << 20); done += fill.size()) {
      if (!w->Append(fill.data(), fill.size(), &start).ok()) std::exit(1);
    }
    if (!w->WaitDurable(start).ok()) std::exit(1);
  }
  auto t0 = Clock::now();
  uint64_t end = start;
  size_t i = 0;
  for (size_t done = 0; done < total; done += size, i++) {
    if (rate > 0) {
      while (static_cast<double>(done) > rate * Seconds(Clock::now() - t0)) {
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
    }
    Status s = w->Append(rec.data(), size, &end);
    if (!s.ok()) {
      std::fprintf(stderr, "Append: %s\n", s.ToString().c_str());
      std::exit(1);
    }
    if (i % 16 == 0) {
      auto now = Clock::now();
      std::lock_guard<std::mutex> l(mu);
      pending.emplace_back(end, now);
    }
  }
  Status s = w->WaitDurable(end);
  double secs = Seconds(Clock::now() - t0);
  if (!s.ok()) {
    std::fprintf(stderr, "WaitDurable: %s\n", s.ToString().c_str());
    std::exit(1);
  }
  Result r;
  r.bandwidth = static_cast<double>(end - start) / secs;
  r.stats = w->stats();
  if (Status cs = w->Close(); !cs.ok()) {
    std::fprintf(stderr, "close: %s\n", cs.ToString().c_str());
    std::exit(1);
  }
  std::lock_guard<std::mutex> l(mu);
  std::sort(lat_us.begin(), lat_us.end());
  if (!lat_us.empty()) {
    r.p50_us = lat_us[lat_us.size() / 2];
    r.p99_us = lat_us[lat_us.size() * 99 / 100];
    r.max_us = lat_us.back();
  }
  return r;
}

// One append, then wait for it to be durable, n times, interleaved with the
// same size written by pwrite + fdatasync to another range of the same file.
void UnloadedLatency(const Config& c, const std::string& path, size_t size, int n) {
  const size_t area = 64 << 20;
  std::unique_ptr<DiskWriter> w = OpenWriter(c, path, area);
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | (c.direct ? O_DIRECT : 0));
  void* buf = nullptr;
  size_t bs = c.direct ? (size + 4095) / 4096 * 4096 : size;
  if (fd < 0 || posix_memalign(&buf, 4096, bs) != 0) std::exit(1);
  std::memset(buf, 'l', bs);
  std::vector<char> rec(size, 'l');
  std::vector<double> us, raw;
  for (int i = 0; i < n; i++) {
    uint64_t end = 0;
    auto t0 = Clock::now();
    if (!w->Append(rec.data(), size, &end).ok() || !w->WaitDurable(end).ok()) std::exit(1);
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    t0 = Clock::now();
    off_t pos = static_cast<off_t>(area + i * bs);
    if (::pwrite(fd, buf, bs, pos) != static_cast<ssize_t>(bs)) std::exit(1);
    ::fdatasync(fd);
    raw.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  if (Status cs = w->Close(); !cs.ok()) {
    std::fprintf(stderr, "close: %s\n", cs.ToString().c_str());
    std::exit(1);
  }
  ::close(fd);
  std::free(buf);
  std::sort(us.begin(), us.end());
  std::sort(raw.begin(), raw.end());
  std::printf("| %6zu B | %9.1f | %9.1f | %9.1f | %9.1f |\n", size, us[us.size() / 2],
              us[us.size() * 99 / 100], raw[raw.size() / 2], raw[raw.size() * 99 / 100]);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  CLI::App app{"DiskWriter throughput and latency against raw write + fdatasync"};
  app.add_option("--dir", c.dir, "directory for the test file (on the disk to measure)");
  app.add_option("--mib", c.mib, "MiB written per throughput run");
  app.add_option("--staging-mib", c.staging_mib, "staging ring size, MiB");
  app.add_option("--batch-mib", c.batch_mib, "largest batch, MiB");
  app.add_flag("--direct", c.direct, "O_DIRECT");
  app.add_flag("--fallback", c.fallback, "force the pwritev + fdatasync thread");
  app.add_flag("--warm", c.warm, "fill each writer's staging ring once, untimed, before measuring");
  app.add_option("--reps", c.reps, "runs per figure (the median is shown)");
  CLI11_PARSE(app, argc, argv);

  std::string tmpl = c.dir + "/rvm_dw_bench_XXXXXX";
  std::vector<char> tbuf(tmpl.begin(), tmpl.end());
  tbuf.push_back('\0');
  if (::mkdtemp(tbuf.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  std::string dir = tbuf.data();
  std::string path = dir + "/log";
  size_t total = c.mib << 20;

  std::printf(
      "disk_writer_bench: %zu MiB per run, %d runs (medians), staging %zu MiB, batch %zu MiB%s%s%s\n",
      c.mib, c.reps, c.staging_mib, c.batch_mib, c.direct ? ", O_DIRECT" : "",
      c.fallback ? ", forced fallback" : "", c.warm ? ", warm staging ring" : "");
  // Every run overwrites the same preallocated file.
  if (RawBandwidth(c, path, total, 1 << 20, SIZE_MAX) <= 0) return 1;

  std::printf(
      "\nThroughput (MiB/s). raw-stream: 1 MiB pwrites + one fdatasync; raw-batch: 1 MiB "
      "pwrites + fdatasync per %zu MiB\n",
      c.batch_mib);
  std::printf(
      "| append | DiskWriter | raw-stream | ratio | raw-batch | ratio | syncs | p50 us | p99 us "
      "|\n|---|---|---|---|---|---|---|---|---|\n");
  std::vector<double> stream_bw;
  for (size_t size : {size_t{512}, size_t{4096}, size_t{65536}}) {
    std::vector<double> raw_s, raw_b, wr, p50, p99;
    uint64_t syncs = 0;
    bool uring = false, fixed = false;
    for (int rep = 0; rep < c.reps; rep++) {
      raw_s.push_back(RawBandwidth(c, path, total, 1 << 20, SIZE_MAX));
      Result r = WriterRun(c, path, total, total, size, 0);
      wr.push_back(r.bandwidth);
      p50.push_back(r.p50_us);
      p99.push_back(r.p99_us);
      syncs = r.stats.syncs;
      uring = r.stats.io_uring;
      fixed = r.stats.registered_buffers;
      raw_b.push_back(RawBandwidth(c, path, total, 1 << 20, c.batch_mib << 20));
    }
    double ms = Median(raw_s), mb = Median(raw_b), mw = Median(wr);
    stream_bw.push_back(ms);
    std::printf("| %6zu B | %8.1f | %8.1f | %5.1f%% | %8.1f | %5.1f%% | %llu | %.0f | %.0f |\n",
                size, mw / 1048576, ms / 1048576, 100 * mw / ms, mb / 1048576, 100 * mw / mb,
                static_cast<unsigned long long>(syncs), Median(p50), Median(p99));
    if (size == 65536) {
      std::printf("(io_uring %d, registered buffers %d)\n", uring, fixed);
    }
  }

  double rate = 0.5 * Median(stream_bw);
  std::printf(
      "\nAppend-to-durable latency at half the raw-stream bandwidth (%.0f MiB/s, one appender)\n"
      "| append | p50 us | p99 us | max us | batches |\n|---|---|---|---|---|\n",
      rate / 1048576);
  for (size_t size : {size_t{512}, size_t{4096}, size_t{65536}}) {
    size_t bytes = std::min(total, static_cast<size_t>(rate * 2));  // about 2 s
    bytes -= bytes % size;
    Result r = WriterRun(c, path, total, bytes, size, rate);
    std::printf("| %6zu B | %.0f | %.0f | %.0f | %llu |\n", size, r.p50_us, r.p99_us, r.max_us,
                static_cast<unsigned long long>(r.stats.batches));
  }

  std::printf(
      "\nUnloaded latency (append, wait durable, repeat; us)\n"
      "| append | Append+WaitDurable p50 | p99 | pwrite+fdatasync p50 | p99 |\n"
      "|---|---|---|---|---|\n");
  for (size_t size : {size_t{512}, size_t{4096}, size_t{65536}}) {
    UnloadedLatency(c, path, size, 300);
  }
  ::unlink(path.c_str());
  ::rmdir(dir.c_str());
  return 0;
}
