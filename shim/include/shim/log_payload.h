// log_payload.h: payloads of the record types (see docs/log-format.md).
//
// kTransaction payload:
//   0 num_ranges u32 | 4 reserved u32 | 8 commit_time_ns u64
//   then num_ranges times: seg_code u32 | reserved u32 | seg_offset u64 |
//   length u64 | `length` data bytes | zero padding to a multiple of 8.
// Ranges are applied in order; a later range wins where ranges overlap.
//
// kSegmentDict payload:
//   0 seg_code u32 | 4 name_len u32 | name_len bytes of the segment's path
//   (no terminating NUL).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace rvmr::log {

inline constexpr size_t kTxnPayloadHeader = 16;
inline constexpr size_t kRangeHeader = 24;

// Bytes a range of `len` data bytes takes in a transaction payload.
inline constexpr uint64_t RangeSize(uint64_t len) { return kRangeHeader + ((len + 7) & ~7ull); }

// Appends transaction payload pieces to a string (the record body).
class TransactionPayloadBuilder {
 public:
  // Starts a payload in `out` (appends its 16-byte header at the end of *out).
  TransactionPayloadBuilder(std::string* out, uint64_t commit_time_ns);
  // Appends one range: `len` bytes at `data` for segment `seg_code` at `seg_offset`.
  void AddRange(uint32_t seg_code, uint64_t seg_offset, const void* data, uint64_t len);
  // Patches the range count into the header; call once after the last AddRange.
  void Finish();
  uint32_t num_ranges() const { return n_; }

 private:
  std::string* out_;
  size_t start_;
  uint32_t n_ = 0;
};

struct RangeView {
  uint32_t seg_code;
  uint64_t seg_offset;
  uint64_t length;
  const char* data;
};

// Parses a transaction payload; Corruption if a range runs past the payload.
Status ParseTransactionPayload(std::string_view payload, uint64_t* commit_time_ns,
                               std::vector<RangeView>* ranges);

// Builds / parses a kSegmentDict payload.
std::string EncodeSegmentDict(uint32_t seg_code, std::string_view name);
Status ParseSegmentDict(std::string_view payload, uint32_t* seg_code, std::string* name);

}  // namespace rvmr::log
