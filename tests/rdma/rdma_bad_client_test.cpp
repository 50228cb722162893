// The RDMA server against clients that do not follow the protocol: garbage
// control messages, oversized messages, requests before HELLO, and RDMA
// WRITEs with another connection's rkey. Each must cost only that client its
// connection; the server and the other clients carry on.
#include <arpa/inet.h>
#include <infiniband/verbs.h>
#include <poll.h>
#include <rdma/rdma_cma.h>
#include <sys/uio.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "rdma_raw_client.h"
#include "rdma_test_util.h"
#include "remote_log/rdma/rdma_connection.h"
#include "remote_log/rdma/rdma_server.h"
#include "remote_log/wire.h"

using rvmr::Status;
using rvmr::remote_log::Connection;
using rvmr::remote_log::ConnectOptions;
using rvmr::remote_log::Endpoint;
using rvmr::remote_log::LogInfo;
using rvmr::remote_log::rdma::RdmaConnection;
using rvmr::remote_log::rdma::RdmaServer;
using rvmr::remote_log::rdma::RdmaServerOptions;

namespace {

const char* kSecret = "bad-client-secret-0123";

using rvmr::rdma_test::RawClient;
using rvmr::rdma_test::TestAddr;

struct Server {
  Server() {
    RdmaServerOptions o;
    o.ring_size = 1 << 16;
    o.secret = kSecret;
    server = rvmr::rdma_test::StartServer(o);
    ep = rvmr::rdma_test::EndpointOf(*server);
  }
  std::unique_ptr<Connection> Good() {
    ConnectOptions opts;
    opts.secret = kSecret;
    return rvmr::rdma_test::Connect(ep, opts);
  }
  std::unique_ptr<RdmaServer> server;
  Endpoint ep;
};

// The writer keeps working: append 3 bytes at `*off` and check the tail.
void CheckWriterAlive(Server& srv, Connection* writer, uint64_t* off) {
  iovec iov{const_cast<char*>("abc"), 3};
  REQUIRE(writer->StartAppend(*off, &iov, 1).ok());
  uint64_t acked = 0;
  REQUIRE(writer->WaitAcked(*off + 3, &acked).ok());
  *off += 3;
  LogInfo view;
  REQUIRE(srv.server->StatLog("victim", &view).ok());
  CHECK(view.tail == *off);
}

// The victim: a good client that created log "victim" (epoch 1) and appended
// to it; *off: the tail after that.
std::unique_ptr<Connection> VictimWriter(Server& srv, uint64_t* off) {
  auto writer = srv.Good();
  LogInfo info;
  REQUIRE(writer->Open("victim", 1, true, 0, &info).ok());
  *off = 0;
  CheckWriterAlive(srv, writer.get(), off);
  return writer;
}

}  // namespace

TEST_CASE("rdma: malformed control messages close only that connection") {
  Server srv;
  uint64_t off = 0;
  auto writer = VictimWriter(srv, &off);

  std::vector<std::vector<uint8_t>> attacks;
  attacks.push_back(std::vector<uint8_t>(100, 0xAB));  // garbage
  attacks.push_back(std::vector<uint8_t>(5, 0x01));    // shorter than a header
  {
    // A valid header whose payload length disagrees with the message.
    std::vector<uint8_t> m;
    rvmr::remote_log::wire::BuildMessage(uint8_t(rvmr::remote_log::wire::Type::kStat), 0, 1,
                                         std::vector<uint8_t>(8, 0), &m);
    m.resize(m.size() - 3);
    attacks.push_back(m);
  }
  {
    // A well-formed OPEN before HELLO/AUTH.
    std::vector<uint8_t> payload, m;
    rvmr::remote_log::wire::OpenRequest req;
    req.epoch = 99;
    req.name = "victim";
    rvmr::remote_log::wire::EncodeOpenRequest(req, &payload);
    rvmr::remote_log::wire::BuildMessage(uint8_t(rvmr::remote_log::wire::Type::kOpen), 0, 1,
                                         payload, &m);
    attacks.push_back(m);
  }
  attacks.push_back(std::vector<uint8_t>(100 * 1024, 0x55));  // larger than a receive buffer
  for (size_t i = 0; i < attacks.size(); ++i) {
    INFO("attack " << i);
    RawClient bad;
    bad.Connect(TestAddr(), srv.server->port());
    bad.Send(attacks[i]);
    CHECK(bad.WaitDisconnected());
    CheckWriterAlive(srv, writer.get(), &off);
  }
  // The OPEN before authentication fenced nobody.
  LogInfo view;
  REQUIRE(srv.server->StatLog("victim", &view).ok());
  CHECK(view.epoch == 1);
  CHECK(srv.server->fences() == 0);
}

TEST_CASE("rdma: another connection cannot use the writer's rkey") {
  Server srv;
  uint64_t off = 0;
  auto writer = VictimWriter(srv, &off);
  const auto& region =
      static_cast<RdmaConnection*>(writer.get())->region();  // what an attacker might learn
  RawClient intruder;
  intruder.Connect(TestAddr(), srv.server->port());
  // Each connection has its own protection domain: the rkey is useless here,
  // with or without authenticating.
  ibv_wc_status st = intruder.Write(region.addr, region.rkey, 8);
  CHECK(st == IBV_WC_REM_ACCESS_ERR);
  LogInfo view;
  REQUIRE(srv.server->StatLog("victim", &view).ok());
  CHECK(view.tail == off);  // the control word was not overwritten
  CheckWriterAlive(srv, writer.get(), &off);
}

TEST_CASE("rdma: a connection that does not authenticate in time is disconnected") {
  RdmaServerOptions o;
  o.ring_size = 1 << 16;
  o.secret = kSecret;
  o.auth_timeout_ms = 300;
  o.max_connections = 3;
  auto server = rvmr::rdma_test::StartServer(o);
  Endpoint ep = rvmr::rdma_test::EndpointOf(*server);
  ConnectOptions opts;
  opts.secret = kSecret;
  auto writer = rvmr::rdma_test::Connect(ep, opts);
  LogInfo info;
  REQUIRE(writer->Open("w", 1, true, 0, &info).ok());
  // Two connections that never send anything fill the limit...
  RawClient stalled[2];
  for (auto& s : stalled) s.Connect(TestAddr(), server->port());
  // ... and are disconnected once their deadline passes.
  for (auto& s : stalled) CHECK(s.WaitDisconnected());
  CHECK(server->auth_timeouts() == 2);
  // The authenticated writer is never timed out.
  iovec iov{const_cast<char*>("abc"), 3};
  REQUIRE(writer->StartAppend(0, &iov, 1).ok());
  uint64_t acked = 0;
  REQUIRE(writer->WaitAcked(3, &acked).ok());
}

TEST_CASE("rdma: connections beyond max_connections are rejected") {
  RdmaServerOptions o;
  o.ring_size = 1 << 16;
  o.secret = kSecret;
  o.max_connections = 2;
  auto server = rvmr::rdma_test::StartServer(o);
  RawClient held[2];
  for (auto& h : held) h.Connect(TestAddr(), server->port());
  Endpoint ep = rvmr::rdma_test::EndpointOf(*server);
  ConnectOptions opts;
  opts.secret = kSecret;
  std::unique_ptr<Connection> c;
  Status s = RdmaConnection::Connect(ep, opts, &c);
  CHECK_FALSE(s.ok());
  CHECK(server->connections_refused() == 1);
}
