// Helpers for the rvm-log tests: a temporary directory, a log file builder
// on the shim's CreateLogFile + LogRecordWriter, an in-memory model of the
// data segments, and running the CLI as a subprocess.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "shim/log_payload.h"
#include "shim/log_record_writer.h"
#include "shim/log_status.h"

namespace rvmr::testing {

// A fresh mkdtemp directory under /tmp, removed with its contents at scope exit.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/rvm-log-test-XXXXXX";
    const char* p = ::mkdtemp(tmpl);
    path_ = p ? p : "/tmp";
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << data;
}

// One range of a test transaction.
struct TestRange {
  uint32_t code;
  uint64_t offset;
  std::string data;
};

// Builds a log file record by record, as the RVM core would write it, and
// keeps the byte stream [head, tail) and a model of what replaying it gives.
class LogBuilder {
 public:
  // Creates the log at `path` with an area of `area` bytes; the first record
  // goes at logical offset `head` with LSN `head_lsn`, writer epoch `epoch`.
  LogBuilder(std::string path, uint64_t area, uint64_t head = 0, uint64_t head_lsn = 1,
             uint64_t epoch = 1)
      : path_(std::move(path)), writer_(epoch, head, head_lsn) {
    ok_ = log::CreateLogFile(path_.c_str(), area, 0644, &st_).ok();
    fd_ = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
    st_.head = head;
    st_.head_lsn = head_lsn;
    st_.tail_hint = head;
    st_.epoch = epoch;
    head_ = head;
    ok_ = ok_ && fd_ >= 0 && log::WriteLogStatus(fd_, &st_).ok();
  }
  ~LogBuilder() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return ok_; }
  const std::string& path() const { return path_; }
  const log::LogStatus& status() const { return st_; }

  // A segment dictionary record.
  uint64_t AddDict(uint32_t code, const std::string& seg_path) {
    dict_[code] = seg_path;
    return Append(log::RecordType::kSegmentDict, 0, log::EncodeSegmentDict(code, seg_path));
  }
  // A transaction record; `apply`: count it in the replay model.
  uint64_t AddTxn(const std::vector<TestRange>& ranges, bool apply = true) {
    std::string payload;
    log::TransactionPayloadBuilder b(&payload, 1700000000000000000ull + writer_.next_lsn());
    for (const auto& r : ranges) b.AddRange(r.code, r.offset, r.data.data(), r.data.size());
    b.Finish();
    if (apply) {
      for (const auto& r : ranges) {
        std::string& seg = model_[dict_[r.code]];
        if (seg.size() < r.offset + r.data.size()) seg.resize(r.offset + r.data.size(), '\0');
        seg.replace(r.offset, r.data.size(), r.data);
      }
      txns_++;
    }
    return Append(log::RecordType::kTransaction, log::kTxnFlagFlush, payload);
  }
  // Random transactions over codes [1, ncodes] within segments of seg_size.
  void AddRandomTxns(int n, uint32_t ncodes, uint64_t seg_size, std::mt19937_64* rng,
                     size_t max_len = 300) {
    for (int i = 0; i < n; i++) {
      std::vector<TestRange> rs;
      int nr = 1 + int((*rng)() % 3);
      for (int k = 0; k < nr; k++) {
        TestRange r;
        r.code = 1 + uint32_t((*rng)() % ncodes);
        size_t len = 1 + size_t((*rng)() % max_len);
        r.offset = (*rng)() % (seg_size - len);
        r.data.resize(len);
        for (auto& c : r.data) c = char((*rng)());
        rs.push_back(std::move(r));
      }
      AddTxn(rs);
    }
  }
  // Writes the status block with tail_hint = `tail_hint` (default: the tail).
  void Sync(uint64_t tail_hint = UINT64_MAX) {
    st_.tail_hint = tail_hint == UINT64_MAX ? tail() : tail_hint;
    REQUIRE(log::WriteLogStatus(fd_, &st_).ok());
  }
  // Writes the status block with the head at `head` (LSN `head_lsn`, as
  // log truncation leaves it) and tail_hint `tail_hint`.
  void SetHead(uint64_t head, uint64_t head_lsn, uint64_t tail_hint) {
    st_.head = head;
    st_.head_lsn = head_lsn;
    st_.tail_hint = tail_hint;
    REQUIRE(log::WriteLogStatus(fd_, &st_).ok());
  }
  // Overwrites `n` bytes at logical offset `offset` of the area (wrapping).
  void Poke(uint64_t offset, const std::string& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      uint64_t in_area = (offset + done) % st_.area_size;
      size_t n = size_t(std::min<uint64_t>(bytes.size() - done, st_.area_size - in_area));
      (void)!::pwrite(fd_, bytes.data() + done, n, off_t(st_.area_start + in_area));
      done += n;
    }
  }
  // Zeroes the area from logical offset `from` to `to`.
  void Zero(uint64_t from, uint64_t to) { Poke(from, std::string(size_t(to - from), '\0')); }
  uint64_t head() const { return head_; }
  uint64_t tail() const { return writer_.next_offset(); }
  uint64_t next_lsn() const { return writer_.next_lsn(); }
  uint64_t txns() const { return txns_; }
  // The record bytes [head, tail) as appended.
  const std::string& stream() const { return stream_; }
  // Record start offsets in order.
  const std::vector<uint64_t>& offsets() const { return offsets_; }
  // What the segments hold after replaying everything (seg path -> bytes).
  const std::map<std::string, std::string>& model() const { return model_; }
  std::string SegPath(uint32_t code) const { return dict_.at(code); }

 private:
  uint64_t Append(log::RecordType type, uint32_t flags, const std::string& payload) {
    std::string buf;
    uint64_t off = writer_.Add(&buf, type, flags, payload);
    Poke(off, buf);
    stream_ += buf;
    offsets_.push_back(off);
    return off;
  }

  std::string path_;
  int fd_ = -1;
  bool ok_ = false;
  log::LogStatus st_;
  log::LogRecordWriter writer_;
  uint64_t head_ = 0;
  uint64_t txns_ = 0;
  std::string stream_;
  std::vector<uint64_t> offsets_;
  std::map<uint32_t, std::string> dict_;
  std::map<std::string, std::string> model_;
};

// Creates zero-filled segment files of `size` bytes.
inline void MakeSegments(const std::vector<std::string>& paths, uint64_t size) {
  for (const auto& p : paths) WriteFile(p, std::string(size_t(size), '\0'));
}

// `want` laid over a zero file of the segment's size.
inline std::string Expected(const std::string& model, uint64_t size) {
  std::string s(size_t(size), '\0');
  s.replace(0, model.size(), model);
  return s;
}

// The size of the data segments seg1 and seg2 of the two-segment test logs.
inline constexpr uint64_t kSegSize = 64 * 1024;

// (Re)creates seg1 and seg2 in `dir`, zero-filled.
inline void MakeTwoSegments(const TempDir& dir) {
  MakeSegments({dir.File("seg1"), dir.File("seg2")}, kSegSize);
}

// Adds dictionary records naming seg1 (code 1) and seg2 (code 2) of `dir`,
// then `n` random transactions over them, and syncs the status block.
inline void FillTwoSegments(LogBuilder* b, const TempDir& dir, int n, uint64_t seed = 1) {
  b->AddDict(1, dir.File("seg1"));
  b->AddDict(2, dir.File("seg2"));
  std::mt19937_64 rng(seed);
  b->AddRandomTxns(n, 2, kSegSize, &rng);
  b->Sync();
}

// What an in-process subcommand printed.
struct CommandOutput {
  std::ostringstream out, err;
  std::string all() const { return out.str() + err.str(); }
};

struct RunResult {
  int code = -1;
  std::string output;  // stdout and stderr together
};

// Runs the shell command `cmd` (its stderr joined to stdout by the caller,
// "2>&1") and collects its output and exit status.
inline RunResult RunShell(const std::string& cmd) {
  RunResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) r.output.append(buf, n);
  int st = ::pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

// A child process running a command line (through /bin/sh) with its stdout
// and stderr on a pipe the test reads as the child writes: to wait for what
// a long-running command (inspect --follow) prints.
class ChildProcess {
 public:
  explicit ChildProcess(const std::string& cmd) {
    const std::string line = "exec " + cmd;  // no allocation after fork
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], 1);
      ::dup2(fds[1], 2);
      ::execl("/bin/sh", "sh", "-c", line.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[1]);
    fd_ = fds[0];
  }
  ~ChildProcess() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return pid_ > 0 && fd_ >= 0; }
  // Everything the child printed so far.
  const std::string& output() const { return out_; }
  // Reads the child's output until `done(output())` holds (true) or the
  // output ends or `give_up_ms` pass without it (false: a failure bound,
  // not a way to order events).
  template <typename Pred>
  bool ReadUntil(Pred done, int give_up_ms = 60000) {
    int waited = 0;
    while (!done(out_)) {
      if (eof_ || waited >= give_up_ms) return false;
      struct pollfd p = {fd_, POLLIN, 0};
      int r = ::poll(&p, 1, 100);
      if (r == 0) {
        waited += 100;
        continue;
      }
      if (r < 0) continue;
      char buf[4096];
      ssize_t n = ::read(fd_, buf, sizeof(buf));
      if (n <= 0)
        eof_ = true;
      else
        out_.append(buf, size_t(n));
    }
    return true;
  }
  // Sends `sig`, reads the rest of the output and returns the exit status
  // (128 + signal if a signal ended it).
  int Stop(int sig) {
    ::kill(pid_, sig);
    return Wait();
  }
  // Reads the output to its end and returns the exit status.
  int Wait() {
    ReadUntil([](const std::string&) { return false; });
    if (!eof_) ::kill(pid_, SIGKILL);  // it did not end: the caller's check fails
    int st = 0;
    ::waitpid(pid_, &st, 0);
    reaped_ = true;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  bool eof_ = false;
  bool reaped_ = false;
  std::string out_;
};

// How many times `what` occurs in `s`.
inline size_t Count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) n++;
  return n;
}

#ifdef RVM_LOG_BINARY
// Runs the rvm-log binary with `args` (shell-quoted by the caller).
inline RunResult RunCli(const std::string& args) {
  return RunShell(std::string(RVM_LOG_BINARY) + " " + args + " 2>&1");
}
#endif

}  // namespace rvmr::testing
