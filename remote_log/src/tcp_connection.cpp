#include "remote_log/tcp_connection.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/crc32c.h"
#include "remote_log/auth.h"

namespace rvmr::remote_log {

namespace {

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Connects a non-blocking socket to one address within timeout_ms.
int ConnectOne(const addrinfo* ai, int timeout_ms, int* err) {
  int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    *err = errno;
    return -1;
  }
  if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
    if (errno != EINPROGRESS) {
      *err = errno;
      close(fd);
      return -1;
    }
    pollfd p{fd, POLLOUT, 0};
    int n;
    do {
      n = poll(&p, 1, timeout_ms);
    } while (n < 0 && errno == EINTR);
    if (n == 0) {
      *err = ETIMEDOUT;
      close(fd);
      return -1;
    }
    int so = 0;
    socklen_t len = sizeof so;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &len);
    if (n < 0 || so != 0) {
      *err = n < 0 ? errno : so;
      close(fd);
      return -1;
    }
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // Blocking from now on: waits are blocking recvs bounded by SO_RCVTIMEO,
  // non-blocking operations pass MSG_DONTWAIT.
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

}  // namespace

Status ConnectTcp(const Endpoint& ep, const ConnectOptions& opts,
                  std::unique_ptr<Connection>* out) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string port = std::to_string(ep.port);
  int rc = getaddrinfo(ep.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) return Status::Unavailable("cannot resolve " + ep.uri + ": " + gai_strerror(rc));
  int fd = -1, err = 0;
  for (addrinfo* ai = res; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ConnectOne(ai, opts.connect_timeout_ms, &err);
  }
  freeaddrinfo(res);
  if (fd < 0) return Status::Unavailable("cannot connect to " + ep.uri + ": " + std::strerror(err));
  std::unique_ptr<TcpConnection> c(new TcpConnection(fd, ep.uri, opts));
  Status s = c->SetUpWakeFds();
  if (!s.ok()) return s;
  if (!opts.owner_seed.empty()) {
    s = auth::OwnerKey::FromSeed(opts.owner_seed, &c->owner_);
    if (!s.ok()) return s;
  }
  s = c->Handshake();
  if (!s.ok()) return s;
  *out = std::move(c);
  return Status::Ok();
}

TcpConnection::TcpConnection(int fd, std::string uri, const ConnectOptions& opts)
    : fd_(fd), uri_(std::move(uri)), opts_(opts) {
  int ms = opts_.io_timeout_ms > 0 ? opts_.io_timeout_ms : 1;
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  in_.resize(64 * 1024);
  reply_.reserve(256);
  scratch_.reserve(512);
}

TcpConnection::~TcpConnection() {
  close(fd_);
  if (wait_fd_ >= 0) close(wait_fd_);
  if (ack_wake_fd_ >= 0) close(ack_wake_fd_);
  if (rx_free_fd_ >= 0) close(rx_free_fd_);
}

Status TcpConnection::SetUpWakeFds() {
  ack_wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (ack_wake_fd_ < 0) return Status::IoError(uri_ + ": eventfd", errno);
  rx_free_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (rx_free_fd_ < 0) return Status::IoError(uri_ + ": eventfd", errno);
  wait_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (wait_fd_ < 0) return Status::IoError(uri_ + ": epoll_create1", errno);
  for (int fd : {fd_, ack_wake_fd_}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(wait_fd_, EPOLL_CTL_ADD, fd, &ev) != 0)
      return Status::IoError(uri_ + ": epoll_ctl", errno);
  }
  return Status::Ok();
}

void TcpConnection::WakeWaiter() {
  std::lock_guard<std::mutex> l(state_mu_);
  if (ack_wake_set_) return;
  ack_wake_set_ = true;
  uint64_t one = 1;
  ssize_t r = write(ack_wake_fd_, &one, sizeof one);
  (void)r;  // cannot fail: the counter is at most 1
}

void TcpConnection::TakeWaiterWakeLocked() {
  if (!ack_wake_set_) return;
  ack_wake_set_ = false;
  uint64_t v;
  ssize_t r = read(ack_wake_fd_, &v, sizeof v);
  (void)r;  // set under state_mu_ with the write: the read finds it
}

void TcpConnection::ReleaseRx() {
  rx_mu_.unlock();
  // After the unlock: a sender that set sender_wants_rx_ before its
  // try_lock failed is seen here, and then sleeps until this signal.
  std::lock_guard<std::mutex> l(state_mu_);
  if (!sender_wants_rx_ || rx_free_set_) return;
  rx_free_set_ = true;
  uint64_t one = 1;
  ssize_t r = write(rx_free_fd_, &one, sizeof one);
  (void)r;
}

int64_t TcpConnection::Deadline() const {
  return NowNs() + int64_t(opts_.io_timeout_ms) * 1000000;
}

Status TcpConnection::Break(Status s) {
  std::lock_guard<std::mutex> l(state_mu_);
  if (broken_.ok()) {
    // Unavailable (or TimedOut) naming the mirror; the code's name is said
    // once, by ToString, not repeated inside the message.
    if (s.code() == Status::Code::kUnavailable || s.code() == Status::Code::kTimedOut)
      broken_ = s.WithContext(uri_);
    else
      broken_ = Status::Unavailable(uri_ + ": " + s.ToString());
    shutdown(fd_, SHUT_RDWR);
  }
  return broken_;
}

Status TcpConnection::Error() const {
  std::lock_guard<std::mutex> l(state_mu_);
  return broken_.ok() ? append_error_ : broken_;
}

size_t TcpConnection::InFlight() const {
  std::lock_guard<std::mutex> l(state_mu_);
  return ring_count_;
}

Status TcpConnection::Handshake() {
  std::lock_guard<std::mutex> tx(tx_mu_);
  scratch_.clear();
  wire::EncodeHelloRequest(wire::HelloRequest{}, &scratch_);
  int32_t st;
  Status s = Call(wire::Type::kHello, scratch_, &st);
  if (!s.ok()) return s;
  if (st != 0) return wire::ErrorToStatus(st, uri_ + ": HELLO");
  wire::HelloReply hello;
  s = wire::DecodeHelloReply(reply_.data(), reply_.size(), &hello);
  if (!s.ok()) return Break(s);
  if (hello.version != wire::kVersion)
    return Status::NotSupported(uri_ + ": server speaks protocol version " +
                                std::to_string(hello.version));
  std::memcpy(server_nonce_, hello.nonce, wire::kNonceSize);
  if (!hello.auth_required) return Status::Ok();
  if (opts_.secret.empty())
    return Status::IoError(uri_ + ": server requires authentication and no secret was given",
                           EACCES);
  s = auth::CheckSecretLength(opts_.secret, uri_);
  if (!s.ok()) return s;
  wire::AuthRequest req;
  s = auth::RandomNonce(req.client_nonce);
  if (!s.ok()) return s;
  auth::ClientMac(opts_.secret, hello.nonce, req.client_nonce, req.mac);
  scratch_.clear();
  wire::EncodeAuthRequest(req, &scratch_);
  s = Call(wire::Type::kAuth, scratch_, &st);
  if (!s.ok()) {
    // The server closes the connection after a wrong MAC, possibly before
    // the reply is read.
    return Status::IoError(uri_ + ": authentication failed (" + s.ToString() + ")", EACCES);
  }
  if (st != 0) return wire::ErrorToStatus(st, uri_ + ": authentication");
  wire::AuthReply rep;
  s = wire::DecodeAuthReply(reply_.data(), reply_.size(), &rep);
  if (!s.ok()) return Break(s);
  uint8_t want[wire::kMacSize];
  auth::ServerMac(opts_.secret, req.client_nonce, hello.nonce, want);
  if (!auth::MacEqual(want, rep.mac))
    return Break(Status::IoError(uri_ + ": server failed to prove the shared secret", EACCES));
  auth::SessionKey(opts_.secret, hello.nonce, req.client_nonce, session_key_);
  mac_ = true;
  return Status::Ok();
}

Status TcpConnection::SendAll(struct iovec* iov, int cnt) {
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = size_t(cnt);
  int64_t deadline = 0;
  while (msg.msg_iovlen > 0) {
    ssize_t w = sendmsg(fd_, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return Break(Status::IoError("send", errno));
      // Socket full: wait for room, reading replies meanwhile (the server
      // may be blocked sending acks) unless the waiter holds the receive
      // side; then wait for room or for the waiter to leave it (ReleaseRx
      // signals rx_free_fd_), whichever comes first. No timed poll.
      if (deadline == 0) deadline = Deadline();
      int64_t left = deadline - NowNs();
      if (left <= 0) return Break(Status::TimedOut("send timed out"));
      {
        std::lock_guard<std::mutex> l(state_mu_);
        sender_wants_rx_ = true;
      }
      const bool reader = rx_mu_.try_lock();
      pollfd p[2] = {{fd_, short(POLLOUT | (reader ? POLLIN : 0)), 0}, {rx_free_fd_, POLLIN, 0}};
      int n = poll(p, reader ? 1 : 2, int(left / 1000000) + 1);
      const int poll_errno = errno;
      {
        std::lock_guard<std::mutex> l(state_mu_);
        sender_wants_rx_ = false;
        if (rx_free_set_) {
          rx_free_set_ = false;
          uint64_t v;
          ssize_t r = read(rx_free_fd_, &v, sizeof v);
          (void)r;
        }
      }
      Status s;
      if (n < 0 && poll_errno != EINTR) s = Break(Status::IoError("poll", poll_errno));
      if (s.ok() && reader && n > 0 && (p[0].revents & (POLLIN | POLLERR | POLLHUP)))
        s = Pump(false, 0, Reader::kSender);
      if (reader) rx_mu_.unlock();
      if (!s.ok()) return s;
      continue;
    }
    deadline = 0;
    size_t adv = size_t(w);
    while (adv > 0 && msg.msg_iovlen > 0) {
      if (adv >= msg.msg_iov[0].iov_len) {
        adv -= msg.msg_iov[0].iov_len;
        ++msg.msg_iov;
        --msg.msg_iovlen;
      } else {
        msg.msg_iov[0].iov_base = static_cast<uint8_t*>(msg.msg_iov[0].iov_base) + adv;
        msg.msg_iov[0].iov_len -= adv;
        adv = 0;
      }
    }
    while (msg.msg_iovlen > 0 && msg.msg_iov[0].iov_len == 0) {
      ++msg.msg_iov;
      --msg.msg_iovlen;
    }
  }
  return Status::Ok();
}

Status TcpConnection::Pump(bool wait, int64_t deadline_ns, Reader who) {
  {
    std::lock_guard<std::mutex> l(state_mu_);
    if (!broken_.ok()) return broken_;
  }
  for (;;) {
    if (in_.size() - wpos_ < 4096) {
      // Compact, then grow if a frame needs more room.
      std::memmove(in_.data(), in_.data() + rpos_, wpos_ - rpos_);
      wpos_ -= rpos_;
      rpos_ = 0;
      if (in_.size() - wpos_ < 4096) in_.resize(in_.size() * 2);
    }
    // Waiting without busy polling is a plain blocking recv (the socket is
    // blocking, with SO_RCVTIMEO): one system call per ack, as in a bare
    // ping-pong. Everything else is MSG_DONTWAIT.
    const bool block = wait && !opts_.busy_poll;
    ssize_t r = recv(fd_, in_.data() + wpos_, in_.size() - wpos_, block ? 0 : MSG_DONTWAIT);
    if (r > 0) {
      wpos_ += size_t(r);
      return ProcessInput(who);
    }
    if (r == 0) return Break(Status::Unavailable("server closed the connection"));
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return Break(Status::IoError("recv", errno));
    if (!wait) return Status::Ok();
    if (deadline_ns - NowNs() <= 0)
      return Break(Status::TimedOut("no reply from server within io_timeout_ms"));
  }
}

Status TcpConnection::ProcessInput(Reader who) {
  size_t acks = 0;  // APPEND replies consumed (acks and refusals)
  for (;;) {
    size_t avail = wpos_ - rpos_;
    if (avail < wire::kHeaderSize) break;
    const uint8_t* p = in_.data() + rpos_;
    wire::Header h;
    Status s = wire::DecodeHeader(p, &h);
    if (!s.ok()) return Break(s);
    if (!(h.type & wire::kReplyBit)) return Break(Status::Corruption("server sent a request"));
    size_t total = wire::kHeaderSize + h.payload_len;
    if (avail < total) {
      if (in_.size() < total) {
        std::memmove(in_.data(), p, avail);
        wpos_ = avail;
        rpos_ = 0;
        in_.resize(total + 4096);
      }
      break;
    }
    const uint8_t* pl = p + wire::kHeaderSize;
    if (crc32c::Extend(0, pl, h.payload_len) != h.payload_crc)
      return Break(Status::Corruption("reply payload checksum mismatch"));
    wire::Type t = wire::Type(h.type & ~wire::kReplyBit);
    if (t == wire::Type::kAppend) {
      wire::AppendReply rep;
      if (h.payload_len != 0) {
        s = wire::DecodeAppendReply(pl, h.payload_len, &rep);
        if (!s.ok()) return Break(s);
      }
      std::unique_lock<std::mutex> l(state_mu_);
      if (ring_count_ == 0 || ring_[ring_head_].id != h.request_id) {
        l.unlock();
        return Break(Status::Corruption("unexpected APPEND reply"));
      }
      uint64_t end = ring_[ring_head_].end;
      ring_head_ = (ring_head_ + 1) % kMaxInFlight;
      --ring_count_;
      ++acks;
      if (h.status == 0) {
        if (rep.tail != end) {
          l.unlock();
          return Break(Status::Corruption("APPEND ack with a wrong tail"));
        }
        if (append_error_.ok()) acked_end_ = end;
      } else if (append_error_.ok()) {
        append_error_ = wire::ErrorToStatus(
            h.status, uri_ + ": append at " + std::to_string(rep.offset) +
                          " refused (server tail " + std::to_string(rep.tail) + ")");
      }
    } else {
      std::unique_lock<std::mutex> l(state_mu_);
      // A server at its connection limit answers the connection, before
      // reading anything, with a HELLO reply of request id 0 (EBUSY).
      const bool refusal = t == wire::Type::kHello && h.request_id == 0 && h.status != 0;
      if (call_id_ == 0 || (h.request_id != call_id_ && !refusal) || call_done_) {
        l.unlock();
        return Break(Status::Corruption("unexpected reply"));
      }
      call_status_ = h.status;
      reply_.assign(pl, pl + h.payload_len);
      call_done_ = true;
    }
    rpos_ += total;
  }
  if (rpos_ == wpos_) rpos_ = wpos_ = 0;
  // The waiter may be asleep on wait_fd() for these; the socket no longer
  // says so. (On the error returns above, Break's shutdown wakes it.)
  if (who == Reader::kSender && acks > 0) WakeWaiter();
  return Status::Ok();
}

Status TcpConnection::DrainAppends() {
  if (InFlight() == 0) return Status::Ok();
  std::lock_guard<std::mutex> rx(rx_mu_);
  int64_t deadline = Deadline();
  while (InFlight() != 0) {
    Status s = Pump(true, deadline, Reader::kSender);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Status TcpConnection::Call(wire::Type type, const std::vector<uint8_t>& payload, int32_t* status) {
  wire::Header h;
  h.type = uint8_t(type);
  h.request_id = next_id_++;
  h.payload_len = uint32_t(payload.size());
  uint8_t hdr[wire::kHeaderSize];
  uint8_t mac[wire::kMacSize];
  // After AUTH every request but APPEND ends with its control MAC.
  const bool with_mac = mac_ && type != wire::Type::kAppend;
  if (with_mac) {
    h.flags = wire::kFlagMac;
    h.payload_len += wire::kMacSize;
    wire::EncodeHeader(h, hdr);  // the MAC covers header bytes 4..23, not the CRCs
    auth::ControlMac(session_key_, hdr, payload.data(), payload.size(), mac);
  }
  h.payload_crc = crc32c::Value(payload.data(), payload.size());
  if (with_mac) h.payload_crc = crc32c::Extend(h.payload_crc, mac, sizeof mac);
  wire::EncodeHeader(h, hdr);
  {
    std::lock_guard<std::mutex> l(state_mu_);
    if (!broken_.ok()) return broken_;
    call_id_ = h.request_id;
    call_done_ = false;
  }
  iovec iov[3] = {{hdr, sizeof hdr}};
  int cnt = 1;
  if (!payload.empty()) iov[cnt++] = {const_cast<uint8_t*>(payload.data()), payload.size()};
  if (with_mac) iov[cnt++] = {mac, sizeof mac};
  Status s = SendAll(iov, cnt);
  if (s.ok()) {
    // A thread waiting for acks may read the reply first; it sets call_done_.
    std::lock_guard<std::mutex> rx(rx_mu_);
    int64_t deadline = Deadline();
    for (;;) {
      {
        std::lock_guard<std::mutex> l(state_mu_);
        if (call_done_) break;
      }
      s = Pump(true, deadline, Reader::kSender);
      if (!s.ok()) break;
    }
    *status = call_status_;
  }
  std::lock_guard<std::mutex> l(state_mu_);
  call_id_ = 0;
  return s;
}

Status TcpConnection::Open(std::string_view name, uint64_t epoch, bool create,
                           uint64_t create_offset, LogInfo* info) {
  if (!wire::ValidName(name))
    return Status::InvalidArgument("bad log name '" + std::string(name) +
                                   "' (1..255 of [A-Za-z0-9._-])");
  std::lock_guard<std::mutex> tx(tx_mu_);
  // Appends still in flight (e.g. behind a refused one) are drained first:
  // their acks or refusals must not be mistaken for the new log's.
  Status s = DrainAppends();
  if (!s.ok()) return s;
  wire::OpenRequest req;
  req.epoch = epoch;
  req.create = create;
  req.create_offset = create_offset;
  req.name = std::string(name);
  if (owner_) {
    // Signed for the id Call gives this request (nothing else is sent first).
    req.owner.present = true;
    std::memcpy(req.owner.key, owner_->public_key(), wire::kOwnerKeySize);
    s = owner_->Sign(auth::OpenProofMessage(server_nonce_, next_id_, req), req.owner.sig);
    if (!s.ok()) return s;
  }
  scratch_.clear();
  wire::EncodeOpenRequest(req, &scratch_);
  int32_t st;
  log_open_ = false;
  s = Call(wire::Type::kOpen, scratch_, &st);
  if (!s.ok()) return s;
  if (st != 0) return wire::ErrorToStatus(st, uri_ + ": open '" + req.name + "'");
  s = wire::DecodeLogInfo(reply_.data(), reply_.size(), info);
  if (!s.ok()) return Break(s);
  log_open_ = true;
  std::lock_guard<std::mutex> l(state_mu_);
  sent_end_ = acked_end_ = info->tail;
  append_error_ = Status::Ok();
  return Status::Ok();
}

Status TcpConnection::StartAppend(uint64_t offset, const struct iovec* iov, int iovcnt) {
  if (iovcnt < 0 || iovcnt > kMaxIov) return Status::InvalidArgument("too many iovecs");
  return StartAppendWithCrc(offset, iov, iovcnt, AppendCrc(offset, iov, iovcnt));
}

Status TcpConnection::StartAppendWithCrc(uint64_t offset, const struct iovec* iov, int iovcnt,
                                         uint32_t crc) {
  std::lock_guard<std::mutex> tx(tx_mu_);
  Status err = Error();
  if (!err.ok()) return err;
  if (!log_open_) return Status::InvalidArgument(uri_ + ": append without an open log");
  if (iovcnt < 0 || iovcnt > kMaxIov) return Status::InvalidArgument("too many iovecs");
  uint64_t sent_end;
  {
    std::lock_guard<std::mutex> l(state_mu_);
    sent_end = sent_end_;
  }
  if (offset != sent_end)
    return Status::InvalidArgument(uri_ + ": append at " + std::to_string(offset) +
                                   " but this connection's appends end at " +
                                   std::to_string(sent_end));
  size_t len = 0;
  for (int i = 0; i < iovcnt; ++i) len += iov[i].iov_len;
  if (len > wire::kMaxAppendData)
    return Status::InvalidArgument("append of " + std::to_string(len) + " bytes over the maximum " +
                                   std::to_string(wire::kMaxAppendData));
  // Make room in the in-flight ring.
  if (InFlight() == kMaxInFlight) {
    std::lock_guard<std::mutex> rx(rx_mu_);
    int64_t deadline = Deadline();
    while (InFlight() == kMaxInFlight) {
      Status s = Pump(true, deadline, Reader::kSender);
      if (!s.ok()) return s;
    }
  }
  wire::Put64(hdr_ + wire::kHeaderSize, offset);
  wire::Header h;
  h.type = uint8_t(wire::Type::kAppend);
  h.request_id = next_id_++;
  h.payload_len = uint32_t(wire::kAppendFixedSize + len);
  h.payload_crc = crc;
  wire::EncodeHeader(h, hdr_);
  iov_[0] = {hdr_, sizeof hdr_};
  for (int i = 0; i < iovcnt; ++i) iov_[i + 1] = iov[i];
  {
    std::lock_guard<std::mutex> l(state_mu_);
    ring_[(ring_head_ + ring_count_) % kMaxInFlight] = Pending{h.request_id, offset + len};
    ++ring_count_;
    sent_end_ = offset + len;
  }
  return SendAll(iov_, iovcnt + 1);
}

Status TcpConnection::Poll(uint64_t* acked_end) {
  WaiterRx rx(this);
  {
    // Before reading: acks a sender consumes after this signal again.
    std::lock_guard<std::mutex> l(state_mu_);
    TakeWaiterWakeLocked();
  }
  Status s = Pump(false, 0, Reader::kWaiter);
  Status err = Error();
  std::lock_guard<std::mutex> l(state_mu_);
  *acked_end = acked_end_;
  return s.ok() ? err : s;
}

Status TcpConnection::WaitAcked(uint64_t end, uint64_t* acked_end) {
  WaiterRx rx(this);
  {
    std::lock_guard<std::mutex> l(state_mu_);
    TakeWaiterWakeLocked();
  }
  Status s = ProcessInput(Reader::kWaiter);
  int64_t deadline = 0;
  for (;;) {
    if (!s.ok()) break;
    {
      std::lock_guard<std::mutex> l(state_mu_);
      if (!append_error_.ok() || acked_end_ >= end) break;
      if (ring_count_ == 0) {
        s = Status::InvalidArgument(uri_ + ": waiting for " + std::to_string(end) +
                                    " but appends end at " + std::to_string(sent_end_));
        break;
      }
    }
    if (deadline == 0) deadline = Deadline();
    s = Pump(true, deadline, Reader::kWaiter);
  }
  Status err = Error();
  std::lock_guard<std::mutex> l(state_mu_);
  *acked_end = acked_end_;
  return s.ok() ? err : s;
}

Status TcpConnection::Read(uint64_t offset, size_t len, void* buf, size_t* got) {
  std::lock_guard<std::mutex> tx(tx_mu_);
  *got = 0;
  if (len > wire::kMaxReadData) len = wire::kMaxReadData;
  scratch_.clear();
  wire::EncodeReadRequest(wire::ReadRequest{offset, uint32_t(len)}, &scratch_);
  int32_t st;
  Status s = Call(wire::Type::kRead, scratch_, &st);
  if (!s.ok()) return s;
  if (st != 0) return wire::ErrorToStatus(st, uri_ + ": read at " + std::to_string(offset));
  uint64_t off;
  const uint8_t* data;
  size_t n;
  s = wire::DecodeReadReply(reply_.data(), reply_.size(), &off, &data, &n);
  if (!s.ok()) return Break(s);
  if (off != offset || n > len) return Break(Status::Corruption("READ reply does not match"));
  std::memcpy(buf, data, n);
  *got = n;
  if (reply_.capacity() > (1u << 20)) std::vector<uint8_t>().swap(reply_);
  return Status::Ok();
}

Status TcpConnection::Trim(uint64_t durable, LogInfo* info) {
  std::lock_guard<std::mutex> tx(tx_mu_);
  scratch_.clear();
  wire::EncodeU64(durable, &scratch_);
  int32_t st;
  Status s = Call(wire::Type::kTrim, scratch_, &st);
  if (!s.ok()) return s;
  if (st != 0) return wire::ErrorToStatus(st, uri_ + ": trim to " + std::to_string(durable));
  s = wire::DecodeLogInfo(reply_.data(), reply_.size(), info);
  return s.ok() ? s : Break(s);
}

Status TcpConnection::Stat(LogInfo* info) {
  std::lock_guard<std::mutex> tx(tx_mu_);
  scratch_.clear();
  int32_t st;
  Status s = Call(wire::Type::kStat, scratch_, &st);
  if (!s.ok()) return s;
  if (st != 0) return wire::ErrorToStatus(st, uri_ + ": stat");
  s = wire::DecodeLogInfo(reply_.data(), reply_.size(), info);
  return s.ok() ? s : Break(s);
}

Status TcpConnection::List(std::vector<LogEntry>* logs) {
  std::lock_guard<std::mutex> tx(tx_mu_);
  scratch_.clear();
  if (owner_) {
    wire::OwnerProof proof;
    proof.present = true;
    std::memcpy(proof.key, owner_->public_key(), wire::kOwnerKeySize);
    Status s = owner_->Sign(auth::ListProofMessage(server_nonce_, next_id_, proof.key), proof.sig);
    if (!s.ok()) return s;
    wire::EncodeListRequest(proof, &scratch_);
  }
  int32_t st;
  Status s = Call(wire::Type::kList, scratch_, &st);
  if (!s.ok()) return s;
  if (st != 0) return wire::ErrorToStatus(st, uri_ + ": list");
  s = wire::DecodeList(reply_.data(), reply_.size(), logs);
  return s.ok() ? s : Break(s);
}

Status TcpConnection::CloseLog() {
  std::lock_guard<std::mutex> tx(tx_mu_);
  // A refused append leaves the connection usable; a broken one is not.
  Status s = DrainAppends();
  if (!s.ok()) return s;
  scratch_.clear();
  int32_t st;
  s = Call(wire::Type::kClose, scratch_, &st);
  if (!s.ok()) return s;
  log_open_ = false;
  return wire::ErrorToStatus(st, uri_ + ": close");
}

}  // namespace rvmr::remote_log
