// The CRC32C variants behind common/crc32c.h. Each works on the raw CRC
// register (the caller applies the initial and final inversion).
#pragma once

#include <cstddef>
#include <cstdint>

namespace rvmr::crc32c::internal {

// Slicing-by-8 tables; every CPU.
uint32_t RawPortable(uint32_t c, const uint8_t* p, size_t n);

// x86-64 only (they are never called elsewhere): SSE4.2, and AVX-512 with
// VPCLMULQDQ. If dst is non-null the bytes are also copied to it.
bool CpuHasSse42();
bool CpuHasFold();
uint32_t RawSse42(uint32_t c, const uint8_t* p, size_t n, uint8_t* dst);
uint32_t RawFold(uint32_t c, const uint8_t* p, size_t n, uint8_t* dst);

}  // namespace rvmr::crc32c::internal
