// Drives the fuzz target of the wire parser and the server's Session
// (remote_log/src/wire_fuzz.cpp) for a bounded time with random bytes and
// with mutations of valid messages of every type and of a session's records. The target aborts on any inconsistency; ASan/UBSan builds catch
// out-of-bounds reads.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <random>
#include <vector>

#include "common/crc32c.h"
#include "remote_log/auth.h"
#include "remote_log/wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

using namespace rvmr::remote_log;
using namespace rvmr::remote_log::wire;

namespace {

std::vector<std::vector<uint8_t>> Seeds() {
  std::vector<std::vector<uint8_t>> seeds;
  auto add = [&](Type t, bool reply, int32_t status, const std::vector<uint8_t>& p) {
    std::vector<uint8_t> m;
    BuildMessage(uint8_t(t) | (reply ? kReplyBit : 0), status, 7, p, &m);
    seeds.push_back(m);
  };
  std::vector<uint8_t> p;
  EncodeHelloRequest(HelloRequest{}, &p);
  add(Type::kHello, false, 0, p);
  p.clear();
  EncodeHelloReply(HelloReply{}, &p);
  add(Type::kHello, true, 0, p);
  p.clear();
  EncodeAuthRequest(AuthRequest{}, &p);
  add(Type::kAuth, false, 0, p);
  p.clear();
  OpenRequest o;
  o.name = "deadbeef";
  o.create = true;
  EncodeOpenRequest(o, &p);
  add(Type::kOpen, false, 0, p);
  p.clear();
  EncodeLogInfo(LogInfo{1, 2, 9, 3}, &p);
  add(Type::kOpen, true, 0, p);
  add(Type::kStat, true, 0, p);
  p.clear();
  EncodeU64(5, &p);
  p.insert(p.end(), 40, 0xAB);
  add(Type::kAppend, false, 0, p);
  p.clear();
  EncodeAppendReply(AppendReply{5, 45}, &p);
  add(Type::kAppend, true, kErrGap, p);
  p.clear();
  EncodeReadRequest(ReadRequest{3, 100}, &p);
  add(Type::kRead, false, 0, p);
  p.clear();
  EncodeList({{"a", LogInfo{1, 0, 1, 0}}, {"bb", LogInfo{}}}, &p);
  add(Type::kList, true, 0, p);
  add(Type::kList, false, 0, {});
  // Protocol v2: an owned OPEN, a LIST with an owner proof, control MACs.
  OpenRequest owned = o;
  owned.owner.present = true;
  owned.owner.key[0] = 7;
  owned.owner.sig[63] = 9;
  p.clear();
  EncodeOpenRequest(owned, &p);
  add(Type::kOpen, false, 0, p);
  OwnerProof proof;
  proof.present = true;
  p.clear();
  EncodeListRequest(proof, &p);
  add(Type::kList, false, 0, p);
  {
    static const uint8_t kKey[kMacSize] = {5};
    std::vector<uint8_t> m, q;
    EncodeOpenRequest(owned, &q);
    rvmr::remote_log::auth::BuildRequest(uint8_t(Type::kOpen), 9, q, kKey, &m);
    seeds.push_back(m);
    q.clear();
    EncodeU64(77, &q);
    rvmr::remote_log::auth::BuildRequest(uint8_t(Type::kTrim), 10, q, kKey, &m);
    seeds.push_back(m);
    rvmr::remote_log::auth::BuildRequest(uint8_t(Type::kClose), 11, {}, kKey, &m);
    seeds.push_back(m);
  }
  add(Type::kClose, false, 0, {});
  add(Type::kStat, true, kErrNoLog, {});
  // A session as [type][length][payload] records, the form the fuzz target
  // turns into valid frames for the server's Session.
  std::vector<uint8_t> rec;
  auto record = [&](Type t, const std::vector<uint8_t>& payload) {
    rec.push_back(uint8_t(t));
    rec.push_back(uint8_t(payload.size()));
    rec.insert(rec.end(), payload.begin(), payload.end());
  };
  p.clear();
  EncodeOpenRequest(o, &p);
  record(Type::kOpen, p);
  p.clear();
  EncodeU64(0, &p);
  p.insert(p.end(), 40, 0xCD);
  record(Type::kAppend, p);
  p.clear();
  EncodeReadRequest(ReadRequest{0, 40}, &p);
  record(Type::kRead, p);
  p.clear();
  EncodeU64(20, &p);
  record(Type::kTrim, p);
  record(Type::kStat, {});
  record(Type::kList, {});
  record(Type::kClose, {});
  seeds.push_back(rec);
  return seeds;
}

// Fixes the CRCs after a mutation so that the parser gets past them.
void Reseal(std::vector<uint8_t>* m) {
  if (m->size() < kHeaderSize) return;
  uint32_t len = Get32(m->data() + 8);
  if (len == m->size() - kHeaderSize)
    Put32(m->data() + 24, rvmr::crc32c::Value(m->data() + kHeaderSize, len));
  Put32(m->data() + 28, rvmr::crc32c::Value(m->data(), 28));
}

}  // namespace

TEST_CASE("wire parser survives random and mutated messages for a bounded time") {
  auto seeds = Seeds();
  std::mt19937_64 rng(12345);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(8);
  uint64_t runs = 0;
  // Every message seed parses as-is (the last is a record stream).
  for (size_t i = 0; i < seeds.size(); ++i) {
    Header h;
    if (i + 1 < seeds.size()) REQUIRE(ParseMessage(seeds[i].data(), seeds[i].size(), &h).ok());
    LLVMFuzzerTestOneInput(seeds[i].data(), seeds[i].size());
  }
  while (std::chrono::steady_clock::now() < deadline) {
    for (int k = 0; k < 200; ++k, ++runs) {
      std::vector<uint8_t> m;
      int mode = int(rng() % 4);
      if (mode == 0) {
        m.resize(rng() % 300);
        for (auto& b : m) b = uint8_t(rng());
      } else {
        m = seeds[rng() % seeds.size()];
        int muts = 1 + int(rng() % 4);
        for (int i = 0; i < muts; ++i) {
          switch (rng() % 5) {
            case 0:
              if (!m.empty()) m[rng() % m.size()] ^= uint8_t(1 << (rng() % 8));
              break;
            case 1:
              if (!m.empty()) m[rng() % m.size()] = uint8_t(rng());
              break;
            case 2:
              m.resize(rng() % (m.size() + 1));
              break;
            case 3:
              m.insert(m.begin() + long(rng() % (m.size() + 1)), uint8_t(rng()));
              break;
            case 4: {
              auto& other = seeds[rng() % seeds.size()];
              m.insert(m.end(), other.begin(), other.end());
              break;
            }
          }
        }
        if (mode >= 2) Reseal(&m);
        if (mode == 3 && m.size() >= kHeaderSize) {
          // Make the length field agree with the size, then reseal.
          Put32(m.data() + 8, uint32_t(m.size() - kHeaderSize));
          Reseal(&m);
        }
      }
      LLVMFuzzerTestOneInput(m.data(), m.size());
    }
  }
  INFO("runs: " << runs);
  CHECK(runs > 1000);
}
