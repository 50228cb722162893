// Fixtures of the RemoteSink tests: a temporary log file, an in-process
// mirror, a shim configuration for tests and a record framer.
#pragma once

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "remote_log/server.h"
#include "shim/log_record_reader.h"
#include "shim/log_record_writer.h"
#include "shim/log_key.h"
#include "shim/log_sink.h"
#include "shim/log_source.h"
#include "shim/record_sealer.h"
#include "shim/tail_recovery.h"
#include "shim/log_status.h"
#include "shim/remote_sink.h"

namespace rvmr::sinktest {

inline constexpr uint64_t kArea = 1 << 20;

struct TempLog {
  std::string dir, path;
  int fd = -1;
  log::LogStatus st;
  TempLog() {
    char d[] = "/tmp/shimremoteXXXXXX";
    REQUIRE(mkdtemp(d) != nullptr);
    dir = d;
    path = dir + "/log";
    REQUIRE(log::CreateLogFile(path.c_str(), kArea, 0600, &st).ok());
    fd = ::open(path.c_str(), O_RDWR);
    REQUIRE(fd >= 0);
  }
  ~TempLog() {
    ::close(fd);
    ::unlink(path.c_str());
    ::unlink((path + ".remote").c_str());  // written by remote-mode opens
    ::unlink((path + ".key").c_str());     // the log key (record protection)
    ::rmdir(dir.c_str());
  }
  LogSinkConfig Config() const {
    LogSinkConfig c;
    c.fd = fd;
    c.path = path;
    c.status = st;
    return c;
  }
  // Records readable from the disk copy, from head.
  std::vector<log::LogRecord> DiskRecords() const {
    log::FileLogSource src(fd, st.area_start, st.area_size);
    log::LogRecordReader r(&src, st.head, st.head + st.area_size, st.head_lsn);
    std::vector<log::LogRecord> out;
    log::LogRecord rec;
    while (r.ReadRecord(&rec).ok()) out.push_back(rec);
    return out;
  }
  // The log key (created as a remote-mode open would).
  std::string Key() const {
    std::string k;
    Status s = log::ReadLogKey(path + ".key", &k);
    if (s.code() == Status::Code::kNotFound) s = log::CreateLogKey(path + ".key", &k);
    REQUIRE(s.ok());
    return k;
  }
  // The plain records `plain`, the log's bytes from `offset`, in the sealed
  // form a protecting writer sends its mirrors.
  std::string Sealed(uint64_t offset, std::string plain) const {
    std::unique_ptr<log::RecordSealer> sealer;
    REQUIRE(log::RecordSealer::Create(Key(), RemoteLogName(st),
                                      log::RecordSealer::Mode::kAuthenticate, &sealer)
                .ok());
    for (size_t pos = 0; pos < plain.size();) {
      size_t size = log::RecordSize(log::GetU32(plain.data() + pos + 16));
      REQUIRE(sealer->SealInPlace(offset + pos, plain.data() + pos, size).ok());
      pos += size;
    }
    return plain;
  }
  // Zeroes the record area from logical offset `from` on: a local crash that
  // lost everything after the last completed sync.
  void LoseDiskTailFrom(uint64_t from) const {
    std::string zeros(kArea - from, '\0');
    REQUIRE(::pwrite(fd, zeros.data(), zeros.size(), static_cast<off_t>(st.area_start + from)) ==
            static_cast<ssize_t>(zeros.size()));
    REQUIRE(::fdatasync(fd) == 0);
  }
};

struct Mirror {
  std::unique_ptr<remote_log::Server> server;
  uint16_t port = 0;
  explicit Mirror(uint16_t p = 0) { Start(p); }
  void Start(uint16_t p) {
    remote_log::ServerOptions o;
    o.listen = "127.0.0.1:" + std::to_string(p);
    o.capacity = 64u << 20;
    server = std::make_unique<remote_log::Server>(o);
    REQUIRE(server->Start().ok());
    port = server->port();
  }
  void Stop() { server.reset(); }
  std::string uri() const { return "tcp://127.0.0.1:" + std::to_string(port); }
  // The state of the (single) log on this mirror.
  remote_log::LogInfo Info() {
    auto logs = server->store().List();
    REQUIRE(logs.size() == 1);
    return logs[0].info;
  }
};

inline ShimConfig Cfg(std::vector<std::string> uris) {
  ShimConfig c;
  c.mirrors = std::move(uris);
  c.io_timeout_ms = 1000;
  c.connect_timeout_ms = 1000;
  c.reconnect_interval_ms = 20;
  c.trim_interval_bytes = uint64_t{1} << 40;  // no trims unless a test asks
  return c;
}

// Frames `n` transaction records of `size` payload bytes continuing the log.
struct Framer {
  log::LogRecordWriter w;
  Framer(uint64_t epoch, uint64_t offset, uint64_t lsn) : w(epoch, offset, lsn) {}
  std::string Next(size_t size, char fill) {
    std::string buf;
    w.Add(&buf, log::RecordType::kTransaction, 0, std::string(size, fill));
    return buf;
  }
};

inline Status AppendRecord(RemoteSink* sink, Framer* f, size_t size, char fill) {
  std::string rec = f->Next(size, fill);
  uint64_t off = f->w.next_offset() - rec.size();
  struct iovec v = {rec.data(), rec.size()};
  return sink->Append(off, &v, 1);
}

}  // namespace rvmr::sinktest
