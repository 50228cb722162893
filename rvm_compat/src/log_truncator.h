// LogTruncator: moves the log's head. It applies the committed records
// between the head and a snapshot of the tail to the data segments, one
// window (about 1 MiB of log) at a time, and after each window writes the
// new head into the status block, so that a committer waiting for room can
// go on after one window instead of the whole log, and memory stays bounded
// by a window.
//
// The head may only be placed where a dictionary generation starts (see
// SegmentDictionary): the framer marks those points (MarkPoint) at window
// boundaries and at every truncation snapshot.
//
// Two ways in: the background thread (kicked when the log is fuller than the
// threshold), which takes its snapshot through the framer and then runs
// without the append lock; and MakeRoom/TruncateTo, called by the framer
// with the append lock held.
//
// Locks, in acquisition order: (the framer's append lock) -> trunc_mu_ (one
// truncation at a time; the status block) -> state_mu_ (head, tail, points,
// leaf). bg_mu_ is a leaf.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "common/status.h"
#include "internal.h"
#include "log_file.h"
#include "log_stats.h"
#include "shim/log_sink.h"

namespace rvmr::compat {

// A record boundary of the log: its logical offset and the LSN of the record
// that starts there.
struct LogPoint {
  uint64_t offset = 0;
  uint64_t lsn = 1;
};

class LogTruncator {
 public:
  // Takes the append lock, starts a dictionary generation at the end of what
  // was sent (marking it) and returns that point; false if there is nothing
  // to truncate or the log takes no more commits.
  using SnapshotFn = std::function<bool(LogPoint*)>;

  // `end`: the head and tail after recovery. `file`, `sink` and `stats` must
  // outlive the truncator.
  LogTruncator(LogFile* file, LogSink* sink, LogStats* stats, LogPoint end);
  // Stops the background thread.
  ~LogTruncator();

  // Starts the background thread, which snapshots through `snapshot`.
  void Start(SnapshotFn snapshot);
  // Stops and joins the background thread (idempotent). A truncation it is
  // running finishes first.
  void Stop();

  // Log bytes between head-placement points the framer marks.
  uint64_t window() const { return window_; }

  // The framer (append lock held): the head may be placed at `p` (a record
  // boundary where a dictionary generation starts). Points come in order.
  void MarkPoint(LogPoint p);
  // The framer (append lock held): everything before `end` was sent.
  void Sent(LogPoint end);

  uint64_t head();
  struct Range {
    uint64_t head, tail;
  };
  Range range();

  // The framer, append lock held, with the log full and everything framed
  // sent; `seen_head`: the head it saw; `tail`: a point just marked at the
  // tail. If a background truncation is running, waits until it moves the
  // head or ends; otherwise truncates window by window until the head is at
  // least `need_head` (or at `tail`). The caller then looks again.
  rvm_return_t MakeRoom(uint64_t seen_head, uint64_t need_head, LogPoint tail);

  // Truncates everything before `tail` (a point just marked), append lock
  // held: rvm_truncate.
  rvm_return_t TruncateTo(LogPoint tail);

  // Writes the tail into the status block's tail hint (Close; the append
  // lock held and the background thread stopped).
  Status WriteTailHint();

  // Background truncation starts once the log is `percent` full (0: never).
  void SetThreshold(long percent);
  long threshold();
  // Wakes the background thread if the log is fuller than the threshold.
  void MaybeKick();

  // Called (trunc_mu_ held) at the end of each truncation that moved the
  // head; set once, before any truncation can run.
  void SetHook(void (*hook)()) { hook_ = hook; }

 private:
  // Applies and moves the head, window by window, towards `target`,
  // stopping once the head is at least `stop_at` (trunc_mu_ held).
  rvm_return_t TruncateWindows(LogPoint target, uint64_t stop_at);
  rvm_return_t TruncateBackground();
  void Thread();

  LogFile* const file_;
  LogSink* const sink_;
  LogStats* const stats_;
  const uint64_t window_;
  void (*hook_)() = nullptr;

  std::mutex trunc_mu_;  // held while a truncation runs; guards file_->status()

  std::mutex state_mu_;
  std::condition_variable head_cv_;  // state_mu_: head_ moved or running_ cleared
  LogPoint head_;                    // state_mu_
  LogPoint tail_;                    // state_mu_ (end of what was sent)
  std::deque<LogPoint> points_;      // state_mu_: marked points after head_, ascending
  bool running_ = false;             // state_mu_: a background truncation is under way
  long pct_ = 0;                     // state_mu_

  SnapshotFn snapshot_;
  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  bool bg_stop_ = false, bg_kick_ = false;  // bg_mu_
  std::thread bg_;
};

}  // namespace rvmr::compat
