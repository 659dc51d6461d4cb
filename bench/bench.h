/* Helpers shared by the benchmark programs. Define BENCH_NAME (the program's name, for
 * messages) before including; include <duckdb.h> first to get duck_exec. */
#ifndef LH_BENCH_H
#define LH_BENCH_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
/* An in-memory DuckDB configured as the lakehouse configures its own: memory limit from
 * LAKEHOUSE_DUCKDB_MEMORY_LIMIT (default 8GB), spill folder, one thread per core, no
 * extension auto-loading, TimeZone UTC. Exits on failure. */
static inline void bench_duck_open(duckdb_database *db, duckdb_connection *con) {
  lh_error err = {0};
  lh_settings settings;
  if (lh_settings_load(&settings, &err))
    die("settings", &err);
  char threads[32];
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  snprintf(threads, sizeof threads, "%ld", cores > 0 ? cores : 1);
  duckdb_config cfg;
  char *open_err = NULL;
  if (duckdb_create_config(&cfg) == DuckDBError ||
      duckdb_set_config(cfg, "autoinstall_known_extensions", "false") == DuckDBError ||
      duckdb_set_config(cfg, "autoload_known_extensions", "false") == DuckDBError ||
      duckdb_set_config(cfg, "threads", threads) == DuckDBError ||
      duckdb_set_config(cfg, "memory_limit", settings.duckdb_memory_limit) == DuckDBError ||
      (settings.duckdb_temp_directory &&
       duckdb_set_config(cfg, "temp_directory", settings.duckdb_temp_directory) == DuckDBError))
    die("cannot configure DuckDB", NULL);
  if (duckdb_open_ext(NULL, db, cfg, &open_err) == DuckDBError ||
      duckdb_connect(*db, con) == DuckDBError)
    die(open_err ? open_err : "cannot open DuckDB", NULL);
  duckdb_destroy_config(&cfg);
  lh_settings_free(&settings);
  duckdb_result r;
  if (duckdb_query(*con, "SET TimeZone = 'UTC'", &r) == DuckDBError)
    die("SET TimeZone", NULL);
  duckdb_destroy_result(&r);
}

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
