// Server: the remote log daemon's engine (rvm-logd is a thin CLI around it;
// tests run it in-process). Listens on TCP, serves each client connection on
// its own thread (the protocol itself is Session, src/session.h), keeps the
// logs in a LogStore. A malformed, oversized or unauthenticated message closes
// that connection only.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"
#include "remote_log/log_store.h"

namespace rvmr::remote_log {

struct ServerOptions {
  // "host:port" or "[v6addr]:port"; port 0 lets the OS choose (see port()).
  std::string listen = "127.0.0.1:7483";
  // Most bytes all logs together may hold.
  uint64_t capacity = uint64_t(1) << 30;
  // Shared secret; empty: no authentication, which is only allowed on a
  // loopback address.
  std::string secret;
};

class Server {
 public:
  explicit Server(ServerOptions options);
  // Stops the server if it is running.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds, listens and starts accepting. InvalidArgument for a bad listen
  // address or a non-loopback address without a secret; IoError if the
  // address cannot be bound.
  Status Start();

  // The bound TCP port (after Start).
  uint16_t port() const { return port_; }

  // Closes the listening socket and every connection, joins all threads.
  // Idempotent. The logs stay in store() until the Server is destroyed.
  void Stop();

  // One line of counters: connections, logs, bytes held/capacity, appends.
  std::string StatusLine();

  LogStore& store() { return store_; }

  // Counters (monotonic, for status lines and tests).
  uint64_t appends() const { return appends_.load(); }
  uint64_t connections_accepted() const { return accepted_.load(); }
  uint64_t connections_rejected() const { return rejected_.load(); }

 private:
  struct Conn;
  void AcceptLoop();
  void Serve(Conn* c);
  void Reap(bool all);

  const ServerOptions options_;
  LogStore store_;
  int listen_fd_ = -1;
  int wake_fd_[2] = {-1, -1};
  uint16_t port_ = 0;
  std::thread acceptor_;
  std::mutex mu_;  // guards sessions_
  std::list<std::unique_ptr<Conn>> sessions_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> appends_{0};
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> rejected_{0};
  std::atomic<uint64_t> open_sessions_{0};
};

// Splits "host:port" / "[v6]:port" into its parts. InvalidArgument otherwise.
Status ParseHostPort(const std::string& s, std::string* host, uint16_t* port);

}  // namespace rvmr::remote_log
