#include <catch2/catch.hpp>

#include <cerrno>

#include "common/status.h"

using rvmr::Status;

TEST_CASE("Status carries code, message and errno", "[status]") {
  Status ok;
  REQUIRE(ok.ok());
  REQUIRE(ok.ToString() == "OK");

  Status io = Status::IoError("write /tmp/x at offset 4096", ENOSPC);
  REQUIRE_FALSE(io.ok());
  REQUIRE(io.code() == Status::Code::kIoError);
  REQUIRE(io.sys_errno() == ENOSPC);
  REQUIRE(io.ToString().find("offset 4096") != std::string::npos);
  REQUIRE(io.ToString().find("No space left on device") != std::string::npos);

  Status c = Status::Corruption("bad crc at 512");
  REQUIRE(c.code() == Status::Code::kCorruption);
  REQUIRE(c.ToString() == "Corruption: bad crc at 512");
}

TEST_CASE("WithContext puts what the caller was doing first and keeps code and errno", "[status]") {
  Status s = Status::IoError("pwrite", ENOSPC)
                 .WithContext("writing 5 bytes at offset 4096 of segment file /d/seg")
                 .WithContext("log /d/log: recovery");
  CHECK(s.code() == Status::Code::kIoError);
  CHECK(s.sys_errno() == ENOSPC);
  CHECK(s.ToString() ==
        "IO error: log /d/log: recovery: writing 5 bytes at offset 4096 of segment file /d/seg: "
        "pwrite (No space left on device)");
  const Status u = Status::Unavailable("server closed the connection");
  CHECK(u.WithContext("tcp://m:1").ToString() ==
        "Unavailable: tcp://m:1: server closed the connection");
  CHECK(u.message() == "server closed the connection");  // the const& overload copies
  CHECK(Status::Ok().WithContext("anything").ok());
  CHECK(u.WithContext("").ToString() == u.ToString());
}
