#include "shim/log_payload.h"

#include "shim/log_format.h"

namespace rvmr::log {

TransactionPayloadBuilder::TransactionPayloadBuilder(std::string* out, uint64_t commit_time_ns)
    : out_(out), start_(out->size()) {
  char h[kTxnPayloadHeader] = {};
  PutU64(h + 8, commit_time_ns);
  out_->append(h, sizeof(h));
}

void TransactionPayloadBuilder::AddRange(uint32_t seg_code, uint64_t seg_offset, const void* data,
                                         uint64_t len) {
  char h[kRangeHeader];
  PutU32(h, seg_code);
  PutU32(h + 4, 0);
  PutU64(h + 8, seg_offset);
  PutU64(h + 16, len);
  size_t pos = out_->size();
  size_t padded = (len + 7) & ~size_t{7};
  out_->resize(pos + kRangeHeader + padded);
  char* p = out_->data() + pos;
  std::memcpy(p, h, kRangeHeader);
  if (len) std::memcpy(p + kRangeHeader, data, len);
  if (padded > len) std::memset(p + kRangeHeader + len, 0, padded - len);
  n_++;
}

void TransactionPayloadBuilder::Finish() { PutU32(out_->data() + start_, n_); }

Status ParseTransactionPayload(std::string_view payload, uint64_t* commit_time_ns,
                               std::vector<RangeView>* ranges) {
  ranges->clear();
  if (payload.size() < kTxnPayloadHeader) return Status::Corruption("transaction payload too short");
  const char* p = payload.data();
  uint32_t n = GetU32(p);
  if (commit_time_ns) *commit_time_ns = GetU64(p + 8);
  size_t pos = kTxnPayloadHeader;
  for (uint32_t i = 0; i < n; i++) {
    if (payload.size() - pos < kRangeHeader) return Status::Corruption("range header past payload");
    RangeView r;
    r.seg_code = GetU32(p + pos);
    r.seg_offset = GetU64(p + pos + 8);
    r.length = GetU64(p + pos + 16);
    uint64_t room = payload.size() - pos - kRangeHeader;
    if (r.length > room || ((r.length + 7) & ~7ull) > room)
      return Status::Corruption("range data past payload");
    r.data = p + pos + kRangeHeader;
    ranges->push_back(r);
    pos += RangeSize(r.length);
  }
  if (pos != payload.size()) return Status::Corruption("trailing bytes after last range");
  return Status::Ok();
}

std::string EncodeSegmentDict(uint32_t seg_code, std::string_view name) {
  std::string out(8, '\0');
  PutU32(out.data(), seg_code);
  PutU32(out.data() + 4, static_cast<uint32_t>(name.size()));
  out.append(name);
  return out;
}

Status ParseSegmentDict(std::string_view payload, uint32_t* seg_code, std::string* name) {
  if (payload.size() < 8) return Status::Corruption("segment dictionary payload too short");
  *seg_code = GetU32(payload.data());
  uint32_t len = GetU32(payload.data() + 4);
  if (len != payload.size() - 8) return Status::Corruption("segment name length mismatch");
  name->assign(payload.substr(8));
  return Status::Ok();
}

}  // namespace rvmr::log
