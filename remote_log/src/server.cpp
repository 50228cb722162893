#include "remote_log/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/crc32c.h"
#include "remote_log/auth.h"
#include "remote_log/wire.h"
#include "common/thread.h"

namespace rvmr::remote_log {

namespace {

wire::Type t0(uint8_t type) {
  return wire::Type(type);
}

bool IsLoopback(const sockaddr* sa) {
  if (sa->sa_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (sa->sa_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) return true;
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) return in6->sin6_addr.s6_addr[12] == 127;
  }
  return false;
}

// SO_RCVBUF of server sockets (the kernel caps it at net.core.rmem_max).
constexpr int kReceiveBuffer = 4 << 20;

}  // namespace

Status ParseHostPort(const std::string& s, std::string* host, uint16_t* port) {
  Endpoint ep;
  Status st = ParseUri("tcp://" + s, &ep);
  if (!st.ok()) {
    // Port 0 ("choose one") is valid for listening but not for URIs.
    size_t colon = s.rfind(':');
    if (colon != std::string::npos && s.substr(colon + 1) == "0") {
      st = ParseUri("tcp://" + s.substr(0, colon) + ":1", &ep);
      if (st.ok()) ep.port = 0;
    }
  }
  if (!st.ok())
    return Status::InvalidArgument("bad listen address '" + s + "' (expected host:port)");
  *host = ep.host;
  *port = ep.port;
  return Status::Ok();
}

// One client connection.
struct Server::Session {
  int fd = -1;
  std::thread thread;
  std::atomic<bool> done{false};

  // Protocol state.
  bool hello_done = false;
  bool authed = false;
  uint8_t server_nonce[wire::kNonceSize] = {};
  std::shared_ptr<LogStore::Log> log;
  uint64_t epoch = 0;

  // Input buffer: bytes [rpos, wpos) are received and not yet consumed.
  std::vector<uint8_t> in;
  size_t rpos = 0, wpos = 0;
  std::vector<uint8_t> out;  // reply payload scratch

  // Each recv offers at least this much room (or the whole frame's), so
  // that a record the kernel already holds arrives in one call.
  static constexpr size_t kMinRoom = 128 * 1024;

  // Makes at least n unconsumed bytes available. false on EOF or error.
  bool Ensure(size_t n) {
    if (wpos - rpos >= n) return true;
    if (rpos == wpos) rpos = wpos = 0;
    if (in.size() - rpos < n || in.size() - wpos < kMinRoom) {
      // Only a partial frame is unconsumed here: a short move.
      std::memmove(in.data(), in.data() + rpos, wpos - rpos);
      wpos -= rpos;
      rpos = 0;
      if (in.size() < n) in.resize(n);
    }
    while (wpos - rpos < n) {
      ssize_t r = recv(fd, in.data() + wpos, in.size() - wpos, 0);
      if (r > 0) {
        wpos += size_t(r);
        continue;
      }
      if (r < 0 && errno == EINTR) continue;
      return false;
    }
    return true;
  }

  // Small replies are queued while further complete requests are already
  // buffered, and sent together: one sendmsg for a burst of pipelined
  // appends. A lone request's reply goes out at once.
  static constexpr size_t kQueueLimit = 64 * 1024;
  static constexpr size_t kQueueMaxPayload = 4096;
  std::vector<uint8_t> queued;

  bool WriteV(iovec* iov, int cnt) {
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = size_t(cnt);
    while (msg.msg_iovlen > 0) {
      ssize_t w = sendmsg(fd, &msg, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
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
    return true;
  }

  bool Flush() {
    if (queued.empty()) return true;
    iovec v{queued.data(), queued.size()};
    bool ok = WriteV(&v, 1);
    queued.clear();
    return ok;
  }

  // Whether the next request is already complete in the input buffer.
  bool MoreBuffered() const {
    size_t avail = wpos - rpos;
    if (avail < wire::kHeaderSize) return false;
    return avail - wire::kHeaderSize >= wire::Get32(in.data() + rpos + 8);
  }

  bool Send(uint8_t type, uint64_t id, int32_t status, const uint8_t* payload, size_t n) {
    wire::Header h;
    h.type = type | wire::kReplyBit;
    h.status = status;
    h.request_id = id;
    h.payload_len = uint32_t(n);
    h.payload_crc = crc32c::Extend(0, payload, n);
    uint8_t hdr[wire::kHeaderSize];
    wire::EncodeHeader(h, hdr);
    if (n <= kQueueMaxPayload) {
      queued.insert(queued.end(), hdr, hdr + sizeof hdr);
      if (n) queued.insert(queued.end(), payload, payload + n);
      if (!MoreBuffered() || queued.size() >= kQueueLimit) return Flush();
      return true;
    }
    if (!Flush()) return false;
    iovec iov[2] = {{hdr, sizeof hdr}, {const_cast<uint8_t*>(payload), n}};
    return WriteV(iov, 2);
  }
  bool Send(uint8_t type, uint64_t id, int32_t status, const std::vector<uint8_t>& p) {
    return Send(type, id, status, p.data(), p.size());
  }
};

Server::Server(ServerOptions options) : options_(std::move(options)), store_(options_.capacity) {}

Server::~Server() {
  Stop();
}

Status Server::Start() {
  std::string host;
  uint16_t port;
  Status s = ParseHostPort(options_.listen, &host, &port);
  if (!s.ok()) return s;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string port_str = std::to_string(port);
  int rc = getaddrinfo(host.c_str(), port_str.c_str(), &hints, &res);
  if (rc != 0)
    return Status::InvalidArgument("cannot resolve listen address '" + options_.listen +
                                   "': " + gai_strerror(rc));
  if (!IsLoopback(res->ai_addr) && options_.secret.empty()) {
    freeaddrinfo(res);
    return Status::InvalidArgument(
        "refusing to listen on non-loopback address '" + options_.listen +
        "' without authentication: give a shared secret (--secret-file)");
  }
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    freeaddrinfo(res);
    return Status::IoError("socket", errno);
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // A receive buffer (inherited by accepted sockets) that admits several
  // 64 KiB records from the first one: with the default the initial window is
  // about 64 KiB, and the tail of a larger APPEND waits for a window update.
  int rcvbuf = kReceiveBuffer;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
    int e = errno;
    freeaddrinfo(res);
    close(fd);
    return Status::IoError("cannot bind " + options_.listen, e);
  }
  freeaddrinfo(res);
  if (listen(fd, 128) != 0) {
    int e = errno;
    close(fd);
    return Status::IoError("listen", e);
  }
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  port_ = ntohs(ss.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                        : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  if (pipe2(wake_fd_, O_CLOEXEC) != 0) {
    int e = errno;
    close(fd);
    return Status::IoError("pipe", e);
  }
  listen_fd_ = fd;
  stopping_ = false;
  acceptor_ = StartThread("rvm-logd-accept", [this] { AcceptLoop(); });
  return Status::Ok();
}

void Server::Stop() {
  if (listen_fd_ < 0) return;
  stopping_ = true;
  char c = 1;
  while (write(wake_fd_[1], &c, 1) < 0 && errno == EINTR) {
  }
  acceptor_.join();
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& s : sessions_) shutdown(s->fd, SHUT_RDWR);
  }
  Reap(true);
  close(listen_fd_);
  close(wake_fd_[0]);
  close(wake_fd_[1]);
  listen_fd_ = -1;
  wake_fd_[0] = wake_fd_[1] = -1;
}

void Server::Reap(bool all) {
  std::list<std::unique_ptr<Session>> dead;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      if (all || (*it)->done.load()) {
        dead.push_back(std::move(*it));
        it = sessions_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& s : dead) {
    s->thread.join();
    close(s->fd);
  }
}

void Server::AcceptLoop() {
  while (!stopping_) {
    pollfd p[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_[0], POLLIN, 0}};
    int n = poll(p, 2, 1000);
    Reap(false);
    if (n <= 0 || stopping_) continue;
    if (!(p[0].revents & POLLIN)) continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    accepted_++;
    auto s = std::make_unique<Session>();
    s->fd = fd;
    Session* raw = s.get();
    std::lock_guard<std::mutex> l(mu_);
    sessions_.push_back(std::move(s));
    raw->thread = StartThread("rvm-logd-conn", [this, raw] {
      open_sessions_++;
      Serve(raw);
      raw->Flush();  // replies queued before an error or hang-up
      // Let the peer see the end now; the fd is closed when reaped.
      shutdown(raw->fd, SHUT_RDWR);
      open_sessions_--;
      raw->done = true;
    });
  }
}

std::string Server::StatusLine() {
  std::string s = "connections=" + std::to_string(open_sessions_.load()) +
                  " accepted=" + std::to_string(accepted_.load()) +
                  " rejected=" + std::to_string(rejected_.load()) +
                  " logs=" + std::to_string(store_.log_count()) +
                  " held=" + std::to_string(store_.used()) + "/" +
                  std::to_string(store_.capacity()) + " appends=" + std::to_string(appends_.load());
  return s;
}

void Server::Serve(Session* s) {
  s->in.resize(256 * 1024);
  s->out.reserve(256);
  s->queued.reserve(Session::kQueueLimit + 4096 + wire::kHeaderSize);
  const bool need_auth = !options_.secret.empty();
  for (;;) {
    if (!s->Ensure(wire::kHeaderSize)) return;
    wire::Header h;
    int32_t werr;
    if (!wire::DecodeHeader(s->in.data() + s->rpos, &h, &werr).ok()) {
      rejected_++;
      return;  // a corrupt header: nothing trustworthy to reply to
    }
    const uint8_t type = h.type;
    if ((type & wire::kReplyBit) || h.status != 0) {
      rejected_++;
      s->Send(type & ~wire::kReplyBit, h.request_id, wire::kErrProto, nullptr, 0);
      return;
    }
    const size_t total = wire::kHeaderSize + h.payload_len;
    if (!s->Ensure(total)) return;
    const uint8_t* p = s->in.data() + s->rpos + wire::kHeaderSize;
    const size_t n = h.payload_len;
    s->rpos += total;
    // An authenticated APPEND is verified while it is copied into the log
    // (one pass over the bytes); everything else here.
    const bool fused = s->authed && t0(type) == wire::Type::kAppend;
    if (!fused && crc32c::Extend(0, p, n) != h.payload_crc) {
      rejected_++;
      s->Send(type, h.request_id, wire::kErrChecksum, nullptr, 0);
      return;
    }
    auto fail = [&](int32_t code) {
      rejected_++;
      s->Send(type, h.request_id, code, nullptr, 0);
    };
    const wire::Type t = wire::Type(type);
    s->out.clear();
    if (!s->hello_done) {
      wire::HelloRequest req;
      if (t != wire::Type::kHello || !wire::DecodeHelloRequest(p, n, &req).ok()) {
        return fail(wire::kErrProto);
      }
      if (req.min_version > wire::kVersion || req.max_version < wire::kVersion) {
        return fail(wire::kErrVersion);
      }
      wire::HelloReply rep;
      rep.auth_required = need_auth;
      if (need_auth && !auth::RandomNonce(rep.nonce).ok()) return;
      std::memcpy(s->server_nonce, rep.nonce, wire::kNonceSize);
      wire::EncodeHelloReply(rep, &s->out);
      if (!s->Send(type, h.request_id, 0, s->out)) return;
      s->hello_done = true;
      s->authed = !need_auth;
      continue;
    }
    if (!s->authed) {
      wire::AuthRequest req;
      if (t != wire::Type::kAuth) return fail(wire::kErrAccess);
      if (!wire::DecodeAuthRequest(p, n, &req).ok()) return fail(wire::kErrProto);
      uint8_t want[wire::kMacSize];
      auth::ClientMac(options_.secret, s->server_nonce, req.client_nonce, want);
      if (!auth::MacEqual(want, req.mac)) return fail(wire::kErrAccess);
      wire::AuthReply rep;
      auth::ServerMac(options_.secret, req.client_nonce, s->server_nonce, rep.mac);
      wire::EncodeAuthReply(rep, &s->out);
      if (!s->Send(type, h.request_id, 0, s->out)) return;
      s->authed = true;
      continue;
    }
    bool ok = true;
    switch (t) {
      case wire::Type::kHello:
      case wire::Type::kAuth:
        return fail(wire::kErrProto);
      case wire::Type::kOpen: {
        wire::OpenRequest req;
        if (!wire::DecodeOpenRequest(p, n, &req).ok()) return fail(wire::kErrProto);
        s->log.reset();
        LogInfo info;
        int32_t rc =
            store_.Open(req.name, req.epoch, req.create, req.create_offset, &s->log, &info);
        if (rc == 0) {
          s->epoch = req.epoch;
          wire::EncodeLogInfo(info, &s->out);
        }
        ok = s->Send(type, h.request_id, rc, s->out);
        break;
      }
      case wire::Type::kAppend: {
        uint64_t off;
        const uint8_t* data;
        size_t len;
        if (!wire::DecodeAppendRequest(p, n, &off, &data, &len).ok()) return fail(wire::kErrProto);
        wire::AppendReply rep;
        rep.offset = off;
        int32_t rc = wire::kErrNoLog;
        if (s->log) {
          uint32_t seed = crc32c::Extend(0, p, wire::kAppendFixedSize);
          rc = store_.AppendChecked(s->log.get(), s->epoch, off, data, len, seed, h.payload_crc,
                                    &rep.tail);
        }
        // A refusal must not hide a corrupt message.
        if (rc != 0 && rc != wire::kErrChecksum && crc32c::Extend(0, p, n) != h.payload_crc)
          rc = wire::kErrChecksum;
        if (rc == wire::kErrChecksum) return fail(rc);
        if (rc == 0) appends_++;
        uint8_t buf[wire::kAppendReplySize];
        wire::Put64(buf, rep.offset);
        wire::Put64(buf + 8, rep.tail);
        ok = s->Send(type, h.request_id, rc, buf, sizeof buf);
        break;
      }
      case wire::Type::kRead: {
        wire::ReadRequest req;
        if (!wire::DecodeReadRequest(p, n, &req).ok()) return fail(wire::kErrProto);
        if (!s->log) {
          ok = s->Send(type, h.request_id, wire::kErrNoLog, nullptr, 0);
          break;
        }
        s->out.resize(8 + size_t(req.len));
        wire::Put64(s->out.data(), req.offset);
        size_t got = 0;
        LogInfo info;
        int32_t rc = store_.Read(s->log.get(), req.offset, req.len, s->out.data() + 8, &got, &info);
        if (rc != 0) {
          ok = s->Send(type, h.request_id, rc, nullptr, 0);
        } else {
          ok = s->Send(type, h.request_id, 0, s->out.data(), 8 + got);
        }
        if (s->out.capacity() > (1u << 20)) std::vector<uint8_t>().swap(s->out);
        break;
      }
      case wire::Type::kTrim: {
        uint64_t durable;
        if (!wire::DecodeU64(p, n, &durable).ok()) return fail(wire::kErrProto);
        if (!s->log) {
          ok = s->Send(type, h.request_id, wire::kErrNoLog, nullptr, 0);
          break;
        }
        LogInfo info;
        int32_t rc = store_.Trim(s->log.get(), s->epoch, durable, &info);
        if (rc == 0) wire::EncodeLogInfo(info, &s->out);
        ok = s->Send(type, h.request_id, rc, s->out);
        break;
      }
      case wire::Type::kStat: {
        if (n != 0) return fail(wire::kErrProto);
        if (!s->log) {
          ok = s->Send(type, h.request_id, wire::kErrNoLog, nullptr, 0);
          break;
        }
        LogInfo info;
        store_.Stat(s->log.get(), &info);
        wire::EncodeLogInfo(info, &s->out);
        ok = s->Send(type, h.request_id, 0, s->out);
        break;
      }
      case wire::Type::kList: {
        if (n != 0) return fail(wire::kErrProto);
        std::vector<LogEntry> logs = store_.List();
        // Keep the reply within kMaxPayload (the list is then truncated).
        size_t bytes = 4;
        size_t keep = 0;
        for (; keep < logs.size(); ++keep) {
          size_t e = 4 + logs[keep].name.size() + wire::kLogInfoSize;
          if (bytes + e > wire::kMaxPayload) break;
          bytes += e;
        }
        logs.resize(keep);
        wire::EncodeList(logs, &s->out);
        ok = s->Send(type, h.request_id, 0, s->out);
        break;
      }
      case wire::Type::kClose: {
        if (n != 0) return fail(wire::kErrProto);
        s->log.reset();
        s->epoch = 0;
        ok = s->Send(type, h.request_id, 0, nullptr, 0);
        break;
      }
    }
    if (!ok) return;
  }
}

}  // namespace rvmr::remote_log
