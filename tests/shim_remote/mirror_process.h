// MirrorProcess: a log server in its own process, so that a test can
// SIGKILL it (a lost mirror) or SIGSTOP/SIGCONT it (a mirror that holds its
// acks: appends reach its socket, nothing comes back).
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <string>

#include "remote_log/server.h"

struct MirrorProcess {
  pid_t pid = -1;
  uint16_t port = 0;
  MirrorProcess() {
    int p[2];
    REQUIRE(pipe(p) == 0);
    std::fflush(nullptr);
    pid = fork();
    if (pid == 0) {
      rvmr::remote_log::ServerOptions o;
      o.listen = "127.0.0.1:0";
      rvmr::remote_log::Server srv(o);
      if (!srv.Start().ok()) _exit(1);
      uint16_t port = srv.port();
      if (write(p[1], &port, sizeof port) != sizeof port) _exit(1);
      for (;;) pause();
    }
    close(p[1]);
    REQUIRE(read(p[0], &port, sizeof port) == sizeof port);
    close(p[0]);
  }
  void Kill() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      pid = -1;
    }
  }
  // Stops the server and returns once it is stopped (signals are delivered
  // asynchronously): from then on it reads and acknowledges nothing.
  void Pause() const {
    REQUIRE(kill(pid, SIGSTOP) == 0);
    REQUIRE(WaitStopped(pid));
  }
  // True once /proc says `p` is stopped (any process may call it), false
  // after 5 s.
  static bool WaitStopped(pid_t p) {
    const std::string stat = "/proc/" + std::to_string(p) + "/stat";
    for (int i = 0; i < 5000; ++i) {
      std::ifstream in(stat);
      std::string line;
      std::getline(in, line);
      const size_t paren = line.rfind(')');
      if (paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'T')
        return true;
      usleep(1000);
    }
    return false;
  }
  void Resume() { REQUIRE(kill(pid, SIGCONT) == 0); }
  ~MirrorProcess() { Kill(); }
  std::string uri() const { return "tcp://127.0.0.1:" + std::to_string(port); }
};
