#include "real_calls.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdarg>
#include <mutex>

namespace rvmr::preload {

namespace {

RealCalls g_real;
std::once_flag g_once;

template <typename F>
void Resolve(F* slot, const char* name) {
  *slot = reinterpret_cast<F>(::dlsym(RTLD_NEXT, name));
}

void ResolveAll() {
  RealCalls& r = g_real;
  Resolve(&r.open, "open");
  Resolve(&r.open64, "open64");
  Resolve(&r.openat, "openat");
  Resolve(&r.openat64, "openat64");
  Resolve(&r.creat, "creat");
  Resolve(&r.creat64, "creat64");
  Resolve(&r.open_2, "__open_2");
  Resolve(&r.open64_2, "__open64_2");
  Resolve(&r.openat_2, "__openat_2");
  Resolve(&r.openat64_2, "__openat64_2");
  Resolve(&r.fopen, "fopen");
  Resolve(&r.fopen64, "fopen64");
  Resolve(&r.close, "close");
  Resolve(&r.write, "write");
  Resolve(&r.pwrite, "pwrite");
  Resolve(&r.pwrite64, "pwrite64");
  Resolve(&r.writev, "writev");
  Resolve(&r.pwritev, "pwritev");
  Resolve(&r.pwritev64, "pwritev64");
  Resolve(&r.pwritev2, "pwritev2");
  Resolve(&r.pwritev64v2, "pwritev64v2");
  Resolve(&r.fsync, "fsync");
  Resolve(&r.fdatasync, "fdatasync");
  Resolve(&r.sync_file_range, "sync_file_range");
  Resolve(&r.ftruncate, "ftruncate");
  Resolve(&r.ftruncate64, "ftruncate64");
  Resolve(&r.fallocate, "fallocate");
  Resolve(&r.fallocate64, "fallocate64");
  Resolve(&r.posix_fallocate, "posix_fallocate");
  Resolve(&r.posix_fallocate64, "posix_fallocate64");
  Resolve(&r.dup, "dup");
  Resolve(&r.dup2, "dup2");
  Resolve(&r.dup3, "dup3");
  Resolve(&r.fcntl, "fcntl");
  Resolve(&r.fcntl64, "fcntl64");
  if (r.fcntl64 == nullptr) r.fcntl64 = r.fcntl;
  Resolve(&r.mmap, "mmap");
  Resolve(&r.mmap64, "mmap64");
  Resolve(&r.munmap, "munmap");
  Resolve(&r.msync, "msync");
  Resolve(&r.rename, "rename");
  Resolve(&r.renameat, "renameat");
  Resolve(&r.renameat2, "renameat2");
  Resolve(&r.truncate, "truncate");
  Resolve(&r.truncate64, "truncate64");
  Resolve(&r.unlink, "unlink");
  Resolve(&r.unlinkat, "unlinkat");
  Resolve(&r.copy_file_range, "copy_file_range");
  Resolve(&r.sendfile, "sendfile");
  Resolve(&r.sendfile64, "sendfile64");
  Resolve(&r.splice, "splice");
}

}  // namespace

const RealCalls& Real() {
  std::call_once(g_once, ResolveAll);
  return g_real;
}

void Say(const char* fmt, ...) {
  char buf[1024];
  int n = std::snprintf(buf, sizeof buf, "rvmshim-preload: ");
  va_list ap;
  va_start(ap, fmt);
  int m = std::vsnprintf(buf + n, sizeof buf - static_cast<size_t>(n) - 1, fmt, ap);
  va_end(ap);
  size_t len = static_cast<size_t>(n) + static_cast<size_t>(m < 0 ? 0 : m);
  if (len > sizeof buf - 2) len = sizeof buf - 2;
  buf[len++] = '\n';
  Real().write(2, buf, len);
}

}  // namespace rvmr::preload
