// Transport: one client connection to one remote log server (a "mirror"),
// independent of how the bytes travel. MirrorSet drives N of these; the TCP
// transport lives in remote_log/src/tcp_connection.cpp, the RDMA one in
// remote_log/rdma/. A transport is chosen by the scheme of the mirror's URI
// ("tcp://host:port", "rdma://host:port") through TransportRegistry.
//
// Threading: a Connection is used by one thread at a time (MirrorSet
// serialises calls), except that a transport whose SupportsConcurrentWait()
// is true also lets one thread wait (Poll, WaitAcked) while another sends
// (StartAppend*, Trim, Stat). The registry is thread-safe.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace rvmr::remote_log {

// The state of one named log on one server.
struct LogInfo {
  uint64_t epoch = 0;    // the newest writer epoch the server has seen
  uint64_t start = 0;    // first byte still held (everything before was trimmed)
  uint64_t tail = 0;     // one past the last byte appended
  uint64_t durable = 0;  // the writer's disk copy is durable up to here

  // Bytes held that the writer's disk does not have yet: above both the
  // durable mark and the start.
  uint64_t not_durable() const {
    const uint64_t from = durable > start ? durable : start;
    return tail > from ? tail - from : 0;
  }
};

// One entry of Connection::List.
struct LogEntry {
  std::string name;
  LogInfo info;
};

// A parsed mirror address: "<scheme>://<host>:<port>". host may be a name,
// an IPv4 address or a bracketed IPv6 address ("[::1]").
struct Endpoint {
  std::string scheme;
  std::string host;
  uint16_t port = 0;
  std::string uri;  // as given
};

// The CRC32C an APPEND carries: over the 8-byte little-endian offset, then
// the bytes of iov[0..iovcnt).
uint32_t AppendCrc(uint64_t offset, const struct iovec* iov, int iovcnt);

// Parses `uri` into *out. InvalidArgument if it is not scheme://host:port.
Status ParseUri(std::string_view uri, Endpoint* out);

struct ConnectOptions {
  // Shared secret for HMAC-SHA256 challenge-response authentication. Empty:
  // connect without authenticating (a server that requires it refuses).
  std::string secret;
  int connect_timeout_ms = 5000;
  // Bound on every wait for the server (acks, replies); a silent server
  // yields TimedOut and the connection is then unusable.
  int io_timeout_ms = 10000;
  // Spin on the socket / completion queue instead of sleeping in poll(2)
  // while waiting for acks. Lower latency, burns a core.
  bool busy_poll = false;
  // 32-byte seed of the log owner's key (auth::OwnerKey; the shim derives
  // it from the log key). With it, OPEN and LIST prove ownership: a log
  // created so can be opened only with the same seed, and LIST shows its
  // logs. Empty: the connection creates and opens only logs without an
  // owner.
  std::string owner_seed;
};

// One connection to one server. After any error other than a refusal of a
// single request (see each method), the connection is broken: every later
// call fails with Unavailable and the caller makes a new one.
class Connection {
 public:
  virtual ~Connection() = default;

  // The URI this connection was made to.
  virtual const std::string& uri() const = 0;

  // Opens log `name` as writer `epoch`. If the log does not exist and
  // `create`, creates it empty with start = tail = durable = `create_offset`
  // (the writer's current log offset). A higher epoch than the log's fences
  // every older writer. Returns the log's state in *info. NotFound if the log
  // does not exist and !create; Fenced if the log's epoch is newer than
  // `epoch`. One log per connection; opening another closes the first.
  virtual Status Open(std::string_view name, uint64_t epoch, bool create, uint64_t create_offset,
                      LogInfo* info) = 0;

  // Starts appending the bytes in iov[0..iovcnt) at log offset `offset`
  // (which must be the end of the previous append on this connection, or the
  // log tail after Open). Does not wait for the ack; returns once the bytes
  // have been handed to the transport, so the caller may reuse the buffers.
  // Allocates nothing. A refusal by the server (duplicate, gap, fenced, no
  // space) is reported later by Poll/WaitAcked, not here.
  virtual Status StartAppend(uint64_t offset, const struct iovec* iov, int iovcnt) = 0;

  // As StartAppend, with `crc` = AppendCrc(offset, iov, iovcnt) already
  // computed by the caller (MirrorSet computes it once for all mirrors).
  // Transports that do not checksum appends ignore it.
  virtual Status StartAppendWithCrc(uint64_t offset, const struct iovec* iov, int iovcnt,
                                    uint32_t crc) {
    (void)crc;
    return StartAppend(offset, iov, iovcnt);
  }

  // Processes whatever acknowledgements have arrived, without blocking.
  // *acked_end: end offset of the acknowledged prefix of appends. Returns the
  // first refusal or transport error, if any (sticky: it is returned again
  // until the connection is replaced).
  virtual Status Poll(uint64_t* acked_end) = 0;

  // Blocks until the appends up to `end` are acknowledged (or the first
  // error, or io_timeout_ms). *acked_end as for Poll.
  virtual Status WaitAcked(uint64_t end, uint64_t* acked_end) = 0;

  // A file descriptor that becomes readable when Poll may make progress
  // (socket, completion channel), for poll(2) across several connections.
  // -1 if the transport has none (callers then spin on Poll). Where
  // SupportsConcurrentWait(), progress includes acks that the sending thread
  // consumed since the last Poll/WaitAcked (the replies to its calls come
  // behind acks): the fd is readable for those too, so that a waiter asleep
  // in poll(2) on it is woken, not left until its timeout; Poll and
  // WaitAcked consume that signal.
  virtual int wait_fd() const = 0;

  // True if Poll/WaitAcked may run in one thread while StartAppend*, Trim
  // and Stat run in another (pipelined commits); the TCP transport does.
  // Such a transport's wait_fd() must wake a waiter for acks the sender
  // consumed (see wait_fd).
  virtual bool SupportsConcurrentWait() const { return false; }

  // Reads up to `len` bytes at `offset` into buf; *got = bytes read (fewer
  // than len at the tail). Waits for outstanding appends first. NotFound-like
  // InvalidArgument if offset < start (trimmed) or > tail.
  virtual Status Read(uint64_t offset, size_t len, void* buf, size_t* got) = 0;

  // Tells the server the writer's disk copy is durable up to `durable`; the
  // server may drop bytes before it. Returns the new state in *info.
  virtual Status Trim(uint64_t durable, LogInfo* info) = 0;

  // The open log's state.
  virtual Status Stat(LogInfo* info) = 0;

  // All logs on the server (needs no open log).
  virtual Status List(std::vector<LogEntry>* logs) = 0;

  // Closes the open log (the log stays on the server). The connection stays
  // usable for another Open.
  virtual Status CloseLog() = 0;
};

// Makes a connected, authenticated Connection to `ep`.
using TransportFactory = std::function<Status(const Endpoint& ep, const ConnectOptions& opts,
                                              std::unique_ptr<Connection>* out)>;

// The RDMA transport's factory. Defined by remote_log/rdma/ (CMake target
// rvm_remote_log_rdma, which must link only rvm_remote_log_wire, not
// rvm_remote_log); when that target exists, remote_log/CMakeLists.txt links it
// into rvm_remote_log and the registry registers this factory as "rdma".
TransportFactory MakeRdmaTransportFactory();

// Maps URI schemes to transports. "tcp" is always registered; "rdma" is
// registered when the RDMA transport is built (see above). Other schemes can
// be added at run time with Register.
class TransportRegistry {
 public:
  // The process-wide registry.
  static TransportRegistry& Global();

  // Adds or replaces the factory for `scheme`.
  void Register(std::string scheme, TransportFactory factory);

  // Whether `scheme` has a factory.
  bool Has(std::string_view scheme) const;

  // Parses `uri` and connects with the factory of its scheme. NotSupported
  // for an unknown scheme.
  Status Connect(std::string_view uri, const ConnectOptions& opts,
                 std::unique_ptr<Connection>* out) const;

 private:
  TransportRegistry();
  struct Rep;
  std::shared_ptr<Rep> rep_;
};

}  // namespace rvmr::remote_log
