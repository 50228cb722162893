// Helpers for the librvm tests. RVM cannot be re-initialized after
// rvm_terminate, so every scenario runs in a forked child: the child checks
// with CHILD_REQUIRE (prints and exits nonzero on failure) and the parent
// REQUIREs a zero exit status.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "rvm/rvm.h"
#include "rvm/rvm_statistics.h"

// librvm internals the tests touch (exported, not in the public headers).
extern "C" {
extern long rvm_no_yield;
rvm_bool_t rvm_register_page(char* vmaddr, rvm_length_t length);
}

#define CHILD_REQUIRE(cond)                                                               \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "%s:%d: child check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::fflush(stderr);                                                                \
      _exit(3);                                                                           \
    }                                                                                     \
  } while (0)

#define CHILD_RC(expr, want)                                                                  \
  do {                                                                                        \
    rvm_return_t rc_ = (expr);                                                                \
    if (rc_ != (want)) {                                                                      \
      std::fprintf(stderr, "%s:%d: %s returned %s, expected %s\n", __FILE__, __LINE__, #expr, \
                   rvm_return(rc_), rvm_return(want));                                        \
      std::fflush(stderr);                                                                    \
      _exit(3);                                                                               \
    }                                                                                         \
  } while (0)

namespace rvmtest {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/rvm-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs `body` in a forked child; returns its exit status (or 128+signal).
inline int RunInChild(const std::function<void()>& body) {
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    body();
    std::fflush(nullptr);
    _exit(0);
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  return 128 + WTERMSIG(st);
}

// Creates `path` with `size` bytes, byte i = fill(i).
inline void MakeFile(const std::string& path, size_t size, unsigned char fill = 0) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
  REQUIRE(fd >= 0);
  std::vector<char> buf(size, static_cast<char>(fill));
  REQUIRE(::write(fd, buf.data(), size) == static_cast<ssize_t>(size));
  ::close(fd);
}

inline std::string ReadFile(const std::string& path) {
  std::string s;
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return s;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) s.append(buf, n);
  std::fclose(f);
  return s;
}

// Child side: initialize with a new log of `log_len` bytes at `log`.
inline void InitWithNewLog(const std::string& log, unsigned long log_len, long truncate = 0,
                           rvm_length_t flags = RVM_ALL_OPTIMIZATIONS) {
  rvm_options_t* o = rvm_malloc_options();
  o->log_dev = const_cast<char*>(log.c_str());
  o->truncate = truncate;
  o->flags = flags;
  o->create_log_file = rvm_true;
  o->create_log_size = RVM_MK_OFFSET(0, log_len);
  o->create_log_mode = 0600;
  CHILD_RC(RVM_INIT(o), RVM_SUCCESS);
  rvm_free_options(o);
}

// Child side: initialize with an existing log (runs recovery).
inline void InitWithLog(const std::string& log, long truncate = 0,
                        rvm_length_t flags = RVM_ALL_OPTIMIZATIONS) {
  rvm_options_t* o = rvm_malloc_options();
  o->log_dev = const_cast<char*>(log.c_str());
  o->truncate = truncate;
  o->flags = flags;
  CHILD_RC(RVM_INIT(o), RVM_SUCCESS);
  rvm_free_options(o);
}

// Child side: maps the whole of `seg` at an RVM-chosen address.
inline rvm_region_t* MapAll(const std::string& seg, rvm_return_t want = RVM_SUCCESS) {
  rvm_region_t* r = rvm_malloc_region();
  r->data_dev = const_cast<char*>(seg.c_str());
  CHILD_RC(rvm_map(r, nullptr), want);
  return r;
}

}  // namespace rvmtest
