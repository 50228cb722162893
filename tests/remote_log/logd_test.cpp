// The rvm-logd binary: port file, clean exit on SIGTERM/SIGINT, status lines,
// refusal to listen on a non-loopback address without a secret, secret file.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "remote_log/client.h"
#include "test_util.h"

using namespace rvmr;
using namespace rvmr::remote_log;
using rvmr::remote_log::test::TempDir;

namespace {

// A running rvm-logd with stderr going to a file.
struct Logd {
  pid_t pid = -1;
  std::string err_path;
  Logd(const std::vector<std::string>& args, const std::string& err) : err_path(err) {
    pid = fork();
    if (pid == 0) {
      int fd = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(fd, 2);
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(RVM_LOGD_PATH));
      for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(RVM_LOGD_PATH, argv.data());
      _exit(127);
    }
  }
  ~Logd() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
  // Waits for exit; returns the exit status or -1 on timeout / signal.
  int Wait(int timeout_ms = 10000) {
    for (int i = 0; i < timeout_ms / 10; ++i) {
      int st;
      if (waitpid(pid, &st, WNOHANG) == pid) {
        pid = -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }
  std::string Stderr() {
    std::ifstream f(err_path);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }
};

int WaitPort(const std::string& file) {
  for (int i = 0; i < 1000; ++i) {
    std::ifstream f(file);
    int port = 0;
    if (f >> port && port > 0) return port;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return 0;
}

}  // namespace

TEST_CASE("rvm-logd serves appends and exits cleanly on SIGTERM and SIGINT") {
  TempDir dir;
  for (int sig : {SIGTERM, SIGINT}) {
    std::string pf = dir.path + "/port" + std::to_string(sig);
    Logd d({"--listen", "127.0.0.1:0", "--port-file", pf, "--capacity", "8M", "--verbose", "0.05"},
           dir.path + "/err");
    int port = WaitPort(pf);
    REQUIRE(port > 0);
    MirrorSetOptions mo;
    mo.uris = {"tcp://127.0.0.1:" + std::to_string(port)};
    std::unique_ptr<MirrorSet> m;
    REQUIRE(MirrorSet::Connect(mo, &m).ok());
    REQUIRE(m->Open("logd", 1, true, 0, nullptr).ok());
    std::string rec(1000, 'r');
    REQUIRE(m->Append(0, rec.data(), rec.size()).ok());
    // Made durable: nothing pending, so the signal stops it at once.
    REQUIRE(m->Trim(1000).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    REQUIRE(kill(d.pid, sig) == 0);
    CHECK(d.Wait() == 0);
    std::string err = d.Stderr();
    CHECK(err.find("listening") != std::string::npos);
    CHECK(err.find("appends=1") != std::string::npos);
    CHECK(err.find("shutting down") != std::string::npos);
    // The connection is gone with the server.
    CHECK_FALSE(m->Append(1000, rec.data(), rec.size()).ok());
  }
}

TEST_CASE("rvm-logd refuses a non-loopback address without a secret") {
  TempDir dir;
  Logd d({"--listen", "0.0.0.0:0"}, dir.path + "/err");
  CHECK(d.Wait() != 0);
  CHECK(d.Stderr().find("--secret-file") != std::string::npos);
  Logd bad({"--capacity", "lots"}, dir.path + "/err2");
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
    Logd d({"--listen", "127.0.0.1:0", "--secret-file", secret_path}, dir.path + "/err");
    CHECK(d.Wait() == 2);
    CHECK(d.Stderr().find(secret_path) != std::string::npos);
    CHECK(d.Stderr().find("at least 16") != std::string::npos);
    CHECK(d.Stderr().find("fifteen") == std::string::npos);  // never printed
  }
  {
    std::ofstream f(secret_path);
    f << "s3cret-of-16-bytes\n";
  }
  chmod(secret_path.c_str(), 0644);
  {
    Logd d({"--listen", "127.0.0.1:0", "--secret-file", secret_path}, dir.path + "/err");
    CHECK(d.Wait() == 2);
    CHECK(d.Stderr().find("chmod 600") != std::string::npos);
  }
  chmod(secret_path.c_str(), 0600);
  std::string pf = dir.path + "/port";
  Logd d({"--listen", "127.0.0.1:0", "--secret-file", secret_path, "--port-file", pf},
         dir.path + "/err");
  int port = WaitPort(pf);
  REQUIRE(port > 0);
  std::string uri = "tcp://127.0.0.1:" + std::to_string(port);
  std::unique_ptr<Connection> c;
  ConnectOptions o;
  CHECK_FALSE(TransportRegistry::Global().Connect(uri, o, &c).ok());
  o.secret = "s3cret-of-16-bytes";  // the trailing newline of the file is not part of it
  REQUIRE(TransportRegistry::Global().Connect(uri, o, &c).ok());
  LogInfo info;
  CHECK(c->Open("x", 1, true, 0, &info).ok());
  kill(d.pid, SIGTERM);
  CHECK(d.Wait() == 0);
}
