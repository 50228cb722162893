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

#include "common/thread.h"
#include "remote_log/wire.h"
#include "session.h"

namespace rvmr::remote_log {

namespace {

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

// One client connection: its socket, its thread and its buffers. The
// protocol is the Session's.
struct Server::Conn {
  explicit Conn(const SessionEnv& env) : session(env) {}

  int fd = -1;
  std::thread thread;
  std::atomic<bool> done{false};
  Session session;

  // Input buffer: bytes [rpos, wpos) are received and not yet consumed.
  std::vector<uint8_t> in;
  size_t rpos = 0, wpos = 0;
  // Replies not yet sent.
  std::vector<uint8_t> out;

  // Each recv offers at least this much room (or the whole frame's), so
  // that a record the kernel already holds arrives in one call.
  static constexpr size_t kMinRoom = 128 * 1024;
  // Replies are queued while further complete requests are already buffered,
  // and sent together (one send for a burst of pipelined appends), up to this
  // many bytes; a lone request's reply goes out at once.
  static constexpr size_t kQueueLimit = 64 * 1024;

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

  // Sends everything queued. false if the connection failed.
  bool Flush() {
    size_t pos = 0;
    while (pos < out.size()) {
      ssize_t w = send(fd, out.data() + pos, out.size() - pos, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      pos += size_t(w);
    }
    out.clear();
    // A large READ reply's buffer is not kept.
    if (out.capacity() > (1u << 20)) std::vector<uint8_t>().swap(out);
    return true;
  }

  // Whether the next request is already complete in the input buffer.
  bool MoreBuffered() const {
    size_t avail = wpos - rpos;
    if (avail < wire::kHeaderSize) return false;
    return avail - wire::kHeaderSize >= wire::Get32(in.data() + rpos + 8);
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
  std::list<std::unique_ptr<Conn>> dead;
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
    SessionEnv env;
    env.secret = options_.secret;
    env.store = &store_;
    env.appends = &appends_;
    env.rejected = &rejected_;
    auto s = std::make_unique<Conn>(env);
    s->fd = fd;
    Conn* raw = s.get();
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

void Server::Serve(Conn* c) {
  c->in.resize(256 * 1024);
  c->out.reserve(Conn::kQueueLimit + 4096 + wire::kHeaderSize);
  for (;;) {
    if (!c->Ensure(wire::kHeaderSize)) return;
    wire::Header h;
    if (c->session.OnHeader(c->in.data() + c->rpos, &h, &c->out) == Session::Verdict::kClose)
      return;
    const size_t total = wire::kHeaderSize + h.payload_len;
    if (!c->Ensure(total)) return;
    const uint8_t* p = c->in.data() + c->rpos + wire::kHeaderSize;
    c->rpos += total;
    if (c->session.Handle(h, p, &c->out) == Session::Verdict::kClose) return;
    if (!c->MoreBuffered() || c->out.size() >= Conn::kQueueLimit) {
      if (!c->Flush()) return;
    }
  }
}

}  // namespace rvmr::remote_log
