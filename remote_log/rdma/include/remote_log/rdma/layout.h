// The memory layout one-sided RDMA appends write into, and the RDMA-specific
// payload of the OPEN reply. docs/rdma.md is the byte-by-byte reference.
//
// Each log on an RDMA server is one page-aligned region:
//   [0, 64)              control block, written by the client only
//   [4096, 4096 + ring)  ring: log byte at offset o lives at 4096 + o % ring
// The control block holds the tail (one past the last appended byte) and the
// running CRC32C of the log stream up to that tail; see ControlBlock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/status.h"
#include "remote_log/transport.h"

namespace rvmr::remote_log::rdma {

constexpr size_t kControlSize = 16;      // bytes of the control block that are used
constexpr size_t kRingOffset = 4096;     // where the ring starts in the region
constexpr uint64_t kMinRingSize = 4096;  // smallest ring a server accepts
// Largest control message (header + payload) either side sends or receives.
constexpr size_t kMaxControlMessage = 64 * 1024;

// The control block: tail (u64 LE at 0) and crc (u32 LE at 8) plus its
// complement (u32 LE at 12), written by the client in one 16-byte RDMA WRITE
// after the data. crc is the CRC32C of the log bytes [create_offset, tail)
// (the whole stream since the log was created, chained with crc32c::Extend);
// the complement lets a reader detect a torn read of the block.
struct ControlBlock {
  uint64_t tail = 0;
  uint32_t crc = 0;
};
void EncodeControl(const ControlBlock& c, uint8_t* out);  // writes kControlSize bytes
// False if the crc complement does not match (a torn or never-written block).
bool DecodeControl(const uint8_t* p, ControlBlock* c);

// What the OPEN reply carries beyond wire::LogInfo: where the log's region is
// and the key that grants this connection RDMA WRITE/READ access to it.
struct RegionInfo {
  uint64_t addr = 0;       // remote virtual address of the region
  uint64_t ring_size = 0;  // bytes in the ring
  uint32_t rkey = 0;       // valid until a newer writer opens the log or this one closes it
  uint32_t tail_crc = 0;   // ControlBlock::crc at LogInfo::tail
};
constexpr size_t kRegionInfoSize = 24;
constexpr size_t kOpenReplySize = 32 + kRegionInfoSize;  // wire::kLogInfoSize + region

void EncodeOpenReply(const LogInfo& info, const RegionInfo& region, std::vector<uint8_t>* out);
// Corruption if n != kOpenReplySize or a field is out of range.
Status DecodeOpenReply(const uint8_t* p, size_t n, LogInfo* info, RegionInfo* region);

}  // namespace rvmr::remote_log::rdma
