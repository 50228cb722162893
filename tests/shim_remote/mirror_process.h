// MirrorProcess: a log server in its own process, so that a test can
// SIGKILL it (a lost mirror) or SIGSTOP/SIGCONT it (a mirror that holds its
// acks: appends reach its socket, nothing comes back).
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
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
  void Pause() { REQUIRE(kill(pid, SIGSTOP) == 0); }
  void Resume() { REQUIRE(kill(pid, SIGCONT) == 0); }
  ~MirrorProcess() { Kill(); }
  std::string uri() const { return "tcp://127.0.0.1:" + std::to_string(port); }
};
