/* URI helpers: scheme detection and local path normalisation. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/uri.h"
#include "lakehouse/buf.h"

static size_t scheme_len(const char *uri) {
  const char *p = uri;
  if (!isalpha((unsigned char)*p))
    return 0;
  while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')
    p++;
  return strncmp(p, "://", 3) == 0 ? (size_t)(p - uri) : 0;
}

lh__uri_kind lh__uri_kind_of(const char *uri) {
  size_t n = scheme_len(uri);
  if (n == 0 || (n == 4 && strncmp(uri, "file", 4) == 0))
    return LH__URI_FILE;
  if (n == 2 && strncmp(uri, "s3", 2) == 0)
    return LH__URI_S3;
  if ((n == 4 && strncmp(uri, "http", 4) == 0) || (n == 5 && strncmp(uri, "https", 5) == 0))
    return LH__URI_HTTP;
  return LH__URI_OTHER;
}

/* Collapse "//", "/./" and "/x/../" in an absolute path, in place. */
static void normalise(char *path) {
  char *out = path, *p = path;
  while (*p) {
    while (*p == '/')
      p++;
    char *seg = p;
    while (*p && *p != '/')
      p++;
    size_t n = (size_t)(p - seg);
    if (n == 0 || (n == 1 && seg[0] == '.'))
      continue;
    if (n == 2 && seg[0] == '.' && seg[1] == '.') {
      while (out > path && *--out != '/')
        ;
      continue;
    }
    *out++ = '/';
    memmove(out, seg, n);
    out += n;
  }
  if (out == path)
    *out++ = '/';
  *out = '\0';
}

char *lh__uri_local_path(const char *uri, lh_error *err) {
  if (lh__uri_kind_of(uri) != LH__URI_FILE) {
    lh_error_set(err, LH_EUNSUPPORTED, "'%s' is not a local path", uri);
    return NULL;
  }
  const char *p = scheme_len(uri) ? uri + 7 : uri;
  if (!*p)
    p = ".";
  lh_buf b = LH_BUF_INIT;
  if (p[0] != '/') {
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) {
      lh_error_errno(err, errno, "cannot resolve '%s'", uri);
      return NULL;
    }
    if (lh_buf_puts(&b, cwd) || lh_buf_putc(&b, '/'))
      goto oom;
  }
  if (lh_buf_puts(&b, p))
    goto oom;
  normalise(b.data);
  return lh_buf_steal(&b);
oom:
  lh_buf_free(&b);
  lh_error_set(err, LH_ENOMEM, "out of memory");
  return NULL;
}

char *lh__uri_join(const char *base, const char *name) {
  size_t bl = strlen(base);
  while (bl > 1 && base[bl - 1] == '/')
    bl--;
  while (*name == '/')
    name++;
  char *out = NULL;
  if (asprintf(&out, "%.*s/%s", (int)bl, base, name) < 0)
    return NULL;
  return out;
}
