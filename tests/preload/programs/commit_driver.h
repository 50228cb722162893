/* The commit loop shared by the database programs (sqlite_commit, bdb_commit):
 *   PROG DB run FIRST N [PAYLOAD]  commit ids FIRST..FIRST+N-1, print "acked ID"
 *                                  after each commit returns, then "done", and
 *                                  wait for a signal
 *   PROG DB bench N [PAYLOAD]      time N commits: "p50_us p99_us mean_us"
 * PAYLOAD (default 100) is the size of the value stored with each id. */
#ifndef RVM_TESTS_PRELOAD_COMMIT_DRIVER_H
#define RVM_TESTS_PRELOAD_COMMIT_DRIVER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Commits one transaction storing `payload` bytes at `blob` under `id`;
 * exits the program on failure. */
typedef void (*commit_one_fn)(void* ctx, long long id, const char* blob, int payload);

static double commit_driver_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int commit_driver_cmp(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

/* Runs the "run" or "bench" mode given by argv[2] (see above). Returns only
 * in bench mode, after printing the latencies. */
static void commit_driver_run(int argc, char** argv, commit_one_fn commit, void* ctx) {
  int bench = strcmp(argv[2], "bench") == 0;
  if (argc < (bench ? 4 : 5)) {
    fprintf(stderr, "%s: usage: DB run FIRST N [PAYLOAD] | DB bench N [PAYLOAD]\n", argv[0]);
    exit(2);
  }
  long long first = bench ? 1 : atoll(argv[3]);
  long n = atol(argv[bench ? 3 : 4]);
  int payload = argc > (bench ? 4 : 5) ? atoi(argv[bench ? 4 : 5]) : 100;
  char* blob = malloc(payload);
  memset(blob, 'x', payload);
  double* lat = calloc(n, sizeof(double));
  for (long i = 0; i < n; ++i) {
    double t0 = commit_driver_now_us();
    commit(ctx, first + i, blob, payload);
    lat[i] = commit_driver_now_us() - t0;
    if (!bench) {
      printf("acked %lld\n", first + i);
      fflush(stdout);
    }
  }
  if (!bench) {
    printf("done\n");
    fflush(stdout);
    for (;;) pause();
  }
  double sum = 0;
  for (long i = 0; i < n; ++i) sum += lat[i];
  qsort(lat, n, sizeof(double), commit_driver_cmp);
  printf("%.1f %.1f %.1f\n", lat[n / 2], lat[(n * 99) / 100], sum / n);
  free(lat);
  free(blob);
}

#endif
