// ExtentMap against a byte-array model: random overlapping writes must leave
// exactly the last bytes written at each offset, as non-overlapping,
// non-adjacent extents (adjacent ones are merged).
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "shim/extent_map.h"

using rvmr::log::ExtentMap;

namespace {

// Checks m against the model: `bytes` holds the last byte written at each
// offset, `set` whether any write covered it.
void CheckAgainstModel(const ExtentMap& m, const std::string& bytes, const std::vector<bool>& set) {
  std::vector<bool> seen(set.size(), false);
  uint64_t prev_end = 0;
  bool first = true;
  for (const auto& [off, data] : m.extents()) {
    REQUIRE(!data.empty());
    // Sorted, disjoint, and never touching the previous extent.
    if (!first) REQUIRE(off > prev_end);
    first = false;
    REQUIRE(off + data.size() <= bytes.size());
    for (size_t i = 0; i < data.size(); ++i) {
      REQUIRE(set[off + i]);
      REQUIRE(data[i] == bytes[off + i]);
      seen[off + i] = true;
    }
    prev_end = off + data.size();
  }
  CHECK(seen == set);
}

}  // namespace

TEST_CASE("ExtentMap: random overlapping writes match a byte-array model") {
  std::mt19937 rng(12345);
  for (int round = 0; round < 50; ++round) {
    const size_t space = 64 + rng() % 512;
    ExtentMap m;
    std::string bytes(space, '\0');
    std::vector<bool> set(space, false);
    uint64_t written = 0;
    for (int w = 0; w < 200; ++w) {
      size_t off = rng() % space;
      size_t len = 1 + rng() % std::min<size_t>(space - off, w % 7 == 0 ? 200 : 12);
      std::string data(len, '\0');
      for (char& c : data) c = static_cast<char>('a' + rng() % 26);
      m.Write(off, data.data(), len);
      bytes.replace(off, len, data);
      for (size_t i = off; i < off + len; ++i) set[i] = true;
      written += len;
    }
    CHECK(m.written() == written);
    CheckAgainstModel(m, bytes, set);
  }
}

TEST_CASE("ExtentMap: random writes and erases match a byte-array model") {
  std::mt19937 rng(777);
  for (int round = 0; round < 50; ++round) {
    const size_t space = 64 + rng() % 512;
    ExtentMap m;
    std::string bytes(space, '\0');
    std::vector<bool> set(space, false);
    for (int w = 0; w < 200; ++w) {
      size_t off = rng() % space;
      size_t len = 1 + rng() % std::min<size_t>(space - off, w % 5 == 0 ? 200 : 16);
      if (rng() % 3 == 0) {
        m.Erase(off, len);
        for (size_t i = off; i < off + len; ++i) set[i] = false;
        continue;
      }
      std::string data(len, static_cast<char>('a' + rng() % 26));
      m.Write(off, data.data(), len);
      bytes.replace(off, len, data);
      for (size_t i = off; i < off + len; ++i) set[i] = true;
    }
    CheckAgainstModel(m, bytes, set);
  }
}

TEST_CASE("ExtentMap: a write inside one extent overwrites it in place") {
  ExtentMap m;
  std::string big(4096, 'x');
  m.Write(100, big.data(), big.size());
  m.Write(100, "AB", 2);         // at the start
  m.Write(100 + 4094, "YZ", 2);  // at the very end
  m.Write(2000, "mid", 3);       // in the middle
  REQUIRE(m.extents().size() == 1);
  const std::string& e = m.extents().begin()->second;
  CHECK(m.extents().begin()->first == 100);
  CHECK(e.size() == 4096);
  CHECK(e.substr(0, 3) == "ABx");
  CHECK(e.substr(1900, 4) == "midx");
  CHECK(e.substr(4093) == "xYZ");
  CHECK(m.written() == 4096 + 7);
}
