/* An ordinary SQLite program (knows nothing about the shim): WAL mode,
 * synchronous=FULL, one row per transaction.
 *   sqlite_commit DB run FIRST N [PAYLOAD]  commit rows FIRST..FIRST+N-1, print
 *                                          "acked ID" after each COMMIT returns,
 *                                          then "done" and wait for a signal
 *   sqlite_commit DB bench N [PAYLOAD]     time N commits, print "p50_us p99_us mean_us"
 *   sqlite_commit DB check                 print "rows COUNT max MAX" */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void die(sqlite3* db, const char* what) {
  fprintf(stderr, "sqlite_commit: %s: %s\n", what, db ? sqlite3_errmsg(db) : "?");
  exit(1);
}

static void exec(sqlite3* db, const char* sql) {
  char* err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
    fprintf(stderr, "sqlite_commit: %s: %s\n", sql, err ? err : "?");
    exit(1);
  }
}

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  sqlite3* db = NULL;
  if (sqlite3_open(argv[1], &db) != SQLITE_OK) die(db, "open");
  exec(db, "PRAGMA journal_mode=WAL");
  exec(db, "PRAGMA synchronous=FULL");
  exec(db, "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v BLOB)");
  if (strcmp(argv[2], "check") == 0) {
    sqlite3_stmt* st;
    if (sqlite3_prepare_v2(db, "SELECT count(*), coalesce(max(id), 0) FROM t", -1, &st, NULL))
      die(db, "prepare");
    if (sqlite3_step(st) != SQLITE_ROW) die(db, "step");
    printf("rows %lld max %lld\n", sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1));
    sqlite3_finalize(st);
    exec(db, "PRAGMA integrity_check");
    sqlite3_close(db);
    return 0;
  }
  int bench = strcmp(argv[2], "bench") == 0;
  long first = bench ? 1 : atol(argv[3]);
  long n = atol(argv[bench ? 3 : 4]);
  int payload = argc > (bench ? 4 : 5) ? atoi(argv[bench ? 4 : 5]) : 100;
  char* blob = malloc(payload);
  memset(blob, 'x', payload);
  sqlite3_stmt* ins;
  if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO t(id, v) VALUES(?, ?)", -1, &ins, NULL))
    die(db, "prepare");
  double* lat = calloc(n, sizeof(double));
  for (long i = 0; i < n; ++i) {
    double t0 = now_us();
    exec(db, "BEGIN");
    sqlite3_bind_int64(ins, 1, first + i);
    sqlite3_bind_blob(ins, 2, blob, payload, SQLITE_STATIC);
    if (sqlite3_step(ins) != SQLITE_DONE) die(db, "insert");
    sqlite3_reset(ins);
    exec(db, "COMMIT");
    lat[i] = now_us() - t0;
    if (!bench) {
      printf("acked %ld\n", first + i);
      fflush(stdout);
    }
  }
  if (bench) {
    double sum = 0;
    for (long i = 0; i < n; ++i) sum += lat[i];
    qsort(lat, n, sizeof(double), cmp);
    printf("%.1f %.1f %.1f\n", lat[n / 2], lat[(n * 99) / 100], sum / n);
    sqlite3_finalize(ins);
    sqlite3_close(db);
    return 0;
  }
  printf("done\n");
  fflush(stdout);
  for (;;) pause();
}
