#include "remote_log/crc32c_fast.h"

#include <cstring>

#include "common/crc32c.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <nmmintrin.h>
#endif

namespace rvmr::remote_log {

#if defined(__x86_64__)

namespace {

// Block sizes of the two tiers: each step consumes 3 blocks.
constexpr size_t kLong = 4096;
constexpr size_t kShort = 256;

// Serial CRC of p[0..n); if kCopy, also stores the bytes to dst.
template <bool kCopy>
__attribute__((target("sse4.2"))) uint32_t SerialT(uint32_t c, const uint8_t* p, size_t n,
                                                   uint8_t* dst) {
  uint64_t c64 = c;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    if constexpr (kCopy) {
      std::memcpy(dst, &v, 8);
      dst += 8;
    }
    c64 = _mm_crc32_u64(c64, v);
    p += 8;
    n -= 8;
  }
  c = uint32_t(c64);
  while (n--) {
    if constexpr (kCopy) *dst++ = *p;
    c = _mm_crc32_u8(c, *p++);
  }
  return c;
}

__attribute__((target("sse4.2"))) uint32_t Serial(uint32_t c, const uint8_t* p, size_t n) {
  return SerialT<false>(c, p, n, nullptr);
}

// Shift tables: Shift(c) = the raw CRC register after feeding `len` zero
// bytes from state c; linear in c, so four byte-indexed tables suffice.
struct ShiftTable {
  uint32_t t[4][256];
  __attribute__((target("sse4.2"))) void Init(size_t len) {
    static const uint8_t zeros[kLong] = {};
    for (int j = 0; j < 4; ++j)
      for (uint32_t b = 0; b < 256; ++b) t[j][b] = Serial(b << (8 * j), zeros, len);
  }
  uint32_t Shift(uint32_t c) const {
    return t[0][c & 0xff] ^ t[1][(c >> 8) & 0xff] ^ t[2][(c >> 16) & 0xff] ^ t[3][c >> 24];
  }
};

struct Tables {
  ShiftTable lng, shrt;
  bool hw = false;
  Tables() {
    unsigned a, b, c, d;
    hw = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSE4_2);
    if (hw) {
      lng.Init(kLong);
      shrt.Init(kShort);
    }
  }
};

const Tables& GetTables() {
  static const Tables tables;
  return tables;
}

// Three streams over 3 * kBlock bytes at a time; if kCopy, also stores the
// bytes to dst (advanced like p).
template <size_t kBlock, bool kCopy>
__attribute__((target("sse4.2"))) inline uint32_t ThreeWay(uint32_t c, const uint8_t*& p, size_t& n,
                                                           const ShiftTable& st, uint8_t*& dst) {
  while (n >= 3 * kBlock) {
    uint64_t c0 = c, c1 = 0, c2 = 0;
    const uint8_t* a = p;
    const uint8_t* b = p + kBlock;
    const uint8_t* d = p + 2 * kBlock;
    for (size_t i = 0; i < kBlock; i += 8) {
      uint64_t va, vb, vd;
      std::memcpy(&va, a + i, 8);
      std::memcpy(&vb, b + i, 8);
      std::memcpy(&vd, d + i, 8);
      c0 = _mm_crc32_u64(c0, va);
      c1 = _mm_crc32_u64(c1, vb);
      c2 = _mm_crc32_u64(c2, vd);
      if constexpr (kCopy) {
        std::memcpy(dst + i, &va, 8);
        std::memcpy(dst + kBlock + i, &vb, 8);
        std::memcpy(dst + 2 * kBlock + i, &vd, 8);
      }
    }
    c = st.Shift(st.Shift(uint32_t(c0)) ^ uint32_t(c1)) ^ uint32_t(c2);
    p += 3 * kBlock;
    n -= 3 * kBlock;
    if constexpr (kCopy) dst += 3 * kBlock;
  }
  return c;
}

}  // namespace

uint32_t Crc32cExtendFast(uint32_t crc, const void* data, size_t n) {
  const Tables& t = GetTables();
  if (!t.hw || n < 3 * kShort) return crc32c::Extend(crc, data, n);
  const auto* p = static_cast<const uint8_t*>(data);
  uint8_t* none = nullptr;
  uint32_t c = ~crc;
  c = ThreeWay<kLong, false>(c, p, n, t.lng, none);
  c = ThreeWay<kShort, false>(c, p, n, t.shrt, none);
  c = Serial(c, p, n);
  return ~c;
}

uint32_t Crc32cCopyFast(uint32_t crc, void* dst, const void* src, size_t n) {
  const Tables& t = GetTables();
  if (!t.hw) {
    std::memcpy(dst, src, n);
    return crc32c::Extend(crc, src, n);
  }
  const auto* p = static_cast<const uint8_t*>(src);
  auto* d = static_cast<uint8_t*>(dst);
  uint32_t c = ~crc;
  c = ThreeWay<kLong, true>(c, p, n, t.lng, d);
  c = ThreeWay<kShort, true>(c, p, n, t.shrt, d);
  c = SerialT<true>(c, p, n, d);
  return ~c;
}

#else

uint32_t Crc32cExtendFast(uint32_t crc, const void* data, size_t n) {
  return crc32c::Extend(crc, data, n);
}

uint32_t Crc32cCopyFast(uint32_t crc, void* dst, const void* src, size_t n) {
  std::memcpy(dst, src, n);
  return crc32c::Extend(crc, src, n);
}

#endif

}  // namespace rvmr::remote_log
