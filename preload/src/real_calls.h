// RealCalls: the next definitions (libc's) of every function the preload
// shim interposes, resolved with dlsym(RTLD_NEXT) on first use.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cstdio>

namespace rvmr::preload {

struct RealCalls {
  int (*open)(const char*, int, ...);
  int (*open64)(const char*, int, ...);
  int (*openat)(int, const char*, int, ...);
  int (*openat64)(int, const char*, int, ...);
  int (*creat)(const char*, mode_t);
  int (*creat64)(const char*, mode_t);
  int (*open_2)(const char*, int);
  int (*open64_2)(const char*, int);
  int (*openat_2)(int, const char*, int);
  int (*openat64_2)(int, const char*, int);
  FILE* (*fopen)(const char*, const char*);
  FILE* (*fopen64)(const char*, const char*);
  int (*close)(int);
  ssize_t (*write)(int, const void*, size_t);
  ssize_t (*pwrite)(int, const void*, size_t, off_t);
  ssize_t (*pwrite64)(int, const void*, size_t, off_t);
  ssize_t (*writev)(int, const struct iovec*, int);
  ssize_t (*pwritev)(int, const struct iovec*, int, off_t);
  ssize_t (*pwritev64)(int, const struct iovec*, int, off_t);
  ssize_t (*pwritev2)(int, const struct iovec*, int, off_t, int);
  ssize_t (*pwritev64v2)(int, const struct iovec*, int, off_t, int);
  int (*fsync)(int);
  int (*fdatasync)(int);
  int (*sync_file_range)(int, off_t, off_t, unsigned int);
  int (*ftruncate)(int, off_t);
  int (*ftruncate64)(int, off_t);
  int (*fallocate)(int, int, off_t, off_t);
  int (*fallocate64)(int, int, off_t, off_t);
  int (*posix_fallocate)(int, off_t, off_t);
  int (*posix_fallocate64)(int, off_t, off_t);
  int (*dup)(int);
  int (*dup2)(int, int);
  int (*dup3)(int, int, int);
  int (*fcntl)(int, int, ...);
  int (*fcntl64)(int, int, ...);
  void* (*mmap)(void*, size_t, int, int, int, off_t);
  void* (*mmap64)(void*, size_t, int, int, int, off_t);
  int (*munmap)(void*, size_t);
  int (*msync)(void*, size_t, int);
  int (*rename)(const char*, const char*);
  int (*renameat)(int, const char*, int, const char*);
  int (*renameat2)(int, const char*, int, const char*, unsigned int);
  int (*truncate)(const char*, off_t);
  int (*truncate64)(const char*, off_t);
  int (*unlink)(const char*);
  int (*unlinkat)(int, const char*, int);
  ssize_t (*copy_file_range)(int, off_t*, int, off_t*, size_t, unsigned int);
  ssize_t (*sendfile)(int, int, off_t*, size_t);
  ssize_t (*sendfile64)(int, int, off_t*, size_t);
  ssize_t (*splice)(int, off_t*, int, off_t*, size_t, unsigned int);
};

// The resolved table (resolved on the first call, thread-safe).
const RealCalls& Real();

// Writes "rvmshim-preload: <msg>\n" to stderr with the real write.
void Say(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace rvmr::preload
