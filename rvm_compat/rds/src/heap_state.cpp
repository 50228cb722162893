// Process-wide RDS state (see heap_state.h).
#include "heap_state.h"

extern "C" {
rvmr::rds::HeapHeader* RecoverableHeapStartAddress = nullptr;
rvmr::rds::BlockHeader* RecoverableHeapHighAddress = nullptr;
}

namespace rvmr::rds {

Heap& TheHeap() {
  static Heap heap;
  return heap;
}

std::mutex& HeapLock() {
  static std::mutex lock;
  return lock;
}

void PublishHeap() {
  RecoverableHeapStartAddress = TheHeap().header();
  RecoverableHeapHighAddress = TheHeap().high();
}

CallTransaction::CallTransaction(rvm_tid_t* caller_tid) : tid_(caller_tid), own_(false) {
  if (tid_ != nullptr) return;
  tid_ = rvm_malloc_tid();
  own_ = true;
  if (tid_ == nullptr) {
    begin_error_ = RVM_ENO_MEMORY;
    return;
  }
  begin_error_ = rvm_begin_transaction(tid_, restore);
  if (begin_error_ != RVM_SUCCESS) done_ = true;
}

CallTransaction::~CallTransaction() {
  if (!own_) return;
  if (!done_) rvm_abort_transaction(tid_);
  if (tid_ != nullptr) rvm_free_tid(tid_);
}

int CallTransaction::Commit() {
  if (!own_ || done_) return RVM_SUCCESS;
  done_ = true;
  return rvm_end_transaction(tid_, no_flush);
}

void CallTransaction::Abort() {
  if (!own_ || done_) return;
  done_ = true;
  rvm_abort_transaction(tid_);
}

int CallTransaction::Finish(Heap& heap, int rc) {
  if (rc != SUCCESS) {
    Abort();
    heap.EndOp(false);
    return rc;
  }
  rc = Commit();
  heap.EndOp(rc == RVM_SUCCESS);
  return rc;
}

}  // namespace rvmr::rds
