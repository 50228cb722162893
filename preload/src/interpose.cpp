// The exported definitions of the interposed libc functions. Each one passes
// straight to libc unless its descriptor (or path) is a designated log.
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <mutex>
#include <tuple>
#include <vector>

#include "fd_table.h"
#include "log_file.h"
#include "preload/preload_config.h"
#include "real_calls.h"

using namespace rvmr::preload;

namespace {

PreloadConfig* g_cfg = nullptr;
bool g_active = false;
std::once_flag g_cfg_once;
std::atomic<FdTable*> g_table{nullptr};
std::mutex g_attach_mu;
std::once_flag g_exit_once;

FdTable& Table() {
  FdTable* t = g_table.load(std::memory_order_acquire);
  if (t == nullptr) {
    FdTable* fresh = new FdTable;
    if (g_table.compare_exchange_strong(t, fresh)) return *fresh;
    delete fresh;
  }
  return *t;
}

void AfterForkChild() {
  // The parent's connections and threads do not exist here: forget every
  // designated descriptor (they pass through to the local disk from now on).
  g_table.store(new FdTable, std::memory_order_release);
}

void DrainAllAtExit() {
  InShim guard;
  std::vector<std::shared_ptr<LogFile>> files = Table().TakeAll();
  files.clear();  // the last reference drains each file
}

bool Active() {
  if (g_in_shim) return false;
  std::call_once(g_cfg_once, [] {
    InShim guard;
    g_cfg = new PreloadConfig;
    rvmr::Status s = LoadPreloadConfigFromEnv(g_cfg);
    if (!s.ok()) {
      Say("configuration error, passing everything through: %s", s.ToString().c_str());
      return;
    }
    g_active = g_cfg->active();
    if (g_cfg->key_created)
      Say("created the preload key file %s: back it up, restoring from the mirrors needs it "
          "(docs/security.md)",
          g_cfg->key_file.c_str());
    if (g_active) pthread_atfork(nullptr, nullptr, AfterForkChild);
  });
  return g_active;
}

std::string AbsPath(int dirfd, const char* path) {
  std::string p;
  if (path[0] == '/') {
    p = path;
  } else {
    char base[PATH_MAX];
    if (dirfd == AT_FDCWD) {
      if (::getcwd(base, sizeof base) == nullptr) return "";
    } else {
      char proc[64];
      std::snprintf(proc, sizeof proc, "/proc/self/fd/%d", dirfd);
      ssize_t n = ::readlink(proc, base, sizeof base - 1);
      if (n <= 0) return "";
      base[n] = '\0';
    }
    p = std::string(base) + "/" + path;
  }
  size_t slash = p.find_last_of('/');
  std::string dir = slash == 0 ? "/" : p.substr(0, slash);
  std::string name = p.substr(slash + 1);
  char res[PATH_MAX];
  if (::realpath(dir.c_str(), res) != nullptr) dir = res;
  if (dir == "/") dir.clear();
  return dir + "/" + name;
}

// Returns the designated file with this path's inode, if one is open.
std::shared_ptr<LogFile> FileAtPath(const std::string& abs) {
  if (abs.empty() || Table().Empty()) return nullptr;
  struct stat st;
  if (::lstat(abs.c_str(), &st) != 0) return nullptr;
  return Table().FindInode(st.st_dev, st.st_ino);
}

bool Lookup(int fd, FdEntry* e) {
  if (g_in_shim || Table().Empty()) return false;
  return Table().Get(fd, e);
}

template <typename Open>
int OpenCommon(int dirfd, const char* path, int flags, Open real_open) {
  if (path == nullptr || (flags & O_PATH) != 0 || !Active()) return real_open(flags);
  std::string abs = AbsPath(dirfd, path);
  if (abs.empty() || !g_cfg->Matches(abs)) return real_open(flags);
  if ((flags & O_DIRECT) != 0) {
    Say("%s: O_DIRECT on a designated log cannot be mirrored; open refused (EINVAL)", abs.c_str());
    errno = EINVAL;
    return -1;
  }
  bool sync = (flags & O_DSYNC) != 0;
  int fd = real_open(flags & ~(O_SYNC | O_DSYNC));
  if (fd < 0) return fd;
  InShim guard;
  std::lock_guard<std::mutex> l(g_attach_mu);
  struct stat st;
  std::shared_ptr<LogFile> file;
  if (::fstat(fd, &st) == 0) file = Table().FindInode(st.st_dev, st.st_ino);
  if (file == nullptr) {
    rvmr::Status s = LogFile::Open(*g_cfg, fd, abs, (flags & O_TRUNC) != 0, &file);
    if (!s.ok()) {
      Say("%s: open refused (EIO): %s", abs.c_str(), s.ToString().c_str());
      Real().close(fd);
      errno = EIO;
      return -1;
    }
    std::call_once(g_exit_once, [] { std::atexit(DrainAllAtExit); });
  } else if ((flags & O_TRUNC) != 0) {
    file->NoteResize("open(O_TRUNC)");
  }
  Table().Put(fd, FdEntry{file, sync, (flags & O_APPEND) != 0});
  return fd;
}

bool NeedsMode(int flags) {
  return (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE;
}

ssize_t Finish(const FdEntry& e, ssize_t r, bool force_sync = false) {
  if (r > 0 && (e.sync || force_sync)) {
    int s = e.file->Sync();
    if (s < 0) {
      errno = -s;
      return -1;
    }
  }
  return r;
}

size_t IovLen(const struct iovec* iov, int n) {
  size_t len = 0;
  for (int i = 0; i < n; ++i) len += iov[i].iov_len;
  return len;
}

// A write of `len` bytes at the descriptor's position (or appended): checked
// for an in-place rewrite first (not needed when appended), the offset it
// landed at is read back under the file's write lock.
template <typename Write>
ssize_t PositionalWrite(const FdEntry& e, int fd, bool appended, size_t len, const char* op,
                        Write w) {
  ssize_t r;
  {
    std::lock_guard<std::mutex> l(e.file->write_mu());
    if (!appended) {
      off_t at = ::lseek(fd, 0, SEEK_CUR);
      if (at >= 0) e.file->CheckWrite(static_cast<uint64_t>(at), len, op);
    }
    r = w();
    if (r > 0) {
      off_t end;
      if (appended) {
        struct stat st;
        end = ::fstat(fd, &st) == 0 ? st.st_size : -1;
      } else {
        end = ::lseek(fd, 0, SEEK_CUR);
      }
      if (end >= r) {
        e.file->NoteWrite(static_cast<uint64_t>(end - r), static_cast<uint64_t>(r));
      } else {
        e.file->NoteWrite(0, UINT64_MAX / 2);  // unknown: resend the whole file
      }
    }
  }
  return r;
}

template <typename Write>
ssize_t OffsetWrite(const FdEntry& e, int fd, off_t off, size_t len, const char* op, Write w) {
  if (e.append) return PositionalWrite(e, fd, true, len, op, w);
  e.file->CheckWrite(static_cast<uint64_t>(off), len, op);
  ssize_t r = w();
  if (r > 0) e.file->NoteWrite(static_cast<uint64_t>(off), static_cast<uint64_t>(r));
  return r;
}

// write(2)-like calls: `len` bytes at the descriptor's position.
template <typename Write>
ssize_t WriteCommon(int fd, size_t len, const char* op, Write real) {
  FdEntry e;
  if (!Lookup(fd, &e)) return real();
  return Finish(e, PositionalWrite(e, fd, e.append, len, op, real));
}

// pwrite(2)-like calls: `len` bytes at offset `off`.
template <typename Write>
ssize_t PwriteCommon(int fd, off_t off, size_t len, const char* op, Write real) {
  FdEntry e;
  if (!Lookup(fd, &e)) return real();
  return Finish(e, OffsetWrite(e, fd, off, len, op, real));
}

ssize_t Pwritev2Common(int fd, const struct iovec* iov, int n, off_t off, int flags,
                       ssize_t (*real)(int, const struct iovec*, int, off_t, int)) {
  FdEntry e;
  if (!Lookup(fd, &e)) return real(fd, iov, n, off, flags);
  bool sync = (flags & (RWF_DSYNC | RWF_SYNC)) != 0;
  int rflags = flags & ~(RWF_DSYNC | RWF_SYNC);
  auto w = [&] { return real(fd, iov, n, off, rflags); };
  size_t len = IovLen(iov, n);
  ssize_t r;
  if (off == -1 || (flags & RWF_APPEND) != 0) {
    r = PositionalWrite(e, fd, (flags & RWF_APPEND) != 0 || e.append, len, "pwritev2", w);
  } else {
    r = OffsetWrite(e, fd, off, len, "pwritev2", w);
  }
  return Finish(e, r, sync);
}

int SyncCommon(int fd, int (*real)(int)) {
  FdEntry e;
  if (!Lookup(fd, &e)) return real(fd);
  int s = e.file->Sync();
  if (s < 0) {
    errno = -s;
    return -1;
  }
  return 0;
}

int TruncateCommon(int fd, off_t len, int (*real)(int, off_t)) {
  int r = real(fd, len);
  FdEntry e;
  if (r == 0 && Lookup(fd, &e)) e.file->NoteResize("ftruncate");
  return r;
}

int PathTruncateCommon(const char* path, off_t len, int (*real)(const char*, off_t)) {
  int r = real(path, len);
  if (r == 0 && !g_in_shim && !Table().Empty()) {
    std::shared_ptr<LogFile> f = FileAtPath(AbsPath(AT_FDCWD, path));
    if (f != nullptr) f->NoteResize("truncate");
  }
  return r;
}

// posix_fallocate returns the error number instead of setting errno.
int PosixFallocateCommon(int fd, off_t off, off_t len, int (*real)(int, off_t, off_t)) {
  int r = real(fd, off, len);
  FdEntry e;
  if (r == 0 && Lookup(fd, &e)) e.file->NoteResize("posix_fallocate");
  return r;
}

int FallocateCommon(int fd, int mode, off_t off, off_t len, int (*real)(int, int, off_t, off_t)) {
  FdEntry e;
  if (!Lookup(fd, &e)) return real(fd, mode, off, len);
  int known = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE;
  if ((mode & ~known) != 0) {
    Say("%s: fallocate mode %#x on a designated log is not supported; refused (EOPNOTSUPP)",
        e.file->path().c_str(), mode);
    errno = EOPNOTSUPP;
    return -1;
  }
  const bool zeroes = (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) != 0;
  if (zeroes)
    e.file->CheckWrite(static_cast<uint64_t>(off), static_cast<uint64_t>(len),
                       "fallocate(PUNCH_HOLE|ZERO_RANGE)");
  int r = real(fd, mode, off, len);
  if (r == 0) {
    if (zeroes) e.file->NoteWrite(static_cast<uint64_t>(off), static_cast<uint64_t>(len));
    if ((mode & FALLOC_FL_KEEP_SIZE) == 0) e.file->NoteResize("fallocate");
  }
  return r;
}

int DupCommon(int oldfd, int newfd) {
  if (newfd < 0) return newfd;
  if (g_in_shim || Table().Empty()) return newfd;
  std::shared_ptr<LogFile> replaced = Table().Remove(newfd);
  FdEntry e;
  if (Table().Get(oldfd, &e)) Table().Put(newfd, e);
  return newfd;
}

int FcntlCommon(int fd, int cmd, unsigned long arg, int (*real)(int, int, ...)) {
  FdEntry e;
  if (!Lookup(fd, &e)) return real(fd, cmd, arg);
  if (cmd == F_SETFL && (arg & O_DIRECT) != 0) {
    Say("%s: O_DIRECT on a designated log cannot be mirrored; fcntl refused (EINVAL)",
        e.file->path().c_str());
    errno = EINVAL;
    return -1;
  }
  int r = real(fd, cmd, arg);
  if (r < 0) return r;
  if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) return DupCommon(fd, r);
  if (cmd == F_SETFL) Table().SetAppend(fd, (arg & O_APPEND) != 0);
  return r;
}

// A writable shared mapping rewrites the file in place (stores through it
// are invisible to the shim): the file is refused (LogFile::Refuse) and the
// mapping made as asked.
void* MmapCommon(void* addr, size_t len, int prot, int flags, int fd, off_t off,
                 void* (*real)(void*, size_t, int, int, int, off_t)) {
  FdEntry e;
  if ((flags & MAP_SHARED) != 0 && (prot & PROT_WRITE) != 0 && Lookup(fd, &e))
    e.file->Refuse("mmap(PROT_WRITE, MAP_SHARED)", static_cast<uint64_t>(off));
  return real(addr, len, prot, flags, fd, off);
}

bool RefuseDataPath(int out_fd, const char* what) {
  FdEntry e;
  if (!Lookup(out_fd, &e)) return false;
  Say("%s: %s into a designated log cannot be mirrored; refused (EINVAL)", e.file->path().c_str(),
      what);
  errno = EINVAL;
  return true;
}

int RenameCommon(int olddirfd, const char* oldpath, int newdirfd, const char* newpath,
                 const std::function<int()>& real) {
  if (g_in_shim || oldpath == nullptr || newpath == nullptr || Table().Empty() || !Active())
    return real();
  std::string from = AbsPath(olddirfd, oldpath), to = AbsPath(newdirfd, newpath);
  std::shared_ptr<LogFile> moved = FileAtPath(from), victim = FileAtPath(to);
  if (moved != nullptr) moved->Drain();
  int r = real();
  if (r != 0) return r;
  int saved = errno;
  if (moved != nullptr) moved->Moved(to, g_cfg->Matches(to));
  if (victim != nullptr && victim != moved) victim->Moved("", false);
  errno = saved;
  return r;
}

int UnlinkCommon(int dirfd, const char* path, const std::function<int()>& real) {
  if (g_in_shim || path == nullptr || Table().Empty() || !Active()) return real();
  std::shared_ptr<LogFile> f = FileAtPath(AbsPath(dirfd, path));
  int r = real();
  int saved = errno;
  if (r == 0 && f != nullptr) f->Moved("", false);
  errno = saved;
  return r;
}

FILE* FopenCommon(const char* path, const char* mode, FILE* (*real)(const char*, const char*)) {
  if (path != nullptr && mode != nullptr && std::strpbrk(mode, "wa+") != nullptr && Active()) {
    std::string abs = AbsPath(AT_FDCWD, path);
    if (!abs.empty() && g_cfg->Matches(abs)) {
      Say("%s: stdio writes to a designated log cannot be seen by the shim; fopen refused "
          "(ENOTSUP)",
          abs.c_str());
      errno = ENOTSUP;
      return nullptr;
    }
  }
  return real(path, mode);
}

}  // namespace

#define RVM_EXPORT extern "C" __attribute__((visibility("default")))

// Declares `T name`: the variadic argument after parameter `last`, read as
// `Promoted` (the type the caller's argument was promoted to), or T{} when
// `present` is false (open's mode exists only when the flags create a file).
#define RVM_VARIADIC_ARG(T, Promoted, name, last, present) \
  T name{};                                                \
  if (present) {                                           \
    va_list ap_;                                           \
    va_start(ap_, last);                                   \
    name = static_cast<T>(va_arg(ap_, Promoted));          \
    va_end(ap_);                                           \
  }

RVM_EXPORT int open(const char* path, int flags, ...) {
  RVM_VARIADIC_ARG(mode_t, int, mode, flags, NeedsMode(flags));
  return OpenCommon(AT_FDCWD, path, flags, [&](int f) { return Real().open(path, f, mode); });
}
RVM_EXPORT int open64(const char* path, int flags, ...) {
  RVM_VARIADIC_ARG(mode_t, int, mode, flags, NeedsMode(flags));
  return OpenCommon(AT_FDCWD, path, flags, [&](int f) { return Real().open64(path, f, mode); });
}
RVM_EXPORT int openat(int dirfd, const char* path, int flags, ...) {
  RVM_VARIADIC_ARG(mode_t, int, mode, flags, NeedsMode(flags));
  return OpenCommon(dirfd, path, flags, [&](int f) { return Real().openat(dirfd, path, f, mode); });
}
RVM_EXPORT int openat64(int dirfd, const char* path, int flags, ...) {
  RVM_VARIADIC_ARG(mode_t, int, mode, flags, NeedsMode(flags));
  return OpenCommon(dirfd, path, flags,
                    [&](int f) { return Real().openat64(dirfd, path, f, mode); });
}
RVM_EXPORT int creat(const char* path, mode_t mode) {
  int flags = O_CREAT | O_WRONLY | O_TRUNC;
  return OpenCommon(AT_FDCWD, path, flags, [&](int f) { return Real().open(path, f, mode); });
}
RVM_EXPORT int creat64(const char* path, mode_t mode) {
  int flags = O_CREAT | O_WRONLY | O_TRUNC;
  return OpenCommon(AT_FDCWD, path, flags, [&](int f) { return Real().open64(path, f, mode); });
}
RVM_EXPORT int __open_2(const char* path, int flags) {
  return OpenCommon(AT_FDCWD, path, flags, [&](int f) { return Real().open_2(path, f); });
}
RVM_EXPORT int __open64_2(const char* path, int flags) {
  return OpenCommon(AT_FDCWD, path, flags, [&](int f) { return Real().open64_2(path, f); });
}
RVM_EXPORT int __openat_2(int dirfd, const char* path, int flags) {
  return OpenCommon(dirfd, path, flags, [&](int f) { return Real().openat_2(dirfd, path, f); });
}
RVM_EXPORT int __openat64_2(int dirfd, const char* path, int flags) {
  return OpenCommon(dirfd, path, flags, [&](int f) { return Real().openat64_2(dirfd, path, f); });
}
RVM_EXPORT FILE* fopen(const char* path, const char* mode) {
  return FopenCommon(path, mode, Real().fopen);
}
RVM_EXPORT FILE* fopen64(const char* path, const char* mode) {
  return FopenCommon(path, mode, Real().fopen64);
}

RVM_EXPORT int close(int fd) {
  if (g_in_shim || Table().Empty()) return Real().close(fd);
  std::shared_ptr<LogFile> f = Table().Remove(fd);
  int r = Real().close(fd);
  int saved = errno;
  if (f != nullptr) {
    InShim guard;
    f.reset();  // the last descriptor's close drains the file
  }
  errno = saved;
  return r;
}

RVM_EXPORT ssize_t write(int fd, const void* buf, size_t n) {
  return WriteCommon(fd, n, "write", [&] { return Real().write(fd, buf, n); });
}
RVM_EXPORT ssize_t writev(int fd, const struct iovec* iov, int n) {
  return WriteCommon(fd, IovLen(iov, n), "writev", [&] { return Real().writev(fd, iov, n); });
}
RVM_EXPORT ssize_t pwrite(int fd, const void* buf, size_t n, off_t off) {
  return PwriteCommon(fd, off, n, "pwrite", [&] { return Real().pwrite(fd, buf, n, off); });
}
RVM_EXPORT ssize_t pwrite64(int fd, const void* buf, size_t n, off_t off) {
  return PwriteCommon(fd, off, n, "pwrite", [&] { return Real().pwrite64(fd, buf, n, off); });
}
RVM_EXPORT ssize_t pwritev(int fd, const struct iovec* iov, int n, off_t off) {
  return PwriteCommon(fd, off, IovLen(iov, n), "pwritev",
                      [&] { return Real().pwritev(fd, iov, n, off); });
}
RVM_EXPORT ssize_t pwritev64(int fd, const struct iovec* iov, int n, off_t off) {
  return PwriteCommon(fd, off, IovLen(iov, n), "pwritev",
                      [&] { return Real().pwritev64(fd, iov, n, off); });
}
RVM_EXPORT ssize_t pwritev2(int fd, const struct iovec* iov, int n, off_t off, int flags) {
  return Pwritev2Common(fd, iov, n, off, flags, Real().pwritev2);
}
RVM_EXPORT ssize_t pwritev64v2(int fd, const struct iovec* iov, int n, off_t off, int flags) {
  return Pwritev2Common(fd, iov, n, off, flags, Real().pwritev64v2);
}

RVM_EXPORT int fsync(int fd) {
  return SyncCommon(fd, Real().fsync);
}
RVM_EXPORT int fdatasync(int fd) {
  return SyncCommon(fd, Real().fdatasync);
}
RVM_EXPORT int sync_file_range(int fd, off_t off, off_t n, unsigned int flags) {
  FdEntry e;
  if ((flags & SYNC_FILE_RANGE_WAIT_AFTER) == 0 || !Lookup(fd, &e))
    return Real().sync_file_range(fd, off, n, flags);
  int s = e.file->Sync();
  if (s < 0) {
    errno = -s;
    return -1;
  }
  return 0;
}

RVM_EXPORT int ftruncate(int fd, off_t len) {
  return TruncateCommon(fd, len, Real().ftruncate);
}
RVM_EXPORT int ftruncate64(int fd, off_t len) {
  return TruncateCommon(fd, len, Real().ftruncate64);
}
RVM_EXPORT int truncate(const char* path, off_t len) {
  return PathTruncateCommon(path, len, Real().truncate);
}
RVM_EXPORT int truncate64(const char* path, off_t len) {
  return PathTruncateCommon(path, len, Real().truncate64);
}
RVM_EXPORT int fallocate(int fd, int mode, off_t off, off_t len) {
  return FallocateCommon(fd, mode, off, len, Real().fallocate);
}
RVM_EXPORT int fallocate64(int fd, int mode, off_t off, off_t len) {
  return FallocateCommon(fd, mode, off, len, Real().fallocate64);
}
RVM_EXPORT int posix_fallocate(int fd, off_t off, off_t len) {
  return PosixFallocateCommon(fd, off, len, Real().posix_fallocate);
}
RVM_EXPORT int posix_fallocate64(int fd, off_t off, off_t len) {
  return PosixFallocateCommon(fd, off, len, Real().posix_fallocate64);
}

RVM_EXPORT int dup(int fd) {
  return DupCommon(fd, Real().dup(fd));
}
RVM_EXPORT int dup2(int fd, int newfd) {
  int r = Real().dup2(fd, newfd);
  if (r < 0 || fd == newfd) return r;
  return DupCommon(fd, r);
}
RVM_EXPORT int dup3(int fd, int newfd, int flags) {
  return DupCommon(fd, Real().dup3(fd, newfd, flags));
}
RVM_EXPORT int fcntl(int fd, int cmd, ...) {
  RVM_VARIADIC_ARG(unsigned long, unsigned long, arg, cmd, true);
  return FcntlCommon(fd, cmd, arg, Real().fcntl);
}
RVM_EXPORT int fcntl64(int fd, int cmd, ...) {
  RVM_VARIADIC_ARG(unsigned long, unsigned long, arg, cmd, true);
  return FcntlCommon(fd, cmd, arg, Real().fcntl64);
}

RVM_EXPORT void* mmap(void* addr, size_t len, int prot, int flags, int fd, off_t off) {
  return MmapCommon(addr, len, prot, flags, fd, off, Real().mmap);
}
RVM_EXPORT void* mmap64(void* addr, size_t len, int prot, int flags, int fd, off_t off) {
  return MmapCommon(addr, len, prot, flags, fd, off, Real().mmap64);
}

RVM_EXPORT int rename(const char* from, const char* to) {
  return RenameCommon(AT_FDCWD, from, AT_FDCWD, to, [&] { return Real().rename(from, to); });
}
RVM_EXPORT int renameat(int fd1, const char* from, int fd2, const char* to) {
  return RenameCommon(fd1, from, fd2, to, [&] { return Real().renameat(fd1, from, fd2, to); });
}
RVM_EXPORT int renameat2(int fd1, const char* from, int fd2, const char* to, unsigned int fl) {
  return RenameCommon(fd1, from, fd2, to, [&] { return Real().renameat2(fd1, from, fd2, to, fl); });
}
RVM_EXPORT int unlink(const char* path) {
  return UnlinkCommon(AT_FDCWD, path, [&] { return Real().unlink(path); });
}
RVM_EXPORT int unlinkat(int dirfd, const char* path, int flags) {
  if ((flags & AT_REMOVEDIR) != 0) return Real().unlinkat(dirfd, path, flags);
  return UnlinkCommon(dirfd, path, [&] { return Real().unlinkat(dirfd, path, flags); });
}

RVM_EXPORT ssize_t copy_file_range(int in, off_t* in_off, int out, off_t* out_off, size_t n,
                                   unsigned int flags) {
  if (RefuseDataPath(out, "copy_file_range")) return -1;
  return Real().copy_file_range(in, in_off, out, out_off, n, flags);
}
RVM_EXPORT ssize_t sendfile(int out, int in, off_t* off, size_t n) {
  if (RefuseDataPath(out, "sendfile")) return -1;
  return Real().sendfile(out, in, off, n);
}
RVM_EXPORT ssize_t sendfile64(int out, int in, off_t* off, size_t n) {
  if (RefuseDataPath(out, "sendfile")) return -1;
  return Real().sendfile64(out, in, off, n);
}
RVM_EXPORT ssize_t splice(int in, off_t* in_off, int out, off_t* out_off, size_t n,
                          unsigned int flags) {
  if (RefuseDataPath(out, "splice")) return -1;
  return Real().splice(in, in_off, out, out_off, n, flags);
}
