#include "preload/restore.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "preload/path_log.h"
#include "preload/preload_config.h"
#include "preload/record_stream.h"
#include "shim/log_key.h"

namespace rvmr::preload {

namespace {

using remote_log::Connection;
using remote_log::LogEntry;
using remote_log::LogInfo;

struct Probe {
  std::string uri;
  std::unique_ptr<Connection> conn;
  bool has = false;       // holds the log
  bool has_path = false;  // holds its path log
  LogInfo info;
};

Status ProbeAll(const ShimConfig& sc, const std::string& key, const std::string& name,
                std::vector<Probe>* probes, RemoteLogState* st) {
  *st = RemoteLogState{};
  const std::string pname = PathLogName(name);
  std::string failures;
  for (const std::string& uri : sc.mirrors) {
    Probe p;
    p.uri = uri;
    std::vector<LogEntry> logs;
    Status s = remote_log::TransportRegistry::Global().Connect(
        uri, PreloadConnectOptions(sc, key), &p.conn);
    if (s.ok()) s = p.conn->List(&logs);
    if (!s.ok()) {
      failures += (failures.empty() ? "" : "; ") + uri + ": " + s.ToString();
      p.conn.reset();
      probes->push_back(std::move(p));
      continue;
    }
    ++st->reachable;
    for (const LogEntry& e : logs) {
      if (e.name == pname) p.has_path = true;
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
  if (st->reachable == 0) return Status::Unavailable("no mirror reachable (" + failures + ")");
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

// Applies one verified record to the file `fd`.
Status Apply(int fd, const RecordHeader& h, std::string_view payload, RestoreReport* rep) {
  if (h.type == RecordType::kData) {
    Status w = WriteAll(fd, payload.data(), payload.size(), h.arg);
    if (!w.ok()) return w;
    rep->data_bytes += payload.size();
    ++rep->records;
  } else if (h.type == RecordType::kSize) {
    if (::ftruncate(fd, static_cast<off_t>(h.arg)) != 0) return Status::IoError("ftruncate", errno);
    ++rep->records;
  }
  return Status::Ok();
}

// Replays the pending stream [st.from, st.tail) from the copies in
// `sources` (longest first) onto `fd`, moving to the next copy where one
// fails. Sets rep->restored_to; returns the first error that ends the
// replay short of what the copies hold (or REFUSED).
Status Replay(int fd, const std::vector<Probe*>& sources, RecordCodec* codec,
              const std::string& path, RestoreReport* rep) {
  uint64_t pos = rep->state.from;
  Status last = Status::Ok();
  for (Probe* src : sources) {
    if (src->info.start > pos || src->info.tail <= pos) continue;
    if (!rep->source.empty()) rep->source += ",";
    rep->source += src->uri;
    RecordStream rs(src->conn.get(), codec, pos, src->info.tail);
    for (;;) {
      RecordHeader h;
      std::string_view payload;
      Status s = rs.Next(&h, &payload);
      if (s.code() == Status::Code::kNotFound) break;
      if (!s.ok()) {
        rep->problems.push_back(src->uri + ": " + s.ToString() +
                                (s.code() == Status::Code::kCorruption
                                     ? "; treated as absent, not written"
                                     : ""));
        last = s;
        break;
      }
      if (h.type == RecordType::kRefused) {
        rep->refused = true;
        rep->refusal.assign(payload);
        rep->restored_to = rs.pos();
        return Status::Failed("the preload shim stopped protecting " + path + " at stream offset " +
                              std::to_string(rs.pos()) + ": " + rep->refusal);
      }
      if (h.type == RecordType::kOpen && payload != path)
        rep->problems.push_back("log was written for " + std::string(payload));
      Status a = Apply(fd, h, payload, rep);
      if (!a.ok()) return a;
      pos = rs.pos() + kRecordHeaderSize + h.length;
    }
    pos = std::max(pos, rs.pos());
    if (pos >= rep->state.tail) break;
  }
  rep->restored_to = pos;
  if (pos < rep->state.tail) {
    std::string why = last.ok() ? std::string("no reachable mirror holds them") : last.ToString();
    rep->problems.push_back("stream bytes [" + std::to_string(pos) + ", " +
                            std::to_string(rep->state.tail) + ") lost: " + why);
    return Status::Corruption("tail of " + path + " only partly restored: " + why);
  }
  return Status::Ok();
}

}  // namespace

remote_log::ConnectOptions PreloadConnectOptions(const ShimConfig& sc, const std::string& key) {
  remote_log::ConnectOptions o;
  o.secret = sc.secret;
  o.connect_timeout_ms = sc.connect_timeout_ms;
  o.io_timeout_ms = sc.io_timeout_ms;
  o.busy_poll = sc.busy_poll;
  o.owner_seed = log::OwnerSeed(key);
  return o;
}

Status ProbeRemoteLog(const ShimConfig& sc, const std::string& key, const std::string& name,
                      RemoteLogState* st) {
  std::vector<Probe> probes;
  return ProbeAll(sc, key, name, &probes, st);
}

Status PrepareRemoteLog(const ShimConfig& sc, const std::string& key, SealMode mode,
                        const std::string& path, const std::string& name, RemoteLogState* st) {
  std::vector<Probe> probes;
  Status s = ProbeAll(sc, key, name, &probes, st);
  if (!s.ok()) return s;
  for (Probe& p : probes) {
    if (p.conn == nullptr || p.has_path) continue;
    Status w = WritePathLog(p.conn.get(), key, mode, name, path);
    if (!w.ok()) return Status::Unavailable(p.uri + ": writing the path log: " + w.ToString());
  }
  return Status::Ok();
}

Status ListPreloadLogs(const ShimConfig& sc, const std::string& key,
                       std::vector<PreloadLogEntry>* out) {
  out->clear();
  size_t reachable = 0;
  std::string failures;
  for (const std::string& uri : sc.mirrors) {
    std::unique_ptr<Connection> c;
    std::vector<LogEntry> logs;
    Status s =
        remote_log::TransportRegistry::Global().Connect(uri, PreloadConnectOptions(sc, key), &c);
    if (s.ok()) s = c->List(&logs);
    if (!s.ok()) {
      failures += (failures.empty() ? "" : "; ") + uri + ": " + s.ToString();
      continue;
    }
    ++reachable;
    for (LogEntry& e : logs) {
      if (e.name.rfind("rvmpl-", 0) != 0 || IsPathLogName(e.name)) continue;
      PreloadLogEntry pe;
      pe.mirror = uri;
      pe.log = std::move(e);
      const std::string pname = PathLogName(pe.log.name);
      auto it = std::find_if(logs.begin(), logs.end(),
                             [&](const LogEntry& x) { return x.name == pname; });
      if (it == logs.end()) {
        pe.path_problem = "no path log on this mirror";
      } else {
        Status r = ReadPathLog(c.get(), key, SealModeFor(sc), pe.log.name, it->info.epoch, &pe.path);
        if (!r.ok()) pe.path_problem = "path log: " + r.ToString();
        if (r.ok() && RemoteLogNameForPath(pe.path) != pe.log.name)
          pe.path_problem = "path log names " + pe.path + ", which is not this log's file";
        if (!pe.path_problem.empty()) pe.path.clear();
      }
      out->push_back(std::move(pe));
    }
  }
  return reachable == 0 ? Status::Unavailable("no mirror reachable (" + failures + ")")
                        : Status::Ok();
}

Status RestoreFile(const ShimConfig& sc, const std::string& key, const std::string& path,
                   bool discard, RestoreReport* rep) {
  *rep = RestoreReport{};
  rep->name = RemoteLogNameForPath(path);
  std::vector<Probe> probes;
  Status s = ProbeAll(sc, key, rep->name, &probes, &rep->state);
  if (!s.ok()) return s;
  const RemoteLogState& st = rep->state;
  if (!st.found) return Status::Ok();
  std::unique_ptr<RecordCodec> codec;
  if (!discard) {
    s = RecordCodec::Create(key, rep->name, SealModeFor(sc), &codec);
    if (!s.ok()) return s;
  }
  uint64_t epoch = st.epoch + 1;
  // Fence every older writer on every mirror that holds the log.
  std::vector<Probe*> sources;
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
    sources.push_back(&p);
  }
  std::stable_sort(sources.begin(), sources.end(),
                   [](const Probe* a, const Probe* b) { return a->info.tail > b->info.tail; });
  Status result = Status::Ok();
  if (!discard && st.pending()) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Status::IoError("open " + path, errno);
    result = Replay(fd, sources, codec.get(), path, rep);
    if (::fdatasync(fd) != 0) {
      int e = errno;
      ::close(fd);
      return Status::IoError("fdatasync " + path, e);
    }
    ::close(fd);
    // Short of the tail (or at a REFUSED record, which stays until --discard):
    // trim nothing, a later run may read more.
    if (!result.ok()) return result;
  } else {
    rep->restored_to = st.tail;
  }
  // The file now reflects everything up to restored_to: let the mirrors drop it.
  for (Probe* p : sources) {
    LogInfo info;
    uint64_t t = std::min(rep->restored_to, p->info.tail);
    if (t <= p->info.start) continue;
    Status tr = p->conn->Trim(t, &info);
    if (!tr.ok()) rep->problems.push_back(p->uri + ": trim: " + tr.ToString());
  }
  return result;
}

}  // namespace rvmr::preload
