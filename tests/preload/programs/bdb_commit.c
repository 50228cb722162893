/* An ordinary Berkeley DB program (knows nothing about the shim):
 * transactional btree, one key per transaction, commit synchronous (the
 * default: the log is flushed with fsync/fdatasync at commit).
 *   bdb_commit HOME run|bench ...  one key per commit (commit_driver.h)
 *   bdb_commit HOME check          run normal recovery, print "rows COUNT max MAX" */
#include <db.h>
#include <stdio.h>
#include <string.h>

#include "commit_driver.h"

static void check(int r, const char* what) {
  if (r != 0) {
    fprintf(stderr, "bdb_commit: %s: %s\n", what, db_strerror(r));
    exit(1);
  }
}

struct app {
  DB_ENV* env;
  DB* db;
};

static void commit_one(void* ctx, long long id, const char* blob, int payload) {
  struct app* a = ctx;
  DB_TXN* txn;
  check(a->env->txn_begin(a->env, NULL, &txn, 0), "txn_begin");
  DBT k, v;
  memset(&k, 0, sizeof k);
  memset(&v, 0, sizeof v);
  k.data = &id;
  k.size = sizeof id;
  v.data = (void*)blob;
  v.size = payload;
  check(a->db->put(a->db, txn, &k, &v, 0), "put");
  check(txn->commit(txn, 0), "commit");
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
  struct app a = {env, db};
  commit_driver_run(argc, argv, commit_one, &a);
  db->close(db, 0);
  env->close(env, 0);
  return 0;
}
