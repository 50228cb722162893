// Server: the remote log daemon's engine (rvm-logd is a thin CLI around it;
// tests run it in-process). Listens on TCP and keeps the logs in a LogStore.
// An acceptor thread accepts connections (refusing those beyond
// max_connections) and hands each to one of `threads` worker event loops
// (epoll); an unauthenticated or idle connection costs no thread and a few
// hundred bytes. A busy authenticated connection is served by a thread of its
// own while it stays busy (busy_connection_threads). The protocol itself is Session (src/session.h). A
// malformed, oversized or unauthenticated message closes that connection
// only; so does not authenticating within auth_timeout_ms.
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

class ConnThreads;
struct SessionCounters;
struct WorkerShared;

struct ServerOptions {
  // "host:port" or "[v6addr]:port"; port 0 lets the OS choose (see port()).
  std::string listen = "127.0.0.1:7483";
  // Most bytes all logs together may hold.
  uint64_t capacity = uint64_t(1) << 30;
  // Shared secret; empty: no authentication, which is only allowed on a
  // loopback address.
  std::string secret;
  // Worker event loops serving the connections; 0: one per CPU the process
  // may run on.
  unsigned threads = 0;
  // A connection that has not completed HELLO (and AUTH, with a secret)
  // within this many milliseconds of being accepted is closed.
  uint32_t auth_timeout_ms = 10000;
  // Most connections open at once; a connection beyond that is answered
  // with EBUSY and closed.
  uint32_t max_connections = 1024;
  // A busy authenticated connection is served by a thread of its own until
  // it has been idle for a second (one system call per request less than an
  // event loop: see src/conn_threads.h). false: the event loops serve every
  // connection.
  bool busy_connection_threads = true;
};

// A pipe whose read end a listening thread polls next to its socket, so that
// Stop can wake it. Not thread-safe apart from Wake.
class WakePipe {
 public:
  WakePipe() = default;
  ~WakePipe() { Close(); }
  WakePipe(const WakePipe&) = delete;
  WakePipe& operator=(const WakePipe&) = delete;
  // Creates the pipe (close-on-exec). IoError if it cannot.
  Status Open();
  // Makes read_fd() readable for good (one byte; retries EINTR).
  void Wake();
  int read_fd() const { return fd_[0]; }
  // Closes both ends; harmless when closed.
  void Close();

 private:
  int fd_[2] = {-1, -1};
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

  // Replaces the shared secret: connections accepted from now on must
  // authenticate with `secret`; those already accepted keep the one they were
  // accepted with. InvalidArgument (and nothing changes) if it is shorter than
  // auth::kMinSecretSize, or empty while listening on a non-loopback address.
  // Thread-safe; after Start.
  Status SetSecret(std::string secret);

  // One line of counters: connections, logs, bytes held/capacity, appends.
  std::string StatusLine();

  LogStore& store() { return store_; }

  // Counters (monotonic, for status lines, metrics and tests).
  // APPENDs acknowledged, APPENDs handled, bytes acknowledged, TRIMs
  // accepted, AUTHs refused for a wrong MAC.
  uint64_t appends() const;
  uint64_t append_requests() const;
  uint64_t append_bytes() const;
  uint64_t trims() const;
  uint64_t auth_failures() const;
  uint64_t connections_accepted() const { return accepted_.load(); }
  // Requests refused with an error that closes the connection.
  uint64_t connections_rejected() const;
  // Connections refused because max_connections were open.
  uint64_t connections_refused() const { return refused_.load(); }
  // Connections closed for not authenticating within auth_timeout_ms.
  uint64_t auth_timeouts() const;
  // Connections open now.
  uint64_t connections_open() const;
  // Connections closed whose memory has not been handed back to the system
  // yet (malloc_trim, once a second at most, after connections closed).
  uint64_t closes_not_trimmed() const;
  // Worker event loops (after Start).
  size_t worker_count() const;
  // Connections served on threads of their own now (busy_connection_threads),
  // and such threads started so far.
  size_t connection_threads();
  uint64_t connection_threads_started() const;

 private:
  void AcceptLoop();
  void AcceptOne(int fd);

  const ServerOptions options_;
  LogStore store_;
  // Whether the listening address is a loopback one (set by Start).
  bool loopback_ = false;
  std::mutex secret_mu_;  // guards secret_
  // The secret new connections must authenticate with (Start, SetSecret).
  std::shared_ptr<const std::string> secret_;
  int listen_fd_ = -1;
  WakePipe wake_;  // wakes the acceptor for Stop
  uint16_t port_ = 0;
  std::thread acceptor_;
  // The workers and what they share (the workers run between Start and
  // Stop; the counters stay).
  std::unique_ptr<WorkerShared> shared_;
  std::unique_ptr<ConnThreads> conn_threads_;  // between Start and Stop
  std::atomic<bool> stopping_{false};
  const std::unique_ptr<SessionCounters> counters_;
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> refused_{0};
};

// How ListenTcp listens.
struct TcpListenOptions {
  // Refuse (InvalidArgument) an address that is not a loopback one.
  bool require_loopback = false;
  // SO_RCVBUF of the socket (inherited by accepted ones); 0: the default.
  int receive_buffer = 0;
  int backlog = 128;
};

// Binds a non-blocking, close-on-exec TCP socket to "host:port" (port 0: the
// OS chooses) and listens. *fd: the socket, *port: the bound port,
// *loopback: whether the address is a loopback one. InvalidArgument for a bad
// address, IoError if it cannot be bound.
Status ListenTcp(const std::string& listen_addr, const TcpListenOptions& options, int* fd,
                 uint16_t* port, bool* loopback);

// Splits "host:port" / "[v6]:port" into its parts. InvalidArgument otherwise.
Status ParseHostPort(const std::string& s, std::string* host, uint16_t* port);

}  // namespace rvmr::remote_log
