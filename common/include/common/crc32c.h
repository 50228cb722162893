// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every
// on-disk and on-wire record. The one implementation in the project; it picks
// the fastest variant this CPU runs once, at first use:
//   - kFold: AVX-512 carry-less multiplication (VPCLMULQDQ) folding 256 bytes
//     per step, finished with the SSE4.2 crc32 instruction;
//   - kSse42: three interleaved crc32-instruction streams over adjacent blocks,
//     joined with precomputed shift tables (serial below 768 bytes);
//   - kPortable: table-driven slicing-by-8, for CPUs without SSE4.2.
// Every variant gives the same results.
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

// Copies n bytes from src to dst (the ranges must not overlap) and returns
// Extend(crc, src, n), reading the bytes once. Meant for data not read again
// soon (log records): the folding variant writes large copies with streaming
// stores that bypass the cache.
uint32_t ExtendAndCopy(uint32_t crc, void* dst, const void* src, size_t n);

// The variants, for tests and benchmarks; production code calls the
// functions above.
enum class Impl { kPortable, kSse42, kFold };

// Whether this CPU (and OS) can run `impl`. kPortable always can.
bool Supported(Impl impl);

// The variant Extend and ExtendAndCopy use.
Impl Selected();

// Extend / ExtendAndCopy with a given variant, which must be Supported().
uint32_t ExtendWith(Impl impl, uint32_t crc, const void* data, size_t n);
uint32_t ExtendAndCopyWith(Impl impl, uint32_t crc, void* dst, const void* src, size_t n);

}  // namespace rvmr::crc32c
