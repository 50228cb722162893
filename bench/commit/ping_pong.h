// A bare TCP echo of the append shape, for comparison with remote commits:
// the client sends an 8-byte length and the payload, the server answers with
// 16 bytes. No framing, no CRC, no RVM.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <thread>
#include <vector>

#include "bench_util.h"

namespace commit_bench {

// Listens on 127.0.0.1 (ephemeral port) and serves one connection at a time
// until destroyed.
class PingPongServer {
 public:
  PingPongServer();
  ~PingPongServer();
  PingPongServer(const PingPongServer&) = delete;
  PingPongServer& operator=(const PingPongServer&) = delete;
  uint16_t port() const { return port_; }

 private:
  void Serve();
  void ServeOne(int fd);
  int lfd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

// Round trips of each size to 127.0.0.1:port for up to `secs` seconds each
// (at least 50, at most 20000).
std::map<size_t, Percentiles> PingPong(uint16_t port, const std::vector<size_t>& sizes,
                                       double secs);

// Opens a TCP connection to 127.0.0.1:port with TCP_NODELAY; -1 on failure.
int ConnectLoopback(uint16_t port);

// A listening TCP socket on 127.0.0.1, ephemeral port; -1 on failure.
int ListenLoopback(uint16_t* port);

}  // namespace commit_bench
