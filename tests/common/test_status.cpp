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
