/* Growable byte buffer with a hard cap (curl's dynbuf idea): hostile input cannot grow
 * it without bound. The content is always NUL-terminated once anything was appended. */
#ifndef LAKEHOUSE_BUF_H
#define LAKEHOUSE_BUF_H

#include "lakehouse/api.h"

#include <stddef.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lh_buf {
  char *data;
  size_t len;
  size_t cap;
  size_t max; /* hard cap on len; appends beyond it fail with LH_ELIMIT */
} lh_buf;

#define LH_BUF_DEFAULT_MAX ((size_t)1 << 30)
#define LH_BUF_INIT                                                                                \
  { NULL, 0, 0, LH_BUF_DEFAULT_MAX }

LH_API void lh_buf_init(lh_buf *b, size_t max);
LH_API void lh_buf_free(lh_buf *b);
/* Make room for n more bytes (+ NUL). Returns 0, LH_ENOMEM or LH_ELIMIT. */
LH_API int lh_buf_grow(lh_buf *b, size_t n);
LH_API int lh_buf_printf(lh_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Detach the content (caller frees); the buffer is left empty. Never NULL on success. */
LH_API char *lh_buf_steal(lh_buf *b);

static inline int lh_buf_append(lh_buf *b, const void *p, size_t n) {
  if (b->len + n + 1 > b->cap) {
    int rc = lh_buf_grow(b, n);
    if (rc)
      return rc;
  }
  if (n)
    memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

static inline int lh_buf_putc(lh_buf *b, char c) {
  if (b->len + 2 > b->cap) {
    int rc = lh_buf_grow(b, 1);
    if (rc)
      return rc;
  }
  b->data[b->len++] = c;
  b->data[b->len] = '\0';
  return 0;
}

static inline int lh_buf_puts(lh_buf *b, const char *s) {
  return lh_buf_append(b, s, strlen(s));
}

static inline void lh_buf_reset(lh_buf *b) {
  b->len = 0;
  if (b->data)
    b->data[0] = '\0';
}

#ifdef __cplusplus
}
#endif
#endif
