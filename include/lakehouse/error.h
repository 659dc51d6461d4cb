/* The one error convention: functions return 0 or a negative LH_E* code and fill an
 * optional lh_error with a human message ("entities.ftm.json line 812: unknown property
 * 'Person:nmae'"). errno is converted at the syscall boundary (lh_error_errno). */
#ifndef LAKEHOUSE_ERROR_H
#define LAKEHOUSE_ERROR_H

#include "lakehouse/api.h"

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lh_code {
  LH_OK = 0,
  LH_EINVAL = -1,       /* invalid argument, or input that fails validation */
  LH_EPARSE = -2,       /* malformed data: JSON, CSV, YAML, a Delta commit, ... */
  LH_ENOTFOUND = -3,    /* key, file, dataset or entity does not exist */
  LH_EEXIST = -4,       /* create-exclusive found the key already there */
  LH_EIO = -5,          /* operating system or network I/O failure */
  LH_ENOMEM = -6,       /* out of memory */
  LH_ELIMIT = -7,       /* a size or count limit was exceeded */
  LH_EUNSUPPORTED = -8, /* valid, but not supported by this build or backend */
  LH_ECONFLICT = -9,    /* lost a race against a concurrent writer */
  LH_ELOCKED = -10,     /* a lock is held by someone else */
  LH_EINTERNAL = -11    /* a bug: an invariant did not hold */
} lh_code;

#define LH_ERROR_MAX 1024

typedef struct lh_error {
  int code;
  char message[LH_ERROR_MAX];
} lh_error;

/* Short name of a code ("invalid input", "not found", ...). */
LH_API const char *lh_strerror(int code);

/* Set code and message (err may be NULL); returns code so callers can
 * `return lh_error_set(err, LH_EINVAL, "...")`. */
LH_API int lh_error_set(lh_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
LH_API int lh_error_vset(lh_error *err, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Map an errno value to a code and set "<message>: <strerror>"; returns the code. */
LH_API int lh_error_errno(lh_error *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepend "<context>: " to the message of the error `code` (which err->code becomes) and
 * return code, so that the caller keeps the real code whether or not there is an err:
 * `return lh_error_prefix(err, rc, "%s line %llu", name, line)`. */
LH_API int lh_error_prefix(lh_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* LH_ENOMEM with "out of memory"; returns LH_ENOMEM. */
LH_API int lh_error_nomem(lh_error *err);
/* When rc is an error and err holds no message yet (a callback returned a bare code), set
 * the code's generic message. Returns rc. */
LH_API int lh_error_ensure(lh_error *err, int rc);

LH_API void lh_error_clear(lh_error *err);
/* *dst = *src when dst is not NULL (an error handed over from another thread). */
LH_API void lh_error_copy(lh_error *dst, const lh_error *src);
/* err->code when err holds one, else fallback: the code of a failure a function returning
 * NULL reported through err (which may be NULL). */
LH_API int lh_error_code(const lh_error *err, int fallback);

#ifdef __cplusplus
}
#endif
#endif
