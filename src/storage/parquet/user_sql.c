/* SQL typed by a user (`statements sql`, later the HTTP API), run confined: in a DuckDB
 * instance of its own whose only readable files are the data files of the current
 * snapshot, with external access off and the configuration locked; one statement, of type
 * SELECT; at most LAKEHOUSE_SQL_MAX_ROWS result rows and LAKEHOUSE_SQL_TIMEOUT seconds. */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "storage/parquet/store_internal.h"

/* The longest query text accepted. */
#define LH_SQL_QUERY_MAX (1 << 20)

/* ---- the time limit --------------------------------------------------------------------- */

/* Interrupts the connection's query once its time is up, unless stopped first. */
typedef struct watchdog {
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  duckdb_connection con;
  struct timespec deadline; /* CLOCK_MONOTONIC */
  bool stop, fired;
} watchdog;

static void *watch(void *arg) {
  watchdog *w = arg;
  pthread_mutex_lock(&w->mu);
  while (!w->stop) {
    if (pthread_cond_timedwait(&w->cv, &w->mu, &w->deadline) == ETIMEDOUT && !w->stop) {
      w->fired = true;
      duckdb_interrupt(w->con);
      break;
    }
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

static int watchdog_start(watchdog *w, duckdb_connection con, int seconds, lh_error *err) {
  memset(w, 0, sizeof *w);
  w->con = con;
  clock_gettime(CLOCK_MONOTONIC, &w->deadline);
  w->deadline.tv_sec += seconds;
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&w->cv, &attr);
  pthread_condattr_destroy(&attr);
  pthread_mutex_init(&w->mu, NULL);
  if (pthread_create(&w->thread, NULL, watch, w) == 0)
    return 0;
  pthread_cond_destroy(&w->cv);
  pthread_mutex_destroy(&w->mu);
  return lh_error_set(err, LH_EIO, "statements sql: cannot start the timer thread");
}

/* Stop the timer; true when it interrupted the query. */
static bool watchdog_stop(watchdog *w) {
  pthread_mutex_lock(&w->mu);
  w->stop = true;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->thread, NULL);
  pthread_cond_destroy(&w->cv);
  pthread_mutex_destroy(&w->mu);
  return w->fired;
}

/* ---- the confined instance -------------------------------------------------------------- */

/* A folder of our own for DuckDB to spill into (so a query cannot read anybody's spill),
 * not created here: DuckDB creates it when it first spills, so a killed process leaves no
 * empty folder behind. */
static char *make_spill_dir(const lh_statement_store *st) {
  const char *base = st->temp_directory ? st->temp_directory : getenv("TMPDIR");
  char id[LH_UUID_HEX_SIZE];
  lh_uuid4_hex(id);
  char *dir = NULL;
  if (asprintf(&dir, "%s/lh-sql-%s", base && *base ? base : "/tmp", id) < 0)
    return NULL;
  return dir;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)ftw;
  if (flag == FTW_DP)
    rmdir(path);
  else
    unlink(path);
  return 0;
}

static void remove_spill_dir(char *dir) {
  /* DuckDB deletes its temporary files when it closes; whatever it left goes too */
  if (dir && rmdir(dir) != 0 && errno != ENOENT)
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  free(dir);
}

/* Open the confined instance over the current snapshot, with the two views, locked. */
static int open_confined(lh_statement_store *st, const char *spill, lh__duck *d, lh_error *err) {
  const char **paths = calloc(st->snap.nfiles ? st->snap.nfiles : 1, sizeof *paths);
  lh_buf raw = LH_BUF_INIT, live = LH_BUF_INIT;
  int rc = paths ? 0 : lh_error_set(err, LH_ENOMEM, "out of memory");
  size_t n = 0;
  for (; !rc && n < st->snap.nfiles; n++) {
    lh_buf p = LH_BUF_INIT;
    if (lh__tio_read_path(st->io, st->snap.files[n].file, &p) || !(paths[n] = lh_buf_steal(&p))) {
      lh_buf_free(&p);
      rc = lh_error_nomem(err);
      break;
    }
  }
  rc = rc ? rc : lh__store_view_sql(st, &raw, &live, err);
  rc = rc ? rc : lh__duck_open_confined(d, NULL, paths, n, spill, err);
  if (!rc) {
    /* the memory limit of the lake's own work applies to user queries too */
    lh_buf set = LH_BUF_INIT;
    if (lh_buf_puts(&set, "SET memory_limit = ") || lh__sql_quote(&set, st->memory_limit))
      rc = lh_error_set(err, LH_ENOMEM, "out of memory");
    rc = rc ? rc : lh__duck_exec(d, set.data, err);
    lh_buf_free(&set);
    rc = rc ? rc : lh__duck_exec(d, raw.data, err);
    rc = rc ? rc : lh__duck_exec(d, live.data, err);
    rc = rc ? rc : lh__duck_lock_configuration(d, err);
    if (rc)
      lh__duck_close(d);
  }
  for (size_t i = 0; i < n; i++)
    free((char *)paths[i]);
  free(paths);
  lh_buf_free(&raw);
  lh_buf_free(&live);
  return rc;
}

/* ---- one SELECT ------------------------------------------------------------------------- */

static const char *statement_kind(duckdb_statement_type t) {
  switch (t) {
  case DUCKDB_STATEMENT_TYPE_INSERT: return "INSERT";
  case DUCKDB_STATEMENT_TYPE_UPDATE: return "UPDATE";
  case DUCKDB_STATEMENT_TYPE_EXPLAIN: return "EXPLAIN";
  case DUCKDB_STATEMENT_TYPE_DELETE: return "DELETE";
  case DUCKDB_STATEMENT_TYPE_PREPARE: return "PREPARE";
  case DUCKDB_STATEMENT_TYPE_CREATE: return "CREATE";
  case DUCKDB_STATEMENT_TYPE_EXECUTE: return "EXECUTE";
  case DUCKDB_STATEMENT_TYPE_ALTER: return "ALTER";
  case DUCKDB_STATEMENT_TYPE_TRANSACTION: return "transaction";
  case DUCKDB_STATEMENT_TYPE_COPY: return "COPY";
  case DUCKDB_STATEMENT_TYPE_ANALYZE: return "ANALYZE";
  case DUCKDB_STATEMENT_TYPE_VARIABLE_SET: return "SET VARIABLE";
  case DUCKDB_STATEMENT_TYPE_CREATE_FUNC: return "CREATE FUNCTION";
  case DUCKDB_STATEMENT_TYPE_DROP: return "DROP";
  case DUCKDB_STATEMENT_TYPE_EXPORT: return "EXPORT";
  case DUCKDB_STATEMENT_TYPE_PRAGMA: return "PRAGMA";
  case DUCKDB_STATEMENT_TYPE_VACUUM: return "VACUUM";
  case DUCKDB_STATEMENT_TYPE_CALL: return "CALL";
  case DUCKDB_STATEMENT_TYPE_SET: return "SET";
  case DUCKDB_STATEMENT_TYPE_LOAD: return "LOAD/INSTALL";
  case DUCKDB_STATEMENT_TYPE_ATTACH: return "ATTACH";
  case DUCKDB_STATEMENT_TYPE_DETACH: return "DETACH";
  default: return "non-SELECT";
  }
}

/* Prepare sql as exactly one SELECT statement. */
static int prepare_select(duckdb_connection con, const char *sql, duckdb_prepared_statement *out,
                          lh_error *err) {
  *out = NULL;
  duckdb_extracted_statements ex = NULL;
  idx_t n = duckdb_extract_statements(con, sql, &ex);
  int rc = 0;
  if (n == 0) {
    const char *msg = ex ? duckdb_extract_statements_error(ex) : NULL;
    rc = msg ? lh__duck_error(DUCKDB_ERROR_PARSER, msg, err)
             : lh_error_set(err, LH_EINVAL, "statements sql: the query holds no statement");
  } else if (n > 1) {
    rc = lh_error_set(err, LH_EINVAL,
                      "statements sql: one statement per call (the query holds %llu)",
                      (unsigned long long)n);
  } else if (duckdb_prepare_extracted_statement(con, ex, 0, out) == DuckDBError) {
    rc = lh__duck_error(DUCKDB_ERROR_PARSER, duckdb_prepare_error(*out), err);
  } else if (duckdb_prepared_statement_type(*out) != DUCKDB_STATEMENT_TYPE_SELECT) {
    rc = lh_error_set(
        err, LH_EINVAL,
        "statements sql: only SELECT queries are allowed (this is a statement of type %s)",
        statement_kind(duckdb_prepared_statement_type(*out)));
  }
  if (rc && *out)
    duckdb_destroy_prepare(out);
  duckdb_destroy_extracted(&ex);
  return rc;
}

typedef struct user_rows {
  lh_sql_row_fn fn;
  void *ctx;
  int64_t max_rows, rows;
  idx_t ncols;
  const char **names, **vals;
  duckdb_logical_type *types;
  lh_buf *bufs;
} user_rows;

static int user_chunk(user_rows *u, duckdb_data_chunk chunk, lh_error *err) {
  idx_t n = duckdb_data_chunk_get_size(chunk);
  int rc = 0;
  for (idx_t r = 0; r < n && !rc; r++) {
    if (u->rows == u->max_rows)
      return lh_error_set(err, LH_ELIMIT,
                          "statements sql: the result has more than %" PRId64
                          " rows (LAKEHOUSE_SQL_MAX_ROWS): add a LIMIT or aggregate",
                          u->max_rows);
    for (idx_t c = 0; c < u->ncols && !rc; c++) {
      lh_buf_reset(&u->bufs[c]);
      rc = lh__duck_value_json(duckdb_data_chunk_get_vector(chunk, c), u->types[c], r, &u->bufs[c]);
      u->vals[c] = u->bufs[c].data ? u->bufs[c].data : "";
    }
    if (rc)
      return lh_error_set(err, LH_ENOMEM, "out of memory");
    u->rows++;
    rc = u->fn(u->ctx, u->ncols, u->names, u->vals, err);
  }
  return rc;
}

static int run_select(lh__duck *d, duckdb_prepared_statement prep, user_rows *u, lh_error *err) {
  duckdb_pending_result pending = NULL;
  duckdb_result res;
  int rc = 0;
  if (duckdb_pending_prepared_streaming(prep, &pending) == DuckDBError) {
    rc = lh__duck_error(DUCKDB_ERROR_INVALID, duckdb_pending_error(pending), err);
    duckdb_destroy_pending(&pending);
    return rc;
  }
  if (duckdb_execute_pending(pending, &res) == DuckDBError) {
    rc = lh__duck_error(duckdb_result_error_type(&res), duckdb_result_error(&res), err);
    duckdb_destroy_result(&res);
    duckdb_destroy_pending(&pending);
    return rc;
  }
  duckdb_destroy_pending(&pending);
  u->ncols = duckdb_column_count(&res);
  size_t m = u->ncols ? u->ncols : 1;
  u->names = calloc(m, sizeof *u->names);
  u->vals = calloc(m, sizeof *u->vals);
  u->types = calloc(m, sizeof *u->types);
  u->bufs = calloc(m, sizeof *u->bufs);
  if (!u->names || !u->vals || !u->types || !u->bufs)
    rc = lh_error_set(err, LH_ENOMEM, "out of memory");
  for (idx_t c = 0; !rc && c < u->ncols; c++) {
    u->names[c] = duckdb_column_name(&res, c);
    u->types[c] = duckdb_column_logical_type(&res, c);
  }
  while (!rc) {
    duckdb_data_chunk chunk = duckdb_fetch_chunk(res);
    if (!chunk) {
      if (duckdb_result_error(&res)) /* the stream broke off */
        rc = lh__duck_error(duckdb_result_error_type(&res), duckdb_result_error(&res), err);
      break;
    }
    rc = user_chunk(u, chunk, err);
    duckdb_destroy_data_chunk(&chunk);
  }
  for (idx_t c = 0; u->types && c < u->ncols; c++) {
    if (u->types[c])
      duckdb_destroy_logical_type(&u->types[c]);
    if (u->bufs)
      lh_buf_free(&u->bufs[c]);
  }
  free(u->names);
  free(u->vals);
  free(u->types);
  free(u->bufs);
  duckdb_destroy_result(&res);
  (void)d;
  return rc;
}

int lh_statement_store_sql(lh_statement_store *st, const char *sql, lh_sql_row_fn fn, void *ctx,
                           lh_error *err) {
  if (!sql || !fn)
    return lh_error_set(err, LH_EINVAL, "statements sql: no query");
  if (strlen(sql) > LH_SQL_QUERY_MAX)
    return lh_error_set(err, LH_ELIMIT, "statements sql: the query is longer than %d bytes",
                        LH_SQL_QUERY_MAX);
  lh_fence *lease;
  int rc = lh__read_begin(st, false, &lease, err);
  if (rc) {
    lh__read_end(lease);
    return lh__explain_io_error(st, rc, err);
  }
  char *spill = make_spill_dir(st);
  lh__duck d;
  rc = open_confined(st, spill, &d, err);
  if (rc) {
    remove_spill_dir(spill);
    lh__read_end(lease);
    return lh__explain_io_error(st, rc, err);
  }
  duckdb_prepared_statement prep = NULL;
  rc = prepare_select(d.con, sql, &prep, err);
  watchdog w;
  if (!rc && (rc = watchdog_start(&w, d.con, st->sql_timeout, err)) == 0) {
    user_rows u = {.fn = fn, .ctx = ctx, .max_rows = st->sql_max_rows};
    rc = run_select(&d, prep, &u, err);
    if (watchdog_stop(&w) && rc)
      rc = lh_error_set(err, LH_ELIMIT,
                        "statements sql: the query ran longer than %d s (LAKEHOUSE_SQL_TIMEOUT)",
                        st->sql_timeout);
  }
  if (prep)
    duckdb_destroy_prepare(&prep);
  lh__duck_close(&d);
  remove_spill_dir(spill);
  lh__read_end(lease);
  return lh__explain_io_error(st, rc, err);
}
