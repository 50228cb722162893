#include "cm_util.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>

#include <cerrno>
#include <cstring>

#include "common/crc32c.h"

namespace rvmr::remote_log::rdma::internal {

Status ResolveAddress(const std::string& host, uint16_t port, sockaddr_storage* addr) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) {
    return Status::InvalidArgument("rdma: cannot resolve '" + host + "': " + gai_strerror(rc));
  }
  std::memset(addr, 0, sizeof(*addr));
  std::memcpy(addr, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  return Status::Ok();
}

Status SplitHostPort(const std::string& s, std::string* host, uint16_t* port) {
  auto bad = [&] {
    return Status::InvalidArgument("rdma: bad address '" + s + "' (expected host:port)");
  };
  std::string h, p;
  if (!s.empty() && s.front() == '[') {
    size_t close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':') return bad();
    h = s.substr(1, close - 1);
    p = s.substr(close + 2);
  } else {
    size_t colon = s.rfind(':');
    if (colon == std::string::npos) return bad();
    h = s.substr(0, colon);
    p = s.substr(colon + 1);
  }
  if (h.empty() || p.empty() || p.size() > 5) return bad();
  uint32_t v = 0;
  for (char c : p) {
    if (c < '0' || c > '9') return bad();
    v = v * 10 + uint32_t(c - '0');
  }
  if (v > 65535) return bad();
  *host = h;
  *port = uint16_t(v);
  return Status::Ok();
}

Status MakeNonBlocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    return Status::IoError("rdma: fcntl(O_NONBLOCK)", errno);
  }
  return Status::Ok();
}

int MillisLeft(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count() > 0 ? int(left.count()) : 0;
}

Status WaitCmEvent(rdma_event_channel* ch, int timeout_ms, rdma_cm_event_type expected) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    rdma_cm_event* ev = nullptr;
    if (rdma_get_cm_event(ch, &ev) == 0) {
      rdma_cm_event_type type = ev->event;
      int status = ev->status;
      rdma_ack_cm_event(ev);
      if (type == expected) return Status::Ok();
      return Status::Unavailable(std::string("rdma: connection setup: expected ") +
                                 rdma_event_str(expected) + ", got " + rdma_event_str(type) +
                                 " (status " + std::to_string(status) + ")");
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      return Status::IoError("rdma: rdma_get_cm_event", errno);
    }
    int left = MillisLeft(deadline);
    if (left == 0) {
      return Status::TimedOut(std::string("rdma: connection setup: no ") +
                              rdma_event_str(expected) + " within " + std::to_string(timeout_ms) +
                              " ms");
    }
    pollfd pfd{ch->fd, POLLIN, 0};
    if (poll(&pfd, 1, left) < 0 && errno != EINTR) return Status::IoError("rdma: poll", errno);
  }
}

Status CheckMessage(const uint8_t* p, size_t n, wire::Header* h) {
  if (n < wire::kHeaderSize) return Status::Corruption("rdma: control message shorter than header");
  Status s = wire::DecodeHeader(p, h);
  if (!s.ok()) return s;
  if (n - wire::kHeaderSize != h->payload_len) {
    return Status::Corruption("rdma: control message length does not match its header");
  }
  if (crc32c::Value(p + wire::kHeaderSize, h->payload_len) != h->payload_crc) {
    return Status::Corruption("rdma: control message payload checksum mismatch");
  }
  return Status::Ok();
}

}  // namespace rvmr::remote_log::rdma::internal
