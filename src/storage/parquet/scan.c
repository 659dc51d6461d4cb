/* Reading statement rows back out of the store as lh_rows: a streaming DuckDB query over
 * the views, each result chunk converted once (strings copied into a per-chunk arena, as
 * DuckDB's are not NUL-terminated). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/array.h"
#include "lakehouse/log.h"
#include "logic/merge.h"
#include "storage/parquet/store_internal.h"

typedef struct scan_ctx {
  lh__arena arena;
  lh_row_fn fn;
  void *ctx;
  /* the bucket of the previous row, parsed once per run of equal names */
  char bucket_name[32];
  lh_bucket bucket;
} scan_ctx;

static inline bool valid(const uint64_t *validity, idx_t k) {
  return !validity || duckdb_validity_row_is_valid((uint64_t *)validity, k);
}

static const char *str_at(scan_ctx *s, duckdb_string_t *v, const uint64_t *validity, idx_t k,
                          size_t *len) {
  if (!valid(validity, k)) {
    if (len)
      *len = 0;
    return NULL;
  }
  uint32_t n = duckdb_string_t_length(v[k]);
  if (len)
    *len = n;
  return lh__arena_strndup(&s->arena, duckdb_string_t_data(&v[k]), n);
}

static int scan_chunk(void *ctx, duckdb_data_chunk chunk, lh_error *err) {
  scan_ctx *s = ctx;
  lh__arena_reset(&s->arena);
  idx_t n = duckdb_data_chunk_get_size(chunk);
  void *data[LH_ROW_NCOLUMNS];
  uint64_t *validity[LH_ROW_NCOLUMNS];
  for (int c = 0; c < LH_ROW_NCOLUMNS; c++) {
    duckdb_vector v = duckdb_data_chunk_get_vector(chunk, (idx_t)c);
    data[c] = duckdb_vector_get_data(v);
    validity[c] = duckdb_vector_get_validity(v);
  }
#define S(c) ((duckdb_string_t *)data[c])
#define T(c) ((int64_t *)data[c])
  for (idx_t k = 0; k < n; k++) {
    lh_row r;
    memset(&r, 0, sizeof r);
    size_t len;
    const char *shard = str_at(s, S(0), validity[0], k, &len);
    if (!shard || len >= LH_SHARD_SIZE)
      return lh_error_set(err, LH_EPARSE, "a stored statement has an invalid shard");
    memcpy(r.shard, shard, len + 1);
    const char *bucket = str_at(s, S(4), validity[4], k, &len);
    if (!bucket || len >= sizeof s->bucket_name)
      return lh_error_set(err, LH_EPARSE, "a stored statement has an invalid bucket");
    if (strcmp(bucket, s->bucket_name) != 0) {
      if (lh_bucket_parse(bucket, &s->bucket))
        return lh_error_set(err, LH_EPARSE, "a stored statement has bucket '%s'", bucket);
      memcpy(s->bucket_name, bucket, len + 1);
    }
    r.bucket = s->bucket;
    r.id = str_at(s, S(1), validity[1], k, NULL);
    r.entity_id = str_at(s, S(2), validity[2], k, NULL);
    r.dataset = str_at(s, S(3), validity[3], k, NULL);
    r.origin = str_at(s, S(5), validity[5], k, NULL);
    r.source = str_at(s, S(6), validity[6], k, NULL);
    r.schema = str_at(s, S(7), validity[7], k, NULL);
    r.prop = str_at(s, S(8), validity[8], k, NULL);
    r.prop_type = str_at(s, S(9), validity[9], k, NULL);
    r.value = str_at(s, S(10), validity[10], k, &r.value_len);
    r.original_value = str_at(s, S(11), validity[11], k, NULL);
    r.lang = str_at(s, S(12), validity[12], k, NULL);
    r.external = valid(validity[13], k) && ((bool *)data[13])[k];
    r.first_seen = valid(validity[14], k) ? T(14)[k] : LH_TIME_NULL;
    r.last_seen = valid(validity[15], k) ? T(15)[k] : LH_TIME_NULL;
    r.fragment = str_at(s, S(16), validity[16], k, NULL);
    r.deleted_at = valid(validity[17], k) ? T(17)[k] : LH_TIME_NULL;
    int rc = lh_row_check_required(&r, err);
    if (rc)
      return lh_error_prefix(err, rc, "stored statement");
    if ((rc = s->fn(s->ctx, &r, err)))
      return rc;
  }
#undef S
#undef T
  return 0;
}

static int run_select(lh_statement_store *st, const char *sql, lh_row_fn fn, void *ctx,
                      lh_error *err) {
  scan_ctx s = {.fn = fn, .ctx = ctx};
  lh__arena_init(&s.arena, 1 << 16, 0);
  int rc = lh__duck_stream(&st->duck, NULL, sql, scan_chunk, &s, err);
  lh__arena_free(&s.arena);
  return rc;
}

static int read_rows(lh_statement_store *st, bool raw, const char *where, const char *order_by,
                     int64_t limit, lh_row_fn fn, void *ctx, lh_error *err) {
  int rc = 0;
  lh_buf sql = LH_BUF_INIT;
  if (lh_buf_puts(&sql, "SELECT ")) {
    rc = LH_ENOMEM;
  }
  for (int c = 0; !rc && c < LH_ROW_NCOLUMNS; c++)
    if (lh_buf_printf(&sql, "%s%s", c ? ", " : "", LH_ROW_COLUMNS[c]))
      rc = LH_ENOMEM;
  if (!rc && (lh_buf_printf(&sql, " FROM %s", raw ? "statement_raw" : "statement") ||
              (where && lh_buf_printf(&sql, " WHERE %s", where)) ||
              (order_by && lh_buf_printf(&sql, " ORDER BY %s", order_by)) ||
              (limit >= 0 && lh_buf_printf(&sql, " LIMIT %" PRId64, limit))))
    rc = LH_ENOMEM;
  if (rc) {
    lh_buf_free(&sql);
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  }
  rc = run_select(st, sql.data, fn, ctx, err);
  lh_buf_free(&sql);
  return rc;
}

int lh_statement_store_select(lh_statement_store *st, const char *sql, lh_row_fn fn, void *ctx,
                              lh_error *err) {
  lh_fence *lease;
  int rc = lh__read_begin(st, true, &lease, err);
  if (rc == 0)
    rc = run_select(st, sql, fn, ctx, err);
  lh__read_end(lease);
  return lh__explain_io_error(st, rc, err);
}

int lh_statement_store_rows(lh_statement_store *st, bool raw, const char *where,
                            const char *order_by, int64_t limit, lh_row_fn fn, void *ctx,
                            lh_error *err) {
  lh_fence *lease;
  int rc = lh__read_begin(st, true, &lease, err);
  if (rc == 0)
    rc = read_rows(st, raw, where, order_by, limit, fn, ctx, err);
  lh__read_end(lease);
  return lh__explain_io_error(st, rc, err);
}

int lh_statement_store_read_sliced(lh_statement_store *st, const lh_sliced_read *r, lh_error *err) {
  lh_fence *lease;
  lh__slice_plan *plan = NULL;
  lh_buf sql = LH_BUF_INIT;
  bool one = r->lo || r->hi;
  /* one range needs no views over every file (binding them parses every footer): its
   * slice view names only the files whose ranges in the Delta log meet it, and DuckDB's
   * pruning by the footers' statistics does the rest */
  int rc = lh__read_begin(st, !one, &lease, err);
  if (rc == 0 && !one)
    rc = lh__slice_plan_new(st, (uint64_t)st->export_slice_rows, !r->stops_early, &plan, err);
  size_t n = rc ? 0 : one ? 1 : lh__slice_plan_count(plan);
  size_t i = 0;
  for (; i < n && rc == 0; i++) {
    const char *lo = r->lo, *hi = r->hi;
    if (!one)
      lh__slice_plan_range(plan, i, &lo, &hi);
    rc = lh__slice_views(st, plan, lo, hi, one, err);
    rc = rc ? rc : r->sql(r->sql_ctx, &sql, err);
    rc = rc ? rc : run_select(st, sql.data, r->fn, r->ctx, err);
  }
  if (n > 1)
    lh_log_debug("%s: read %zu of %zu slice(s)", st->name, i, n);
  lh_buf_free(&sql);
  lh__slice_plan_free(plan);
  lh__read_end(lease);
  return rc > 0 ? rc : lh__explain_io_error(st, rc, err);
}

/* ---- slicing by entity id ------------------------------------------------------------------ */

typedef struct sample {
  char **ids;
  size_t n, cap;
} sample;

static int take_sample(void *ctx, size_t ncols, const char *const *names, const char *const *v,
                       lh_error *err) {
  (void)ncols;
  (void)names;
  sample *s = ctx;
  json_t *j = lh__json_of(v[0]);
  const char *id = json_string_value(j);
  int rc = 0;
  if (id) {
    if (LH_ARRAY_RESERVE(s->ids, s->cap, s->n + 1, 1024))
      rc = lh_error_set(err, LH_ENOMEM, "out of memory");
    if (!rc && !(s->ids[s->n++] = strdup(id)))
      rc = lh_error_set(err, LH_ENOMEM, "out of memory");
  }
  json_decref(j);
  return rc;
}

int lh__slice_bounds(lh_statement_store *st, const char *source, int64_t slices, char ***bounds,
                     size_t *nbounds, lh_error *err) {
  *bounds = NULL;
  *nbounds = 0;
  lh_buf sql = LH_BUF_INIT;
  sample smp = {0};
  int rc = lh_buf_printf(&sql, "SELECT entity_id FROM (%s) USING SAMPLE reservoir(%d ROWS)", source,
                         LH_MERGE_SAMPLE_SIZE)
               ? lh_error_set(err, LH_ENOMEM, "out of memory")
               : lh__duck_each_row(&st->duck, sql.data, take_sample, &smp, err);
  if (!rc && lh_slice_bounds((const char *const *)smp.ids, smp.n, slices, bounds, nbounds))
    rc = lh_error_set(err, LH_ENOMEM, "out of memory");
  for (size_t i = 0; i < smp.n; i++)
    free(smp.ids[i]);
  free(smp.ids);
  lh_buf_free(&sql);
  return rc;
}

int lh__count_rows(void *ctx, size_t ncols, const char *const *names, const char *const *v,
                   lh_error *err) {
  (void)ncols;
  (void)names;
  (void)err;
  *(uint64_t *)ctx += strtoull(v[0], NULL, 10);
  return 0;
}
