// TcpConnection: the TCP transport of Connection (URI scheme "tcp"). One
// non-blocking socket with TCP_NODELAY; appends are written with one
// sendmsg(2) of a prebuilt header plus the caller's iovecs (no allocation),
// acks are read in order and matched against a fixed ring of in-flight
// appends. While the socket is full it keeps reading acks, so a pipelining
// client can never deadlock with the server.
//
// Full duplex (SupportsConcurrentWait): the send side (appends, calls) and
// the receive side (Poll, WaitAcked) have a mutex each, and the state both
// touch (ring of in-flight appends, errors, acked end) a third, held only
// briefly. Lock order: tx_mu_ -> rx_mu_ -> state_mu_.
//
// Wake-ups instead of timed polls: the sender reads the socket too (the
// replies to its calls come behind acks; a full socket is drained by whoever
// sends), so a waiter asleep in poll(2) on the socket could miss acks that
// the sender consumed. wait_fd() is therefore an epoll set of the socket and
// an eventfd that the sender signals whenever it consumed acks; Poll and
// WaitAcked drain it. Likewise a sender facing a full socket while the
// waiter holds the receive side sleeps until the socket has room or the
// waiter, leaving, signals a second eventfd that it may read acks itself.
#pragma once

#include <array>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "remote_log/transport.h"
#include "remote_log/auth.h"
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
  // Also consumes the wake-up that wait_fd() may hold for acks the sender read.
  Status Poll(uint64_t* acked_end) override;
  Status WaitAcked(uint64_t end, uint64_t* acked_end) override;
  // An epoll set of the socket and the acks-read-by-the-sender eventfd:
  // readable when the socket is, or when a sender consumed acks since the
  // last Poll/WaitAcked (see the file comment).
  int wait_fd() const override { return wait_fd_; }
  bool SupportsConcurrentWait() const override { return true; }
  Status Read(uint64_t offset, size_t len, void* buf, size_t* got) override;
  Status Trim(uint64_t durable, LogInfo* info) override;
  Status Stat(LogInfo* info) override;
  Status List(std::vector<LogEntry>* logs) override;
  Status CloseLog() override;

 private:
  friend Status ConnectTcp(const Endpoint&, const ConnectOptions&, std::unique_ptr<Connection>*);
  TcpConnection(int fd, std::string uri, const ConnectOptions& opts);

  // Makes the eventfds and the epoll set of wait_fd(). IoError if the
  // kernel refuses.
  Status SetUpWakeFds();
  Status Handshake();
  // Sends iov[0..cnt) completely (tx_mu_ held), reading replies while the
  // socket is full unless another thread is reading them.
  Status SendAll(struct iovec* iov, int cnt);
  // Who is reading replies (rx_mu_ held): the waiter (Poll, WaitAcked), or
  // a thread on the send side, which must wake the waiter for the acks it
  // consumed.
  enum class Reader { kWaiter, kSender };
  // rx_mu_ held. Receives what is available; if `wait`, first waits (poll or
  // spin) up to the deadline. Then parses every complete reply.
  Status Pump(bool wait, int64_t deadline_ns, Reader who);
  Status ProcessInput(Reader who);
  // Signals ack_wake_fd_ unless it is signalled already (takes state_mu_).
  void WakeWaiter();
  // state_mu_ held. Consumes a signal of ack_wake_fd_ (the waiter, about to
  // look at the acked end).
  void TakeWaiterWakeLocked();
  // Unlocks rx_mu_ (the waiter's) and wakes a sender that waits to read.
  void ReleaseRx();
  // The waiter's hold of rx_mu_ (Poll, WaitAcked): locks it, and releases it
  // through ReleaseRx.
  class WaiterRx {
   public:
    explicit WaiterRx(TcpConnection* c) : c_(c) { c_->rx_mu_.lock(); }
    ~WaiterRx() { c_->ReleaseRx(); }
    WaiterRx(const WaiterRx&) = delete;
    WaiterRx& operator=(const WaiterRx&) = delete;

   private:
    TcpConnection* c_;
  };
  // tx_mu_ held. Pumps (taking rx_mu_) until no append is in flight.
  Status DrainAppends();
  // tx_mu_ held. Sends a request and waits for its reply; the reply payload
  // is left in reply_, its status in *status.
  Status Call(wire::Type type, const std::vector<uint8_t>& payload, int32_t* status);
  // Marks the connection unusable (first reason wins); returns that status.
  Status Break(Status s);
  // The sticky error an append or wait reports (broken, then refused), OK if none.
  Status Error() const;
  size_t InFlight() const;
  int64_t Deadline() const;

  int fd_;
  std::string uri_;
  ConnectOptions opts_;
  // Made by SetUpWakeFds before the connection is handed out; closed by the
  // destructor. ack_wake_fd_: signalled by a sender that consumed acks;
  // wait_fd_: epoll set of fd_ and ack_wake_fd_; rx_free_fd_: signalled by
  // the waiter when it releases rx_mu_ while a sender waits to read.
  int ack_wake_fd_ = -1;
  int wait_fd_ = -1;
  int rx_free_fd_ = -1;

  std::mutex tx_mu_;  // the send side: appends and calls
  std::mutex rx_mu_;  // the receive side: in_, replies
  mutable std::mutex state_mu_;

  Status broken_;        // state_mu_: set once the connection is unusable
  Status append_error_;  // state_mu_: first refused append (sticky)
  struct Pending {
    uint64_t id;
    uint64_t end;
  };
  std::array<Pending, kMaxInFlight> ring_{};  // state_mu_
  size_t ring_head_ = 0, ring_count_ = 0;     // state_mu_
  uint64_t sent_end_ = 0;                     // state_mu_ (written with tx_mu_ held)
  uint64_t acked_end_ = 0;                    // state_mu_
  uint64_t call_id_ = 0;                      // state_mu_: the outstanding call
  bool call_done_ = false;                    // state_mu_
  bool ack_wake_set_ = false;  // state_mu_: ack_wake_fd_ holds an unconsumed signal
  bool sender_wants_rx_ = false;  // state_mu_: a full-socket sender waits for rx_mu_
  bool rx_free_set_ = false;      // state_mu_: rx_free_fd_ holds an unconsumed signal

  // Set by Handshake, then read-only: the server's HELLO nonce (owner
  // proofs are bound to it) and, after AUTH, the session key that every
  // request but APPEND carries a control MAC under.
  uint8_t server_nonce_[wire::kNonceSize] = {};
  bool mac_ = false;
  uint8_t session_key_[wire::kMacSize] = {};
  std::unique_ptr<auth::OwnerKey> owner_;  // from opts_.owner_seed; null: none
  uint64_t next_id_ = 1;                                         // tx_mu_
  bool log_open_ = false;                                        // tx_mu_
  uint8_t hdr_[wire::kHeaderSize + wire::kAppendFixedSize] = {};  // tx_mu_
  struct iovec iov_[kMaxIov + 1] = {};                           // tx_mu_
  std::vector<uint8_t> scratch_;                                 // tx_mu_

  int32_t call_status_ = 0;     // rx_mu_ (read by the caller after call_done_)
  std::vector<uint8_t> reply_;  // rx_mu_ (likewise)
  std::vector<uint8_t> in_;     // rx_mu_
  size_t rpos_ = 0, wpos_ = 0;  // rx_mu_
};

}  // namespace rvmr::remote_log
