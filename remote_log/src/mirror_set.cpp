#include "remote_log/mirror_set.h"

#include <poll.h>
#include <time.h>

#include <algorithm>
#include <array>

namespace rvmr::remote_log {

namespace {

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

size_t IovLen(const struct iovec* iov, int iovcnt) {
  size_t n = 0;
  for (int i = 0; i < iovcnt; ++i) n += iov[i].iov_len;
  return n;
}

}  // namespace

MirrorSet::~MirrorSet() = default;

Status MirrorSet::Connect(const MirrorSetOptions& options, std::unique_ptr<MirrorSet>* out) {
  size_t n = options.uris.size();
  if (n == 0) return Status::InvalidArgument("MirrorSet needs at least one mirror URI");
  if (n > kMaxMirrors)
    return Status::InvalidArgument("MirrorSet supports at most " + std::to_string(kMaxMirrors) +
                                   " mirrors");
  size_t q = options.write_quorum == 0 ? n : options.write_quorum;
  if (q > n)
    return Status::InvalidArgument("write quorum " + std::to_string(q) + " exceeds the " +
                                   std::to_string(n) + " mirrors");
  std::unique_ptr<MirrorSet> set(new MirrorSet());
  set->options_ = options;
  set->quorum_ = q;
  set->mirrors_.resize(n);
  set->concurrent_waits_ = true;
  for (size_t i = 0; i < n; ++i) {
    Mirror& m = set->mirrors_[i];
    m.health.uri = options.uris[i];
    Status s = TransportRegistry::Global().Connect(options.uris[i], options.connect, &m.conn);
    if (s.ok()) {
      m.health.connected = true;
      if (!m.conn->SupportsConcurrentWait()) set->concurrent_waits_ = false;
    } else {
      set->Fail(m, s);
    }
  }
  std::lock_guard<std::mutex> l(set->mu_);
  if (set->HealthyCount() < q) return set->QuorumError("connect");
  *out = std::move(set);
  return Status::Ok();
}

void MirrorSet::Fail(Mirror& m, const Status& s) {
  std::lock_guard<std::mutex> l(mu_);
  FailLocked(m, s);
}

void MirrorSet::FailLocked(Mirror& m, const Status& s) {
  if (m.health.error.ok()) m.health.error = s.ok() ? Status::Failed("mirror failed") : s;
  m.health.connected = false;
}

size_t MirrorSet::HealthyCount() const {
  size_t n = 0;
  for (const auto& m : mirrors_) n += m.health.connected ? 1 : 0;
  return n;
}

Status MirrorSet::QuorumError(const char* what) const {
  // Report the first failure, with how many mirrors are left.
  for (const auto& m : mirrors_) {
    if (!m.health.error.ok()) {
      const Status& e = m.health.error;
      const std::string context = std::string(what) + ": only " + std::to_string(HealthyCount()) +
                                  " of " + std::to_string(mirrors_.size()) +
                                  " mirrors healthy, quorum " + std::to_string(quorum_) +
                                  "; first failure";
      switch (e.code()) {
        case Status::Code::kFenced:
        case Status::Code::kNoSpace:
        case Status::Code::kNotFound:
        case Status::Code::kTimedOut:
        case Status::Code::kInvalidArgument:
        case Status::Code::kIoError:
        case Status::Code::kUnavailable:
          return e.WithContext(context);  // the mirror's cause, kept
        default:
          return Status::Unavailable(context + ": " + e.message());
      }
    }
  }
  return Status::Unavailable(std::string(what) + ": not enough healthy mirrors");
}

uint64_t MirrorSet::QuorumAckedLocked() const {
  std::array<uint64_t, kMaxMirrors> acks{};
  size_t n = 0;
  for (const auto& m : mirrors_)
    if (m.health.connected) acks[n++] = m.health.acked_end;
  if (n < quorum_) return 0;
  std::sort(acks.begin(), acks.begin() + n, std::greater<uint64_t>());
  return acks[quorum_ - 1];
}

uint64_t MirrorSet::QuorumAcked() const {
  std::lock_guard<std::mutex> l(mu_);
  return QuorumAckedLocked();
}

Status MirrorSet::Open(const std::string& name, uint64_t epoch, bool create, uint64_t create_offset,
                       std::vector<LogInfo>* infos) {
  name_ = name;
  epoch_ = epoch;
  open_ = true;
  if (infos) infos->assign(mirrors_.size(), LogInfo{});
  for (size_t i = 0; i < mirrors_.size(); ++i) {
    Mirror& m = mirrors_[i];
    if (!Healthy(m)) continue;
    LogInfo info;
    Status s = m.conn->Open(name, epoch, create, create_offset, &info);
    if (!s.ok()) {
      Fail(m, s);
      continue;
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      m.health.info = info;
      m.health.sent_end = m.health.acked_end = info.tail;
    }
    if (infos) (*infos)[i] = info;
  }
  std::lock_guard<std::mutex> l(mu_);
  if (HealthyCount() < quorum_) return QuorumError("open");
  return Status::Ok();
}

bool MirrorSet::NoteAcked(Mirror& m, uint64_t acked, const Status& s) {
  std::lock_guard<std::mutex> l(mu_);
  m.health.acked_end = acked;
  if (!s.ok()) FailLocked(m, s);
  return s.ok();
}

bool MirrorSet::Healthy(const Mirror& m) const {
  std::lock_guard<std::mutex> l(mu_);
  return m.health.connected;
}

Status MirrorSet::AppendAsync(uint64_t offset, const struct iovec* iov, int iovcnt) {
  size_t len = IovLen(iov, iovcnt);
  size_t sent = 0;
  bool have_crc = false;
  uint32_t crc = 0;
  for (auto& m : mirrors_) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!m.health.connected) continue;
      if (m.health.sent_end != offset) continue;  // behind: needs AppendTo first
    }
    if (!have_crc) {
      crc = AppendCrc(offset, iov, iovcnt);  // once for all mirrors
      have_crc = true;
    }
    Status s = m.conn->StartAppendWithCrc(offset, iov, iovcnt, crc);
    std::lock_guard<std::mutex> l(mu_);
    if (!s.ok()) {
      FailLocked(m, s);
      continue;
    }
    m.health.sent_end = offset + len;
    ++sent;
  }
  std::lock_guard<std::mutex> l(mu_);
  if (sent < quorum_) return QuorumError("append");
  return Status::Ok();
}

Status MirrorSet::WaitAcked(uint64_t end) {
  const bool busy = options_.connect.busy_poll;
  int64_t deadline = 0;
  std::array<pollfd, kMaxMirrors> pfds;
  std::array<size_t, kMaxMirrors> which;
  // The first pass polls no connection (a system call each), so that the
  // common case (every outstanding mirror is needed) goes straight to the
  // blocking waits.
  bool first = true;
  for (;; first = false) {
    size_t acked = 0, pending = 0;
    for (size_t i = 0; i < mirrors_.size(); ++i) {
      Mirror& m = mirrors_[i];
      uint64_t a;
      {
        std::lock_guard<std::mutex> l(mu_);
        if (!m.health.connected) continue;
        if (m.health.acked_end >= end) {
          ++acked;
          continue;
        }
        a = m.health.acked_end;
      }
      Status s = first ? Status::Ok() : m.conn->Poll(&a);
      std::lock_guard<std::mutex> l(mu_);
      m.health.acked_end = a;
      if (!s.ok()) {
        FailLocked(m, s);
      } else if (a >= end) {
        ++acked;
      } else if (m.health.sent_end < end) {
        // Never sent up to `end` (it was behind): cannot count for it.
      } else {
        which[pending++] = i;
      }
    }
    if (acked >= quorum_) return Status::Ok();
    if (acked + pending < quorum_) {
      std::lock_guard<std::mutex> l(mu_);
      return QuorumError("append");
    }
    if (acked + pending == quorum_) {
      // Every pending mirror is needed (one mirror, or all of N): block in
      // each transport in turn, in the order the appends were sent. One
      // blocking receive per mirror and no poll(2): the first ack is usually
      // the last to arrive, so the others are already there. A failure
      // leaves too few for the quorum, reported by the next pass.
      for (size_t k = 0; k < pending; ++k) {
        Mirror& m = mirrors_[which[k]];
        uint64_t a = 0;
        Status s = m.conn->WaitAcked(end, &a);
        if (!NoteAcked(m, a, s)) break;
      }
      continue;
    }
    if (first) continue;  // poll them all once before sleeping
    if (deadline == 0) deadline = NowNs() + int64_t(options_.connect.io_timeout_ms) * 1000000;
    int64_t left = deadline - NowNs();
    if (left <= 0) {
      for (size_t k = 0; k < pending; ++k)
        Fail(mirrors_[which[k]],
             Status::TimedOut(mirrors_[which[k]].health.uri + ": no ack within io_timeout_ms"));
      continue;
    }
    if (busy) continue;
    size_t nfds = 0;
    bool spin = false;
    for (size_t k = 0; k < pending; ++k) {
      int fd = mirrors_[which[k]].conn->wait_fd();
      if (fd < 0) {
        spin = true;
        continue;
      }
      pfds[nfds++] = pollfd{fd, POLLIN, 0};
    }
    if (spin) continue;
    // Sleeps until a connection may make progress or io_timeout_ms. With a
    // sender at work on the same connections (concurrent_waits), the acks may
    // be read by the sender instead (the reply to its Trim or Stat comes
    // behind them, and a sender facing a full socket drains it); such a
    // transport's wait_fd() becomes readable for that too (TCP: an eventfd
    // the sender signals, in one epoll set with the socket), and the Poll of
    // the next pass consumes it. No timed poll.
    poll(pfds.data(), nfds, int(left / 1000000) + 1);
  }
}

uint64_t MirrorSet::AckedEnd() {
  for (auto& m : mirrors_) {
    if (!Healthy(m)) continue;
    uint64_t a = 0;
    Status s = m.conn->Poll(&a);
    NoteAcked(m, a, s);
  }
  return QuorumAcked();
}

Status MirrorSet::Append(uint64_t offset, const struct iovec* iov, int iovcnt) {
  Status s = AppendAsync(offset, iov, iovcnt);
  if (!s.ok()) return s;
  return WaitAcked(offset + IovLen(iov, iovcnt));
}

Status MirrorSet::Append(uint64_t offset, const void* data, size_t len) {
  struct iovec iov = {const_cast<void*>(data), len};
  return Append(offset, &iov, 1);
}

Status MirrorSet::AppendTo(size_t i, uint64_t offset, const struct iovec* iov, int iovcnt) {
  if (i >= mirrors_.size()) return Status::InvalidArgument("no such mirror");
  Mirror& m = mirrors_[i];
  uint64_t a;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!m.health.connected) return m.health.error;
    a = m.health.acked_end;
  }
  const uint64_t end = offset + IovLen(iov, iovcnt);
  Status s = m.conn->StartAppend(offset, iov, iovcnt);
  if (s.ok()) {
    {
      std::lock_guard<std::mutex> l(mu_);
      m.health.sent_end = end;
    }
    s = m.conn->WaitAcked(end, &a);
  }
  NoteAcked(m, a, s);
  return s;
}

Status MirrorSet::Read(uint64_t offset, size_t len, void* buf, size_t* got, int mirror) {
  *got = 0;
  Status last = Status::Unavailable("read: no healthy mirror");
  for (size_t i = 0; i < mirrors_.size(); ++i) {
    if (mirror >= 0 && i != size_t(mirror)) continue;
    Mirror& m = mirrors_[i];
    if (!Healthy(m)) {
      if (mirror >= 0) {
        std::lock_guard<std::mutex> l(mu_);
        return m.health.error;
      }
      continue;
    }
    size_t done = 0;
    Status s;
    while (done < len) {
      size_t n = 0;
      s = m.conn->Read(offset + done, len - done, static_cast<uint8_t*>(buf) + done, &n);
      if (!s.ok() || n == 0) break;
      done += n;
    }
    if (s.ok()) {
      *got = done;
      return s;
    }
    last = s;
    // A refusal (trimmed range) leaves the connection usable; a transport
    // error does not.
    if (s.code() != Status::Code::kInvalidArgument) Fail(m, s);
  }
  return last;
}

Status MirrorSet::Trim(uint64_t durable) {
  size_t ok = 0;
  for (auto& m : mirrors_) {
    uint64_t d;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!m.health.connected) continue;
      d = std::min(durable, m.health.acked_end);
    }
    LogInfo info;
    Status s = m.conn->Trim(d, &info);
    ok += NoteInfo(m, s, info);
  }
  std::lock_guard<std::mutex> l(mu_);
  return ok < quorum_ ? QuorumError("trim") : Status::Ok();
}

Status MirrorSet::Stat() {
  size_t ok = 0;
  for (auto& m : mirrors_) {
    if (!Healthy(m)) continue;
    LogInfo info;
    Status s = m.conn->Stat(&info);
    ok += NoteInfo(m, s, info);
  }
  std::lock_guard<std::mutex> l(mu_);
  return ok < quorum_ ? QuorumError("stat") : Status::Ok();
}

size_t MirrorSet::NoteInfo(Mirror& m, const Status& s, const LogInfo& info) {
  std::lock_guard<std::mutex> l(mu_);
  if (!s.ok()) {
    FailLocked(m, s);
    return 0;
  }
  m.health.info = info;
  return 1;
}

Status MirrorSet::Reconnect(size_t i, bool create, uint64_t create_offset) {
  if (i >= mirrors_.size()) return Status::InvalidArgument("no such mirror");
  Mirror& m = mirrors_[i];
  {
    std::lock_guard<std::mutex> l(mu_);
    m.health.connected = false;
    m.health.error = Status::Ok();
  }
  m.conn.reset();
  Status s = TransportRegistry::Global().Connect(m.health.uri, options_.connect, &m.conn);
  if (!s.ok()) {
    Fail(m, s);
    return s;
  }
  if (!m.conn->SupportsConcurrentWait()) concurrent_waits_ = false;
  if (open_) {
    LogInfo info;
    s = m.conn->Open(name_, epoch_, create, create_offset, &info);
    if (!s.ok()) {
      if (s.code() == Status::Code::kNotFound)
        s = Status::NotFound(m.health.uri + ": log '" + name_ +
                             "' is gone from the server (restarted?): " + s.message());
      Fail(m, s);
      return s;
    }
    std::lock_guard<std::mutex> l(mu_);
    m.health.info = info;
    m.health.sent_end = m.health.acked_end = info.tail;
  }
  std::lock_guard<std::mutex> l(mu_);
  m.health.connected = true;
  return Status::Ok();
}

std::vector<MirrorHealth> MirrorSet::Health() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<MirrorHealth> out;
  out.reserve(mirrors_.size());
  for (const auto& m : mirrors_) out.push_back(m.health);
  return out;
}

}  // namespace rvmr::remote_log
