// RemoteSink: the LogSink of the remote-memory design. Each Append goes to
// the mirrors synchronously (returns once the write quorum holds the bytes in
// memory) and to the io_uring DiskWriter asynchronously; as the disk copy
// becomes durable the mirrors are told (trim) so they can drop it.
//
// Never weaker than promised: if the mirrors cannot acknowledge an append,
// it waits for the local disk instead (FailurePolicy::kFallback; said once on
// stderr and counted) or fails (kStrict). If the disk writer fails, every
// later Append fails. Opening the sink first recovers: it fences older
// writers with a new epoch and copies onto the disk whatever the freshest
// consistent mirror holds beyond the disk copy (see TailRecovery).
//
// Record protection (protect_records, the default): the mirrors get every
// record sealed under the log key (record_sealer.h); the disk copy stays
// plain. The key file is created at the first remote-mode open of a log
// (said once on stderr: back it up), and an open whose key file is missing
// while the mirrors may hold commits only it can verify is refused.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "disk_writer/disk_writer.h"
#include "remote_log/mirror_set.h"
#include "shim/log_sink.h"
#include "shim/record_sealer.h"
#include "shim/remote_marker.h"
#include "shim/shim_config.h"
#include "shim/shim_stats.h"
#include "shim/tail_recovery.h"

namespace rvmr {

class RemoteSink : public LogSink {
 public:
  // Recovers the log's tail from the mirrors (TailRecovery; the log's
  // ".remote" marker says whether mirrors without the log lost it, and
  // whether a start without mirrors abandoned their copy, which is then
  // dropped), marks the log open in remote mode (the marker), then starts
  // the disk writer at the recovered tail and opens the log on the mirrors.
  // `cfg.tail` is ignored: the sink finds the tail itself, and the core's
  // recovery scan that follows sees the same one. Fails if the strict policy
  // or require_mirror_at_recovery cannot be honoured, or on disk errors.
  static Status Open(const LogSinkConfig& cfg, const ShimConfig& sc,
                     std::unique_ptr<RemoteSink>* out);

  // Drains the disk writer (everything appended becomes durable on disk) and
  // trims the mirrors to it; then, unless a newer writer fenced this one, the
  // log's marker says that nothing is held only by the mirrors (closed).
  ~RemoteSink() override;

  // See LogSink. Send: sends to the mirrors without waiting for their acks
  // and stages the bytes for the disk writer (the caller serialises Sends,
  // and keeps them apart from Waits where traits().send_while_waiting is
  // false). Wait: returns once the mirror quorum acknowledged everything
  // before `end` or, where the mirrors could not (fallback), the disk holds
  // it; any thread, several at once (one reads the acks, the others wait for
  // it and return if it read theirs).
  Status Send(uint64_t offset, const struct iovec* iov, int iovcnt) override;
  Status Wait(uint64_t end) override;
  uint64_t durable_end() const override { return done_end_.load(std::memory_order_acquire); }
  // pipeline_depth batches in flight; sends while waiting over TCP only.
  Traits traits() const override;
  // Waits for the disk writer's durable offset.
  Status SyncToDisk(uint64_t offset) override;
  std::string Describe() const override;

  // Counters (any thread).
  ShimStats stats() const;
  // What recovery found at Open.
  const TailRecoveryReport& recovery() const { return recovery_; }

 private:
  using SetPtr = std::shared_ptr<remote_log::MirrorSet>;
  // One Send not yet known durable.
  struct Batch {
    uint64_t end;
    SetPtr set;   // the mirrors it went to (null: none)
    bool remote;  // went to the full quorum set: its ack makes it durable
  };

  RemoteSink(const LogSinkConfig& cfg, const ShimConfig& sc);
  // Connects to the mirrors, opens (or recreates) the log at `tail` and
  // catches laggards up from the disk; OK only if `quorum` of them hold it.
  Status OpenMirrorSet(uint64_t tail, size_t quorum, SetPtr* out);
  Status CatchUpMirror(remote_log::MirrorSet* set, size_t i, uint64_t tail);
  // Catch-up with sealing: whole records from a record boundary at or
  // before `from`, sealed, sent from `from` on.
  Status CatchUpSealed(remote_log::MirrorSet* set, size_t i, uint64_t from, uint64_t tail);
  // Remembers that a record starts at `offset` (at most one per
  // kBoundaryStride bytes; the catch-up's starting points).
  void NoteBoundary(uint64_t offset);
  // Makes batch b durable as promised (the waiter's work, mu_ not held):
  // the quorum's ack, else (fallback) the disk. *remote: by the ack.
  Status Complete(const Batch& b, bool* remote);
  // The mirrors of `set` stopped acknowledging (mu_ held).
  void SetFailedLocked(const SetPtr& set, const Status& why);
  void StartProber();
  void StopProber();
  void ProbeLoop();
  void EnterDegradedLocked(const Status& why);
  void MaybeRestoreMirrors();
  void MaybeTrim();
  void NoteWindow();
  Status FenceLocked(const Status& why);  // mu_ held

  int fd_;
  std::string path_;
  log::LogStatus status_;
  ShimConfig sc_;
  std::string name_;
  uint64_t epoch_ = 0;
  uint64_t end_ = 0;  // end of the last Send (the sending thread's)
  std::unique_ptr<DiskWriter> disk_;
  uint64_t last_trim_ = 0;  // the sending thread's
  TailRecoveryReport recovery_;
  // Seals what goes to the mirrors (null: protect_records = no). The
  // sending thread's, like sealed_ and bounds_.
  std::unique_ptr<log::RecordSealer> sealer_;
  std::vector<struct iovec> sealed_;
  // Offsets where records start, ascending, reaching back at least the log
  // area's size from the last Send.
  std::deque<uint64_t> bounds_;
  // What the log's ".remote" marker says (remote_marker.h): written as open
  // by Open, as closed by the destructor after a clean drain; only those two
  // touch it.
  RemoteMarker marker_;

  // The waiter that reads acks (Wait). Lock order: read_mu_ -> mu_ ->
  // probe_mu_, stats_mu_.
  std::mutex read_mu_;
  // Mode and batches in flight. Held briefly, never across a network or
  // disk wait.
  std::mutex mu_;
  SetPtr mirrors_;  // the full set (write quorum)
  SetPtr partial_;  // degraded: the mirrors that answer
  bool degraded_ = false;
  bool fenced_ = false;  // a newer writer opened the log: every Send fails
  bool said_degraded_ = false;
  std::deque<Batch> batches_;  // sent, not yet known durable, in log order
  // Everything before is durable as promised (written under mu_).
  std::atomic<uint64_t> done_end_{0};

  // Degraded mode: a background thread counts the mirrors that answer.
  std::mutex probe_mu_;
  std::condition_variable probe_cv_;
  bool probe_want_ = false;     // probe_mu_
  bool probe_running_ = false;  // probe_mu_: prober_ is inside ProbeLoop
  std::thread prober_;          // probe_mu_
  std::atomic<size_t> reachable_{0};

  mutable std::mutex stats_mu_;
  ShimStats stats_;
};

}  // namespace rvmr
