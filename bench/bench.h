/* Helpers shared by the benchmark programs. Define BENCH_NAME (the program's name, for
 * messages) before including; include <duckdb.h> first to get duck_exec. */
#ifndef LH_BENCH_H
#define LH_BENCH_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lakehouse/lakehouse.h"

static inline double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void die(const char *what, const lh_error *err) {
  fprintf(stderr, BENCH_NAME ": %s%s%s\n", what, err ? ": " : "", err ? err->message : "");
  exit(1);
}

static inline void die_errno(const char *path) {
  fprintf(stderr, BENCH_NAME ": %s: %s\n", path, strerror(errno));
  exit(1);
}

static inline void oom(int rc) {
  if (rc)
    die("out of memory", NULL);
}

/* A SQL string literal. */
static inline void quote(lh_buf *out, const char *s) {
  oom(lh_buf_putc(out, '\''));
  for (; *s; s++) {
    if (*s == '\'')
      oom(lh_buf_putc(out, '\''));
    oom(lh_buf_putc(out, *s));
  }
  oom(lh_buf_putc(out, '\''));
}

#ifdef DUCKDB_C_API
/* Run SQL or exit with DuckDB's message; the result goes to *keep when asked for. */
static inline void duck_exec(duckdb_connection con, const char *sql, duckdb_result *keep) {
  duckdb_result r;
  if (duckdb_query(con, sql, &r) == DuckDBError) {
    fprintf(stderr, BENCH_NAME ": %s\n%s\n", duckdb_result_error(&r), sql);
    exit(1);
  }
  if (keep)
    *keep = r;
  else
    duckdb_destroy_result(&r);
}
#endif

#endif
