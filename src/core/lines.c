/* Buffered line reader with a line-length cap. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/lines.h"

struct lh__lines {
  int fd;
  lh__read_fn read_fn; /* instead of fd when set */
  void *read_ctx;
  char *buf;
  size_t cap, start, end, max_line;
  uint64_t lineno, consumed;
  int eof;
};

#define CHUNK ((size_t)1 << 20)

lh__lines *lh__lines_open_fd(int fd, size_t max_line) {
  lh__lines *l = calloc(1, sizeof *l);
  if (!l)
    return NULL;
  l->fd = fd;
  l->max_line = max_line ? max_line : LH_LINE_MAX;
  l->cap = CHUNK * 2;
  l->buf = malloc(l->cap + 1);
  if (!l->buf) {
    free(l);
    return NULL;
  }
  return l;
}

lh__lines *lh__lines_open_reader(lh__read_fn fn, void *ctx, size_t max_line) {
  lh__lines *l = lh__lines_open_fd(-1, max_line);
  if (l) {
    l->read_fn = fn;
    l->read_ctx = ctx;
  }
  return l;
}

void lh__lines_close(lh__lines *l) {
  if (!l)
    return;
  free(l->buf);
  free(l);
}

uint64_t lh__lines_offset(const lh__lines *l) {
  return l->consumed;
}

static int fill(lh__lines *l, lh_error *err) {
  if (l->start > 0) {
    memmove(l->buf, l->buf + l->start, l->end - l->start);
    l->end -= l->start;
    l->start = 0;
  }
  if (l->cap - l->end < CHUNK) {
    size_t cap = l->cap * 2;
    if (cap > l->max_line + 2 * CHUNK)
      cap = l->max_line + 2 * CHUNK;
    if (cap <= l->cap)
      return LH_ELIMIT;
    char *nb = realloc(l->buf, cap + 1);
    if (!nb)
      return lh_error_set(err, LH_ENOMEM, "out of memory reading input");
    l->buf = nb;
    l->cap = cap;
  }
  if (l->read_fn) {
    size_t got;
    int rc = l->read_fn(l->read_ctx, l->buf + l->end, l->cap - l->end, &got, err);
    if (rc)
      return rc;
    if (got == 0)
      l->eof = 1;
    l->end += got;
    return 0;
  }
  for (;;) {
    ssize_t n = read(l->fd, l->buf + l->end, l->cap - l->end);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return lh_error_errno(err, errno, "cannot read input");
    }
    if (n == 0)
      l->eof = 1;
    l->end += (size_t)n;
    return 0;
  }
}

int lh__lines_next(lh__lines *l, const char **line, size_t *len, uint64_t *lineno, lh_error *err) {
  size_t scanned = 0;
  for (;;) {
    char *s = l->buf + l->start;
    size_t avail = l->end - l->start;
    char *nl = avail > scanned ? memchr(s + scanned, '\n', avail - scanned) : NULL;
    if (nl || (l->eof && avail > 0)) {
      size_t n = nl ? (size_t)(nl - s) : avail;
      if (n > l->max_line)
        goto too_long;
      size_t next = l->start + n + (nl ? 1 : 0);
      l->consumed += next - l->start;
      if (n && s[n - 1] == '\r')
        n--;
      s[n] = '\0';
      *line = s;
      *len = n;
      *lineno = ++l->lineno;
      l->start = next;
      return 1;
    }
    if (l->eof)
      return 0;
    scanned = avail;
    if (avail > l->max_line)
      goto too_long;
    int rc = fill(l, err);
    if (rc == LH_ELIMIT)
      goto too_long;
    if (rc)
      return rc;
  }
too_long:
  return lh_error_set(err, LH_ELIMIT, "line %llu: longer than the limit of %zu bytes",
                      (unsigned long long)l->lineno + 1, l->max_line);
}
