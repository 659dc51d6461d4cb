/* Worker threads that wait on a condition variable for work or a stop flag. */
#ifndef LH_CORE_THREAD_H
#define LH_CORE_THREAD_H

#include <pthread.h>
#include <stdbool.h>

/* Initialise mu and cv and start fn(arg) as *thread. On failure (false) nothing is left
 * initialised. */
bool lh__thread_start(pthread_t *thread, pthread_mutex_t *mu, pthread_cond_t *cv,
                      void *(*fn)(void *), void *arg);

/* Set *stop under mu, wake every waiter on cv and join thread (which sees the flag the
 * next time it waits). mu and cv stay initialised: the caller destroys them. */
void lh__thread_stop(pthread_t thread, pthread_mutex_t *mu, pthread_cond_t *cv, bool *stop);

/* lh__thread_stop, then mu and cv destroyed: the end of what lh__thread_start began. */
void lh__thread_end(pthread_t thread, pthread_mutex_t *mu, pthread_cond_t *cv, bool *stop);

#endif
