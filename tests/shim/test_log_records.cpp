// Record framing: writer/reader round trips, wrap straddling, every
// corruption and truncation case the reader distinguishes.
#include <catch2/catch.hpp>

#include "shim/log_format.h"
#include "shim/log_payload.h"
#include "shim/log_record_reader.h"
#include "shim/log_record_writer.h"
#include "test_helpers.h"

using namespace rvmr;
using namespace rvmr::log;
using rvmr::testing::MemLog;

namespace {
std::string Payload(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i++) s[i] = static_cast<char>(seed + i * 7);
  return s;
}
}  // namespace

TEST_CASE("header encoding is 48 little-endian bytes") {
  RecordHeader h;
  h.type = 2;
  h.flags = 0x01020304;
  h.payload_len = 77;
  h.offset = 0x1122334455667788ull;
  h.lsn = 9;
  h.epoch = 3;
  char b[kRecordHeaderSize];
  EncodeRecordHeader(h, b);
  CHECK(GetU32(b) == kRecordMagic);
  CHECK(std::memcmp(b, "RVMR", 4) == 0);
  CHECK(static_cast<uint8_t>(b[24]) == 0x88);
  RecordHeader d = DecodeRecordHeader(b);
  CHECK(d.type == 2);
  CHECK(d.flags == 0x01020304u);
  CHECK(d.payload_len == 77);
  CHECK(d.offset == h.offset);
  CHECK(d.lsn == 9);
  CHECK(d.epoch == 3);
  CHECK(RecordSize(0) == 48);
  CHECK(RecordSize(1) == 56);
  CHECK(RecordSize(8) == 56);
}

TEST_CASE("records round trip in order with offsets, lsns and epoch") {
  MemLog mem(1 << 16);
  LogRecordWriter w(5, 0, 1);
  std::string buf;
  std::vector<std::string> payloads;
  for (int i = 0; i < 20; i++) {
    payloads.push_back(Payload(i * 13, static_cast<char>(i)));
    w.Add(&buf, RecordType::kTransaction, i, payloads.back());
  }
  mem.Write(0, buf);
  CHECK(w.next_offset() == buf.size());
  CHECK(w.next_lsn() == 21);
  LogRecordReader r(&mem, 0, w.next_offset(), 1, 5);
  LogRecord rec;
  for (int i = 0; i < 20; i++) {
    REQUIRE(r.ReadRecord(&rec).ok());
    CHECK(rec.payload == payloads[i]);
    CHECK(rec.header.flags == static_cast<uint32_t>(i));
    CHECK(rec.header.lsn == static_cast<uint64_t>(i + 1));
    CHECK(rec.header.epoch == 5);
    CHECK(rec.offset() % 8 == 0);
  }
  Status s = r.ReadRecord(&rec);
  CHECK(!s.ok());
  CHECK(r.error() == ReadError::kEndOfRange);
  CHECK(r.offset() == w.next_offset());
}

TEST_CASE("a record straddling the wrap point reads back intact") {
  const uint64_t area = 4096;
  MemLog mem(area);
  // Start 40 bytes before the end of the third lap.
  uint64_t start = 3 * area - 40;
  LogRecordWriter w(1, start, 100);
  std::string buf;
  std::string p = Payload(300, 'a');
  w.Add(&buf, RecordType::kTransaction, 0, p);
  w.Add(&buf, RecordType::kSegmentDict, 0, EncodeSegmentDict(3, "/tmp/seg"));
  mem.Write(start, buf);
  LogRecordReader r(&mem, start, start + area, 100);
  LogRecord rec;
  REQUIRE(r.ReadRecord(&rec).ok());
  CHECK(rec.payload == p);
  CHECK(rec.offset() == start);
  REQUIRE(r.ReadRecord(&rec).ok());
  uint32_t code;
  std::string name;
  REQUIRE(ParseSegmentDict(rec.payload, &code, &name).ok());
  CHECK(code == 3);
  CHECK(name == "/tmp/seg");
  CHECK(!r.ReadRecord(&rec).ok());
  CHECK(r.error() == ReadError::kBadMagic);  // zeros after the tail
  CHECK_FALSE(r.error_is_damage());
}

TEST_CASE("stale records from an earlier lap are rejected by their offset") {
  const uint64_t area = 4096;
  MemLog mem(area);
  LogRecordWriter old(1, 0, 1);
  std::string buf;
  for (int i = 0; i < 10; i++) old.Add(&buf, RecordType::kTransaction, 0, Payload(100, 'x'));
  mem.Write(0, buf);
  // One lap later, the first record position is reused by a short record.
  LogRecordWriter w(1, area, 50);
  std::string nb;
  w.Add(&nb, RecordType::kTransaction, 0, Payload(10, 'y'));
  mem.Write(area, nb);
  LogRecordReader r(&mem, area, 2 * area, 50);
  LogRecord rec;
  REQUIRE(r.ReadRecord(&rec).ok());
  CHECK(!r.ReadRecord(&rec).ok());
  // Position area+64 holds bytes of the old first record's payload, not a header.
  CHECK((r.error() == ReadError::kBadMagic || r.error() == ReadError::kOffsetMismatch));
  // A reader started at a stale record's position sees an offset mismatch.
  LogRecordReader r2(&mem, area + 152, 2 * area);
  CHECK(!r2.ReadRecord(&rec).ok());
  CHECK(r2.error() == ReadError::kOffsetMismatch);
  CHECK_FALSE(r2.error_is_damage());
}

TEST_CASE("every corruption of a record is detected precisely") {
  MemLog mem(8192);
  LogRecordWriter w(2, 0, 1);
  std::string buf;
  w.Add(&buf, RecordType::kTransaction, 0, Payload(200, 'q'));
  uint64_t second = w.next_offset();
  w.Add(&buf, RecordType::kTransaction, 0, Payload(64, 'r'));
  uint64_t end = w.next_offset();
  auto scan = [&](uint64_t limit, uint64_t first_lsn = 1, uint64_t max_epoch = UINT64_MAX) {
    LogRecordReader r(&mem, 0, limit, first_lsn, max_epoch);
    LogRecord rec;
    REQUIRE(r.ReadRecord(&rec).ok());
    Status s = r.ReadRecord(&rec);
    CHECK(!s.ok());
    CHECK(r.error_offset() == second);
    CHECK(s.message().find("offset " + std::to_string(second)) != std::string::npos);
    return std::make_pair(r.error(), r.error_is_damage());
  };
  SECTION("payload byte flipped") {
    mem.Write(0, buf);
    mem.At(second + kRecordHeaderSize + 5) ^= 1;
    CHECK(scan(end) == std::make_pair(ReadError::kBadCrc, true));
  }
  SECTION("header flag flipped") {
    mem.Write(0, buf);
    mem.At(second + 12) ^= 0x40;
    CHECK(scan(end) == std::make_pair(ReadError::kBadCrc, true));
  }
  SECTION("crc field damaged") {
    mem.Write(0, buf);
    mem.At(second + 5) ^= 0x10;
    CHECK(scan(end) == std::make_pair(ReadError::kBadCrc, true));
  }
  SECTION("magic damaged") {
    mem.Write(0, buf);
    mem.At(second) ^= 0xff;
    CHECK(scan(end).first == ReadError::kBadMagic);
  }
  SECTION("unknown version") {
    mem.Write(0, buf);
    mem.At(second + 8) = 9;
    CHECK(scan(end) == std::make_pair(ReadError::kBadVersion, true));
  }
  SECTION("offset field damaged") {
    mem.Write(0, buf);
    mem.At(second + 25) ^= 0x01;
    CHECK(scan(end).first == ReadError::kOffsetMismatch);
  }
  SECTION("length beyond the area") {
    mem.Write(0, buf);
    mem.At(second + 18) = 0x7f;
    CHECK(scan(end) == std::make_pair(ReadError::kLengthOutOfRange, true));
  }
  SECTION("torn: only part of the second record written") {
    mem.Write(0, buf.substr(0, second + 70));
    CHECK(scan(end) == std::make_pair(ReadError::kBadCrc, true));
  }
  SECTION("truncated by the limit inside the payload") {
    mem.Write(0, buf);
    CHECK(scan(end - 8) == std::make_pair(ReadError::kTruncated, true));
  }
  SECTION("truncated by the limit inside the header") {
    mem.Write(0, buf);
    CHECK(scan(second + 20) == std::make_pair(ReadError::kTruncated, false));
  }
  SECTION("lsn gap") {
    LogRecordWriter w2(2, 0, 1);
    std::string b2;
    w2.Add(&b2, RecordType::kTransaction, 0, Payload(200, 'q'));
    LogRecordWriter w3(2, second, 7);
    w3.Add(&b2, RecordType::kTransaction, 0, Payload(64, 'r'));
    mem.Write(0, b2);
    CHECK(scan(end).first == ReadError::kBadSequence);
  }
  SECTION("epoch goes backwards") {
    LogRecordWriter w2(2, 0, 1);
    std::string b2;
    w2.Add(&b2, RecordType::kTransaction, 0, Payload(200, 'q'));
    LogRecordWriter w3(1, second, 2);
    w3.Add(&b2, RecordType::kTransaction, 0, Payload(64, 'r'));
    mem.Write(0, b2);
    CHECK(scan(end).first == ReadError::kBadSequence);
  }
  SECTION("epoch above the maximum") {
    LogRecordWriter w2(2, 0, 1);
    std::string b2;
    w2.Add(&b2, RecordType::kTransaction, 0, Payload(200, 'q'));
    LogRecordWriter w3(3, second, 2);
    w3.Add(&b2, RecordType::kTransaction, 0, Payload(64, 'r'));
    mem.Write(0, b2);
    CHECK(scan(end, 1, 2).first == ReadError::kBadSequence);
  }
}

TEST_CASE("first record must carry the expected lsn") {
  MemLog mem(4096);
  LogRecordWriter w(1, 0, 5);
  std::string buf;
  w.Add(&buf, RecordType::kTransaction, 0, "abc");
  mem.Write(0, buf);
  LogRecord rec;
  LogRecordReader bad(&mem, 0, 4096, 4);
  CHECK(!bad.ReadRecord(&rec).ok());
  CHECK(bad.error() == ReadError::kBadSequence);
  LogRecordReader good(&mem, 0, 4096, 5);
  CHECK(good.ReadRecord(&rec).ok());
  CHECK(rec.payload == "abc");
}

TEST_CASE("transaction payload round trip and malformed payloads") {
  std::string p;
  TransactionPayloadBuilder b(&p, 123456789);
  b.AddRange(1, 4096, "hello", 5);
  b.AddRange(2, 0, "", 0);
  std::string big = Payload(1000, 'z');
  b.AddRange(1, 77, big.data(), big.size());
  b.Finish();
  CHECK(b.num_ranges() == 3);
  CHECK(p.size() == kTxnPayloadHeader + RangeSize(5) + RangeSize(0) + RangeSize(1000));
  uint64_t t;
  std::vector<RangeView> rs;
  REQUIRE(ParseTransactionPayload(p, &t, &rs).ok());
  CHECK(t == 123456789);
  REQUIRE(rs.size() == 3);
  CHECK(rs[0].seg_code == 1);
  CHECK(rs[0].seg_offset == 4096);
  CHECK(std::string(rs[0].data, rs[0].length) == "hello");
  CHECK(rs[1].length == 0);
  CHECK(std::string(rs[2].data, rs[2].length) == big);
  CHECK(!ParseTransactionPayload(p.substr(0, p.size() - 8), &t, &rs).ok());
  CHECK(!ParseTransactionPayload(p.substr(0, 10), &t, &rs).ok());
  CHECK(!ParseTransactionPayload(p + std::string(8, '\0'), &t, &rs).ok());
  std::string huge = p;
  PutU64(huge.data() + kTxnPayloadHeader + 16, 1ull << 40);
  CHECK(!ParseTransactionPayload(huge, &t, &rs).ok());
  uint32_t code;
  std::string name;
  CHECK(!ParseSegmentDict("abc", &code, &name).ok());
  std::string d = EncodeSegmentDict(9, "name");
  CHECK(!ParseSegmentDict(d.substr(0, d.size() - 1), &code, &name).ok());
}
