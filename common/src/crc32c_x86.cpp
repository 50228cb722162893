// The x86-64 CRC32C variants: three interleaved SSE4.2 crc32 streams, and
// AVX-512 VPCLMULQDQ folding. Both work on the raw CRC register.
//
// Folding: CRC32C of a message depends only on the message polynomial modulo
// P. A 16-byte lane L followed by D more bits of message contributes
// L * x^D, and L * x^D mod P can be formed with two 64x64 carry-less
// multiplications by constants (x^(D+31) and x^(D-33) mod P, bit-reflected),
// giving at most 96 bits that are XORed into the lane D bits later. Four
// 512-bit accumulators (16 lanes) fold 256 bytes per step; at the end they
// are folded into one lane, whose CRC the crc32 instruction computes.
#if defined(__x86_64__)

#include <cpuid.h>
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "crc32c_internal.h"

namespace rvmr::crc32c::internal {

namespace {

constexpr uint32_t kPoly = 0x82F63B78u;

// x^e mod P, bit-reflected (bit 31 is x^0).
constexpr uint32_t XPow(uint32_t e) {
  uint32_t v = 0x80000000u;
  while (e-- > 0) v = (v >> 1) ^ ((v & 1u) ? kPoly : 0u);
  return v;
}

// Multipliers that move a lane forward by d bits: the first is applied to
// the lane's first 8 bytes, the second to its last 8.
constexpr uint64_t FoldLo(uint32_t d) {
  return XPow(d + 31);
}
constexpr uint64_t FoldHi(uint32_t d) {
  return XPow(d - 33);
}

// Serial crc32 instructions over p[0..n); if kCopy, also stores the bytes.
template <bool kCopy>
__attribute__((target("sse4.2"))) inline uint32_t Serial(uint32_t c, const uint8_t* p, size_t n,
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
  while (n-- > 0) {
    if constexpr (kCopy) *dst++ = *p;
    c = _mm_crc32_u8(c, *p++);
  }
  return c;
}

// ---- Three streams ----

// Block sizes of the two tiers: each step consumes three blocks.
constexpr size_t kLong = 4096;
constexpr size_t kShort = 256;

// Shift(c) = the register after feeding `len` zero bytes from state c. It is
// linear in c, so four byte-indexed tables suffice.
struct ShiftTable {
  uint32_t t[4][256];
  __attribute__((target("sse4.2"))) void Init(size_t len) {
    static const uint8_t zeros[kLong] = {};
    for (int j = 0; j < 4; ++j)
      for (uint32_t b = 0; b < 256; ++b) t[j][b] = Serial<false>(b << (8 * j), zeros, len, nullptr);
  }
  uint32_t Shift(uint32_t c) const {
    return t[0][c & 0xff] ^ t[1][(c >> 8) & 0xff] ^ t[2][(c >> 16) & 0xff] ^ t[3][c >> 24];
  }
};

struct ShiftTables {
  ShiftTable lng, shrt;
  ShiftTables() {
    lng.Init(kLong);
    shrt.Init(kShort);
  }
};

const ShiftTables& GetShiftTables() {
  static const ShiftTables tables;
  return tables;
}

// Three streams over 3 * kBlock bytes at a time, while that many remain.
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

template <bool kCopy>
uint32_t Sse42T(uint32_t c, const uint8_t* p, size_t n, uint8_t* dst) {
  if (n >= 3 * kShort) {
    const ShiftTables& t = GetShiftTables();
    c = ThreeWay<kLong, kCopy>(c, p, n, t.lng, dst);
    c = ThreeWay<kShort, kCopy>(c, p, n, t.shrt, dst);
  }
  return Serial<kCopy>(c, p, n, dst);
}

// ---- Folding ----

// GCC 12's own AVX-512 headers trip -Wmaybe-uninitialized (_mm*_undefined_*).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#define RVMR_FOLD_TARGET __attribute__((target("avx512f,vpclmulqdq,pclmul,sse4.2")))

RVMR_FOLD_TARGET inline __m512i Fold512(__m512i x, __m512i k, __m512i next) {
  __m512i a = _mm512_clmulepi64_epi128(x, k, 0x00);
  __m512i b = _mm512_clmulepi64_epi128(x, k, 0x11);
  return _mm512_ternarylogic_epi64(a, b, next, 0x96);  // a ^ b ^ next
}

RVMR_FOLD_TARGET inline __m128i Fold128(__m128i x, __m128i k, __m128i next) {
  __m128i a = _mm_clmulepi64_si128(x, k, 0x00);
  __m128i b = _mm_clmulepi64_si128(x, k, 0x11);
  return _mm_xor_si128(_mm_xor_si128(a, b), next);
}

// The two multipliers for distance D, computed at compile time.
template <uint32_t D>
RVMR_FOLD_TARGET inline __m128i Consts128() {
  static constexpr uint64_t kLo = FoldLo(D), kHi = FoldHi(D);
  return _mm_set_epi64x(int64_t(kHi), int64_t(kLo));
}
template <uint32_t D>
RVMR_FOLD_TARGET inline __m512i Consts512() {
  static constexpr uint64_t kLo = FoldLo(D), kHi = FoldHi(D);
  return _mm512_set_epi64(int64_t(kHi), int64_t(kLo), int64_t(kHi), int64_t(kLo), int64_t(kHi),
                          int64_t(kLo), int64_t(kHi), int64_t(kLo));
}

// Loads 64 bytes; if kCopy, stores them to dst (64-byte aligned) with a
// streaming store: the copy goes to memory without first reading the
// destination lines into the cache.
template <bool kCopy>
RVMR_FOLD_TARGET inline __m512i Load512(const uint8_t* p, uint8_t* dst) {
  __m512i v = _mm512_loadu_si512(p);
  if constexpr (kCopy) _mm512_stream_si512(reinterpret_cast<__m512i*>(dst), v);
  return v;
}

// Below this many bytes the serial instruction is as fast.
constexpr size_t kFoldMin = 256;

template <bool kCopy>
RVMR_FOLD_TARGET uint32_t FoldT(uint32_t c, const uint8_t* p, size_t n, uint8_t* dst) {
  if (n < kFoldMin) return Serial<kCopy>(c, p, n, dst);
  if constexpr (kCopy) {
    // Up to 63 bytes serially, so that the block stores are aligned.
    const size_t head = (64 - (reinterpret_cast<uintptr_t>(dst) & 63)) & 63;
    c = Serial<true>(c, p, head, dst);
    p += head;
    dst += head;
    n -= head;
    if (n < kFoldMin) return Serial<true>(c, p, n, dst);
  }
  // The register is XORed into the first four bytes; the state is then 0.
  __m512i x0 = _mm512_xor_si512(Load512<kCopy>(p, dst),
                                _mm512_mask_set1_epi32(_mm512_setzero_si512(), 1, int(c)));
  __m512i x1 = Load512<kCopy>(p + 64, dst + (kCopy ? 64 : 0));
  __m512i x2 = Load512<kCopy>(p + 128, dst + (kCopy ? 128 : 0));
  __m512i x3 = Load512<kCopy>(p + 192, dst + (kCopy ? 192 : 0));
  p += 256;
  n -= 256;
  if constexpr (kCopy) dst += 256;
  const __m512i k2048 = Consts512<2048>();
  while (n >= 256) {
    x0 = Fold512(x0, k2048, Load512<kCopy>(p, dst));
    x1 = Fold512(x1, k2048, Load512<kCopy>(p + 64, dst + (kCopy ? 64 : 0)));
    x2 = Fold512(x2, k2048, Load512<kCopy>(p + 128, dst + (kCopy ? 128 : 0)));
    x3 = Fold512(x3, k2048, Load512<kCopy>(p + 192, dst + (kCopy ? 192 : 0)));
    p += 256;
    n -= 256;
    if constexpr (kCopy) dst += 256;
  }
  const __m512i k512 = Consts512<512>();
  x1 = Fold512(x0, k512, x1);
  x2 = Fold512(x1, k512, x2);
  x3 = Fold512(x2, k512, x3);
  while (n >= 64) {
    x3 = Fold512(x3, k512, Load512<kCopy>(p, dst));
    p += 64;
    n -= 64;
    if constexpr (kCopy) dst += 64;
  }
  // Four lanes into one.
  __m128i r = _mm512_extracti32x4_epi32(x3, 3);
  r = Fold128(_mm512_extracti32x4_epi32(x3, 0), Consts128<384>(), r);
  r = Fold128(_mm512_extracti32x4_epi32(x3, 1), Consts128<256>(), r);
  r = Fold128(_mm512_extracti32x4_epi32(x3, 2), Consts128<128>(), r);
  const __m128i k128 = Consts128<128>();
  while (n >= 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    if constexpr (kCopy) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), v);
      dst += 16;
    }
    r = Fold128(r, k128, v);
    p += 16;
    n -= 16;
  }
  if constexpr (kCopy) _mm_sfence();  // order the streaming stores before later ones
  uint64_t c64 = _mm_crc32_u64(0, uint64_t(_mm_cvtsi128_si64(r)));
  c64 = _mm_crc32_u64(c64, uint64_t(_mm_extract_epi64(r, 1)));
  return Serial<kCopy>(uint32_t(c64), p, n, dst);
}

}  // namespace

bool CpuHasSse42() {
  unsigned a, b, c, d;
  return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSE4_2) != 0;
}

bool CpuHasFold() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("pclmul") &&
         __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("vpclmulqdq");
}

uint32_t RawSse42(uint32_t c, const uint8_t* p, size_t n, uint8_t* dst) {
  return dst != nullptr ? Sse42T<true>(c, p, n, dst) : Sse42T<false>(c, p, n, nullptr);
}

uint32_t RawFold(uint32_t c, const uint8_t* p, size_t n, uint8_t* dst) {
  return dst != nullptr ? FoldT<true>(c, p, n, dst) : FoldT<false>(c, p, n, nullptr);
}

}  // namespace rvmr::crc32c::internal

#endif  // __x86_64__
