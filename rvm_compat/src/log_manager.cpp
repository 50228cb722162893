#include "log_manager.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>

#include "common/diag.h"
#include "common/fault_point.h"
#include "common/thread.h"
#include "extent_map.h"
#include "shim/log_applier.h"
#include "shim/log_format.h"
#include "shim/log_payload.h"
#include "shim/log_record_reader.h"
#include "shim/log_source.h"

namespace rvmr::compat {

namespace {

using Clock = std::chrono::steady_clock;

uint64_t MicrosSince(Clock::time_point t0) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count());
}

void SetErr(const char* msg) {
  rvm_errmsg = const_cast<char*>(msg);
}

// True if the file starts like a log of the original RVM (its status block
// carries the interface version string).
bool LooksLikeOriginalLog(int fd) {
  char buf[512];
  ssize_t n = ::pread(fd, buf, sizeof(buf), 0);
  if (n <= 0) return false;
  static const char kSig[] = "RVM Interface Version";
  for (ssize_t i = 0; i + static_cast<ssize_t>(sizeof(kSig)) - 1 <= n; i++)
    if (std::memcmp(buf + i, kSig, sizeof(kSig) - 1) == 0) return true;
  return false;
}

size_t Bucket(uint64_t v, const uint64_t* bounds, size_t nbounds) {
  size_t i = 0;
  while (i < nbounds && v >= bounds[i]) i++;
  return i;
}

}  // namespace

rvm_return_t LogManager::Create(const char* path, uint64_t area_len, long mode) {
  uint64_t area = area_len & ~uint64_t{511};
  if (area < 512) return RVM_ETOO_BIG;
  struct stat st;
  if (::stat(path, &st) == 0) return RVM_ELOG;
  Status s = log::CreateLogFile(path, area, static_cast<int>(mode));
  if (!s.ok()) {
    if (s.sys_errno() == EEXIST) return RVM_ELOG;
    errno = s.sys_errno();
    return RVM_EIO;
  }
  return RVM_SUCCESS;
}

rvm_return_t LogManager::Open(const std::string& path, std::unique_ptr<LogManager>* out) {
  std::unique_ptr<LogManager> lm(new LogManager());
  lm->path_ = path;
  lm->fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (lm->fd_ < 0) return errno == ENOENT ? RVM_ELOG : RVM_EIO;
  Status s = log::ReadLogStatus(lm->fd_, &lm->status_);
  if (!s.ok()) {
    if (s.code() == Status::Code::kIoError) return RVM_EIO;
    return LooksLikeOriginalLog(lm->fd_) ? RVM_ELOG_VERSION_SKEW : RVM_ELOG;
  }
  LogSinkConfig cfg;
  cfg.fd = lm->fd_;
  cfg.path = path;
  cfg.tail = kTailUnknown;
  // Refused before anything is written (not even the epoch) when mirrors
  // may hold commits the disk copy lacks and none are configured.
  cfg.status = lm->status_;
  bool refused = false;
  s = CheckLogSinkStart(cfg, &refused);
  if (!s.ok()) {
    if (!refused) Diag("rvm: cannot open log %s: %s\n", path.c_str(), s.ToString().c_str());
    SetErr(refused ? "the log's mirrors may hold commits its disk copy lacks, and none are "
                     "configured"
                   : "cannot open the log sink");
    return refused ? RVM_ELOG : RVM_EIO;
  }
  // A new writer epoch, durable before anything is appended in it.
  lm->status_.epoch++;
  s = log::WriteLogStatus(lm->fd_, &lm->status_);
  if (!s.ok()) return RVM_EIO;
  cfg.status = lm->status_;
  s = OpenLogSink(cfg, &lm->sink_);
  if (!s.ok()) {
    Diag("rvm: cannot open log %s: %s\n", path.c_str(), s.ToString().c_str());
    SetErr("cannot open the log sink");
    return RVM_EIO;
  }
  rvm_return_t rc = lm->Recover();
  if (rc != RVM_SUCCESS) return rc;
  lm->pipeline_ = std::make_unique<CommitPipeline>(lm->sink_.get(), static_cast<BatchSource*>(lm.get()));
  lm->bg_ = StartThread("rvm-truncate", [p = lm.get()] { p->TruncationThread(); });
  *out = std::move(lm);
  return RVM_SUCCESS;
}

LogManager::~LogManager() {
  {
    std::lock_guard<std::mutex> l(bg_mu_);
    bg_stop_ = true;
  }
  bg_cv_.notify_all();
  if (bg_.joinable()) bg_.join();
  pipeline_.reset();
  sink_.reset();
  if (fd_ >= 0) ::close(fd_);
}

rvm_return_t LogManager::Recover() {
  uint64_t end = 0, end_lsn = 0;
  auto t0 = Clock::now();
  rvm_return_t rc = Apply(status_.head, status_.head_lsn, status_.head + status_.area_size,
                          /*recovery=*/true, &end, &end_lsn);
  if (rc != RVM_SUCCESS) return rc;
  status_.head = end;
  status_.head_lsn = end_lsn;
  status_.tail_hint = end;
  if (!log::WriteLogStatus(fd_, &status_).ok()) return RVM_EIO;
  head_ = tail_ = end;
  head_lsn_ = tail_lsn_ = end_lsn;
  writer_ = std::make_unique<log::LogRecordWriter>(status_.epoch, end, end_lsn);
  std::lock_guard<std::mutex> l(stats_mu_);
  counters_.n_recovery++;
  counters_.truncation_time_us += MicrosSince(t0);
  return RVM_SUCCESS;
}

rvm_return_t LogManager::Apply(uint64_t head, uint64_t head_lsn, uint64_t limit, bool recovery,
                               uint64_t* end, uint64_t* end_lsn) {
  log::FileLogSource src(fd_, status_.area_start, status_.area_size);
  log::LogRecordReader reader(&src, head, limit, head_lsn, status_.epoch);
  // Each segment's ranges merged and written at Finish, one sync per segment.
  log::LogApplyOptions opts;
  opts.coalesce = true;
  opts.fault_point = "rvm.apply_extent";
  log::LogApplier applier(std::move(opts));
  log::LogRecord rec;
  uint64_t next_lsn = head_lsn;
  for (;;) {
    uint64_t at = reader.offset();
    Status s = reader.ReadRecord(&rec);
    if (!s.ok()) {
      if (reader.error() == log::ReadError::kEndOfRange) break;
      if (reader.error() == log::ReadError::kIo) {
        SetErr("read error on the log");
        return RVM_EIO;
      }
      if (!recovery) {
        Diag("rvm: log %s: %s inside the committed log\n", path_.c_str(), s.ToString().c_str());
        SetErr("corrupt record inside the committed part of the log");
        return RVM_EIO;
      }
      if (reader.error_is_damage() || at < status_.tail_hint) {
        Diag(
            "rvm: log %s: %s; the log is cut off at offset %llu (nothing from there on "
            "is applied)\n",
            path_.c_str(), s.ToString().c_str(), static_cast<unsigned long long>(at));
      }
      break;
    }
    s = applier.Apply(rec);
    if (!s.ok()) {
      Diag("rvm: log %s: %s\n", path_.c_str(), s.ToString().c_str());
      return RVM_EIO;
    }
    next_lsn = rec.header.lsn + 1;
  }
  *end = reader.offset();
  *end_lsn = next_lsn;
  if (rvm_no_update) return RVM_SUCCESS;
  Status s = applier.Finish();
  if (!s.ok()) {
    Diag("rvm: log %s: %s\n", path_.c_str(), s.ToString().c_str());
    return RVM_EIO;
  }
  return RVM_SUCCESS;
}

uint32_t LogManager::SegmentCode(const std::string& path) {
  std::lock_guard<std::mutex> l(seg_mu_);
  auto it = seg_by_path_.find(path);
  if (it != seg_by_path_.end()) return it->second;
  uint32_t code = static_cast<uint32_t>(segs_.size() + 1);
  segs_.push_back(SegInfo{path, code, 0});
  seg_by_path_[path] = code;
  return code;
}

uint64_t LogManager::DictRecordSize(uint32_t code) {
  std::lock_guard<std::mutex> l(seg_mu_);
  return log::RecordSize(8 + segs_[code - 1].path.size());
}

rvm_return_t LogManager::Commit(PendingTxn txn) {
  uint64_t need = txn.record.size() - log::kRecordHeaderSize;
  need = log::RecordSize(need);
  for (uint32_t c : txn.seg_codes) need += DictRecordSize(c);
  if (need > status_.area_size || txn.record.size() > log::kMaxPayload) return RVM_ETOO_BIG;
  bool flush = txn.flush;
  uint64_t seq;
  {
    std::lock_guard<std::mutex> l(q_mu_);
    seq = ++queued_seq_;
    if (!flush) {
      q_no_flush_++;
      q_no_flush_bytes_ += log::RecordSize(txn.record.size() - log::kRecordHeaderSize);
    }
    queue_.push_back(std::move(txn));
  }
  if (!flush) return RVM_SUCCESS;
  return FlushUpTo(seq);
}

rvm_return_t LogManager::Flush(bool explicit_call) {
  uint64_t seq;
  {
    std::lock_guard<std::mutex> l(q_mu_);
    seq = queued_seq_;
  }
  if (explicit_call) {
    std::lock_guard<std::mutex> l(stats_mu_);
    counters_.n_rvm_flush++;
  }
  return FlushUpTo(seq);
}

void LogManager::CoalesceBatch(std::vector<PendingTxn>* batch) {
  std::vector<PendingTxn> out;
  const uint64_t budget = status_.area_size / 2;
  size_t i = 0;
  std::vector<log::RangeView> ranges;
  while (i < batch->size()) {
    size_t j = i;
    uint64_t sum = 0;
    while (j < batch->size() && (*batch)[j].coalescable &&
           sum + (*batch)[j].record.size() <= budget) {
      sum += (*batch)[j].record.size();
      j++;
    }
    if (j - i < 2) {
      out.push_back(std::move((*batch)[i]));
      i++;
      continue;
    }
    std::map<uint32_t, ExtentMap> maps;
    PendingTxn merged;
    uint64_t in_ranges = 0;
    uint64_t commit_time = 0;
    for (size_t k = i; k < j; k++) {
      PendingTxn& p = (*batch)[k];
      std::string_view payload(p.record.data() + log::kRecordHeaderSize,
                               p.record.size() - log::kRecordHeaderSize);
      if (!log::ParseTransactionPayload(payload, &commit_time, &ranges).ok()) continue;
      for (const auto& r : ranges) maps[r.seg_code].Write(r.seg_offset, r.data, r.length);
      in_ranges += ranges.size();
      merged.flush = merged.flush || p.flush;
      merged.flags |= p.flags;
      for (uint32_t c : p.seg_codes)
        if (std::find(merged.seg_codes.begin(), merged.seg_codes.end(), c) ==
            merged.seg_codes.end())
          merged.seg_codes.push_back(c);
    }
    merged.record.assign(log::kRecordHeaderSize, '\0');
    log::TransactionPayloadBuilder b(&merged.record, commit_time);
    for (auto& [code, em] : maps)
      for (const auto& [off, bytes] : em.extents())
        b.AddRange(code, off, bytes.data(), bytes.size());
    b.Finish();
    merged.ranges = b.num_ranges();
    merged.flags |= log::kTxnFlagCoalesced;
    merged.coalescable = true;
    {
      std::lock_guard<std::mutex> l(stats_mu_);
      counters_.n_trans_coalesced += j - i - 1;
      if (in_ranges > merged.ranges) counters_.n_trans_elim += in_ranges - merged.ranges;
    }
    out.push_back(std::move(merged));
    i = j;
  }
  batch->swap(out);
}

rvm_return_t LogManager::FlushUpTo(uint64_t seq) {
  if (pipeline_->durable_seq() >= seq) return RVM_SUCCESS;
  auto t0 = Clock::now();
  Status s = pipeline_->WaitDurable(seq);
  if (!s.ok()) {
    SetErr("log write failed");
    errno = s.sys_errno();
    return RVM_EIO;
  }
  uint64_t us = MicrosSince(t0);
  {
    std::lock_guard<std::mutex> l(stats_mu_);
    counters_.last_flush_ms = us / 1000;
    counters_.flush_time_us += us;
    static const uint64_t kBounds[] = {flush_times_dist};
    counters_.flush_times[Bucket(us / 1000, kBounds, flush_times_len - 1)]++;
  }
  MaybeKickTruncation();
  return RVM_SUCCESS;
}

Status LogManager::Lead(CommitPipeline*, uint64_t* last_seq) {
  std::lock_guard<std::mutex> l(append_mu_);
  if (failed_) return Status::Failed("log " + path_ + " takes no more commits");
  return AppendQueued(last_seq);
}

Status LogManager::Failed(const Status& s) {
  if (!failed_) Diag("rvm: log %s: %s\n", path_.c_str(), s.ToString().c_str());
  failed_ = true;
  return s;
}

Status LogManager::AppendQueued(uint64_t* last_seq) {
  batch_.clear();
  uint64_t last;
  {
    std::lock_guard<std::mutex> l(q_mu_);
    batch_.swap(queue_);
    last = queued_seq_;
    q_no_flush_ = 0;
    q_no_flush_bytes_ = 0;
  }
  *last_seq = last;
  if ((rvm_optimizations & RVM_COALESCE_TRANS) && batch_.size() > 1) CoalesceBatch(&batch_);
  const uint64_t area = status_.area_size;
  iov_.clear();
  dicts_.clear();
  uint64_t bytes = 0;
  for (PendingTxn& p : batch_) {
    for (;;) {
      need_dict_.clear();
      uint64_t need = log::RecordSize(p.record.size() - log::kRecordHeaderSize);
      {
        std::lock_guard<std::mutex> l(seg_mu_);
        for (uint32_t c : p.seg_codes) {
          SegInfo* si = &segs_[c - 1];
          if (si->dict_gen != dict_gen_) {
            need_dict_.push_back(si);
            need += log::RecordSize(8 + si->path.size());
          }
        }
      }
      uint64_t head;
      {
        std::lock_guard<std::mutex> l(state_mu_);
        head = head_;
      }
      if (writer_->next_offset() + need - head <= area) break;
      // The log is full: what is framed so far goes out (completing only the
      // transactions of earlier batches), then truncation (which waits for
      // the disk to hold everything sent) makes room.
      if (!iov_.empty()) {
        Status s = SendIov(bytes, framed_seq_);
        if (!s.ok()) return s;
        iov_.clear();
        dicts_.clear();
        bytes = 0;
        continue;
      }
      if (need > area)  // Commit() refuses such transactions
        return Failed(Status::Failed("a queued transaction is larger than the log"));
      {
        std::lock_guard<std::mutex> l(stats_mu_);
        counters_.n_truncation_wait++;
      }
      rvm_return_t rc = TruncateHoldingAppend(head);
      if (rc != RVM_SUCCESS)
        return Failed(Status::IoError("truncation to make room in the log failed: " +
                                          std::string(rvm_return(rc)),
                                      errno));
    }
    for (SegInfo* si : need_dict_) {
      dicts_.emplace_back();
      writer_->Add(&dicts_.back(), log::RecordType::kSegmentDict, 0,
                   log::EncodeSegmentDict(si->code, si->path));
      si->dict_gen = dict_gen_;
      iov_.push_back({dicts_.back().data(), dicts_.back().size()});
      bytes += dicts_.back().size();
      std::lock_guard<std::mutex> l(stats_mu_);
      counters_.n_special++;
    }
    writer_->Finish(&p.record, 0, log::RecordType::kTransaction, p.flags);
    iov_.push_back({p.record.data(), p.record.size()});
    bytes += p.record.size();
  }
  // Nothing (more) to write: the queue's transactions went out in earlier
  // batches; the pipeline counts them durable with the last one.
  if (iov_.empty()) {
    framed_seq_ = std::max(framed_seq_, last);
    return Status::Ok();
  }
  return SendIov(bytes, last);
}

Status LogManager::SendIov(uint64_t bytes, uint64_t last_seq) {
  uint64_t offset = writer_->next_offset() - bytes;
  Status s = pipeline_->SendBatch(offset, iov_.data(), static_cast<int>(iov_.size()), last_seq);
  if (!s.ok()) return Failed(s);
  framed_seq_ = std::max(framed_seq_, last_seq);
  {
    std::lock_guard<std::mutex> l(state_mu_);
    tail_ = offset + bytes;
    tail_lsn_ = writer_->next_lsn();
  }
  std::lock_guard<std::mutex> l(stats_mu_);
  counters_.n_flush++;
  counters_.log_written_total += bytes;
  if (offset / status_.area_size != (offset + bytes - 1) / status_.area_size) counters_.n_wrap++;
  return Status::Ok();
}

rvm_return_t LogManager::TruncateHoldingAppend(uint64_t seen_head) {
  std::lock_guard<std::mutex> tl(trunc_mu_);
  uint64_t h, hl, t, tlsn;
  {
    std::lock_guard<std::mutex> l(state_mu_);
    h = head_;
    hl = head_lsn_;
    t = tail_;
    tlsn = tail_lsn_;
  }
  // A background truncation that held trunc_mu_ meanwhile moved the head:
  // the caller looks again before truncating everything a second time.
  if (seen_head != kAnyHead && h != seen_head) return RVM_SUCCESS;
  dict_gen_++;
  {
    std::lock_guard<std::mutex> l(stats_mu_);
    counters_.n_sync_truncations++;
  }
  return TruncateAfterSnapshot(h, hl, t, tlsn);
}

rvm_return_t LogManager::TruncateBackground() {
  std::unique_lock<std::mutex> al(append_mu_);
  if (failed_) return RVM_SUCCESS;
  std::lock_guard<std::mutex> tl(trunc_mu_);
  uint64_t h, hl, t, tlsn;
  {
    std::lock_guard<std::mutex> l(state_mu_);
    h = head_;
    hl = head_lsn_;
    t = tail_;
    tlsn = tail_lsn_;
  }
  if (failed_ || h == t) return RVM_SUCCESS;
  dict_gen_++;
  al.unlock();  // commits go on while the segments are written
  {
    std::lock_guard<std::mutex> l(stats_mu_);
    counters_.n_async_truncations++;
  }
  return TruncateAfterSnapshot(h, hl, t, tlsn);
}

rvm_return_t LogManager::TruncateAfterSnapshot(uint64_t h, uint64_t hl, uint64_t t, uint64_t tlsn) {
  auto t0 = Clock::now();
  if (!sink_->SyncToDisk(t).ok()) return RVM_EIO;
  if (t != h) {
    uint64_t end, end_lsn;
    rvm_return_t rc = Apply(h, hl, t, /*recovery=*/false, &end, &end_lsn);
    if (rc != RVM_SUCCESS) return rc;
    if (end != t) return RVM_EINTERNAL;
  }
  RVMR_FAULT_POINT("rvm.truncate_before_head");
  status_.head = t;
  status_.head_lsn = tlsn;
  status_.tail_hint = t;
  if (!log::WriteLogStatus(fd_, &status_).ok()) return RVM_EIO;
  {
    std::lock_guard<std::mutex> l(state_mu_);
    head_ = t;
    head_lsn_ = tlsn;
  }
  if (truncation_hook_) truncation_hook_();
  uint64_t us = MicrosSince(t0);
  std::lock_guard<std::mutex> l(stats_mu_);
  counters_.n_truncations++;
  counters_.truncation_time_us += us;
  counters_.last_truncation_s = us / 1000000;
  static const uint64_t kBounds[] = {truncation_times_dist};
  counters_.truncation_times[Bucket(us / 1000000, kBounds, truncation_times_len - 1)]++;
  return RVM_SUCCESS;
}

rvm_return_t LogManager::Truncate() {
  rvm_return_t rc = Flush();
  if (rc != RVM_SUCCESS) return rc;
  std::lock_guard<std::mutex> al(append_mu_);
  if (failed_) return RVM_EIO;
  return TruncateHoldingAppend();
}

rvm_return_t LogManager::Close() {
  rvm_return_t rc = Flush();
  {
    std::lock_guard<std::mutex> l(bg_mu_);
    bg_stop_ = true;
  }
  bg_cv_.notify_all();
  if (bg_.joinable()) bg_.join();
  std::lock_guard<std::mutex> al(append_mu_);
  std::lock_guard<std::mutex> tl(trunc_mu_);
  {
    std::lock_guard<std::mutex> l(state_mu_);
    status_.tail_hint = tail_;
  }
  if (!failed_ && !log::WriteLogStatus(fd_, &status_).ok() && rc == RVM_SUCCESS) rc = RVM_EIO;
  return rc;
}

void LogManager::SetTruncateThreshold(long percent) {
  {
    std::lock_guard<std::mutex> l(state_mu_);
    truncate_pct_ = std::clamp(percent, 0L, 100L);
  }
  MaybeKickTruncation();
}

long LogManager::truncate_threshold() const {
  std::lock_guard<std::mutex> l(const_cast<std::mutex&>(state_mu_));
  return truncate_pct_;
}

void LogManager::MaybeKickTruncation() {
  bool kick;
  {
    std::lock_guard<std::mutex> l(state_mu_);
    kick = truncate_pct_ > 0 &&
           (tail_ - head_) * 100 >= static_cast<uint64_t>(truncate_pct_) * status_.area_size &&
           tail_ != head_;
  }
  if (!kick) return;
  {
    std::lock_guard<std::mutex> l(bg_mu_);
    bg_kick_ = true;
  }
  bg_cv_.notify_one();
}

void LogManager::TruncationThread() {
  std::unique_lock<std::mutex> l(bg_mu_);
  for (;;) {
    bg_cv_.wait(l, [this] { return bg_stop_ || bg_kick_; });
    if (bg_stop_) return;
    bg_kick_ = false;
    l.unlock();
    rvm_return_t rc = TruncateBackground();
    if (rc != RVM_SUCCESS) Diag("rvm: background truncation of %s failed: %d\n", path_.c_str(), rc);
    l.lock();
  }
}

LogManager::Occupancy LogManager::GetOccupancy() {
  Occupancy o;
  {
    std::lock_guard<std::mutex> l(state_mu_);
    o.head = head_;
    o.tail = tail_;
  }
  o.area = status_.area_size;
  std::lock_guard<std::mutex> l(q_mu_);
  o.n_no_flush = q_no_flush_;
  o.no_flush_bytes = q_no_flush_bytes_;
  o.empty = o.head == o.tail && queue_.empty();
  return o;
}

LogCounters LogManager::GetCounters() {
  std::lock_guard<std::mutex> l(stats_mu_);
  return counters_;
}

}  // namespace rvmr::compat
