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

__attribute__((target("sse4.2"))) uint32_t Serial(uint32_t c, const uint8_t* p, size_t n) {
  uint64_t c64 = c;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c64 = _mm_crc32_u64(c64, v);
    p += 8;
    n -= 8;
  }
  c = uint32_t(c64);
  while (n--) c = _mm_crc32_u8(c, *p++);
  return c;
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

template <size_t kBlock>
__attribute__((target("sse4.2"))) inline uint32_t ThreeWay(uint32_t c, const uint8_t*& p, size_t& n,
                                                           const ShiftTable& st) {
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
    }
    c = st.Shift(st.Shift(uint32_t(c0)) ^ uint32_t(c1)) ^ uint32_t(c2);
    p += 3 * kBlock;
    n -= 3 * kBlock;
  }
  return c;
}

}  // namespace

uint32_t Crc32cExtendFast(uint32_t crc, const void* data, size_t n) {
  const Tables& t = GetTables();
  if (!t.hw || n < 3 * kShort) return crc32c::Extend(crc, data, n);
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t c = ~crc;
  c = ThreeWay<kLong>(c, p, n, t.lng);
  c = ThreeWay<kShort>(c, p, n, t.shrt);
  c = Serial(c, p, n);
  return ~c;
}

#else

uint32_t Crc32cExtendFast(uint32_t crc, const void* data, size_t n) {
  return crc32c::Extend(crc, data, n);
}

#endif

}  // namespace rvmr::remote_log
