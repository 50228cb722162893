// Process plumbing for the crash suite's driver (crash_driver.cpp): a temp
// directory, rvm-logd mirror processes, the bank workload process with its
// report pipe, the disk log's geometry and the damage a local crash does.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "remote_log/transport.h"

namespace rvmr::crash {

// A fresh mkdtemp directory under /tmp, removed with its contents.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  // Leaves the directory in place (to inspect a failure).
  void Keep() { keep_ = true; }

 private:
  std::string path_;
  bool keep_ = false;
};

// One rvm-logd process on 127.0.0.1. The port is chosen by the OS at the
// first Start and kept across restarts (a restarted mirror is empty).
class Mirror {
 public:
  // `env`: NAME=VALUE entries added to the server's environment.
  Mirror(std::string binary, std::string dir, int index, std::vector<std::string> env = {});
  ~Mirror();
  // Starts the server and waits until it listens. False on failure.
  bool Start();
  // SIGKILLs the server (its logs are lost) and reaps it.
  void Kill();
  // SIGSTOPs the server and waits until it has stopped (it answers nothing
  // more; what it is sent stays unread in its sockets), or SIGCONTs it.
  void Stop();
  void Resume();
  bool running() const { return pid_ > 0; }
  std::string uri() const { return "tcp://127.0.0.1:" + std::to_string(port_); }

  // The state of the (single) log the mirror holds; false if unreachable or
  // it holds none.
  bool Info(remote_log::LogEntry* e) const;
  // Reads [from, to) of log `name` (false on failure).
  bool Read(const std::string& name, uint64_t from, uint64_t to, std::string* out) const;
  // Creates log `name` for writer `epoch` at `start` holding `bytes`.
  bool Load(const std::string& name, uint64_t epoch, uint64_t start,
            const std::string& bytes) const;

 private:
  std::string binary_, dir_;
  int index_;
  std::vector<std::string> env_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// What one run of the workload process did.
struct RunResult {
  bool recovered = false;     // it reported the recovered counter
  uint64_t recovered_at = 0;  // that counter
  bool inconsistent = false;  // it found the recovered bank inconsistent
  uint64_t last_begin = 0;    // last sequence number begun (0: none)
  uint64_t last_ack = 0;      // last sequence number acknowledged (0: none)
  uint64_t acks = 0;          // acknowledgements received
  int status = 0;             // waitpid status
  bool timed_out = false;     // it hung and was killed by the driver
  std::string err;            // its stderr
  pid_t pid = -1;             // the process (for a kill rule that stops it)
  uint64_t messages = 0;      // reports read so far
  int report_fd = -1;         // the read end of the report pipe (while it runs)
};

// Size of one report on the pipe (bank_workload's Msg).
constexpr size_t kReportBytes = 16;

// Called after each report (the first call that sees acks >= k is the one
// for the k-th acknowledgement) with the run so far; returns true to SIGKILL
// the workload now.
using KillRule = std::function<bool(const RunResult&)>;

// Runs `workload run DIR FD max_txns log_bytes trunc_pct` with `env`
// (NAME=VALUE entries added to the driver's environment) until it exits or
// `kill_rule` says so.
RunResult RunWorkload(const std::string& workload, const std::string& dir,
                      const std::vector<std::string>& env, uint64_t max_txns, uint64_t log_bytes,
                      long trunc_pct, const KillRule& kill_rule);

// For a kill rule: SIGSTOPs the running workload of `r` and waits until it
// has stopped. Returns how many reports it had written by then, read or not:
// every report after that many was written after ResumeWorkload.
uint64_t PauseWorkload(const RunResult& r);
void ResumeWorkload(const RunResult& r);

// Runs argv with `env` added, stdout+stderr captured into *out; returns the
// waitpid status.
int RunCommand(const std::vector<std::string>& argv, const std::vector<std::string>& env,
               std::string* out);

// Geometry and head of the disk log at `path` (false if unreadable).
struct DiskLog {
  uint64_t area_start = 0, area_size = 0, head = 0, epoch = 0;
  std::string remote_name;
};
bool ReadDiskLog(const std::string& path, DiskLog* d);

// Zeroes the file bytes of logical log range [from, to) (wrapping).
bool ZeroLogical(const std::string& path, const DiskLog& d, uint64_t from, uint64_t to);
// Flips bit `bit` of the byte at logical offset `at`.
bool FlipLogical(const std::string& path, const DiskLog& d, uint64_t at, int bit);

// Writes the bank's initial segment file.
bool CreateBankSegment(const std::string& path);

}  // namespace rvmr::crash
