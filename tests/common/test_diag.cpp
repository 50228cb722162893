#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "common/diag.h"

using rvmr::DiagLevel;

namespace {

struct Seen {
  int level;
  std::string text;
};

void Keep(void* arg, int level, const char* message) {
  static_cast<std::vector<Seen>*>(arg)->push_back({level, message});
}

}  // namespace

TEST_CASE("Report goes to the hook with its level, filtered by the threshold", "[diag]") {
  std::vector<Seen> seen;
  rvmr::SetDiagHook(&Keep, &seen);
  const DiagLevel old = rvmr::SetDiagThreshold(DiagLevel::kNotice);
  rvmr::Report(DiagLevel::kError, "log %s: %d", "/x", 7);
  rvmr::Report(DiagLevel::kInfo, "dropped");
  rvmr::Report(DiagLevel::kNotice, "trailing newline is dropped\n");
  rvmr::ReportText(DiagLevel::kWarning, std::string(2000, 'w'));  // longer than one buffer
  REQUIRE(seen.size() == 3);
  CHECK(seen[0].level == 0);
  CHECK(seen[0].text == "log /x: 7");
  CHECK(seen[1].level == 2);
  CHECK(seen[1].text == "trailing newline is dropped");
  CHECK(seen[2].text == std::string(2000, 'w'));
  CHECK_FALSE(rvmr::DiagEnabled(DiagLevel::kInfo));
  CHECK(rvmr::SetDiagThreshold(DiagLevel::kDebug) == DiagLevel::kNotice);
  rvmr::Report(DiagLevel::kDebug, "now %s", "said");
  CHECK(seen.back().text == "now said");
  rvmr::SetDiagHook(nullptr, nullptr);
  rvmr::SetDiagThreshold(old);
}

TEST_CASE("level names parse both ways", "[diag]") {
  DiagLevel l = DiagLevel::kError;
  CHECK(rvmr::ParseDiagLevel("warning", &l));
  CHECK(l == DiagLevel::kWarning);
  CHECK(rvmr::ParseDiagLevel("4", &l));
  CHECK(l == DiagLevel::kDebug);
  CHECK_FALSE(rvmr::ParseDiagLevel("loud", &l));
  CHECK_FALSE(rvmr::ParseDiagLevel("5", &l));
  CHECK(std::string(rvmr::DiagLevelName(DiagLevel::kInfo)) == "info");
}

TEST_CASE("without a hook a message is one prefixed line on stderr", "[diag]") {
  char path[] = "/tmp/rvm-diag-XXXXXX";
  int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  std::fflush(stderr);
  int saved = ::dup(2);
  REQUIRE(::dup2(fd, 2) == 2);
  rvmr::Report(DiagLevel::kError, "cannot open log %s", "/x/LOG");
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  std::string text(256, '\0');
  ssize_t n = ::pread(fd, text.data(), text.size(), 0);
  ::close(fd);
  ::unlink(path);
  REQUIRE(n > 0);
  text.resize(static_cast<size_t>(n));
  CHECK(text == "rvm: error: cannot open log /x/LOG\n");
}
