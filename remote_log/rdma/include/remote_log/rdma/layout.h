// The memory layout one-sided RDMA appends write into, and the RDMA-specific
// payload of the OPEN reply. docs/rdma.md is the byte-by-byte reference.
//
// Each log on an RDMA server is one page-aligned region:
//   [0, 8)               control word: the log tail (one past the last
//                        appended byte), a u64 in the server's byte order
//                        (little-endian on x86-64), written only by the client
//   [4096, 4096 + ring)  ring: log byte at offset o lives at 4096 + o % ring
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/status.h"
#include "remote_log/transport.h"

namespace rvmr::remote_log::rdma {

constexpr size_t kControlSize = 8;       // the control word
constexpr size_t kRingOffset = 4096;     // where the ring starts in the region
constexpr uint64_t kMinRingSize = 4096;  // smallest ring a server accepts
// Largest control message (header + payload) either side sends or receives.
constexpr size_t kMaxControlMessage = 64 * 1024;

// RegionInfo::flags: the region is registered for remote atomics, so the
// client may advance the control word with an 8-byte compare-and-swap (one
// operation that both writes it and, like a READ, returns only after the
// preceding WRITEs were placed). Without it the client WRITEs the control
// word and READs it back.
constexpr uint32_t kRegionAtomics = 1;

// What the OPEN reply carries beyond wire::LogInfo: where the log's region is
// and the key that grants this connection remote access to it.
struct RegionInfo {
  uint64_t addr = 0;       // remote virtual address of the region
  uint64_t ring_size = 0;  // bytes in the ring
  uint32_t rkey = 0;       // valid until a newer writer opens the log or this one closes it
  uint32_t flags = 0;      // kRegionAtomics
};
constexpr size_t kRegionInfoSize = 24;
constexpr size_t kOpenReplySize = 32 + kRegionInfoSize;  // wire::kLogInfoSize + region

void EncodeOpenReply(const LogInfo& info, const RegionInfo& region, std::vector<uint8_t>* out);
// Corruption if n != kOpenReplySize or a field is out of range.
Status DecodeOpenReply(const uint8_t* p, size_t n, LogInfo* info, RegionInfo* region);

}  // namespace rvmr::remote_log::rdma
