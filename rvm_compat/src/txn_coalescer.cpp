#include "txn_coalescer.h"

#include <algorithm>
#include <map>
#include <string_view>

#include "extent_map.h"
#include "shim/log_format.h"
#include "shim/log_payload.h"

namespace rvmr::compat {

namespace {

// Merges (*batch)[i, j) into one transaction.
PendingTxn Merge(std::vector<PendingTxn>* batch, size_t i, size_t j, uint64_t* in_ranges) {
  std::map<uint32_t, ExtentMap> maps;
  std::vector<log::RangeView> ranges;
  PendingTxn merged;
  uint64_t commit_time = 0;
  for (size_t k = i; k < j; k++) {
    PendingTxn& p = (*batch)[k];
    std::string_view payload(p.record.data() + log::kRecordHeaderSize,
                             p.record.size() - log::kRecordHeaderSize);
    if (!log::ParseTransactionPayload(payload, &commit_time, &ranges).ok()) continue;
    for (const auto& r : ranges) maps[r.seg_code].Write(r.seg_offset, r.data, r.length);
    *in_ranges += ranges.size();
    merged.flush = merged.flush || p.flush;
    merged.flags |= p.flags;
    for (uint32_t c : p.seg_codes)
      if (std::find(merged.seg_codes.begin(), merged.seg_codes.end(), c) == merged.seg_codes.end())
        merged.seg_codes.push_back(c);
  }
  merged.record.assign(log::kRecordHeaderSize, '\0');
  log::TransactionPayloadBuilder b(&merged.record, commit_time);
  for (auto& [code, em] : maps)
    for (const auto& [off, bytes] : em.extents()) b.AddRange(code, off, bytes.data(), bytes.size());
  b.Finish();
  merged.ranges = b.num_ranges();
  merged.flags |= log::kTxnFlagCoalesced;
  merged.coalescable = true;
  return merged;
}

}  // namespace

void CoalesceTransactions(std::vector<PendingTxn>* batch, uint64_t budget, LogStats* stats) {
  std::vector<PendingTxn> out;
  size_t i = 0;
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
    uint64_t in_ranges = 0;
    PendingTxn merged = Merge(batch, i, j, &in_ranges);
    stats->Update([&](LogCounters& c) {
      c.n_trans_coalesced += j - i - 1;
      if (in_ranges > merged.ranges) c.n_trans_elim += in_ranges - merged.ranges;
    });
    out.push_back(std::move(merged));
    i = j;
  }
  batch->swap(out);
}

}  // namespace rvmr::compat
