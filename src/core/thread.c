#include "core/thread.h"

bool lh__thread_start(pthread_t *thread, pthread_mutex_t *mu, pthread_cond_t *cv,
                      void *(*fn)(void *), void *arg) {
  pthread_mutex_init(mu, NULL);
  pthread_cond_init(cv, NULL);
  if (pthread_create(thread, NULL, fn, arg) == 0)
    return true;
  pthread_cond_destroy(cv);
  pthread_mutex_destroy(mu);
  return false;
}

void lh__thread_stop(pthread_t thread, pthread_mutex_t *mu, pthread_cond_t *cv, bool *stop) {
  pthread_mutex_lock(mu);
  *stop = true;
  pthread_cond_broadcast(cv);
  pthread_mutex_unlock(mu);
  pthread_join(thread, NULL);
}

void lh__thread_end(pthread_t thread, pthread_mutex_t *mu, pthread_cond_t *cv, bool *stop) {
  lh__thread_stop(thread, mu, cv, stop);
  pthread_cond_destroy(cv);
  pthread_mutex_destroy(mu);
}
