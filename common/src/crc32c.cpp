#include "common/crc32c.h"

#include <array>
#include <cstring>

#include "crc32c_internal.h"

namespace rvmr::crc32c {

namespace internal {

namespace {

constexpr uint32_t kPoly = 0x82F63B78u;

// Slicing-by-8 tables for the portable path.
struct Tables {
  std::array<std::array<uint32_t, 256>, 8> t{};
  constexpr Tables() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c >> 1) ^ ((c & 1u) ? kPoly : 0u);
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i)
      for (size_t s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
  }
};
constexpr Tables kTables;

}  // namespace

uint32_t RawPortable(uint32_t crc, const uint8_t* p, size_t n) {
  const auto& t = kTables.t;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    v ^= crc;
    crc = t[7][v & 0xff] ^ t[6][(v >> 8) & 0xff] ^ t[5][(v >> 16) & 0xff] ^ t[4][(v >> 24) & 0xff] ^
          t[3][(v >> 32) & 0xff] ^ t[2][(v >> 40) & 0xff] ^ t[1][(v >> 48) & 0xff] ^ t[0][v >> 56];
    p += 8;
    n -= 8;
  }
  while (n--) crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xff];
  return crc;
}

}  // namespace internal

namespace {

uint32_t Raw(Impl impl, uint32_t c, const uint8_t* p, size_t n, uint8_t* dst) {
#if defined(__x86_64__)
  if (impl == Impl::kFold) return internal::RawFold(c, p, n, dst);
  if (impl == Impl::kSse42) return internal::RawSse42(c, p, n, dst);
#endif
  if (dst != nullptr && n != 0) std::memcpy(dst, p, n);
  return internal::RawPortable(c, p, n);
}

Impl Best() {
  if (Supported(Impl::kFold)) return Impl::kFold;
  if (Supported(Impl::kSse42)) return Impl::kSse42;
  return Impl::kPortable;
}

}  // namespace

bool Supported(Impl impl) {
  switch (impl) {
    case Impl::kPortable:
      return true;
#if defined(__x86_64__)
    case Impl::kSse42:
      return internal::CpuHasSse42();
    case Impl::kFold:
      return internal::CpuHasFold();
#endif
    default:
      return false;
  }
}

Impl Selected() {
  static const Impl best = Best();
  return best;
}

uint32_t ExtendWith(Impl impl, uint32_t crc, const void* data, size_t n) {
  return ~Raw(impl, ~crc, static_cast<const uint8_t*>(data), n, nullptr);
}

uint32_t ExtendAndCopyWith(Impl impl, uint32_t crc, void* dst, const void* src, size_t n) {
  return ~Raw(impl, ~crc, static_cast<const uint8_t*>(src), n, static_cast<uint8_t*>(dst));
}

uint32_t Extend(uint32_t crc, const void* data, size_t n) {
  return ExtendWith(Selected(), crc, data, n);
}

uint32_t ExtendAndCopy(uint32_t crc, void* dst, const void* src, size_t n) {
  return ExtendAndCopyWith(Selected(), crc, dst, src, n);
}

}  // namespace rvmr::crc32c
