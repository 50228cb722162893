#include "disk_writer/disk_writer.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/diag.h"
#include "io_backend.h"
#include "pwrite_backend.h"
#include "staging_ring.h"
#include "uring_backend.h"
#include "common/thread.h"

namespace rvmr {

namespace {

constexpr size_t kBlock = kDirectIoAlignment;
// Longest chain: up to 3 pieces from the staging ring (split by the ring's and
// the area's wrap points), the zero padded tail block, and the sync.
constexpr size_t kMaxOps = 8;
// A completion's tag is batch sequence * kTagStride + op index.
constexpr uint64_t kTagStride = 16;
// Appends up to this size are copied into staging while holding mu_.
constexpr size_t kLockedCopyBytes = 4096;
// Warming the staging ring (see WarmStepLocked): how much the writer
// touches at a time, and how far ahead of the appenders it stays.
constexpr size_t kWarmChunk = size_t{64} << 10;
constexpr uint64_t kWarmMargin = uint64_t{256} << 10;
// Appends closer together than this share one lag-tracking entry.
constexpr uint64_t kLagGranularityNs = 10'000;

uint64_t AlignDown(uint64_t x) {
  return x & ~static_cast<uint64_t>(kBlock - 1);
}
uint64_t AlignUp(uint64_t x) {
  return AlignDown(x + kBlock - 1);
}

uint64_t NowNs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

std::string IoUringDisabledSetting() {
  FILE* f = std::fopen("/proc/sys/kernel/io_uring_disabled", "r");
  if (f == nullptr) return "";
  int v = -1;
  int got = std::fscanf(f, "%d", &v);
  std::fclose(f);
  if (got != 1) return "";
  return "; /proc/sys/kernel/io_uring_disabled=" + std::to_string(v);
}

// Says once per process that io_uring is refused and the fallback is in use.
void WarnFallbackOnce(const Status& why) {
  static std::atomic<bool> warned{false};
  if (warned.exchange(true)) return;
  Report(DiagLevel::kNotice,
         "disk writer: io_uring unavailable (%s%s); using a pwritev + fdatasync thread "
         "instead",
         why.ToString().c_str(), IoUringDisabledSetting().c_str());
}

bool Retryable(int neg_errno) {
  return neg_errno == -EAGAIN || neg_errno == -EINTR || neg_errno == -ECANCELED;
}

}  // namespace

class DiskWriter::Impl {
 public:
  explicit Impl(const DiskWriterOptions& options) : opt_(options) {}
  // The owner's own Close() returns the writer's failure, if any; this one
  // only releases what is still held, so its result adds nothing.
  ~Impl() { Close().IgnoreError(); }

  Status Init();
  Status AppendV(const struct iovec* iov, int iovcnt, uint64_t* end);
  uint64_t durable_offset() const { return durable_.load(std::memory_order_acquire); }
  uint64_t staged_offset() const {
    std::lock_guard<std::mutex> l(mu_);
    return tail_;
  }
  Status WaitDurable(uint64_t offset);
  void Subscribe(std::function<void(uint64_t)> fn);
  Status Close();
  DiskWriterStats stats() const;

 private:
  using Subscribers = std::vector<std::function<void(uint64_t)>>;

  // Per-op bookkeeping of one chain, beside the IoOp the backend sees.
  struct OpInfo {
    uint64_t logical = 0;  // first logical byte the write covers
    size_t expect = 0;     // bytes the write must report to be complete
    int injected = 0;      // result forced by the fault hook, or 0
    int result = 0;        // the completion's result
  };

  // A range of the log on its way to disk: writes plus one fdatasync,
  // resubmitted from `written` until it is durable or the writer fails.
  struct Batch {
    uint64_t seq = 0;
    uint64_t start = 0, end = 0;
    uint64_t written = 0;  // every byte before this is written (not yet synced)
    int stalls = 0;        // consecutive attempts without progress
    size_t n = 0;          // ops in the current attempt (the last is the sync)
    size_t pending = 0;    // completions still to come
    bool done = false;     // durable
    IoOp ops[kMaxOps];
    OpInfo info[kMaxOps];
  };

  Status OpenFile();
  Status SetUpBackend();
  void WriterLoop();
  // True when the next batch should wait for more bytes (batch_delay_us).
  bool ShouldDelayLocked() const;
  // Cuts new batches from the staged bytes not yet handed to the backend,
  // as far as the in-flight limit allows (needs mu_).
  void PlanBatchesLocked(std::vector<std::pair<uint64_t, uint64_t>>* fresh);
  Status StartAttempt(Batch* b);
  // Judges a batch whose attempt has fully completed: marks it done,
  // resubmits it, or returns the error that fails the writer.
  Status Finish(Batch* b);
  void Fail(const Status& s);
  size_t BuildWrites(uint64_t written, uint64_t end, IoOp* ops, OpInfo* info);
  void ApplyFaultHook(IoOp* ops, OpInfo* info, size_t n, uint64_t end);
  // Writer thread with time to spare (idle, delaying a batch, or about to
  // wait for I/O; mu_ held by l): touches the next kWarmChunk of the staging
  // ring ahead of the appenders (unlocked, under a claim that appenders do
  // not copy past), so that their copies do not fault pages in on the commit
  // path. False once the whole ring is warm.
  bool WarmStepLocked(std::unique_lock<std::mutex>& l);
  // Bytes an appender may copy at tail_ now (needs mu_): the free part of
  // the ring, up to a warming claim ahead.
  size_t RoomLocked() const {
    size_t room = staging_->capacity() - (tail_ - FloorLocked());
    if (claim_end_ > claim_from_) room = std::min<uint64_t>(room, claim_from_ - tail_);
    return room;
  }
  // Lowest logical offset the staging ring must still hold (needs mu_).
  uint64_t FloorLocked() const {
    uint64_t d = durable_.load(std::memory_order_relaxed);
    return opt_.use_o_direct ? AlignDown(d) : d;
  }
  Status FailureLocked() const {
    if (failed_) return failure_;
    return Status::Failed("disk writer is closed");
  }

  DiskWriterOptions opt_;
  int fd_ = -1;
  bool own_fd_ = false;
  size_t batch_limit_ = 0;
  std::unique_ptr<StagingRing> staging_;
  std::unique_ptr<StagingRing> tail_block_;  // O_DIRECT: the zero padded last block
  std::unique_ptr<IoBackend> backend_;
  bool io_uring_ = false;
  // Set by Init, used once by the writer thread: the io_uring backend (also
  // in backend_) if it is to register buffers (O_DIRECT only), and those
  // buffers, registered as that thread starts.
  UringBackend* uring_ = nullptr;
  std::vector<struct iovec> fixed_bufs_;
  std::thread thread_;
  size_t max_inflight_ = 1;
  size_t pipeline_bytes_ = 0;  // backlog that justifies another batch in flight

  // Writer thread only: batches handed to the backend, oldest first.
  std::deque<Batch> inflight_;
  uint64_t next_seq_ = 0;

  // Serializes appenders, so each append's bytes are contiguous.
  std::mutex append_mu_;
  // Serializes Close.
  std::mutex close_mu_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;      // the writer waits here for bytes
  std::condition_variable progress_cv_;  // appenders and waiters wait here
  uint64_t tail_ = 0;                    // end of the staged bytes
  std::atomic<uint64_t> durable_{0};     // written under mu_
  uint64_t submitted_end_ = 0;           // end of the last batch handed to the backend
  // Warming the ring once (these four under mu_ too): the writer touches
  // pages from warm_next_ up to warm_limit_ (one ring length from the
  // initial offset's block), claiming [claim_from_, claim_end_) while it
  // does; an appender copies into [tail_, copy_end_), unlocked if large.
  uint64_t warm_next_ = 0;
  uint64_t warm_limit_ = 0;
  uint64_t claim_from_ = 0, claim_end_ = 0;  // empty: no claim
  uint64_t copy_end_ = 0;
  bool writer_idle_ = false;             // the writer waits on work_cv_
  bool writer_delaying_ = false;         // the writer waits out batch_delay_us
  int durable_waiters_ = 0;              // threads inside WaitDurable
  bool ring_waiting_ = false;            // the writer waits in the backend and could start a batch
  bool closing_ = false;
  bool closed_ = false;
  bool failed_ = false;
  Status failure_;
  // (end offset, time) of recent appends not yet durable, oldest first.
  std::deque<std::pair<uint64_t, uint64_t>> pending_times_;
  DiskWriterStats stats_;  // the fields guarded by mu_

  // Counted by the writer thread without mu_.
  std::atomic<uint64_t> writes_{0};
  std::atomic<uint64_t> syncs_{0};
  std::atomic<uint64_t> retries_{0};
  std::atomic<uint64_t> short_writes_{0};

  std::mutex subs_mu_;
  std::shared_ptr<const Subscribers> subs_ = std::make_shared<Subscribers>();
};

Status DiskWriter::Impl::Init() {
  if (opt_.path.empty() == (opt_.fd < 0)) {
    return Status::InvalidArgument("disk writer: give exactly one of path and fd");
  }
  if (opt_.area_size == 0) return Status::InvalidArgument("disk writer: area_size is 0");
  if (opt_.use_o_direct && (opt_.area_start % kBlock != 0 || opt_.area_size % kBlock != 0)) {
    return Status::InvalidArgument(
        "disk writer: O_DIRECT needs area_start and area_size to be multiples of 4096");
  }
  if (opt_.max_retries < 0) return Status::InvalidArgument("disk writer: max_retries < 0");
  if (opt_.max_inflight_batches < 1 || opt_.max_inflight_batches > 16) {
    return Status::InvalidArgument("disk writer: max_inflight_batches must be 1..16");
  }
  size_t cap = std::max<size_t>(AlignUp(opt_.staging_bytes), kBlock);
  size_t max_batch = opt_.max_batch_bytes != 0 ? opt_.max_batch_bytes : cap / 2;
  max_batch = std::clamp<size_t>(max_batch, kBlock, size_t{1} << 30);
  batch_limit_ = static_cast<size_t>(std::min<uint64_t>({max_batch, cap, opt_.area_size}));

  staging_ = std::make_unique<StagingRing>(cap, kBlock);
  if (!staging_->ok()) return Status::NoSpace("disk writer: cannot allocate the staging ring");
  if (opt_.use_o_direct) {
    tail_block_ = std::make_unique<StagingRing>(kBlock, kBlock);
    if (!tail_block_->ok()) return Status::NoSpace("disk writer: cannot allocate a block");
  }
  tail_ = opt_.initial_offset;
  copy_end_ = opt_.initial_offset;
  submitted_end_ = opt_.initial_offset;
  warm_next_ = AlignDown(opt_.initial_offset);
  warm_limit_ = warm_next_ + cap;
  durable_.store(opt_.initial_offset);
  pipeline_bytes_ = std::max(kBlock, batch_limit_ / 4);

  Status s = OpenFile();
  if (!s.ok()) return s;
  s = SetUpBackend();
  if (!s.ok()) return s;
  max_inflight_ = std::min<size_t>(opt_.max_inflight_batches, backend_->max_chains());
  stats_.io_uring = io_uring_;
  thread_ = StartThread("rvm-diskwriter", [this] { WriterLoop(); });
  return Status::Ok();
}

Status DiskWriter::Impl::OpenFile() {
  if (opt_.fd >= 0) {
    fd_ = opt_.fd;
    if (opt_.use_o_direct) {
      int fl = ::fcntl(fd_, F_GETFL);
      if (fl < 0) return Status::IoError("disk writer: fcntl(F_GETFL)", errno);
      if ((fl & O_DIRECT) == 0) {
        // A second open file description of the same file, with O_DIRECT.
        std::string self = "/proc/self/fd/" + std::to_string(fd_);
        fd_ = ::open(self.c_str(), O_RDWR | O_CLOEXEC | O_DIRECT);
        if (fd_ < 0) return Status::IoError("disk writer: reopen fd with O_DIRECT", errno);
        own_fd_ = true;
      }
    }
  } else {
    int flags = O_RDWR | O_CREAT | O_CLOEXEC | (opt_.use_o_direct ? O_DIRECT : 0);
    fd_ = ::open(opt_.path.c_str(), flags, 0644);
    if (fd_ < 0) return Status::IoError("disk writer: open " + opt_.path, errno);
    own_fd_ = true;
  }
  // Under O_DIRECT the block holding the tail is rewritten whole: load the
  // bytes before the tail that are already in the file.
  if (opt_.use_o_direct && opt_.initial_offset % kBlock != 0) {
    uint64_t block = AlignDown(opt_.initial_offset);
    uint64_t pos = opt_.area_start + block % opt_.area_size;
    ssize_t r = ::pread(fd_, staging_->At(block), kBlock, static_cast<off_t>(pos));
    if (r < 0) return Status::IoError("disk writer: read the tail block", errno);
    if (static_cast<size_t>(r) < kBlock) std::memset(staging_->At(block) + r, 0, kBlock - r);
  }
  return Status::Ok();
}

Status DiskWriter::Impl::SetUpBackend() {
  if (!opt_.force_fallback) {
    std::unique_ptr<UringBackend> uring;
    Status s = UringBackend::Create(fd_, opt_.max_inflight_batches, &uring);
    if (s.ok()) {
      // Fixed buffers spare O_DIRECT writes the pinning of their pages on
      // every write; buffered writes copy into the page cache either way and
      // measured no faster with them (disk_writer_bench --warm). Registering
      // pins, and so faults in, the whole ring: the writer thread does it as
      // it starts, so that Open does not wait for it, and only for O_DIRECT,
      // so that a buffered writer's ring is faulted in only as it is used.
      if (opt_.use_o_direct) {
        fixed_bufs_.push_back({staging_->base(), staging_->capacity()});
        if (tail_block_) fixed_bufs_.push_back({tail_block_->base(), tail_block_->capacity()});
        uring_ = uring.get();
      }
      io_uring_ = true;
      backend_ = std::move(uring);
      return Status::Ok();
    }
    WarnFallbackOnce(s);
  }
  backend_ = std::make_unique<PwriteBackend>(fd_);
  return Status::Ok();
}

Status DiskWriter::Impl::AppendV(const struct iovec* iov, int iovcnt, uint64_t* end) {
  if (iovcnt < 0 || (iovcnt > 0 && iov == nullptr)) {
    return Status::InvalidArgument("disk writer: bad iovec");
  }
  size_t total = 0;
  for (int i = 0; i < iovcnt; i++) total += iov[i].iov_len;

  std::lock_guard<std::mutex> append_lock(append_mu_);
  std::unique_lock<std::mutex> l(mu_);
  if (failed_ || closing_) return FailureLocked();
  int vi = 0;     // current iovec
  size_t vo = 0;  // offset in it
  size_t done = 0;
  while (done < total) {
    size_t room = RoomLocked();
    if (room == 0) {
      // The ring is full (backpressure), or, rarely, the writer is warming
      // the pages right ahead (a wait of one kWarmChunk at most).
      const bool full = staging_->capacity() == tail_ - FloorLocked();
      uint64_t t0 = NowNs();
      progress_cv_.wait(l, [&] { return failed_ || RoomLocked() > 0; });
      if (full) {
        stats_.backpressure_waits++;
        stats_.backpressure_wait_ns += NowNs() - t0;
      }
      if (failed_) return failure_;
      continue;
    }
    size_t chunk = std::min(room, total - done);
    uint64_t pos = tail_;
    copy_end_ = tail_ + chunk;  // the writer warms nothing below this
    // The writer never touches [tail_, copy_end_) (it reads only below
    // tail_ and warms only a claim past copy_end_): copy unlocked, unless
    // the copy is so small that relocking would cost more.
    const bool unlocked_copy = chunk > kLockedCopyBytes;
    if (unlocked_copy) l.unlock();
    for (size_t left = chunk; left > 0;) {
      while (iov[vi].iov_len == vo) {
        vi++;
        vo = 0;
      }
      size_t n = std::min(left, iov[vi].iov_len - vo);
      staging_->CopyIn(pos, static_cast<const char*>(iov[vi].iov_base) + vo, n);
      pos += n;
      vo += n;
      left -= n;
    }
    if (unlocked_copy) l.lock();
    tail_ += chunk;
    done += chunk;
    stats_.bytes_staged += chunk;
    if (writer_idle_) {
      writer_idle_ = false;  // one wake-up is enough
      work_cv_.notify_one();
    } else if (ring_waiting_ && tail_ - submitted_end_ >= pipeline_bytes_) {
      ring_waiting_ = false;
      backend_->Wake();
    } else if (writer_delaying_ && tail_ - submitted_end_ >= pipeline_bytes_) {
      writer_delaying_ = false;
      work_cv_.notify_one();
    }
  }
  if (total > 0) {
    uint64_t now = NowNs();
    if (!pending_times_.empty() && now - pending_times_.back().second < kLagGranularityNs) {
      pending_times_.back().first = tail_;
    } else {
      pending_times_.emplace_back(tail_, now);
    }
    stats_.max_lag_bytes = std::max(stats_.max_lag_bytes, tail_ - durable_.load());
  }
  if (end != nullptr) *end = tail_;
  return Status::Ok();
}

Status DiskWriter::Impl::WaitDurable(uint64_t offset) {
  std::unique_lock<std::mutex> l(mu_);
  if (durable_.load() >= offset) return Status::Ok();
  if (failed_) return failure_;
  if (offset > tail_) {
    return Status::InvalidArgument("disk writer: WaitDurable beyond the appended bytes");
  }
  durable_waiters_++;
  if (writer_delaying_) {
    writer_delaying_ = false;
    work_cv_.notify_one();
  }
  progress_cv_.wait(l, [&] { return durable_.load() >= offset || failed_; });
  durable_waiters_--;
  if (durable_.load() >= offset) return Status::Ok();
  return failure_;
}

void DiskWriter::Impl::Subscribe(std::function<void(uint64_t)> fn) {
  std::lock_guard<std::mutex> l(subs_mu_);
  auto next = std::make_shared<Subscribers>(*subs_);
  next->push_back(std::move(fn));
  subs_ = std::move(next);
}

Status DiskWriter::Impl::Close() {
  std::lock_guard<std::mutex> close_lock(close_mu_);
  {
    // Taking append_mu_ waits out appends in progress, so none is lost.
    std::lock_guard<std::mutex> a(append_mu_);
    std::lock_guard<std::mutex> l(mu_);
    if (closed_) return failed_ ? failure_ : Status::Ok();
    closing_ = true;
    work_cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
  backend_.reset();
  if (own_fd_ && fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  std::lock_guard<std::mutex> l(mu_);
  closed_ = true;
  progress_cv_.notify_all();
  return failed_ ? failure_ : Status::Ok();
}

DiskWriterStats DiskWriter::Impl::stats() const {
  std::lock_guard<std::mutex> l(mu_);
  DiskWriterStats s = stats_;
  s.bytes_durable = durable_.load() - opt_.initial_offset;
  s.writes = writes_.load();
  s.syncs = syncs_.load();
  s.retries = retries_.load();
  s.short_writes = short_writes_.load();
  s.failed = failed_;
  return s;
}

void DiskWriter::Impl::WriterLoop() {
  if (uring_ != nullptr) {
    // Before the first Submit, so that nothing is in flight. Appends copy
    // into the ring meanwhile; the first batch waits for this.
    const bool fixed = uring_->RegisterBuffers(fixed_bufs_);
    std::lock_guard<std::mutex> l(mu_);
    stats_.registered_buffers = fixed;
  }
  std::vector<std::pair<uint64_t, uint64_t>> fresh;
  std::vector<IoCompletion> done;
  for (;;) {
    fresh.clear();
    {
      std::unique_lock<std::mutex> l(mu_);
      for (;;) {
        if (ShouldDelayLocked()) {
          writer_delaying_ = true;
          const auto until = std::chrono::steady_clock::now() +
                             std::chrono::microseconds(opt_.batch_delay_us);
          auto delaying = [&] { return writer_delaying_ && ShouldDelayLocked(); };
          // The delay's time warms the ring while some of it is cold.
          while (delaying() && std::chrono::steady_clock::now() < until && WarmStepLocked(l)) {
          }
          if (delaying()) work_cv_.wait_until(l, until, [&] { return !delaying(); });
          writer_delaying_ = false;
        }
        PlanBatchesLocked(&fresh);
        if (!fresh.empty() || !inflight_.empty()) break;
        if (closing_) return;  // nothing staged, nothing in flight: all durable
        if (WarmStepLocked(l)) continue;
        writer_idle_ = true;
        work_cv_.wait(l);
        writer_idle_ = false;
      }
    }
    for (const auto& [start, end] : fresh) {
      Batch& b = inflight_.emplace_back();
      b.seq = next_seq_++;
      b.start = b.written = start;
      b.end = end;
      Status s = StartAttempt(&b);
      if (!s.ok()) return Fail(s);
    }

    {
      std::unique_lock<std::mutex> l(mu_);
      // One piece of warming per wait: the batches in flight take longer.
      WarmStepLocked(l);
      ring_waiting_ = inflight_.size() < max_inflight_;
    }
    done.clear();
    Status s = backend_->Wait(&done);
    {
      std::lock_guard<std::mutex> l(mu_);
      ring_waiting_ = false;
    }
    if (!s.ok()) return Fail(s);
    for (const IoCompletion& c : done) {
      uint64_t seq = c.tag / kTagStride;
      size_t idx = c.tag % kTagStride;
      if (inflight_.empty() || seq < inflight_.front().seq) continue;
      size_t pos = seq - inflight_.front().seq;
      if (pos >= inflight_.size()) continue;
      Batch& b = inflight_[pos];
      if (idx >= b.n || b.pending == 0) continue;
      b.info[idx].result = c.result;
      if (--b.pending == 0) {
        s = Finish(&b);
        if (!s.ok()) return Fail(s);
      }
    }

    // Batches become durable in order.
    uint64_t durable = 0;
    uint64_t batches = 0;
    while (!inflight_.empty() && inflight_.front().done) {
      durable = inflight_.front().end;
      inflight_.pop_front();
      batches++;
    }
    if (batches == 0) continue;
    std::shared_ptr<const Subscribers> subs;
    {
      std::lock_guard<std::mutex> l(mu_);
      durable_.store(durable, std::memory_order_release);
      stats_.batches += batches;
      uint64_t now = NowNs();
      while (!pending_times_.empty() && pending_times_.front().first <= durable) {
        stats_.max_lag_ns = std::max(stats_.max_lag_ns, now - pending_times_.front().second);
        pending_times_.pop_front();
      }
      progress_cv_.notify_all();
    }
    {
      std::lock_guard<std::mutex> l(subs_mu_);
      subs = subs_;
    }
    for (const auto& fn : *subs) fn(durable);
  }
}

bool DiskWriter::Impl::WarmStepLocked(std::unique_lock<std::mutex>& l) {
  if (warm_next_ >= warm_limit_) return false;
  // Whole blocks past whatever an appender may be copying into, with a
  // margin so that appenders seldom reach the claim (those that do wait for
  // one chunk); the blocks skipped are the appenders' to fault in.
  const uint64_t from = std::max(warm_next_, AlignUp(copy_end_) + kWarmMargin);
  if (from >= warm_limit_) {
    warm_next_ = warm_limit_;
    return false;
  }
  const uint64_t end = std::min<uint64_t>(from + kWarmChunk, warm_limit_);
  claim_from_ = from;
  claim_end_ = end;
  l.unlock();
  // First pass: [from, end) is above every byte staged so far and within
  // one ring length of them, so it holds nothing, and appenders stay below
  // claim_from_ until the claim ends.
  staging_->Touch(from, end - from);
  l.lock();
  claim_from_ = claim_end_ = 0;
  warm_next_ = end;
  progress_cv_.notify_all();
  return true;
}

bool DiskWriter::Impl::ShouldDelayLocked() const {
  return opt_.batch_delay_us > 0 && inflight_.empty() && !closing_ && !failed_ &&
         durable_waiters_ == 0 && tail_ > submitted_end_ &&
         tail_ - submitted_end_ < pipeline_bytes_;
}

void DiskWriter::Impl::PlanBatchesLocked(std::vector<std::pair<uint64_t, uint64_t>>* fresh) {
  uint64_t next = submitted_end_;
  size_t count = inflight_.size();
  while (count < max_inflight_ && tail_ > next) {
    const uint64_t backlog = tail_ - next;
    if (count > 0) {
      // Another sync in flight pays only for a real backlog; under O_DIRECT a
      // batch must not rewrite the padded last block of one in flight.
      if (backlog < pipeline_bytes_) break;
      if (opt_.use_o_direct && next % kBlock != 0) break;
    }
    uint64_t from = opt_.use_o_direct ? AlignDown(next) : next;
    uint64_t end = std::min<uint64_t>(tail_, from + batch_limit_);
    // With a backlog, end O_DIRECT batches on a block boundary so that the
    // next one can start while this one is in flight.
    if (opt_.use_o_direct && end % kBlock != 0 && AlignDown(end) > next &&
        backlog >= pipeline_bytes_ && max_inflight_ > 1) {
      end = AlignDown(end);
    }
    fresh->emplace_back(next, end);
    next = end;
    count++;
  }
  submitted_end_ = next;
}

void DiskWriter::Impl::Fail(const Status& s) {
  std::lock_guard<std::mutex> l(mu_);
  failed_ = true;
  failure_ = s;
  stats_.failed = true;
  progress_cv_.notify_all();
}

Status DiskWriter::Impl::StartAttempt(Batch* b) {
  size_t n = b->written < b->end ? BuildWrites(b->written, b->end, b->ops, b->info) : 0;
  b->ops[n] = IoOp{};
  b->ops[n].kind = IoOp::Kind::kSync;
  b->info[n] = OpInfo{b->end, 0, 0, 0};
  n++;
  ApplyFaultHook(b->ops, b->info, n, b->end);
  b->n = n;
  b->pending = n;
  writes_.fetch_add(n - 1, std::memory_order_relaxed);
  syncs_.fetch_add(1, std::memory_order_relaxed);
  return backend_->Submit(b->ops, n, b->seq * kTagStride);
}

Status DiskWriter::Impl::Finish(Batch* b) {
  const size_t n = b->n;
  for (size_t i = 0; i < n; i++) {
    if (b->info[i].injected != 0) b->info[i].result = b->info[i].injected;
  }
  // Walk the chain in order; nothing after the first incomplete write counts.
  const uint64_t before = b->written;
  int last_errno = 0;
  bool complete = true;
  for (size_t i = 0; i + 1 < n; i++) {
    const OpInfo& op = b->info[i];
    int res = op.result;
    if (res >= 0) {
      uint64_t got = std::min<uint64_t>(b->end, op.logical + static_cast<uint64_t>(res));
      b->written = std::max(b->written, got);
      if (static_cast<size_t>(res) == op.expect) continue;
      short_writes_.fetch_add(1, std::memory_order_relaxed);
    } else if (Retryable(res)) {
      last_errno = -res;
    } else {
      return Status::Failed("disk writer: write of log offset " + std::to_string(op.logical) +
                                " at file offset " + std::to_string(b->ops[i].file_pos) + " failed",
                            -res);
    }
    complete = false;
    break;
  }
  if (complete) {
    int res = b->info[n - 1].result;
    if (res == 0) {
      b->done = true;
      return Status::Ok();
    }
    if (!Retryable(res)) {
      return Status::Failed(
          "disk writer: fdatasync up to log offset " + std::to_string(b->end) + " failed", -res);
    }
    last_errno = -res;
  }
  retries_.fetch_add(1, std::memory_order_relaxed);
  if (b->written > before) {
    b->stalls = 0;
  } else if (++b->stalls > opt_.max_retries) {
    return Status::Failed("disk writer: no progress after " + std::to_string(b->stalls) +
                              " attempts at log offset " + std::to_string(b->written),
                          last_errno != 0 ? last_errno : EIO);
  }
  return StartAttempt(b);
}

size_t DiskWriter::Impl::BuildWrites(uint64_t written, uint64_t end, IoOp* ops, OpInfo* info) {
  size_t n = 0;
  uint64_t from = written;
  uint64_t body_end = end;
  if (opt_.use_o_direct) {
    from = AlignDown(written);
    body_end = AlignDown(end);
  }
  // Whole pieces from the staging ring, split where the ring or the area wraps.
  for (uint64_t l = from; l < body_end;) {
    uint64_t in_area = l % opt_.area_size;
    uint64_t len =
        std::min<uint64_t>({body_end - l, opt_.area_size - in_area, staging_->ContiguousFrom(l)});
    IoOp& op = ops[n];
    op = IoOp{};
    op.kind = IoOp::Kind::kWrite;
    op.buf = staging_->At(l);
    op.len = static_cast<size_t>(len);
    op.file_pos = opt_.area_start + in_area;
    op.buf_index = 0;
    info[n] = OpInfo{l, op.len, 0, 0};
    n++;
    l += len;
  }
  // O_DIRECT: the partial last block, zero padded.
  if (opt_.use_o_direct && body_end < end) {
    uint64_t l = std::max(from, body_end);
    char* blk = tail_block_->base();
    staging_->CopyOut(l, blk, end - l);
    std::memset(blk + (end - l), 0, kBlock - (end - l));
    IoOp& op = ops[n];
    op = IoOp{};
    op.kind = IoOp::Kind::kWrite;
    op.buf = blk;
    op.len = kBlock;
    op.file_pos = opt_.area_start + l % opt_.area_size;
    op.buf_index = 1;
    info[n] = OpInfo{l, kBlock, 0, 0};
    n++;
  }
  return n;
}

void DiskWriter::Impl::ApplyFaultHook(IoOp* ops, OpInfo* info, size_t n, uint64_t end) {
  if (!opt_.fault_hook) return;
  for (size_t i = 0; i < n; i++) {
    DiskFaultRequest req;
    if (ops[i].kind == IoOp::Kind::kWrite) {
      req.op = DiskFaultRequest::Op::kWrite;
      req.logical_offset = info[i].logical;
      req.length = ops[i].len;
    } else {
      req.op = DiskFaultRequest::Op::kSync;
      req.logical_offset = end;
      req.length = 0;
    }
    DiskFaultAction a = opt_.fault_hook(req);
    if (a.error > 0) {
      info[i].injected = -a.error;
      if (ops[i].kind == IoOp::Kind::kWrite) ops[i].len = 0;
    } else if (ops[i].kind == IoOp::Kind::kWrite && a.short_length < ops[i].len) {
      ops[i].len = opt_.use_o_direct ? AlignDown(a.short_length) : a.short_length;
    }
  }
}

DiskWriter::DiskWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

DiskWriter::~DiskWriter() = default;

Status DiskWriter::Open(const DiskWriterOptions& options, std::unique_ptr<DiskWriter>* writer) {
  auto impl = std::make_unique<Impl>(options);
  Status s = impl->Init();
  if (!s.ok()) return s;
  writer->reset(new DiskWriter(std::move(impl)));
  return Status::Ok();
}

Status DiskWriter::Append(const void* data, size_t n, uint64_t* end) {
  struct iovec v;
  v.iov_base = const_cast<void*>(data);
  v.iov_len = n;
  return impl_->AppendV(&v, 1, end);
}

Status DiskWriter::AppendV(const struct iovec* iov, int iovcnt, uint64_t* end) {
  return impl_->AppendV(iov, iovcnt, end);
}

uint64_t DiskWriter::durable_offset() const {
  return impl_->durable_offset();
}

uint64_t DiskWriter::staged_offset() const {
  return impl_->staged_offset();
}

Status DiskWriter::WaitDurable(uint64_t offset) {
  return impl_->WaitDurable(offset);
}

void DiskWriter::Subscribe(std::function<void(uint64_t)> fn) {
  impl_->Subscribe(std::move(fn));
}

Status DiskWriter::Close() {
  return impl_->Close();
}

DiskWriterStats DiskWriter::stats() const {
  return impl_->stats();
}

}  // namespace rvmr
