#include "log_truncator.h"

#include <algorithm>

#include "common/diag.h"
#include "common/fault_point.h"
#include "common/thread.h"
#include "log_replay.h"
#include "rvm_error.h"

namespace rvmr::compat {

namespace {

constexpr uint64_t kMaxWindow = uint64_t(1) << 20;
constexpr uint64_t kMinWindow = 4096;

}  // namespace

LogTruncator::LogTruncator(LogFile* file, LogSink* sink, LogStats* stats, LogPoint end)
    : file_(file),
      sink_(sink),
      stats_(stats),
      window_(std::clamp(file->area_size() / 8, kMinWindow, kMaxWindow)),
      head_(end),
      tail_(end) {}

LogTruncator::~LogTruncator() {
  Stop();
}

void LogTruncator::Start(SnapshotFn snapshot) {
  snapshot_ = std::move(snapshot);
  bg_ = StartThread("rvm-truncate", [this] { Thread(); });
}

void LogTruncator::Stop() {
  {
    std::lock_guard<std::mutex> l(bg_mu_);
    bg_stop_ = true;
  }
  bg_cv_.notify_all();
  if (bg_.joinable()) bg_.join();
}

void LogTruncator::MarkPoint(LogPoint p) {
  std::lock_guard<std::mutex> l(state_mu_);
  if (p.offset <= head_.offset) return;
  if (!points_.empty() && points_.back().offset >= p.offset) return;
  points_.push_back(p);
}

void LogTruncator::Sent(LogPoint end) {
  std::lock_guard<std::mutex> l(state_mu_);
  tail_ = end;
}

uint64_t LogTruncator::head() {
  std::lock_guard<std::mutex> l(state_mu_);
  return head_.offset;
}

LogTruncator::Range LogTruncator::range() {
  std::lock_guard<std::mutex> l(state_mu_);
  return Range{head_.offset, tail_.offset};
}

rvm_return_t LogTruncator::TruncateWindows(LogPoint target, uint64_t stop_at) {
  auto t0 = LogClock::now();
  bool moved = false;
  for (;;) {
    LogPoint h, w = target;
    {
      std::lock_guard<std::mutex> l(state_mu_);
      h = head_;
      if (h.offset >= target.offset || h.offset >= stop_at) break;
      for (const LogPoint& p : points_) {
        if (p.offset >= target.offset) break;
        if (p.offset >= h.offset + window_) {
          w = p;
          break;
        }
      }
    }
    Status s = sink_->SyncToDisk(w.offset);
    if (!s.ok()) {
      SetRvmErrmsg("the log's disk copy cannot be made durable");
      return Fail(std::move(s).WithContext("log " + file_->path() +
                                           ": truncation: making the disk copy durable"));
    }
    uint64_t end = 0, end_lsn = 0;
    rvm_return_t rc = ApplyLog(*file_, h.offset, h.lsn, w.offset, ApplyMode::kCommitted, &end,
                               &end_lsn);
    if (rc != RVM_SUCCESS) return rc;
    if (end != w.offset) {
      SetRvmErrmsg("the committed log ends before the truncation point");
      return Fail(RVM_EINTERNAL,
                  Status::Corruption("log " + file_->path() +
                                     ": truncation: the committed log "
                                     "ends at offset " +
                                     std::to_string(end) + ", before " + std::to_string(w.offset)));
    }
    RVMR_FAULT_POINT("rvm.truncate_before_head");
    log::LogStatus& st = file_->status();
    st.head = w.offset;
    st.head_lsn = end_lsn;
    st.tail_hint = w.offset;
    s = file_->WriteStatus("truncation");
    if (!s.ok()) {
      SetRvmErrmsg("cannot write the log's status block");
      return Fail(s);
    }
    {
      std::lock_guard<std::mutex> l(state_mu_);
      head_ = LogPoint{w.offset, end_lsn};
      while (!points_.empty() && points_.front().offset <= w.offset) points_.pop_front();
    }
    head_cv_.notify_all();
    moved = true;
  }
  if (!moved) return RVM_SUCCESS;
  if (hook_) hook_();
  stats_->AddTruncation(MicrosSince(t0));
  return RVM_SUCCESS;
}

rvm_return_t LogTruncator::MakeRoom(uint64_t seen_head, uint64_t need_head, LogPoint tail) {
  {
    std::unique_lock<std::mutex> l(state_mu_);
    if (head_.offset != seen_head) return RVM_SUCCESS;
    if (running_) {
      head_cv_.wait(l, [&] { return head_.offset != seen_head || !running_; });
      return RVM_SUCCESS;
    }
  }
  std::lock_guard<std::mutex> tl(trunc_mu_);
  stats_->Update([](LogCounters& c) { c.n_sync_truncations++; });
  return TruncateWindows(tail, need_head);
}

rvm_return_t LogTruncator::TruncateTo(LogPoint tail) {
  std::lock_guard<std::mutex> tl(trunc_mu_);
  stats_->Update([](LogCounters& c) { c.n_sync_truncations++; });
  return TruncateWindows(tail, ~uint64_t{0});
}

rvm_return_t LogTruncator::TruncateBackground() {
  LogPoint t;
  if (!snapshot_(&t)) return RVM_SUCCESS;
  {
    // Set before trunc_mu_ is taken: a committer that finds the log full
    // from now on waits for this truncation's windows.
    std::lock_guard<std::mutex> l(state_mu_);
    running_ = true;
  }
  rvm_return_t rc;
  {
    std::lock_guard<std::mutex> tl(trunc_mu_);
    stats_->Update([](LogCounters& c) { c.n_async_truncations++; });
    rc = TruncateWindows(t, ~uint64_t{0});
  }
  {
    std::lock_guard<std::mutex> l(state_mu_);
    running_ = false;
  }
  head_cv_.notify_all();
  return rc;
}

Status LogTruncator::WriteTailHint() {
  std::lock_guard<std::mutex> tl(trunc_mu_);
  {
    std::lock_guard<std::mutex> l(state_mu_);
    file_->status().tail_hint = tail_.offset;
  }
  return file_->WriteStatus("closing");
}

void LogTruncator::SetThreshold(long percent) {
  {
    std::lock_guard<std::mutex> l(state_mu_);
    pct_ = std::clamp(percent, 0L, 100L);
  }
  MaybeKick();
}

long LogTruncator::threshold() {
  std::lock_guard<std::mutex> l(state_mu_);
  return pct_;
}

void LogTruncator::MaybeKick() {
  {
    std::lock_guard<std::mutex> l(state_mu_);
    uint64_t used = tail_.offset - head_.offset;
    if (pct_ <= 0 || used == 0 || used * 100 < static_cast<uint64_t>(pct_) * file_->area_size())
      return;
  }
  {
    std::lock_guard<std::mutex> l(bg_mu_);
    bg_kick_ = true;
  }
  bg_cv_.notify_one();
}

void LogTruncator::Thread() {
  std::unique_lock<std::mutex> l(bg_mu_);
  for (;;) {
    bg_cv_.wait(l, [this] { return bg_stop_ || bg_kick_; });
    if (bg_stop_) return;
    bg_kick_ = false;
    l.unlock();
    rvm_return_t rc = TruncateBackground();
    if (rc != RVM_SUCCESS) {
      std::string cause = TakeCause();
      Report(DiagLevel::kError, "background truncation of log %s failed: %s%s%s",
             file_->path().c_str(), rvm_return(rc), cause.empty() ? "" : ": ", cause.c_str());
    }
    l.lock();
  }
}

}  // namespace rvmr::compat
