/* A program that writes its logs through every path the preload shim
 * handles (write, pwrite, writev, pwritev, O_APPEND, O_DSYNC, ftruncate,
 * preallocation, rename, sync_file_range, threads), syncing after each step.
 *   io_ops DIR run      do it all, print "done", wait for a signal
 *   io_ops DIR refuse   try what the shim refuses; print one line per try
 *   io_ops DIR inplace  rewrite g.log in place (pwrite below its end) and
 *                       shrink h.log, syncing around each; print "done" */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

static const char* dir;

static void need(int ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "io_ops: %s: %s\n", what, strerror(errno));
    exit(1);
  }
}

static char* path(const char* name) {
  static char buf[8][4096];
  static int i;
  char* p = buf[i++ % 8];
  snprintf(p, 4096, "%s/%s", dir, name);
  return p;
}

static void fill(char* b, size_t n, char c) {
  memset(b, c, n);
}

static void* worker(void* arg) {
  long t = (long)arg;
  int fd = open(path("c.log"), O_RDWR | O_CREAT, 0644);
  need(fd >= 0, "open c");
  char b[512];
  for (int i = 0; i < 64; ++i) {
    fill(b, sizeof b, (char)('a' + (t * 7 + i) % 26));
    need(pwrite(fd, b, sizeof b, ((off_t)t * 64 + i) * 512) == 512, "pwrite c");
    need(fdatasync(fd) == 0, "fdatasync c");
  }
  return NULL; /* fd left open: a last close would drain the file to disk */
}

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  dir = argv[1];
  char b[8192];
  if (strcmp(argv[2], "refuse") == 0) {
    int fd = open(path("x.log"), O_RDWR | O_CREAT | O_DIRECT, 0644);
    printf("odirect %s\n", fd < 0 ? strerror(errno) : "opened");
    FILE* f = fopen(path("y.log"), "w");
    printf("fopen %s\n", f == NULL ? strerror(errno) : "opened");
    fd = open(path("z.log"), O_RDWR | O_CREAT, 0644);
    need(fd >= 0, "open z");
    need(ftruncate(fd, 4096) == 0, "ftruncate z");
    void* m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("mmap %s\n", m == MAP_FAILED ? strerror(errno) : "mapped");
    printf("setfl %s\n", fcntl(fd, F_SETFL, O_DIRECT) < 0 ? strerror(errno) : "set");
    int other = open(path("plain.dat"), O_RDWR | O_CREAT | O_DIRECT, 0644);
    printf("plain-odirect %s\n", other < 0 ? strerror(errno) : "opened");
    return 0;
  }
  if (strcmp(argv[2], "inplace") == 0) {
    int g = open(path("g.log"), O_RDWR | O_CREAT | O_TRUNC, 0644);
    need(g >= 0, "open g");
    fill(b, 1000, 'a');
    need(write(g, b, 1000) == 1000, "write g");
    need(fsync(g) == 0, "fsync g");
    fill(b, 10, 'b');
    need(pwrite(g, b, 10, 100) == 10, "pwrite g in place");
    need(fsync(g) == 0, "fsync g 2");
    fill(b, 10, 'c');
    need(pwrite(g, b, 10, 200) == 10, "pwrite g in place again");
    need(write(g, b, 10) == 10, "write g more");
    need(fsync(g) == 0, "fsync g 3");
    int h = open(path("h.log"), O_RDWR | O_CREAT | O_TRUNC, 0644);
    need(h >= 0, "open h");
    need(write(h, b, 1000) == 1000, "write h");
    need(fsync(h) == 0, "fsync h");
    need(ftruncate(h, 500) == 0, "ftruncate h");
    need(fsync(h) == 0, "fsync h 2");
    printf("done\n");
    return 0;
  }
  /* a.log: write, pwrite, writev, pwritev, then extension, then rename. */
  int a = open(path("a.log"), O_RDWR | O_CREAT | O_TRUNC, 0644);
  need(a >= 0, "open a");
  fill(b, 4096, 'A');
  need(write(a, b, 4096) == 4096, "write a");
  fill(b, 1000, 'B');
  need(pwrite(a, b, 1000, 8192) == 1000, "pwrite a");
  struct iovec iov[2] = {{b, 300}, {b + 300, 200}};
  fill(b, 500, 'V');
  need(writev(a, iov, 2) == 500, "writev a");
  fill(b, 500, 'P');
  need(pwritev(a, iov, 2, 12000) == 500, "pwritev a");
  need(fsync(a) == 0, "fsync a");
  need(ftruncate(a, 14000) == 0, "ftruncate a");
  need(fsync(a) == 0, "fsync a 2");
  /* b.log: O_APPEND through two descriptors, one of them a dup. */
  int bf = open(path("b.log"), O_WRONLY | O_CREAT | O_APPEND, 0644);
  need(bf >= 0, "open b");
  int bd = dup(bf);
  for (int i = 0; i < 3; ++i) {
    fill(b, 777, (char)('0' + i));
    need(write(i % 2 ? bd : bf, b, 777) == 777, "append b");
  }
  need(fdatasync(bd) == 0, "fdatasync b");
  close(bd);
  /* c.log: four threads, pwrite + fdatasync each. */
  pthread_t th[4];
  for (long t = 0; t < 4; ++t) pthread_create(&th[t], NULL, worker, (void*)t);
  for (int t = 0; t < 4; ++t) pthread_join(th[t], NULL);
  /* d.log: O_DSYNC, no explicit sync. */
  int d = open(path("d.log"), O_WRONLY | O_CREAT | O_DSYNC, 0644);
  need(d >= 0, "open d");
  for (int i = 0; i < 5; ++i) {
    fill(b, 300, (char)('k' + i));
    need(write(d, b, 300) == 300, "write d");
  }
  /* e.log: sync_file_range with wait. */
  int e = open(path("e.log"), O_RDWR | O_CREAT, 0644);
  need(e >= 0, "open e");
  fill(b, 2048, 'S');
  need(write(e, b, 2048) == 2048, "write e");
  need(sync_file_range(
           e, 0, 0,
           SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) == 0,
       "sync_file_range e");
  /* f.log: preallocated (extended with zeros, synced), then filled in. */
  int f = open(path("f.log"), O_RDWR | O_CREAT, 0644);
  need(f >= 0, "open f");
  fill(b, 4096, 'M');
  need(write(f, b, 4096) == 4096, "write f");
  need(fsync(f) == 0, "fsync f");
  need(ftruncate(f, 8192) == 0, "ftruncate f");
  need(fsync(f) == 0, "fsync f 2");
  fill(b, 4096, 'N');
  need(pwrite(f, b, 4096, 4096) == 4096, "pwrite f over zeros");
  need(fsync(f) == 0, "fsync f 3");
  /* rename a.log -> a2.log while open, then write more through it. */
  need(rename(path("a.log"), path("a2.log")) == 0, "rename a");
  fill(b, 500, 'E');
  need(pwrite(a, b, 500, 14000) == 500, "pwrite a2");
  need(fsync(a) == 0, "fsync a2");
  printf("done\n");
  fflush(stdout);
  for (;;) pause();
}
