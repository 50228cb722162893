#include <catch2/catch.hpp>

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
