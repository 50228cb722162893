// LogStore: the server's named in-memory logs. Each log holds the bytes
// [start, tail) of a writer's log stream, the newest writer epoch and the
// offset up to which the writer's disk copy is durable. The bytes held by all
// logs together are bounded by the store's capacity. Thread-safe; every
// method returns 0 or a negative wire error code (remote_log/wire.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "remote_log/transport.h"

namespace rvmr::remote_log {

class LogStore {
 public:
  // Bytes are kept in chunks of this size; memory use rounds up to it per log.
  static constexpr uint64_t kChunkSize = 256 * 1024;
  // Chunks dropped by Trim are kept for reuse up to this many bytes (or the
  // capacity, if smaller) instead of being returned to the system: touching
  // fresh memory costs a page fault per page (about 2.5 ms per MiB in some
  // VMs), which a steady writer must not pay on its append path. New chunks
  // are mapped pre-faulted (MAP_POPULATE).
  static constexpr uint64_t kMaxPoolBytes = uint64_t(256) << 20;

  struct Log;  // opaque

  // `capacity`: the most bytes all logs together may hold.
  explicit LogStore(uint64_t capacity);
  ~LogStore();
  LogStore(const LogStore&) = delete;
  LogStore& operator=(const LogStore&) = delete;

  // Opens `name` for writer `epoch` (see Connection::Open). On success *log
  // is the handle for the other calls and *info the log's state.
  // `owner` (wire::kOwnerKeySize bytes, or null) is the caller's proven
  // owner key: a log created with one records it, and a log that has one can
  // be opened only with the same (kErrNotOwner). A log without an owner is
  // open to every client. kErrNotFound, kErrFenced (log epoch > epoch),
  // kErrInvalid (bad name).
  int32_t Open(const std::string& name, uint64_t epoch, bool create, uint64_t create_offset,
               std::shared_ptr<Log>* log, LogInfo* info, const uint8_t* owner = nullptr);

  // Appends n bytes at `offset` as writer `epoch`. *tail: the log tail after
  // the call (also on refusal). kErrFenced, kErrDuplicate (offset < tail),
  // kErrGap (offset > tail), kErrNoSpace (capacity reached).
  int32_t Append(Log* log, uint64_t epoch, uint64_t offset, const uint8_t* data, size_t n,
                 uint64_t* tail);

  // As Append, and verifies the bytes while copying them in: the CRC32C
  // extended from `crc_seed` over data[0..n) must equal `expected_crc`, or the
  // append is undone and kErrChecksum returned.
  int32_t AppendChecked(Log* log, uint64_t epoch, uint64_t offset, const uint8_t* data, size_t n,
                        uint32_t crc_seed, uint32_t expected_crc, uint64_t* tail);

  // Copies up to `len` bytes at `offset` to out; *got = bytes copied (fewer at
  // the tail). kErrTrimmed (offset < start), kErrInvalid (offset > tail).
  int32_t Read(Log* log, uint64_t offset, size_t len, uint8_t* out, size_t* got, LogInfo* info);

  // Records that the writer's disk copy is durable up to `durable` and drops
  // the bytes before it. kErrFenced, kErrInvalid (durable > tail). A durable
  // offset below the current one is accepted and changes nothing.
  int32_t Trim(Log* log, uint64_t epoch, uint64_t durable, LogInfo* info);

  // The log's state.
  void Stat(Log* log, LogInfo* info);
  // All logs, sorted by name (the server's own view: status, tests).
  std::vector<LogEntry> List();
  // What a client may see (LIST): the logs without an owner and, if
  // `owner` is given, those it owns, sorted by name.
  std::vector<LogEntry> ListVisibleTo(const uint8_t* owner);

  // A log's state for the server's own reports (metrics, shutdown):
  // `sessions` is how many connections hold it open now (Attach/Detach).
  struct Held {
    std::string name;
    LogInfo info;
    uint32_t sessions = 0;
  };
  // Every log, sorted by name.
  std::vector<Held> Snapshot();

  // A connection opened `log` (Attach) or let go of it (Detach, which also
  // signals the change descriptor).
  void Attach(Log* log);
  void Detach(Log* log);

  // An eventfd to which 1 is added after every successful Trim and every
  // Detach, so that a waiter (shutdown) sees writers make progress; -1 (the
  // default): none. The caller keeps it open while set.
  void set_change_fd(int fd) { change_fd_.store(fd, std::memory_order_release); }

  uint64_t capacity() const { return capacity_; }
  // Bytes held by all logs (sum of tail - start).
  uint64_t used() const { return used_.load(std::memory_order_relaxed); }
  size_t log_count();

 private:
  const uint64_t capacity_;
  std::atomic<uint64_t> used_{0};
  struct ChunkUnmap {
    void operator()(uint8_t* p) const;
  };
  using Chunk = std::unique_ptr<uint8_t, ChunkUnmap>;
  Chunk TakeChunk();
  int32_t AppendImpl(Log* log, uint64_t epoch, uint64_t offset, const uint8_t* data, size_t n,
                     bool check, uint32_t crc, uint32_t expected_crc, uint64_t* tail);
  void GiveChunk(Chunk c);
  // The entries of the logs `keep` accepts (owner fields are set at
  // creation and never change: read without the log's lock).
  std::vector<LogEntry> Collect(const std::function<bool(const Log&)>& keep);

  // Signals the change descriptor, if one is set.
  void NotifyChange();
  int32_t TrimLocked(Log* log, uint64_t epoch, uint64_t durable, LogInfo* info);

  std::atomic<int> change_fd_{-1};
  std::mutex mu_;  // guards logs_
  std::map<std::string, std::shared_ptr<Log>> logs_;
  std::mutex free_mu_;
  const size_t max_free_chunks_;
  std::vector<Chunk> free_chunks_;
};

}  // namespace rvmr::remote_log
