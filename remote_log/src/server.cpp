#include "remote_log/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "common/thread.h"
#include "remote_log/auth.h"
#include "remote_log/wire.h"
#include "conn_threads.h"
#include "server_conn.h"
#include "session.h"
#include "worker.h"

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

Server::Server(ServerOptions options)
    : options_(std::move(options)),
      store_(options_.capacity),
      secret_(std::make_shared<const std::string>(options_.secret)),
      counters_(std::make_unique<SessionCounters>()) {}

Server::~Server() {
  Stop();
}

Status WakePipe::Open() {
  Close();
  if (pipe2(fd_, O_CLOEXEC) != 0) {
    const int e = errno;
    fd_[0] = fd_[1] = -1;
    return Status::IoError("pipe", e);
  }
  return Status::Ok();
}

void WakePipe::Wake() {
  const char c = 1;
  while (write(fd_[1], &c, 1) < 0 && errno == EINTR) {
  }
}

void WakePipe::Close() {
  for (int& fd : fd_) {
    if (fd >= 0) close(fd);
    fd = -1;
  }
}

Status ListenTcp(const std::string& listen_addr, const TcpListenOptions& o, int* fd_out,
                 uint16_t* port_out, bool* loopback) {
  std::string host;
  uint16_t port;
  Status s = ParseHostPort(listen_addr, &host, &port);
  if (!s.ok()) return s;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string port_str = std::to_string(port);
  int rc = getaddrinfo(host.c_str(), port_str.c_str(), &hints, &res);
  if (rc != 0)
    return Status::InvalidArgument("cannot resolve listen address '" + listen_addr +
                                   "': " + gai_strerror(rc));
  *loopback = IsLoopback(res->ai_addr);
  if (!*loopback && o.require_loopback) {
    freeaddrinfo(res);
    return Status::InvalidArgument(
        "refusing to listen on non-loopback address '" + listen_addr +
        "' without authentication: give a shared secret (--secret-file)");
  }
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    freeaddrinfo(res);
    return Status::IoError("socket", errno);
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int rcvbuf = o.receive_buffer;
  if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
    int e = errno;
    freeaddrinfo(res);
    close(fd);
    return Status::IoError("cannot bind " + listen_addr, e);
  }
  freeaddrinfo(res);
  if (listen(fd, o.backlog) != 0) {
    int e = errno;
    close(fd);
    return Status::IoError("listen", e);
  }
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  *port_out = ntohs(ss.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                            : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  *fd_out = fd;
  return Status::Ok();
}

Status Server::Start() {
  Status s = auth::CheckSecretLength(options_.secret, "server");
  if (!s.ok()) return s;
  TcpListenOptions lo;
  lo.require_loopback = options_.secret.empty();
  // A receive buffer (inherited by accepted sockets) that admits several
  // 64 KiB records from the first one: with the default the initial window is
  // about 64 KiB, and the tail of a larger APPEND waits for a window update.
  lo.receive_buffer = kReceiveBuffer;
  int fd = -1;
  s = ListenTcp(options_.listen, lo, &fd, &port_, &loopback_);
  if (!s.ok()) return s;
  s = wake_.Open();
  if (!s.ok()) {
    close(fd);
    return s;
  }
  listen_fd_ = fd;
  stopping_ = false;
  if (!shared_) shared_ = std::make_unique<WorkerShared>();
  unsigned n = options_.threads;
  if (n == 0) {
    cpu_set_t cpus;
    n = sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? unsigned(CPU_COUNT(&cpus)) : 1;
  }
  for (unsigned i = 0; i < std::max(n, 1u); ++i)
    shared_->workers.push_back(std::make_unique<Worker>(shared_.get(), int(i)));
  if (options_.busy_connection_threads) {
    conn_threads_ = std::make_unique<ConnThreads>(shared_.get());
    shared_->conn_threads = conn_threads_.get();
  }
  for (auto& w : shared_->workers) {
    s = w->Start();
    if (!s.ok()) {
      Stop();
      return s;
    }
  }
  acceptor_ = StartThread("rvm-logd-accept", [this] { AcceptLoop(); });
  return Status::Ok();
}

void Server::Stop() {
  if (listen_fd_ < 0) return;
  stopping_ = true;
  if (acceptor_.joinable()) {
    wake_.Wake();
    acceptor_.join();
  }
  // Connection threads first: they hand idle connections to workers.
  if (conn_threads_) conn_threads_->Stop();
  // No worker may hand a connection to one that already stopped.
  for (auto& w : shared_->workers) w->RequestStop();
  for (auto& w : shared_->workers) w->Stop();
  shared_->workers.clear();
  shared_->conn_threads = nullptr;
  conn_threads_.reset();
  close(listen_fd_);
  wake_.Close();
  listen_fd_ = -1;
}

Status Server::SetSecret(std::string secret) {
  Status s = auth::CheckSecretLength(secret, "server");
  if (!s.ok()) return s;
  if (secret.empty() && !loopback_)
    return Status::InvalidArgument("refusing to serve non-loopback address '" + options_.listen +
                                   "' without authentication: keep a shared secret");
  auto holder = std::make_shared<const std::string>(std::move(secret));
  std::lock_guard<std::mutex> l(secret_mu_);
  secret_ = std::move(holder);
  return Status::Ok();
}

uint64_t Server::appends() const {
  return counters_->appends.load();
}

uint64_t Server::append_requests() const {
  return counters_->append_requests.load();
}

uint64_t Server::append_bytes() const {
  return counters_->append_bytes.load();
}

uint64_t Server::trims() const {
  return counters_->trims.load();
}

uint64_t Server::auth_failures() const {
  return counters_->auth_failures.load();
}

uint64_t Server::connections_rejected() const {
  return counters_->rejected.load();
}

uint64_t Server::auth_timeouts() const {
  return shared_ ? shared_->auth_timeouts.load() : 0;
}

uint64_t Server::connections_open() const {
  return shared_ ? shared_->open.load() : 0;
}

uint64_t Server::closes_not_trimmed() const {
  return shared_ ? shared_->closed_since_trim.load() : 0;
}

size_t Server::connection_threads() {
  return conn_threads_ ? conn_threads_->active() : 0;
}

uint64_t Server::connection_threads_started() const {
  return conn_threads_ ? conn_threads_->started() : 0;
}

size_t Server::worker_count() const {
  return shared_ ? shared_->workers.size() : 0;
}

void Server::AcceptOne(int fd) {
  accepted_++;
  if (shared_->open.load() >= options_.max_connections) {
    // Refused without reading anything: one HELLO reply with EBUSY.
    refused_++;
    std::vector<uint8_t> reply;
    AppendReply(uint8_t(wire::Type::kHello), 0, wire::kErrBusy, nullptr, 0, &reply);
    (void)!send(fd, reply.data(), reply.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    shutdown(fd, SHUT_WR);
    close(fd);
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  shared_->open++;
  Worker* to = shared_->workers.front().get();
  for (auto& w : shared_->workers)
    if (w->connections.load() < to->connections.load()) to = w.get();
  to->connections++;
  SessionEnv env;
  {
    std::lock_guard<std::mutex> l(secret_mu_);
    env.secret_holder = secret_;
  }
  env.secret = *env.secret_holder;
  env.store = &store_;
  env.counters = counters_.get();
  to->Adopt(std::make_unique<ServerConn>(fd, env, MonotonicMs() + options_.auth_timeout_ms));
}

void Server::AcceptLoop() {
  int64_t paused_until = 0;  // accept failed for want of descriptors or memory
  while (!stopping_) {
    pollfd p[2] = {{wake_.read_fd(), POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    int timeout = -1;
    nfds_t nfds = 2;
    if (paused_until != 0) {
      int64_t left = paused_until - MonotonicMs();
      if (left > 0) {
        nfds = 1;
        timeout = int(left);
      } else {
        paused_until = 0;
      }
    }
    int n = poll(p, nfds, timeout);
    if (n <= 0 || stopping_) continue;
    if (nfds < 2 || !(p[1].revents & POLLIN)) continue;
    for (;;) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd >= 0) {
        AcceptOne(fd);
        continue;
      }
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
        paused_until = MonotonicMs() + 100;  // the backlog waits meanwhile
      break;
    }
  }
}

std::string Server::StatusLine() {
  std::string s = "connections=" + std::to_string(connections_open()) +
                  " accepted=" + std::to_string(accepted_.load()) +
                  " refused=" + std::to_string(refused_.load()) +
                  " auth_timeouts=" + std::to_string(auth_timeouts()) +
                  " rejected=" + std::to_string(connections_rejected()) +
                  " logs=" + std::to_string(store_.log_count()) +
                  " held=" + std::to_string(store_.used()) + "/" +
                  std::to_string(store_.capacity()) + " appends=" + std::to_string(appends());
  return s;
}

}  // namespace rvmr::remote_log
