// rvm-startup-bench: how long a program waits before its first commit, in
// classic mode and in remote mode (1 mirror), measured side by side in one
// run, and what DiskWriter::Open itself costs with the default 64 MiB
// staging ring.
//
//   rvm-startup-bench [--reps N] [--log-mib N] [--staging-mib N] [--dir DIR]
//
// The parent starts an in-process log server on loopback, then runs each
// mode in a fresh child process (RVM cannot be initialised twice in one
// process; a fresh process also starts with no pages of its own touched),
// which times rvm_initialize on a new log and then its first flush commit.
// Figures are medians over the repetitions. `--worker` is the child side.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "disk_writer/disk_writer.h"
#include "remote_log/server.h"
#include "rvm/rvm.h"

namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "rvm-startup-bench: %s\n", what.c_str());
  std::exit(1);
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Child: rvm_initialize on a new log of log_mib MiB in dir, then map a small
// segment and make one flush commit. Prints "times INIT_MS FIRST_COMMIT_MS".
int Worker(const std::string& dir, uint64_t log_mib) {
  std::string log = dir + "/log", data = dir + "/data";
  rvm_options_t* o = rvm_malloc_options();
  o->log_dev = const_cast<char*>(log.c_str());
  o->create_log_file = rvm_true;
  o->create_log_size = RVM_MK_OFFSET(0, log_mib << 20);
  o->create_log_mode = 0600;
  o->flags = RVM_ALL_OPTIMIZATIONS;
  auto t0 = Clock::now();
  rvm_return_t r = RVM_INIT(o);
  auto t1 = Clock::now();
  if (r != RVM_SUCCESS) Die(std::string("rvm_initialize: ") + rvm_return(r));
  const size_t seg_len = 1 << 16;
  int fd = ::open(data.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ::ftruncate(fd, seg_len) != 0) Die("cannot create " + data);
  ::close(fd);
  rvm_region_t* region = rvm_malloc_region();
  region->data_dev = strdup(data.c_str());
  region->length = seg_len;
  if (rvm_map(region, nullptr) != RVM_SUCCESS) Die("rvm_map");
  rvm_tid_t* tid = rvm_malloc_tid();
  auto t2 = Clock::now();
  if (rvm_begin_transaction(tid, restore) != RVM_SUCCESS ||
      rvm_set_range(tid, region->vmaddr, 8) != RVM_SUCCESS) {
    Die("begin/set_range");
  }
  std::memcpy(region->vmaddr, "startup!", 8);
  if (rvm_end_transaction(tid, flush) != RVM_SUCCESS) Die("end_transaction(flush)");
  auto t3 = Clock::now();
  std::printf("times %.3f %.3f\n", Ms(t1 - t0), Ms(t3 - t2));
  if (rvm_terminate() != RVM_SUCCESS) Die("rvm_terminate");
  return 0;
}

struct Times {
  std::vector<double> init_ms, commit_ms;
};

void RunOnce(const std::string& self, const std::string& base, const std::string& mirrors,
             uint64_t log_mib, Times* t) {
  std::string tmpl = base + "/rvmstartupXXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) Die("mkdtemp in " + base);
  std::string dir = buf.data();
  int pipefd[2];
  if (::pipe(pipefd) != 0) Die("pipe");
  std::string mib = std::to_string(log_mib);
  std::fflush(stdout);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipefd[1], 1);
    ::close(pipefd[0]);
    if (mirrors.empty()) {
      ::unsetenv("RVM_MIRRORS");
    } else {
      ::setenv("RVM_MIRRORS", mirrors.c_str(), 1);
    }
    ::execl(self.c_str(), self.c_str(), "--worker", dir.c_str(), mib.c_str(),
            static_cast<char*>(nullptr));
    _exit(127);
  }
  ::close(pipefd[1]);
  FILE* in = ::fdopen(pipefd[0], "r");
  char line[256];
  bool got = false;
  while (std::fgets(line, sizeof line, in) != nullptr) {
    double init = 0, commit = 0;
    if (std::sscanf(line, "times %lf %lf", &init, &commit) == 2) {
      t->init_ms.push_back(init);
      t->commit_ms.push_back(commit);
      got = true;
    }
  }
  std::fclose(in);
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::string cleanup = "rm -rf '" + dir + "'";
  if (std::system(cleanup.c_str()) != 0) std::fprintf(stderr, "could not remove %s\n", dir.c_str());
  if (!got || !WIFEXITED(status) || WEXITSTATUS(status) != 0) Die("a worker failed");
}

// DiskWriter::Open + Close alone, in this process, on a fresh file.
void DiskWriterOpen(const std::string& base, size_t staging_mib, int reps) {
  std::vector<double> open_ms, first_ms, close_ms;
  bool uring = false, fixed = false;
  for (int i = 0; i < reps; i++) {
    std::string path = base + "/rvm_startup_dw_" + std::to_string(::getpid());
    rvmr::DiskWriterOptions o;
    o.path = path;
    o.area_size = 64 << 20;
    o.staging_bytes = staging_mib << 20;
    std::unique_ptr<rvmr::DiskWriter> w;
    auto t0 = Clock::now();
    rvmr::Status s = rvmr::DiskWriter::Open(o, &w);
    auto t1 = Clock::now();
    if (!s.ok()) Die("DiskWriter::Open: " + s.ToString());
    char rec[64] = {};
    uint64_t end = 0;
    if (!w->Append(rec, sizeof rec, &end).ok() || !w->WaitDurable(end).ok()) Die("append");
    auto t2 = Clock::now();
    uring = w->stats().io_uring;
    fixed = w->stats().registered_buffers;
    s = w->Close();
    w.reset();
    auto t3 = Clock::now();
    if (!s.ok()) Die("Close: " + s.ToString());
    ::unlink(path.c_str());
    open_ms.push_back(Ms(t1 - t0));
    first_ms.push_back(Ms(t2 - t1));
    close_ms.push_back(Ms(t3 - t2));
  }
  std::printf(
      "DiskWriter, staging %zu MiB (io_uring %d, registered buffers %d): Open %.2f ms, "
      "first append durable %.2f ms, Close %.2f ms\n",
      staging_mib, uring, fixed, Median(open_ms), Median(first_ms), Median(close_ms));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::strcmp(argv[1], "--worker") == 0) {
    return Worker(argv[2], std::strtoull(argv[3], nullptr, 10));
  }
  int reps = 5;
  uint64_t log_mib = 64;
  size_t staging_mib = 64;
  std::string base = "/var/tmp";
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--reps" && i + 1 < argc) {
      reps = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--log-mib" && i + 1 < argc) {
      log_mib = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--staging-mib" && i + 1 < argc) {
      staging_mib = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--dir" && i + 1 < argc) {
      base = argv[++i];
    } else {
      std::printf(
          "usage: rvm-startup-bench [--reps N] [--log-mib N] [--staging-mib N] [--dir DIR]\n"
          "Times rvm_initialize on a new log and the first flush commit, classic mode\n"
          "and remote mode (1 mirror, in-process server on loopback), and\n"
          "DiskWriter::Open alone. Medians over N runs (default 5).\n");
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) Die("cannot find /proc/self/exe");
  self[n] = '\0';

  rvmr::remote_log::ServerOptions so;
  so.listen = "127.0.0.1:0";
  so.capacity = uint64_t{1} << 30;
  rvmr::remote_log::Server server(so);
  rvmr::Status s = server.Start();
  if (!s.ok()) Die("log server: " + s.ToString());
  std::string uri = "tcp://127.0.0.1:" + std::to_string(server.port());

  std::printf("rvm-startup-bench: new %llu MiB log in %s, %d runs per mode (medians)\n",
              static_cast<unsigned long long>(log_mib), base.c_str(), reps);
  Times classic, remote;
  for (int i = 0; i < reps; i++) {  // interleaved, so both see the same machine
    RunOnce(self, base, "", log_mib, &classic);
    RunOnce(self, base, uri, log_mib, &remote);
  }
  std::printf("| mode | rvm_initialize ms | first flush commit ms |\n|---|---|---|\n");
  std::printf("| classic | %.1f | %.2f |\n", Median(classic.init_ms), Median(classic.commit_ms));
  std::printf("| 1 mirror | %.1f | %.2f |\n", Median(remote.init_ms), Median(remote.commit_ms));
  std::printf("remote - classic: rvm_initialize %+.1f ms\n",
              Median(remote.init_ms) - Median(classic.init_ms));
  DiskWriterOpen(base, staging_mib, reps);
  server.Stop();
  return 0;
}
