// TcpConnection: the TCP transport of Connection (URI scheme "tcp"). One
// non-blocking socket with TCP_NODELAY; appends are written with one
// sendmsg(2) of a prebuilt header plus the caller's iovecs (no allocation),
// acks are read in order and matched against a fixed ring of in-flight
// appends. While the socket is full it keeps reading acks, so a pipelining
// client can never deadlock with the server.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "remote_log/transport.h"
#include "remote_log/wire.h"

namespace rvmr::remote_log {

// The "tcp" TransportFactory: connects, says HELLO and authenticates.
Status ConnectTcp(const Endpoint& ep, const ConnectOptions& opts, std::unique_ptr<Connection>* out);

class TcpConnection final : public Connection {
 public:
  // Most appends in flight on one connection; StartAppend waits for an ack
  // when this many are outstanding.
  static constexpr size_t kMaxInFlight = 4096;
  // Most iovecs one append may have.
  static constexpr int kMaxIov = 64;

  ~TcpConnection() override;

  const std::string& uri() const override { return uri_; }
  Status Open(std::string_view name, uint64_t epoch, bool create, uint64_t create_offset,
              LogInfo* info) override;
  Status StartAppend(uint64_t offset, const struct iovec* iov, int iovcnt) override;
  Status StartAppendWithCrc(uint64_t offset, const struct iovec* iov, int iovcnt,
                            uint32_t crc) override;
  Status Poll(uint64_t* acked_end) override;
  Status WaitAcked(uint64_t end, uint64_t* acked_end) override;
  int wait_fd() const override { return fd_; }
  Status Read(uint64_t offset, size_t len, void* buf, size_t* got) override;
  Status Trim(uint64_t durable, LogInfo* info) override;
  Status Stat(LogInfo* info) override;
  Status List(std::vector<LogEntry>* logs) override;
  Status CloseLog() override;

 private:
  friend Status ConnectTcp(const Endpoint&, const ConnectOptions&, std::unique_ptr<Connection>*);
  TcpConnection(int fd, std::string uri, const ConnectOptions& opts);

  Status Handshake();
  // Sends iov[0..cnt) completely, reading replies while the socket is full.
  Status SendAll(struct iovec* iov, int cnt);
  // Receives what is available; if `wait`, first waits (poll or spin) up to
  // the deadline. Then parses every complete reply.
  Status Pump(bool wait, int64_t deadline_ns);
  Status ProcessInput();
  // Sends a request and waits for its reply; the reply payload is left in
  // reply_, its status in *status.
  Status Call(wire::Type type, const std::vector<uint8_t>& payload, int32_t* status);
  Status Break(Status s);
  int64_t Deadline() const;

  int fd_;
  std::string uri_;
  ConnectOptions opts_;
  Status broken_;        // set once the connection is unusable
  Status append_error_;  // first refused append (sticky)
  uint64_t next_id_ = 1;

  struct Pending {
    uint64_t id;
    uint64_t end;
  };
  std::array<Pending, kMaxInFlight> ring_{};
  size_t ring_head_ = 0, ring_count_ = 0;
  uint64_t sent_end_ = 0;
  uint64_t acked_end_ = 0;
  bool log_open_ = false;

  // The outstanding synchronous call.
  uint64_t call_id_ = 0;
  bool call_done_ = false;
  int32_t call_status_ = 0;
  std::vector<uint8_t> reply_;

  std::vector<uint8_t> in_;
  size_t rpos_ = 0, wpos_ = 0;
  uint8_t hdr_[wire::kHeaderSize + wire::kAppendFixedSize] = {};
  struct iovec iov_[kMaxIov + 1] = {};
  std::vector<uint8_t> scratch_;
};

}  // namespace rvmr::remote_log
