// Shim configuration: the file format, every setting, and clear errors.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "shim/shim_config.h"

using rvmr::ShimConfig;

TEST_CASE("shim config parses every setting") {
  ShimConfig c;
  auto s = rvmr::ParseShimConfig(
      "# comment\n"
      "mirrors = tcp://127.0.0.1:1, tcp://127.0.0.1:2 rdma://10.0.0.1:3\n"
      "ack = 2\n"
      "failure_policy = strict   # inline comment\n"
      "require_mirror_at_recovery = yes\n"
      "abandon_mirror_copy = yes\n"
      "staging_bytes = 8M\n"
      "trim_interval_bytes = 64K\n"
      "disk_batch_delay_us = 250\n"
      "pipeline_depth = 4\n"
      "connect_timeout_ms = 100\n"
      "io_timeout_ms = 250\n"
      "reconnect_interval_ms = 50\n"
      "busy_poll = on\n"
      "o_direct = no\n"
      "disk_writer = pwrite\n"
      "log_name = mylog\n",
      "test.conf", &c);
  REQUIRE(s.ok());
  REQUIRE(c.mirrors.size() == 3);
  CHECK(c.mirrors[2] == "rdma://10.0.0.1:3");
  CHECK(c.write_quorum == 2);
  CHECK(c.failure_policy == ShimConfig::FailurePolicy::kStrict);
  CHECK(c.require_mirror_at_recovery);
  CHECK(c.abandon_mirror_copy);
  CHECK(c.staging_bytes == 8u << 20);
  CHECK(c.trim_interval_bytes == 64u << 10);
  CHECK(c.disk_batch_delay_us == 250);
  CHECK(c.pipeline_depth == 4);
  CHECK(c.connect_timeout_ms == 100);
  CHECK(c.io_timeout_ms == 250);
  CHECK(c.reconnect_interval_ms == 50);
  CHECK(c.busy_poll);
  CHECK_FALSE(c.o_direct);
  CHECK(c.disk_writer == ShimConfig::DiskWriterKind::kPwrite);
  CHECK(c.log_name == "mylog");
  CHECK(c.enabled());
}

TEST_CASE("shim config errors name the file, line and key") {
  ShimConfig c;
  auto s = rvmr::ParseShimConfig("ack = all\nbogus = 1\n", "x.conf", &c);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message() == "x.conf:2: unknown setting 'bogus'");

  s = rvmr::ParseShimConfig("staging_bytes = 12Q\n", "y.conf", &c);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("y.conf:1: bad value '12Q' for 'staging_bytes'") == 0);

  s = rvmr::ParseShimConfig("failure_policy = maybe\n", "z", &c);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("'fallback' or 'strict'") != std::string::npos);

  CHECK_FALSE(rvmr::ParseShimConfig("pipeline_depth = 0\n", "v", &c).ok());
  s = rvmr::ParseShimConfig("abandon_mirror_copy = please\n", "a", &c);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("'abandon_mirror_copy': expected yes or no") != std::string::npos);
  CHECK_FALSE(ShimConfig().abandon_mirror_copy);  // never by default
  CHECK_FALSE(rvmr::ParseShimConfig("pipeline_depth = 65\n", "v", &c).ok());
  s = rvmr::ParseShimConfig("disk_batch_delay_us = 2000000\n", "v", &c);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("microseconds, 0..1000000") != std::string::npos);

  s = rvmr::ParseShimConfig("no equals sign\n", "w", &c);
  REQUIRE_FALSE(s.ok());

  ShimConfig d;
  s = rvmr::ParseShimConfig("mirrors = tcp://a:1\nack = 2\n", "q", &d);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("only 1 mirrors") != std::string::npos);

  s = rvmr::ParseShimConfig("secret_file = /nonexistent/secret\n", "s", &d);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("/nonexistent/secret") != std::string::npos);

  // A secret shorter than 16 bytes is refused, naming the file.
  char dir[] = "/tmp/shimcfgXXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  std::string short_secret = std::string(dir) + "/short";
  { std::ofstream(short_secret) << "fifteen bytes!!\n"; }
  s = rvmr::ParseShimConfig("secret_file = " + short_secret + "\n", "s", &d);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find(short_secret) != std::string::npos);
  CHECK(s.message().find("at least 16") != std::string::npos);
  std::remove(short_secret.c_str());
  rmdir(dir);
}

TEST_CASE("a mistyped mirror address is a configuration error naming it") {
  ShimConfig c;
  auto s = rvmr::ParseShimConfig("mirrors = tcp://a:1, foo://bar\n", "m.conf", &c);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message() ==
        "m.conf:1: mirrors: bad mirror URI 'foo://bar': no port (expected scheme://host:port)");
  s = rvmr::ParseShimConfig("mirrors = foo://bar:7\n", "m.conf", &c);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("unknown scheme 'foo' (expected tcp:// or rdma://)") !=
        std::string::npos);
  unsetenv("RVM_SHIM_CONFIG");
  setenv("RVM_MIRRORS", "foo://bar", 1);
  ShimConfig e;
  s = rvmr::LoadShimConfigFromEnv(&e);
  unsetenv("RVM_MIRRORS");
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().rfind("RVM_MIRRORS: bad mirror URI 'foo://bar'", 0) == 0);
  ShimConfig ok;
  CHECK(rvmr::ParseShimConfig("mirrors = tcp://a:1,rdma://[::1]:2\n", "m.conf", &ok).ok());
}

TEST_CASE("shim config from the environment: RVM_MIRRORS overrides the file") {
  char dir[] = "/tmp/shimcfgXXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  std::string file = std::string(dir) + "/shim.conf";
  std::string secret = std::string(dir) + "/secret";
  { std::ofstream(secret) << "s3cret-of-16-bytes\n"; }
  { std::ofstream(file) << "mirrors = tcp://127.0.0.1:9\nsecret_file = " << secret << "\n"; }
  setenv("RVM_SHIM_CONFIG", file.c_str(), 1);
  setenv("RVM_MIRRORS", "tcp://127.0.0.1:10,tcp://127.0.0.1:11", 1);
  ShimConfig c;
  REQUIRE(rvmr::LoadShimConfigFromEnv(&c).ok());
  CHECK(c.mirrors.size() == 2);
  CHECK(c.secret == "s3cret-of-16-bytes");
  unsetenv("RVM_MIRRORS");
  ShimConfig d;
  REQUIRE(rvmr::LoadShimConfigFromEnv(&d).ok());
  CHECK(d.mirrors == std::vector<std::string>{"tcp://127.0.0.1:9"});
  setenv("RVM_SHIM_CONFIG", (std::string(dir) + "/missing.conf").c_str(), 1);
  ShimConfig e;
  CHECK_FALSE(rvmr::LoadShimConfigFromEnv(&e).ok());
  unsetenv("RVM_SHIM_CONFIG");
  ShimConfig f;
  REQUIRE(rvmr::LoadShimConfigFromEnv(&f).ok());
  CHECK_FALSE(f.enabled());
  std::remove(file.c_str());
  std::remove(secret.c_str());
  rmdir(dir);
}
