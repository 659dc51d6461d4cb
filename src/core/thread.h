/* Worker threads that wait on a condition variable for work or a stop flag. */
#ifndef LH_CORE_THREAD_H
#define LH_CORE_THREAD_H

#include <pthread.h>
#include <stdbool.h>

/* Set *stop under mu, wake every waiter on cv and join thread (which sees the flag the
 * next time it waits). mu and cv stay initialised: the caller destroys them. */
void lh__thread_stop(pthread_t thread, pthread_mutex_t *mu, pthread_cond_t *cv, bool *stop);

#endif
