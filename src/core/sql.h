/* The one SQL literal quoting helper: every literal that reaches DuckDB goes through it. */
#ifndef LH_CORE_SQL_H
#define LH_CORE_SQL_H

#include <stddef.h>

#include "lakehouse/buf.h"

/* Append text between two `quote` characters, each quote inside doubled (SQL literals with
 * ', CSV fields with "). */
int lh__quote_doubled(lh_buf *out, const char *s, size_t n, char quote);
/* Append 'text' with single quotes doubled. */
int lh__sql_quote(lh_buf *out, const char *s);
int lh__sql_quote_n(lh_buf *out, const char *s, size_t n);

#endif
