#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "common/crc32c.h"

using rvmr::crc32c::Extend;
using rvmr::crc32c::Value;

TEST_CASE("crc32c matches the published check values", "[crc32c]") {
  // RFC 3720 (iSCSI) appendix B.4 and the standard "123456789" check value.
  REQUIRE(Value("123456789", 9) == 0xE3069283u);
  std::vector<uint8_t> zeros(32, 0x00), ones(32, 0xff), inc(32), dec(32);
  for (int i = 0; i < 32; ++i) {
    inc[i] = static_cast<uint8_t>(i);
    dec[i] = static_cast<uint8_t>(31 - i);
  }
  REQUIRE(Value(zeros.data(), 32) == 0x8A9136AAu);
  REQUIRE(Value(ones.data(), 32) == 0x62A8AB43u);
  REQUIRE(Value(inc.data(), 32) == 0x46DD794Eu);
  REQUIRE(Value(dec.data(), 32) == 0x113FDB5Cu);
  REQUIRE(Value("", 0) == 0u);
}

TEST_CASE("crc32c Extend over pieces equals Value over the whole", "[crc32c]") {
  std::string s;
  for (int i = 0; i < 1000; ++i) s.push_back(static_cast<char>(i * 7 + 3));
  const uint32_t whole = Value(s.data(), s.size());
  for (size_t cut :
       {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{9}, size_t{500}, s.size()}) {
    uint32_t c = Extend(0, s.data(), cut);
    c = Extend(c, s.data() + cut, s.size() - cut);
    REQUIRE(c == whole);
  }
}

TEST_CASE("crc32c detects a single flipped bit", "[crc32c]") {
  std::string s(256, 'a');
  const uint32_t good = Value(s.data(), s.size());
  for (size_t i = 0; i < s.size(); i += 17) {
    std::string t = s;
    t[i] ^= 0x10;
    REQUIRE(Value(t.data(), t.size()) != good);
  }
}

namespace {

using rvmr::crc32c::Impl;

const char* Name(Impl impl) {
  switch (impl) {
    case Impl::kPortable:
      return "portable";
    case Impl::kSse42:
      return "sse4.2";
    case Impl::kFold:
      return "fold";
  }
  return "?";
}

// Deterministic pseudo-random bytes.
std::vector<uint8_t> Bytes(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  uint32_t x = seed;
  for (auto& b : v) {
    x = x * 1664525u + 1013904223u;
    b = static_cast<uint8_t>(x >> 24);
  }
  return v;
}

// A bit-at-a-time CRC32C straight from the definition: the reference every
// variant is compared against.
uint32_t Reference(uint32_t crc, const uint8_t* p, size_t n) {
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) {
    crc ^= p[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ ((crc & 1u) ? 0x82F63B78u : 0u);
  }
  return ~crc;
}

}  // namespace

TEST_CASE("crc32c: every variant the CPU runs matches the bitwise definition", "[crc32c]") {
  using rvmr::crc32c::ExtendAndCopyWith;
  using rvmr::crc32c::ExtendWith;
  using rvmr::crc32c::Supported;
  REQUIRE(Supported(Impl::kPortable));
  REQUIRE(Supported(rvmr::crc32c::Selected()));
  const std::vector<uint8_t> data = Bytes(300 * 1024 + 64, 42);
  std::vector<size_t> sizes;
  for (size_t n = 0; n <= 1100; ++n) sizes.push_back(n);
  for (size_t n : {4095, 4096, 4097, 12287, 12288, 12289, 65536, 65536 + 40, 262144, 300 * 1024})
    sizes.push_back(n);
  std::vector<uint32_t> want(sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i)
    want[i] = Reference(static_cast<uint32_t>(i * 2654435761u), data.data() + i % 61, sizes[i]);
  for (Impl impl : {Impl::kPortable, Impl::kSse42, Impl::kFold}) {
    if (!Supported(impl)) {
      WARN("CRC32C variant " << Name(impl) << " not supported by this CPU: not tested");
      continue;
    }
    INFO("variant " << Name(impl));
    REQUIRE(ExtendWith(impl, 0, "123456789", 9) == 0xE3069283u);
    std::vector<uint8_t> dst(data.size() + 2);
    for (size_t i = 0; i < sizes.size(); ++i) {
      const size_t n = sizes[i];
      const uint8_t* src = data.data() + i % 61;  // misaligned starts
      const uint32_t seed = static_cast<uint32_t>(i * 2654435761u);
      INFO("n=" << n);
      REQUIRE(ExtendWith(impl, seed, src, n) == want[i]);
      // The copying form: same CRC, exact copy, no byte outside written.
      std::fill(dst.begin(), dst.begin() + static_cast<std::ptrdiff_t>(n + 2), uint8_t{0xA5});
      REQUIRE(ExtendAndCopyWith(impl, seed, dst.data() + 1, src, n) == want[i]);
      REQUIRE(std::memcmp(dst.data() + 1, src, n) == 0);
      REQUIRE(dst[0] == 0xA5);
      REQUIRE(dst[n + 1] == 0xA5);
    }
  }
}

TEST_CASE("crc32c: Extend over uneven pieces of a large buffer equals one pass", "[crc32c]") {
  const std::vector<uint8_t> data = Bytes(200000, 7);
  const uint32_t whole = Value(data.data(), data.size());
  for (size_t step : {size_t{1000}, size_t{4099}, size_t{65536}, size_t{70001}}) {
    uint32_t c = 0;
    for (size_t off = 0; off < data.size(); off += step)
      c = Extend(c, data.data() + off, std::min(step, data.size() - off));
    REQUIRE(c == whole);
  }
  std::vector<uint8_t> dst(data.size());
  REQUIRE(rvmr::crc32c::ExtendAndCopy(0, dst.data(), data.data(), data.size()) == whole);
  REQUIRE(dst == data);
}
