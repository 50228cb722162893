#include "mode_run.h"

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

namespace commit_bench {

namespace {

// Adds what one worker line says to `res`.
void ParseLine(const char* line, ModeResult& res) {
  char kind[32];
  if (std::sscanf(line, "%31s", kind) != 1) return;
  if (std::strcmp(kind, "latency") == 0) {
    size_t size = 0;
    Percentiles p;
    if (std::sscanf(line, "latency %zu %zu %lf %lf %lf %lf", &size, &p.n, &p.p50, &p.p99, &p.p999,
                    &p.cpu_us) == 6)
      res.latency[size] = p;
  } else if (std::strcmp(kind, "noflush") == 0) {
    std::sscanf(line, "noflush 8 %zu %lf %lf %lf", &res.noflush.n, &res.noflush.p50,
                &res.noflush.p99, &res.noflush.p999);
  } else if (std::strcmp(kind, "tpcb") == 0) {
    int threads = 0;
    long n = 0;
    TpcbRow r;
    if (std::sscanf(line, "tpcb %d %ld %lf %lf %lf %lf %lf", &threads, &n, &r.txn_per_s, &r.cpu_us,
                    &r.commits_per_write, &r.commit_p50_us, &r.commit_p99_us) == 7)
      res.tpcb[threads] = r;
  }
}

[[noreturn]] void ExecWorker(const std::string& self, const ModeSpec& mode, const WorkerOptions& w,
                             const std::string& dir) {
  if (!w.cpus.empty()) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int c : w.cpus) CPU_SET(c, &set);
    if (::sched_setaffinity(0, sizeof set, &set) != 0) _exit(125);
  }
  if (mode.mirrors.empty())
    ::unsetenv("RVM_MIRRORS");
  else
    ::setenv("RVM_MIRRORS", mode.mirrors.c_str(), 1);
  ::unsetenv("RVM_SHIM_CONFIG");
  if (!mode.shim_config.empty()) {
    const std::string conf = dir + "/shim.conf";
    FILE* f = std::fopen(conf.c_str(), "w");
    if (f == nullptr || std::fputs(mode.shim_config.c_str(), f) < 0 || std::fclose(f) != 0)
      _exit(126);
    ::setenv("RVM_SHIM_CONFIG", conf.c_str(), 1);
  }
  ::execl(self.c_str(), self.c_str(), "--worker", dir.c_str(), w.sizes.c_str(), w.secs.c_str(),
          w.tpcb_secs.c_str(), w.threads.c_str(), static_cast<char*>(nullptr));
  _exit(127);
}

}  // namespace

ModeResult RunMode(const std::string& self, const ModeSpec& mode, const WorkerOptions& w) {
  ModeResult res;
  res.name = mode.name;
  char tmpl[] = "/var/tmp/rvmbenchXXXXXX";
  if (!mkdtemp(tmpl)) Die("mkdtemp");
  std::string dir = tmpl;
  int pipefd[2];
  if (::pipe(pipefd) != 0) Die("pipe");
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipefd[1], 1);
    ::close(pipefd[0]);
    ExecWorker(self, mode, w, dir);
  }
  ::close(pipefd[1]);
  FILE* in = ::fdopen(pipefd[0], "r");
  char line[512];
  while (std::fgets(line, sizeof line, in)) ParseLine(line, res);
  std::fclose(in);
  int status = 0;
  ::waitpid(pid, &status, 0);
  res.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  std::string cleanup = "rm -rf '" + dir + "'";
  if (std::system(cleanup.c_str()) != 0) std::fprintf(stderr, "could not remove %s\n", dir.c_str());
  return res;
}

}  // namespace commit_bench
