// RdmaServer: the server side of the RDMA transport. Lends registered memory
// to writers: each named log is a ring in its own page-aligned region (see
// layout.h) that the writer fills with one-sided RDMA WRITEs; the server's CPU
// only answers control messages (HELLO, AUTH, OPEN, TRIM, STAT, LIST, CLOSE,
// in the wire format of remote_log/wire.h, carried in SEND/RECV).
//
// Fencing: a log's region is registered for remote access once per writer,
// in that writer's own protection domain. When a writer with a higher (or, if
// the current writer is still connected, equal) epoch opens the log, the old
// registration is deregistered before the OPEN reply is sent: the old
// writer's rkey is dead, any RDMA WRITE it still issues fails with a remote
// access error (its client reports Fenced) and nothing of it lands in memory.
//
// Threading: one event-loop thread serves every connection; the public
// accessors are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "remote_log/transport.h"
#include "remote_log/wire.h"

struct rdma_event_channel;
struct rdma_cm_id;
struct ibv_comp_channel;
struct ibv_cq;

namespace rvmr::remote_log::rdma {

struct RdmaServerOptions {
  // "host:port" or "[v6addr]:port": host must be an IP address assigned to
  // an RDMA device's network interface. Port 0 lets the system choose (see
  // port()).
  std::string listen;
  // Bytes in each log's ring (rounded up to a page).
  uint64_t ring_size = uint64_t(64) << 20;
  // Most ring bytes all logs together may hold; OPEN with create beyond it
  // is refused with ENOSPC.
  uint64_t capacity = uint64_t(1) << 30;
  // mlock each log's region (needs RLIMIT_MEMLOCK).
  bool mlock = false;
  // Shared secret for HMAC challenge-response (remote_log/auth.h). Required
  // unless `allow_unauthenticated`.
  std::string secret;
  // Serve clients without authentication (tests on a private VM network).
  bool allow_unauthenticated = false;
  // A connection that has not completed HELLO (and AUTH, with a secret)
  // within this many milliseconds of being accepted is disconnected.
  uint32_t auth_timeout_ms = 10000;
  // Most connections at once (at most 128: the shared completion queue is
  // sized for them); more are rejected.
  uint32_t max_connections = 128;
};

class RdmaServer {
 public:
  explicit RdmaServer(RdmaServerOptions options);
  // Stops the server if it is running.
  ~RdmaServer();
  RdmaServer(const RdmaServer&) = delete;
  RdmaServer& operator=(const RdmaServer&) = delete;

  // Binds, listens and starts the event loop. InvalidArgument for a bad
  // address or no secret without allow_unauthenticated; Unavailable if the
  // address is not on an RDMA device (or there is none); IoError otherwise.
  Status Start();

  // The bound port (after Start).
  uint16_t port() const { return port_; }

  // Disconnects every client, releases all memory registrations and joins
  // the event loop. Idempotent. The logs are dropped.
  void Stop();

  // The server's view of log `name`: its epoch, start, durable offset, and
  // the tail read from the log's control word.
  // NotFound if there is no such log.
  Status StatLog(const std::string& name, LogInfo* info);

  // Every log with its positions (tail read from its control word) and
  // whether a writer holds it, sorted by name. Any thread.
  struct HeldLog {
    std::string name;
    LogInfo info;
    bool writer_connected = false;
  };
  std::vector<HeldLog> Snapshot();
  // Connections open now. Any thread.
  size_t connections_open();

  // Replaces the shared secret (SIGHUP): connections that authenticated keep
  // their session keys; new authentications need the new secret. Refused
  // (and the old one kept) if it is too short or empty. Any thread.
  Status SetSecret(std::string secret);

  // One line of counters for status output.
  std::string StatusLine();

  uint64_t connections_accepted() const { return accepted_.load(); }
  // Connection requests rejected because max_connections were open.
  uint64_t connections_refused() const { return refused_.load(); }
  // Connections disconnected for not authenticating within auth_timeout_ms.
  uint64_t auth_timeouts() const { return auth_timeouts_.load(); }
  uint64_t fences() const { return fences_.load(); }
  // Requests refused for a failed proof: a wrong AUTH MAC, a request before
  // AUTH, an altered, replayed or missing control MAC, or a failed owner
  // proof.
  uint64_t auth_failures() const { return auth_failures_.load(); }
  // Control words that were torn or out of range when read (should stay 0).
  uint64_t control_anomalies() const { return control_anomalies_.load(); }

 private:
  struct Log;
  struct Conn;

  void Loop();
  void HandleCmEvents();
  void HandleCompletions();
  void OnConnectRequest(rdma_cm_id* id, uint8_t initiator_depth);
  void Teardown(Conn* c);
  void CloseConn(Conn* c);
  void HandleMessage(Conn* c, const uint8_t* p, size_t n);
  void Reply(Conn* c, uint8_t type, uint64_t request_id, int32_t status,
             const std::vector<uint8_t>& payload);
  int32_t OpenLog(Conn* c, const wire::Header& h, const std::vector<uint8_t>& req,
                  std::vector<uint8_t>* reply);
  void ReleaseWriter(Log* log);
  void Refresh(Log* log);
  LogInfo InfoOf(const Log* log) const;
  bool PostRecv(Conn* c, int index);

  const RdmaServerOptions options_;
  std::string secret_;  // guarded by mu_ (starts as options_.secret)
  rdma_event_channel* cm_channel_ = nullptr;
  rdma_cm_id* listen_id_ = nullptr;
  ibv_comp_channel* comp_channel_ = nullptr;
  ibv_cq* cq_ = nullptr;
  int wake_fd_ = -1;
  uint16_t port_ = 0;
  std::thread loop_;
  std::atomic<bool> stopping_{false};
  bool started_ = false;
  bool atomics_ = false;  // the device executes remote atomics

  std::mutex mu_;  // guards logs_, conns_ and everything in them
  std::map<std::string, std::unique_ptr<Log>> logs_;
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns_;  // by serial
  uint64_t next_serial_ = 1;
  uint64_t ring_bytes_ = 0;  // sum of ring sizes of all logs

  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> refused_{0};
  std::atomic<uint64_t> auth_timeouts_{0};
  std::atomic<uint64_t> fences_{0};
  std::atomic<uint64_t> control_anomalies_{0};
  std::atomic<uint64_t> auth_failures_{0};
};

}  // namespace rvmr::remote_log::rdma
