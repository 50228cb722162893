// preload-commit-bench: commit latency of unmodified programs, local disk vs
// under the preload shim with 1 and 2 mirrors on loopback, records plain
// (protect_records = no), authenticated and encrypted, in one run; then the
// CPU cost of sealing and verifying one record.
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
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "preload/child_env.h"
#include "preload/preload_record.h"
#include "remote_log/server.h"
#include "shim/log_key.h"

extern char** environ;
namespace fs = std::filesystem;
using namespace rvmr;

namespace {

struct Result {
  double p50 = 0, p99 = 0, mean = 0;
  bool ok = false;
};

Result RunProgram(const std::vector<std::string>& argv, const std::vector<std::string>& extra) {
  const std::vector<std::string> env = preload::ChildEnv(extra);
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

// The CPU cost of sealing one record (RecordCodec::Encode) and of verifying
// it, per payload size and mode, without I/O.
void SealCost(const std::string& key_file) {
  std::string key;
  if (!log::ReadLogKey(key_file, &key).ok()) key.assign(32, 'k');
  std::printf("\nrecord sealing alone (RecordCodec, one core):\n%-10s %-14s %12s %12s\n",
              "payload", "mode", "seal ns", "verify ns");
  for (size_t len : {size_t{128}, size_t{4096}, size_t{65536}}) {
    for (preload::SealMode m : {preload::SealMode::kAuthenticate, preload::SealMode::kEncrypt}) {
      std::unique_ptr<preload::RecordCodec> w, r;
      if (!preload::RecordCodec::Create(key, "rvmpl-bench", m, &w).ok() ||
          !preload::RecordCodec::Create(key, "rvmpl-bench", m, &r).ok())
        return;
      const int n = len >= 65536 ? 2000 : 20000;
      std::string rec(preload::kRecordHeaderSize + len, 'x');
      std::string sealed;
      auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < n; ++i) {
        preload::RecordHeader h;
        h.stream_offset = static_cast<uint64_t>(i) * rec.size();
        h.length = static_cast<uint32_t>(len);
        (void)w->Encode(h, rec.data());
        if (i == n - 1) sealed = rec;
      }
      auto t1 = std::chrono::steady_clock::now();
      uint64_t at = static_cast<uint64_t>(n - 1) * rec.size();
      for (int i = 0; i < n; ++i) {
        std::string copy = sealed;
        preload::RecordHeader h;
        std::string_view p;
        size_t need = 0;
        (void)r->Decode(copy.data(), copy.size(), at, &h, &p, &need);
      }
      auto t2 = std::chrono::steady_clock::now();
      auto ns = [&](auto a, auto b) {
        return std::chrono::duration<double, std::nano>(b - a).count() / n;
      };
      std::printf("%-10zu %-14s %12.0f %12.0f\n", len,
                  m == preload::SealMode::kEncrypt ? "encrypted" : "authenticated", ns(t0, t1),
                  ns(t1, t2));
    }
  }
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
    const char* config;  // RVM_SHIM_CONFIG text (record protection), or null
  };
  const Mode modes[] = {{"local disk", 0, nullptr},
                        {"1 mirror, plain", 1, "protect_records = no\n"},
                        {"1 mirror, auth", 1, nullptr},
                        {"1 mirror, encr", 1, "encrypt = yes\n"},
                        {"2 mirrors, auth", 2, nullptr}};
  const std::string key_file = dir + "/preload.key";
  std::printf("preload-commit-bench: %d commits of %d-byte rows per run, files in %s\n", commits,
              payload, base.c_str());
  std::printf("%-8s %-18s %10s %10s %10s %10s\n", "program", "mode", "p50 us", "p99 us", "mean us",
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
        env.push_back("RVM_PRELOAD_KEY=" + key_file);
        if (m.config != nullptr) {
          std::string conf = where + ".conf";
          std::ofstream(conf) << m.config;
          env.push_back("RVM_SHIM_CONFIG=" + conf);
        }
      }
      Result r = RunProgram(args, env);
      if (!r.ok) {
        std::printf("%-8s %-18s failed\n", prog, m.name);
        rc = 1;
        continue;
      }
      if (m.mirrors == 0) local_p50 = r.p50;
      std::printf("%-8s %-18s %10.1f %10.1f %10.1f %10.1f\n", prog, m.name, r.p50, r.p99, r.mean,
                  local_p50 > 0 ? local_p50 / r.p50 : 0.0);
    }
  }
  SealCost(key_file);
  fs::remove_all(dir);
  return rc;
}
