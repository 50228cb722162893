// replay_bench: MB/s of `rvm-log replay` (in-process) from the disk copy of
// a log and from a remote copy held in a log server's memory on loopback,
// measured side by side in one run. MB/s counts the transactions' range data
// bytes applied to the segment files (what recovery writes), over the whole
// command: opening, fetching (remote), checking every CRC, writing, syncing.
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "commands.h"
#include "disk_log.h"
#include "remote_copy.h"
#include "remote_log/server.h"
#include "remote_log/transport.h"
#include "shim/log_payload.h"
#include "shim/log_record_writer.h"
#include "shim/log_status.h"

using namespace rvmr;

namespace {

bool Check(const Status& s, const char* what) {
  if (!s.ok()) std::fprintf(stderr, "replay_bench: %s: %s\n", what, s.ToString().c_str());
  return s.ok();
}

// MB/s of a bare TCP stream over loopback (one thread sends `total` bytes in
// 1 MiB writes, the caller receives them): the ceiling for any remote read.
double LoopbackMBs(uint64_t total) {
  int ls = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (::bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || ::listen(ls, 1) != 0 ||
      ::getsockname(ls, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    return 0;
  std::thread sender([&] {
    int c = ::accept(ls, nullptr, nullptr);
    std::vector<char> buf(1 << 20, 'x');
    for (uint64_t sent = 0; sent < total;) {
      ssize_t w = ::send(c, buf.data(), std::min<uint64_t>(buf.size(), total - sent), 0);
      if (w <= 0) break;
      sent += uint64_t(w);
    }
    ::close(c);
  });
  int c = ::socket(AF_INET, SOCK_STREAM, 0);
  double mbs = 0;
  if (::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) {
    std::vector<char> buf(1 << 20);
    uint64_t got = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (;;) {
      ssize_t r = ::recv(c, buf.data(), buf.size(), 0);
      if (r <= 0) break;
      got += uint64_t(r);
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    mbs = got / 1e6 / s;
  }
  sender.join();
  ::close(c);
  ::close(ls);
  return mbs;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"replay_bench: rvm-log replay MB/s from a remote copy vs the disk copy"};
  uint64_t log_mb = 256;
  uint64_t txn_kb = 64;
  uint64_t seg_mb = 64;
  int reps = 3;
  std::string dir_base = "/tmp";
  app.add_option("--log-mb", log_mb, "log size in MiB")->capture_default_str();
  app.add_option("--txn-kb", txn_kb, "data bytes per transaction (KiB, 4 ranges)")
      ->capture_default_str();
  app.add_option("--seg-mb", seg_mb, "size of each of the 2 segment files (MiB)")
      ->capture_default_str();
  app.add_option("--reps", reps, "repetitions of each source (median reported)")
      ->capture_default_str();
  app.add_option("--dir", dir_base, "where the temporary directory goes")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::string tmpl = dir_base + "/replay-bench-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  std::string dir = tmpl;
  std::string log_path = dir + "/log";
  std::string seg[2] = {dir + "/seg1", dir + "/seg2"};
  const uint64_t seg_size = seg_mb << 20;
  for (const auto& s : seg) {
    int fd = ::open(s.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ::ftruncate(fd, off_t(seg_size)) != 0) return 1;
    ::close(fd);
  }

  // Build the log: dictionary records, then transactions of 4 ranges each.
  const uint64_t txn_bytes = txn_kb << 10, range = txn_bytes / 4;
  const uint64_t n_txn = (log_mb << 20) / (txn_bytes + 4 * 24 + 64);
  std::string stream;
  stream.reserve(size_t((log_mb << 20) + (1 << 20)));
  log::LogRecordWriter w(/*epoch=*/1, 0, 1);
  for (uint32_t c = 1; c <= 2; c++)
    w.Add(&stream, log::RecordType::kSegmentDict, 0, log::EncodeSegmentDict(c, seg[c - 1]));
  std::mt19937_64 rng(42);
  std::string data(size_t(range), '\0');
  std::string payload;
  for (uint64_t t = 0; t < n_txn; t++) {
    payload.clear();
    log::TransactionPayloadBuilder b(&payload, t);
    for (int r = 0; r < 4; r++) {
      for (size_t i = 0; i < data.size(); i += 8) {
        uint64_t v = rng();
        std::memcpy(&data[i], &v, std::min<size_t>(8, data.size() - i));
      }
      uint64_t off = (rng() % (seg_size / range)) * range;
      b.AddRange(uint32_t(1 + r % 2), off, data.data(), range);
    }
    b.Finish();
    w.Add(&stream, log::RecordType::kTransaction, log::kTxnFlagFlush, payload);
  }
  uint64_t area = (stream.size() + (1 << 20)) & ~uint64_t(4095);
  log::LogStatus st;
  if (!Check(log::CreateLogFile(log_path.c_str(), area, 0644, &st), "create log")) return 1;
  int fd = ::open(log_path.c_str(), O_RDWR);
  if (::pwrite(fd, stream.data(), stream.size(), off_t(st.area_start)) != ssize_t(stream.size()))
    return 1;
  st.tail_hint = stream.size();
  st.epoch = 1;
  if (!Check(log::WriteLogStatus(fd, &st), "status")) return 1;
  ::fsync(fd);
  ::close(fd);

  // A log server on loopback holding the same bytes.
  remote_log::ServerOptions so;
  so.listen = "127.0.0.1:0";
  so.capacity = stream.size() + (64 << 20);
  remote_log::Server server(so);
  if (!Check(server.Start(), "server start")) return 1;
  std::string uri = "tcp://127.0.0.1:" + std::to_string(server.port());
  {
    std::unique_ptr<remote_log::Connection> c;
    if (!Check(remote_log::TransportRegistry::Global().Connect(uri, {}, &c), "connect")) return 1;
    remote_log::LogInfo info;
    if (!Check(c->Open(tools::LogIdHex(st), 1, true, 0, &info), "open")) return 1;
    for (uint64_t off = 0; off < stream.size();) {
      size_t n = std::min<size_t>(1 << 20, stream.size() - off);
      struct iovec iov = {stream.data() + off, n};
      if (!Check(c->StartAppend(off, &iov, 1), "append")) return 1;
      off += n;
    }
    uint64_t acked;
    if (!Check(c->WaitAcked(stream.size(), &acked), "ack")) return 1;
  }

  const uint64_t applied = n_txn * txn_bytes;
  std::printf("log: %.1f MiB, %llu transactions of %llu KiB (4 ranges), %.1f MiB of range data\n",
              stream.size() / 1048576.0, static_cast<unsigned long long>(n_txn),
              static_cast<unsigned long long>(txn_kb), applied / 1048576.0);
  std::printf("segments: 2 x %llu MiB files in %s (page cache warm after the first run)\n",
              static_cast<unsigned long long>(seg_mb), dir.c_str());
  {
    // Reading the remote copy alone (network + server), for reference.
    tools::RemoteCopy rc;
    std::unique_ptr<tools::RemoteLogSource> src;
    auto t0 = std::chrono::steady_clock::now();
    if (!Check(tools::OpenRemoteLog(uri, tools::LogIdHex(st), {}, 0, &rc, &src), "open remote"))
      return 1;
    std::vector<char> buf(4u << 20);
    for (uint64_t off = rc.info.start; off < rc.info.tail;) {
      size_t n = size_t(std::min<uint64_t>(buf.size(), rc.info.tail - off));
      if (!Check(src->Read(off, buf.data(), n), "read remote")) return 1;
      off += n;
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("reading the remote copy alone: %.0f MB/s; bare loopback TCP stream: %.0f MB/s\n",
                stream.size() / 1e6 / s, LoopbackMBs(stream.size()));
  }
  const char* sources[] = {"disk", "remote", "auto"};
  std::vector<double> mbs[3];
  for (int rep = 0; rep < reps + 1; rep++) {  // rep 0 warms the caches
    for (int k = 0; k < 3; k++) {
      tools::ReplayCmdOptions ro;
      ro.log_path = log_path;
      ro.from = sources[k];
      if (k) ro.remote_uris = {uri};
      ro.progress = 0;
      std::ostringstream out, err;
      auto t0 = std::chrono::steady_clock::now();
      int rc = tools::RunReplay(ro, out, err);
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (rc != 0) {
        std::fprintf(stderr, "replay --from %s failed (%d): %s", sources[k], rc, err.str().c_str());
        return 1;
      }
      if (rep > 0) mbs[k].push_back(applied / 1e6 / s);
    }
  }
  std::printf("%-8s %12s %12s %12s\n", "source", "median MB/s", "best MB/s", "vs disk");
  double disk_med = 0;
  for (int k = 0; k < 3; k++) {
    std::sort(mbs[k].begin(), mbs[k].end());
    double med = mbs[k][mbs[k].size() / 2];
    if (k == 0) disk_med = med;
    std::printf("%-8s %12.0f %12.0f %11.2fx\n", sources[k], med, mbs[k].back(), med / disk_med);
  }
  server.Stop();
  std::filesystem::remove_all(dir);
  return 0;
}
