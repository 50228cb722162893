#include "shim/remote_sink.h"

#include <sys/file.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "remote_log/wire.h"
#include "shim/log_source.h"

namespace rvmr {

namespace {

// Largest piece handed to the mirrors in one append message.
constexpr size_t kMaxPiece = size_t{1} << 20;

size_t IovBytes(const struct iovec* iov, int iovcnt) {
  size_t n = 0;
  for (int i = 0; i < iovcnt; ++i) n += iov[i].iov_len;
  return n;
}

// Calls fn(offset, iov, iovcnt) for consecutive slices of at most kMaxPiece
// bytes of the iovec array; stops at the first error.
template <typename Fn>
Status ForEachPiece(uint64_t offset, const struct iovec* iov, int iovcnt, Fn fn) {
  constexpr int kMaxIov = 64;
  struct iovec piece[kMaxIov];
  int n = 0;
  size_t bytes = 0;
  uint64_t piece_off = offset;
  for (int i = 0; i < iovcnt; ++i) {
    const char* p = static_cast<const char*>(iov[i].iov_base);
    size_t left = iov[i].iov_len;
    while (left > 0) {
      size_t take = std::min(left, kMaxPiece - bytes);
      piece[n++] = {const_cast<char*>(p), take};
      bytes += take;
      p += take;
      left -= take;
      if (bytes == kMaxPiece || n == kMaxIov) {
        Status s = fn(piece_off, piece, n);
        if (!s.ok()) return s;
        piece_off += bytes;
        n = 0;
        bytes = 0;
      }
    }
  }
  if (n > 0) return fn(piece_off, piece, n);
  return Status::Ok();
}

}  // namespace

RemoteSink::RemoteSink(const LogSinkConfig& cfg, const ShimConfig& sc)
    : fd_(cfg.fd), path_(cfg.path), status_(cfg.status), sc_(sc) {
  name_ = sc.log_name.empty() ? RemoteLogName(cfg.status) : sc.log_name;
}

Status RemoteSink::Open(const LogSinkConfig& cfg, const ShimConfig& sc,
                        std::unique_ptr<RemoteSink>* out) {
  // One writer per log file on this machine: the mirrors fence stale
  // writers elsewhere, this lock keeps a second local process off the disk copy.
  if (::flock(cfg.fd, LOCK_EX | LOCK_NB) != 0)
    return Status::IoError("log " + cfg.path + " is in use by another process (flock)", errno);
  std::unique_ptr<RemoteSink> sink(new RemoteSink(cfg, sc));
  Status s = RecoverTailFromMirrors(cfg.fd, cfg.status, sc, sink->name_, &sink->recovery_);
  if (!s.ok()) return s;
  sink->epoch_ = sink->recovery_.epoch;
  sink->end_ = sink->recovery_.recovered_tail;
  sink->last_trim_ = sink->end_;

  DiskWriterOptions dw;
  dw.fd = cfg.fd;
  dw.area_start = cfg.status.area_start;
  dw.area_size = cfg.status.area_size;
  dw.initial_offset = sink->end_;
  dw.staging_bytes = sc.staging_bytes;
  dw.use_o_direct = sc.o_direct;
  dw.force_fallback = sc.disk_writer == ShimConfig::DiskWriterKind::kPwrite;
  dw.fault_hook = sc.disk_fault_hook;
  s = DiskWriter::Open(dw, &sink->disk_);
  if (!s.ok()) return s;

  s = sink->OpenMirrors(sink->end_);
  if (!s.ok()) {
    if (sc.failure_policy == ShimConfig::FailurePolicy::kStrict) return s;
    sink->EnterDegraded(s);
  }
  {
    std::lock_guard<std::mutex> l(sink->stats_mu_);
    sink->stats_.tail = sink->end_;
    sink->stats_.disk_durable = sink->end_;
  }
  *out = std::move(sink);
  return Status::Ok();
}

Status RemoteSink::OpenMirrors(uint64_t tail) {
  remote_log::MirrorSetOptions mo;
  mo.uris = sc_.mirrors;
  mo.write_quorum = sc_.write_quorum;
  mo.connect.secret = sc_.secret;
  mo.connect.connect_timeout_ms = sc_.connect_timeout_ms;
  mo.connect.io_timeout_ms = sc_.io_timeout_ms;
  mo.connect.busy_poll = sc_.busy_poll;
  mirrors_.reset();
  Status s = remote_log::MirrorSet::Connect(mo, &mirrors_);
  if (!s.ok()) return s;
  std::vector<remote_log::LogInfo> infos;
  s = mirrors_->Open(name_, epoch_, true, tail, &infos);
  if (!s.ok()) return s;
  // Mirrors behind the tail get the missing bytes from the (durable) disk copy.
  for (size_t i = 0; i < mirrors_->size(); ++i) {
    auto h = mirrors_->Health()[i];
    if (h.connected && h.info.tail < tail) {
      Status c = CatchUpMirror(i);
      if (!c.ok())
        std::fprintf(stderr, "rvm shim: mirror %s cannot catch up: %s\n", h.uri.c_str(),
                     c.ToString().c_str());
    } else if (h.connected && h.info.tail > tail) {
      std::fprintf(stderr,
                   "rvm shim: mirror %s holds log bytes up to %llu beyond the recovered tail %llu "
                   "(they failed verification); it takes no appends until its copy of log '%s' "
                   "is removed\n",
                   h.uri.c_str(), static_cast<unsigned long long>(h.info.tail),
                   static_cast<unsigned long long>(tail), name_.c_str());
    }
  }
  if (mirrors_->AckedEnd() < tail)
    return Status::Unavailable("fewer mirrors than the quorum hold the log tail");
  return Status::Ok();
}

Status RemoteSink::CatchUpMirror(size_t i) {
  auto h = mirrors_->Health()[i];
  uint64_t from = h.info.tail;
  if (from >= end_) return Status::Ok();
  if (from < status_.head || end_ - from > status_.area_size)
    return Status::Unavailable("mirror is too far behind to catch up from the disk copy");
  Status s = disk_->WaitDurable(end_);
  if (!s.ok()) return s;
  log::FileLogSource src(fd_, status_.area_start, status_.area_size);
  std::string buf;
  while (from < end_) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(end_ - from, kMaxPiece));
    buf.resize(n);
    s = src.Read(from, buf.data(), n);
    if (!s.ok()) return s;
    struct iovec v = {buf.data(), n};
    s = mirrors_->AppendTo(i, from, &v, 1);
    if (!s.ok()) return s;
    from += n;
  }
  return Status::Ok();
}

RemoteSink::~RemoteSink() {
  if (disk_) {
    Status s = disk_->Close();
    if (!s.ok())
      std::fprintf(stderr, "rvm shim: disk writer: %s\n", s.ToString().c_str());
    else if (mirrors_ && !degraded_)
      (void)mirrors_->Trim(disk_->durable_offset());
  }
}

void RemoteSink::EnterDegraded(const Status& why) {
  degraded_ = true;
  next_restore_ =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(sc_.reconnect_interval_ms);
  {
    std::lock_guard<std::mutex> l(stats_mu_);
    stats_.degraded_episodes++;
    stats_.degraded = true;
  }
  if (!said_degraded_) {
    said_degraded_ = true;
    std::fprintf(stderr,
                 "rvm shim: mirrors of log '%s' cannot acknowledge (%s); commits now wait for the "
                 "local disk until the mirrors are back\n",
                 name_.c_str(), why.ToString().c_str());
  }
}

void RemoteSink::MaybeRestoreMirrors() {
  if (std::chrono::steady_clock::now() < next_restore_) return;
  next_restore_ =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(sc_.reconnect_interval_ms);
  // Everything appended so far must be on disk before a mirror restarts from
  // the current tail, so that no byte exists only in a lost mirror.
  if (!disk_->WaitDurable(end_).ok()) return;
  // Reconnect the whole set: mirrors that kept the log reopen it, mirrors
  // that lost it (restarted) recreate it at the tail, laggards catch up.
  Status s = OpenMirrors(end_);
  if (!s.ok()) {
    mirrors_.reset();
    return;
  }
  {
    degraded_ = false;
    said_degraded_ = false;
    std::fprintf(stderr,
                 "rvm shim: mirrors of log '%s' are back; commits no longer wait for the disk\n",
                 name_.c_str());
    std::lock_guard<std::mutex> l(stats_mu_);
    stats_.mirror_restores++;
    stats_.degraded = false;
  }
}

void RemoteSink::MaybeTrim() {
  uint64_t d = disk_->durable_offset();
  if (d - last_trim_ < sc_.trim_interval_bytes) return;
  if (mirrors_->Trim(d).ok()) {
    last_trim_ = d;
    std::lock_guard<std::mutex> l(stats_mu_);
    stats_.trims++;
  }
}

void RemoteSink::NoteWindow() {
  uint64_t d = disk_->durable_offset();
  std::lock_guard<std::mutex> l(stats_mu_);
  stats_.disk_durable = d;
  stats_.tail = end_;
  stats_.remote_only_bytes = end_ > d ? end_ - d : 0;
  stats_.max_remote_only_bytes = std::max(stats_.max_remote_only_bytes, stats_.remote_only_bytes);
}

Status RemoteSink::Fence(const Status& why) {
  fenced_ = true;
  std::fprintf(stderr,
               "rvm shim: log '%s' was opened by a newer writer (%s); this process may no longer "
               "commit to it\n",
               name_.c_str(), why.ToString().c_str());
  return Status::Fenced("log '" + name_ + "' is fenced by a newer writer: " + why.message());
}

Status RemoteSink::Append(uint64_t offset, const struct iovec* iov, int iovcnt) {
  if (offset != end_)
    return Status::InvalidArgument("append at " + std::to_string(offset) + ", expected " +
                                   std::to_string(end_));
  if (fenced_) return Status::Fenced("log '" + name_ + "' is fenced by a newer writer");
  const size_t len = IovBytes(iov, iovcnt);
  const uint64_t end = offset + len;
  if (degraded_) MaybeRestoreMirrors();

  // 1. Send to the mirrors (no waiting yet), 2. stage for the disk, 3. wait.
  bool remote = !degraded_;
  if (remote) {
    Status s = ForEachPiece(offset, iov, iovcnt, [&](uint64_t off, const struct iovec* v, int n) {
      return mirrors_->AppendAsync(off, v, n);
    });
    if (s.code() == Status::Code::kFenced) return Fence(s);
    if (!s.ok()) {
      remote = false;
      EnterDegraded(s);
    }
  }
  uint64_t staged_end = 0;
  Status ds = disk_->AppendV(iov, iovcnt, &staged_end);
  if (!ds.ok()) return ds;  // the disk copy failed: nothing more is acknowledged
  end_ = end;
  if (staged_end != end)
    return Status::Failed("disk writer tail " + std::to_string(staged_end) +
                          " disagrees with the log tail " + std::to_string(end));
  if (remote) {
    Status s = mirrors_->WaitAcked(end);
    if (s.code() == Status::Code::kFenced) return Fence(s);
    if (!s.ok()) {
      remote = false;
      EnterDegraded(s);
    }
  }
  if (!remote) {
    if (sc_.failure_policy == ShimConfig::FailurePolicy::kStrict)
      return Status::Unavailable("mirrors of log '" + name_ +
                                 "' did not acknowledge (strict policy)");
    Status s = disk_->WaitDurable(end);
    if (!s.ok()) return s;
  }
  {
    std::lock_guard<std::mutex> l(stats_mu_);
    stats_.appends++;
    stats_.bytes += len;
    if (remote)
      stats_.remote_acks++;
    else
      stats_.fallback_commits++;
  }
  if (remote) MaybeTrim();
  NoteWindow();
  return Status::Ok();
}

Status RemoteSink::SyncToDisk(uint64_t offset) {
  return disk_->WaitDurable(offset);
}

std::string RemoteSink::Describe() const {
  std::string s = "remote log '" + name_ + "' on";
  for (const auto& m : sc_.mirrors) s += " " + m;
  s += " + disk " + path_;
  return s;
}

ShimStats RemoteSink::stats() const {
  std::lock_guard<std::mutex> l(stats_mu_);
  ShimStats s = stats_;
  if (disk_) s.disk_durable = disk_->durable_offset();
  return s;
}

}  // namespace rvmr
