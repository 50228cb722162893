// The rvm-logd binary: port file, clean exit on SIGTERM/SIGINT, status lines,
// refusal to listen on a non-loopback address without a secret, secret file.
#include <signal.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "logd_process.h"
#include "remote_log/client.h"
#include "test_util.h"

using namespace rvmr;
using namespace rvmr::remote_log;
using rvmr::remote_log::test::LogdProcess;
using rvmr::remote_log::test::NotifySocket;
using rvmr::remote_log::test::TempDir;

TEST_CASE("rvm-logd serves appends and exits cleanly on SIGTERM and SIGINT") {
  TempDir dir;
  for (int sig : {SIGTERM, SIGINT}) {
    std::string pf = dir.path + "/port" + std::to_string(sig);
    NotifySocket ns(dir.path + "/notify" + std::to_string(sig));
    LogdProcess d({"--listen", "127.0.0.1:0", "--port-file", pf, "--capacity", "8M", "--verbose",
                   "0.05"},
                  {ns.env()});
    // Ready: the port file is written.
    REQUIRE(ns.Next().find("READY=1") != std::string::npos);
    int port = 0;
    std::ifstream(pf) >> port;
    REQUIRE(port > 0);
    CHECK(port == d.Port("listening on"));
    MirrorSetOptions mo;
    mo.uris = {"tcp://127.0.0.1:" + std::to_string(port)};
    std::unique_ptr<MirrorSet> m;
    REQUIRE(MirrorSet::Connect(mo, &m).ok());
    REQUIRE(m->Open("logd", 1, true, 0, nullptr).ok());
    std::string rec(1000, 'r');
    REQUIRE(m->Append(0, rec.data(), rec.size()).ok());
    // Made durable: nothing pending, so the signal stops it at once.
    REQUIRE(m->Trim(1000).ok());
    REQUIRE(d.WaitFor("appends=1"));  // a status line
    REQUIRE(kill(d.pid(), sig) == 0);
    CHECK(d.Wait() == 0);
    const std::string& err = d.err();
    CHECK(err.find("listening") != std::string::npos);
    CHECK(err.find("appends=1") != std::string::npos);
    CHECK(err.find("shutting down") != std::string::npos);
    // The connection is gone with the server.
    CHECK_FALSE(m->Append(1000, rec.data(), rec.size()).ok());
  }
}

TEST_CASE("rvm-logd refuses a non-loopback address without a secret") {
  TempDir dir;
  LogdProcess d({"--listen", "0.0.0.0:0"});
  CHECK(d.Wait() != 0);
  CHECK(d.err().find("--secret-file") != std::string::npos);
  LogdProcess bad({"--capacity", "lots"});
  CHECK(bad.Wait() == 2);
}

TEST_CASE("rvm-logd with a secret file requires authentication") {
  TempDir dir;
  std::string secret_path = dir.path + "/secret";
  {
    std::ofstream f(secret_path);
    f << "fifteen bytes!!\n";
  }
  chmod(secret_path.c_str(), 0600);
  {
    // Shorter than 16 bytes: refused, naming the file.
    LogdProcess d({"--listen", "127.0.0.1:0", "--secret-file", secret_path});
    CHECK(d.Wait() == 2);
    CHECK(d.err().find(secret_path) != std::string::npos);
    CHECK(d.err().find("at least 16") != std::string::npos);
    CHECK(d.err().find("fifteen") == std::string::npos);  // never printed
  }
  {
    std::ofstream f(secret_path);
    f << "s3cret-of-16-bytes\n";
  }
  chmod(secret_path.c_str(), 0644);
  {
    LogdProcess d({"--listen", "127.0.0.1:0", "--secret-file", secret_path});
    CHECK(d.Wait() == 2);
    CHECK(d.err().find("chmod 600") != std::string::npos);
  }
  chmod(secret_path.c_str(), 0600);
  LogdProcess d({"--listen", "127.0.0.1:0", "--secret-file", secret_path});
  int port = d.Port("listening on");
  REQUIRE(port > 0);
  std::string uri = "tcp://127.0.0.1:" + std::to_string(port);
  std::unique_ptr<Connection> c;
  ConnectOptions o;
  CHECK_FALSE(TransportRegistry::Global().Connect(uri, o, &c).ok());
  o.secret = "s3cret-of-16-bytes";  // the trailing newline of the file is not part of it
  REQUIRE(TransportRegistry::Global().Connect(uri, o, &c).ok());
  LogInfo info;
  CHECK(c->Open("x", 1, true, 0, &info).ok());
  kill(d.pid(), SIGTERM);
  CHECK(d.Wait() == 0);
}
