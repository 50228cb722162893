// FrameRelay: a loopback TCP relay between clients and a log server, as an
// attacker on the path: the server's replies pass untouched, the clients'
// requests pass frame by frame through a hook that may alter, drop or
// repeat them (recomputing CRCs is the hook's business: see RefreshCrcs).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/crc32c.h"
#include "remote_log/wire.h"

namespace rvmr::testing {

class FrameRelay {
 public:
  // Called for each request frame (header and payload) in arrival order;
  // the frames left in *out are sent to the server (initially just the one).
  using Hook = std::function<void(const remote_log::wire::Header& h,
                                  std::vector<std::vector<uint8_t>>* out)>;

  explicit FrameRelay(uint16_t upstream) : upstream_(upstream) {
    lfd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(lfd_, 16) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(lfd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }
  ~FrameRelay() {
    ::shutdown(lfd_, SHUT_RDWR);
    acceptor_.join();
    std::lock_guard<std::mutex> l(mu_);
    for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
    for (auto& t : threads_) t.join();
    for (int fd : fds_) ::close(fd);
    ::close(lfd_);
  }
  FrameRelay(const FrameRelay&) = delete;
  FrameRelay& operator=(const FrameRelay&) = delete;

  std::string uri() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
  // Set before the client connects.
  void SetHook(Hook h) {
    std::lock_guard<std::mutex> l(mu_);
    hook_ = std::move(h);
  }

  // Recomputes the payload and header CRCs of a frame after it was altered.
  static void RefreshCrcs(std::vector<uint8_t>* f) {
    namespace wire = remote_log::wire;
    wire::Put32(f->data() + 24,
                crc32c::Value(f->data() + wire::kHeaderSize, f->size() - wire::kHeaderSize));
    wire::Put32(f->data() + 28, crc32c::Value(f->data(), 28));
  }

 private:
  static bool ReadFull(int fd, uint8_t* p, size_t n) {
    while (n > 0) {
      ssize_t r = ::recv(fd, p, n, 0);
      if (r <= 0) return false;
      p += r;
      n -= static_cast<size_t>(r);
    }
    return true;
  }
  static bool WriteFull(int fd, const uint8_t* p, size_t n) {
    while (n > 0) {
      ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
      if (w <= 0) return false;
      p += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  }
  void AcceptLoop() {
    for (;;) {
      int c = ::accept(lfd_, nullptr, nullptr);
      if (c < 0) return;
      int s = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(upstream_);
      if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(c);
        ::close(s);
        continue;
      }
      std::lock_guard<std::mutex> l(mu_);
      fds_.push_back(c);
      fds_.push_back(s);
      threads_.emplace_back([this, c, s, hook = hook_] { Requests(c, s, hook); });
      threads_.emplace_back([c, s] {
        uint8_t buf[65536];
        for (;;) {
          ssize_t r = ::recv(s, buf, sizeof buf, 0);
          if (r <= 0 || !WriteFull(c, buf, static_cast<size_t>(r))) break;
        }
        ::shutdown(c, SHUT_RDWR);
      });
    }
  }
  static void Requests(int c, int s, const Hook& hook) {
    namespace wire = remote_log::wire;
    for (;;) {
      std::vector<uint8_t> msg(wire::kHeaderSize);
      if (!ReadFull(c, msg.data(), wire::kHeaderSize)) break;
      wire::Header h;
      if (!wire::DecodeHeader(msg.data(), &h).ok()) break;
      msg.resize(wire::kHeaderSize + h.payload_len);
      if (!ReadFull(c, msg.data() + wire::kHeaderSize, h.payload_len)) break;
      std::vector<std::vector<uint8_t>> out{std::move(msg)};
      if (hook) hook(h, &out);
      bool ok = true;
      for (const auto& f : out) ok = ok && WriteFull(s, f.data(), f.size());
      if (!ok) break;
    }
    ::shutdown(s, SHUT_RDWR);
  }

  uint16_t upstream_;
  uint16_t port_ = 0;
  int lfd_ = -1;
  std::thread acceptor_;
  std::mutex mu_;
  Hook hook_;                         // mu_
  std::vector<int> fds_;              // mu_
  std::vector<std::thread> threads_;  // mu_
};

}  // namespace rvmr::testing
