#include "crash_harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "bank.h"
#include "shim/log_key.h"
#include "shim/log_status.h"
#include "shim/tail_recovery.h"

extern char** environ;

namespace rvmr::crash {

namespace {

std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Forks and execs argv with `env` added to the environment, stdin from
// /dev/null, stdout+stderr to `out_path`; `keep_fd` (if >= 0) stays open.
pid_t Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env,
            const std::string& out_path, int keep_fd, int close_fd) {
  std::vector<std::string> envs;
  for (char** e = environ; *e != nullptr; e++) {
    std::string s(*e);
    bool overridden = false;
    for (const auto& v : env)
      if (s.compare(0, v.find('=') + 1, v, 0, v.find('=') + 1) == 0) overridden = true;
    if (s.rfind("RVM_FAULT=", 0) == 0 || s.rfind("RVM_MIRRORS=", 0) == 0 ||
        s.rfind("RVM_SHIM_CONFIG=", 0) == 0)
      overridden = true;  // the driver decides these per process
    if (!overridden) envs.push_back(s);
  }
  for (const auto& v : env) envs.push_back(v);
  std::vector<char*> av, ev;
  for (const auto& a : argv) av.push_back(const_cast<char*>(a.c_str()));
  av.push_back(nullptr);
  for (const auto& e : envs) ev.push_back(const_cast<char*>(e.c_str()));
  ev.push_back(nullptr);
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    if (close_fd >= 0) ::close(close_fd);
    int in = ::open("/dev/null", O_RDONLY);
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0) ::_exit(126);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    for (int fd = 3; fd < 1024; fd++)
      if (fd != keep_fd) ::close(fd);
    ::execve(av[0], av.data(), ev.data());
    ::_exit(127);
  }
  return pid;
}

}  // namespace

TempDir::TempDir() {
  char tmpl[] = "/tmp/rvm-crash-XXXXXX";
  char* p = ::mkdtemp(tmpl);
  path_ = p != nullptr ? p : "";
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty() && !keep_) std::filesystem::remove_all(path_, ec);
}

Mirror::Mirror(std::string binary, std::string dir, int index, std::vector<std::string> env)
    : binary_(std::move(binary)), dir_(std::move(dir)), index_(index), env_(std::move(env)) {}

Mirror::~Mirror() {
  Kill();
}

bool Mirror::Start() {
  if (pid_ > 0) return true;
  std::string pf = dir_ + "/mirror" + std::to_string(index_) + ".port";
  ::unlink(pf.c_str());
  std::vector<std::string> argv = {binary_,       "--listen", "127.0.0.1:" + std::to_string(port_),
                                   "--port-file", pf,         "--capacity",
                                   "256M"};
  pid_ = Spawn(argv, env_, dir_ + "/mirror" + std::to_string(index_) + ".out", -1, -1);
  if (pid_ < 0) return false;
  for (int i = 0; i < 2000; i++) {
    std::string s = Slurp(pf);
    if (!s.empty() && s.back() == '\n') {
      port_ = std::atoi(s.c_str());
      return port_ > 0;
    }
    int st;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  Kill();
  return false;
}

void Mirror::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGSTOP);
  int st;
  ::waitpid(pid_, &st, WUNTRACED);  // until every thread has stopped
}

void Mirror::Resume() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

void Mirror::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int st;
  ::waitpid(pid_, &st, 0);
  pid_ = -1;
}

// Connects as the owner of the workload's log (DIR/rvm.log, its key beside
// it once a remote-mode open made one): only the owner sees and opens it.
static bool ConnectTo(const std::string& uri, const std::string& dir,
                      std::unique_ptr<remote_log::Connection>* c) {
  remote_log::ConnectOptions co;
  co.connect_timeout_ms = 2000;
  co.io_timeout_ms = 5000;
  std::string key;
  if (log::ReadLogKey(dir + "/rvm.log.key", &key).ok()) co.owner_seed = log::OwnerSeed(key);
  return remote_log::TransportRegistry::Global().Connect(uri, co, c).ok();
}

bool Mirror::Info(remote_log::LogEntry* e) const {
  if (pid_ <= 0) return false;
  std::unique_ptr<remote_log::Connection> c;
  if (!ConnectTo(uri(), dir_, &c)) return false;
  std::vector<remote_log::LogEntry> logs;
  if (!c->List(&logs).ok() || logs.size() != 1) return false;
  *e = logs[0];
  return true;
}

bool Mirror::Read(const std::string& name, uint64_t from, uint64_t to, std::string* out) const {
  std::unique_ptr<remote_log::Connection> c;
  if (!ConnectTo(uri(), dir_, &c)) return false;
  std::vector<remote_log::LogEntry> logs;
  if (!c->List(&logs).ok()) return false;
  uint64_t epoch = 0;
  for (const auto& e : logs)
    if (e.name == name) epoch = e.info.epoch;
  // Opening as the newest epoch's writer changes nothing the log holds.
  remote_log::LogInfo info;
  if (!c->Open(name, epoch, false, 0, &info).ok()) return false;
  out->assign(to - from, '\0');
  uint64_t off = from;
  while (off < to) {
    size_t got = 0;
    if (!c->Read(off, to - off, out->data() + (off - from), &got).ok() || got == 0) return false;
    off += got;
  }
  return true;
}

bool Mirror::Load(const std::string& name, uint64_t epoch, uint64_t start,
                  const std::string& bytes) const {
  std::unique_ptr<remote_log::Connection> c;
  if (!ConnectTo(uri(), dir_, &c)) return false;
  remote_log::LogInfo info;
  if (!c->Open(name, epoch, true, start, &info).ok()) return false;
  for (size_t off = 0; off < bytes.size();) {
    size_t n = std::min<size_t>(bytes.size() - off, 1 << 20);
    struct iovec v = {const_cast<char*>(bytes.data() + off), n};
    if (!c->StartAppend(start + off, &v, 1).ok()) return false;
    off += n;
  }
  uint64_t acked = 0;
  return c->WaitAcked(start + bytes.size(), &acked).ok() && acked == start + bytes.size();
}

RunResult RunWorkload(const std::string& workload, const std::string& dir,
                      const std::vector<std::string>& env, uint64_t max_txns, uint64_t log_bytes,
                      long trunc_pct, const KillRule& kill_rule) {
  RunResult r;
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) {
    r.timed_out = true;
    return r;
  }
  // The write end must survive exec: dup it without O_CLOEXEC.
  int wfd = ::dup(p[1]);
  ::close(p[1]);
  std::string err_path = dir + "/workload.err";
  std::vector<std::string> argv = {workload,
                                   "run",
                                   dir,
                                   std::to_string(wfd),
                                   std::to_string(max_txns),
                                   std::to_string(log_bytes),
                                   std::to_string(trunc_pct)};
  pid_t pid = Spawn(argv, env, err_path, wfd, p[0]);
  r.pid = pid;
  r.report_fd = p[0];
  ::close(wfd);
  struct Msg {
    uint32_t type;
    uint32_t pad;
    uint64_t value;
  } m;
  static_assert(sizeof(m) == kReportBytes);
  size_t have = 0;
  bool killed = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    struct pollfd pfd = {p[0], POLLIN, 0};
    int pr = ::poll(&pfd, 1, 1000);
    if (std::chrono::steady_clock::now() > deadline) {
      r.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    if (pr <= 0) continue;
    ssize_t n = ::read(p[0], reinterpret_cast<char*>(&m) + have, sizeof(m) - have);
    if (n <= 0) break;
    have += static_cast<size_t>(n);
    if (have < sizeof(m)) continue;
    have = 0;
    r.messages++;
    switch (m.type) {
      case 1:
        r.recovered = true;
        r.recovered_at = m.value;
        break;
      case 2:
        r.inconsistent = true;
        break;
      case 3:
        r.last_begin = m.value;
        break;
      case 4:
        r.last_ack = m.value;
        r.acks++;
        break;
    }
    if (!killed && kill_rule && kill_rule(r)) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
  }
  ::close(p[0]);
  r.report_fd = -1;
  ::waitpid(pid, &r.status, 0);
  r.err = Slurp(err_path);
  return r;
}

uint64_t PauseWorkload(const RunResult& r) {
  ::kill(r.pid, SIGSTOP);
  int st = 0;
  ::waitpid(r.pid, &st, WUNTRACED);
  int pending = 0;
  if (::ioctl(r.report_fd, FIONREAD, &pending) != 0) pending = 0;
  return r.messages + static_cast<uint64_t>(pending) / kReportBytes;
}

void ResumeWorkload(const RunResult& r) {
  ::kill(r.pid, SIGCONT);
}

int RunCommand(const std::vector<std::string>& argv, const std::vector<std::string>& env,
               std::string* out) {
  char tmpl[] = "/tmp/rvm-crash-out-XXXXXX";
  int fd = ::mkstemp(tmpl);
  if (fd >= 0) ::close(fd);
  pid_t pid = Spawn(argv, env, tmpl, -1, -1);
  int st = 0;
  ::waitpid(pid, &st, 0);
  *out = Slurp(tmpl);
  ::unlink(tmpl);
  return st;
}

bool ReadDiskLog(const std::string& path, DiskLog* d) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return false;
  log::LogStatus st;
  bool ok = log::ReadLogStatus(fd, &st).ok();
  ::close(fd);
  if (!ok) return false;
  d->area_start = st.area_start;
  d->area_size = st.area_size;
  d->head = st.head;
  d->epoch = st.epoch;
  d->remote_name = RemoteLogName(st);
  return true;
}

bool ZeroLogical(const std::string& path, const DiskLog& d, uint64_t from, uint64_t to) {
  if (to <= from) return true;
  if (to - from > d.area_size) to = from + d.area_size;
  int fd = ::open(path.c_str(), O_WRONLY);
  if (fd < 0) return false;
  std::string zeros(64 << 10, '\0');
  bool ok = true;
  for (uint64_t off = from; off < to && ok;) {
    uint64_t pos = off % d.area_size;
    size_t n = static_cast<size_t>(
        std::min<uint64_t>({to - off, d.area_size - pos, static_cast<uint64_t>(zeros.size())}));
    ok = ::pwrite(fd, zeros.data(), n, static_cast<off_t>(d.area_start + pos)) ==
         static_cast<ssize_t>(n);
    off += n;
  }
  ok = ok && ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

bool FlipLogical(const std::string& path, const DiskLog& d, uint64_t at, int bit) {
  int fd = ::open(path.c_str(), O_RDWR);
  if (fd < 0) return false;
  off_t pos = static_cast<off_t>(d.area_start + at % d.area_size);
  unsigned char c = 0;
  bool ok = ::pread(fd, &c, 1, pos) == 1;
  c = static_cast<unsigned char>(c ^ (1u << bit));
  ok = ok && ::pwrite(fd, &c, 1, pos) == 1 && ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

bool CreateBankSegment(const std::string& path) {
  std::string buf(kSegmentBytes, '\0');
  InitBank(reinterpret_cast<Bank*>(buf.data()));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return false;
  bool ok =
      ::write(fd, buf.data(), buf.size()) == static_cast<ssize_t>(buf.size()) && ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

}  // namespace rvmr::crash
