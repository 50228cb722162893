// Transaction coalescing (RVM_COALESCE_TRANS): runs of coalescable
// transactions in one batch become one transaction record whose ranges are
// the runs' merged extents, a later transaction's bytes winning.
#pragma once

#include <cstdint>
#include <vector>

#include "commit_queue.h"
#include "log_stats.h"

namespace rvmr::compat {

// Replaces each run of two or more consecutive coalescable transactions in
// *batch, of at most `budget` record bytes together, by one merged
// transaction (flush if any was, segment codes united, kTxnFlagCoalesced).
// Counts merged transactions and eliminated ranges in *stats.
void CoalesceTransactions(std::vector<PendingTxn>* batch, uint64_t budget, LogStats* stats);

}  // namespace rvmr::compat
