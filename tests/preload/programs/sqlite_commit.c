/* An ordinary SQLite program (knows nothing about the shim): WAL mode,
 * synchronous=FULL, one row per transaction.
 *   sqlite_commit DB run|bench ...  one row per commit (commit_driver.h)
 *   sqlite_commit DB check          print "rows COUNT max MAX" */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "commit_driver.h"

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

struct app {
  sqlite3* db;
  sqlite3_stmt* ins;
};

static void commit_one(void* ctx, long long id, const char* blob, int payload) {
  struct app* a = ctx;
  exec(a->db, "BEGIN");
  sqlite3_bind_int64(a->ins, 1, id);
  sqlite3_bind_blob(a->ins, 2, blob, payload, SQLITE_STATIC);
  if (sqlite3_step(a->ins) != SQLITE_DONE) die(a->db, "insert");
  sqlite3_reset(a->ins);
  exec(a->db, "COMMIT");
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
  struct app a = {db, NULL};
  if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO t(id, v) VALUES(?, ?)", -1, &a.ins, NULL))
    die(db, "prepare");
  commit_driver_run(argc, argv, commit_one, &a);
  sqlite3_finalize(a.ins);
  sqlite3_close(db);
  return 0;
}
