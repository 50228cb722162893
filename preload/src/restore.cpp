#include "preload/restore.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "preload/preload_record.h"

namespace rvmr::preload {

namespace {

using remote_log::Connection;
using remote_log::LogEntry;
using remote_log::LogInfo;

remote_log::ConnectOptions Options(const ShimConfig& sc) {
  remote_log::ConnectOptions o;
  o.secret = sc.secret;
  o.connect_timeout_ms = sc.connect_timeout_ms;
  o.io_timeout_ms = sc.io_timeout_ms;
  return o;
}

struct Probe {
  std::string uri;
  std::unique_ptr<Connection> conn;
  bool has = false;
  LogInfo info;
};

Status ProbeAll(const ShimConfig& sc, const std::string& name, std::vector<Probe>* probes,
                RemoteLogState* st) {
  *st = RemoteLogState{};
  for (const std::string& uri : sc.mirrors) {
    Probe p;
    p.uri = uri;
    if (!remote_log::TransportRegistry::Global().Connect(uri, Options(sc), &p.conn).ok()) {
      p.conn.reset();
      probes->push_back(std::move(p));
      continue;
    }
    std::vector<LogEntry> logs;
    if (!p.conn->List(&logs).ok()) {
      p.conn.reset();
      probes->push_back(std::move(p));
      continue;
    }
    ++st->reachable;
    for (const LogEntry& e : logs) {
      if (e.name != name) continue;
      p.has = true;
      p.info = e.info;
      st->found = true;
      st->epoch = std::max(st->epoch, e.info.epoch);
      st->from = std::max({st->from, e.info.durable, e.info.start});
      st->tail = std::max(st->tail, e.info.tail);
    }
    probes->push_back(std::move(p));
  }
  if (st->reachable == 0) return Status::Unavailable("no mirror reachable");
  return Status::Ok();
}

Status WriteAll(int fd, const char* p, size_t n, uint64_t off) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(off));
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::IoError("pwrite", errno);
    }
    p += w;
    n -= static_cast<size_t>(w);
    off += static_cast<uint64_t>(w);
  }
  return Status::Ok();
}

}  // namespace

Status ProbeRemoteLog(const ShimConfig& sc, const std::string& name, RemoteLogState* st) {
  std::vector<Probe> probes;
  return ProbeAll(sc, name, &probes, st);
}

Status ListPreloadLogs(const ShimConfig& sc, std::vector<LogEntry>* out) {
  out->clear();
  size_t reachable = 0;
  for (const std::string& uri : sc.mirrors) {
    std::unique_ptr<Connection> c;
    if (!remote_log::TransportRegistry::Global().Connect(uri, Options(sc), &c).ok()) continue;
    std::vector<LogEntry> logs;
    if (!c->List(&logs).ok()) continue;
    ++reachable;
    for (LogEntry& e : logs)
      if (e.name.rfind("rvmpl-", 0) == 0) out->push_back(std::move(e));
  }
  return reachable == 0 ? Status::Unavailable("no mirror reachable") : Status::Ok();
}

Status RestoreFile(const ShimConfig& sc, const std::string& path, bool discard,
                   RestoreReport* rep) {
  *rep = RestoreReport{};
  rep->name = RemoteLogNameForPath(path);
  std::vector<Probe> probes;
  Status s = ProbeAll(sc, rep->name, &probes, &rep->state);
  if (!s.ok()) return s;
  const RemoteLogState& st = rep->state;
  if (!st.found) return Status::Ok();
  uint64_t epoch = st.epoch + 1;
  // Fence every older writer on every mirror that holds the log.
  Probe* src = nullptr;
  for (Probe& p : probes) {
    if (!p.has) continue;
    LogInfo info;
    Status o = p.conn->Open(rep->name, epoch, false, 0, &info);
    if (!o.ok()) {
      rep->problems.push_back(p.uri + ": open: " + o.ToString());
      p.has = false;
      continue;
    }
    p.info = info;
    if (info.start <= st.from && (src == nullptr || info.tail > src->info.tail)) src = &p;
  }
  uint64_t pos = st.from;
  if (!discard && st.pending()) {
    if (src == nullptr) {
      rep->problems.push_back("no mirror holds the log from offset " + std::to_string(st.from));
      return Status::Corruption("pending tail of " + path + " is held by no mirror");
    }
    rep->source = src->uri;
    if (src->info.tail < st.tail)
      rep->problems.push_back("freshest readable copy ends at " + std::to_string(src->info.tail) +
                              ", another mirror claims " + std::to_string(st.tail));
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Status::IoError("open " + path, errno);
    std::string buf;
    size_t used = 0;  // bytes of buf holding unparsed stream from `pos`
    uint64_t read_at = pos;
    Status bad;
    while (pos < src->info.tail) {
      size_t need = 0;
      RecordHeader h;
      std::string_view payload;
      Status d = used == 0 ? Status::InvalidArgument("empty")
                           : DecodeRecord(buf.data(), used, pos, &h, &payload, &need);
      if (d.ok()) {
        if (h.type == RecordType::kData) {
          Status w = WriteAll(fd, payload.data(), payload.size(), h.arg);
          if (!w.ok()) {
            ::close(fd);
            return w;
          }
          rep->data_bytes += payload.size();
          ++rep->records;
        } else if (h.type == RecordType::kSize) {
          if (::ftruncate(fd, static_cast<off_t>(h.arg)) != 0) {
            ::close(fd);
            return Status::IoError("ftruncate", errno);
          }
          ++rep->records;
        } else {
          rep->logged_path.assign(payload);
          if (rep->logged_path != path)
            rep->problems.push_back("log was written for " + rep->logged_path);
        }
        buf.erase(0, need);
        used -= need;
        pos += need;
        continue;
      }
      if (d.code() != Status::Code::kInvalidArgument) {
        bad = d;
        break;
      }
      // Need more bytes.
      if (read_at >= src->info.tail) {
        bad = Status::Corruption("stream ends inside a record");
        break;
      }
      size_t want = std::max<size_t>(need, kRecordHeaderSize);
      size_t chunk = std::max<size_t>(want - used, size_t{4} << 20);
      chunk = static_cast<size_t>(std::min<uint64_t>(chunk, src->info.tail - read_at));
      buf.resize(used + chunk);
      size_t got = 0;
      Status r = src->conn->Read(read_at, chunk, buf.data() + used, &got);
      if (!r.ok() || got == 0) {
        bad = r.ok() ? Status::Corruption("mirror returned nothing") : r;
        break;
      }
      used += got;
      buf.resize(used);
      read_at += got;
    }
    if (::fdatasync(fd) != 0) {
      int e = errno;
      ::close(fd);
      return Status::IoError("fdatasync " + path, e);
    }
    ::close(fd);
    rep->restored_to = pos;
    if (!bad.ok()) {
      rep->problems.push_back("stream bytes [" + std::to_string(pos) + ", " +
                              std::to_string(st.tail) + ") lost: " + bad.ToString());
      return Status::Corruption("tail of " + path + " only partly restored: " + bad.ToString());
    }
  } else {
    rep->restored_to = st.tail;
  }
  // The file now reflects everything up to restored_to: let the mirrors drop it.
  for (Probe& p : probes) {
    if (!p.has) continue;
    LogInfo info;
    uint64_t t = std::min(rep->restored_to, p.info.tail);
    Status tr = p.conn->Trim(t, &info);
    if (!tr.ok()) rep->problems.push_back(p.uri + ": trim: " + tr.ToString());
  }
  return Status::Ok();
}

}  // namespace rvmr::preload
