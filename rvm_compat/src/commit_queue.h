// CommitQueue: committed transactions waiting to be framed into the log,
// numbered in commit order (the sequence numbers the CommitPipeline waits
// for). Thread-safe; its mutex is a leaf in every lock order.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace rvmr::compat {

// A committed transaction waiting to be written: a record buffer whose first
// kRecordHeaderSize bytes are reserved for the header, then the payload.
struct PendingTxn {
  std::string record;
  std::vector<uint32_t> seg_codes;  // segments its ranges touch (no repeats)
  uint32_t flags = 0;               // log::kTxnFlag*
  bool coalescable = false;         // RVM_COALESCE_TRANS was on at commit
  bool flush = false;
  uint64_t ranges = 0;
};

class CommitQueue {
 public:
  // Appends `txn` and returns its sequence number (1, 2, ...).
  uint64_t Push(PendingTxn txn);

  // The sequence number of the last transaction pushed (0: none yet).
  uint64_t last_seq();

  // Moves every queued transaction to *out (which is cleared first) and
  // returns the sequence number of the last one.
  uint64_t TakeAll(std::vector<PendingTxn>* out);

  // No-flush transactions queued and their log bytes, for rvm_query.
  struct Backlog {
    uint64_t n_no_flush = 0, no_flush_bytes = 0;
    bool empty = true;
  };
  Backlog backlog();

 private:
  std::mutex mu_;
  std::vector<PendingTxn> queue_;  // mu_
  uint64_t last_seq_ = 0;          // mu_
  Backlog backlog_;                // mu_
};

}  // namespace rvmr::compat
