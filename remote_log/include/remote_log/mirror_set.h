// MirrorSet: one writer's log on N mirrors. Appends go to every healthy
// mirror in parallel (one Connection each, any transport); an append is
// acknowledged once W mirrors acknowledged it. A mirror that fails (transport
// error, refusal, timeout) is marked failed and skipped until Reconnect; the
// set fails only when fewer than W mirrors remain.
//
// Threads: one writer thread drives it, except that when concurrent_waits()
// one thread may be inside WaitAcked/AckedEnd (the waiter) while another
// calls AppendAsync/Trim/Stat (the sender): appends are then pipelined, the
// next one sent while an earlier one's ack is awaited. QuorumAcked and
// Health may be called from any thread.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "remote_log/transport.h"

namespace rvmr::remote_log {

struct MirrorSetOptions {
  std::vector<std::string> uris;  // "tcp://host:port", "rdma://host:port"
  ConnectOptions connect;
  // Acks needed per append; 0 means all mirrors.
  size_t write_quorum = 0;
};

// What the writer can see about one mirror.
struct MirrorHealth {
  std::string uri;
  bool connected = false;  // has a live connection with the log open
  Status error;            // why it failed (OK while healthy)
  uint64_t sent_end = 0;   // end of the appends sent to it
  uint64_t acked_end = 0;  // end of the appends it acknowledged
  LogInfo info;            // state at the last Open/Trim/Stat
};

class MirrorSet {
 public:
  static constexpr size_t kMaxMirrors = 16;

  // Connects to every URI. A mirror that cannot be reached is recorded as
  // failed; Unavailable if fewer than the quorum could be reached.
  static Status Connect(const MirrorSetOptions& options, std::unique_ptr<MirrorSet>* out);

  ~MirrorSet();

  // Opens (create: creates at create_offset) log `name` as writer `epoch` on
  // every connected mirror; see Connection::Open. infos->at(i) is mirror i's
  // state (zero if it failed). OK if at least the quorum opened; otherwise
  // the first mirror's error (Fenced, NotFound, ...).
  Status Open(const std::string& name, uint64_t epoch, bool create, uint64_t create_offset,
              std::vector<LogInfo>* infos);

  // Appends and waits until the quorum acknowledged [offset, offset+len).
  Status Append(uint64_t offset, const struct iovec* iov, int iovcnt);
  Status Append(uint64_t offset, const void* data, size_t len);

  // Sends [offset, offset+len) to every healthy mirror whose appends end at
  // `offset`, without waiting. The buffers may be reused on return. No heap
  // allocation. Fails if fewer than the quorum remain healthy.
  Status AppendAsync(uint64_t offset, const struct iovec* iov, int iovcnt);

  // Waits until the quorum acknowledged everything up to `end`. On failure
  // the status names the first failed mirror (NoSpace, Fenced, Unavailable,
  // TimedOut, ...); Health() tells which mirrors failed.
  Status WaitAcked(uint64_t end);

  // End of the prefix the quorum acknowledged so far (non-blocking).
  uint64_t AckedEnd();

  // As AckedEnd, from what the last waits saw (no system call); 0 if fewer
  // than the quorum are healthy. Monotonic while no mirror fails (with W < N
  // the loss of the mirror that was ahead lowers it to the others').
  uint64_t QuorumAcked() const;

  // True if every connection lets a waiter and a sender run concurrently
  // (Connection::SupportsConcurrentWait).
  bool concurrent_waits() const { return concurrent_waits_; }

  // Reads [offset, offset+len) from the first healthy mirror that holds it
  // (mirror >= 0: from that one). *got may be < len at the tail.
  Status Read(uint64_t offset, size_t len, void* buf, size_t* got, int mirror = -1);

  // Tells every healthy mirror the disk copy is durable up to `durable`. OK
  // if the quorum accepted.
  Status Trim(uint64_t durable);

  // Refreshes each healthy mirror's LogInfo (see Health()).
  Status Stat();

  // Reconnects mirror i and reopens the log (without creating it) with the
  // epoch of the last Open. NotFound if the server lost the log (restart):
  // the writer then decides whether to recreate it. On success the mirror's
  // appends end at its log tail; if that is behind, the writer re-sends the
  // missing bytes with AppendTo. With `create`, a log the server lacks is
  // created at `create_offset` (e.g. the writer's durable offset).
  Status Reconnect(size_t i, bool create = false, uint64_t create_offset = 0);

  // Appends to mirror i only and waits for its ack (catching a mirror up).
  Status AppendTo(size_t i, uint64_t offset, const struct iovec* iov, int iovcnt);

  size_t size() const { return mirrors_.size(); }
  size_t quorum() const { return quorum_; }
  std::vector<MirrorHealth> Health() const;

 private:
  struct Mirror {
    std::unique_ptr<Connection> conn;
    MirrorHealth health;
  };
  MirrorSet() = default;
  bool Healthy(const Mirror& m) const;  // takes mu_
  // Records what a transport call said of m's acks (takes mu_); on an error
  // m is failed. Returns s.ok().
  bool NoteAcked(Mirror& m, uint64_t acked, const Status& s);
  // Marks m failed (mu_ not held / held).
  void Fail(Mirror& m, const Status& s);
  void FailLocked(Mirror& m, const Status& s);
  // The outcome `s` of a request to `m` that answered `info`: fails the
  // mirror, or keeps info as its last state. 1 if it succeeded. Takes mu_.
  size_t NoteInfo(Mirror& m, const Status& s, const LogInfo& info);
  // mu_ held.
  size_t HealthyCount() const;
  Status QuorumError(const char* what) const;
  uint64_t QuorumAckedLocked() const;

  MirrorSetOptions options_;
  size_t quorum_ = 0;
  bool concurrent_waits_ = false;
  // Guards every Mirror's health (not its connection); held only briefly,
  // never across a transport call.
  mutable std::mutex mu_;
  std::vector<Mirror> mirrors_;
  std::string name_;
  uint64_t epoch_ = 0;
  bool open_ = false;
};

}  // namespace rvmr::remote_log
