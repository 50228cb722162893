// MirrorSet over rdma:// URIs, alone and mixed with a TCP mirror: the RDMA
// transport plugs into the client library through TransportRegistry.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "rdma_test_util.h"
#include "remote_log/mirror_set.h"
#include "remote_log/rdma/rdma_server.h"
#include "remote_log/server.h"

using rvmr::Status;
using rvmr::remote_log::LogInfo;
using rvmr::remote_log::MirrorSet;
using rvmr::remote_log::MirrorSetOptions;
using rvmr::remote_log::Server;
using rvmr::remote_log::ServerOptions;
using rvmr::remote_log::TransportRegistry;
using rvmr::remote_log::rdma::RdmaServer;
using rvmr::remote_log::rdma::RdmaServerOptions;

namespace {

const char* kSecret = "mirror-secret-of-enough-bytes";

std::unique_ptr<RdmaServer> StartRdma() {
  RdmaServerOptions o;
  o.ring_size = 1 << 20;
  o.secret = kSecret;
  return rvmr::rdma_test::StartServer(o);
}

std::string RdmaUri(const RdmaServer& s) {
  return rvmr::rdma_test::EndpointOf(s).uri;
}

}  // namespace

TEST_CASE("rdma: MirrorSet with an rdma:// and a tcp:// mirror") {
  REQUIRE(TransportRegistry::Global().Has("rdma"));
  auto rdma_server = StartRdma();
  ServerOptions to;
  to.listen = "127.0.0.1:0";
  to.capacity = 16 << 20;
  to.secret = kSecret;
  Server tcp_server(to);
  REQUIRE(tcp_server.Start().ok());

  MirrorSetOptions mo;
  mo.uris = {RdmaUri(*rdma_server), "tcp://127.0.0.1:" + std::to_string(tcp_server.port())};
  mo.connect.secret = kSecret;
  std::unique_ptr<MirrorSet> set;
  Status s = MirrorSet::Connect(mo, &set);
  INFO(s.ToString());
  REQUIRE(s.ok());
  std::vector<LogInfo> infos;
  REQUIRE(set->Open("mixed", 1, true, 4096, &infos).ok());
  std::string data;
  uint64_t off = 4096;
  for (int i = 0; i < 50; ++i) {
    std::string rec(size_t(10 + i * 3), char('A' + i % 26));
    REQUIRE(set->Append(off, rec.data(), rec.size()).ok());
    off += rec.size();
    data += rec;
  }
  for (int mirror = 0; mirror < 2; ++mirror) {
    std::string back(data.size(), '\0');
    size_t got = 0;
    REQUIRE(set->Read(4096, back.size(), back.data(), &got, mirror).ok());
    CHECK(got == data.size());
    CHECK(back == data);
  }
  REQUIRE(set->Trim(off - 100).ok());
  LogInfo server_view;
  REQUIRE(rdma_server->StatLog("mixed", &server_view).ok());
  CHECK(server_view.tail == off);
  CHECK(server_view.durable == off - 100);

  // A newer writer fences this one on both transports.
  std::unique_ptr<MirrorSet> next;
  REQUIRE(MirrorSet::Connect(mo, &next).ok());
  REQUIRE(next->Open("mixed", 2, false, 0, &infos).ok());
  CHECK(infos[0].tail == off);
  CHECK(infos[1].tail == off);
  Status fenced = set->Append(off, "late", 4);
  CHECK(fenced.code() == Status::Code::kFenced);
  REQUIRE(next->Append(off, "next", 4).ok());
  REQUIRE(rdma_server->StatLog("mixed", &server_view).ok());
  CHECK(server_view.tail == off + 4);
  tcp_server.Stop();
}

TEST_CASE("rdma: MirrorSet with two rdma:// mirrors, pipelined") {
  auto a = StartRdma();
  auto b = StartRdma();
  MirrorSetOptions mo;
  mo.uris = {RdmaUri(*a), RdmaUri(*b)};
  mo.connect.secret = kSecret;
  std::unique_ptr<MirrorSet> set;
  REQUIRE(MirrorSet::Connect(mo, &set).ok());
  std::vector<LogInfo> infos;
  REQUIRE(set->Open("two", 7, true, 0, &infos).ok());
  std::string rec(200, 'z');
  uint64_t off = 0;
  for (int i = 0; i < 100; ++i) {
    iovec iov{rec.data(), rec.size()};
    REQUIRE(set->AppendAsync(off, &iov, 1).ok());
    off += rec.size();
  }
  REQUIRE(set->WaitAcked(off).ok());
  CHECK(set->AckedEnd() == off);
  LogInfo va, vb;
  REQUIRE(a->StatLog("two", &va).ok());
  REQUIRE(b->StatLog("two", &vb).ok());
  CHECK(va.tail == off);
  CHECK(vb.tail == off);
}
