// Helpers for the tests that run the rvm-logd binary (RVM_LOGD_PATH): the
// process with its stderr on a pipe the test reads, and a stand-in for
// systemd's notify socket. Every wait is on a descriptor, never a sleep.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace rvmr::remote_log::test {

// A running rvm-logd whose stderr is a pipe read by the test.
class LogdProcess {
 public:
  // How long any wait lasts at most.
  static constexpr int kTimeoutMs = 30000;

  // env: extra NAME=VALUE entries; journal: set JOURNAL_STREAM to stderr's.
  explicit LogdProcess(const std::vector<std::string>& args, std::vector<std::string> env = {},
                  bool journal = false) {
    int p[2];
    REQUIRE(pipe2(p, O_CLOEXEC) == 0);
    struct stat st {};
    fstat(p[1], &st);
    if (journal)
      env.push_back("JOURNAL_STREAM=" + std::to_string(st.st_dev) + ":" +
                    std::to_string(st.st_ino));
    pid_ = fork();
    if (pid_ == 0) {
      dup2(p[1], 2);
      for (auto& e : env) putenv(const_cast<char*>(e.c_str()));
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(RVM_LOGD_PATH));
      for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(RVM_LOGD_PATH, argv.data());
      _exit(127);
    }
    close(p[1]);
    err_fd_ = p[0];
  }
  ~LogdProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (err_fd_ >= 0) close(err_fd_);
  }
  pid_t pid() const { return pid_; }
  const std::string& err() const { return err_; }

  // Reads stderr until `what` appears after byte `from` (or EOF / timeout).
  bool WaitFor(const std::string& what, size_t from = 0) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kTimeoutMs);
    while (err_.find(what, from) == std::string::npos) {
      int left = int(std::chrono::duration_cast<std::chrono::milliseconds>(
                         deadline - std::chrono::steady_clock::now())
                         .count());
      if (left <= 0 || !ReadSome(left)) return false;
    }
    return true;
  }
  // Reads stderr to EOF, then reaps the process: its exit status, or -1.
  int Wait() {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kTimeoutMs);
    for (;;) {
      int left = int(std::chrono::duration_cast<std::chrono::milliseconds>(
                         deadline - std::chrono::steady_clock::now())
                         .count());
      if (left <= 0) return -1;
      if (!ReadSome(left)) break;
    }
    int st = 0;
    if (waitpid(pid_, &st, 0) != pid_) return -1;
    pid_ = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }
  // The port in "<what> ... (port N)" on stderr.
  int Port(const std::string& what) {
    if (!WaitFor(what)) return 0;
    size_t at = err_.find("(port ", err_.find(what));
    if (at == std::string::npos) return 0;
    return std::atoi(err_.c_str() + at + 6);
  }

 private:
  // false at EOF or timeout.
  bool ReadSome(int timeout_ms) {
    pollfd p{err_fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return false;
    char buf[4096];
    ssize_t n = read(err_fd_, buf, sizeof buf);
    if (n <= 0) return false;
    err_.append(buf, size_t(n));
    return true;
  }

  pid_t pid_ = -1;
  int err_fd_ = -1;
  std::string err_;
};

// A unix datagram socket standing in for systemd's notify socket.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  ~NotifySocket() { close(fd_); }
  std::string env() const { return "NOTIFY_SOCKET=" + path_; }
  // The next message ("" after the timeout).
  std::string Next() {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, LogdProcess::kTimeoutMs) <= 0) return "";
    char buf[4096];
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, size_t(n)) : "";
  }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace rvmr::remote_log::test
