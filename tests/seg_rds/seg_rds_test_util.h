// Helpers for the libseg/librds tests: scratch directories, data files,
// running a test body in a child process (RVM cannot be initialized twice in
// one process), and a heap walker that checks every block of an RDS heap.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>

#include <rvm/rds.h>
#include <rvm/rvm.h>
#include <rvm/rvm_segment.h>

#include "heap_layout.h"

namespace segtest {

// Fails the child: prints where and exits with status 1.
#define CHILD_EXPECT(cond)                                                           \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      fprintf(stderr, "%s:%d: child check failed: %s\n", __FILE__, __LINE__, #cond); \
      _exit(1);                                                                      \
    }                                                                                \
  } while (0)

// A fresh mkdtemp directory under /tmp, removed on destruction.
class ScratchDir {
 public:
  ScratchDir() {
    char tmpl[] = "/tmp/seg_rds_XXXXXX";
    char* p = mkdtemp(tmpl);
    if (p == nullptr) abort();
    path_ = p;
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs body in a forked child; returns its wait status. The child exits 0
// when body returns normally.
inline int RunChild(const std::function<void()>& body) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    body();
    fflush(stdout);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

inline bool ExitedOk(int status) {
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// Initializes RVM in the calling (child) process on log `log`, creating a
// 1 MiB log when it does not exist yet.
inline void InitRvm(const std::string& log) {
  rvm_options_t* opts = rvm_malloc_options();
  opts->log_dev = const_cast<char*>(log.c_str());
  if (access(log.c_str(), F_OK) != 0) {
    opts->create_log_file = rvm_true;
    opts->create_log_size = RVM_MK_OFFSET(0, 1 << 20);
    opts->create_log_mode = 0600;
  }
  rvm_return_t rc = RVM_INIT(opts);
  if (rc != RVM_SUCCESS) {
    fprintf(stderr, "rvm_initialize: %s\n", rvm_return(rc));
    _exit(2);
  }
}

// Writes `len` zero bytes to a new file.
inline void ZeroFile(const std::string& path, size_t len) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) abort();
  if (ftruncate(fd, static_cast<off_t>(len)) != 0) abort();
  close(fd);
}

// Reads n bytes at offset from a file.
inline std::string ReadBytes(const std::string& path, off_t off, size_t n) {
  std::string out(n, '\0');
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return {};
  ssize_t r = pread(fd, out.data(), n, off);
  close(fd);
  out.resize(r > 0 ? static_cast<size_t>(r) : 0);
  return out;
}

// Writes bytes at offset into a file.
inline void PatchBytes(const std::string& path, off_t off, const void* p, size_t n) {
  int fd = open(path.c_str(), O_WRONLY);
  if (fd < 0) abort();
  if (pwrite(fd, p, n, off) != static_cast<ssize_t>(n)) abort();
  close(fd);
}

// Summary of a walk over every block of a loaded heap.
struct HeapWalk {
  bool ok = true;
  std::string problem;
  unsigned long free_blocks = 0, alloc_blocks = 0;
  unsigned long free_bytes = 0, alloc_bytes = 0;
  unsigned long listed_free = 0;  // blocks reachable from the free lists
};

// Walks the heap at `base` block by block (every block must carry a valid
// guard, a size that stays inside the heap and an end guard) and then every
// free list (links consistent, only free blocks on them). Every free block
// must be on exactly one list.
inline HeapWalk WalkHeap(char* base) {
  using namespace rvmr::rds;
  HeapWalk w;
  auto* h = reinterpret_cast<HeapHeader*>(base);
  const unsigned long chunk = h->chunk_size;
  const unsigned long hdr_len = HeaderLength(h->nlists);
  auto first = (reinterpret_cast<uintptr_t>(base) + hdr_len + chunk - 1) / chunk * chunk;
  const uintptr_t high =
      reinterpret_cast<uintptr_t>(base) + hdr_len + (h->heaplength - hdr_len) / chunk * chunk;
  auto fail = [&](const std::string& why) {
    if (w.ok) w.problem = why;
    w.ok = false;
  };
  uintptr_t p = first;
  while (p < high) {
    auto* b = reinterpret_cast<BlockHeader*>(p);
    if (b->type != kFreeGuard && b->type != kAllocGuard) return fail("bad block guard"), w;
    if (b->size == 0 || p + b->size * chunk > reinterpret_cast<uintptr_t>(base) + h->heaplength) {
      return fail("bad block size"), w;
    }
    auto* end_guard = reinterpret_cast<unsigned long*>(p + b->size * chunk) - 1;
    if (*end_guard != kEndGuard) return fail("bad end guard"), w;
    if (b->type == kFreeGuard) {
      ++w.free_blocks;
      w.free_bytes += b->size * chunk;
    } else {
      ++w.alloc_blocks;
      w.alloc_bytes += b->size * chunk;
    }
    p += b->size * chunk;
  }
  for (unsigned long i = 1; i <= h->nlists; ++i) {
    if (h->lists[i].guard != kListGuard) fail("bad list guard");
    BlockHeader* prev = nullptr;
    for (BlockHeader* b = h->lists[i].head; b != nullptr; b = b->next) {
      if (b->type != kFreeGuard) return fail("allocated block on a free list"), w;
      if (b->prev != prev) return fail("bad prev link"), w;
      if (i < h->maxlist && b->size != i) return fail("block on the wrong list"), w;
      if (i == h->maxlist && b->size < i) return fail("small block on the largest list"), w;
      if (++w.listed_free > w.free_blocks) return fail("free list cycle"), w;
      prev = b;
    }
  }
  if (w.listed_free != w.free_blocks) fail("free block missing from the lists");
  if (static_cast<unsigned>(w.free_bytes) != h->stats.freebytes) fail("freebytes mismatch");
  return w;
}

}  // namespace segtest
