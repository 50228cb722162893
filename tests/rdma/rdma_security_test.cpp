// Protection over RDMA (docs/security.md): per-log ownership, authenticated
// control messages and sealed records hold over rdma:// as over tcp://. The
// control path is RDMA SEND/RECV of the same frames as TCP; records reach
// the server's memory by RDMA WRITE, where its CPU never sees them, so their
// protection is the writer's sealing, checked by the reader.
#include <catch2/catch.hpp>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "common/crc32c.h"
#include "../remote_log/ownership_checks.h"
#include "rdma_raw_client.h"
#include "rdma_test_util.h"
#include "logd_metrics.h"
#include "remote_log/auth.h"
#include "remote_log/server.h"
#include "remote_log/rdma/rdma_connection.h"
#include "remote_log/rdma/rdma_server.h"
#include "remote_log/wire.h"
#include "shim/log_format.h"
#include "shim/log_key.h"
#include "shim/log_record_writer.h"
#include "shim/record_sealer.h"
#include "shim/unsealing_log_source.h"

using rvmr::Status;
using rvmr::remote_log::Connection;
using rvmr::remote_log::ConnectOptions;
using rvmr::remote_log::Endpoint;
using rvmr::remote_log::LogEntry;
using rvmr::remote_log::LogInfo;
using rvmr::remote_log::rdma::RdmaServer;
using rvmr::remote_log::rdma::RdmaServerOptions;
using rvmr::rdma_test::RawClient;
using rvmr::rdma_test::TestAddr;
namespace wire = rvmr::remote_log::wire;
namespace auth = rvmr::remote_log::auth;
namespace rlog = rvmr::log;

namespace {

const std::string kSecret = "rdma-security-test-secret-0123456";
const std::string kOwner(32, 'A');
const std::string kRogue(32, 'R');

struct Server {
  explicit Server(uint64_t ring = 1 << 20) {
    RdmaServerOptions o;
    o.ring_size = ring;
    o.secret = kSecret;
    server = rvmr::rdma_test::StartServer(o);
    ep = rvmr::rdma_test::EndpointOf(*server);
  }
  std::unique_ptr<Connection> Dial(const std::string& owner_seed) {
    ConnectOptions opts;
    opts.secret = kSecret;
    opts.owner_seed = owner_seed;
    return rvmr::rdma_test::Connect(ep, opts);
  }
  std::unique_ptr<RdmaServer> server;
  Endpoint ep;
};

using rvmr::ownership_test::Listed;

void AppendSync(Connection* c, uint64_t offset, const std::string& bytes) {
  iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
  REQUIRE(c->StartAppend(offset, &iov, 1).ok());
  uint64_t acked = 0;
  REQUIRE(c->WaitAcked(offset + bytes.size(), &acked).ok());
}

// A raw client that authenticates as the real one does, then sends the
// control messages a test builds, byte for byte (so it can replay or alter
// them, as an attacker on the path would).
class RawSession {
 public:
  explicit RawSession(const Server& srv) {
    c_.Connect(TestAddr(), srv.server->port());
    std::vector<uint8_t> payload, reply;
    wire::EncodeHelloRequest(wire::HelloRequest{}, &payload);
    REQUIRE(Call(wire::Type::kHello, payload, /*mac=*/false, &reply) == 0);
    wire::HelloReply hr;
    REQUIRE(wire::DecodeHelloReply(reply.data(), reply.size(), &hr).ok());
    REQUIRE(hr.auth_required);
    wire::AuthRequest ar;
    REQUIRE(auth::RandomNonce(ar.client_nonce).ok());
    auth::ClientMac(kSecret, hr.nonce, ar.client_nonce, ar.mac);
    payload.clear();
    wire::EncodeAuthRequest(ar, &payload);
    REQUIRE(Call(wire::Type::kAuth, payload, false, &reply) == 0);
    auth::SessionKey(kSecret, hr.nonce, ar.client_nonce, key_);
  }

  // The complete request message with the next request id (and the
  // control MAC when `mac`).
  std::vector<uint8_t> Build(wire::Type type, const std::vector<uint8_t>& payload, bool mac) {
    std::vector<uint8_t> msg;
    auth::BuildRequest(uint8_t(type), ++id_, payload, mac ? key_ : nullptr, &msg);
    return msg;
  }

  // Sends msg; the reply's status, or kClosed when the server closed the
  // connection instead of replying.
  static constexpr int32_t kClosed = 1;
  int32_t Send(const std::vector<uint8_t>& msg, std::vector<uint8_t>* reply_payload = nullptr) {
    std::vector<uint8_t> reply;
    if (!c_.Exchange(msg, &reply)) return kClosed;
    wire::Header h;
    REQUIRE(reply.size() >= wire::kHeaderSize);
    REQUIRE(wire::DecodeHeader(reply.data(), &h).ok());
    if (reply_payload != nullptr) reply_payload->assign(reply.begin() + wire::kHeaderSize, reply.end());
    return h.status;
  }

  int32_t Call(wire::Type type, const std::vector<uint8_t>& payload, bool mac,
               std::vector<uint8_t>* reply) {
    return Send(Build(type, payload, mac), reply);
  }

  RawClient& client() { return c_; }

 private:
  RawClient c_;
  uint8_t key_[wire::kMacSize] = {};
  uint64_t id_ = 0;
};

// Opens (creating) an unowned log through a raw session: start = tail = at.
void RawOpen(RawSession* s, const std::string& name, uint64_t at) {
  wire::OpenRequest req;
  req.epoch = 1;
  req.create = true;
  req.create_offset = at;
  req.name = name;
  std::vector<uint8_t> payload, reply;
  wire::EncodeOpenRequest(req, &payload);
  REQUIRE(s->Call(wire::Type::kOpen, payload, true, &reply) == 0);
}

std::vector<uint8_t> TrimPayload(uint64_t durable) {
  std::vector<uint8_t> p;
  wire::EncodeU64(durable, &p);
  return p;
}

}  // namespace

TEST_CASE("rdma: only the owner key opens, reads, trims or fences an owned log") {
  Server srv;
  auto owner = srv.Dial(kOwner);
  LogInfo info;
  REQUIRE(owner->Open("victim", 5, true, 0, &info).ok());
  AppendSync(owner.get(), 0, std::string(4096, 'v'));
  for (const std::string& seed : {kRogue, std::string()}) {
    INFO("rogue: " << (seed.empty() ? "no owner key" : "another owner key"));
    auto rogue = srv.Dial(seed);
    rvmr::ownership_test::CheckShutOut(rogue.get(), "victim",
                                       seed.empty() ? "unowned" : "rogue-own");
  }
  // The owner was neither fenced nor trimmed, and keeps writing.
  CHECK(srv.server->fences() == 0);
  CHECK(srv.server->auth_failures() == 6);  // each refused OPEN
  AppendSync(owner.get(), 4096, std::string(4096, 'w'));
  REQUIRE(srv.server->StatLog("victim", &info).ok());
  CHECK(info.epoch == 5);
  CHECK(info.start == 0);
  CHECK(info.tail == 8192);
  CHECK(Listed(owner.get(), "victim"));
  CHECK_FALSE(Listed(owner.get(), "rogue-own"));
  // The owner key on a new connection (a restarted writer) may fence.
  auto again = srv.Dial(kOwner);
  REQUIRE(again->Open("victim", 6, false, 0, &info).ok());
  CHECK(info.tail == 8192);
}

TEST_CASE("rdma: a replayed, altered or unauthenticated control message is refused") {
  Server srv;
  SECTION("replay") {
    RawSession s(srv);
    RawOpen(&s, "replayed", 8192);
    const auto trim = s.Build(wire::Type::kTrim, TrimPayload(8192), true);
    CHECK(s.Send(trim) == 0);  // the original is accepted
    int32_t st = s.Send(trim);  // the same bytes again
    CHECK(st != 0);
    if (st != RawSession::kClosed) CHECK(st == -EACCES);
    CHECK(s.client().WaitDisconnected());
    CHECK(srv.server->auth_failures() == 1);
  }
  SECTION("altered") {
    RawSession s(srv);
    RawOpen(&s, "altered", 0);
    auto trim = s.Build(wire::Type::kTrim, TrimPayload(0), true);
    // Rewrite durable 0 -> 4096 after the MAC was made, with valid CRCs.
    wire::Put64(trim.data() + wire::kHeaderSize, 4096);
    wire::Put32(trim.data() + 24, rvmr::crc32c::Value(trim.data() + wire::kHeaderSize,
                                                      trim.size() - wire::kHeaderSize));
    wire::Put32(trim.data() + 28, rvmr::crc32c::Value(trim.data(), 28));
    int32_t st = s.Send(trim);
    CHECK(st != 0);
    if (st != RawSession::kClosed) CHECK(st == -EACCES);
    CHECK(s.client().WaitDisconnected());
    CHECK(srv.server->auth_failures() == 1);
    LogInfo info;
    REQUIRE(srv.server->StatLog("altered", &info).ok());
    CHECK(info.start == 0);  // nothing was trimmed
  }
  SECTION("no MAC after AUTH") {
    RawSession s(srv);
    wire::OpenRequest req;
    req.epoch = 1;
    req.create = true;
    req.name = "stripped";
    std::vector<uint8_t> payload;
    wire::EncodeOpenRequest(req, &payload);
    int32_t st = s.Send(s.Build(wire::Type::kOpen, payload, /*mac=*/false));
    CHECK(st != 0);
    CHECK(s.client().WaitDisconnected());
    CHECK(srv.server->auth_failures() == 1);
    LogInfo info;
    CHECK(srv.server->StatLog("stripped", &info).code() == Status::Code::kNotFound);
  }
}

TEST_CASE("rdma: sealed records verify after the round trip; an altered copy is detected") {
  Server srv;
  std::string key(rlog::kLogKeySize, '\x5a');
  for (auto mode : {rlog::RecordSealer::Mode::kAuthenticate, rlog::RecordSealer::Mode::kEncrypt}) {
    const bool enc = mode == rlog::RecordSealer::Mode::kEncrypt;
    INFO((enc ? "encrypted" : "authenticated"));
    const std::string name = enc ? "sealed-e" : "sealed-a";
    std::unique_ptr<rlog::RecordSealer> sealer;
    REQUIRE(rlog::RecordSealer::Create(key, name, mode, &sealer).ok());
    // Four plain records from offset 0, sealed as the shim seals them.
    rlog::LogRecordWriter w(2, 0, 1);
    std::string plain;
    std::vector<uint64_t> starts;
    for (int i = 0; i < 4; i++) {
      starts.push_back(plain.size());
      w.Add(&plain, rlog::RecordType::kTransaction, 0, std::string(3000 + i, char('k' + i)));
    }
    std::string sealed = plain;
    for (size_t i = 0; i < starts.size(); i++) {
      const uint64_t end = i + 1 < starts.size() ? starts[i + 1] : sealed.size();
      REQUIRE(sealer->SealInPlace(starts[i], sealed.data() + starts[i], end - starts[i]).ok());
    }
    if (enc) CHECK(sealed.find(std::string(3000, 'k')) == std::string::npos);
    // A compromised mirror's copy: one payload byte of the third record
    // changed (a relay or the mirror's memory; over RDMA no CRC is checked
    // by the server's CPU, so only the seal can tell).
    std::string altered = sealed;
    altered[starts[2] + rlog::kRecordHeaderSize + 10] ^= 0x01;
    auto c = srv.Dial(kOwner);
    LogInfo info;
    REQUIRE(c->Open(name, 1, true, 0, &info).ok());
    AppendSync(c.get(), 0, altered);
    std::string back(altered.size(), '\0');
    size_t got = 0;
    REQUIRE(c->Read(0, back.size(), back.data(), &got).ok());
    REQUIRE(got == back.size());
    CHECK(back == altered);  // RDMA carried the bytes as written
    Status why;
    size_t good = rlog::UnsealRange(sealer.get(), /*accept_plain=*/false, 0, &back, &why);
    CHECK(good == starts[2]);  // the first two verify and become plain again
    CHECK(back.compare(0, starts[2], plain, 0, starts[2]) == 0);
    CHECK(why.code() == Status::Code::kCorruption);
    CHECK(why.message().find("offset " + std::to_string(starts[2])) != std::string::npos);
    // The unaltered copy verifies whole.
    std::string intact = sealed;
    CHECK(rlog::UnsealRange(sealer.get(), false, 0, &intact, &why) == sealed.size());
    CHECK(intact == plain);
  }
}

TEST_CASE("rdma: a new secret (SIGHUP) admits new connections; authenticated ones carry on") {
  Server srv;
  auto writer = srv.Dial(kOwner);
  LogInfo info;
  REQUIRE(writer->Open("rotated", 1, true, 0, &info).ok());
  AppendSync(writer.get(), 0, "before");
  const std::string next = "the-rotated-rdma-secret-0123456789";
  CHECK(srv.server->SetSecret("short").code() == Status::Code::kInvalidArgument);
  CHECK(srv.server->SetSecret("").code() == Status::Code::kInvalidArgument);
  REQUIRE(srv.server->SetSecret(next).ok());
  // The authenticated writer keeps its session.
  AppendSync(writer.get(), 6, "after");
  REQUIRE(writer->Stat(&info).ok());
  CHECK(info.tail == 11);
  // The old secret no longer admits anyone; the new one does.
  ConnectOptions old_opts;
  old_opts.secret = kSecret;
  std::unique_ptr<Connection> c;
  CHECK_FALSE(rvmr::remote_log::rdma::RdmaConnection::Connect(srv.ep, old_opts, &c).ok());
  ConnectOptions new_opts;
  new_opts.secret = next;
  new_opts.owner_seed = kOwner;
  auto fresh = rvmr::rdma_test::Connect(srv.ep, new_opts);
  REQUIRE(fresh->Open("rotated", 2, false, 0, &info).ok());
  CHECK(info.tail == 11);
}

TEST_CASE("rdma: rvm-logd's metrics cover the RDMA server's logs and refusals") {
  Server srv;
  auto writer = srv.Dial(kOwner);
  LogInfo info;
  REQUIRE(writer->Open("metered", 1, true, 0, &info).ok());
  AppendSync(writer.get(), 0, std::string(4096, 'm'));
  auto rogue = srv.Dial(kRogue);
  CHECK_FALSE(rogue->Open("metered", 2, false, 0, &info).ok());
  rvmr::remote_log::ServerOptions so;
  so.listen = "127.0.0.1:0";
  rvmr::remote_log::Server tcp(so);
  REQUIRE(tcp.Start().ok());
  const std::string text =
      rvmr::remote_log::RenderLogdMetrics(tcp, rvmr::remote_log::LogdCounters{}, srv.server.get());
  INFO(text);
  CHECK(text.find("\nrvm_logd_rdma_logs 1\n") != std::string::npos);
  CHECK(text.find("\nrvm_logd_rdma_log_held_bytes{log=\"metered\"} 4096\n") != std::string::npos);
  CHECK(text.find("\nrvm_logd_rdma_log_lag_bytes{log=\"metered\"} 4096\n") != std::string::npos);
  CHECK(text.find("\nrvm_logd_rdma_connections 2\n") != std::string::npos);
  CHECK(text.find("\nrvm_logd_rdma_auth_failures_total 1\n") != std::string::npos);
  CHECK(text.find("# TYPE rvm_logd_rdma_connections_accepted_total counter") != std::string::npos);
  // After the writer's TRIM, nothing lags.
  REQUIRE(writer->Trim(4096, &info).ok());
  const std::string after =
      rvmr::remote_log::RenderLogdMetrics(tcp, rvmr::remote_log::LogdCounters{}, srv.server.get());
  CHECK(after.find("\nrvm_logd_rdma_log_lag_bytes{log=\"metered\"} 0\n") != std::string::npos);
}
