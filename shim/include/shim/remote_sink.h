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
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "disk_writer/disk_writer.h"
#include "remote_log/mirror_set.h"
#include "shim/log_sink.h"
#include "shim/shim_config.h"
#include "shim/shim_stats.h"
#include "shim/tail_recovery.h"

namespace rvmr {

class RemoteSink : public LogSink {
 public:
  // Recovers the log's tail from the mirrors (TailRecovery), then starts the
  // disk writer at the recovered tail and opens the log on the mirrors.
  // `cfg.tail` is ignored: the sink finds the tail itself, and the core's
  // recovery scan that follows sees the same one. Fails if the strict policy
  // or require_mirror_at_recovery cannot be honoured, or on disk errors.
  static Status Open(const LogSinkConfig& cfg, const ShimConfig& sc,
                     std::unique_ptr<RemoteSink>* out);

  // Drains the disk writer (everything appended becomes durable on disk) and
  // trims the mirrors to it.
  ~RemoteSink() override;

  // See LogSink. Thread-compatible: the core serialises calls.
  Status Append(uint64_t offset, const struct iovec* iov, int iovcnt) override;
  // Waits for the disk writer's durable offset.
  Status SyncToDisk(uint64_t offset) override;
  std::string Describe() const override;

  // Counters (any thread).
  ShimStats stats() const;
  // What recovery found at Open.
  const TailRecoveryReport& recovery() const { return recovery_; }

 private:
  RemoteSink(const LogSinkConfig& cfg, const ShimConfig& sc);
  // Connects to the mirrors, opens (or recreates) the log at `tail` and
  // catches laggards up from the disk; OK only if `quorum` of them hold it.
  Status OpenMirrorSet(uint64_t tail, size_t quorum, std::unique_ptr<remote_log::MirrorSet>* out);
  Status CatchUpMirror(remote_log::MirrorSet* set, size_t i, uint64_t tail);
  void StartProber();
  void StopProber();
  void ProbeLoop();
  void EnterDegraded(const Status& why);
  void MaybeRestoreMirrors();
  void MaybeTrim();
  void NoteWindow();
  Status Fence(const Status& why);

  int fd_;
  std::string path_;
  log::LogStatus status_;
  ShimConfig sc_;
  std::string name_;
  uint64_t epoch_ = 0;
  uint64_t end_ = 0;  // end of the last append
  std::unique_ptr<DiskWriter> disk_;
  std::unique_ptr<remote_log::MirrorSet> mirrors_;  // the full set (write quorum)
  std::unique_ptr<remote_log::MirrorSet> partial_;  // degraded: the mirrors that answer
  bool degraded_ = false;
  bool fenced_ = false;  // a newer writer opened the log: every Append fails
  bool said_degraded_ = false;
  // Degraded mode: a background thread counts the mirrors that answer.
  std::mutex probe_mu_;
  std::condition_variable probe_cv_;
  bool probe_stop_ = false;
  std::thread prober_;
  std::atomic<size_t> reachable_{0};
  uint64_t last_trim_ = 0;
  TailRecoveryReport recovery_;

  mutable std::mutex stats_mu_;
  ShimStats stats_;
};

}  // namespace rvmr
