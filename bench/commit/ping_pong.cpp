#include "ping_pong.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace commit_bench {

namespace {

bool ReadFull(int fd, void* p, size_t n) {
  char* c = static_cast<char*>(p);
  while (n > 0) {
    ssize_t r = ::read(fd, c, n);
    if (r <= 0) return false;
    c += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

bool WriteFull(int fd, const void* p, size_t n) {
  const char* c = static_cast<const char*>(p);
  while (n > 0) {
    ssize_t w = ::write(fd, c, n);
    if (w <= 0) return false;
    c += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

sockaddr_in Loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

}  // namespace

int ListenLoopback(uint16_t* port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = Loopback(0);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(fd, 64) != 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

int ConnectLoopback(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = Loopback(port);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

PingPongServer::PingPongServer() {
  lfd_ = ListenLoopback(&port_);
  if (lfd_ < 0) Die("ping-pong server: bind/listen failed");
  thread_ = std::thread([this] { Serve(); });
}

PingPongServer::~PingPongServer() {
  ::shutdown(lfd_, SHUT_RDWR);
  ::close(lfd_);
  thread_.join();
}

void PingPongServer::Serve() {
  for (;;) {
    int fd = ::accept(lfd_, nullptr, nullptr);
    if (fd < 0) return;
    ServeOne(fd);
  }
}

void PingPongServer::ServeOne(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::vector<char> buf(2u << 20);
  uint64_t n = 0;
  char ack[16] = {};
  while (ReadFull(fd, &n, 8) && n <= buf.size() && ReadFull(fd, buf.data(), n))
    if (!WriteFull(fd, ack, sizeof ack)) break;
  ::close(fd);
}

std::map<size_t, Percentiles> PingPong(uint16_t port, const std::vector<size_t>& sizes,
                                       double secs) {
  int fd = ConnectLoopback(port);
  if (fd < 0) Die("ping-pong connect");
  std::map<size_t, Percentiles> out;
  std::vector<char> buf(sizes.back() + 8, 'p');
  char ack[16];
  for (size_t size : sizes) {
    std::vector<double> us;
    auto deadline = Clock::now() + std::chrono::duration<double>(secs);
    for (size_t i = 0; i < 20000 && (i < 50 || Clock::now() < deadline); ++i) {
      uint64_t n = size;
      std::memcpy(buf.data(), &n, 8);
      auto t0 = Clock::now();
      if (!WriteFull(fd, buf.data(), size + 8)) Die("ping-pong write");
      if (!ReadFull(fd, ack, sizeof ack)) Die("ping-pong read");
      us.push_back(Seconds(Clock::now() - t0) * 1e6);
    }
    out[size] = Summarise(us);
  }
  ::close(fd);
  return out;
}

}  // namespace commit_bench
