/* An ordinary Berkeley DB program (knows nothing about the shim):
 * transactional btree, one key per transaction, commit synchronous (the
 * default: the log is flushed with fsync/fdatasync at commit).
 *   bdb_commit HOME run FIRST N [PAYLOAD]   commit keys FIRST..FIRST+N-1, print
 *                                          "acked ID" after each commit, then
 *                                          "done" and wait for a signal
 *   bdb_commit HOME bench N [PAYLOAD]      time N commits: "p50_us p99_us mean_us"
 *   bdb_commit HOME check                  run normal recovery, print
 *                                          "rows COUNT max MAX" */
#include <db.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void check(int r, const char* what) {
  if (r != 0) {
    fprintf(stderr, "bdb_commit: %s: %s\n", what, db_strerror(r));
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
  DB_ENV* env;
  check(db_env_create(&env, 0), "env_create");
  env->set_errfile(env, stderr);
  check(env->open(env, argv[1],
                  DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK | DB_INIT_LOG | DB_INIT_MPOOL |
                      DB_RECOVER | DB_PRIVATE,
                  0600),
        "env open (with recovery)");
  DB* db;
  check(db_create(&db, env, 0), "db_create");
  check(db->open(db, NULL, "data.db", NULL, DB_BTREE, DB_CREATE | DB_AUTO_COMMIT, 0600), "db open");
  if (strcmp(argv[2], "check") == 0) {
    DBC* c;
    DBT k, v;
    long long rows = 0, max = 0;
    check(db->cursor(db, NULL, &c, 0), "cursor");
    memset(&k, 0, sizeof k);
    memset(&v, 0, sizeof v);
    while (c->get(c, &k, &v, DB_NEXT) == 0) {
      long long id;
      memcpy(&id, k.data, sizeof id);
      ++rows;
      if (id > max) max = id;
    }
    c->close(c);
    printf("rows %lld max %lld\n", rows, max);
    db->close(db, 0);
    env->close(env, 0);
    return 0;
  }
  int bench = strcmp(argv[2], "bench") == 0;
  long long first = bench ? 1 : atoll(argv[3]);
  long n = atol(argv[bench ? 3 : 4]);
  int payload = argc > (bench ? 4 : 5) ? atoi(argv[bench ? 4 : 5]) : 100;
  char* blob = malloc(payload);
  memset(blob, 'x', payload);
  double* lat = calloc(n, sizeof(double));
  for (long i = 0; i < n; ++i) {
    double t0 = now_us();
    DB_TXN* txn;
    check(env->txn_begin(env, NULL, &txn, 0), "txn_begin");
    long long id = first + i;
    DBT k, v;
    memset(&k, 0, sizeof k);
    memset(&v, 0, sizeof v);
    k.data = &id;
    k.size = sizeof id;
    v.data = blob;
    v.size = payload;
    check(db->put(db, txn, &k, &v, 0), "put");
    check(txn->commit(txn, 0), "commit");
    lat[i] = now_us() - t0;
    if (!bench) {
      printf("acked %lld\n", id);
      fflush(stdout);
    }
  }
  if (bench) {
    double sum = 0;
    for (long i = 0; i < n; ++i) sum += lat[i];
    qsort(lat, n, sizeof(double), cmp);
    printf("%.1f %.1f %.1f\n", lat[n / 2], lat[(n * 99) / 100], sum / n);
    db->close(db, 0);
    env->close(env, 0);
    return 0;
  }
  printf("done\n");
  fflush(stdout);
  for (;;) pause();
}
