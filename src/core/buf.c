/* lh_buf: growable, capped byte buffer. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "lakehouse/buf.h"
#include "lakehouse/error.h"

void lh_buf_init(lh_buf *b, size_t max) {
  b->data = NULL;
  b->len = b->cap = 0;
  b->max = max ? max : LH_BUF_DEFAULT_MAX;
}

void lh_buf_free(lh_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

int lh_buf_grow(lh_buf *b, size_t n) {
  size_t max = b->max ? b->max : LH_BUF_DEFAULT_MAX;
  if (n > max || b->len > max - n)
    return LH_ELIMIT;
  size_t need = b->len + n + 1;
  if (need <= b->cap)
    return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  if (cap > max + 1)
    cap = max + 1;
  char *p = realloc(b->data, cap);
  if (!p)
    return LH_ENOMEM;
  if (!b->data)
    p[0] = '\0';
  b->data = p;
  b->cap = cap;
  return 0;
}

int lh_buf_printf(lh_buf *b, const char *fmt, ...) {
  char small[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0)
    return LH_EINVAL;
  if ((size_t)n < sizeof small)
    return lh_buf_append(b, small, (size_t)n);
  int rc = lh_buf_grow(b, (size_t)n);
  if (rc)
    return rc;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return 0;
}

char *lh_buf_steal(lh_buf *b) {
  char *p = b->data;
  if (!p) {
    p = malloc(1);
    if (p)
      p[0] = '\0';
  }
  b->data = NULL;
  b->len = b->cap = 0;
  return p;
}
