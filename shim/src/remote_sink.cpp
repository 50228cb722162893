#include "shim/remote_sink.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>

#include "common/diag.h"
#include "common/fault_point.h"
#include "common/thread.h"
#include "remote_log/wire.h"
#include "shim/log_format.h"
#include "shim/log_key.h"
#include "shim/log_source.h"
#include "shim/remote_marker.h"

namespace rvmr {

namespace {

// The open remote sink, for GetActiveShimStats (one RVM log per process).
std::mutex g_active_mu;
const RemoteSink* g_active = nullptr;

// Largest piece handed to the mirrors in one append message.
constexpr size_t kMaxPiece = size_t{1} << 20;
// Record boundaries remembered for catch-up: at most one per this many bytes.
constexpr uint64_t kBoundaryStride = uint64_t{256} << 10;

// The log key for a remote-mode open of the log at `path` (*key empty: none,
// protect_records = no and no key file). Creates the key file when the log
// is protected and has none, unless the mirrors may hold commits sealed
// under a lost one (the marker says open): then the open is refused.
Status LoadOrCreateLogKey(const std::string& path, const ShimConfig& sc, bool mirrors_may_hold,
                          const std::string& name, std::string* key) {
  const std::string kp = log::LogKeyPath(path, sc.log_key_file);
  Status s = log::ReadLogKey(kp, key);
  if (s.ok() || s.code() != Status::Code::kNotFound) return s;
  key->clear();
  if (!sc.protect_records) return Status::Ok();
  if (mirrors_may_hold)
    return Status::NotFound(
        "log key file " + kp + " of log " + path +
        " is missing, and the mirrors may hold commits of it that only that key can verify: "
        "restore the key file from its backup (or, to give those commits up, start once "
        "without mirrors with abandon_mirror_copy = yes)");
  s = log::CreateLogKey(kp, key);
  if (!s.ok()) return s;
  Report(DiagLevel::kNotice,
         "created log key file %s for log '%s' (records on the mirrors are sealed with "
         "it): back it up; recovering the log from the mirrors alone needs it",
         kp.c_str(), name.c_str());
  return Status::Ok();
}

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
  // A killed writer's lock can outlive it briefly (the kernel tears its
  // io_uring down asynchronously, holding the file open until in-flight I/O
  // ends; found by the crash suite), so a held lock is retried for up to 3 s.
  int lock_rc = -1;
  for (int i = 0; i < 300; i++) {
    lock_rc = ::flock(cfg.fd, LOCK_EX | LOCK_NB);
    if (lock_rc == 0 || errno != EWOULDBLOCK) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (lock_rc != 0)
    return Status::IoError("log " + cfg.path + " is in use by another process (flock)", errno);
  std::unique_ptr<RemoteSink> sink(new RemoteSink(cfg, sc));
  // "<log>.remote" (remote_marker.h) marks a log that has been used in
  // remote mode: unless its last writer closed it cleanly, mirrors that do
  // not hold it lost it (restarted), which recovery must report; and it may
  // say that a start without mirrors abandoned their copy.
  RemoteMarker old;
  bool have_marker = false;
  Status s = ReadRemoteMarker(cfg.path, &old, &have_marker);
  if (!s.ok()) return s;
  const bool ours = have_marker && RemoteMarkerBelongsTo(old, cfg.status);
  TailRecoveryOptions ro;
  ro.used_before = ours && old.state != RemoteMarker::State::kClosed;
  ro.abandoned = ours && old.state == RemoteMarker::State::kAbandoned;
  ro.stale_below_epoch = ours ? old.stale_below_epoch : 0;
  ro.abandoned_disk_end = ro.abandoned ? old.disk_end : 0;
  s = LoadOrCreateLogKey(cfg.path, sc,
                         ours && old.state == RemoteMarker::State::kOpen, sink->name_,
                         &ro.log_key);
  if (!s.ok()) return s;
  ro.require_sealed = sc.protect_records;
  sink->sc_.log_key = ro.log_key;  // proves ownership of the log to the servers
  if (sc.protect_records) {
    s = log::RecordSealer::Create(ro.log_key, sink->name_,
                                  sc.encrypt ? log::RecordSealer::Mode::kEncrypt
                                             : log::RecordSealer::Mode::kAuthenticate,
                                  &sink->sealer_);
    if (!s.ok()) return s;
  }
  s = RecoverTailFromMirrors(cfg.fd, cfg.status, sink->sc_, sink->name_, ro, &sink->recovery_);
  if (!s.ok()) return s;
  // From here on the mirrors may hold more than the disk copy: say so before
  // the first append (an abandoned copy has just been dropped; a mirror that
  // missed that keeps an older epoch, which marks its copy void too).
  sink->marker_.name = sink->name_;
  sink->marker_.log_id = RemoteLogName(cfg.status);
  sink->marker_.state = RemoteMarker::State::kOpen;
  sink->marker_.disk_end = sink->recovery_.recovered_tail;
  sink->marker_.stale_below_epoch = ro.abandoned ? sink->recovery_.epoch : ro.stale_below_epoch;
  s = WriteRemoteMarker(cfg.path, sink->marker_);
  if (!s.ok()) return s;
  sink->epoch_ = sink->recovery_.epoch;
  sink->end_ = sink->recovery_.recovered_tail;
  sink->last_trim_ = sink->end_;
  // Records start at the head and at the recovered tail.
  sink->bounds_.push_back(std::min(cfg.status.head, sink->end_));
  sink->NoteBoundary(sink->end_);

  DiskWriterOptions dw;
  dw.fd = cfg.fd;
  dw.area_start = cfg.status.area_start;
  dw.area_size = cfg.status.area_size;
  dw.initial_offset = sink->end_;
  dw.staging_bytes = sc.staging_bytes;
  dw.batch_delay_us = sc.disk_batch_delay_us;
  dw.use_o_direct = sc.o_direct;
  dw.force_fallback = sc.disk_writer == ShimConfig::DiskWriterKind::kPwrite;
  dw.fault_hook = sc.disk_fault_hook;
  s = DiskWriter::Open(dw, &sink->disk_);
  if (!s.ok()) return s;

  sink->done_end_.store(sink->end_);
  s = sink->OpenMirrorSet(sink->end_, sc.write_quorum, &sink->mirrors_);
  if (!s.ok()) {
    if (sc.failure_policy == ShimConfig::FailurePolicy::kStrict) return s;
    std::lock_guard<std::mutex> l(sink->mu_);
    sink->EnterDegradedLocked(s);
  }
  {
    std::lock_guard<std::mutex> l(sink->stats_mu_);
    sink->stats_.tail = sink->end_;
    sink->stats_.disk_durable = sink->end_;
  }
  {
    std::lock_guard<std::mutex> l(g_active_mu);
    g_active = sink.get();
  }
  *out = std::move(sink);
  return Status::Ok();
}

bool GetActiveShimStats(ShimStats* out) {
  std::lock_guard<std::mutex> l(g_active_mu);
  if (g_active == nullptr) return false;
  *out = g_active->stats();
  return true;
}

Status RemoteSink::OpenMirrorSet(uint64_t tail, size_t quorum, SetPtr* out) {
  remote_log::MirrorSetOptions mo;
  mo.uris = sc_.mirrors;
  mo.write_quorum = quorum;
  mo.connect = MirrorConnectOptions(sc_);
  mo.connect.busy_poll = sc_.busy_poll;
  out->reset();
  std::unique_ptr<remote_log::MirrorSet> set;
  Status s = remote_log::MirrorSet::Connect(mo, &set);
  if (!s.ok()) return s;
  std::vector<remote_log::LogInfo> infos;
  s = set->Open(name_, epoch_, true, tail, &infos);
  if (!s.ok()) return s;
  // Mirrors behind the tail get the missing bytes from the (durable) disk copy.
  for (size_t i = 0; i < set->size(); ++i) {
    auto h = set->Health()[i];
    if (h.connected && h.info.tail < tail) {
      Status c = CatchUpMirror(set.get(), i, tail);
      if (!c.ok())
        Report(DiagLevel::kWarning, "mirror %s cannot catch up: %s", h.uri.c_str(),
               c.ToString().c_str());
    } else if (h.connected && h.info.tail > tail) {
      Report(DiagLevel::kWarning,
             "mirror %s holds log bytes up to %llu beyond the recovered tail %llu "
             "(they failed verification); it takes no appends until its copy of log '%s' "
             "is removed",
             h.uri.c_str(), static_cast<unsigned long long>(h.info.tail),
             static_cast<unsigned long long>(tail), name_.c_str());
    }
  }
  if (set->AckedEnd() < tail)
    return Status::Unavailable("fewer mirrors than the quorum hold the log tail");
  *out = SetPtr(std::move(set));
  return Status::Ok();
}

void RemoteSink::NoteBoundary(uint64_t offset) {
  if (bounds_.empty() || offset >= bounds_.back() + kBoundaryStride) bounds_.push_back(offset);
  // Keep one boundary at or before offset - area size (the furthest a
  // mirror can be caught up from).
  while (bounds_.size() >= 2 && bounds_[1] + status_.area_size <= offset) bounds_.pop_front();
}

Status RemoteSink::CatchUpSealed(remote_log::MirrorSet* set, size_t i, uint64_t from,
                                 uint64_t tail) {
  // The last record start at or before `from`, else (a mirror whose tail
  // lies before every record this sink knows of: before the log's head,
  // bytes already applied, which no reader of the mirror uses) the first
  // one after it, reached with zero bytes (never sealed data).
  uint64_t pos = from;
  auto it = std::upper_bound(bounds_.begin(), bounds_.end(), from);
  if (it != bounds_.begin()) {
    pos = *std::prev(it);
  } else if (it != bounds_.end() && *it <= tail) {
    const std::string zeros(static_cast<size_t>(std::min<uint64_t>(*it - from, kMaxPiece)), '\0');
    for (uint64_t off = from; off < *it;) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(*it - off, zeros.size()));
      struct iovec v = {const_cast<char*>(zeros.data()), n};
      Status s = set->AppendTo(i, off, &v, 1);
      if (!s.ok()) return s;
      off += n;
    }
    pos = from = *it;
  }
  if (tail - pos > status_.area_size)
    return Status::Unavailable("mirror is too far behind to catch up from the disk copy");
  log::FileLogSource src(fd_, status_.area_start, status_.area_size);
  std::string buf;  // sealed records [base, pos)
  uint64_t base = pos;
  while (pos < tail) {
    char hdr[log::kRecordHeaderSize];
    Status s = src.Read(pos, hdr, sizeof hdr);
    if (!s.ok()) return s;
    const uint64_t size = log::RecordSize(log::GetU32(hdr + 16));
    if (log::GetU32(hdr) != log::kRecordMagic || log::GetU64(hdr + 24) != pos ||
        size > tail - pos)
      return Status::Corruption("catch-up: no record at log offset " + std::to_string(pos) +
                                " of the disk copy");
    const size_t at = buf.size();
    buf.resize(at + size);
    s = src.Read(pos, buf.data() + at, size);
    if (!s.ok()) return s;
    s = sealer_->SealInPlace(pos, buf.data() + at, size);
    if (!s.ok()) return s;
    pos += size;
    if (buf.size() < kMaxPiece && pos < tail) continue;
    for (uint64_t off = std::max(base, from); off < pos;) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(pos - off, kMaxPiece));
      struct iovec v = {buf.data() + (off - base), n};
      s = set->AppendTo(i, off, &v, 1);
      if (!s.ok()) return s;
      off += n;
    }
    buf.clear();
    base = pos;
  }
  return Status::Ok();
}

Status RemoteSink::CatchUpMirror(remote_log::MirrorSet* set, size_t i, uint64_t tail) {
  uint64_t from = set->Health()[i].info.tail;
  if (from >= tail) return Status::Ok();
  // A byte at offset L is overwritten on disk only by a write at L + area
  // size, so [from, tail) is intact on disk if it spans at most the area.
  if (tail - from > status_.area_size)
    return Status::Unavailable("mirror is too far behind to catch up from the disk copy");
  Status s = disk_->WaitDurable(tail);
  if (!s.ok()) return s;
  if (sealer_) return CatchUpSealed(set, i, from, tail);
  log::FileLogSource src(fd_, status_.area_start, status_.area_size);
  std::string buf;
  while (from < tail) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(tail - from, kMaxPiece));
    buf.resize(n);
    s = src.Read(from, buf.data(), n);
    if (!s.ok()) return s;
    struct iovec v = {buf.data(), n};
    s = set->AppendTo(i, from, &v, 1);
    if (!s.ok()) return s;
    from += n;
  }
  return Status::Ok();
}

RemoteSink::~RemoteSink() {
  {
    std::lock_guard<std::mutex> l(g_active_mu);
    if (g_active == this) g_active = nullptr;
  }
  StopProber();
  if (prober_.joinable()) prober_.join();
  if (disk_) {
    Status s = disk_->Close();
    bool fenced;
    {
      std::lock_guard<std::mutex> l(mu_);
      fenced = fenced_;
    }
    if (!s.ok()) {
      Report(DiagLevel::kError, "log %s: closing its disk writer: %s", path_.c_str(),
             s.ToString().c_str());
    } else {
      if (mirrors_ && !degraded_) (void)mirrors_->Trim(disk_->durable_offset());
      // Everything sent is on disk: nothing is held only by the mirrors
      // (unless a newer writer took the log over; its marker is its own).
      if (!fenced) {
        marker_.state = RemoteMarker::State::kClosed;
        marker_.disk_end = disk_->durable_offset();
        Status ms = WriteRemoteMarker(path_, marker_);
        if (!ms.ok())
          Report(DiagLevel::kError, "log %s: closing: %s", path_.c_str(), ms.ToString().c_str());
      }
    }
  }
}

void RemoteSink::EnterDegradedLocked(const Status& why) {
  degraded_ = true;
  mirrors_.reset();
  partial_.reset();
  {
    std::lock_guard<std::mutex> l(stats_mu_);
    stats_.degraded_episodes++;
    stats_.degraded = true;
  }
  if (!said_degraded_) {
    said_degraded_ = true;
    Report(DiagLevel::kWarning,
           "mirrors of log '%s' cannot acknowledge (%s); commits now wait for the "
           "local disk (and go to whichever mirrors still answer) until the mirrors are "
           "back",
           name_.c_str(), why.ToString().c_str());
  }
  StartProber();
}

void RemoteSink::SetFailedLocked(const SetPtr& set, const Status& why) {
  if (set == mirrors_ && !degraded_)
    EnterDegradedLocked(why);
  else if (set == partial_)
    partial_.reset();
  // else: a set already replaced; nothing more to do.
}

// The prober runs while wanted; a thread that has seen itself unwanted exits
// (probe_running_ false) and the next StartProber joins it first.
void RemoteSink::StartProber() {
  std::lock_guard<std::mutex> l(probe_mu_);
  if (!probe_want_) reachable_ = 0;  // a new episode: what was counted before is stale
  probe_want_ = true;
  if (probe_running_) return;
  if (prober_.joinable()) prober_.join();  // it has left ProbeLoop
  probe_running_ = true;
  prober_ = StartThread("rvm-mirrorprobe", [this] { ProbeLoop(); });
}

void RemoteSink::StopProber() {
  {
    std::lock_guard<std::mutex> l(probe_mu_);
    probe_want_ = false;
  }
  probe_cv_.notify_all();
}

// Background: how many mirrors answer, so that the sending thread only
// tries to reopen mirrors when they can be reached (a connect to a dead host
// would otherwise stall commits for the connect timeout).
void RemoteSink::ProbeLoop() {
  const remote_log::ConnectOptions co = MirrorConnectOptions(sc_);
  std::unique_lock<std::mutex> l(probe_mu_);
  while (probe_want_) {
    l.unlock();
    size_t up = 0;
    for (const std::string& uri : sc_.mirrors) {
      std::unique_ptr<remote_log::Connection> c;
      std::vector<remote_log::LogEntry> logs;
      if (remote_log::TransportRegistry::Global().Connect(uri, co, &c).ok() && c->List(&logs).ok())
        up++;
    }
    reachable_.store(up);
    l.lock();
    probe_cv_.wait_for(l, std::chrono::milliseconds(sc_.reconnect_interval_ms),
                       [this] { return !probe_want_; });
  }
  probe_running_ = false;
}

void RemoteSink::MaybeRestoreMirrors() {
  const size_t up = reachable_.load();
  const size_t quorum = sc_.write_quorum == 0 ? sc_.mirrors.size() : sc_.write_quorum;
  bool have_partial;
  {
    std::lock_guard<std::mutex> l(mu_);
    have_partial = partial_ != nullptr;
  }
  if (up == 0 || (up < quorum && have_partial)) return;
  // Everything sent so far is on disk (degraded commits wait for it), so
  // mirrors that lost the log may restart it at the tail and laggards can be
  // caught up from the disk copy.
  if (!disk_->WaitDurable(end_).ok()) return;
  if (up >= quorum) {
    SetPtr set;
    if (OpenMirrorSet(end_, sc_.write_quorum, &set).ok()) {
      {
        std::lock_guard<std::mutex> l(mu_);
        mirrors_ = std::move(set);
        partial_.reset();
        degraded_ = false;
        said_degraded_ = false;
      }
      StopProber();
      Report(DiagLevel::kNotice,
             "mirrors of log '%s' are back; commits no longer wait for the disk", name_.c_str());
      std::lock_guard<std::mutex> l(stats_mu_);
      stats_.mirror_restores++;
      stats_.degraded = false;
      return;
    }
  }
  // Not enough for the quorum: keep what answers in a set that needs one ack,
  // so degraded commits still reach every mirror that is up.
  if (have_partial) return;
  SetPtr p;
  if (!OpenMirrorSet(end_, 1, &p).ok()) return;
  std::lock_guard<std::mutex> l(mu_);
  if (degraded_) partial_ = std::move(p);
}

void RemoteSink::MaybeTrim() {
  uint64_t d = disk_->durable_offset();
  // Mutation: the mirrors drop what was sent, not what the disk made durable.
  if (RVMR_MUTATION("trim_before_disk_durable")) d = end_;
  if (d - last_trim_ < sc_.trim_interval_bytes) return;
  SetPtr set;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (degraded_) return;
    set = mirrors_;
  }
  if (!set) return;
  if (set->Trim(d).ok()) {
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

Status RemoteSink::FenceLocked(const Status& why) {
  // Not reported here: the call that gets this status reports it, once.
  fenced_ = true;
  return Status::Fenced("log '" + name_ + "' was opened by a newer writer (" + why.message() +
                        "); this process may no longer commit to it");
}

Status RemoteSink::Send(uint64_t offset, const struct iovec* iov, int iovcnt) {
  if (offset != end_)
    return Status::InvalidArgument("append at " + std::to_string(offset) + ", expected " +
                                   std::to_string(end_));
  const size_t len = IovBytes(iov, iovcnt);
  const uint64_t end = offset + len;
  // 1. Send to the mirrors (no waiting: Wait reads the acks), 2. stage for
  // the disk. Degraded, the bytes still go to the mirrors that answer
  // (partial_), and their Wait also waits for the disk.
  SetPtr set;
  bool remote;
  {
    std::unique_lock<std::mutex> l(mu_);
    if (fenced_) return Status::Fenced("log '" + name_ + "' is fenced by a newer writer");
    if (degraded_) {
      l.unlock();
      MaybeRestoreMirrors();
      l.lock();
    }
    set = degraded_ ? partial_ : mirrors_;
    remote = !degraded_;
  }
  RVMR_FAULT_POINT("shim.before_remote_append");
  if (set) {
    const struct iovec* miov = iov;
    int mcnt = iovcnt;
    if (sealer_) {
      Status s = sealer_->Seal(offset, iov, iovcnt, &sealed_);
      if (!s.ok()) return s;
      miov = sealed_.data();
      mcnt = static_cast<int>(sealed_.size());
    }
    Status s = ForEachPiece(offset, miov, mcnt, [&](uint64_t off, const struct iovec* v, int n) {
      return set->AppendAsync(off, v, n);
    });
    if (!s.ok()) {
      std::lock_guard<std::mutex> l(mu_);
      if (s.code() == Status::Code::kFenced) return FenceLocked(s);
      SetFailedLocked(set, s);
      set.reset();
    }
  }
  RVMR_FAULT_POINT("shim.before_disk_handoff");
  uint64_t staged_end = 0;
  Status ds = disk_->AppendV(iov, iovcnt, &staged_end);
  if (!ds.ok()) return ds;  // the disk copy failed: nothing more is acknowledged
  end_ = end;
  NoteBoundary(end);
  if (staged_end != end)
    return Status::Failed("disk writer tail " + std::to_string(staged_end) +
                          " disagrees with the log tail " + std::to_string(end));
  size_t in_flight;
  {
    std::lock_guard<std::mutex> l(mu_);
    batches_.push_back(Batch{end, set, remote && set != nullptr});
    in_flight = batches_.size();
  }
  {
    std::lock_guard<std::mutex> l(stats_mu_);
    stats_.appends++;
    stats_.bytes += len;
    stats_.max_in_flight = std::max<uint64_t>(stats_.max_in_flight, in_flight);
  }
  if (remote) MaybeTrim();
  NoteWindow();
  return Status::Ok();
}

LogSink::Traits RemoteSink::traits() const {
  // Only the TCP transport lets one thread send while another waits
  // (Connection::SupportsConcurrentWait); RDMA polls one completion queue.
  bool tcp_only = true;
  for (const std::string& m : sc_.mirrors) tcp_only = tcp_only && m.rfind("tcp://", 0) == 0;
  return Traits{false, sc_.pipeline_depth, tcp_only};
}

Status RemoteSink::Complete(const Batch& b, bool* remote) {
  *remote = false;
  if (b.set) {
    // Mutation (mutant test build only): the commit returns without
    // waiting for the mirrors' acknowledgement.
    Status s = RVMR_MUTATION("ack_before_remote_ack") ? Status::Ok() : b.set->WaitAcked(b.end);
    if (!s.ok()) {
      std::lock_guard<std::mutex> l(mu_);
      if (s.code() == Status::Code::kFenced) return FenceLocked(s);
      SetFailedLocked(b.set, s);
    } else if (b.remote) {
      *remote = true;
    }
  }
  RVMR_FAULT_POINT("shim.after_remote_ack");
  if (*remote) return Status::Ok();
  if (sc_.failure_policy == ShimConfig::FailurePolicy::kStrict)
    return Status::Unavailable("mirrors of log '" + name_ +
                               "' did not acknowledge (strict policy)");
  return disk_->WaitDurable(b.end);
}

Status RemoteSink::Wait(uint64_t end) {
  if (done_end_.load(std::memory_order_acquire) >= end) return Status::Ok();
  // One waiter reads acks at a time; the next one, woken by this mutex, often
  // finds its batch already covered by the acks the previous one read.
  std::lock_guard<std::mutex> reader(read_mu_);
  if (done_end_.load(std::memory_order_acquire) >= end) return Status::Ok();
  Batch b;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (fenced_) return Status::Fenced("log '" + name_ + "' is fenced by a newer writer");
    auto it = std::find_if(batches_.begin(), batches_.end(),
                           [end](const Batch& x) { return x.end >= end; });
    if (it == batches_.end())
      return Status::InvalidArgument("wait for " + std::to_string(end) + " beyond the last send");
    b = *it;
  }
  bool remote = false;
  Status s = Complete(b, &remote);
  if (!s.ok()) return s;
  // b and everything before it are durable as promised; so are the later
  // batches on the same set that the acks read meanwhile cover.
  uint64_t covered = b.end, n = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (remote) {
      const uint64_t q = b.set->QuorumAcked();
      for (const Batch& x : batches_)
        if (x.end > covered && x.set == b.set && x.remote && x.end <= q) covered = x.end;
    }
    while (!batches_.empty() && batches_.front().end <= covered) {
      batches_.pop_front();
      n++;
    }
    if (covered > done_end_.load(std::memory_order_relaxed))
      done_end_.store(covered, std::memory_order_release);
  }
  std::lock_guard<std::mutex> l(stats_mu_);
  (remote ? stats_.remote_acks : stats_.fallback_commits) += n;
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
