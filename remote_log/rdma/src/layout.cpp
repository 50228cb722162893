#include "remote_log/rdma/layout.h"

#include "remote_log/wire.h"

namespace rvmr::remote_log::rdma {

void EncodeOpenReply(const LogInfo& info, const RegionInfo& region, std::vector<uint8_t>* out) {
  wire::EncodeLogInfo(info, out);
  size_t base = out->size();
  out->resize(base + kRegionInfoSize);
  uint8_t* p = out->data() + base;
  wire::Put64(p, region.addr);
  wire::Put64(p + 8, region.ring_size);
  wire::Put32(p + 16, region.rkey);
  wire::Put32(p + 20, region.flags);
}

Status DecodeOpenReply(const uint8_t* p, size_t n, LogInfo* info, RegionInfo* region) {
  if (n != kOpenReplySize) return Status::Corruption("rdma: OPEN reply length");
  Status s = wire::DecodeLogInfo(p, wire::kLogInfoSize, info);
  if (!s.ok()) return s;
  p += wire::kLogInfoSize;
  region->addr = wire::Get64(p);
  region->ring_size = wire::Get64(p + 8);
  region->rkey = wire::Get32(p + 16);
  region->flags = wire::Get32(p + 20);
  if (region->ring_size < kMinRingSize) return Status::Corruption("rdma: ring size too small");
  if ((region->flags & ~kRegionAtomics) != 0)
    return Status::Corruption("rdma: unknown region flags");
  if (info->tail - info->start > region->ring_size)
    return Status::Corruption("rdma: log holds more bytes than its ring");
  return Status::Ok();
}

}  // namespace rvmr::remote_log::rdma
