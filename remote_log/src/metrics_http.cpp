#include "metrics_http.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "common/thread.h"
#include "remote_log/server.h"

namespace rvmr::remote_log {

namespace {

int64_t NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

std::string Response(const char* status, const char* type, const std::string& body,
                     bool with_body) {
  std::string r = std::string("HTTP/1.0 ") + status + "\r\nContent-Type: " + type +
                  "\r\nContent-Length: " + std::to_string(body.size()) +
                  "\r\nConnection: close\r\n\r\n";
  if (with_body) r += body;
  return r;
}

}  // namespace

MetricsHttp::~MetricsHttp() {
  Stop();
}

Status MetricsHttp::Start(const std::string& listen) {
  TcpListenOptions lo;
  lo.backlog = 16;
  bool loopback = false;
  int fd = -1;
  Status s = ListenTcp(listen, lo, &fd, &port_, &loopback);
  if (!s.ok()) return s;
  s = wake_.Open();
  if (!s.ok()) {
    close(fd);
    return s;
  }
  listen_fd_ = fd;
  thread_ = StartThread("rvm-logd-metric", [this] { Loop(); });
  return Status::Ok();
}

void MetricsHttp::Stop() {
  if (listen_fd_ < 0) return;
  if (thread_.joinable()) {
    wake_.Wake();
    thread_.join();
  }
  close(listen_fd_);
  wake_.Close();
  listen_fd_ = -1;
}

void MetricsHttp::Loop() {
  for (;;) {
    pollfd p[2] = {{wake_.read_fd(), POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (p[0].revents != 0) return;
    if (!(p[1].revents & POLLIN)) continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) continue;
    Serve(fd);
    close(fd);
  }
}

void MetricsHttp::Serve(int fd) {
  std::string req;
  const int64_t deadline = NowMs() + kRequestTimeoutMs;
  while (req.find("\r\n\r\n") == std::string::npos && req.find("\n\n") == std::string::npos) {
    if (req.size() >= kMaxRequest) break;
    int64_t left = deadline - NowMs();
    if (left <= 0) return;
    pollfd p[2] = {{fd, POLLIN, 0}, {wake_.read_fd(), POLLIN, 0}};
    int n = poll(p, 2, int(left));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || p[1].revents != 0) return;
    char buf[1024];
    ssize_t got = recv(fd, buf, sizeof buf, 0);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got <= 0) break;  // a request without its blank line: answer what came
    req.append(buf, size_t(got));
  }
  std::string resp = Respond(req);
  size_t off = 0;
  while (off < resp.size()) {
    if (NowMs() >= deadline + kRequestTimeoutMs) return;
    ssize_t w = send(fd, resp.data() + off, resp.size() - off, MSG_NOSIGNAL);
    if (w > 0) {
      off += size_t(w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) {
      pollfd p[2] = {{fd, POLLOUT, 0}, {wake_.read_fd(), POLLIN, 0}};
      if (poll(p, 2, kRequestTimeoutMs) <= 0 || p[1].revents != 0) return;
      continue;
    }
    return;
  }
}

std::string MetricsHttp::Respond(const std::string& request) {
  size_t eol = request.find_first_of("\r\n");
  std::string line = request.substr(0, eol);
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string::npos ? std::string::npos : line.find(' ', sp1 + 1);
  if (sp1 == std::string::npos)
    return Response("400 Bad Request", "text/plain", "bad request\n", true);
  std::string method = line.substr(0, sp1);
  std::string target =
      line.substr(sp1 + 1, sp2 == std::string::npos ? std::string::npos : sp2 - sp1 - 1);
  if (size_t q = target.find('?'); q != std::string::npos) target.resize(q);
  const bool head = method == "HEAD";
  if (method != "GET" && !head)
    return Response("405 Method Not Allowed", "text/plain", "only GET\n", true);
  if (target == "/metrics") {
    std::string body = render_();
    scrapes_++;
    return Response("200 OK", "text/plain; version=0.0.4; charset=utf-8", body, !head);
  }
  if (target == "/")
    return Response("200 OK", "text/plain", "rvm-logd: metrics at /metrics\n", !head);
  return Response("404 Not Found", "text/plain", "not found; metrics at /metrics\n", !head);
}

}  // namespace rvmr::remote_log
