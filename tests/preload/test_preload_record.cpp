// The preload shim's record framing (docs/preload.md) including corrupted
// and truncated input, and its RVM_PRELOAD_LOGS matching.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>

#include "common/crc32c.h"

#include "preload/preload_config.h"
#include "preload/preload_record.h"

using namespace rvmr;
using namespace rvmr::preload;

namespace {

const std::string kKey(32, '\x5a');
const std::string kName = "rvmpl-0123456789abcdef";

std::unique_ptr<RecordCodec> Codec(SealMode mode, const std::string& key = kKey,
                                   const std::string& name = kName) {
  std::unique_ptr<RecordCodec> c;
  REQUIRE(RecordCodec::Create(key, name, mode, &c).ok());
  return c;
}

std::string Frame(RecordCodec* c, RecordType type, uint64_t at, uint64_t arg,
                  const std::string& payload) {
  std::string rec(kRecordHeaderSize, '\0');
  rec += payload;
  RecordHeader h;
  h.type = type;
  h.stream_offset = at;
  h.arg = arg;
  h.length = static_cast<uint32_t>(payload.size());
  REQUIRE(c->Encode(h, rec.data()).ok());
  return rec;
}

Status Decode(RecordCodec* c, std::string rec, uint64_t at, RecordHeader* h, std::string* payload,
              size_t* need, size_t n = SIZE_MAX) {
  std::string_view p;
  Status s = c->Decode(rec.data(), std::min(n, rec.size()), at, h, &p, need);
  if (s.ok()) payload->assign(p);
  return s;
}

// Sets the CRC32C of a record after its bytes were altered on purpose: what
// a relay or a mirror that recomputes checksums would send.
void FixCrc(std::string* rec) {
  uint32_t c = crc32c::Value(rec->data(), 28);
  c = crc32c::Extend(c, rec->data() + 32, kRecordHeaderSize - 32);
  c = crc32c::Extend(c, rec->data() + kRecordHeaderSize, rec->size() - kRecordHeaderSize);
  for (int i = 0; i < 4; ++i) (*rec)[28 + i] = static_cast<char>(c >> (8 * i));
}

}  // namespace

TEST_CASE("preload record round trip in every seal mode") {
  for (SealMode m : {SealMode::kPlain, SealMode::kAuthenticate, SealMode::kEncrypt}) {
    INFO("mode " << static_cast<char>(m));
    auto w = Codec(m);
    auto r = Codec(m == SealMode::kPlain ? SealMode::kPlain : SealMode::kAuthenticate);
    std::string rec = Frame(w.get(), RecordType::kData, 4096, 123456789, "hello, log");
    REQUIRE(rec.size() == kRecordHeaderSize + 10);
    RecordHeader h;
    std::string p;
    size_t need = 0;
    REQUIRE(Decode(r.get(), rec, 4096, &h, &p, &need).ok());
    CHECK(h.type == RecordType::kData);
    CHECK(h.mode == m);
    CHECK(h.stream_offset == 4096);
    CHECK(h.arg == 123456789);
    CHECK(p == "hello, log");
    CHECK(need == rec.size());
    CHECK((rec.find("hello, log") == std::string::npos) == (m == SealMode::kEncrypt));

    std::string size = Frame(w.get(), RecordType::kSize, 7, 1000, "");
    REQUIRE(Decode(r.get(), size, 7, &h, &p, &need).ok());
    CHECK(h.type == RecordType::kSize);
    CHECK(h.arg == 1000);
    CHECK(p.empty());
  }
}

TEST_CASE("preload record layout is little-endian at fixed offsets") {
  auto w = Codec(SealMode::kAuthenticate);
  std::string rec = Frame(w.get(), RecordType::kOpen, 0x0102030405060708ull, 0, "/a");
  CHECK(rec.substr(0, 4) == "RVPL");
  CHECK(rec[4] == 2);
  CHECK(rec[5] == 3);
  CHECK(rec[6] == 'A');
  CHECK(rec[7] == 0);
  CHECK(static_cast<unsigned char>(rec[8]) == 0x08);
  CHECK(static_cast<unsigned char>(rec[15]) == 0x01);
  CHECK(static_cast<unsigned char>(rec[24]) == 2);
  CHECK(rec.substr(32, 16) != std::string(16, '\0'));  // session id
  CHECK(rec.substr(48, 16) != std::string(16, '\0'));  // tag
  auto p = Codec(SealMode::kPlain, "");
  std::string plain = Frame(p.get(), RecordType::kOpen, 0, 0, "/a");
  CHECK(plain[6] == 'P');
  CHECK(plain.substr(32, 32) == std::string(32, '\0'));
}

TEST_CASE("preload record: every single-bit flip is detected, also with the CRC fixed") {
  for (SealMode m : {SealMode::kAuthenticate, SealMode::kEncrypt}) {
    auto w = Codec(m);
    auto r = Codec(SealMode::kAuthenticate);
    std::string rec = Frame(w.get(), RecordType::kData, 64, 10, "payload bytes");
    for (size_t i = 0; i < rec.size(); ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        std::string bad = rec;
        bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
        RecordHeader h;
        std::string p;
        size_t need = 0;
        INFO("mode " << static_cast<char>(m) << " byte " << i << " bit " << bit);
        CHECK_FALSE(Decode(r.get(), bad, 64, &h, &p, &need).ok());
        if (i >= 28 && i < 32) continue;  // the CRC itself
        FixCrc(&bad);
        CHECK_FALSE(Decode(r.get(), bad, 64, &h, &p, &need).ok());
      }
    }
  }
}

TEST_CASE("preload record: moved, replayed into another log, or another key fails") {
  auto w = Codec(SealMode::kEncrypt);
  std::string rec = Frame(w.get(), RecordType::kData, 128, 0, "secret row");
  RecordHeader h;
  std::string p;
  size_t need = 0;
  auto r = Codec(SealMode::kAuthenticate);
  // Moved to another stream offset (header rewritten, CRC fixed).
  std::string moved = rec;
  for (int i = 0; i < 8; ++i) moved[8 + i] = static_cast<char>(uint64_t{256} >> (8 * i));
  FixCrc(&moved);
  CHECK(Decode(r.get(), moved, 256, &h, &p, &need).code() == Status::Code::kCorruption);
  // Into another file's log.
  auto other = Codec(SealMode::kAuthenticate, kKey, "rvmpl-fedcba9876543210");
  CHECK(Decode(other.get(), rec, 128, &h, &p, &need).code() == Status::Code::kCorruption);
  // Under another key.
  auto wrong = Codec(SealMode::kAuthenticate, std::string(32, 'k'));
  CHECK(Decode(wrong.get(), rec, 128, &h, &p, &need).code() == Status::Code::kCorruption);
  // Downgraded to a plain record by the mirror.
  auto pw = Codec(SealMode::kPlain, "");
  std::string plain = Frame(pw.get(), RecordType::kData, 128, 0, "forged row");
  Status s = Decode(r.get(), plain, 128, &h, &p, &need);
  CHECK(s.code() == Status::Code::kCorruption);
  CHECK(s.message().find("unsealed") != std::string::npos);
  // A reader without the key cannot take a sealed record as verified.
  auto nokey = Codec(SealMode::kPlain, "");
  CHECK(Decode(nokey.get(), rec, 128, &h, &p, &need).code() == Status::Code::kCorruption);
  // The right reader still accepts it; a new writer session still verifies.
  REQUIRE(Decode(r.get(), rec, 128, &h, &p, &need).ok());
  CHECK(p == "secret row");
  REQUIRE(w->NewSession().ok());
  std::string rec2 = Frame(w.get(), RecordType::kData, 128, 0, "secret row");
  CHECK(rec2.substr(32, 16) != rec.substr(32, 16));
  CHECK(rec2.substr(kRecordHeaderSize) != rec.substr(kRecordHeaderSize));  // no nonce reuse
  REQUIRE(Decode(r.get(), rec2, 128, &h, &p, &need).ok());
}

TEST_CASE("preload record: truncated input asks for more, wrong offset is corrupt") {
  auto w = Codec(SealMode::kAuthenticate);
  auto r = Codec(SealMode::kAuthenticate);
  std::string rec = Frame(w.get(), RecordType::kData, 0, 0, std::string(100, 'x'));
  RecordHeader h;
  std::string p;
  size_t need = 0;
  for (size_t n = 0; n < rec.size(); ++n) {
    Status s = Decode(r.get(), rec, 0, &h, &p, &need, n);
    REQUIRE_FALSE(s.ok());
    CHECK(s.code() == Status::Code::kInvalidArgument);
    if (n >= kRecordHeaderSize) CHECK(need == rec.size());
  }
  Status s = Decode(r.get(), rec, 32, &h, &p, &need);
  CHECK(s.code() == Status::Code::kCorruption);
  // A version-1 record (the unsealed format) is refused by name.
  std::string v1 = rec;
  v1[4] = 1;
  FixCrc(&v1);
  s = Decode(r.get(), v1, 0, &h, &p, &need);
  CHECK(s.code() == Status::Code::kCorruption);
  CHECK(s.message().find("version 1") != std::string::npos);
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
