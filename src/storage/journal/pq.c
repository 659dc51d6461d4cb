/* libpq loaded on first use (see pq.h). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include "storage/journal/pq.h"

#define LIBPQ "libpq.so.5" /* the soname of every libpq since PostgreSQL 8.0 */

lh__pq_api lh__pq;
static char failure[512]; /* why the load failed; "" when it worked */
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* Resolve one function into *slot; false (and the reason in failure) when missing. */
static bool resolve(void *lib, const char *name, void *slot) {
  void *f = dlsym(lib, name);
  if (!f) {
    snprintf(failure, sizeof failure, "%s has no function %s", LIBPQ, name);
    return false;
  }
  *(void **)slot = f; /* POSIX: a function pointer round-trips through void * */
  return true;
}

static void load(void) {
  void *lib = dlopen(LIBPQ, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *why = dlerror();
    snprintf(failure, sizeof failure, "cannot load %s (install libpq5): %s", LIBPQ,
             why ? why : "not found");
    return;
  }
  bool ok =
      resolve(lib, "PQconnectdb", &lh__pq.connectdb) && resolve(lib, "PQstatus", &lh__pq.status) &&
      resolve(lib, "PQerrorMessage", &lh__pq.error_message) &&
      resolve(lib, "PQfinish", &lh__pq.finish) && resolve(lib, "PQexec", &lh__pq.exec) &&
      resolve(lib, "PQexecParams", &lh__pq.exec_params) &&
      resolve(lib, "PQgetResult", &lh__pq.get_result) &&
      resolve(lib, "PQresultStatus", &lh__pq.result_status) &&
      resolve(lib, "PQntuples", &lh__pq.ntuples) && resolve(lib, "PQgetvalue", &lh__pq.getvalue) &&
      resolve(lib, "PQgetisnull", &lh__pq.getisnull) && resolve(lib, "PQclear", &lh__pq.clear) &&
      resolve(lib, "PQfreemem", &lh__pq.freemem) &&
      resolve(lib, "PQescapeLiteral", &lh__pq.escape_literal) &&
      resolve(lib, "PQputCopyData", &lh__pq.put_copy_data) &&
      resolve(lib, "PQputCopyEnd", &lh__pq.put_copy_end) &&
      resolve(lib, "PQgetCopyData", &lh__pq.get_copy_data);
  if (!ok)
    dlclose(lib); /* the library stays loaded for the process otherwise: it is used to the end */
}

int lh__pq_load(lh_error *err) {
  pthread_once(&once, load);
  return failure[0] ? lh_error_set(err, LH_EIO, "PostgreSQL journal: %s", failure) : 0;
}
