/* storage/parquet: the statement store on real data - append, views (read-time dedupe),
 * merge, compact, vacuum, checkpoints, awkward origins, and broken logs (the behaviours of
 * test_storage_parquet.py plus what the C implementation adds). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/sql.h"

#include "testutil.h"

/* ---- rows from the shared data --------------------------------------------------------------- */

typedef struct rows {
  lh_row *r;
  size_t n, cap;
  char **owned;
  size_t nowned, owned_cap;
} rows;

static const char *own(rows *rs, const char *s, size_t n) {
  if (rs->nowned == rs->owned_cap) {
    rs->owned_cap = rs->owned_cap ? rs->owned_cap * 2 : 1024;
    rs->owned = realloc(rs->owned, rs->owned_cap * sizeof *rs->owned);
  }
  return rs->owned[rs->nowned++] = strndup(s, n);
}

typedef struct explode_ctx {
  rows *rs;
  int shards;
  const char *origin;
} explode_ctx;

static int add_row(const lh_statement *st, void *arg) {
  explode_ctx *c = arg;
  rows *rs = c->rs;
  if (rs->n == rs->cap) {
    rs->cap = rs->cap ? rs->cap * 2 : 1024;
    rs->r = realloc(rs->r, rs->cap * sizeof *rs->r);
  }
  lh_row *row = &rs->r[rs->n++];
  lh_row_from_statement(st, c->shards, row);
  row->id = own(rs, st->id, 40);
  row->entity_id = own(rs, st->entity_id, strlen(st->entity_id));
  row->value = own(rs, st->value, st->value_len);
  /* everything else the statement points at may live only for this callback */
  row->dataset = own(rs, row->dataset, strlen(row->dataset));
  row->origin = c->origin ? c->origin : own(rs, row->origin, strlen(row->origin));
  row->schema = own(rs, row->schema, strlen(row->schema));
  row->prop = own(rs, row->prop, strlen(row->prop));
  row->prop_type = own(rs, row->prop_type, strlen(row->prop_type));
  row->fragment = own(rs, row->fragment, strlen(row->fragment));
  if (row->original_value)
    row->original_value = own(rs, row->original_value, strlen(row->original_value));
  if (row->lang)
    row->lang = own(rs, row->lang, strlen(row->lang));

  return 0;
}

static void rows_free(rows *rs) {
  for (size_t i = 0; i < rs->nowned; i++)
    free(rs->owned[i]);
  free(rs->owned);
  free(rs->r);
  memset(rs, 0, sizeof *rs);
}

/* Explode a shared file (dataset "ds") into rows. */
static void load_rows(rows *rs, const char *file, int shards, const char *origin, lh_time now) {
  lh_entity *e = NULL;
  assert_int_equal(lh_entity_new(tu_model(), &e, NULL), 0);
  lh_explode_opts o = {.dataset = "ds", .origin = "bulk", .last_seen = LH_TIME_NULL, .now = now};
  lh_exploder *x = NULL;
  assert_int_equal(lh_exploder_new(&o, &x, NULL), 0);
  size_t len;
  char *text = tu_read_file(tu_shared(file), &len);
  explode_ctx c = {rs, shards, origin};
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    lh_delta_op op;
    assert_int_equal(lh_entity_parse_json(e, line, strlen(line), 0, &op, NULL), 0);
    if (op != LH_DELTA_DEL)
      assert_true(lh_exploder_run(x, e, add_row, &c, NULL) > 0);
  }
  free(text);
  lh_exploder_free(x);
  lh_entity_free(e);
}

typedef struct src {
  const rows *rs;
  size_t pos, chunk;
} src;

static int next_rows(void *ctx, const lh_row **out, size_t *n, lh_error *err) {
  (void)err;
  src *s = ctx;
  size_t left = s->rs->n - s->pos, take = left < s->chunk ? left : s->chunk;
  *out = s->rs->r + s->pos;
  *n = take;
  s->pos += take;
  return 0;
}

/* ---- fixture ------------------------------------------------------------------------------------
 */

typedef struct fx {
  char *dir;
  lh_store *ds;
  lh_settings settings;
  lh_statement_store *st;
} fx;

static void reopen(fx *f, int shards) {
  lh_statement_store_close(f->st);
  lh_error err = {0};
  if (lh_statement_store_open(f->ds, "ds", shards, &f->settings, &f->st, &err)) {
    print_error("%s\n", err.message);
    fail();
  }
}

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  f->dir = tu_tempdir();
  assert_int_equal(lh_store_open(f->dir, &f->ds, NULL), 0);
  assert_int_equal(lh_settings_load(&f->settings, NULL), 0);
  f->settings.lock_max_retries = 1;
  reopen(f, 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  lh_statement_store_close(f->st);
  lh_store_close(f->ds);
  lh_settings_free(&f->settings);
  tu_rmtree(f->dir);
  free(f->dir);
  free(f);
  return 0;
}

static void append(fx *f, const rows *rs, lh_append_result *res) {
  src s = {rs, 0, 777};
  lh_error err = {0};
  if (lh_statement_store_append(f->st, next_rows, &s, res, &err)) {
    print_error("append: %s\n", err.message);
    fail();
  }
}

static int ignore_row(void *ctx, size_t ncols, const char *const *names, const char *const *v,
                      lh_error *err) {
  (void)ctx;
  (void)ncols;
  (void)names;
  (void)v;
  (void)err;
  return 0;
}

/* The first column of the first row of a query, as JSON text. */
static const char *q(fx *f, const char *sql) {
  return tu_store_value(f->st, sql);
}

static long long qn(fx *f, const char *sql) {
  return atoll(q(f, sql));
}

static lh_time T(const char *iso) {
  lh_time t;
  assert_int_equal(lh_time_parse_iso(iso, (size_t)-1, &t, NULL), 0);
  return t;
}

static int count_files(const char *dir, const char *suffix) {
  char cmd[4300];
  snprintf(cmd, sizeof cmd, "find '%s' -type f -name '*%s' | wc -l", dir, suffix);
  return (int)tu_shell_number(cmd);
}

/* The table's data files (checkpoints in _delta_log are Parquet too). */
static int count_data_files(const char *dir) {
  char cmd[4300];
  snprintf(cmd, sizeof cmd,
           "find '%s' -type f -name '*.parquet' -not -path '*/_delta_log/*' | wc -l", dir);
  return (int)tu_shell_number(cmd);
}

/* ---- tests --------------------------------------------------------------------------------------
 */

static void test_append_and_read(void **state) {
  fx *f = *state;
  rows rs = {0};
  load_rows(&rs, "data/wd_persons/entities.ftm.json", 0, NULL, T("2024-06-01"));
  load_rows(&rs, "data/yente-fixtures/zala/entities.ftm.json", 0, NULL, T("2024-06-01"));
  lh_error err = {0};
  assert_int_equal(tu_version(f->st, &err), -1);
  assert_int_equal(qn(f, "SELECT count(*) FROM statement"), 0); /* views exist before data */
  lh_append_result res;
  append(f, &rs, &res);
  assert_int_equal(res.rows, rs.n);
  assert_int_equal(res.version, 1); /* version 0 creates the table */
  assert_int_equal(res.files, 2);   /* thing + interval */
  assert_int_equal(qn(f, "SELECT count(*) FROM statement_raw"), (long long)rs.n);
  assert_int_equal(qn(f, "SELECT count(DISTINCT entity_id) FROM statement"), 281 + 91);
  assert_string_equal(q(f, "SELECT canonical_id = entity_id FROM statement LIMIT 1"), "true");
  /* every column came back typed as written */
  assert_string_equal(
      q(f, "SELECT value FROM statement WHERE id = '241a6298861ed88df12ae64e49ff96292f711d95' OR "
           "(entity_id = 'Q61589' AND prop = 'name' AND value = 'Salih')"),
      "\"Salih\"");
  assert_string_equal(q(f, "SELECT max(last_seen)::VARCHAR FROM statement"),
                      "\"2026-04-29 12:53:04+00\""); /* zala's newest last_seen */
  assert_string_equal(q(f, "SELECT count(*) FILTER (WHERE bucket = 'interval') > 0 AND count(*) "
                           "FILTER (WHERE bucket = 'thing') > 0 FROM statement"),
                      "true");
  /* rows are sorted inside each partition file */
  char sql[8400];
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM (SELECT entity_id, lag(entity_id) OVER (PARTITION BY filename "
           "ORDER BY file_row_number) AS prev FROM read_parquet('%s/statements/*/*/*/*.parquet', "
           "filename = true, file_row_number = true)) WHERE entity_id < prev",
           f->dir);
  assert_int_equal(qn(f, sql), 0);
  /* the commit carries the stats of every file */
  lh_buf commit = LH_BUF_INIT;
  assert_int_equal(
      lh_store_get(f->ds, "statements/_delta_log/00000000000000000001.json", &commit, NULL), 0);
  assert_non_null(strstr(commit.data, "\\\"numRecords\\\":"));
  assert_non_null(strstr(commit.data, "\"partitionValues\":{\"shard\":\"0\",\"bucket\":"));
  assert_non_null(strstr(commit.data, "\"commitInfo\":{"));
  /* ISO UTC timestamps in the stats: wd_persons' only last_seen is the minimum */
  assert_non_null(strstr(commit.data, "\\\"last_seen\\\":\\\"2024-03-09T09:28:18.000000Z\\\""));
  lh_buf_free(&commit);
  /* tags: the partitions are dirty */
  assert_int_equal(lh_statement_store_needs_merge(f->st, &err), 1);
  assert_int_equal(
      lh_store_exists(f->ds, "tags/lakehouse/statements/0/thing/bulk/last_updated", NULL), 1);
  assert_int_equal(lh_store_exists(f->ds, "tags/lakehouse/statements/last_updated", NULL), 1);
  assert_int_equal(count_files(f->dir, ".LOCK"), 0); /* the fence is gone */
  rows_free(&rs);
}

static void test_duplicates_and_first_seen(void **state) {
  fx *f = *state;
  rows early = {0}, late = {0};
  load_rows(&early, "data/wd_persons/entities.ftm.json", 0, NULL, T("2024-06-01"));
  load_rows(&late, "data/wd_persons/entities.ftm.json", 0, NULL, T("2024-06-01"));
  for (size_t i = 0; i < late.n; i++) { /* the same statements seen again later */
    late.r[i].first_seen = T("2025-01-01");
    late.r[i].last_seen = T("2025-02-01");
  }
  lh_append_result res;
  append(f, &early, &res);
  append(f, &late, &res);
  long long n = (long long)early.n;
  assert_int_equal(qn(f, "SELECT count(*) FROM statement_raw"), 2 * n);
  /* the live view deduplicates before any merge */
  assert_int_equal(qn(f, "SELECT count(*) FROM statement"), n);
  assert_string_equal(q(f, "SELECT min(first_seen)::VARCHAR || '/' || min(last_seen)::VARCHAR FROM "
                           "statement"),
                      "\"2024-03-09 09:28:18+00/2025-02-01 00:00:00+00\"");
  lh_merge_result mr;
  lh_error err = {0};
  assert_int_equal(lh_statement_store_merge(f->st, NULL, &mr, &err), 0);
  assert_int_equal(mr.partitions, 2);
  assert_int_equal(mr.rows_before, 2 * (uint64_t)n);
  assert_int_equal(mr.rows_after, (uint64_t)n);
  assert_int_equal(qn(f, "SELECT count(*) FROM statement_raw"), n);
  assert_string_equal(q(f, "SELECT min(first_seen)::VARCHAR || '/' || min(last_seen)::VARCHAR FROM "
                           "statement_raw"),
                      "\"2024-03-09 09:28:18+00/2025-02-01 00:00:00+00\"");
  assert_int_equal(lh_statement_store_needs_merge(f->st, &err), 0);
  assert_int_equal(lh_store_exists(f->ds, "tags/lakehouse/statements/last_optimized", NULL), 1);
  /* merge is idempotent: a second one has nothing to do */
  assert_int_equal(lh_statement_store_merge(f->st, NULL, &mr, &err), 0);
  assert_int_equal(mr.partitions, 0);
  assert_int_equal(mr.skipped, 2);
  rows_free(&early);
  rows_free(&late);
}

static void test_tombstones(void **state) {
  fx *f = *state;
  rows live = {0}, dead = {0};
  load_rows(&live, "data/wd_persons/entities.ftm.json", 0, NULL, T("2024-06-01"));
  lh_append_result res;
  append(f, &live, &res);
  /* delete one entity: a tombstone per statement, last_seen = deleted_at */
  lh_time when = lh_time_now() - 3600LL * 1000000;
  for (size_t i = 0; i < live.n; i++) {
    if (strcmp(live.r[i].entity_id, "Q61589") != 0)
      continue;
    if (dead.n == dead.cap) {
      dead.cap = dead.cap ? dead.cap * 2 : 64;
      dead.r = realloc(dead.r, dead.cap * sizeof *dead.r);
    }
    dead.r[dead.n] = live.r[i];
    dead.r[dead.n].deleted_at = when;
    dead.r[dead.n].last_seen = when;
    dead.n++;
  }
  assert_true(dead.n > 10);
  append(f, &dead, &res);
  /* hidden at once (read-time rules), although the raw rows are all still there */
  assert_int_equal(qn(f, "SELECT count(*) FROM statement WHERE entity_id = 'Q61589'"), 0);
  assert_int_equal(qn(f, "SELECT count(*) FROM statement_raw WHERE entity_id = 'Q61589'"),
                   2 * (long long)dead.n);
  lh_error err = {0};
  assert_int_equal(lh_statement_store_merge(f->st, NULL, NULL, &err), 0);
  /* within the grace period the tombstones stay and keep shadowing */
  assert_int_equal(qn(f, "SELECT count(*) FROM statement WHERE entity_id = 'Q61589'"), 0);
  assert_int_equal(qn(f, "SELECT count(*) FROM statement_raw WHERE entity_id = 'Q61589'"),
                   (long long)dead.n);
  assert_int_equal(qn(f, "SELECT count(*) FROM statement_raw WHERE deleted_at IS NOT NULL"),
                   (long long)dead.n);
  /* grace 0: a forced merge reaps tombstones and the rows they beat */
  f->settings.grace_period_days = 0;
  reopen(f, 0);
  lh_merge_opts force = {true, LH_TIME_NULL, 0, LH_MERGE_ENGINE_C};
  assert_int_equal(lh_statement_store_merge(f->st, &force, NULL, &err), 0);
  assert_int_equal(qn(f, "SELECT count(*) FROM statement_raw WHERE entity_id = 'Q61589'"), 0);
  assert_int_equal(qn(f, "SELECT count(*) FROM statement_raw"), (long long)(live.n - dead.n));
  /* re-adding after the delete: a newer last_seen wins over an (unreaped) tombstone */
  rows_free(&live);
  free(dead.r);
}

static void test_merge_only_dirty_partitions(void **state) {
  fx *f = *state;
  rows a = {0}, b = {0};
  load_rows(&a, "data/yente-fixtures/zala/entities.ftm.json", 0, NULL, T("2024-06-01"));
  lh_append_result res;
  append(f, &a, &res);
  lh_error err = {0};
  lh_merge_result mr;
  assert_int_equal(lh_statement_store_merge(f->st, NULL, &mr, &err), 0);
  assert_int_equal(mr.partitions, 2);
  lh_buf before = LH_BUF_INIT, after = LH_BUF_INIT;
  assert_int_equal(lh_store_get(f->ds, "tags/lakehouse/statements/0/interval/bulk/last_optimized",
                                &before, NULL),
                   0);
  /* write only things (wd persons are Person/Position plus Family/Occupancy intervals: keep
   * the thing rows only) */
  load_rows(&b, "data/wd_persons/entities.ftm.json", 0, NULL, T("2024-06-01"));
  size_t k = 0;
  for (size_t i = 0; i < b.n; i++)
    if (b.r[i].bucket == LH_BUCKET_THING)
      b.r[k++] = b.r[i];
  b.n = k;
  append(f, &b, &res);
  assert_int_equal(lh_statement_store_merge(f->st, NULL, &mr, &err), 0);
  assert_int_equal(mr.partitions, 1);
  assert_int_equal(mr.skipped, 1);
  assert_int_equal(
      lh_store_get(f->ds, "tags/lakehouse/statements/0/interval/bulk/last_optimized", &after, NULL),
      0);
  assert_string_equal(before.data, after.data); /* the clean partition was not touched */
  lh_buf_free(&before);
  lh_buf_free(&after);
  rows_free(&a);
  rows_free(&b);
}

static void test_sliced_merge(void **state) {
  fx *f = *state;
  rows rs = {0};
  load_rows(&rs, "data/yente-fixtures/entities.delta.json", 0, NULL, T("2024-06-01"));
  lh_append_result res;
  append(f, &rs, &res);
  append(f, &rs, &res);
  char single[256], sliced[256];
  const char *digest =
      "SELECT md5(string_agg(id || value || first_seen::VARCHAR || last_seen::VARCHAR, ',' ORDER "
      "BY id, origin)) FROM statement_raw";
  lh_error err = {0};
  lh_merge_result mr;
  /* a spill factor of 10^12 forces many slices */
  lh_merge_opts forced = {true, LH_TIME_NULL, 1000000000000LL, LH_MERGE_ENGINE_C};
  assert_int_equal(lh_statement_store_merge(f->st, &forced, &mr, &err), 0);
  assert_true(mr.slices > 4);
  snprintf(sliced, sizeof sliced, "%s", q(f, digest));
  long long n_sliced = qn(f, "SELECT count(*) FROM statement_raw");
  /* the same merge in one pass gives the same rows */
  tu_rmtree(f->dir);
  assert_int_equal(mkdir(f->dir, 0755), 0);
  reopen(f, 0);
  append(f, &rs, &res);
  append(f, &rs, &res);
  lh_merge_opts one = {true, LH_TIME_NULL, 0, LH_MERGE_ENGINE_C};
  assert_int_equal(lh_statement_store_merge(f->st, &one, &mr, &err), 0);
  assert_int_equal(mr.slices, mr.partitions);
  snprintf(single, sizeof single, "%s", q(f, digest));
  assert_string_equal(single, sliced);
  assert_int_equal(qn(f, "SELECT count(*) FROM statement_raw"), n_sliced);
  rows_free(&rs);
}

/* Rows of three datasets written in four appends (so that partitions hold several sorted
 * runs), with later re-sightings, tombstones within and beyond the grace period and
 * fragments emitted twice: what both merge engines must reduce identically. */
static void varied_appends(fx *f) {
  const char *files[] = {"data/wd_persons/entities.ftm.json",
                         "data/yente-fixtures/zala/entities.ftm.json",
                         "data/nomenklatura-fixtures/donations.ijson"};
  rows all = {0};
  for (size_t i = 0; i < 3; i++)
    load_rows(&all, files[i], 0, NULL, T("2024-06-01"));
  lh_append_result res;
  append(f, &all, &res);
  rows later = {0};
  for (size_t i = 0; i < 3; i++)
    load_rows(&later, files[i], 0, NULL, T("2024-06-01"));
  for (size_t i = 0; i < later.n; i++) {
    lh_row *r = &later.r[i];
    r->first_seen = T("2025-01-01");
    r->last_seen = T("2025-01-0"
                     "2") +
                   (lh_time)(i % 3) * 1000000;
    if (i % 7 == 0) /* tombstones: recent ones stay, old ones are reaped */
      r->deleted_at = i % 14 == 0 ? T("2025-12-20") : T("2024-07-01");
    if (i % 5 == 1)
      r->fragment = i % 10 == 1 ? "page-1" : "page-2";
  }
  append(f, &later, &res);
  for (size_t i = 0; i < later.n; i++) { /* the fragments emitted again, later */
    later.r[i].last_seen += 86400LL * 1000000;
    later.r[i].deleted_at = LH_TIME_NULL;
  }
  src half = {&later, 0, 501};
  later.n /= 2;
  lh_error err = {0};
  assert_int_equal(lh_statement_store_append(f->st, next_rows, &half, &res, &err), 0);
  append(f, &all, &res);
  rows_free(&all);
  rows_free(&later);
}

static void test_engines_agree(void **state) {
  fx *f = *state;
  const char *digest =
      "SELECT count(*) || ':' || md5(string_agg(concat_ws('|', shard, bucket, origin, id, "
      "entity_id, dataset, schema, prop, prop_type, value, original_value, lang, external, "
      "first_seen, last_seen, fragment, deleted_at), ',' ORDER BY origin, bucket, id, fragment)) "
      "FROM statement_raw";
  char c_engine[256], sql_engine[256], live_before[256];
  lh_error err = {0};
  lh_merge_result mr;
  lh_time now = T("2026-01-01"); /* grace cutoff 2025-12-02 */
  for (int engine = 0; engine < 2; engine++) {
    tu_rmtree(f->dir);
    assert_int_equal(mkdir(f->dir, 0755), 0);
    reopen(f, 0);
    varied_appends(f);
    lh_merge_opts o = {true, now, engine ? 0 : 1000000000000LL,
                       engine ? LH_MERGE_ENGINE_SQL : LH_MERGE_ENGINE_C};
    if (engine == 0) /* what the live view shows before the merge */
      snprintf(live_before, sizeof live_before, "%s",
               q(f, "SELECT count(*) || ':' || count(DISTINCT id) FROM statement"));
    assert_int_equal(lh_statement_store_merge(f->st, &o, &mr, &err), 0);
    assert_true(mr.rows_after < mr.rows_before);
    snprintf(engine ? sql_engine : c_engine, 256, "%s", q(f, digest));
    /* rows inside every merged file are in output order: entity_id, fragment, prop, id */
    lh_vacuum_result vr;
    assert_int_equal(lh_statement_store_vacuum(f->st, 0, &vr, &err), 0);
    char sql[8400];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM (SELECT (entity_id, fragment, prop, id) AS k, lag(k) OVER "
             "(PARTITION BY filename ORDER BY file_row_number) AS prev FROM "
             "read_parquet('%s/statements/*/*/*/*.parquet', filename = true, file_row_number = "
             "true)) WHERE k < prev",
             f->dir);
    assert_int_equal(qn(f, sql), 0);
  }
  assert_string_equal(c_engine, sql_engine);
  /* and the live view read before the merge (deduplicated at read time) shows what it left */
  assert_string_equal(q(f, "SELECT count(*) || ':' || count(DISTINCT id) FROM statement"),
                      live_before);
}

/* More rows than one sorted batch (65536), so that they pass through several batches and,
 * with several writers, through several COPY statements at once: every row arrives once. */
/* About 300,000 rows: the shared data, replicated with new ids and entity ids. */
static void load_big(rows *big, rows *base) {
  load_rows(base, "data/wd_persons/entities.ftm.json", 0, NULL, T("2024-06-01"));
  load_rows(base, "data/yente-fixtures/zala/entities.ftm.json", 0, NULL, T("2024-06-01"));
  load_rows(base, "data/nomenklatura-fixtures/donations.ijson", 0, NULL, T("2024-06-01"));
  size_t replicas = 300000 / base->n + 1;
  big->r = calloc(replicas * base->n, sizeof *big->r);
  for (size_t k = 0; k < replicas; k++) {
    for (size_t i = 0; i < base->n; i++) {
      lh_row *r = &big->r[big->n++];
      *r = base->r[i];
      char id[48], entity[256];
      snprintf(id, sizeof id, "%08zx%s", k, base->r[i].id + 8);
      snprintf(entity, sizeof entity, "r%zu-%s", k, base->r[i].entity_id);
      r->id = own(big, id, strlen(id));
      r->entity_id = own(big, entity, strlen(entity));
    }
  }
}

static void test_large_append(void **state) {
  fx *f = *state;
  rows base = {0}, big = {0};
  load_big(&big, &base);
  char digest[3][256];
  const char *writers[] = {"1", "3", "0"};
  for (int run = 0; run < 3; run++) {
    tu_rmtree(f->dir);
    assert_int_equal(mkdir(f->dir, 0755), 0);
    setenv("LAKEHOUSE_APPEND_WRITERS", writers[run], 1);
    lh_settings_free(&f->settings);
    assert_int_equal(lh_settings_load(&f->settings, NULL), 0);
    reopen(f, 0);
    lh_append_result res;
    append(f, &big, &res);
    assert_int_equal(res.rows, big.n);
    assert_int_equal(qn(f, "SELECT count(DISTINCT id) FROM statement_raw"), (long long)big.n);
    snprintf(digest[run], 256, "%s",
             q(f, "SELECT md5(string_agg(id || entity_id || prop || value || last_seen::VARCHAR, "
                  "',' ORDER BY id)) FROM statement_raw"));
  }
  unsetenv("LAKEHOUSE_APPEND_WRITERS");
  assert_string_equal(digest[1], digest[0]);
  assert_string_equal(digest[2], digest[0]);
  rows_free(&big);
  rows_free(&base);
}

static void test_shards(void **state) {
  fx *f = *state;
  reopen(f, 8);
  rows rs = {0};
  load_rows(&rs, "data/yente-fixtures/zala/entities.ftm.json", 8, NULL, T("2024-06-01"));
  lh_append_result res;
  append(f, &rs, &res);
  assert_true(qn(f, "SELECT count(DISTINCT shard) FROM statement") > 1);
  /* each entity lives in exactly its shard */
  char want[LH_SHARD_SIZE];
  lh_entity_shard(rs.r[0].entity_id, strlen(rs.r[0].entity_id), 8, want);
  char sql[512];
  snprintf(sql, sizeof sql,
           "SELECT string_agg(DISTINCT shard, ',') FROM statement WHERE entity_id = '%s'",
           rs.r[0].entity_id);
  char quoted[16];
  snprintf(quoted, sizeof quoted, "\"%s\"", want);
  assert_string_equal(q(f, sql), quoted);
  char dir[4200];
  snprintf(dir, sizeof dir, "%s/statements", f->dir);
  DIR *d = opendir(dir);
  int shard_dirs = 0;
  for (struct dirent *de; (de = readdir(d));)
    shard_dirs += strncmp(de->d_name, "shard=", 6) == 0;
  closedir(d);
  assert_true(shard_dirs > 1);
  rows_free(&rs);
}

static void test_awkward_origins(void **state) {
  fx *f = *state;
  const char *origins[] = {"with space",        "q'uote", "co:lon",
                           "\xc3\xbcn\xc3\xaf", "p%c",    "mapping:abc123"};
  rows all = {0};
  for (size_t i = 0; i < 6; i++)
    load_rows(&all, "data/nomenklatura-fixtures/donations.ijson", 0, origins[i], T("2024-06-01"));
  lh_append_result res;
  append(f, &all, &res);
  append(f, &all, &res);
  assert_int_equal(qn(f, "SELECT count(DISTINCT origin) FROM statement_raw"), 6);
  for (size_t i = 0; i < 6; i++) {
    lh_buf sql = LH_BUF_INIT;
    lh_buf_puts(&sql, "SELECT count(*) FROM statement WHERE origin = ");
    lh__sql_quote(&sql, origins[i]);
    assert_int_equal(qn(f, sql.data), (long long)all.n / 6);
    lh_buf_free(&sql);
  }
  lh_error err = {0};
  lh_optimize_opts o = {false, 0, 0};
  (void)o;
  lh_merge_result mr;
  assert_int_equal(lh_statement_store_merge(f->st, NULL, &mr, &err), 0);
  assert_int_equal(mr.rows_after, all.n);
  lh_compact_result cr;
  assert_int_equal(lh_statement_store_compact(f->st, 0, &cr, &err), 0);
  lh_vacuum_result vr;
  assert_int_equal(lh_statement_store_vacuum(f->st, 0, &vr, &err), 0);
  assert_true(vr.files > 0);
  assert_int_equal(qn(f, "SELECT count(*) FROM statement_raw"), (long long)all.n);
  /* the log paths decode to the files on disk, whose folders carry the hive encoding */
  lh_buf log = LH_BUF_INIT;
  lh_store_get(f->ds, "statements/_delta_log/00000000000000000001.json", &log, NULL);
  assert_non_null(strstr(log.data, "origin=q%2527uote/part-"));
  assert_non_null(strstr(log.data, "\"origin\":\"q'uote\""));
  assert_non_null(strstr(log.data, "origin=%25C3%25BCn%25C3%25AF/"));
  lh_buf_free(&log);
  /* a fresh store (new process) reads the same */
  reopen(f, 0);
  assert_int_equal(qn(f, "SELECT count(*) FROM statement WHERE origin = 'q''uote'"),
                   (long long)all.n / 6);
  rows_free(&all);
}

static void test_compact_and_vacuum(void **state) {
  fx *f = *state;
  rows rs = {0};
  load_rows(&rs, "data/wd_persons/entities.ftm.json", 0, NULL, T("2024-06-01"));
  lh_append_result res;
  for (int i = 0; i < 5; i++)
    append(f, &rs, &res);
  char dir[4200];
  snprintf(dir, sizeof dir, "%s/statements", f->dir);
  assert_int_equal(count_data_files(dir), 10);
  lh_error err = {0};
  lh_compact_result cr;
  assert_int_equal(lh_statement_store_compact(f->st, 0, &cr, &err), 0);
  assert_int_equal(cr.files_before, 10);
  assert_int_equal(cr.files_after, 2);
  assert_int_equal(qn(f, "SELECT count(*) FROM statement_raw"), 5 * (long long)rs.n);
  lh_buf log = LH_BUF_INIT;
  lh_store_get(f->ds, "statements/_delta_log/00000000000000000006.json", &log, NULL);
  assert_non_null(strstr(log.data, "\"operation\":\"OPTIMIZE\""));
  assert_non_null(strstr(log.data, "\"dataChange\":false"));
  assert_null(strstr(log.data, "\"dataChange\":true"));
  lh_buf_free(&log);
  /* an orphan (a crashed writer's file, named as ours) and the removed files go; live files
   * stay, and so do files this lake did not write (a note, a foreign Parquet file, our name
   * outside a partition folder) */
  char orphan[4300], note[4300], foreign[4300], stray[4300];
  snprintf(orphan, sizeof orphan,
           "%s/shard=0/bucket=thing/origin=bulk/part-0b7c2d4e-1f3a-4c5d-9e8f-a1b2c3d4e5f6.parquet",
           dir);
  snprintf(note, sizeof note, "%s/notes.txt", dir);
  snprintf(foreign, sizeof foreign, "%s/shard=0/bucket=thing/origin=bulk/data.parquet", dir);
  snprintf(stray, sizeof stray, "%s/part-0b7c2d4e-1f3a-4c5d-9e8f-a1b2c3d4e5f6.parquet", dir);
  const char *extra[] = {orphan, note, foreign, stray};
  for (int i = 0; i < 4; i++) {
    FILE *o = fopen(extra[i], "w");
    fputs("not even parquet", o);
    fclose(o);
  }
  lh_vacuum_result vr;
  assert_int_equal(lh_statement_store_vacuum(f->st, 1, &vr, &err), 0);
  assert_int_equal(vr.files, 0); /* everything is younger than an hour */
  assert_int_equal(vr.foreign, 3);
  assert_int_equal(lh_statement_store_vacuum(f->st, 0, &vr, &err), 0);
  assert_int_equal(vr.files, 11);
  assert_int_equal(vr.foreign, 3);
  assert_int_equal(count_data_files(dir), 4);
  /* vacuum leaves a checkpoint of the version it saw: reads start there */
  char cp[4300];
  snprintf(cp, sizeof cp, "%s/_delta_log/%020lld.checkpoint.parquet", dir,
           (long long)tu_version(f->st, &err));
  assert_int_equal(access(cp, F_OK), 0);
  assert_int_not_equal(access(orphan, F_OK), 0);
  for (int i = 1; i < 4; i++) {
    assert_int_equal(access(extra[i], F_OK), 0);
    unlink(extra[i]);
  }
  assert_int_equal(qn(f, "SELECT count(*) FROM statement_raw"), 5 * (long long)rs.n);
  rows_free(&rs);
}

/* ---- files in entity-id order: whole entity_id stats, sorted compaction, pruned lookups ------ */

typedef struct lookup_sql {
  const char *id;
} lookup_sql;

static int lookup_sql_of(void *ctx, lh_buf *out, lh_error *err) {
  (void)err;
  lookup_sql *l = ctx;
  lh_buf_reset(out);
  lh_buf_puts(out, "SELECT ");
  for (int c = 0; c < LH_ROW_NCOLUMNS; c++)
    lh_buf_printf(out, "%s%s", c ? ", " : "", LH_ROW_COLUMNS[c]);
  lh_buf_puts(out, " FROM statement_slice WHERE entity_id = ");
  lh__sql_quote(out, l->id);
  return lh_buf_puts(out, " ORDER BY entity_id, prop, id");
}

static int count_row(void *ctx, const lh_row *r, lh_error *err) {
  (void)r;
  (void)err;
  (*(size_t *)ctx)++;
  return 0;
}

/* Rows of entity id: a read of that one id (one range, files pruned by the Delta log). */
static int lookup(fx *f, const char *id, size_t *n, lh_error *err) {
  lookup_sql l = {id};
  *n = 0;
  lh_sliced_read r = {
      .sql = lookup_sql_of, .sql_ctx = &l, .fn = count_row, .ctx = n, .lo = id, .hi = id};
  return lh_statement_store_read_sliced(f->st, &r, err);
}

/* A query's first string value, unquoted (the values here need no JSON escapes). */
static void qs(fx *f, const char *sql, char *out, size_t size) {
  const char *v = q(f, sql);
  size_t n = strlen(v);
  assert_true(n >= 2 && v[0] == '"' && v[n - 1] == '"' && n - 2 < size);
  memcpy(out, v + 1, n - 2);
  out[n - 2] = '\0';
}

static void test_id_ordered_files(void **state) {
  fx *f = *state;
  rows rs = {0};
  load_rows(&rs, "data/wd_persons/entities.ftm.json", 0, NULL, T("2024-06-01"));
  /* ids longer than the 32 characters Delta stats usually keep of a string */
  const char *prefix = "lakehouse-test-entity-ids-longer-than-32-";
  char id[512];
  for (size_t i = 0; i < rs.n; i++) {
    snprintf(id, sizeof id, "%s%s", prefix, rs.r[i].entity_id);
    rs.r[i].entity_id = own(&rs, id, strlen(id));
  }
  lh_append_result res;
  append(f, &rs, &res);
  append(f, &rs, &res);
  lh_buf log = LH_BUF_INIT;
  assert_int_equal(
      lh_store_get(f->ds, "statements/_delta_log/00000000000000000001.json", &log, NULL), 0);
  /* the whole entity id is the file's maximum (a 32-character prefix could not be one) */
  const char *max = strstr(log.data, "maxValues\\\":{");
  assert_non_null(max);
  const char *max_id = strstr(max, "entity_id\\\":\\\"lakehouse-test-entity-ids-longer-than-32-");
  assert_non_null(max_id);
  assert_true(max_id < strstr(max, "nullCount"));
  lh_buf_free(&log);

  /* a merge in many slices writes many files; compaction into a target that holds about a
   * third of a partition concatenates neighbours in id order */
  lh_error err = {0};
  lh_merge_result mr;
  lh_merge_opts forced = {true, LH_TIME_NULL, 1000000000000LL, LH_MERGE_ENGINE_C};
  assert_int_equal(lh_statement_store_merge(f->st, &forced, &mr, &err), 0);
  assert_true(mr.slices > 8);
  lh_vacuum_result vr;
  assert_int_equal(lh_statement_store_vacuum(f->st, 0, &vr, &err), 0);
  char dir[4200];
  snprintf(dir, sizeof dir, "%s/statements/shard=0/bucket=thing/origin=bulk", f->dir);
  int merged = count_data_files(dir);
  assert_true(merged > 8);
  char cmd[4400];
  snprintf(cmd, sizeof cmd, "du -cb '%s'/*.parquet | tail -1", dir);
  long long bytes = tu_shell_number(cmd);
  lh_compact_result cr;
  assert_int_equal(lh_statement_store_compact(f->st, bytes / 3, &cr, &err), 0);
  assert_int_equal(lh_statement_store_vacuum(f->st, 0, &vr, &err), 0);
  int compacted = count_data_files(dir);
  assert_true(compacted >= 2 && compacted < merged);
  char sql[8400];
  /* within each file the rows are in entity-id order, and no two files' ranges overlap */
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM (SELECT entity_id < lag(entity_id) OVER (PARTITION BY filename "
           "ORDER BY file_row_number) AS back FROM read_parquet('%s/*.parquet', filename = true, "
           "file_row_number = true)) WHERE back",
           dir);
  assert_int_equal(qn(f, sql), 0);
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM (SELECT lo < lag(hi) OVER (ORDER BY lo) AS overlap FROM (SELECT "
           "min(entity_id) AS lo, max(entity_id) AS hi FROM read_parquet('%s/*.parquet', filename "
           "= true) GROUP BY filename)) WHERE overlap",
           dir);
  assert_int_equal(qn(f, sql), 0);
  /* a lookup opens only the files whose range can hold its id: with the first file gone
   * (by hand: never do this), the last entity is still found, the first one is not */
  snprintf(sql, sizeof sql,
           "SELECT filename FROM read_parquet('%s/*.parquet', filename = true) ORDER BY entity_id "
           "LIMIT 1",
           dir);
  char first_file[4400];
  qs(f, sql, first_file, sizeof first_file);
  snprintf(sql, sizeof sql, "SELECT min(entity_id) FROM read_parquet('%s/*.parquet')", dir);
  char first_id[512];
  qs(f, sql, first_id, sizeof first_id);
  snprintf(sql, sizeof sql, "SELECT max(entity_id) FROM read_parquet('%s/*.parquet')", dir);
  char last_id[512];
  qs(f, sql, last_id, sizeof last_id);
  size_t n = 0;
  assert_int_equal(lookup(f, last_id, &n, &err), 0);
  assert_true(n > 0);
  size_t before = n;
  assert_int_equal(lookup(f, first_id, &n, &err), 0);
  assert_true(n > 0);
  assert_int_equal(unlink(first_file), 0);
  reopen(f, 0); /* no Parquet footer cached */
  assert_int_equal(lookup(f, last_id, &n, &err), 0);
  assert_int_equal(n, before);
  assert_int_not_equal(lookup(f, first_id, &n, &err), 0);
  assert_non_null(strstr(err.message, "missing"));
  rows_free(&rs);
}

static void test_checkpoints(void **state) {
  fx *f = *state;
  rows rs = {0};
  load_rows(&rs, "data/wd_persons/entities.ftm.json", 0, NULL, T("2024-06-01"));
  rows one = rs;
  one.n = 7; /* tiny appends: 100 commits */
  lh_append_result res;
  for (int i = 0; i < 100; i++) {
    one.r = rs.r + (size_t)i * 7 % (rs.n - 7);
    append(f, &one, &res);
  }
  assert_int_equal(res.version, 100);
  lh_buf last = LH_BUF_INIT;
  assert_int_equal(lh_store_get(f->ds, "statements/_delta_log/_last_checkpoint", &last, NULL), 0);
  assert_non_null(strstr(last.data, "\"version\":100"));
  lh_buf_free(&last);
  assert_int_equal(
      lh_store_exists(f->ds, "statements/_delta_log/00000000000000000100.checkpoint.parquet", NULL),
      1);
  long long raw = qn(f, "SELECT count(*) FROM statement_raw");
  assert_int_equal(raw, 700);
  /* a new reader starts from the checkpoint: the JSON commits before it may be gone */
  for (int v = 0; v < 100; v++) {
    char key[128];
    snprintf(key, sizeof key, "statements/_delta_log/%020d.json", v);
    assert_int_equal(lh_store_delete(f->ds, key, NULL), 0);
  }
  reopen(f, 0);
  assert_int_equal(qn(f, "SELECT count(*) FROM statement_raw"), raw);
  lh_error err = {0};
  assert_int_equal(tu_version(f->st, &err), 100);
  append(f, &one, &res);
  assert_int_equal(res.version, 101);
  assert_int_equal(lh_statement_store_merge(f->st, NULL, NULL, &err), 0);
  reopen(f, 0);
  assert_int_equal(qn(f, "SELECT count(*) FROM statement_raw"),
                   qn(f, "SELECT count(DISTINCT id) FROM statement_raw"));
  rows_free(&rs);
}

/* Vacuum keeps the removed files a live read lease may still read, removes the leases of
 * readers that died, and deletes the files once no reader needs them. */
static void test_vacuum_respects_readers(void **state) {
  fx *f = *state;
  rows rs = {0};
  load_rows(&rs, "data/wd_persons/entities.ftm.json", 0, NULL, T("2024-06-01"));
  lh_append_result res;
  append(f, &rs, &res);
  append(f, &rs, &res);
  int64_t before = res.version;
  lh_error err = {0};
  /* a reader of the version before the merge: its lease says so */
  lh_fence_opts fo;
  lh_fence_opts_from_settings(&fo, &f->settings, "read");
  lh_fence *lease = NULL;
  assert_int_equal(lh_fence_read(f->ds, &fo, &lease, &err), 0);
  assert_int_equal(lh_fence_set_version(lease, before, &err), 0);
  int64_t min;
  size_t live;
  assert_int_equal(lh_fence_readers(f->ds, &fo, &min, &live, &err), 0);
  assert_int_equal(min, before);
  assert_int_equal(live, 1);
  /* a lease of a process that is gone is removed, never waited for */
  char host[256], dead[600];
  gethostname(host, sizeof host);
  pid_t gone = fork();
  if (gone == 0)
    _exit(0);
  waitpid(gone, NULL, 0);
  snprintf(dead, sizeof dead,
           "{\"pid\":%d,\"host\":\"%s\",\"token\":\"t\",\"operation\":\"read\","
           "\"acquired\":\"2026-01-01T00:00:00+00:00\",\"heartbeat\":\"2099-01-01T00:00:00+00:00\","
           "\"version\":0}",
           (int)gone, host);
  assert_int_equal(lh_store_put(f->ds, ".LOCK-READS/dead", dead, strlen(dead), NULL), 0);
  lh_merge_result mr;
  assert_int_equal(lh_statement_store_merge(f->st, NULL, &mr, &err), 0);
  assert_true(mr.partitions > 0);
  lh_vacuum_result vr;
  assert_int_equal(lh_statement_store_vacuum(f->st, 0, &vr, &err), 0);
  assert_int_equal(vr.files, 0);
  assert_true(vr.kept_for_readers >= 2);
  assert_int_equal(lh_store_exists(f->ds, ".LOCK-READS/dead", NULL), 0);
  /* the reader can still read every file of its version */
  char dir[4200];
  snprintf(dir, sizeof dir, "%s/statements", f->dir);
  assert_int_equal(count_data_files(dir), 4 + (int)mr.partitions);
  lh_fence_release(lease);
  assert_int_equal(lh_fence_readers(f->ds, &fo, &min, &live, &err), 0);
  assert_int_equal(live, 0);
  assert_true(min == INT64_MAX);
  assert_int_equal(lh_statement_store_vacuum(f->st, 0, &vr, &err), 0);
  assert_int_equal(vr.files, 4);
  assert_int_equal(vr.kept_for_readers, 0);
  /* a lease still loading its snapshot (no version yet) guards every removed file */
  append(f, &rs, &res);
  assert_int_equal(lh_fence_read(f->ds, &fo, &lease, &err), 0);
  assert_int_equal(lh_statement_store_merge(f->st, NULL, &mr, &err), 0);
  assert_int_equal(lh_statement_store_vacuum(f->st, 0, &vr, &err), 0);
  assert_int_equal(vr.files, 0);
  assert_true(vr.kept_for_readers > 0);
  lh_fence_release(lease);
  assert_int_equal(qn(f, "SELECT count(*) FROM statement_raw"), (long long)rs.n);
  rows_free(&rs);
}

static void expect_error(fx *f, const char *needle) {
  reopen(f, 0);
  lh_error err = {0};
  int rc = lh_statement_store_sql(f->st, "SELECT count(*) FROM statement", ignore_row, NULL, &err);
  if (rc == 0 || !strstr(err.message, needle)) {
    print_error("rc %d, '%s' lacks '%s'\n", rc, err.message, needle);
    fail();
  }
}

static void test_broken_logs(void **state) {
  fx *f = *state;
  rows rs = {0};
  load_rows(&rs, "data/yente-fixtures/zala/entities.ftm.json", 0, NULL, T("2024-06-01"));
  lh_append_result res;
  append(f, &rs, &res);
  const char *c1 = "statements/_delta_log/00000000000000000001.json";
  lh_buf good = LH_BUF_INIT;
  lh_store_get(f->ds, c1, &good, NULL);
  /* a truncated commit */
  lh_store_put(f->ds, c1, good.data, good.len / 2, NULL);
  expect_error(f, "00000000000000000001.json (version 1) line ");
  expect_error(f, ": invalid JSON");
  /* garbage */
  lh_store_put(f->ds, c1, "\x01\x02 not json\n", 12, NULL);
  expect_error(f, "00000000000000000001.json (version 1) line 1: invalid JSON");
  /* an unknown action */
  lh_store_put(f->ds, c1, "{\"frobnicate\":{}}\n", 18, NULL);
  expect_error(f, "00000000000000000001.json (version 1) line 1: unknown action 'frobnicate'");
  /* a hole in the log */
  lh_store_put(f->ds, c1, good.data, good.len, NULL);
  lh_store_put(f->ds, "statements/_delta_log/00000000000000000003.json", good.data, good.len, NULL);
  expect_error(f, "missing 00000000000000000002.json");
  lh_store_delete(f->ds, "statements/_delta_log/00000000000000000003.json", NULL);
  /* an invalid partition value */
  char *bad = strdup(good.data);
  char *o = strstr(bad, "\"origin\":\"bulk\"");
  memcpy(o, "\"origin\":\"../x\"", 15);
  lh_store_put(f->ds, c1, bad, strlen(bad), NULL);
  expect_error(f, "version 1: file 'shard=0/bucket=");
  expect_error(f, "invalid partition value");
  free(bad);
  /* a log naming a Parquet file that is not there */
  lh_store_put(f->ds, c1, good.data, good.len, NULL);
  char cmd[4300];
  snprintf(cmd, sizeof cmd, "rm -f %s/statements/shard=0/bucket=thing/origin=bulk/*.parquet",
           f->dir);
  assert_int_equal(system(cmd), 0);
  expect_error(f, "version 1: data file 'shard=0/bucket=thing/origin=bulk/part-");
  expect_error(f, "(added in version 1) is missing");
  {
    lh_error merr = {0};
    lh_merge_opts force = {true, LH_TIME_NULL, 0, LH_MERGE_ENGINE_C};
    assert_int_equal(lh_statement_store_merge(f->st, &force, NULL, &merr), LH_ENOTFOUND);
    assert_non_null(strstr(merr.message, "(added in version 1) is missing"));
    /* partitions merge in their own commits: interval (sorted first) merged as version 2,
     * the broken thing partition committed nothing */
    assert_int_equal(tu_version(f->st, &merr), 2);
    lh_buf c2 = LH_BUF_INIT;
    assert_int_equal(
        lh_store_get(f->ds, "statements/_delta_log/00000000000000000002.json", &c2, NULL), 0);
    assert_non_null(strstr(c2.data, "bucket=interval"));
    assert_null(strstr(c2.data, "bucket=thing"));
    lh_buf_free(&c2);
    lh_store_delete(f->ds, "statements/_delta_log/00000000000000000002.json", NULL);
    assert_int_equal(count_files(f->dir, ".LOCK"), 0);
  }
  /* a table that needs a newer writer is refused for writing */
  lh_store_put(f->ds, "statements/_delta_log/00000000000000000002.json",
               "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":7,\"writerFeatures\":"
               "[\"identityColumns\"]}}\n",
               94, NULL);
  reopen(f, 0);
  src s = {&rs, 0, 100};
  lh_error err = {0};
  assert_int_equal(lh_statement_store_append(f->st, next_rows, &s, NULL, &err), LH_EUNSUPPORTED);
  assert_non_null(strstr(err.message, "identityColumns"));
  lh_buf_free(&good);
  rows_free(&rs);
}

/* A data file written by someone else with NULL in a required column: the merge stops
 * with the partition and column, and commits nothing. */
static void test_foreign_null_column(void **state) {
  fx *f = *state;
  rows rs = {0};
  load_rows(&rs, "data/yente-fixtures/zala/entities.ftm.json", 0, NULL, T("2024-06-01"));
  lh_append_result res;
  append(f, &rs, &res);
  char sql[8400];
  snprintf(sql, sizeof sql,
           "COPY (SELECT id, NULL::VARCHAR AS entity_id, dataset, source, schema, prop, "
           "prop_type, value, original_value, lang, external, first_seen, last_seen, fragment, "
           "deleted_at FROM statement_raw LIMIT 3) TO "
           "'%s/statements/shard=0/bucket=thing/origin=bulk/foreign.parquet' (FORMAT parquet)",
           f->dir);
  tu_store_value(f->st, sql);
  const char *commit =
      "{\"add\":{\"path\":\"shard=0/bucket=thing/origin=bulk/foreign.parquet\","
      "\"partitionValues\":{\"shard\":\"0\",\"bucket\":\"thing\",\"origin\":\"bulk\"},"
      "\"size\":1000,\"modificationTime\":0,\"dataChange\":true}}\n";
  assert_int_equal(lh_store_create(f->ds, "statements/_delta_log/00000000000000000002.json", commit,
                                   strlen(commit), NULL),
                   0);
  lh_error err = {0};
  lh_merge_opts force = {true, LH_TIME_NULL, 0, LH_MERGE_ENGINE_C};
  assert_int_equal(lh_statement_store_merge(f->st, &force, NULL, &err), LH_EPARSE);
  assert_non_null(strstr(err.message, "partition 0/thing/bulk has NULL in column 'entity_id'"));
  /* the interval partition (sorted first) merged in its own commit; thing committed nothing */
  assert_int_equal(tu_version(f->st, &err), 3);
  assert_int_equal(tu_store_number(f->st, "SELECT count(*) FROM statement_raw WHERE entity_id IS "
                                          "NULL"),
                   3);
  assert_int_equal(count_files(f->dir, ".LOCK"), 0);
  rows_free(&rs);
}

static void test_bad_rows(void **state) {
  fx *f = *state;
  rows rs = {0};
  load_rows(&rs, "data/yente-fixtures/zala/entities.ftm.json", 0, NULL, T("2024-06-01"));
  rs.r[1500].entity_id = NULL;
  src s = {&rs, 0, 1000};
  lh_error err = {0};
  assert_int_equal(lh_statement_store_append(f->st, next_rows, &s, NULL, &err), LH_EINVAL);
  assert_non_null(strstr(err.message, "row 1501: statement row: column 'entity_id'"));
  /* nothing was committed (the table exists, empty) and no fence is left behind */
  assert_int_equal(tu_version(f->st, &err), 0);
  assert_int_equal(qn(f, "SELECT count(*) FROM statement_raw"), 0);
  assert_int_equal(count_files(f->dir, "LOCK*"), 0);
  rows_free(&rs);
}

/* A bad row after the first batches went to their files: nothing is committed and no file
 * stays behind, the partial ones of the cancelled COPYs included. */
static void test_bad_row_late(void **state) {
  fx *f = *state;
  rows base = {0}, big = {0};
  load_big(&big, &base);
  big.r[big.n - 1000].value = NULL;
  src s = {&big, 0, 5000};
  lh_error err = {0};
  assert_int_equal(lh_statement_store_append(f->st, next_rows, &s, NULL, &err), LH_EINVAL);
  char want[64];
  snprintf(want, sizeof want, "row %zu: statement row: column 'value'", big.n - 999);
  assert_non_null(strstr(err.message, want));
  assert_int_equal(tu_version(f->st, &err), 0);
  assert_int_equal(qn(f, "SELECT count(*) FROM statement_raw"), 0);
  assert_int_equal(count_files(f->dir, ".parquet"), 0);
  assert_int_equal(count_files(f->dir, "LOCK*"), 0);
  /* the store takes the same rows once the bad one is fixed */
  big.r[big.n - 1000].value = big.r[big.n - 1001].value;
  big.r[big.n - 1000].value_len = big.r[big.n - 1001].value_len;
  lh_append_result res;
  append(f, &big, &res);
  assert_int_equal(res.rows, big.n);
  assert_int_equal(qn(f, "SELECT count(*) FROM statement_raw"), (long long)big.n);
  rows_free(&big);
  rows_free(&base);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_append_and_read, setup, teardown),
      cmocka_unit_test_setup_teardown(test_duplicates_and_first_seen, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tombstones, setup, teardown),
      cmocka_unit_test_setup_teardown(test_merge_only_dirty_partitions, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sliced_merge, setup, teardown),
      cmocka_unit_test_setup_teardown(test_engines_agree, setup, teardown),
      cmocka_unit_test_setup_teardown(test_large_append, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_row_late, setup, teardown),
      cmocka_unit_test_setup_teardown(test_shards, setup, teardown),
      cmocka_unit_test_setup_teardown(test_awkward_origins, setup, teardown),
      cmocka_unit_test_setup_teardown(test_compact_and_vacuum, setup, teardown),
      cmocka_unit_test_setup_teardown(test_id_ordered_files, setup, teardown),
      cmocka_unit_test_setup_teardown(test_vacuum_respects_readers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_checkpoints, setup, teardown),
      cmocka_unit_test_setup_teardown(test_broken_logs, setup, teardown),
      cmocka_unit_test_setup_teardown(test_foreign_null_column, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_rows, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
