// MetricsHttp: rvm-logd's metrics endpoint, a minimal HTTP/1.0 responder on
// a thread of its own. "GET /metrics" is answered 200 with the text the
// render function returns (Prometheus text format 0.0.4), "GET /" with a
// pointer to /metrics, other paths 404, other methods 405; every response
// closes the connection. One client at a time: a request must arrive whole
// (at most kMaxRequest bytes) within kRequestTimeoutMs of the connection.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "common/status.h"
#include "remote_log/server.h"

namespace rvmr::remote_log {

class MetricsHttp {
 public:
  static constexpr size_t kMaxRequest = 8192;
  static constexpr int kRequestTimeoutMs = 2000;

  // `render` is called on the endpoint's thread for every scrape.
  explicit MetricsHttp(std::function<std::string()> render) : render_(std::move(render)) {}
  // Stops it.
  ~MetricsHttp();
  MetricsHttp(const MetricsHttp&) = delete;
  MetricsHttp& operator=(const MetricsHttp&) = delete;

  // Listens on "host:port" (port 0: the OS chooses) and starts the thread.
  // InvalidArgument for a bad address, IoError if it cannot be bound.
  Status Start(const std::string& listen);
  // The bound port (after Start).
  uint16_t port() const { return port_; }
  // Closes the socket and joins the thread. Idempotent.
  void Stop();
  // Scrapes answered (200 on /metrics).
  uint64_t scrapes() const { return scrapes_.load(); }

  // The response to one request text (tests): status line, headers, body.
  std::string Respond(const std::string& request);

 private:
  void Loop();
  void Serve(int fd);

  const std::function<std::string()> render_;
  int listen_fd_ = -1;
  WakePipe wake_;  // wakes the serving thread for Stop
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<uint64_t> scrapes_{0};
};

}  // namespace rvmr::remote_log
