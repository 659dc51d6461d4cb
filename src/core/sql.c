/* Quoting of SQL literals and CSV fields. */
#include <string.h>

#include "core/sql.h"

int lh__quote_doubled(lh_buf *out, const char *s, size_t n, char quote) {
  int rc = lh_buf_putc(out, quote);
  const char *p = s, *end = s + n, *q;
  while (!rc && (q = memchr(p, quote, (size_t)(end - p))) != NULL) {
    rc = lh_buf_append(out, p, (size_t)(q + 1 - p)); /* up to and including the quote */
    if (!rc)
      rc = lh_buf_putc(out, quote); /* doubled */
    p = q + 1;
  }
  if (!rc)
    rc = lh_buf_append(out, p, (size_t)(end - p));
  return rc ? rc : lh_buf_putc(out, quote);
}

int lh__sql_quote_n(lh_buf *out, const char *s, size_t n) {
  return lh__quote_doubled(out, s, n, '\'');
}

int lh__sql_quote(lh_buf *out, const char *s) {
  return lh__sql_quote_n(out, s, strlen(s));
}
