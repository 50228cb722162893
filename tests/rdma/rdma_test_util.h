// Shared by the RDMA tests: the address to serve on, a started RdmaServer and
// a connected RdmaConnection.
#pragma once

#include <catch2/catch.hpp>
#include <cstdlib>
#include <memory>
#include <string>

#include "remote_log/rdma/rdma_connection.h"
#include "remote_log/rdma/rdma_server.h"

namespace rvmr::rdma_test {

// The IP address of the RDMA device to test on (RVM_RDMA_TEST_ADDR); fails
// the test when it is not set.
inline std::string TestAddr() {
  const char* a = std::getenv("RVM_RDMA_TEST_ADDR");
  if (a == nullptr || *a == '\0') {
    FAIL(
        "RVM_RDMA_TEST_ADDR is not set: run this binary through tests/rdma/run-rdma-tests "
        "(the Soft-RoCE VM) or set it to an IP address of an RDMA device");
  }
  return a;
}

// An RdmaServer on TestAddr() at an OS-chosen port, started. `o.listen` is
// filled in.
inline std::unique_ptr<remote_log::rdma::RdmaServer> StartServer(
    remote_log::rdma::RdmaServerOptions o) {
  o.listen = TestAddr() + ":0";
  auto server = std::make_unique<remote_log::rdma::RdmaServer>(o);
  Status s = server->Start();
  INFO(s.ToString());
  REQUIRE(s.ok());
  return server;
}

// The endpoint of `server`.
inline remote_log::Endpoint EndpointOf(const remote_log::rdma::RdmaServer& server) {
  remote_log::Endpoint ep;
  ep.scheme = "rdma";
  ep.host = TestAddr();
  ep.port = server.port();
  ep.uri = "rdma://" + ep.host + ":" + std::to_string(ep.port);
  return ep;
}

// A connection to `ep`; fails the test if it cannot be made.
inline std::unique_ptr<remote_log::Connection> Connect(const remote_log::Endpoint& ep,
                                                       const remote_log::ConnectOptions& opts) {
  std::unique_ptr<remote_log::Connection> c;
  Status s = remote_log::rdma::RdmaConnection::Connect(ep, opts, &c);
  INFO(s.ToString());
  REQUIRE(s.ok());
  return c;
}

}  // namespace rvmr::rdma_test
