// Per-log ownership and authenticated control messages (protocol v2,
// docs/remote-log-protocol.md): a client holding the server secret but not
// a log's owner key cannot open (so not read, trim or fence) that log nor
// see it in LIST; a relay after the handshake can neither alter nor replay
// a control message.
#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <vector>

#include "frame_relay.h"
#include "ownership_checks.h"
#include "remote_log/auth.h"
#include "remote_log/tcp_connection.h"
#include "test_util.h"

using namespace rvmr;
using namespace rvmr::remote_log;
using rvmr::remote_log::test::Bytes;
using rvmr::remote_log::test::Dial;
using rvmr::remote_log::test::StartServer;
using rvmr::remote_log::test::Uri;

namespace {

const std::string kSecret = "a-shared-server-secret-of-32-byt";

ConnectOptions Opts(const std::string& seed) {
  ConnectOptions o;
  o.secret = kSecret;
  o.owner_seed = seed;
  o.io_timeout_ms = 2000;
  return o;
}

const std::string kOwner(32, 'A');
const std::string kRogue(32, 'R');

using rvmr::ownership_test::Listed;

}  // namespace

TEST_CASE("ownership: only the owner key opens, reads, trims or fences an owned log") {
  auto srv = StartServer(64 << 20, kSecret);
  auto owner = Dial(Uri(*srv), Opts(kOwner));
  LogInfo info;
  REQUIRE(owner->Open("victim", 5, true, 0, &info).ok());
  auto data = Bytes(4096, 1);
  struct iovec v = {data.data(), data.size()};
  REQUIRE(owner->StartAppend(0, &v, 1).ok());
  uint64_t acked = 0;
  REQUIRE(owner->WaitAcked(4096, &acked).ok());

  for (const std::string& seed : {kRogue, std::string()}) {
    INFO("rogue seed " << (seed.empty() ? "none" : "other key"));
    auto rogue = Dial(Uri(*srv), Opts(seed));
    rvmr::ownership_test::CheckShutOut(rogue.get(), "victim",
                                       seed.empty() ? "unowned" : "rogue-own");
    REQUIRE(rogue->CloseLog().ok());
  }
  // The owner was never fenced: it keeps appending; its data was not trimmed.
  REQUIRE(owner->StartAppend(4096, &v, 1).ok());
  REQUIRE(owner->WaitAcked(8192, &acked).ok());
  REQUIRE(owner->Stat(&info).ok());
  CHECK(info.epoch == 5);
  CHECK(info.start == 0);
  CHECK(Listed(owner.get(), "victim"));
  CHECK_FALSE(Listed(owner.get(), "rogue-own"));
  CHECK(Listed(owner.get(), "unowned"));  // a log without an owner is everyone's
  // The owner from another connection (a restarted writer) may fence.
  auto again = Dial(Uri(*srv), Opts(kOwner));
  REQUIRE(again->Open("victim", 6, false, 0, &info).ok());
  CHECK(info.tail == 8192);
}

TEST_CASE("ownership: a forged proof (the owner's public key, another signature) is refused") {
  auto srv = StartServer(64 << 20, kSecret);
  auto owner = Dial(Uri(*srv), Opts(kOwner));
  LogInfo info;
  REQUIRE(owner->Open("victim", 1, true, 0, &info).ok());
  // A relay rewrites the rogue's OPEN to carry the owner's public key (which
  // crosses the wire) with the rogue's signature: the signature fails.
  std::unique_ptr<auth::OwnerKey> ok;
  REQUIRE(auth::OwnerKey::FromSeed(kOwner, &ok).ok());
  testing::FrameRelay relay(srv->port());
  std::atomic<int> rewritten{0};
  relay.SetHook([&](const wire::Header& h, std::vector<std::vector<uint8_t>>* out) {
    if (h.type != uint8_t(wire::Type::kOpen)) return;
    std::vector<uint8_t>& f = (*out)[0];
    // Payload: fixed 24 bytes, name, key, signature, control MAC.
    const size_t key_at = f.size() - wire::kMacSize - wire::kOwnerProofSize;
    std::memcpy(f.data() + key_at, ok->public_key(), wire::kOwnerKeySize);
    testing::FrameRelay::RefreshCrcs(&f);
    rewritten++;
  });
  auto rogue = Dial(relay.uri(), Opts(kRogue));
  Status s = rogue->Open("victim", 2, false, 0, &info);
  CHECK_FALSE(s.ok());
  CHECK(rewritten == 1);
  REQUIRE(owner->Stat(&info).ok());
  CHECK(info.epoch == 1);  // not fenced
}

TEST_CASE("control messages: a relay that alters or replays a TRIM is refused") {
  auto srv = StartServer(64 << 20, kSecret);
  auto data = Bytes(8192, 2);
  struct iovec v = {data.data(), data.size()};
  for (const char* attack : {"alter", "replay"}) {
    INFO(attack);
    const std::string name = std::string("log-") + attack;
    testing::FrameRelay relay(srv->port());
    std::atomic<int> hits{0};
    const bool replay = std::string(attack) == "replay";
    relay.SetHook([&](const wire::Header& h, std::vector<std::vector<uint8_t>>* out) {
      if (h.type != uint8_t(wire::Type::kTrim)) return;
      hits++;
      if (replay) {
        out->push_back((*out)[0]);  // the same frame again, as captured
      } else {
        // durable 4096 -> 8192 (the writer's disk does not hold that yet)
        std::vector<uint8_t>& f = (*out)[0];
        wire::Put64(f.data() + wire::kHeaderSize, 8192);
        testing::FrameRelay::RefreshCrcs(&f);
      }
    });
    auto c = Dial(relay.uri(), Opts(kOwner));
    LogInfo info;
    REQUIRE(c->Open(name, 1, true, 0, &info).ok());
    REQUIRE(c->StartAppend(0, &v, 1).ok());
    uint64_t acked = 0;
    REQUIRE(c->WaitAcked(8192, &acked).ok());
    const uint64_t rejected0 = srv->connections_rejected();
    Status s = c->Trim(4096, &info);
    CHECK(hits == 1);
    if (replay) {
      // The original is accepted; its copy is refused and the connection
      // closed (the client may take the refusal, which echoes the same
      // request id, for the reply to its TRIM).
      LogInfo after;
      CHECK_FALSE(c->Stat(&after).ok());
    } else {
      CHECK_FALSE(s.ok());  // refused (EACCES) and closed
    }
    CHECK(srv->connections_rejected() == rejected0 + 1);
    // What the server holds: nothing past 4096 was dropped.
    auto check = Dial(Uri(*srv), Opts(kOwner));
    REQUIRE(check->Open(name, 1, false, 0, &info).ok());
    CHECK(info.tail == 8192);
    CHECK(info.start == (replay ? 4096u : 0u));
  }
}

TEST_CASE("control messages: requests without a MAC after AUTH are refused") {
  auto srv = StartServer(64 << 20, kSecret);
  // A relay strips the MAC and flag from OPEN (and fixes the CRCs).
  testing::FrameRelay relay(srv->port());
  relay.SetHook([&](const wire::Header& h, std::vector<std::vector<uint8_t>>* out) {
    if (h.type != uint8_t(wire::Type::kOpen)) return;
    std::vector<uint8_t>& f = (*out)[0];
    f.resize(f.size() - wire::kMacSize);
    wire::Put16(f.data() + 6, 0);
    wire::Put32(f.data() + 8, uint32_t(f.size() - wire::kHeaderSize));
    testing::FrameRelay::RefreshCrcs(&f);
  });
  auto c = Dial(relay.uri(), Opts(kOwner));
  LogInfo info;
  CHECK_FALSE(c->Open("stripped", 1, true, 0, &info).ok());
  CHECK(srv->store().List().empty());
}
