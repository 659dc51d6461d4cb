/* Reads of the statement store that the exports need: the statements.csv body, the
 * aggregates of statistics.json, and the entity ids a diff must look at. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/sql.h"
#include "storage/parquet/store_internal.h"

/* The columns of exports/statements.csv (STATEMENT_CSV_COLUMNS) as the CSV writes them:
 * timestamps as pyarrow's UTC text, strings quoted (FORCE_QUOTE below). */
static const char *const CSV_SELECT =
    "SELECT id, entity_id, canonical_id, prop, prop_type, schema, value, original_value, "
    "dataset, origin, lang, external, strftime(first_seen, '%Y-%m-%d %H:%M:%S.%fZ') AS "
    "first_seen, strftime(last_seen, '%Y-%m-%d %H:%M:%S.%fZ') AS last_seen, fragment "
    "FROM statement_slice";
static const char *const CSV_ORDER = "ORDER BY entity_id, prop, id";

/* The reading end of the pipe DuckDB writes the CSV into: hands the bytes on, in order. */
typedef struct pipe_reader {
  int fd;
  lh_bytes_fn fn;
  void *ctx;
  int rc; /* the first failure of fn (later bytes are drained and dropped) */
  lh_error err;
} pipe_reader;

static void *read_pipe(void *arg) {
  pipe_reader *p = arg;
  size_t cap = 1 << 20;
  char *buf = malloc(cap);
  if (!buf)
    p->rc = lh_error_set(&p->err, LH_ENOMEM, "out of memory");
  for (;;) {
    ssize_t n = read(p->fd, buf ? buf : (char[4096]){0}, buf ? cap : 4096);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      if (n < 0 && !p->rc)
        p->rc = lh_error_errno(&p->err, errno, "statements export: reading DuckDB's output");
      break;
    }
    /* after a failure keep draining, so DuckDB never blocks on a full pipe */
    if (!p->rc)
      p->rc = p->fn(p->ctx, buf, (size_t)n, &p->err);
  }
  free(buf);
  return NULL;
}

static int export_csv(lh_statement_store *st, lh_bytes_fn fn, void *ctx, uint64_t *rows,
                      lh_error *err) {
  /* globally sorted without a global sort: entity-id slices, each sorted on its own */
  lh__slice_plan *plan = NULL;
  int rc = lh__slice_plan_new(st, (uint64_t)st->export_slice_rows, true, &plan, err);
  if (rc)
    return lh__explain_io_error(st, rc, err);
  /* DuckDB's parallel CSV writer writes into a pipe that a thread of ours drains: no
   * temporary file, and fn (compression) runs beside DuckDB */
  int fds[2];
  if (pipe2(fds, O_CLOEXEC)) {
    rc = lh_error_errno(err, errno, "statements export: pipe");
    goto done;
  }
  fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
  pipe_reader reader = {fds[0], fn, ctx, 0, {0}};
  pthread_t thread;
  if (pthread_create(&thread, NULL, read_pipe, &reader)) {
    close(fds[0]);
    close(fds[1]);
    rc = lh_error_set(err, LH_ENOMEM, "statements export: cannot start a thread");
    goto done;
  }
  char target[64];
  snprintf(target, sizeof target, "/dev/fd/%d", fds[1]);
  lh_buf sql = LH_BUF_INIT;
  size_t nslices = lh__slice_plan_count(plan);
  for (size_t i = 0; i < nslices && !rc; i++) {
    const char *lo, *hi;
    lh__slice_plan_range(plan, i, &lo, &hi);
    if ((rc = lh__slice_views(st, plan, lo, hi, false, err)) != 0) {
      rc = lh__explain_io_error(st, rc, err);
      break;
    }
    lh_buf_reset(&sql);
    rc = lh_buf_printf(&sql, "COPY (%s %s) TO '%s'", CSV_SELECT, CSV_ORDER, target);
    rc = rc ? rc
            : lh_buf_puts(&sql, " (FORMAT csv, HEADER false, USE_TMP_FILE false, FORCE_QUOTE (id, "
                                "entity_id, canonical_id, prop, prop_type, schema, value, "
                                "original_value, dataset, origin, lang, fragment))");
    if (rc) {
      rc = lh_error_set(err, LH_ENOMEM, "out of memory");
      break;
    }
    duckdb_result res;
    if ((rc = lh__duck_query(&st->duck, sql.data, &res, err)) != 0) {
      rc = lh__explain_io_error(st, rc, err);
      break;
    }
    if (rows)
      *rows += duckdb_value_uint64(&res, 0, 0);
    duckdb_destroy_result(&res);
    if (reader.rc) /* the consumer failed: stop early */
      break;
  }
  lh_buf_free(&sql);
  close(fds[1]); /* EOF for the reader once DuckDB's own descriptors are closed too */
  pthread_join(thread, NULL);
  close(fds[0]);
  if (!rc && reader.rc) {
    rc = reader.rc;
    if (err)
      *err = reader.err;
  }
done:
  lh__slice_plan_free(plan);
  return rc;
}

int lh_statement_store_export_csv(lh_statement_store *st, lh_bytes_fn fn, void *ctx, uint64_t *rows,
                                  lh_error *err) {
  if (rows)
    *rows = 0;
  lh_fence *lease;
  int rc = lh__read_begin(st, true, &lease, err);
  if (rc == 0)
    rc = export_csv(st, fn, ctx, rows, err);
  lh__read_end(lease);
  return lh__explain_io_error(st, rc, err);
}

typedef struct count_ctx {
  lh_count_fn fn;
  void *ctx;
} count_ctx;

/* Rows of (key VARCHAR, count BIGINT). */
static int run_counts(lh_statement_store *st, const char *sql, lh_count_fn fn, void *ctx,
                      lh_error *err) {
  lh_fence *lease;
  int rc = lh__read_begin(st, true, &lease, err);
  duckdb_result res;
  if (rc == 0 && (rc = lh__duck_query(&st->duck, sql, &res, err)) == 0) {
    idx_t n = duckdb_row_count(&res);
    for (idx_t i = 0; i < n && rc == 0; i++) {
      char *key = duckdb_value_varchar(&res, 0, i);
      rc = fn(ctx, key ? key : "", duckdb_value_uint64(&res, 1, i), err);
      duckdb_free(key);
    }
    duckdb_destroy_result(&res);
  }
  lh__read_end(lease);
  return lh__explain_io_error(st, rc, err);
}

static int in_list(lh_buf *sql, const char *col, const char *const *values, size_t n) {
  int rc = lh_buf_printf(sql, "%s IN (", col);
  for (size_t i = 0; i < n && !rc; i++) {
    rc = i ? lh_buf_putc(sql, ',') : 0;
    rc = rc ? rc : lh__sql_quote(sql, values[i]);
  }
  return rc ? rc : lh_buf_putc(sql, ')');
}

int lh_statement_store_schema_counts(lh_statement_store *st, lh_count_fn fn, void *ctx,
                                     lh_error *err) {
  return run_counts(st,
                    "SELECT schema, count(DISTINCT entity_id) FROM statement GROUP BY schema "
                    "ORDER BY schema",
                    fn, ctx, err);
}

int lh_statement_store_country_counts(lh_statement_store *st, const char *const *schemata, size_t n,
                                      lh_count_fn fn, void *ctx, lh_error *err) {
  if (n == 0)
    return 0;
  lh_buf sql = LH_BUF_INIT;
  int rc = lh_buf_puts(&sql, "SELECT value, count(DISTINCT entity_id) FROM statement WHERE "
                             "prop_type = 'country' AND ");
  rc = rc ? rc : in_list(&sql, "schema", schemata, n);
  rc = rc ? rc : lh_buf_puts(&sql, " GROUP BY value ORDER BY value");
  rc = rc ? lh_error_set(err, LH_ENOMEM, "out of memory") : run_counts(st, sql.data, fn, ctx, err);
  lh_buf_free(&sql);
  return rc;
}

typedef struct range_ctx {
  char **min, **max;
} range_ctx;

int lh_statement_store_summary(lh_statement_store *st, uint64_t *entities, char **min_date,
                               char **max_date, lh_error *err) {
  *min_date = *max_date = NULL;
  *entities = 0;
  lh_fence *lease;
  int rc = lh__read_begin(st, true, &lease, err);
  duckdb_result res;
  if (rc == 0)
    rc = lh__duck_query(&st->duck,
                        "SELECT (SELECT count(DISTINCT entity_id) FROM statement), min(value), "
                        "max(value) FROM statement WHERE prop_type = 'date'",
                        &res, err);
  lh__read_end(lease);
  if (rc)
    return lh__explain_io_error(st, rc, err);
  *entities = duckdb_value_uint64(&res, 0, 0);
  char *a = duckdb_value_is_null(&res, 1, 0) ? NULL : duckdb_value_varchar(&res, 1, 0);
  char *b = duckdb_value_is_null(&res, 2, 0) ? NULL : duckdb_value_varchar(&res, 2, 0);
  *min_date = a ? strdup(a) : NULL;
  *max_date = b ? strdup(b) : NULL;
  duckdb_free(a);
  duckdb_free(b);
  duckdb_destroy_result(&res);
  return 0;
}

int lh_statement_store_counts(lh_statement_store *st, uint64_t *entities, uint64_t *statements,
                              lh_error *err) {
  *entities = *statements = 0;
  lh_fence *lease;
  int rc = lh__read_begin(st, true, &lease, err);
  duckdb_result res;
  if (rc == 0)
    rc = lh__duck_query(&st->duck, "SELECT count(DISTINCT entity_id), count(*) FROM statement",
                        &res, err);
  lh__read_end(lease);
  if (rc)
    return lh__explain_io_error(st, rc, err);
  *entities = duckdb_value_uint64(&res, 0, 0);
  *statements = duckdb_value_uint64(&res, 1, 0);
  duckdb_destroy_result(&res);
  return 0;
}

typedef struct ids_ctx {
  lh_string_fn fn;
  void *ctx;
} ids_ctx;

static int on_id(void *ctx, const char *s, size_t n, lh_error *err) {
  ids_ctx *c = ctx;
  return c->fn(c->ctx, s, n, err);
}

int lh_statement_store_changed_ids(lh_statement_store *st, lh_time since,
                                   const char *const *schemata, size_t nschemata, lh_string_fn fn,
                                   void *ctx, lh_error *err) {
  lh_fence *lease;
  int rc = lh__read_begin(st, true, &lease, err);
  if (rc) {
    lh__read_end(lease);
    return lh__explain_io_error(st, rc, err);
  }
  lh_buf sql = LH_BUF_INIT;
  char iso[LH_ISO_SIZE];
  lh_time_format_iso(since, iso);
  rc = lh_buf_printf(&sql,
                     "SELECT DISTINCT entity_id FROM statement_raw WHERE (first_seen >= "
                     "'%s'::TIMESTAMPTZ OR deleted_at >= '%s'::TIMESTAMPTZ)",
                     iso, iso);
  if (!rc && nschemata) {
    rc = lh_buf_puts(&sql, " AND ");
    rc = rc ? rc : in_list(&sql, "schema", schemata, nschemata);
  }
  rc = rc ? rc : lh_buf_puts(&sql, " ORDER BY entity_id");
  ids_ctx c = {fn, ctx};
  rc = rc ? lh_error_set(err, LH_ENOMEM, "out of memory")
          : lh__duck_each_string(&st->duck, sql.data, on_id, &c, err);
  lh_buf_free(&sql);
  lh__read_end(lease);
  return lh__explain_io_error(st, rc, err);
}
