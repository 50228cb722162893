// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every
// on-disk and on-wire record. Uses the SSE4.2 instruction where the CPU has it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rvmr::crc32c {

// Extends `crc` (the value returned for the preceding bytes, 0 to start) over
// `n` bytes at `data`. Value(p, n) == Extend(0, p, n).
uint32_t Extend(uint32_t crc, const void* data, size_t n);

// The CRC32C of `n` bytes at `data` ("123456789" gives 0xE3069283).
inline uint32_t Value(const void* data, size_t n) {
  return Extend(0, data, n);
}

}  // namespace rvmr::crc32c
