// The preload shim's record framing (docs/preload.md) including corrupted
// and truncated input, and its RVM_PRELOAD_LOGS matching.
#include <catch2/catch.hpp>

#include <string>

#include "preload/preload_config.h"
#include "preload/preload_record.h"

using namespace rvmr;
using namespace rvmr::preload;

namespace {

std::string Frame(RecordType type, uint64_t at, uint64_t arg, const std::string& payload) {
  std::string rec(kRecordHeaderSize, '\0');
  RecordHeader h;
  h.type = type;
  h.stream_offset = at;
  h.arg = arg;
  h.length = static_cast<uint32_t>(payload.size());
  EncodeRecordHeader(h, payload, rec.data());
  return rec + payload;
}

}  // namespace

TEST_CASE("preload record round trip") {
  std::string rec = Frame(RecordType::kData, 4096, 123456789, "hello, log");
  REQUIRE(rec.size() == kRecordHeaderSize + 10);
  RecordHeader h;
  std::string_view p;
  size_t need = 0;
  REQUIRE(DecodeRecord(rec.data(), rec.size(), 4096, &h, &p, &need).ok());
  CHECK(h.type == RecordType::kData);
  CHECK(h.stream_offset == 4096);
  CHECK(h.arg == 123456789);
  CHECK(p == "hello, log");
  CHECK(need == rec.size());

  std::string size = Frame(RecordType::kSize, 7, 1000, "");
  REQUIRE(DecodeRecord(size.data(), size.size(), 7, &h, &p, &need).ok());
  CHECK(h.type == RecordType::kSize);
  CHECK(h.arg == 1000);
  CHECK(p.empty());
}

TEST_CASE("preload record layout is little-endian at fixed offsets") {
  std::string rec = Frame(RecordType::kOpen, 0x0102030405060708ull, 0, "/a");
  CHECK(static_cast<unsigned char>(rec[0]) == 0x52);  // 'R'
  CHECK(rec.substr(0, 4) == "RVPL");
  CHECK(rec[4] == 1);
  CHECK(rec[5] == 3);
  CHECK(static_cast<unsigned char>(rec[8]) == 0x08);
  CHECK(static_cast<unsigned char>(rec[15]) == 0x01);
  CHECK(static_cast<unsigned char>(rec[24]) == 2);
}

TEST_CASE("preload record: every single-bit flip is detected") {
  std::string rec = Frame(RecordType::kData, 64, 10, "payload bytes");
  for (size_t i = 0; i < rec.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = rec;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      RecordHeader h;
      std::string_view p;
      size_t need = 0;
      Status s = DecodeRecord(bad.data(), bad.size(), 64, &h, &p, &need);
      INFO("byte " << i << " bit " << bit);
      CHECK_FALSE(s.ok());
    }
  }
}

TEST_CASE("preload record: truncated input asks for more, wrong offset is corrupt") {
  std::string rec = Frame(RecordType::kData, 0, 0, std::string(100, 'x'));
  RecordHeader h;
  std::string_view p;
  size_t need = 0;
  for (size_t n = 0; n < rec.size(); ++n) {
    Status s = DecodeRecord(rec.data(), n, 0, &h, &p, &need);
    REQUIRE_FALSE(s.ok());
    CHECK(s.code() == Status::Code::kInvalidArgument);
    if (n >= kRecordHeaderSize) CHECK(need == rec.size());
  }
  Status s = DecodeRecord(rec.data(), rec.size(), 32, &h, &p, &need);
  CHECK(s.code() == Status::Code::kCorruption);
}

TEST_CASE("preload remote log names are stable and distinct") {
  CHECK(RemoteLogNameForPath("/a/b-wal") == RemoteLogNameForPath("/a/b-wal"));
  CHECK(RemoteLogNameForPath("/a/b-wal") != RemoteLogNameForPath("/a/c-wal"));
  CHECK(RemoteLogNameForPath("/x").rfind("rvmpl-", 0) == 0);
  CHECK(RemoteLogNameForPath("/x").size() == 6 + 16);
}

TEST_CASE("RVM_PRELOAD_LOGS patterns") {
  PreloadConfig cfg;
  REQUIRE(ParseLogPatterns("/data/*-wal::/logs/", &cfg.patterns).ok());
  REQUIRE(cfg.patterns.size() == 2);
  CHECK(cfg.Matches("/data/app.db-wal"));
  CHECK_FALSE(cfg.Matches("/data/app.db"));
  CHECK(cfg.Matches("/logs/log.0000000001"));
  CHECK(cfg.Matches("/logs/sub/x"));
  CHECK_FALSE(cfg.Matches("/logs"));
  CHECK_FALSE(cfg.Matches("/logsx/y"));
  CHECK_FALSE(ParseLogPatterns("relative/*.log", &cfg.patterns).ok());
}
