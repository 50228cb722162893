// RdmaConnection: the client side of the RDMA transport (rdma://host:port).
//
// Appends are one-sided: the bytes are RDMA-WRITTEN into the log's ring in
// the server's registered memory, then the control word (the log tail) is
// advanced with an 8-byte RDMA compare-and-swap (or, where the devices lack
// atomics or RVM_RDMA_NO_ATOMICS=1 is set, RDMA-WRITTEN and READ back). The
// atomic (or READ) is executed by the server's device after the WRITE on the
// same reliable-connected queue pair, so when its completion arrives the data
// and the new tail have been placed in the server's memory (visible to its
// CPU). The server's CPU does nothing per append. docs/rdma.md states the
// exact guarantee.
//
// Control operations (hello/auth, open, trim, stat, list, close) are wire
// protocol messages (remote_log/wire.h) carried in SEND/RECV on the same
// queue pair; Read uses RDMA READs of the ring.
//
// Not thread-safe: one thread at a time (as every Connection).
#pragma once

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "remote_log/rdma/layout.h"
#include "remote_log/auth.h"
#include "remote_log/transport.h"
#include "remote_log/wire.h"

namespace rvmr::remote_log::rdma {

class RdmaConnection final : public Connection {
 public:
  // Bytes of append data that may be in flight (copied, not yet acknowledged).
  static constexpr size_t kStagingSize = 4u << 20;
  // Largest single RDMA WRITE chunk; bigger appends are split.
  static constexpr size_t kMaxChunk = kStagingSize / 2;
  // Appends (chunks) in flight at most; StartAppend waits beyond that.
  static constexpr size_t kMaxInflight = 64;

  // Connects to the RdmaServer at ep.host:ep.port (an address of an RDMA
  // device), exchanges HELLO (and AUTH when the server asks for it and
  // opts.secret is set). Unavailable/TimedOut if the server cannot be
  // reached, IoError if authentication fails or is required but no secret
  // was given.
  static Status Connect(const Endpoint& ep, const ConnectOptions& opts,
                        std::unique_ptr<Connection>* out);

  ~RdmaConnection() override;
  RdmaConnection(const RdmaConnection&) = delete;
  RdmaConnection& operator=(const RdmaConnection&) = delete;

  const std::string& uri() const override { return uri_; }
  Status Open(std::string_view name, uint64_t epoch, bool create, uint64_t create_offset,
              LogInfo* info) override;
  // Copies the bytes into registered staging memory and posts WRITE, WRITE,
  // READ. Waits (for earlier acks) only when the staging memory or the
  // in-flight window is full. Offsets other than the current end, and
  // appends that would overflow the server's ring (NoSpace), are refused
  // through Poll/WaitAcked like server refusals over TCP.
  Status StartAppend(uint64_t offset, const struct iovec* iov, int iovcnt) override;
  Status Poll(uint64_t* acked_end) override;
  Status WaitAcked(uint64_t end, uint64_t* acked_end) override;
  // The completion channel's fd (readable after Poll found nothing and armed
  // notification).
  int wait_fd() const override;
  Status Read(uint64_t offset, size_t len, void* buf, size_t* got) override;
  Status Trim(uint64_t durable, LogInfo* info) override;
  Status Stat(LogInfo* info) override;
  Status List(std::vector<LogEntry>* logs) override;
  Status CloseLog() override;

  // The open log's region on the server (address, ring size, rkey, flags);
  // zero before Open. For diagnostics and tests.
  const RegionInfo& region() const { return region_; }

 private:
  struct Pending {
    uint64_t end;          // log offset acknowledged by this chunk's atomic/READ
    uint64_t expect;       // value the control word must have returned
    uint64_t staging_end;  // staging bytes released when it completes
    uint8_t* result;       // where the returned control word lands
  };

  RdmaConnection(const Endpoint& ep, const ConnectOptions& opts);
  Status Setup(const Endpoint& ep);
  Status Handshake();
  // One request/reply exchange on the control channel; drains appends first.
  // A non-zero reply status is returned in *reply_status (not as an error).
  Status Call(wire::Type type, const std::vector<uint8_t>& payload, int32_t* reply_status,
              std::vector<uint8_t>* reply);
  Status PostChunk(uint64_t offset, const uint8_t* staged, size_t n, uint64_t staging_end);
  Status Refuse(int32_t code, std::string_view what);
  // Processes available completions; sets broken_ on a transport error.
  void DrainCq();
  template <class Pred>
  Status WaitUntil(Pred done);
  Status Broken(Status s);

  const std::string uri_;
  const ConnectOptions opts_;

  rdma_event_channel* cm_channel_ = nullptr;
  rdma_cm_id* id_ = nullptr;
  ibv_pd* pd_ = nullptr;
  ibv_comp_channel* comp_channel_ = nullptr;
  ibv_cq* cq_ = nullptr;
  bool qp_created_ = false;

  // Registered local memory: staging ring | control slots | send | recv.
  uint8_t* mem_ = nullptr;
  size_t mem_size_ = 0;
  ibv_mr* mr_ = nullptr;
  uint8_t* staging_ = nullptr;
  uint8_t* slots_ = nullptr;  // kMaxInflight x 32 bytes: control word src, result
  uint8_t* send_buf_ = nullptr;
  uint8_t* recv_buf_ = nullptr;

  // The open log.
  bool open_ = false;
  RegionInfo region_;
  uint64_t start_ = 0;           // first byte the server still holds (from OPEN/TRIM)
  uint64_t next_offset_ = 0;     // end of the last append started
  uint64_t acked_end_ = 0;       // end of the acknowledged prefix
  bool device_atomics_ = false;  // the local device can issue RDMA atomics
  bool use_atomics_ = false;     // ... and the open log's region accepts them

  // In-flight appends, oldest first (a ring of kMaxInflight).
  Pending pending_[kMaxInflight];
  size_t pending_head_ = 0;
  size_t pending_count_ = 0;
  uint64_t slot_seq_ = 0;
  uint64_t staging_head_ = 0;  // next free staging byte (monotonic)
  uint64_t staging_tail_ = 0;  // oldest staging byte in use (monotonic)

  bool send_busy_ = false;
  bool reply_ready_ = false;
  size_t reply_len_ = 0;
  bool read_done_ = false;
  uint64_t request_id_ = 0;
  // From the handshake: the server's HELLO nonce (owner proofs are bound to
  // it) and, after AUTH, the session key of the control MACs.
  uint8_t server_nonce_[wire::kNonceSize] = {};
  bool mac_ = false;
  uint8_t session_key_[wire::kMacSize] = {};
  std::unique_ptr<auth::OwnerKey> owner_;  // from opts_.owner_seed; null: none

  Status broken_;   // transport error: the connection is unusable
  Status refused_;  // first refused append (sticky)
};

}  // namespace rvmr::remote_log::rdma
