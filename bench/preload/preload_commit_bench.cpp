// preload-commit-bench: commit latency of unmodified programs, local disk vs
// under the preload shim with 1 and 2 mirrors on loopback, in one run.
//
//   preload-commit-bench [--commits N] [--payload BYTES] [--dir DIR]
//
// Each program runs N one-row transactions and reports p50 / p99 / mean
// commit latency; the table prints the ratio of local-disk p50 to shim p50.
// DIR (default /var/tmp) must be on the disk you want to measure.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "remote_log/server.h"

extern char** environ;
namespace fs = std::filesystem;
using namespace rvmr;

namespace {

struct Result {
  double p50 = 0, p99 = 0, mean = 0;
  bool ok = false;
};

Result RunProgram(const std::vector<std::string>& argv, const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string s = *e;
    if (s.rfind("LD_PRELOAD=", 0) == 0 || s.rfind("RVM_", 0) == 0) continue;
    env.push_back(s);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  std::vector<char*> av, ev;
  for (const auto& a : argv) av.push_back(const_cast<char*>(a.c_str()));
  av.push_back(nullptr);
  for (const auto& e : env) ev.push_back(const_cast<char*>(e.c_str()));
  ev.push_back(nullptr);
  int p[2];
  if (::pipe(p) != 0) return {};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(p[1], 1);
    ::close(p[0]);
    ::execve(av[0], av.data(), ev.data());
    ::_exit(127);
  }
  ::close(p[1]);
  std::string out;
  char buf[512];
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(p[0]);
  int st = 0;
  ::waitpid(pid, &st, 0);
  Result r;
  r.ok = WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
         std::sscanf(out.c_str(), "%lf %lf %lf", &r.p50, &r.p99, &r.mean) == 3;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Commit latency of unmodified SQLite and Berkeley DB, local vs preload shim"};
  int commits = 2000, payload = 100;
  std::string base = "/var/tmp";
  app.add_option("--commits", commits, "transactions per run");
  app.add_option("--payload", payload, "bytes per row");
  app.add_option("--dir", base, "directory on the disk to measure");
  CLI11_PARSE(app, argc, argv);

  std::vector<std::unique_ptr<remote_log::Server>> servers;
  std::vector<std::string> uris;
  for (int i = 0; i < 2; ++i) {
    remote_log::ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.capacity = uint64_t{1} << 30;
    servers.push_back(std::make_unique<remote_log::Server>(o));
    if (!servers.back()->Start().ok()) {
      std::fprintf(stderr, "cannot start a mirror\n");
      return 1;
    }
    uris.push_back("tcp://127.0.0.1:" + std::to_string(servers.back()->port()));
  }
  std::string tmpl = base + "/preload-bench-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  std::string dir = tmpl;

  struct Mode {
    const char* name;
    int mirrors;
  };
  const Mode modes[] = {{"local disk", 0}, {"shim, 1 mirror", 1}, {"shim, 2 mirrors", 2}};
  std::printf("preload-commit-bench: %d commits of %d-byte rows per run, files in %s\n", commits,
              payload, base.c_str());
  std::printf("%-8s %-16s %10s %10s %10s %10s\n", "program", "mode", "p50 us", "p99 us", "mean us",
              "p50 x");
  int rc = 0;
  for (const char* prog : {"sqlite", "bdb"}) {
    double local_p50 = 0;
    int run = 0;
    for (const Mode& m : modes) {
      std::string where = dir + "/" + prog + std::to_string(run++);
      fs::create_directory(where);
      std::vector<std::string> env;
      std::vector<std::string> args;
      if (std::string(prog) == "sqlite") {
        args = {SQLITE_PROG, where + "/bench.db", "bench", std::to_string(commits),
                std::to_string(payload)};
        if (m.mirrors > 0) env.push_back("RVM_PRELOAD_LOGS=" + where + "/*-wal");
      } else {
        args = {BDB_PROG, where, "bench", std::to_string(commits), std::to_string(payload)};
        if (m.mirrors > 0) env.push_back("RVM_PRELOAD_LOGS=" + where + "/log.*");
      }
      if (m.mirrors > 0) {
        std::string list = uris[0];
        if (m.mirrors > 1) list += "," + uris[1];
        env.push_back(std::string("LD_PRELOAD=") + PRELOAD_LIB);
        env.push_back("RVM_MIRRORS=" + list);
      }
      Result r = RunProgram(args, env);
      if (!r.ok) {
        std::printf("%-8s %-16s failed\n", prog, m.name);
        rc = 1;
        continue;
      }
      if (m.mirrors == 0) local_p50 = r.p50;
      std::printf("%-8s %-16s %10.1f %10.1f %10.1f %10.1f\n", prog, m.name, r.p50, r.p99, r.mean,
                  local_p50 > 0 ? local_p50 / r.p50 : 0.0);
    }
  }
  fs::remove_all(dir);
  return rc;
}
