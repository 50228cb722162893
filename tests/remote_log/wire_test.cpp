// Wire format: every message type round-trips; corrupted, truncated and
// oversized messages are refused.
#include <catch2/catch.hpp>
#include <cstring>

#include "common/crc32c.h"
#include "remote_log/transport.h"
#include "remote_log/wire.h"

using namespace rvmr::remote_log;
using namespace rvmr::remote_log::wire;

namespace {

std::vector<uint8_t> Msg(Type t, const std::vector<uint8_t>& payload, bool reply = false,
                         int32_t status = 0) {
  std::vector<uint8_t> out;
  BuildMessage(uint8_t(t) | (reply ? kReplyBit : 0), status, 42, payload, &out);
  return out;
}

}  // namespace

TEST_CASE("header layout is byte-exact and little-endian") {
  Header h;
  h.type = uint8_t(Type::kAppend);
  h.payload_len = 0x01020304;
  h.status = -28;
  h.request_id = 0x1122334455667788ull;
  h.payload_crc = 0xAABBCCDD;
  uint8_t b[kHeaderSize];
  EncodeHeader(h, b);
  CHECK(std::memcmp(b, "RVML", 4) == 0);
  CHECK(b[4] == 2);
  CHECK(b[5] == 4);
  CHECK(b[6] == 0);
  CHECK(b[7] == 0);
  CHECK(b[8] == 0x04);
  CHECK(b[11] == 0x01);
  CHECK(Get32(b + 12) == uint32_t(-28));
  CHECK(b[16] == 0x88);
  CHECK(b[23] == 0x11);
  CHECK(Get32(b + 24) == 0xAABBCCDD);
  CHECK(Get32(b + 28) == rvmr::crc32c::Value(b, 28));
  Header d;
  // payload_len is over the maximum: refused with "too big".
  int32_t err = 0;
  CHECK_FALSE(DecodeHeader(b, &d, &err).ok());
  CHECK(err == kErrTooBig);
  h.payload_len = 100;
  EncodeHeader(h, b);
  REQUIRE(DecodeHeader(b, &d, &err).ok());
  CHECK(d.type == h.type);
  CHECK(d.payload_len == 100);
  CHECK(d.status == -28);
  CHECK(d.request_id == h.request_id);
  CHECK(d.payload_crc == h.payload_crc);
}

TEST_CASE("header corruption is detected") {
  Header h;
  h.type = uint8_t(Type::kStat);
  uint8_t b[kHeaderSize];
  EncodeHeader(h, b);
  Header d;
  for (size_t i = 0; i < kHeaderSize; ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      uint8_t c[kHeaderSize];
      std::memcpy(c, b, kHeaderSize);
      c[i] ^= uint8_t(1 << bit);
      INFO("byte " << i << " bit " << bit);
      CHECK_FALSE(DecodeHeader(c, &d).ok());
    }
  }
  // Wrong version (the previous one) with a valid CRC.
  uint8_t c[kHeaderSize];
  std::memcpy(c, b, kHeaderSize);
  c[4] = 1;
  Put32(c + 28, rvmr::crc32c::Value(c, 28));
  int32_t err = 0;
  CHECK_FALSE(DecodeHeader(c, &d, &err).ok());
  CHECK(err == kErrVersion);
  // Unknown type with a valid CRC.
  std::memcpy(c, b, kHeaderSize);
  c[5] = 77;
  Put32(c + 28, rvmr::crc32c::Value(c, 28));
  CHECK_FALSE(DecodeHeader(c, &d, &err).ok());
  CHECK(err == kErrProto);
}

TEST_CASE("v2 frames: control MAC flag, owned OPEN, LIST with an owner proof") {
  // The MAC flag is allowed on requests only; other flag bits stay reserved.
  Header h;
  h.type = uint8_t(Type::kTrim);
  h.flags = kFlagMac;
  uint8_t b[kHeaderSize];
  EncodeHeader(h, b);
  Header d;
  CHECK(DecodeHeader(b, &d).ok());
  CHECK(d.flags == kFlagMac);
  h.type = uint8_t(Type::kTrim) | kReplyBit;
  EncodeHeader(h, b);
  CHECK_FALSE(DecodeHeader(b, &d).ok());
  h.type = uint8_t(Type::kTrim);
  h.flags = 2;
  EncodeHeader(h, b);
  CHECK_FALSE(DecodeHeader(b, &d).ok());
  // StripMac: n less the MAC, never below zero.
  h.flags = kFlagMac;
  size_t n = 40;
  CHECK(StripMac(h, &n).ok());
  CHECK(n == 8);
  n = 31;
  CHECK_FALSE(StripMac(h, &n).ok());
  // An owned OPEN: byte layout (flags bit 1, proof after the name) and round trip.
  OpenRequest o;
  o.epoch = 3;
  o.name = "log";
  o.create = true;
  o.owner.present = true;
  for (size_t i = 0; i < kOwnerKeySize; i++) o.owner.key[i] = uint8_t(i);
  for (size_t i = 0; i < kOwnerSigSize; i++) o.owner.sig[i] = uint8_t(100 + i);
  std::vector<uint8_t> p;
  EncodeOpenRequest(o, &p);
  REQUIRE(p.size() == 24 + 3 + kOwnerProofSize);
  CHECK(Get32(p.data() + 16) == 3);
  CHECK(p[27] == 0);
  CHECK(p[27 + kOwnerKeySize] == 100);
  OpenRequest back;
  REQUIRE(DecodeOpenRequest(p.data(), p.size(), &back).ok());
  CHECK(back.owner.present);
  CHECK(std::memcmp(back.owner.key, o.owner.key, kOwnerKeySize) == 0);
  CHECK(std::memcmp(back.owner.sig, o.owner.sig, kOwnerSigSize) == 0);
  CHECK(back.name == "log");
  // Truncated proof, or flag without proof: malformed.
  for (size_t cut = 1; cut <= kOwnerProofSize; cut += 19)
    CHECK_FALSE(DecodeOpenRequest(p.data(), p.size() - cut, &back).ok());
  // LIST request: empty, or exactly one proof.
  OwnerProof lp;
  CHECK(DecodeListRequest(nullptr, 0, &lp).ok());
  CHECK_FALSE(lp.present);
  std::vector<uint8_t> l;
  EncodeListRequest(o.owner, &l);
  REQUIRE(l.size() == kOwnerProofSize);
  CHECK(DecodeListRequest(l.data(), l.size(), &lp).ok());
  CHECK(lp.present);
  CHECK_FALSE(DecodeListRequest(l.data(), l.size() - 1, &lp).ok());
  CHECK(ErrorToStatus(kErrNotOwner, "open").sys_errno() == 1);
}

TEST_CASE("every message type round-trips through ParseMessage") {
  Header h;
  std::vector<uint8_t> p;
  EncodeHelloRequest(HelloRequest{}, &p);
  CHECK(ParseMessage(Msg(Type::kHello, p).data(), Msg(Type::kHello, p).size(), &h).ok());
  HelloReply hr;
  hr.auth_required = true;
  hr.nonce[3] = 9;
  p.clear();
  EncodeHelloReply(hr, &p);
  CHECK(p.size() == kHelloReplySize);
  HelloReply hr2;
  REQUIRE(DecodeHelloReply(p.data(), p.size(), &hr2).ok());
  CHECK(hr2.auth_required);
  CHECK(hr2.nonce[3] == 9);

  OpenRequest o;
  o.epoch = 7;
  o.create = true;
  o.create_offset = 4096;
  o.name = "0123456789abcdef0123456789abcdef";
  p.clear();
  EncodeOpenRequest(o, &p);
  CHECK(p.size() == 24 + o.name.size());
  auto m = Msg(Type::kOpen, p);
  REQUIRE(ParseMessage(m.data(), m.size(), &h).ok());
  OpenRequest o2;
  REQUIRE(DecodeOpenRequest(p.data(), p.size(), &o2).ok());
  CHECK(o2.epoch == 7);
  CHECK(o2.create);
  CHECK(o2.create_offset == 4096);
  CHECK(o2.name == o.name);

  LogInfo li{3, 10, 30, 20};
  p.clear();
  EncodeLogInfo(li, &p);
  LogInfo li2;
  REQUIRE(DecodeLogInfo(p.data(), p.size(), &li2).ok());
  CHECK(li2.epoch == 3);
  CHECK(li2.start == 10);
  CHECK(li2.tail == 30);
  CHECK(li2.durable == 20);
  m = Msg(Type::kStat, p, true);
  CHECK(ParseMessage(m.data(), m.size(), &h).ok());

  std::vector<LogEntry> logs = {{"a", li}, {"log-2", LogInfo{1, 0, 5, 0}}};
  p.clear();
  EncodeList(logs, &p);
  std::vector<LogEntry> logs2;
  REQUIRE(DecodeList(p.data(), p.size(), &logs2).ok());
  REQUIRE(logs2.size() == 2);
  CHECK(logs2[1].name == "log-2");
  CHECK(logs2[1].info.tail == 5);

  p.clear();
  EncodeU64(99, &p);
  p.insert(p.end(), {1, 2, 3});
  m = Msg(Type::kAppend, p);
  REQUIRE(ParseMessage(m.data(), m.size(), &h).ok());
  uint64_t off;
  const uint8_t* d;
  size_t dl;
  REQUIRE(DecodeAppendRequest(p.data(), p.size(), &off, &d, &dl).ok());
  CHECK(off == 99);
  CHECK(dl == 3);
  CHECK(d[2] == 3);
}

TEST_CASE("truncated and corrupted messages are refused") {
  OpenRequest o;
  o.name = "log";
  std::vector<uint8_t> p;
  EncodeOpenRequest(o, &p);
  auto m = Msg(Type::kOpen, p);
  Header h;
  REQUIRE(ParseMessage(m.data(), m.size(), &h).ok());
  for (size_t n = 0; n < m.size(); ++n) CHECK_FALSE(ParseMessage(m.data(), n, &h).ok());
  for (size_t i = kHeaderSize; i < m.size(); ++i) {
    auto c = m;
    c[i] ^= 0x40;
    CHECK_FALSE(ParseMessage(c.data(), c.size(), &h).ok());
  }
  // Payload layouts with valid CRCs but wrong contents.
  std::vector<uint8_t> bad(8, 0);
  CHECK_FALSE(DecodeOpenRequest(bad.data(), bad.size(), &o).ok());
  p[20] = 200;  // name length no longer matches
  CHECK_FALSE(DecodeOpenRequest(p.data(), p.size(), &o).ok());
  OpenRequest slash;
  slash.name = "a/b";
  p.clear();
  EncodeOpenRequest(slash, &p);
  CHECK_FALSE(DecodeOpenRequest(p.data(), p.size(), &o).ok());
  LogInfo li{1, 50, 40, 45};  // start beyond tail
  p.clear();
  EncodeLogInfo(li, &p);
  CHECK_FALSE(DecodeLogInfo(p.data(), p.size(), &li).ok());
  ReadRequest rr{0, kMaxReadData + 1};
  p.clear();
  EncodeReadRequest(rr, &p);
  CHECK_FALSE(DecodeReadRequest(p.data(), p.size(), &rr).ok());
  std::vector<uint8_t> list = {0xff, 0xff, 0xff, 0xff};
  std::vector<LogEntry> logs;
  CHECK_FALSE(DecodeList(list.data(), list.size(), &logs).ok());
  // A request with a status set.
  m.clear();
  BuildMessage(uint8_t(Type::kStat), -1, 1, {}, &m);
  CHECK_FALSE(ParseMessage(m.data(), m.size(), &h).ok());
}

TEST_CASE("URIs parse into scheme and host and port") {
  Endpoint ep;
  REQUIRE(ParseUri("tcp://127.0.0.1:7483", &ep).ok());
  CHECK(ep.scheme == "tcp");
  CHECK(ep.host == "127.0.0.1");
  CHECK(ep.port == 7483);
  REQUIRE(ParseUri("rdma://[fe80::1]:99", &ep).ok());
  CHECK(ep.scheme == "rdma");
  CHECK(ep.host == "fe80::1");
  CHECK(ep.port == 99);
  CHECK_FALSE(ParseUri("127.0.0.1:7483", &ep).ok());
  CHECK_FALSE(ParseUri("tcp://host", &ep).ok());
  CHECK_FALSE(ParseUri("tcp://host:0", &ep).ok());
  CHECK_FALSE(ParseUri("tcp://host:65536", &ep).ok());
  CHECK_FALSE(ParseUri("tcp://:80", &ep).ok());
  CHECK_FALSE(ParseUri("tcp://::1:80", &ep).ok());
  CHECK_FALSE(ParseUri("tcp://h:8x", &ep).ok());
}

TEST_CASE("wire errors map to distinct statuses") {
  CHECK(ErrorToStatus(kErrFenced, "x").code() == rvmr::Status::Code::kFenced);
  CHECK(ErrorToStatus(kErrNoSpace, "x").code() == rvmr::Status::Code::kNoSpace);
  CHECK(ErrorToStatus(kErrNotFound, "x").code() == rvmr::Status::Code::kNotFound);
  CHECK(ErrorToStatus(kErrDuplicate, "x").message() != ErrorToStatus(kErrGap, "x").message());
  CHECK(ErrorToStatus(kOk, "x").ok());
}

TEST_CASE("AppendCrc covers the offset, then the bytes of every iovec") {
  // (The CRC32C variants themselves are tested in tests/common.)
  std::vector<uint8_t> buf(6000);
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = uint8_t(i * 131 + (i >> 7));
  uint8_t off[8];
  Put64(off, 77);
  iovec iov[3] = {{buf.data(), 1000}, {buf.data() + 1000, 0}, {buf.data() + 1000, 5000}};
  CHECK(AppendCrc(77, iov, 3) ==
        rvmr::crc32c::Extend(rvmr::crc32c::Value(off, 8), buf.data(), 6000));
  CHECK(AppendCrc(78, iov, 3) != AppendCrc(77, iov, 3));
  CHECK(AppendCrc(77, iov, 0) == rvmr::crc32c::Value(off, 8));
}
