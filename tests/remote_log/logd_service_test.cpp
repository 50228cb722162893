// rvm-logd as a service, run as a process: its config file, its log lines
// (plain and for the journal), systemd readiness (NOTIFY_SOCKET), SIGHUP
// reloads (secret rotation, a bad config kept out), SIGTERM waiting for
// writers' trims, and the Prometheus metrics endpoint. Every wait is on the
// daemon's stderr pipe, its notify socket or its exit: no sleeps.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "logd_process.h"
#include "remote_log/client.h"
#include "test_util.h"

using namespace rvmr;
using namespace rvmr::remote_log;
using rvmr::remote_log::test::LogdProcess;
using rvmr::remote_log::test::NotifySocket;
using rvmr::remote_log::test::TempDir;

namespace {

std::string Uri(int port) {
  return "tcp://127.0.0.1:" + std::to_string(port);
}

std::unique_ptr<MirrorSet> Writer(int port, const std::string& secret, const std::string& log) {
  MirrorSetOptions mo;
  mo.uris = {Uri(port)};
  mo.connect.secret = secret;
  std::unique_ptr<MirrorSet> m;
  REQUIRE(MirrorSet::Connect(mo, &m).ok());
  REQUIRE(m->Open(log, 1, true, 0, nullptr).ok());
  return m;
}

bool CanAuthenticate(int port, const std::string& secret) {
  std::unique_ptr<Connection> c;
  ConnectOptions o;
  o.secret = secret;
  return TransportRegistry::Global().Connect(Uri(port), o, &c).ok();
}

// One HTTP request over loopback; the whole response.
std::string Http(int port, const std::string& request) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      send(fd, request.data(), request.size(), MSG_NOSIGNAL) == ssize_t(request.size())) {
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, size_t(n));
  }
  close(fd);
  return out;
}

// Parses a Prometheus text exposition: sample "name{labels}" -> value; every
// sample's family must have HELP and TYPE lines before it.
std::map<std::string, double> ParseMetrics(const std::string& body) {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;
  std::map<std::string, bool> helps;
  std::istringstream in(body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# HELP ", 0) == 0) {
      helps[line.substr(7, line.find(' ', 7) - 7)] = true;
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      size_t sp = line.find(' ', 7);
      types[line.substr(7, sp - 7)] = line.substr(sp + 1);
      continue;
    }
    REQUIRE(!line.empty());
    size_t sp = line.rfind(' ');
    std::string key = line.substr(0, sp);
    std::string name = key.substr(0, key.find('{'));
    CHECK(name.rfind("rvm_logd_", 0) == 0);
    CHECK(helps.count(name) == 1);
    REQUIRE(types.count(name) == 1);
    if (types[name] == "counter") CHECK(name.size() > 6);
    if (types[name] == "counter") CHECK(name.substr(name.size() - 6) == "_total");
    samples[key] = std::stod(line.substr(sp + 1));
  }
  return samples;
}

}  // namespace

TEST_CASE("rvm-logd reads its config file and the command line overrides it") {
  TempDir dir;
  std::string conf = dir.Write("logd.conf",
                               "# test config\n"
                               "listen = 127.0.0.1:0\n"
                               "capacity = 8M\n"
                               "max-connections = 5\n"
                               "max_connections = 7   # '_' stands for '-'\n"
                               "log-level = notice\n");
  LogdProcess d({"--config", conf, "--capacity", "16M"});
  REQUIRE(d.WaitFor("listening on"));
  CHECK(d.err().find("capacity 16777216 bytes") != std::string::npos);
  CHECK(d.err().find("at most 7 connections") != std::string::npos);
  CHECK(d.err().find("config " + conf) != std::string::npos);
  CHECK(d.err().find("rvm-logd: notice: listening on 127.0.0.1:0") != std::string::npos);
  kill(d.pid(), SIGTERM);
  CHECK(d.Wait() == 0);
  // Nothing was pending: it said so at level notice and left at once.
  CHECK(d.err().find("rvm-logd: notice: SIGTERM, shutting down") != std::string::npos);
}

TEST_CASE("rvm-logd refuses a bad config file, naming the file and line") {
  TempDir dir;
  struct Case {
    const char* text;
    const char* want;
  } cases[] = {
      {"listen = 127.0.0.1:0\nbogus = 1\n", ":2: unknown key 'bogus'"},
      {"threads = many\n", ":1: bad value 'many' for 'threads'"},
      {"\n\nmlock = maybe\n", ":3: bad value 'maybe' for 'mlock'"},
      {"auth-timeout = 0\n", ":1: bad value '0' for 'auth-timeout'"},
      {"listen\n", ":1: expected 'key = value', got 'listen'"},
      {"config = /etc/other.conf\n", ":1: unknown key 'config'"},
      {"log-level = loud\n", "bad log level 'loud'"},
      {"capacity = lots\n", "bad capacity 'lots'"},
  };
  for (const Case& c : cases) {
    std::string conf = dir.Write("bad.conf", c.text);
    LogdProcess d({"--config", conf});
    CHECK(d.Wait() == 2);
    INFO(d.err());
    CHECK(d.err().find("rvm-logd: error: ") != std::string::npos);
    CHECK(d.err().find(c.want) != std::string::npos);
  }
  // An explicit file that does not exist is an error naming it.
  LogdProcess missing({"--config", dir.path + "/missing.conf"});
  CHECK(missing.Wait() == 2);
  CHECK(missing.err().find(dir.path + "/missing.conf") != std::string::npos);
}

TEST_CASE("rvm-logd writes journal priority prefixes when stderr is the journal") {
  LogdProcess d({"--listen", "127.0.0.1:0", "--config", "/dev/null", "--max-connections", "16"}, {},
           /*journal=*/true);
  REQUIRE(d.WaitFor("listening on"));
  CHECK(d.err().rfind("<5>listening on 127.0.0.1:0", 0) == 0);  // SD_NOTICE
  CHECK(d.err().find("rvm-logd:") == std::string::npos);
  kill(d.pid(), SIGTERM);
  CHECK(d.Wait() == 0);
  CHECK(d.err().find("\n<5>SIGTERM, shutting down") != std::string::npos);
}

TEST_CASE("rvm-logd tells systemd it is ready once the port accepts connections") {
  TempDir dir;
  NotifySocket ns(dir.path + "/notify");
  LogdProcess d({"--listen", "127.0.0.1:0", "--config", "/dev/null"}, {ns.env()});
  std::string first = ns.Next();
  REQUIRE(first.find("READY=1") != std::string::npos);
  CHECK(first.find("STATUS=port ") != std::string::npos);
  // READY=1 came after the "listening" line and the port accepts now.
  int port = d.Port("listening on");
  REQUIRE(port > 0);
  auto m = Writer(port, "", "ready");
  std::string rec(100, 'r');
  CHECK(m->Append(0, rec.data(), rec.size()).ok());
  CHECK(m->Trim(100).ok());
  // A reload is RELOADING=1, then READY=1 again.
  kill(d.pid(), SIGHUP);
  std::string reloading = ns.Next();
  CHECK(reloading.find("RELOADING=1") != std::string::npos);
  CHECK(reloading.find("MONOTONIC_USEC=") != std::string::npos);
  CHECK(ns.Next().find("READY=1") != std::string::npos);
  kill(d.pid(), SIGTERM);
  CHECK(ns.Next().find("STOPPING=1") != std::string::npos);
  CHECK(d.Wait() == 0);
}

TEST_CASE("SIGHUP rotates the secret without dropping authenticated connections") {
  TempDir dir;
  const std::string old_secret = "old-secret-of-16-bytes";
  const std::string new_secret = "new-secret-of-16-bytes";
  std::string secret_file = dir.Write("secret", old_secret + "\n");
  std::string conf = dir.Write("logd.conf",
                               "listen = 127.0.0.1:0\nsecret-file = " + secret_file + "\n");
  LogdProcess d({"--config", conf, "--metrics-listen", "127.0.0.1:0"});
  int port = d.Port("listening on");
  REQUIRE(port > 0);
  int mport = d.Port("metrics at");
  REQUIRE(mport > 0);
  auto m = Writer(port, old_secret, "rot");
  std::string rec(100, 'r');
  REQUIRE(m->Append(0, rec.data(), rec.size()).ok());

  dir.Write("secret", new_secret + "\n");
  size_t mark = d.err().size();
  kill(d.pid(), SIGHUP);
  REQUIRE(d.WaitFor("configuration reloaded", mark));
  CHECK(d.err().find("new connections must use the new secret", mark) != std::string::npos);
  // Neither secret is ever printed.
  CHECK(d.err().find("old-secret") == std::string::npos);
  CHECK(d.err().find("new-secret") == std::string::npos);
  // The authenticated writer goes on; new connections need the new secret.
  CHECK(m->Append(100, rec.data(), rec.size()).ok());
  CHECK_FALSE(CanAuthenticate(port, old_secret));
  CHECK(CanAuthenticate(port, new_secret));

  // A bad config is reported and the running one kept.
  dir.Write("logd.conf", "listen = 127.0.0.1:0\nsecret-file = " + secret_file + "\nbogus = 1\n");
  dir.Write("secret", "a-third-secret-never-used\n");
  mark = d.err().size();
  kill(d.pid(), SIGHUP);
  REQUIRE(d.WaitFor("keeping the running configuration", mark));
  CHECK(d.err().find(conf + ":3: unknown key 'bogus'", mark) != std::string::npos);
  CHECK(d.err().find("rvm-logd: error: SIGHUP: ", mark) != std::string::npos);
  CHECK(CanAuthenticate(port, new_secret));
  CHECK(m->Append(200, rec.data(), rec.size()).ok());
  // A secret that is too short is refused the same way.
  dir.Write("logd.conf", "listen = 127.0.0.1:0\nsecret-file = " + secret_file + "\n");
  dir.Write("secret", "short\n");
  mark = d.err().size();
  kill(d.pid(), SIGHUP);
  REQUIRE(d.WaitFor("keeping the running configuration", mark));
  CHECK(CanAuthenticate(port, new_secret));
  std::string resp = Http(mport, "GET /metrics HTTP/1.0\r\n\r\n");
  auto metrics = ParseMetrics(resp.substr(resp.find("\r\n\r\n") + 4));
  CHECK(metrics["rvm_logd_config_reloads_total"] == 1);
  CHECK(metrics["rvm_logd_config_reload_failures_total"] == 2);
  CHECK(metrics["rvm_logd_auth_failures_total"] == 1);
  CHECK(m->Trim(300).ok());
  kill(d.pid(), SIGTERM);
  CHECK(d.Wait() == 0);
}

TEST_CASE("SIGTERM waits for a connected writer's trim, then exits") {
  TempDir dir;
  NotifySocket ns(dir.path + "/notify");
  LogdProcess d({"--listen", "127.0.0.1:0", "--config", "/dev/null", "--shutdown-grace", "600"},
           {ns.env()});
  REQUIRE(ns.Next().find("READY=1") != std::string::npos);
  int port = d.Port("listening on");
  REQUIRE(port > 0);
  auto m = Writer(port, "", "drain");
  auto idle = Writer(port, "", "done");
  std::string rec(1000, 'r');
  REQUIRE(m->Append(0, rec.data(), rec.size()).ok());
  REQUIRE(idle->Append(0, rec.data(), 10).ok());
  REQUIRE(idle->Trim(10).ok());  // nothing pending in this one
  auto start = std::chrono::steady_clock::now();
  kill(d.pid(), SIGTERM);
  REQUIRE(d.WaitFor("waiting up to 600 s for their trims"));
  // systemd is asked to wait for the grace (plus 5 s) past TimeoutStopSec.
  std::string stopping = ns.Next();
  CHECK(stopping.find("STOPPING=1") != std::string::npos);
  CHECK(stopping.find("EXTEND_TIMEOUT_USEC=605000000") != std::string::npos);
  CHECK(d.err().find("SIGTERM: connected writers have 1000 bytes in 1 logs that their disks do "
                     "not have yet: 'drain' 1000 bytes") != std::string::npos);
  // It still serves the writer, which makes its bytes durable.
  CHECK(m->Append(1000, rec.data(), rec.size()).ok());
  CHECK(m->Trim(2000).ok());
  CHECK(d.Wait() == 0);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(600));
  CHECK(d.err().find("the connected writers' bytes are durable; shutting down") !=
        std::string::npos);
  CHECK(d.err().find("dropping") == std::string::npos);
}

TEST_CASE("SIGTERM: when the grace period runs out it names what it drops") {
  LogdProcess d({"--listen", "127.0.0.1:0", "--config", "/dev/null", "--shutdown-grace", "0.2"});
  int port = d.Port("listening on");
  REQUIRE(port > 0);
  auto m = Writer(port, "", "late");
  std::string rec(1234, 'r');
  REQUIRE(m->Append(0, rec.data(), rec.size()).ok());
  kill(d.pid(), SIGTERM);
  CHECK(d.Wait() == 0);
  CHECK(d.err().find("'late' 1234 bytes; waiting up to 0.2 s") != std::string::npos);
  CHECK(d.err().find("rvm-logd: warning: shutdown grace over: dropping 1234 bytes of 1 logs "
                     "that their writers had not reported durable: 'late' 1234 bytes") !=
        std::string::npos);
}

TEST_CASE("rvm-logd serves Prometheus metrics over loopback") {
  TempDir dir;
  const std::string secret = "metrics-secret-16-bytes";
  std::string secret_file = dir.Write("secret", secret);
  LogdProcess d({"--listen", "127.0.0.1:0", "--config", "/dev/null", "--secret-file", secret_file,
            "--metrics-listen", "127.0.0.1:0", "--shutdown-grace", "0"});
  int port = d.Port("listening on");
  int mport = d.Port("metrics at");
  REQUIRE(port > 0);
  REQUIRE(mport > 0);
  auto a = Writer(port, secret, "log.a");
  auto b = Writer(port, secret, "log-b");
  std::string rec(100, 'r');
  for (int i = 0; i < 3; ++i) REQUIRE(a->Append(uint64_t(i) * 100, rec.data(), rec.size()).ok());
  REQUIRE(a->Trim(100).ok());
  REQUIRE(b->Append(0, rec.data(), 50).ok());
  CHECK_FALSE(CanAuthenticate(port, "wrong-secret-of-16-bytes"));

  std::string resp = Http(mport, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE(resp.rfind("HTTP/1.0 200 OK\r\n", 0) == 0);
  CHECK(resp.find("Content-Type: text/plain; version=0.0.4") != std::string::npos);
  auto m = ParseMetrics(resp.substr(resp.find("\r\n\r\n") + 4));
  CHECK(m["rvm_logd_logs"] == 2);
  CHECK(m["rvm_logd_held_bytes"] == 250);
  CHECK(m["rvm_logd_log_held_bytes{log=\"log.a\"}"] == 200);
  CHECK(m["rvm_logd_log_held_bytes{log=\"log-b\"}"] == 50);
  CHECK(m["rvm_logd_log_lag_bytes{log=\"log.a\"}"] == 200);
  CHECK(m["rvm_logd_log_lag_bytes{log=\"log-b\"}"] == 50);
  CHECK(m["rvm_logd_log_tail_offset{log=\"log.a\"}"] == 300);
  CHECK(m["rvm_logd_log_connections{log=\"log.a\"}"] == 1);
  CHECK(m["rvm_logd_appends_total"] == 4);
  CHECK(m["rvm_logd_acks_total"] == 4);
  CHECK(m["rvm_logd_appended_bytes_total"] == 350);
  CHECK(m["rvm_logd_trims_total"] == 1);
  CHECK(m["rvm_logd_auth_failures_total"] == 1);
  CHECK(m["rvm_logd_connections_accepted_total"] >= 3);
  CHECK(m["rvm_logd_connections"] >= 2);
  CHECK(m["rvm_logd_connections_refused_total"] == 0);
  CHECK(m["rvm_logd_capacity_bytes"] == 1 << 30);
  CHECK(m.count("rvm_logd_build_info{version=\"" + std::string(RVM_PROJECT_VERSION) + "\"}") == 1);

  CHECK(Http(mport, "GET /nothing HTTP/1.0\r\n\r\n").rfind("HTTP/1.0 404", 0) == 0);
  CHECK(Http(mport, "POST /metrics HTTP/1.0\r\n\r\n").rfind("HTTP/1.0 405", 0) == 0);
  CHECK(Http(mport, "\r\n\r\n").rfind("HTTP/1.0 400", 0) == 0);
  std::string head = Http(mport, "HEAD /metrics HTTP/1.0\r\n\r\n");
  CHECK(head.rfind("HTTP/1.0 200", 0) == 0);
  CHECK(head.size() == head.find("\r\n\r\n") + 4);  // no body
  kill(d.pid(), SIGTERM);
  CHECK(d.Wait() == 0);
  // With no grace it exits at once, naming what it drops.
  CHECK(d.err().find("no shutdown grace: dropping 250 bytes of 2 logs") != std::string::npos);
}
