// Globals and helpers of the original's pthread build that programs compiled
// against its private rvm_pthread.h reference (rvm_basher -DRVM_USEPT).
#include <pthread.h>

#include "internal.h"

extern "C" {
pthread_t rvm_pthreadid;
void* rvm_ptstat = nullptr;
int rvm_join_res = 0;

// True if `m` is not locked (tries it and lets go).
int rvm_lock_free(pthread_mutex_t* m) {
  if (pthread_mutex_trylock(m) != 0) return rvm_false;
  pthread_mutex_unlock(m);
  return rvm_true;
}
}
