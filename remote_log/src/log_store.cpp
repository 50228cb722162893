#include "remote_log/log_store.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <functional>

#include "common/crc32c.h"
#include "common/fault_point.h"
#include "remote_log/wire.h"

namespace rvmr::remote_log {

namespace {

// Mutation (mutant test build only): requests of an older writer's epoch are
// served as if it were the newest (no fencing).
bool Stale(uint64_t epoch, uint64_t log_epoch) {
  return epoch < log_epoch && RVMR_MUTATION("accept_lower_epoch");
}

}  // namespace

struct LogStore::Log {
  // Connections holding the log open (no lock).
  std::atomic<uint32_t> sessions{0};
  std::mutex mu;
  std::string name;
  // The owner's public key (set at creation, never changed; read without mu).
  bool owned = false;
  uint8_t owner[wire::kOwnerKeySize] = {};
  LogInfo info;
  // chunks[i] holds offsets [base + i*kChunkSize, base + (i+1)*kChunkSize).
  uint64_t base = 0;
  std::deque<Chunk> chunks;
};

void LogStore::ChunkUnmap::operator()(uint8_t* p) const {
  munmap(p, kChunkSize);
}

LogStore::LogStore(uint64_t capacity)
    : capacity_(capacity),
      max_free_chunks_(size_t(std::min(capacity, kMaxPoolBytes) / kChunkSize)) {}
LogStore::~LogStore() = default;

LogStore::Chunk LogStore::TakeChunk() {
  {
    std::lock_guard<std::mutex> g(free_mu_);
    if (!free_chunks_.empty()) {
      Chunk c = std::move(free_chunks_.back());
      free_chunks_.pop_back();
      return c;
    }
  }
  void* p = mmap(nullptr, kChunkSize, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (p == MAP_FAILED) return Chunk();
  return Chunk(static_cast<uint8_t*>(p));
}

void LogStore::GiveChunk(Chunk c) {
  std::lock_guard<std::mutex> g(free_mu_);
  if (free_chunks_.size() < max_free_chunks_) free_chunks_.push_back(std::move(c));
}

namespace {
bool OwnerMatches(bool owned, const uint8_t* log_owner, const uint8_t* owner) {
  return !owned || (owner != nullptr && std::memcmp(log_owner, owner, wire::kOwnerKeySize) == 0);
}
}  // namespace

int32_t LogStore::Open(const std::string& name, uint64_t epoch, bool create, uint64_t create_offset,
                       std::shared_ptr<Log>* log, LogInfo* info, const uint8_t* owner) {
  if (!wire::ValidName(name)) return wire::kErrInvalid;
  std::shared_ptr<Log> l;
  {
    std::lock_guard<std::mutex> g(mu_);
    auto it = logs_.find(name);
    if (it == logs_.end()) {
      if (!create) return wire::kErrNotFound;
      l = std::make_shared<Log>();
      l->name = name;
      l->owned = owner != nullptr;
      if (owner != nullptr) std::memcpy(l->owner, owner, wire::kOwnerKeySize);
      l->info.epoch = epoch;
      l->info.start = l->info.tail = l->info.durable = create_offset;
      l->base = create_offset - create_offset % kChunkSize;
      logs_.emplace(name, l);
    } else {
      l = it->second;
      if (!OwnerMatches(l->owned, l->owner, owner)) return wire::kErrNotOwner;
    }
  }
  std::lock_guard<std::mutex> g(l->mu);
  if (epoch < l->info.epoch && !Stale(epoch, l->info.epoch)) {
    *info = l->info;
    return wire::kErrFenced;
  }
  l->info.epoch = std::max(l->info.epoch, epoch);
  *info = l->info;
  *log = std::move(l);
  return wire::kOk;
}

int32_t LogStore::Append(Log* log, uint64_t epoch, uint64_t offset, const uint8_t* data, size_t n,
                         uint64_t* tail) {
  return AppendImpl(log, epoch, offset, data, n, false, 0, 0, tail);
}

int32_t LogStore::AppendChecked(Log* log, uint64_t epoch, uint64_t offset, const uint8_t* data,
                                size_t n, uint32_t crc_seed, uint32_t expected_crc,
                                uint64_t* tail) {
  return AppendImpl(log, epoch, offset, data, n, true, crc_seed, expected_crc, tail);
}

int32_t LogStore::AppendImpl(Log* log, uint64_t epoch, uint64_t offset, const uint8_t* data,
                             size_t n, bool check, uint32_t crc, uint32_t expected_crc,
                             uint64_t* tail) {
  std::lock_guard<std::mutex> g(log->mu);
  LogInfo& in = log->info;
  *tail = in.tail;
  if (epoch != in.epoch && !Stale(epoch, in.epoch)) return wire::kErrFenced;
  if (offset < in.tail) return wire::kErrDuplicate;
  if (offset > in.tail) return wire::kErrGap;
  if (n == 0) return check && crc != expected_crc ? wire::kErrChecksum : wire::kOk;
  if (offset + n < offset) return wire::kErrInvalid;
  // Reserve capacity.
  uint64_t used = used_.load(std::memory_order_relaxed);
  do {
    if (used + n > capacity_ || used + n < used) return wire::kErrNoSpace;
  } while (!used_.compare_exchange_weak(used, used + n, std::memory_order_relaxed));
  uint64_t pos = offset;
  size_t done = 0;
  while (done < n) {
    uint64_t idx = (pos - log->base) / kChunkSize;
    while (log->chunks.size() <= idx) {
      Chunk c = TakeChunk();
      if (!c) {
        used_.fetch_sub(n, std::memory_order_relaxed);
        return wire::kErrNoSpace;  // the system is out of memory
      }
      log->chunks.push_back(std::move(c));
    }
    uint64_t in_chunk = (pos - log->base) % kChunkSize;
    size_t m = size_t(std::min<uint64_t>(kChunkSize - in_chunk, n - done));
    uint8_t* dst = log->chunks[idx].get() + in_chunk;
    if (check) {
      crc = crc32c::ExtendAndCopy(crc, dst, data + done, m);
    } else {
      std::memcpy(dst, data + done, m);
    }
    done += m;
    pos += m;
  }
  if (check && crc != expected_crc) {
    // The bytes past the tail are invisible; only the reservation is undone.
    used_.fetch_sub(n, std::memory_order_relaxed);
    return wire::kErrChecksum;
  }
  in.tail = offset + n;
  *tail = in.tail;
  return wire::kOk;
}

int32_t LogStore::Read(Log* log, uint64_t offset, size_t len, uint8_t* out, size_t* got,
                       LogInfo* info) {
  std::lock_guard<std::mutex> g(log->mu);
  const LogInfo& in = log->info;
  *info = in;
  *got = 0;
  if (offset < in.start) return wire::kErrTrimmed;
  if (offset > in.tail) return wire::kErrInvalid;
  size_t n = size_t(std::min<uint64_t>(len, in.tail - offset));
  uint64_t pos = offset;
  size_t done = 0;
  while (done < n) {
    uint64_t idx = (pos - log->base) / kChunkSize;
    uint64_t in_chunk = (pos - log->base) % kChunkSize;
    size_t m = size_t(std::min<uint64_t>(kChunkSize - in_chunk, n - done));
    std::memcpy(out + done, log->chunks[idx].get() + in_chunk, m);
    done += m;
    pos += m;
  }
  *got = n;
  return wire::kOk;
}

int32_t LogStore::Trim(Log* log, uint64_t epoch, uint64_t durable, LogInfo* info) {
  int32_t rc = TrimLocked(log, epoch, durable, info);
  if (rc == wire::kOk) NotifyChange();
  return rc;
}

int32_t LogStore::TrimLocked(Log* log, uint64_t epoch, uint64_t durable, LogInfo* info) {
  std::lock_guard<std::mutex> g(log->mu);
  LogInfo& in = log->info;
  if (epoch != in.epoch && !Stale(epoch, in.epoch)) {
    *info = in;
    return wire::kErrFenced;
  }
  if (durable > in.tail) {
    *info = in;
    return wire::kErrInvalid;
  }
  if (durable > in.durable) in.durable = durable;
  if (durable > in.start) {
    used_.fetch_sub(durable - in.start, std::memory_order_relaxed);
    in.start = durable;
    while (!log->chunks.empty() && log->base + kChunkSize <= in.start) {
      GiveChunk(std::move(log->chunks.front()));
      log->chunks.pop_front();
      log->base += kChunkSize;
    }
    if (log->chunks.empty()) log->base = in.start - in.start % kChunkSize;
  }
  *info = in;
  return wire::kOk;
}

void LogStore::Stat(Log* log, LogInfo* info) {
  std::lock_guard<std::mutex> g(log->mu);
  *info = log->info;
}

void LogStore::NotifyChange() {
  int fd = change_fd_.load(std::memory_order_acquire);
  if (fd < 0) return;
  uint64_t one = 1;
  while (write(fd, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

void LogStore::Attach(Log* log) {
  log->sessions.fetch_add(1, std::memory_order_relaxed);
}

void LogStore::Detach(Log* log) {
  log->sessions.fetch_sub(1, std::memory_order_relaxed);
  NotifyChange();
}

std::vector<LogStore::Held> LogStore::Snapshot() {
  std::vector<std::shared_ptr<Log>> logs;
  {
    std::lock_guard<std::mutex> g(mu_);
    for (auto& [name, l] : logs_) logs.push_back(l);
  }
  std::vector<Held> out;
  out.reserve(logs.size());
  for (auto& l : logs) {
    Held h;
    h.name = l->name;
    h.sessions = l->sessions.load(std::memory_order_relaxed);
    std::lock_guard<std::mutex> g(l->mu);
    h.info = l->info;
    out.push_back(std::move(h));
  }
  return out;
}

std::vector<LogEntry> LogStore::List() {
  return Collect([](const Log&) { return true; });
}

std::vector<LogEntry> LogStore::ListVisibleTo(const uint8_t* owner) {
  return Collect([owner](const Log& l) { return OwnerMatches(l.owned, l.owner, owner); });
}

std::vector<LogEntry> LogStore::Collect(const std::function<bool(const Log&)>& keep) {
  std::vector<std::shared_ptr<Log>> logs;
  {
    std::lock_guard<std::mutex> g(mu_);
    for (auto& [name, l] : logs_)
      if (keep(*l)) logs.push_back(l);
  }
  std::vector<LogEntry> out;
  for (auto& l : logs) {
    std::lock_guard<std::mutex> g(l->mu);
    out.push_back(LogEntry{l->name, l->info});
  }
  return out;
}

size_t LogStore::log_count() {
  std::lock_guard<std::mutex> g(mu_);
  return logs_.size();
}

}  // namespace rvmr::remote_log
