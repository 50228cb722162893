// Feeds the log parser fuzz target (FuzzLogFile: inspect, verify and a
// dry-run replay of one log file image) random and mutated logs for a
// bounded time (RVM_LOG_FUZZ_SECONDS, default 10). A crash, a sanitizer
// report or a hang fails the test.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <sstream>

#include "commands.h"
#include "fuzz_log_parser.h"
#include "shim/log_format.h"
#include "tools_test_helpers.h"

using namespace rvmr;
using rvmr::testing::LogBuilder;
using rvmr::testing::TempDir;

namespace {

struct Image {
  std::string bytes;
  std::vector<uint64_t> offsets;  // record offsets
  log::LogStatus st;
};

Image MakeImage(const TempDir& dir, const std::string& name, uint64_t area, uint64_t head, int txns,
                uint64_t seed) {
  LogBuilder b(dir.File(name), area, head, 1 + head / 8, 3);
  b.AddDict(1, dir.File("seg1"));
  b.AddDict(2, dir.File("seg2"));
  std::mt19937_64 rng(seed);
  b.AddRandomTxns(txns, 2, 4096, &rng, 200);
  b.Sync();
  Image im;
  im.bytes = testing::ReadFile(b.path());
  im.offsets = b.offsets();
  im.st = b.status();
  return im;
}

// Rewrites a record's CRC so that a payload mutation reaches the payload parser.
void Recrc(Image* im, std::string* bytes, uint64_t off) {
  uint64_t pos = im->st.area_start + off % im->st.area_size;
  if (pos + log::kRecordHeaderSize > bytes->size()) return;
  char* h = bytes->data() + pos;
  uint32_t len = log::GetU32(h + 16);
  if (pos + log::kRecordHeaderSize + len > bytes->size()) return;
  log::PutU32(h + 4, log::RecordCrc(h, h + log::kRecordHeaderSize, len));
}

std::string Mutate(Image* im, std::mt19937_64& rng) {
  std::string b = im->bytes;
  auto pick = [&](uint64_t n) { return n ? rng() % n : 0; };
  switch (rng() % 8) {
    case 0: {  // bit flips anywhere
      int n = 1 + int(pick(8));
      for (int i = 0; i < n; i++) b[pick(b.size())] ^= char(1 << pick(8));
      break;
    }
    case 1:  // truncation
      b.resize(pick(b.size()));
      break;
    case 2: {  // random bytes in the record area
      uint64_t at = im->st.area_start + pick(im->st.area_size);
      size_t n = 1 + pick(64);
      for (size_t i = 0; i < n && at + i < b.size(); i++) b[at + i] = char(rng());
      break;
    }
    case 3: {  // a status copy with odd but CRC-valid fields
      log::LogStatus st = im->st;
      uint64_t vals[] = {0,
                         8,
                         48,
                         4096,
                         im->st.area_size - 8,
                         im->st.area_size,
                         im->st.area_size + 8,
                         UINT64_MAX - 7,
                         1ull << 40,
                         rng() & ~7ull};
      st.head = vals[pick(10)];
      st.tail_hint = vals[pick(10)];
      if (rng() % 2) st.area_size = vals[pick(10)];
      if (rng() % 3 == 0) st.area_start = 8192 + 8 * pick(4);
      st.head_lsn = rng() % 3 ? im->st.head_lsn : rng();
      st.epoch = rng() % 3 ? im->st.epoch : rng() % 5;
      st.write_counter += 10;
      char copy[log::kStatusCopySize];
      log::EncodeLogStatus(st, copy);
      b.replace(size_t(pick(2) * log::kStatusCopySize), sizeof(copy), copy, sizeof(copy));
      break;
    }
    case 4:
    case 5: {  // a CRC-valid record with a mangled payload
      uint64_t off = im->offsets[pick(im->offsets.size())];
      uint64_t pos = im->st.area_start + off % im->st.area_size;
      uint32_t len = log::GetU32(b.data() + pos + 16);
      uint64_t field = pos + log::kRecordHeaderSize + pick(std::min<uint32_t>(len, 64));
      uint64_t vals[] = {0, 1, 7, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFFull, rng()};
      uint64_t v = vals[pick(6)];
      for (int i = 0; i < 8 && field + i < b.size(); i++) b[field + i] = char(v >> (8 * i));
      if (rng() % 4 == 0) log::PutU32(b.data() + pos + 16, uint32_t(pick(len + 64)));
      if (rng() % 4 == 0) log::PutU16(b.data() + pos + 10, uint16_t(pick(5)));
      Recrc(im, &b, off);
      break;
    }
    case 6: {  // a random small file
      b.resize(pick(20000));
      for (auto& c : b) c = char(rng());
      break;
    }
    default: {  // header fields of a record, CRC recomputed
      uint64_t off = im->offsets[pick(im->offsets.size())];
      uint64_t pos = im->st.area_start + off % im->st.area_size;
      uint64_t f = pos + 8 + 8 * pick(5);
      for (int i = 0; i < 8; i++) b[f + i] = char(rng());
      Recrc(im, &b, off);
      break;
    }
  }
  return b;
}

}  // namespace

TEST_CASE("fuzz the log parser with random and mutated logs for a bounded time", "[fuzz]") {
  TempDir dir;
  testing::MakeSegments({dir.File("seg1"), dir.File("seg2")}, 4096);
  std::vector<Image> images;
  images.push_back(MakeImage(dir, "a", 16384, 0, 20, 1));
  images.push_back(MakeImage(dir, "b", 8192, 0, 8, 2));
  images.push_back(MakeImage(dir, "c", 32768, 4096, 40, 3));
  // The unmutated images are sound, and the target runs them cleanly.
  for (auto& im : images) {
    REQUIRE(im.bytes.size() > 8192);
    std::string p = dir.File("check");
    testing::WriteFile(p, im.bytes);
    std::ostringstream out, err;
    tools::VerifyOptions v;
    v.log_paths = {p};
    CHECK(tools::RunVerify(v, out, err) == tools::kExitOk);
    CHECK(tools::FuzzLogFile(reinterpret_cast<const uint8_t*>(im.bytes.data()), im.bytes.size()) ==
          0);
  }
  double seconds = 10;
  if (const char* e = std::getenv("RVM_LOG_FUZZ_SECONDS")) seconds = std::atof(e);
  std::mt19937_64 rng(std::random_device{}());
  uint64_t seed = rng();
  INFO("seed " << seed);
  rng.seed(seed);
  auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  uint64_t runs = 0;
  while (std::chrono::steady_clock::now() < until) {
    Image& im = images[rng() % images.size()];
    std::string b = Mutate(&im, rng);
    REQUIRE(tools::FuzzLogFile(reinterpret_cast<const uint8_t*>(b.data()), b.size()) == 0);
    runs++;
  }
  INFO("runs " << runs);
  CHECK(runs > 10);
}
