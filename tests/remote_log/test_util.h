// Helpers shared by the remote_log tests: an in-process server on an
// OS-chosen loopback port and a raw socket client for hand-made messages.
#pragma once

#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "remote_log/mirror_set.h"
#include "remote_log/server.h"
#include "remote_log/transport.h"
#include "remote_log/wire.h"

namespace rvmr::remote_log::test {

// A temporary directory, removed with everything in it.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/rvm-logd-test-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  // Writes `text` to the file `name` in it with `mode`; returns its path.
  std::string Write(const std::string& name, const std::string& text, mode_t mode = 0600) {
    std::string p = path + "/" + name;
    {
      std::ofstream f(p, std::ios::trunc);
      f << text;
    }
    chmod(p.c_str(), mode);
    return p;
  }
};

inline std::unique_ptr<Server> StartServer(uint64_t capacity = 64 << 20, std::string secret = "",
                                           std::string listen = "127.0.0.1:0") {
  ServerOptions o;
  o.listen = listen;
  o.capacity = capacity;
  o.secret = std::move(secret);
  auto s = std::make_unique<Server>(o);
  Status st = s->Start();
  if (!st.ok()) return nullptr;
  return s;
}

inline std::unique_ptr<Server> StartServerWith(const ServerOptions& o) {
  auto s = std::make_unique<Server>(o);
  Status st = s->Start();
  INFO(st.ToString());
  REQUIRE(st.ok());
  return s;
}

inline std::string Uri(const Server& s) {
  return "tcp://127.0.0.1:" + std::to_string(s.port());
}

// Deterministic test bytes.
inline std::vector<uint8_t> Bytes(size_t n, uint64_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = uint8_t((seed * 131 + i) * 2654435761u >> 11);
  return v;
}

inline std::unique_ptr<Connection> Dial(const std::string& uri, ConnectOptions o = {}) {
  std::unique_ptr<Connection> c;
  Status s = TransportRegistry::Global().Connect(uri, o, &c);
  INFO(s.ToString());
  REQUIRE(s.ok());
  return c;
}

inline std::unique_ptr<MirrorSet> Mirrors(std::vector<std::string> uris, size_t quorum = 0,
                                   ConnectOptions o = {}) {
  MirrorSetOptions mo;
  mo.uris = std::move(uris);
  mo.write_quorum = quorum;
  mo.connect = o;
  std::unique_ptr<MirrorSet> m;
  Status s = MirrorSet::Connect(mo, &m);
  INFO(s.ToString());
  REQUIRE(s.ok());
  return m;
}

// A blocking socket speaking raw bytes to a server.
class RawClient {
 public:
  explicit RawClient(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~RawClient() { close(fd_); }
  bool connected() const { return connected_; }
  int fd() const { return fd_; }
  // Reads exactly n bytes; false on close/timeout.
  bool RecvBytes(uint8_t* p, size_t n, int timeout_ms = 5000) { return ReadN(p, n, timeout_ms); }

  bool SendBytes(const std::vector<uint8_t>& b) {
    size_t done = 0;
    while (done < b.size()) {
      ssize_t w = send(fd_, b.data() + done, b.size() - done, MSG_NOSIGNAL);
      if (w <= 0) return false;
      done += size_t(w);
    }
    return true;
  }
  bool Send(wire::Type t, const std::vector<uint8_t>& payload, uint64_t id = 1) {
    std::vector<uint8_t> m;
    wire::BuildMessage(uint8_t(t), 0, id, payload, &m);
    return SendBytes(m);
  }
  // Reads one reply; false on close/timeout.
  bool Recv(wire::Header* h, std::vector<uint8_t>* payload, int timeout_ms = 5000) {
    uint8_t hdr[wire::kHeaderSize];
    if (!ReadN(hdr, sizeof hdr, timeout_ms)) return false;
    if (!wire::DecodeHeader(hdr, h).ok()) return false;
    payload->resize(h->payload_len);
    return ReadN(payload->data(), payload->size(), timeout_ms);
  }
  // True if the server closed the connection (EOF) within timeout_ms.
  bool ClosedByPeer(int timeout_ms = 5000) {
    uint8_t b[4096];
    for (;;) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, timeout_ms) <= 0) return false;
      ssize_t r = recv(fd_, b, sizeof b, 0);
      if (r == 0) return true;
      if (r < 0) return errno == ECONNRESET;
    }
  }
  bool Hello() {
    std::vector<uint8_t> p;
    wire::EncodeHelloRequest(wire::HelloRequest{}, &p);
    wire::Header h;
    std::vector<uint8_t> r;
    return Send(wire::Type::kHello, p) && Recv(&h, &r) && h.status == 0;
  }

 private:
  bool ReadN(uint8_t* p, size_t n, int timeout_ms) {
    size_t done = 0;
    while (done < n) {
      pollfd pf{fd_, POLLIN, 0};
      if (poll(&pf, 1, timeout_ms) <= 0) return false;
      ssize_t r = recv(fd_, p + done, n - done, 0);
      if (r <= 0) return false;
      done += size_t(r);
    }
    return true;
  }
  int fd_ = -1;
  bool connected_ = false;
};

}  // namespace rvmr::remote_log::test
