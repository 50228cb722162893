// Helpers of the preload integration tests: in-process mirrors, temporary
// directories, running programs under the shim, the test's preload key.
#pragma once

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "preload/child_env.h"
#include "remote_log/log_store.h"
#include "remote_log/server.h"
#include "shim/log_key.h"

extern char** environ;

namespace rvmr::preload_test {

namespace fs = std::filesystem;

struct TempDir {
  std::string path;
  TempDir() {
    char d[] = "/tmp/rvm-preload-XXXXXX";
    REQUIRE(::mkdtemp(d) != nullptr);
    path = d;
  }
  ~TempDir() { fs::remove_all(path); }
  std::string File(const std::string& n) const { return path + "/" + n; }
};

struct Mirror {
  std::unique_ptr<remote_log::Server> server;
  Mirror() {
    remote_log::ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.capacity = 256u << 20;
    server = std::make_unique<remote_log::Server>(o);
    REQUIRE(server->Start().ok());
  }
  std::string uri() const { return "tcp://127.0.0.1:" + std::to_string(server->port()); }
};

inline std::string ReadFile(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

using rvmr::preload::ChildEnv;

struct Child {
  pid_t pid = -1;
  FILE* out = nullptr;  // the child's stdout
  std::string err_path;
};

inline Child Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
            const std::string& err_path) {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  std::vector<std::string> env = ChildEnv(extra_env);
  std::vector<char*> av, ev;
  for (const auto& a : argv) av.push_back(const_cast<char*>(a.c_str()));
  av.push_back(nullptr);
  for (const auto& e : env) ev.push_back(const_cast<char*>(e.c_str()));
  ev.push_back(nullptr);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(p[1], 1);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (err >= 0) ::dup2(err, 2);
    ::close(p[0]);
    ::execve(av[0], av.data(), ev.data());
    ::_exit(127);
  }
  ::close(p[1]);
  Child c;
  c.pid = pid;
  c.out = ::fdopen(p[0], "r");
  c.err_path = err_path;
  return c;
}

// Runs to completion; returns the exit status and stdout.
inline int Run(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
        const std::string& err_path, std::string* out) {
  Child c = Spawn(argv, extra_env, err_path);
  out->clear();
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, c.out)) > 0) out->append(buf, n);
  std::fclose(c.out);
  int st = 0;
  ::waitpid(c.pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

// Reads "acked N" lines until `stop_after` acks (or "done"), then SIGKILLs
// the child. Returns the largest acknowledged id read.
inline long ReadAcksThenKill(Child& c, long stop_after) {
  long acked = 0, count = 0;
  char line[256];
  while (std::fgets(line, sizeof line, c.out) != nullptr) {
    long id;
    if (std::sscanf(line, "acked %ld", &id) == 1) {
      acked = std::max(acked, id);
      if (++count >= stop_after) break;
    } else if (std::strncmp(line, "done", 4) == 0) {
      break;
    }
  }
  ::kill(c.pid, SIGKILL);
  int st = 0;
  ::waitpid(c.pid, &st, 0);
  std::fclose(c.out);
  return acked;
}

inline void WaitDoneThenKill(Child& c) {
  char line[256];
  bool done = false;
  while (std::fgets(line, sizeof line, c.out) != nullptr)
    if (std::strncmp(line, "done", 4) == 0) {
      done = true;
      break;
    }
  ::kill(c.pid, SIGKILL);
  int st = 0;
  ::waitpid(c.pid, &st, 0);
  std::fclose(c.out);
  INFO(ReadFile(c.err_path));
  REQUIRE(done);
}

inline void Truncate(const std::string& p, off_t len) {
  REQUIRE(::truncate(p.c_str(), len) == 0);
}

// "rows COUNT max MAX" from a check run.
inline void ParseRows(const std::string& out, long* rows, long* max) {
  *rows = *max = -1;
  std::sscanf(out.c_str(), "rows %ld max %ld", rows, max);
}

// The preload key of this test process (created once, mode 0600).
inline const std::string& TestKeyPath() {
  static const std::string path = [] {
    static TempDir dir;
    std::string p = dir.File("preload.key");
    std::string key;
    REQUIRE(log::CreateLogKey(p, &key).ok());
    return p;
  }();
  return path;
}

inline std::string TestKey() {
  std::string key;
  REQUIRE(log::ReadLogKey(TestKeyPath(), &key).ok());
  return key;
}

inline std::vector<std::string> ShimEnv(const Mirror& m, const std::string& logs,
                                        bool no_disk_sync) {
  std::vector<std::string> env = {std::string("LD_PRELOAD=") + PRELOAD_LIB,
                                  "RVM_MIRRORS=" + m.uri(), "RVM_PRELOAD_LOGS=" + logs,
                                  "RVM_PRELOAD_KEY=" + TestKeyPath()};
  if (no_disk_sync) env.push_back("RVM_PRELOAD_TEST_NO_DISK_SYNC=1");
  return env;
}

// Runs rvm-preload-restore with the test key against the mirrors `uris`
// (comma-separated) and the extra arguments `args`.
inline int RestoreTool(const std::string& uris, const std::vector<std::string>& args,
                       const std::string& err, std::string* out) {
  std::vector<std::string> argv = {RESTORE_TOOL, "--mirrors", uris};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv, {"RVM_PRELOAD_KEY=" + TestKeyPath()}, err, out);
}

inline int Restore(const Mirror& m, const std::vector<std::string>& files, const std::string& err,
                   std::string* out) {
  return RestoreTool(m.uri(), files, err, out);
}

}  // namespace rvmr::preload_test
