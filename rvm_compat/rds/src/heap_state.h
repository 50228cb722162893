// The process-wide RDS state behind the C interface: the one Heap, the lock
// that serializes all heap operations (the original's heap_lock), and a
// helper that runs an operation in the caller's transaction or in one of its
// own. Private to librds.
#pragma once

#include <mutex>

#include <rvm/rvm.h>

#include "heap.h"

extern "C" {
// Exported for programs that reach into the heap (norton, rds_test).
extern rvmr::rds::HeapHeader* RecoverableHeapStartAddress;
extern rvmr::rds::BlockHeader* RecoverableHeapHighAddress;
}

namespace rvmr::rds {

Heap& TheHeap();
std::mutex& HeapLock();

// Publishes the attached heap's addresses in the exported globals.
void PublishHeap();

// A transaction for one RDS call: the caller's tid when it gave one,
// otherwise a restore-mode transaction of its own, committed no_flush.
class CallTransaction {
 public:
  explicit CallTransaction(rvm_tid_t* caller_tid);
  ~CallTransaction();
  CallTransaction(const CallTransaction&) = delete;
  CallTransaction& operator=(const CallTransaction&) = delete;

  // RVM_SUCCESS unless beginning our own transaction failed.
  int begin_error() const { return begin_error_; }
  rvm_tid_t* tid() const { return tid_; }
  // Ends our own transaction (no_flush); nothing for the caller's.
  int Commit();
  // Aborts our own transaction; the caller's is left to the caller.
  void Abort();
  // Ends a heap operation run in this transaction (after heap.BeginOp()):
  // commits when `rc` is SUCCESS, aborts otherwise, then heap.EndOp() with
  // the outcome. Returns `rc`, or the commit's error.
  int Finish(Heap& heap, int rc);

 private:
  rvm_tid_t* tid_;
  bool own_;
  bool done_ = false;
  int begin_error_ = RVM_SUCCESS;
};

}  // namespace rvmr::rds
