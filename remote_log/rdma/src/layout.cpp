#include "remote_log/rdma/layout.h"

#include "remote_log/wire.h"

namespace rvmr::remote_log::rdma {

using wire::Get32;
using wire::Get64;
using wire::Put32;
using wire::Put64;

void EncodeControl(const ControlBlock& c, uint8_t* out) {
  Put64(out, c.tail);
  Put32(out + 8, c.crc);
  Put32(out + 12, ~c.crc);
}

bool DecodeControl(const uint8_t* p, ControlBlock* c) {
  uint32_t crc = Get32(p + 8);
  if (Get32(p + 12) != ~crc) return false;
  c->tail = Get64(p);
  c->crc = crc;
  return true;
}

void EncodeOpenReply(const LogInfo& info, const RegionInfo& region, std::vector<uint8_t>* out) {
  wire::EncodeLogInfo(info, out);
  size_t base = out->size();
  out->resize(base + kRegionInfoSize);
  uint8_t* p = out->data() + base;
  Put64(p, region.addr);
  Put64(p + 8, region.ring_size);
  Put32(p + 16, region.rkey);
  Put32(p + 20, region.tail_crc);
}

Status DecodeOpenReply(const uint8_t* p, size_t n, LogInfo* info, RegionInfo* region) {
  if (n != kOpenReplySize) return Status::Corruption("rdma: OPEN reply length");
  Status s = wire::DecodeLogInfo(p, wire::kLogInfoSize, info);
  if (!s.ok()) return s;
  p += wire::kLogInfoSize;
  region->addr = Get64(p);
  region->ring_size = Get64(p + 8);
  region->rkey = Get32(p + 16);
  region->tail_crc = Get32(p + 20);
  if (region->ring_size < kMinRingSize) return Status::Corruption("rdma: ring size too small");
  if (info->tail - info->start > region->ring_size)
    return Status::Corruption("rdma: log holds more bytes than its ring");
  return Status::Ok();
}

}  // namespace rvmr::remote_log::rdma
