// LogSink: where the RVM core's framed log records go. The seam between the
// RVM core (rvm_compat) and the durability path: LocalSink writes the log
// file; a remote sink (mirrors + background disk writer) plugs in behind the
// same interface through OpenLogSink.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "shim/log_status.h"

namespace rvmr {

// Threads: Send calls are serialized by the caller; Wait may be called by
// several threads at once, concurrently with Send unless traits() says the
// transport cannot (the CommitPipeline keeps them apart then); SyncToDisk
// may be called from another thread (the truncation thread) while a Send runs.
class LogSink {
 public:
  // What the CommitPipeline needs to know to drive this sink.
  struct Traits {
    // Send returns only once the bytes are durable (no Wait needed).
    bool durable_on_send = false;
    // How many Sends may await their Wait at once; the commits made
    // meanwhile queue and go together in the next Send. 0: no limit.
    size_t max_in_flight = 0;
    // A Send may run while another thread is inside Wait (TCP); false where
    // the transport needs one thread for both (RDMA completion queues).
    bool send_while_waiting = true;
  };

  virtual ~LogSink();
  // Hands over complete framed records [offset, offset+len) given as iovecs;
  // `offset` equals the end of the previous Send. The buffers may be reused
  // on return. A sink that can returns before the bytes are durable, so that
  // the next Send may start while they travel (pipelined group commit);
  // Wait tells when they are. The caller guarantees that the bytes fit:
  // offset + len - head <= area size. An error here or from Wait means the
  // log can take no more appends.
  virtual Status Send(uint64_t offset, const struct iovec* iov, int iovcnt) = 0;
  // Returns when every byte before `end` (the end of some Send) is durable
  // as this sink promises (LocalSink: written with pwritev at the wrapped
  // file position(s) and fdatasync'ed, already by Send).
  virtual Status Wait(uint64_t end) = 0;
  // Everything before this offset is durable as promised (non-blocking; it
  // may be ahead of the last Wait's end when acks for later Sends arrived).
  virtual uint64_t durable_end() const = 0;
  virtual Traits traits() const = 0;
  // Send, then Wait for its end.
  Status Append(uint64_t offset, const struct iovec* iov, int iovcnt);
  // Returns when every byte before `offset` is on the local disk (truncation,
  // terminate).
  virtual Status SyncToDisk(uint64_t offset) = 0;
  virtual std::string Describe() const = 0;
};

// What OpenLogSink needs to know about the open log.
struct LogSinkConfig {
  int fd = -1;            // the log file, open read/write (not owned)
  std::string path;       // for messages
  log::LogStatus status;  // geometry, id and epoch of the log
  // The first append will be at this offset; kTailUnknown when the sink is
  // opened before recovery has found the end of the log (the first Append
  // then defines it).
  uint64_t tail = 0;
};

inline constexpr uint64_t kTailUnknown = ~uint64_t{0};

// Opens the sink the RVM core writes through, as the environment configures
// it (shim_config.h): a RemoteSink when mirrors are named, else a LocalSink.
// Without mirrors it first runs CheckLogSinkStart: a refused log is not
// opened (an error naming the marker), and with abandon_mirror_copy the
// log's marker is set to abandoned before the LocalSink opens.
Status OpenLogSink(const LogSinkConfig& cfg, std::unique_ptr<LogSink>* out);

// Decides, before anything is written to the log, whether it may be opened
// with the configuration in the environment. Refused (*refused = true; the
// reason, naming the marker file and the two ways forward, is printed on
// stderr and returned) when no mirrors are configured but the log's marker
// (remote_marker.h) says its mirrors may hold commits the disk copy lacks,
// unless abandon_mirror_copy is set. Any other error (*refused = false): the
// configuration, the marker or the disk copy could not be read. Writes
// nothing.
Status CheckLogSinkStart(const LogSinkConfig& cfg, bool* refused);

}  // namespace rvmr
