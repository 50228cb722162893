// common/config_file.h: the `key = value` format every config file uses.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/config_file.h"

using namespace rvmr;

TEST_CASE("config file lines: comments, blanks, whitespace and line numbers") {
  std::vector<config::Line> lines;
  REQUIRE(config::SplitLines("# a comment\n\n  listen = 127.0.0.1:1 # trailing\r\n"
                             "\tempty =\nsecret-file=/x\n",
                             "f.conf", &lines)
              .ok());
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].key == "listen");
  CHECK(lines[0].value == "127.0.0.1:1");
  CHECK(lines[0].lineno == 3);
  CHECK(lines[1].key == "empty");
  CHECK(lines[1].value.empty());
  CHECK(lines[1].lineno == 4);
  CHECK(lines[2].key == "secret-file");
  CHECK(lines[2].value == "/x");
  CHECK(lines[2].lineno == 5);
}

TEST_CASE("config file lines: a line without '=' or without a key names file and line") {
  std::vector<config::Line> lines;
  Status s = config::SplitLines("a = 1\nnonsense\n", "/etc/x.conf", &lines);
  REQUIRE_FALSE(s.ok());
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(s.message() == "/etc/x.conf:2: expected 'key = value', got 'nonsense'");
  lines.clear();
  s = config::SplitLines("\n\n = 3", "y", &lines);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().rfind("y:3: ", 0) == 0);
  config::Line l{"k", "v", 7};
  CHECK(config::BadValue("z.conf", l, "a number").message() ==
        "z.conf:7: bad value 'v' for 'k': expected a number");
}

TEST_CASE("config values: sizes and booleans") {
  uint64_t n = 0;
  CHECK(config::ParseSize("4096", &n));
  CHECK(n == 4096);
  CHECK(config::ParseSize("64K", &n));
  CHECK(n == 65536);
  CHECK(config::ParseSize("512m", &n));
  CHECK(n == 512ull << 20);
  CHECK(config::ParseSize("2GiB", &n));
  CHECK(n == 2ull << 30);
  CHECK(config::ParseSize("7B", &n));
  CHECK(n == 7);
  for (const char* bad : {"", "K", "1T", "-1", "1.5G", "99999999999999999999", "17179869184G"})
    CHECK_FALSE(config::ParseSize(bad, &n));
  bool b = false;
  CHECK(config::ParseBool("yes", &b));
  CHECK(b);
  CHECK(config::ParseBool("off", &b));
  CHECK_FALSE(b);
  CHECK_FALSE(config::ParseBool("maybe", &b));
  std::string text;
  CHECK(config::ReadWholeFile("/nonexistent/rvm/x.conf", &text) == ENOENT);
}
