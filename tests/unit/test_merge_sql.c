/* logic/merge_sql and logic/merge_rows: the merge semantics of inventory §6.4 over hand-built
 * rows (the behaviours of the Python project's test_logic_parquet.py). Every case runs the
 * SQL on DuckDB and the C implementation on the same rows, and both must agree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/duck.h"
#include "testutil.h"

static lh__duck duck;

static int setup(void **state) {
  (void)state;
  lh_error err = {0};
  return lh__duck_open(&duck, NULL, &err);
}

static int teardown(void **state) {
  (void)state;
  lh__duck_close(&duck);
  return 0;
}

/* A row: id, entity, prop, value, fragment, first_seen, last_seen, deleted_at (NULL = none),
 * origin, shard. Timestamps are ISO strings. */
typedef struct trow {
  const char *id, *entity, *prop, *value, *fragment, *first, *last, *deleted, *origin, *shard;
} trow;

static const trow *loaded; /* what load() put in t, for the C merge */
static size_t nloaded;

static void load(const trow *rows, size_t n) {
  loaded = rows;
  nloaded = n;
  lh_buf sql = LH_BUF_INIT;
  lh_buf_puts(&sql, "CREATE OR REPLACE TABLE t AS SELECT * FROM (VALUES ");
  for (size_t i = 0; i < n; i++) {
    const trow *r = &rows[i];
    if (i)
      lh_buf_putc(&sql, ',');
    lh_buf_puts(&sql, "(");
    lh__sql_quote(&sql, r->shard ? r->shard : "0");
    lh_buf_putc(&sql, ',');
    lh__sql_quote(&sql, r->id);
    lh_buf_putc(&sql, ',');
    lh__sql_quote(&sql, r->entity);
    lh_buf_puts(&sql, ", 'ds', 'thing', ");
    lh__sql_quote(&sql, r->origin ? r->origin : "default");
    lh_buf_puts(&sql, ", NULL, 'Person', ");
    lh__sql_quote(&sql, r->prop);
    lh_buf_puts(&sql, ", 'name', ");
    lh__sql_quote(&sql, r->value);
    lh_buf_puts(&sql, ", NULL, NULL, false, ");
    lh_buf_printf(&sql, "TIMESTAMPTZ '%s', TIMESTAMPTZ '%s', ", r->first, r->last);
    lh__sql_quote(&sql, r->fragment ? r->fragment : "");
    if (r->deleted)
      lh_buf_printf(&sql, ", TIMESTAMPTZ '%s')", r->deleted);
    else
      lh_buf_puts(&sql, ", NULL::TIMESTAMPTZ)");
  }
  lh_buf_puts(&sql, ") v(shard, id, entity_id, dataset, bucket, origin, source, schema, prop, "
                    "prop_type, value, original_value, lang, external, first_seen, last_seen, "
                    "fragment, deleted_at)");
  lh_error err = {0};
  if (lh__duck_exec(&duck, sql.data, &err)) {
    print_error("%s\n", err.message);
    fail();
  }
  lh_buf_free(&sql);
}

typedef struct result {
  char lines[256][256];
  size_t n;
} result;

static int collect(void *ctx, size_t ncols, const char *const *names, const char *const *v,
                   lh_error *err) {
  (void)names;
  (void)err;
  result *r = ctx;
  if (r->n == 256)
    fail();
  char *line = r->lines[r->n++];
  line[0] = '\0';
  for (size_t i = 0; i < ncols; i++) {
    size_t len = strlen(line);
    snprintf(line + len, 256 - len, "%s%s", i ? " " : "", v[i]);
  }
  return 0;
}

static lh_time T(const char *iso) {
  lh_time t;
  assert_int_equal(lh_time_parse_iso(iso, (size_t)-1, &t, NULL), 0);
  return t;
}

static int line_cmp(const void *a, const void *b) {
  return strcmp((const char *)a, (const char *)b);
}

static void day(lh_time t, char out[11]) {
  char iso[LH_ISO_SIZE];
  lh_time_format_iso(t, iso);
  memcpy(out, iso, 10);
  out[10] = '\0';
}

/* The C merge of the loaded rows, per partition (origin, shard), as result lines. */
static result c_merged(const char *lo, const char *hi, lh_time cutoff) {
  result r = {0};
  bool *done = calloc(nloaded + 1, sizeof *done);
  lh_row *rows = calloc(nloaded + 1, sizeof *rows);
  uint32_t *order = calloc(nloaded + 1, sizeof *order), *tmp = calloc(nloaded + 1, sizeof *tmp),
           *out = calloc(nloaded + 1, sizeof *out);
  for (size_t i = 0; i < nloaded; i++) {
    if (done[i])
      continue;
    const char *origin = loaded[i].origin ? loaded[i].origin : "default";
    const char *shard = loaded[i].shard ? loaded[i].shard : "0";
    size_t n = 0;
    for (size_t j = i; j < nloaded; j++) {
      const trow *t = &loaded[j];
      if (done[j] || strcmp(t->origin ? t->origin : "default", origin) != 0 ||
          strcmp(t->shard ? t->shard : "0", shard) != 0)
        continue;
      done[j] = true;
      if ((lo && strcmp(t->entity, lo) < 0) || (hi && strcmp(t->entity, hi) >= 0))
        continue;
      lh_row *row = &rows[n];
      memset(row, 0, sizeof *row);
      row->id = t->id;
      row->entity_id = t->entity;
      row->prop = t->prop;
      row->value = t->value;
      row->fragment = t->fragment ? t->fragment : "";
      row->first_seen = T(t->first);
      row->last_seen = T(t->last);
      row->deleted_at = t->deleted ? T(t->deleted) : LH_TIME_NULL;
      order[n] = (uint32_t)n;
      n++;
    }
    assert_int_equal(lh_merge_sort(rows, order, tmp, n), 0);
    size_t kept;
    assert_int_equal(lh_merge_rows(rows, order, n, cutoff, out, &kept), 0);
    for (size_t k = 0; k < kept; k++) {
      const lh_row *row = &rows[out[k]];
      char first[11], last[11];
      day(row->first_seen, first);
      day(row->last_seen, last);
      snprintf(r.lines[r.n++], 256, "\"%s\" \"%s\" \"%s\" \"%s\" \"%s\" %s", origin, row->id,
               row->value, first, last, row->deleted_at != LH_TIME_NULL ? "true" : "false");
    }
  }
  free(done);
  free(rows);
  free(order);
  free(tmp);
  free(out);
  return r;
}

/* Run the merge over table t and return "origin id value first_seen last_seen deleted";
 * the C merge of the same rows must give the same lines. */
static result sql_merged(const char *lo, const char *hi, lh_time cutoff);

static result merged(const char *lo, const char *hi, lh_time cutoff) {
  result r = sql_merged(lo, hi, cutoff);
  result a = r, b = c_merged(lo, hi, cutoff);
  qsort(a.lines, a.n, sizeof a.lines[0], line_cmp);
  qsort(b.lines, b.n, sizeof b.lines[0], line_cmp);
  if (a.n != b.n) {
    print_error("SQL merge: %zu rows, C merge: %zu rows\n", a.n, b.n);
    for (size_t i = 0; i < a.n; i++)
      print_error("  sql %s\n", a.lines[i]);
    for (size_t i = 0; i < b.n; i++)
      print_error("  c   %s\n", b.lines[i]);
    fail();
  }
  for (size_t i = 0; i < a.n; i++)
    assert_string_equal(b.lines[i], a.lines[i]);
  return r;
}

static result sql_merged(const char *lo, const char *hi, lh_time cutoff) {
  lh_buf sql = LH_BUF_INIT;
  lh_buf_puts(&sql, "SELECT origin, id, value, strftime(first_seen, '%Y-%m-%d'), "
                    "strftime(last_seen, '%Y-%m-%d'), deleted_at IS NOT NULL FROM (");
  lh_merge_sql(&sql, "SELECT * FROM t", lo, hi, cutoff, true);
  lh_buf_puts(&sql, ")");
  result r = {0};
  lh_error err = {0};
  if (lh__duck_each_row(&duck, sql.data, collect, &r, &err)) {
    print_error("%s\n%s\n", err.message, sql.data);
    fail();
  }
  lh_buf_free(&sql);
  return r;
}

#define NOW T("2026-01-01")

static void expect(const result *r, const char *const *want, size_t n) {
  if (r->n != n) {
    print_error("%zu rows, want %zu\n", r->n, n);
    for (size_t i = 0; i < r->n; i++)
      print_error("  %s\n", r->lines[i]);
    fail();
  }
  for (size_t i = 0; i < n; i++)
    assert_string_equal(r->lines[i], want[i]);
}

static void test_duplicates_collapse_first_seen_folds(void **state) {
  (void)state;
  trow rows[] = {
      {"s1", "e1", "name", "Jane", NULL, "2024-05-01", "2024-05-01", NULL, NULL, NULL},
      {"s1", "e1", "name", "Jane", NULL, "2024-01-01", "2024-03-01", NULL, NULL, NULL},
      {"s1", "e1", "name", "Jane", NULL, "2024-06-01", "2024-06-01", NULL, NULL, NULL},
      {"s2", "e1", "name", "J.", NULL, "2024-02-01", "2024-02-01", NULL, NULL, NULL},
  };
  load(rows, 4);
  result r = merged(NULL, NULL, NOW);
  /* the latest row per id wins, with the earliest first_seen of all its copies */
  const char *want[] = {"\"default\" \"s1\" \"Jane\" \"2024-01-01\" \"2024-06-01\" false",
                        "\"default\" \"s2\" \"J.\" \"2024-02-01\" \"2024-02-01\" false"};
  expect(&r, want, 2);
}

static void test_tombstones_and_grace(void **state) {
  (void)state;
  trow rows[] = {
      {"s1", "e1", "name", "Jane", NULL, "2024-01-01", "2024-01-01", NULL, NULL, NULL},
      /* tombstone: last_seen = deleted_at */
      {"s1", "e1", "name", "Jane", NULL, "2024-01-01", "2025-12-20", "2025-12-20", NULL, NULL},
      {"s2", "e2", "name", "Old", NULL, "2024-01-01", "2024-01-01", NULL, NULL, NULL},
      {"s2", "e2", "name", "Old", NULL, "2024-01-01", "2025-06-01", "2025-06-01", NULL, NULL},
  };
  load(rows, 4);
  /* grace 30 days: the December tombstone is kept (it still shadows), the June one reaped */
  result r = merged(NULL, NULL, NOW - 30LL * 86400 * 1000000);
  const char *want[] = {"\"default\" \"s1\" \"Jane\" \"2024-01-01\" \"2025-12-20\" true"};
  expect(&r, want, 1);
  /* grace 0: both tombstones and the rows they beat disappear */
  r = merged(NULL, NULL, NOW);
  expect(&r, NULL, 0);
}

static void test_tombstone_wins_a_tie(void **state) {
  (void)state;
  trow rows[] = {
      {"s1", "e1", "name", "Jane", NULL, "2024-01-01", "2025-12-20", NULL, NULL, NULL},
      {"s1", "e1", "name", "Jane", NULL, "2024-01-01", "2025-12-20", "2025-12-20", NULL, NULL},
      {"s9", "e1", "alias", "JJ", "f", "2024-01-01", "2025-12-20", NULL, NULL, NULL},
      {"s9", "e1", "alias", "JJ", "f", "2024-01-01", "2025-12-20", "2025-12-20", NULL, NULL},
  };
  load(rows, 4);
  result r = merged(NULL, NULL, NOW - 30LL * 86400 * 1000000);
  const char *want[] = {"\"default\" \"s1\" \"Jane\" \"2024-01-01\" \"2025-12-20\" true",
                        "\"default\" \"s9\" \"JJ\" \"2024-01-01\" \"2025-12-20\" true"};
  expect(&r, want, 2);
}

static void test_origins_are_isolated(void **state) {
  (void)state;
  trow rows[] = {
      {"s1", "e1", "name", "Jane", NULL, "2024-01-01", "2024-01-01", NULL, "registry", NULL},
      {"s1", "e1", "name", "Jane", NULL, "2024-02-01", "2024-02-01", NULL, "crawl", NULL},
      {"s1", "e1", "name", "Jane", NULL, "2024-03-01", "2024-03-01", NULL, "crawl", NULL},
  };
  load(rows, 3);
  result r = merged(NULL, NULL, NOW);
  /* same id, two origins: one row per origin survives (sorted by entity, fragment, prop, id) */
  assert_int_equal(r.n, 2);
  bool crawl = false, registry = false;
  for (size_t i = 0; i < r.n; i++) {
    crawl |=
        strcmp(r.lines[i], "\"crawl\" \"s1\" \"Jane\" \"2024-02-01\" \"2024-03-01\" false") == 0;
    registry |=
        strcmp(r.lines[i], "\"registry\" \"s1\" \"Jane\" \"2024-01-01\" \"2024-01-01\" false") == 0;
  }
  assert_true(crawl && registry);
}

static void test_fragment_supersession(void **state) {
  (void)state;
  trow rows[] = {
      /* first emission of fragment f for (e1, name): two values */
      {"a1", "e1", "name", "A", "f", "2024-01-01", "2024-01-01", NULL, NULL, NULL},
      {"b1", "e1", "name", "B", "f", "2024-01-01", "2024-01-01", NULL, NULL, NULL},
      /* second emission replaces both with C and D (multi-valued emission survives) */
      {"c1", "e1", "name", "C", "f", "2024-02-01", "2024-02-01", NULL, NULL, NULL},
      {"d1", "e1", "name", "D", "f", "2024-02-01", "2024-02-01", NULL, NULL, NULL},
      /* another prop of the same fragment is its own group: its old value stays */
      {"x1", "e1", "alias", "X", "f", "2024-01-01", "2024-01-01", NULL, NULL, NULL},
      /* another fragment for the same prop is its own group */
      {"y1", "e1", "name", "Y", "g", "2024-01-01", "2024-01-01", NULL, NULL, NULL},
      /* the same content without a fragment is a separate row */
      {"a1", "e1", "name", "A", NULL, "2024-01-01", "2024-01-01", NULL, NULL, NULL},
      /* an identical re-emission of C collapses, folding first_seen */
      {"c1", "e1", "name", "C", "f", "2023-12-01", "2024-02-01", NULL, NULL, NULL},
  };
  load(rows, 8);
  result r = merged(NULL, NULL, NOW);
  const char *want[] = {
      "\"default\" \"a1\" \"A\" \"2024-01-01\" \"2024-01-01\" false", /* fragment '' first */
      "\"default\" \"x1\" \"X\" \"2024-01-01\" \"2024-01-01\" false",
      "\"default\" \"c1\" \"C\" \"2023-12-01\" \"2024-02-01\" false",
      "\"default\" \"d1\" \"D\" \"2024-02-01\" \"2024-02-01\" false",
      "\"default\" \"y1\" \"Y\" \"2024-01-01\" \"2024-01-01\" false",
  };
  expect(&r, want, 5);
  /* jitter: an emission one second apart is not the same emission - only the latest stays */
  trow jitter[] = {
      {"a1", "e1", "name", "A", "f", "2024-01-01 00:00:00", "2024-01-01 00:00:00", NULL, NULL,
       NULL},
      {"b1", "e1", "name", "B", "f", "2024-01-01 00:00:01", "2024-01-01 00:00:01", NULL, NULL,
       NULL},
  };
  load(jitter, 2);
  r = merged(NULL, NULL, NOW);
  assert_int_equal(r.n, 1);
  assert_non_null(strstr(r.lines[0], "\"b1\""));
  /* the same id in two fragments stays twice */
  trow twice[] = {
      {"a1", "e1", "name", "A", "f", "2024-01-01", "2024-01-01", NULL, NULL, NULL},
      {"a1", "e1", "name", "A", "g", "2024-01-01", "2024-01-01", NULL, NULL, NULL},
  };
  load(twice, 2);
  r = merged(NULL, NULL, NOW);
  assert_int_equal(r.n, 2);
}

static void test_fragment_tombstones(void **state) {
  (void)state;
  trow rows[] = {
      {"a1", "e1", "name", "A", "f", "2024-01-01", "2024-01-01", NULL, NULL, NULL},
      {"a1", "e1", "name", "A", "f", "2024-01-01", "2025-12-20", "2025-12-20", NULL, NULL},
  };
  load(rows, 2);
  result r = merged(NULL, NULL, NOW - 30LL * 86400 * 1000000);
  assert_int_equal(r.n, 1);
  assert_non_null(strstr(r.lines[0], "true")); /* within grace: the tombstone stays */
  r = merged(NULL, NULL, NOW);
  assert_int_equal(r.n, 0); /* past grace: gone */
}

static void test_idempotent_and_sorted(void **state) {
  (void)state;
  trow rows[] = {
      {"s3", "e2", "name", "B", NULL, "2024-01-01", "2024-01-01", NULL, NULL, NULL},
      {"s1", "e1", "name", "A", NULL, "2024-01-01", "2024-01-01", NULL, NULL, NULL},
      {"s2", "e1", "alias", "AA", NULL, "2024-01-01", "2024-01-01", NULL, NULL, NULL},
      {"s1", "e1", "name", "A", NULL, "2024-01-02", "2024-01-02", NULL, NULL, NULL},
  };
  load(rows, 4);
  result once = merged(NULL, NULL, NOW);
  const char *want[] = {"\"default\" \"s2\" \"AA\" \"2024-01-01\" \"2024-01-01\" false",
                        "\"default\" \"s1\" \"A\" \"2024-01-01\" \"2024-01-02\" false",
                        "\"default\" \"s3\" \"B\" \"2024-01-01\" \"2024-01-01\" false"};
  expect(&once, want, 3);
  /* merging the merged rows changes nothing */
  lh_buf sql = LH_BUF_INIT;
  lh_buf_puts(&sql, "CREATE OR REPLACE TABLE t AS ");
  lh_merge_sql(&sql, "SELECT * FROM t", NULL, NULL, NOW, true);
  lh_error err = {0};
  assert_int_equal(lh__duck_exec(&duck, sql.data, &err), 0);
  lh_buf_free(&sql);
  result twice = merged(NULL, NULL, NOW);
  expect(&twice, want, 3);
}

static void test_sliced_equals_single_pass(void **state) {
  (void)state;
  /* 40 entities x 2 duplicated rows, with quotes in some entity ids */
  trow rows[160];
  char ids[160][16], ents[160][16], vals[160][8];
  size_t n = 0;
  for (int e = 0; e < 40; e++)
    for (int k = 0; k < 2; k++)
      for (int dup = 0; dup < 2; dup++) {
        snprintf(ids[n], 16, "id%02d%d", e, k);
        snprintf(ents[n], 16, e % 7 == 0 ? "e'%02d" : "e%02d", e);
        snprintf(vals[n], 8, "v%d", k);
        rows[n] = (trow){
            ids[n], ents[n], "name", vals[n], NULL, "2024-01-01", dup ? "2024-02-01" : "2024-01-15",
            NULL,   NULL,    NULL};
        n++;
      }
  load(rows, n);
  static result single;
  single = merged(NULL, NULL, NOW);
  assert_int_equal(single.n, 80); /* 160 -> 80 */
  /* slice at bounds that include a quote: the literal must be escaped */
  const char *b[] = {"e'07", "e15", "e28"};
  static result sliced, part;
  sliced.n = 0;
  for (int i = 0; i <= 3; i++) {
    part = merged(i ? b[i - 1] : NULL, i < 3 ? b[i] : NULL, NOW);
    assert_true(part.n > 0);
    for (size_t k = 0; k < part.n; k++)
      memcpy(sliced.lines[sliced.n++], part.lines[k], 256);
  }
  /* the slices, in bound order, are the single pass: same rows, same order */
  assert_int_equal(sliced.n, single.n);
  for (size_t k = 0; k < single.n; k++)
    assert_string_equal(sliced.lines[k], single.lines[k]);
}

static void test_slicing_helpers(void **state) {
  (void)state;
  assert_int_equal(lh_merge_slice_count(0, "8GB", 32), 1);
  assert_int_equal(lh_merge_slice_count(-5, "8GB", 32), 1);
  assert_int_equal(lh_merge_slice_count(250000000, "8GB", 32), 1); /* 8e9 / 8e9 */
  assert_int_equal(lh_merge_slice_count(250000001, "8GB", 32), 2);
  assert_int_equal(lh_merge_slice_count(1000000000, "1GB", 32), 32);
  assert_int_equal(lh_merge_slice_count(1000000000, "80%", 32), 4); /* unparsable: 8GB */
  assert_int_equal(lh_merge_slice_count(1, "8GB", 1000000000000LL), 125);
  const char *sample[] = {"d", "a", "c", "b", "b", "e", "f", "g"};
  char **bounds;
  size_t nb;
  assert_int_equal(lh_slice_bounds(sample, 8, 4, &bounds, &nb), 0);
  assert_int_equal(nb, 3);
  assert_string_equal(bounds[0], "b");
  assert_string_equal(bounds[1], "d");
  assert_string_equal(bounds[2], "f");
  for (size_t i = 0; i < nb; i++)
    free(bounds[i]);
  free(bounds);
  /* degenerate: one slice, empty sample, all-equal sample, more slices than values */
  assert_int_equal(lh_slice_bounds(sample, 8, 1, &bounds, &nb), 0);
  assert_int_equal(nb, 0);
  assert_int_equal(lh_slice_bounds(NULL, 0, 5, &bounds, &nb), 0);
  assert_int_equal(nb, 0);
  const char *same[] = {"x", "x", "x", "x"};
  assert_int_equal(lh_slice_bounds(same, 4, 4, &bounds, &nb), 0);
  assert_int_equal(nb, 1); /* only strictly increasing bounds: [.., x), [x, ..) */
  free(bounds[0]);
  free(bounds);
  assert_int_equal(lh_slice_bounds(sample, 8, 100, &bounds, &nb), 0);
  assert_int_equal(nb, 6); /* clamped to the sample size, duplicates ("b") dropped */
  for (size_t i = 1; i < nb; i++)
    assert_true(strcmp(bounds[i - 1], bounds[i]) < 0);
  for (size_t i = 0; i < nb; i++)
    free(bounds[i]);
  free(bounds);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_duplicates_collapse_first_seen_folds),
      cmocka_unit_test(test_tombstones_and_grace),
      cmocka_unit_test(test_tombstone_wins_a_tie),
      cmocka_unit_test(test_origins_are_isolated),
      cmocka_unit_test(test_fragment_supersession),
      cmocka_unit_test(test_fragment_tombstones),
      cmocka_unit_test(test_idempotent_and_sorted),
      cmocka_unit_test(test_sliced_equals_single_pass),
      cmocka_unit_test(test_slicing_helpers),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
