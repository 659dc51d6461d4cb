/* Reads of the statement store that the exports need: the statements.csv body, the
 * aggregates of statistics.json, and the entity ids a diff must look at. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/array.h"
#include "core/sql.h"
#include "core/strmap.h"
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

/* ---- aggregates, slice by slice ------------------------------------------------------------ */

/* Aggregates over the live statements run once per entity-id slice (the view
 * statement_slice) and are added up here: an entity's statements are all in one slice, so
 * its distinct entity counts add up exactly, and DuckDB's memory follows a slice's entities
 * instead of the dataset's (statistics of 100 M statements: 457 MB in one query). A slice is
 * 16 times an export's (4 M statements by default): few queries, little memory. */
#define AGG_SLICES_PER_EXPORT_SLICE 16

typedef int (*slice_result_fn)(void *ctx, duckdb_result *res, lh_error *err);

static int each_slice(lh_statement_store *st, const char *sql, slice_result_fn fn, void *ctx,
                      lh_error *err) {
  lh_fence *lease;
  lh__slice_plan *plan = NULL;
  int rc = lh__read_begin(st, true, &lease, err);
  rc = rc ? rc
          : lh__slice_plan_new(st, (uint64_t)st->export_slice_rows * AGG_SLICES_PER_EXPORT_SLICE,
                               true, &plan, err);
  size_t n = rc ? 0 : lh__slice_plan_count(plan);
  for (size_t i = 0; i < n && !rc; i++) {
    const char *lo, *hi;
    lh__slice_plan_range(plan, i, &lo, &hi);
    duckdb_result res;
    rc = lh__slice_views(st, plan, lo, hi, false, err);
    if (!rc && (rc = lh__duck_query(&st->duck, sql, &res, err)) == 0) {
      rc = fn(ctx, &res, err);
      duckdb_destroy_result(&res);
    }
  }
  lh__slice_plan_free(plan);
  lh__read_end(lease);
  return lh__explain_io_error(st, rc, err);
}

/* Counts by key, summed over the slices. */
typedef struct key_counts {
  lh__strmap index; /* key -> position in keys (which holds the copies) */
  char **keys;
  uint64_t *counts;
  size_t n, cap;
} key_counts;

static int add_key_counts(void *ctx, duckdb_result *res, lh_error *err) {
  key_counts *kc = ctx;
  idx_t rows = duckdb_row_count(res);
  for (idx_t i = 0; i < rows; i++) {
    char *v = duckdb_value_varchar(res, 0, i);
    const char *key = v ? v : "";
    uint64_t n = duckdb_value_uint64(res, 1, i);
    uint32_t at;
    if (lh__strmap_get(&kc->index, key, &at)) {
      kc->counts[at] += n;
      duckdb_free(v);
      continue;
    }
    char *copy = strdup(key);
    duckdb_free(v);
    size_t cap = kc->cap;
    uint64_t *counts = NULL;
    if (!copy || LH_ARRAY_RESERVE(kc->keys, cap, kc->n + 1, 64) ||
        !(counts = realloc(kc->counts, cap * sizeof *counts))) {
      free(copy);
      return lh_error_set(err, LH_ENOMEM, "out of memory");
    }
    kc->counts = counts;
    kc->cap = cap;
    if (lh__strmap_put(&kc->index, copy, (uint32_t)kc->n)) {
      free(copy);
      return lh_error_set(err, LH_ENOMEM, "out of memory");
    }
    kc->keys[kc->n] = copy;
    kc->counts[kc->n++] = n;
  }
  return 0;
}

static int cmp_key(const void *a, const void *b, void *arg) {
  const key_counts *kc = arg;
  return strcmp(kc->keys[*(const size_t *)a], kc->keys[*(const size_t *)b]);
}

/* fn for each key and its count over every slice, in key order (byte order, as DuckDB's
 * ORDER BY of the one query was). sql: key, count over statement_slice. */
static int run_counts(lh_statement_store *st, const char *sql, lh_count_fn fn, void *ctx,
                      lh_error *err) {
  key_counts kc = {0};
  lh__strmap_init(&kc.index);
  int rc = each_slice(st, sql, add_key_counts, &kc, err);
  size_t *order = rc ? NULL : malloc((kc.n ? kc.n : 1) * sizeof *order);
  if (!rc && !order)
    rc = lh_error_set(err, LH_ENOMEM, "out of memory");
  for (size_t i = 0; order && i < kc.n; i++)
    order[i] = i;
  if (order)
    qsort_r(order, kc.n, sizeof *order, cmp_key, &kc);
  for (size_t i = 0; order && i < kc.n && !rc; i++)
    rc = fn(ctx, kc.keys[order[i]], kc.counts[order[i]], err);
  free(order);
  lh__strmap_free(&kc.index);
  for (size_t i = 0; i < kc.n; i++)
    free(kc.keys[i]);
  free(kc.keys);
  free(kc.counts);
  return rc;
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
                    "SELECT schema, count(DISTINCT entity_id) FROM statement_slice GROUP BY "
                    "schema",
                    fn, ctx, err);
}

int lh_statement_store_country_counts(lh_statement_store *st, const char *const *schemata, size_t n,
                                      lh_count_fn fn, void *ctx, lh_error *err) {
  if (n == 0)
    return 0;
  lh_buf sql = LH_BUF_INIT;
  int rc = lh_buf_puts(&sql, "SELECT value, count(DISTINCT entity_id) FROM statement_slice "
                             "WHERE prop_type = 'country' AND ");
  rc = rc ? rc : in_list(&sql, "schema", schemata, n);
  rc = rc ? rc : lh_buf_puts(&sql, " GROUP BY value");
  rc = rc ? lh_error_set(err, LH_ENOMEM, "out of memory") : run_counts(st, sql.data, fn, ctx, err);
  lh_buf_free(&sql);
  return rc;
}

/* Distinct entities and statements summed over the slices, and the least and greatest
 * date value (with summary). */
typedef struct totals {
  uint64_t entities, statements;
  char *min, *max;
} totals;

static int keep_bound(char **bound, duckdb_result *res, idx_t col, int sign, lh_error *err) {
  if (duckdb_value_is_null(res, col, 0))
    return 0;
  char *v = duckdb_value_varchar(res, col, 0);
  int rc = 0;
  if (v && (!*bound || sign * strcmp(v, *bound) > 0)) {
    free(*bound);
    if (!(*bound = strdup(v)))
      rc = lh_error_set(err, LH_ENOMEM, "out of memory");
  }
  duckdb_free(v);
  return rc;
}

static int add_totals(void *ctx, duckdb_result *res, lh_error *err) {
  totals *t = ctx;
  if (duckdb_row_count(res) < 1)
    return 0;
  t->entities += duckdb_value_uint64(res, 0, 0);
  if (duckdb_column_count(res) == 2) {
    t->statements += duckdb_value_uint64(res, 1, 0);
    return 0;
  }
  int rc = keep_bound(&t->min, res, 1, -1, err);
  return rc ? rc : keep_bound(&t->max, res, 2, 1, err);
}

int lh_statement_store_summary(lh_statement_store *st, uint64_t *entities, char **min_date,
                               char **max_date, lh_error *err) {
  totals t = {0};
  int rc = each_slice(st,
                      "SELECT (SELECT count(DISTINCT entity_id) FROM statement_slice), min(value), "
                      "max(value) FROM statement_slice WHERE prop_type = 'date'",
                      add_totals, &t, err);
  *entities = rc ? 0 : t.entities;
  *min_date = rc ? NULL : t.min;
  *max_date = rc ? NULL : t.max;
  if (rc) {
    free(t.min);
    free(t.max);
  }
  return rc;
}

int lh_statement_store_counts(lh_statement_store *st, uint64_t *entities, uint64_t *statements,
                              lh_error *err) {
  totals t = {0};
  int rc = each_slice(st, "SELECT count(DISTINCT entity_id), count(*) FROM statement_slice",
                      add_totals, &t, err);
  *entities = rc ? 0 : t.entities;
  *statements = rc ? 0 : t.statements;
  return rc;
}

typedef struct ids_ctx {
  lh_string_fn fn;
  void *ctx;
} ids_ctx;

static int on_id(void *ctx, const char *s, size_t n, lh_error *err) {
  ids_ctx *c = ctx;
  return c->fn(c->ctx, s, n, err);
}

/* The ids in entity-id slices (planned from the Parquet footers: no scan), each slice's
 * distinct and sorted by DuckDB: the slices ascend, so the whole is sorted, and memory
 * follows a slice's changed entities rather than all of them (a diff after a re-import
 * names every entity). */
int lh_statement_store_changed_ids(lh_statement_store *st, lh_time since,
                                   const char *const *schemata, size_t nschemata, lh_string_fn fn,
                                   void *ctx, lh_error *err) {
  lh_fence *lease;
  lh__slice_plan *plan = NULL;
  int rc = lh__read_begin(st, true, &lease, err);
  rc = rc ? rc
          : lh__slice_plan_new(st, (uint64_t)st->export_slice_rows * AGG_SLICES_PER_EXPORT_SLICE,
                               false, &plan, err);
  lh_buf where = LH_BUF_INIT, sql = LH_BUF_INIT;
  char iso[LH_ISO_SIZE];
  lh_time_format_iso(since, iso);
  if (!rc && lh_buf_printf(&where,
                           "SELECT DISTINCT entity_id FROM statement_raw WHERE (first_seen >= "
                           "'%s'::TIMESTAMPTZ OR deleted_at >= '%s'::TIMESTAMPTZ)",
                           iso, iso))
    rc = LH_ENOMEM;
  if (!rc && nschemata &&
      (lh_buf_puts(&where, " AND ") || in_list(&where, "schema", schemata, nschemata)))
    rc = LH_ENOMEM;
  if (rc == LH_ENOMEM)
    rc = lh_error_set(err, LH_ENOMEM, "out of memory");
  size_t n = rc ? 0 : lh__slice_plan_count(plan);
  ids_ctx c = {fn, ctx};
  for (size_t i = 0; i < n && !rc; i++) {
    const char *lo, *hi;
    lh__slice_plan_range(plan, i, &lo, &hi);
    lh_buf_reset(&sql);
    if (lh_buf_puts(&sql, where.data) ||
        (lo && (lh_buf_puts(&sql, " AND entity_id >= ") || lh__sql_quote(&sql, lo))) ||
        (hi && (lh_buf_puts(&sql, " AND entity_id < ") || lh__sql_quote(&sql, hi))) ||
        lh_buf_puts(&sql, " ORDER BY entity_id"))
      rc = lh_error_set(err, LH_ENOMEM, "out of memory");
    rc = rc ? rc : lh__duck_each_string(&st->duck, sql.data, on_id, &c, err);
  }
  lh_buf_free(&where);
  lh_buf_free(&sql);
  lh__slice_plan_free(plan);
  lh__read_end(lease);
  return lh__explain_io_error(st, rc, err);
}
