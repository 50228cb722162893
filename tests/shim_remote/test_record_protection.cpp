// End-to-end record protection (record_sealer.h, docs/security.md): the
// sealed form, its verification, the log key file, and a relay between the
// writer and a mirror that alters records (recomputing every CRC): the
// altered copy is detected at recovery, reported by mirror and offset, and
// never applied.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "remote_log/auth.h"
#include "remote_log/wire.h"
#include "shim/log_format.h"
#include "shim/log_key.h"
#include "shim/record_sealer.h"
#include "shim/unsealing_log_source.h"
#include "../remote_log/frame_relay.h"
#include "sink_fixtures.h"

using namespace rvmr;
using namespace rvmr::sinktest;
namespace wire = rvmr::remote_log::wire;

namespace {

const std::string kKey(log::kLogKeySize, '\x42');

// `n` plain records from offset 0, epoch 3, payload i repeated.
std::string PlainRecords(int n, size_t size = 100) {
  log::LogRecordWriter w(3, 0, 1);
  std::string all;
  for (int i = 0; i < n; i++)
    w.Add(&all, log::RecordType::kTransaction, 0, std::string(size + i, static_cast<char>('a' + i)));
  return all;
}

std::unique_ptr<log::RecordSealer> Sealer(log::RecordSealer::Mode mode,
                                          const std::string& key = kKey,
                                          const std::string& name = "log1") {
  std::unique_ptr<log::RecordSealer> s;
  REQUIRE(log::RecordSealer::Create(key, name, mode, &s).ok());
  return s;
}

// Log bytes from offset 0 held in a string.
struct MemSource : log::LogSource {
  explicit MemSource(const std::string* data) : d(data) {}
  const std::string* d;
  Status Read(uint64_t o, void* dst, size_t n) override {
    if (o + n > d->size()) return Status::IoError("beyond");
    std::memcpy(dst, d->data() + o, n);
    return Status::Ok();
  }
  uint64_t area_size() const override { return 1 << 20; }
};

std::string SealAll(log::RecordSealer* s, const std::string& plain) {
  struct iovec v = {const_cast<char*>(plain.data()), plain.size()};
  std::vector<struct iovec> out;
  REQUIRE(s->Seal(0, &v, 1, &out).ok());
  std::string sealed;
  for (const auto& o : out) sealed.append(static_cast<const char*>(o.iov_base), o.iov_len);
  REQUIRE(sealed.size() == plain.size());
  return sealed;
}

}  // namespace

TEST_CASE("record sealer: the sealed form round-trips in both modes and hides the payload") {
  const std::string plain = PlainRecords(5);
  for (auto mode : {log::RecordSealer::Mode::kAuthenticate, log::RecordSealer::Mode::kEncrypt}) {
    auto s = Sealer(mode);
    std::string sealed = SealAll(s.get(), plain);
    CHECK(log::IsSealedMagic(sealed.data()));
    const bool enc = mode == log::RecordSealer::Mode::kEncrypt;
    // The payload of the first record ('a' x 100) is visible only in authenticate mode.
    CHECK((sealed.find(std::string(100, 'a')) != std::string::npos) == !enc);
    std::string back = sealed;
    Status why;
    auto r = Sealer(log::RecordSealer::Mode::kAuthenticate);  // Unseal accepts either mode
    CHECK(log::UnsealRange(r.get(), false, 0, &back, &why) == plain.size());
    CHECK(why.ok());
    CHECK(back == plain);
  }
}

namespace {

std::string FromHex(const char* hex) {
  std::string out;
  for (const char* p = hex; p[0] != '\0' && p[1] != '\0'; p += 2)
    out.push_back(static_cast<char>(std::stoi(std::string(p, 2), nullptr, 16)));
  return out;
}

// One record ("golden v1 payload", offset 0, epoch 3, LSN 1, log "log1",
// key 0x42 x 32) as earlier releases sealed it, both AES-256-GCM: authenticated
// ("RVMA", read only now) and encrypted ("RVME", still written). Fixed
// bytes, so that a change to how either is read or written is caught.
const char kGcmAuthRecord[] =
    "52564d41eb032ebc0100010000000000" "11000000cac551552774a45c305d2642"
    "01000000000000000300000000000000" "676f6c64656e207631207061796c6f61"
    "6400000000000000";
const char kGcmEncRecord[] =
    "52564d45784197410100010000000000" "110000004b1a2a58a82e12324d01995c"
    "01000000000000000300000000000000" "468b4f13444dcb44d8aebec3f502271d"
    "3100000000000000";

}  // namespace

TEST_CASE("record sealer: records sealed by earlier releases (AES-256-GCM) are still verified and read") {
  log::LogRecordWriter w(3, 0, 1);
  std::string plain;
  w.Add(&plain, log::RecordType::kTransaction, 0, std::string("golden v1 payload"));
  auto s = Sealer(log::RecordSealer::Mode::kAuthenticate);
  // Authenticated records are sealed with ChaCha20-Poly1305 now ("RVMa"):
  // other bytes; encrypted ones exactly as before.
  const std::string now = SealAll(s.get(), plain);
  CHECK(log::GetU32(now.data()) == log::kSealedAuthMagic);
  CHECK(now != FromHex(kGcmAuthRecord));
  CHECK(SealAll(Sealer(log::RecordSealer::Mode::kEncrypt).get(), plain) == FromHex(kGcmEncRecord));
  for (const char* hex : {kGcmAuthRecord, kGcmEncRecord}) {
    std::string rec = FromHex(hex);
    REQUIRE(rec.size() == plain.size());
    CHECK(log::IsSealedMagic(rec.data()));
    std::string back = rec;
    Status why;
    CHECK(log::UnsealRange(s.get(), false, 0, &back, &why) == plain.size());
    CHECK(why.ok());
    CHECK(back == plain);
    // Altered, or claimed as the second form: refused.
    for (size_t at : {size_t{6}, size_t{50}}) {
      std::string t = rec;
      t[at] ^= 1;
      CHECK(log::UnsealRange(s.get(), false, 0, &t, &why) == 0);
      CHECK(why.code() == Status::Code::kCorruption);
    }
    std::string relabelled = rec;
    log::PutU32(relabelled.data(), log::kSealedAuthMagic);
    CHECK(log::UnsealRange(s.get(), false, 0, &relabelled, &why) == 0);
    CHECK(why.code() == Status::Code::kCorruption);
  }
}

TEST_CASE("record sealer: any altered, moved or foreign record fails verification") {
  const std::string plain = PlainRecords(3);
  const size_t rec1 = log::RecordSize(100);  // offset of the second record
  for (auto mode : {log::RecordSealer::Mode::kAuthenticate, log::RecordSealer::Mode::kEncrypt}) {
    auto s = Sealer(mode);
    const std::string sealed = SealAll(s.get(), plain);
    // Every single-bit flip anywhere in the second record's header or payload
    // (not its padding, which is not data) stops verification right there.
    const size_t len2 = log::kRecordHeaderSize + 101;
    for (size_t byte = 0; byte < len2; byte++) {
      for (int bit : {0, 7}) {
        std::string t = sealed;
        t[rec1 + byte] = static_cast<char>(t[rec1 + byte] ^ (1 << bit));
        Status why;
        size_t good = log::UnsealRange(s.get(), false, 0, &t, &why);
        INFO("byte " << byte << " bit " << bit);
        CHECK(good <= rec1);
      }
    }
    // The first record reported as failing names its offset.
    std::string t = sealed;
    t[rec1 + 60] ^= 1;
    Status why;
    CHECK(log::UnsealRange(s.get(), false, 0, &t, &why) == rec1);
    CHECK(why.code() == Status::Code::kCorruption);
    CHECK(why.message().find("offset " + std::to_string(rec1)) != std::string::npos);
    // Moved to another offset: fails (the offset is in the nonce and the data).
    std::string moved = sealed.substr(rec1);
    CHECK(log::UnsealRange(s.get(), false, rec1 + 8, &moved, &why) == 0);
    CHECK_FALSE(why.ok());
    // Another key, another log name: fail.
    std::string other = sealed;
    auto wrong_key = Sealer(mode, std::string(log::kLogKeySize, '\x43'));
    CHECK(log::UnsealRange(wrong_key.get(), false, 0, &other, &why) == 0);
    CHECK_FALSE(why.ok());
    other = sealed;
    auto wrong_name = Sealer(mode, kKey, "log2");
    CHECK(log::UnsealRange(wrong_name.get(), false, 0, &other, &why) == 0);
    CHECK_FALSE(why.ok());
    // No key at all: the sealed record is refused, saying why.
    other = sealed;
    CHECK(log::UnsealRange(nullptr, true, 0, &other, &why) == 0);
    CHECK(why.message().find("no log key") != std::string::npos);
  }
}

TEST_CASE("record sealer: plain records are refused unless accepted; cut-short ones read as truncated") {
  std::string plain = PlainRecords(2);
  std::string t = plain;
  Status why;
  auto s = Sealer(log::RecordSealer::Mode::kAuthenticate);
  CHECK(log::UnsealRange(s.get(), false, 0, &t, &why) == 0);  // a downgrade attempt
  CHECK(why.message().find("not sealed") != std::string::npos);
  t = plain;
  CHECK(log::UnsealRange(s.get(), true, 0, &t, &why) == plain.size());
  CHECK(why.ok());
  // A last record cut short: not a verification failure; a reader says truncated.
  std::string sealed = SealAll(s.get(), plain);
  sealed.resize(sealed.size() - 8);
  CHECK(log::UnsealRange(s.get(), false, 0, &sealed, &why) == log::RecordSize(100));
  CHECK(why.ok());
  MemSource mem(&sealed);
  log::LogRecordReader rd(&mem, 0, sealed.size());
  log::LogRecord rec;
  CHECK(rd.ReadRecord(&rec).ok());
  CHECK_FALSE(rd.ReadRecord(&rec).ok());
  CHECK(rd.error() == log::ReadError::kTruncated);
}

TEST_CASE("record sealer: the unsealing source verifies before a reader sees a byte") {
  auto s = Sealer(log::RecordSealer::Mode::kEncrypt);
  std::string sealed = SealAll(s.get(), PlainRecords(4));
  const size_t rec2 = log::RecordSize(100) + log::RecordSize(101);
  sealed[rec2 + 70] ^= 0x10;
  MemSource mem(&sealed);
  log::UnsealingLogSource src(&mem, sealed.size(), s.get(), false);
  log::LogRecordReader rd(&src, 0, sealed.size(), 1);
  log::LogRecord rec;
  CHECK(rd.ReadRecord(&rec).ok());
  CHECK(rec.payload == std::string(100, 'a'));
  CHECK(rd.ReadRecord(&rec).ok());
  CHECK_FALSE(rd.ReadRecord(&rec).ok());
  CHECK(rd.error() == log::ReadError::kBadAuth);
  CHECK(rd.error_is_damage());
  CHECK(rd.offset() == rec2);
}

TEST_CASE("log key file: created 0600, read back, and refused when malformed or open to others") {
  char d[] = "/tmp/logkeyXXXXXX";
  REQUIRE(mkdtemp(d) != nullptr);
  const std::string path = std::string(d) + "/log.key";
  std::string k1, k2;
  REQUIRE(log::CreateLogKey(path, &k1).ok());
  CHECK(k1.size() == log::kLogKeySize);
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(log::ReadLogKey(path, &k2).ok());
  CHECK(k1 == k2);
  CHECK(log::CreateLogKey(path, &k2).code() == Status::Code::kIoError);  // never overwritten
  ::chmod(path.c_str(), 0640);
  Status s = log::ReadLogKey(path, &k2);
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(s.message().find(path) != std::string::npos);
  ::chmod(path.c_str(), 0600);
  REQUIRE(::truncate(path.c_str(), 20) == 0);
  s = log::ReadLogKey(path, &k2);
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(s.message().find("not a log key") != std::string::npos);
  ::unlink(path.c_str());
  CHECK(log::ReadLogKey(path, &k2).code() == Status::Code::kNotFound);
  ::rmdir(d);
}

namespace {

// A relay that, while armed, alters one byte of every APPEND's record data
// (inside the first record's payload) and recomputes the CRCs.
struct TamperRelay {
  testing::FrameRelay relay;
  std::atomic<bool> armed{false};
  std::atomic<uint64_t> altered{0};
  explicit TamperRelay(uint16_t upstream) : relay(upstream) {
    relay.SetHook([this](const wire::Header& h, std::vector<std::vector<uint8_t>>* out) {
      std::vector<uint8_t>& f = (*out)[0];
      const size_t at = wire::kHeaderSize + 8 + log::kRecordHeaderSize + 10;
      if (!armed || h.type != static_cast<uint8_t>(wire::Type::kAppend) || f.size() <= at) return;
      f[at] ^= 0x01;
      testing::FrameRelay::RefreshCrcs(&f);
      altered++;
    });
  }
  std::string uri() const { return relay.uri(); }
  void Arm(bool on) { armed = on; }
};

}  // namespace

TEST_CASE("record protection: a relay that alters records (valid CRCs) is detected at recovery") {
  for (bool encrypt : {false, true}) {
    INFO("encrypt " << encrypt);
    TempLog log;
    Mirror good, target;
    TamperRelay relay(target.port);
    ShimConfig cfg = Cfg({good.uri(), relay.uri()});
    cfg.encrypt = encrypt;
    std::unique_ptr<RemoteSink> sink;
    REQUIRE(RemoteSink::Open(log.Config(), cfg, &sink).ok());
    Framer f(sink->recovery().epoch, 0, 1);
    for (int i = 0; i < 10; ++i) REQUIRE(AppendRecord(sink.get(), &f, 200, 'x').ok());
    const uint64_t clean_end = f.w.next_offset();
    relay.Arm(true);
    for (int i = 0; i < 10; ++i) REQUIRE(AppendRecord(sink.get(), &f, 200, 'y').ok());
    const uint64_t end = f.w.next_offset();
    REQUIRE(relay.altered >= 1);
    // The server stored and acknowledged the altered bytes (it cannot tell).
    CHECK(target.Info().tail == end);
    // Another machine takes the log over (its disk copy is empty, it has the
    // log's key) with only the tampered mirror: it recovers from it.
    TempLog other;
    ShimConfig only = Cfg({target.uri()});
    only.encrypt = encrypt;
    only.log_name = RemoteLogName(log.st);
    only.log_key_file = log.path + ".key";
    std::unique_ptr<RemoteSink> next;
    REQUIRE(RemoteSink::Open(other.Config(), only, &next).ok());
    const auto& rep = next->recovery();
    // Only the untouched prefix came back; the altered record and what
    // follows are absent, and reported by mirror and offset.
    CHECK(rep.recovered_tail == clean_end);
    CHECK(rep.lost);
    CHECK(rep.lost_from == clean_end);
    CHECK(rep.lost_to == end);
    bool reported = false;
    for (const auto& p : rep.problems)
      if (p.find(target.uri()) != std::string::npos &&
          p.find("offset " + std::to_string(clean_end)) != std::string::npos &&
          p.find("fails verification") != std::string::npos)
        reported = true;
    CHECK(reported);
    // The disk copy holds exactly the verified records: nothing altered applied.
    auto recs = other.DiskRecords();
    REQUIRE(recs.size() == 10);
    for (const auto& r : recs) CHECK(r.payload == std::string(200, 'x'));
    next.reset();
    sink.reset();
  }
}

TEST_CASE("record protection: the mirrors never hold the payload in clear with encrypt = yes") {
  TempLog log;
  Mirror m;
  ShimConfig cfg = Cfg({m.uri()});
  cfg.encrypt = true;
  std::unique_ptr<RemoteSink> sink;
  REQUIRE(RemoteSink::Open(log.Config(), cfg, &sink).ok());
  Framer f(sink->recovery().epoch, 0, 1);
  for (int i = 0; i < 5; ++i) REQUIRE(AppendRecord(sink.get(), &f, 300, 'S').ok());
  std::shared_ptr<remote_log::LogStore::Log> h;
  remote_log::LogInfo info;
  // The log is owned: the store opens it only for the owner key derived
  // from the log key.
  CHECK(m.server->store().Open(RemoteLogName(log.st), sink->recovery().epoch, false, 0, &h,
                               &info) == remote_log::wire::kErrNotOwner);
  std::unique_ptr<remote_log::auth::OwnerKey> owner;
  REQUIRE(remote_log::auth::OwnerKey::FromSeed(log::OwnerSeed(log.Key()), &owner).ok());
  REQUIRE(m.server->store().Open(RemoteLogName(log.st), sink->recovery().epoch, false, 0, &h,
                                 &info, owner->public_key()) == 0);
  std::string held(info.tail, '\0');
  size_t got = 0;
  remote_log::LogInfo after;
  REQUIRE(m.server->store().Read(h.get(), 0, held.size(), reinterpret_cast<uint8_t*>(held.data()),
                                 &got, &after) == 0);
  CHECK(got == held.size());
  CHECK(held.find(std::string(32, 'S')) == std::string::npos);
  CHECK(log::IsSealedMagic(held.data()));
  // The disk copy stays plain.
  REQUIRE(sink->SyncToDisk(f.w.next_offset()).ok());
  CHECK(log.DiskRecords().at(0).payload == std::string(300, 'S'));
}

TEST_CASE("record protection: a missing key while the mirrors may hold commits is refused") {
  TempLog log;
  Mirror m;
  std::unique_ptr<RemoteSink> sink;
  REQUIRE(RemoteSink::Open(log.Config(), Cfg({m.uri()}), &sink).ok());
  Framer f(sink->recovery().epoch, 0, 1);
  REQUIRE(AppendRecord(sink.get(), &f, 100, 'k').ok());
  // A crash leaves the marker open; the key file is lost.
  RemoteMarker mk;
  mk.name = RemoteLogName(log.st);
  mk.log_id = mk.name;
  mk.state = RemoteMarker::State::kOpen;
  REQUIRE(sink->SyncToDisk(f.w.next_offset()).ok());
  sink.reset();
  REQUIRE(WriteRemoteMarker(log.path, mk).ok());
  REQUIRE(::unlink((log.path + ".key").c_str()) == 0);
  Status s = RemoteSink::Open(log.Config(), Cfg({m.uri()}), &sink);
  CHECK(s.code() == Status::Code::kNotFound);
  CHECK(s.message().find(log.path + ".key") != std::string::npos);
  CHECK(s.message().find("restore the key file") != std::string::npos);
}

TEST_CASE("record sealer: mutated streams of mixed seals never yield an altered byte", "[fuzz]") {
  // Records sealed one by one, each authenticated ("RVMa") or encrypted
  // ("RVME") at random, back to back; then random bit flips, byte
  // overwrites, cuts and spliced-in foreign bytes (a flip of 0x20 in a magic
  // turns "RVMa" into "RVMA", the AES-GCM kind). Whatever UnsealRange accepts
  // must be the original plain bytes: it stops at or before the record
  // holding the first changed byte (padding bytes, which carry no data and
  // are zeroed when unsealed, aside).
  std::mt19937_64 rng(20261205);
  auto auth = Sealer(log::RecordSealer::Mode::kAuthenticate);
  auto enc = Sealer(log::RecordSealer::Mode::kEncrypt);
  const std::string plain = PlainRecords(12, 40);
  std::vector<size_t> starts;
  std::string sealed;
  for (size_t off = 0; off < plain.size();) {
    const size_t size = log::RecordSize(log::GetU32(plain.data() + off + 16));
    starts.push_back(off);
    struct iovec v = {const_cast<char*>(plain.data() + off), size};
    std::vector<struct iovec> out;
    REQUIRE((rng() % 2 ? auth : enc)->Seal(off, &v, 1, &out).ok());
    for (const auto& o : out) sealed.append(static_cast<const char*>(o.iov_base), o.iov_len);
    off += size;
  }
  REQUIRE(sealed.size() == plain.size());
  std::vector<bool> pad(sealed.size(), false);
  for (size_t st : starts) {
    const size_t used = log::kRecordHeaderSize + log::GetU32(plain.data() + st + 16);
    for (size_t p = st + used; p < st + log::RecordSize(log::GetU32(plain.data() + st + 16)); p++)
      pad[p] = true;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  size_t rounds = 0, rejected = 0;
  while (std::chrono::steady_clock::now() < deadline || rounds < 2000) {
    std::string t = sealed;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; e++) {
      const size_t at = rng() % t.size();
      switch (rng() % 4) {
        case 0: t[at] = static_cast<char>(t[at] ^ (1 << (rng() % 8))); break;
        case 1: t[at] = static_cast<char>(rng()); break;
        case 2: t.resize(at); break;
        default: t.insert(at, std::string(1 + rng() % 16, static_cast<char>(rng()))); break;
      }
      if (t.empty()) t = sealed.substr(0, 1);
    }
    size_t first_diff = 0;
    while (first_diff < t.size() && first_diff < sealed.size() &&
           (t[first_diff] == sealed[first_diff] || pad[first_diff]))
      first_diff++;
    // The start of the record that holds the first changed byte.
    size_t bound = 0;
    for (size_t s : starts)
      if (s <= first_diff) bound = s;
    if (first_diff >= sealed.size()) bound = sealed.size();  // intact, junk after the end
    else if (first_diff == t.size()) bound = t.size();     // only cut short
    Status why;
    auto* reader = rng() % 2 ? auth.get() : enc.get();  // either reads both kinds
    const size_t good = log::UnsealRange(reader, false, 0, &t, &why);
    INFO("round " << rounds << " first change at " << first_diff);
    REQUIRE(good <= bound);
    REQUIRE(t.compare(0, good, plain, 0, good) == 0);
    if (!why.ok()) rejected++;
    rounds++;
  }
  CHECK(rejected > rounds / 4);  // most edits land in a record and are caught there
}
