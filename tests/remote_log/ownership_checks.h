// Checks of one log owner's protection that hold the same over every
// transport (tests/remote_log/ownership_test.cpp over TCP,
// tests/rdma/rdma_security_test.cpp over RDMA).
#pragma once

#include <catch2/catch.hpp>

#include <cerrno>
#include <string>
#include <vector>

#include "remote_log/transport.h"

namespace rvmr::ownership_test {

// Whether `name` is in c's LIST.
inline bool Listed(remote_log::Connection* c, const std::string& name) {
  std::vector<remote_log::LogEntry> logs;
  REQUIRE(c->List(&logs).ok());
  for (const auto& e : logs)
    if (e.name == name) return true;
  return false;
}

// A client without the key of log `victim` (`rogue`, authenticated with the
// server secret) can neither fence it (a higher epoch), open nor re-create
// it; with no log open it can read and trim nothing; LIST does not show
// `victim`; and it can create, use and list its own log `own`.
inline void CheckShutOut(remote_log::Connection* rogue, const std::string& victim,
                         const std::string& own) {
  remote_log::LogInfo info;
  for (uint64_t epoch : {uint64_t{5}, uint64_t{6}, uint64_t{1000}}) {
    Status s = rogue->Open(victim, epoch, true, 0, &info);
    CHECK_FALSE(s.ok());
    CHECK(s.sys_errno() == EPERM);
    CHECK(s.message().find("not the log's owner") != std::string::npos);
  }
  size_t got = 0;
  std::vector<uint8_t> buf(4096);
  CHECK_FALSE(rogue->Read(0, buf.size(), buf.data(), &got).ok());
  CHECK_FALSE(rogue->Trim(4096, &info).ok());
  CHECK_FALSE(Listed(rogue, victim));
  REQUIRE(rogue->Open(own, 1, true, 0, &info).ok());
  CHECK(Listed(rogue, own));
}

}  // namespace rvmr::ownership_test
