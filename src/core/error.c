/* lh_error: the project's single error convention. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lakehouse/error.h"

const char *lh_strerror(int code) {
  switch (code) {
  case LH_OK: return "ok";
  case LH_EINVAL: return "invalid input";
  case LH_EPARSE: return "malformed data";
  case LH_ENOTFOUND: return "not found";
  case LH_EEXIST: return "already exists";
  case LH_EIO: return "I/O error";
  case LH_ENOMEM: return "out of memory";
  case LH_ELIMIT: return "limit exceeded";
  case LH_EUNSUPPORTED: return "not supported";
  case LH_ECONFLICT: return "conflict";
  case LH_ELOCKED: return "locked";
  case LH_EINTERNAL: return "internal error";
  default: return "unknown error";
  }
}

int lh_error_vset(lh_error *err, int code, const char *fmt, va_list ap) {
  if (err) {
    err->code = code;
    vsnprintf(err->message, sizeof err->message, fmt, ap);
  }
  return code;
}

int lh_error_set(lh_error *err, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  lh_error_vset(err, code, fmt, ap);
  va_end(ap);
  return code;
}

/* err->message = a + ": " + b, truncated to fit. */
static void set_joined(lh_error *err, const char *a, const char *b) {
  size_t cap = sizeof err->message - 1, n = 0;
  const char *parts[3] = {a, ": ", b};
  for (int i = 0; i < 3 && n < cap; i++) {
    size_t l = strlen(parts[i]);
    if (l > cap - n)
      l = cap - n;
    memmove(err->message + n, parts[i], l);
    n += l;
  }
  err->message[n] = '\0';
}

static int code_from_errno(int e) {
  switch (e) {
  case ENOENT:
  case ENOTDIR: return LH_ENOTFOUND;
  case EEXIST: return LH_EEXIST;
  case ENOMEM: return LH_ENOMEM;
  case EINVAL:
  case ENAMETOOLONG: return LH_EINVAL;
  case EFBIG:
  case ENOSPC:
  case EDQUOT: return LH_ELIMIT;
  default: return LH_EIO;
  }
}

int lh_error_errno(lh_error *err, int errnum, const char *fmt, ...) {
  int code = code_from_errno(errnum);
  if (err) {
    char msg[LH_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    err->code = code;
    set_joined(err, msg, strerror(errnum));
  }
  return code;
}

int lh_error_prefix(lh_error *err, int code, const char *fmt, ...) {
  if (!err)
    return code;
  char ctx[LH_ERROR_MAX], old[LH_ERROR_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ctx, sizeof ctx, fmt, ap);
  va_end(ap);
  memcpy(old, err->message, sizeof old);
  set_joined(err, ctx, old[0] ? old : lh_strerror(code));
  err->code = code;
  return code;
}

int lh_error_nomem(lh_error *err) {
  return lh_error_set(err, LH_ENOMEM, "out of memory");
}

int lh_error_ensure(lh_error *err, int rc) {
  if (rc && err && !err->message[0])
    lh_error_set(err, rc, "%s", lh_strerror(rc));
  return rc;
}

void lh_error_clear(lh_error *err) {
  if (err) {
    err->code = 0;
    err->message[0] = '\0';
  }
}

void lh_error_copy(lh_error *dst, const lh_error *src) {
  if (dst && src && dst != src)
    *dst = *src;
}

int lh_error_code(const lh_error *err, int fallback) {
  return err && err->code ? err->code : fallback;
}
