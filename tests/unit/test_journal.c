/* storage/journal: the behaviours of test_storage_journal.py (inventory §11.1), each run on
 * a SQLite file, on in-memory SQLite where it applies, and on a real PostgreSQL that the
 * test run starts (tests/tools/pg_server.sh via the ctest fixture). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "storage/journal/journal_internal.h"
#include "testutil.h"

typedef struct backend {
  const char *name;
  char uri[512];
} backend;

static char *tmp_dir;
static backend SQLITE_FILE = {"sqlite", ""};
static backend SQLITE_MEMORY = {"sqlite-memory", "sqlite:///:memory:"};
static backend POSTGRES = {"postgresql", ""};

static int setup_all(void **state) {
  (void)state;
  tmp_dir = tu_tempdir();
  snprintf(SQLITE_FILE.uri, sizeof SQLITE_FILE.uri, "sqlite:///%s/journal.db", tmp_dir);
  const char *file = getenv("LH_TEST_PG_URI_FILE");
  if (!file) {
    /* outside ctest: PostgreSQL must be asked for explicitly, it never skips silently */
    if (!getenv("LH_TEST_NO_PG")) {
      fprintf(stderr, "LH_TEST_PG_URI_FILE is not set (run through ctest, or set "
                      "LH_TEST_NO_PG=1 to run without PostgreSQL)\n");
      return -1;
    }
    return 0;
  }
  size_t len;
  char *uri = tu_read_file(file, &len);
  while (len && (uri[len - 1] == '\n' || uri[len - 1] == ' '))
    uri[--len] = '\0';
  snprintf(POSTGRES.uri, sizeof POSTGRES.uri, "%s", uri);
  free(uri);
  return 0;
}

static int teardown_all(void **state) {
  (void)state;
  tu_rmtree(tmp_dir);
  free(tmp_dir);
  return 0;
}

/* A dataset name of its own for every test (PostgreSQL tables outlive a test). */
static const char *fresh_dataset(void) {
  static char name[64];
  static int n;
  snprintf(name, sizeof name, "t%d_%d", (int)getpid(), ++n);
  return name;
}

static lh_journal *open_journal(void **state, const char *dataset) {
  backend *b = *state;
  if (!b->uri[0])
    skip(); /* only with LH_TEST_NO_PG=1 outside ctest */
  lh_journal *j = NULL;
  lh_error err = {0};
  int rc = lh_journal_open(b->uri, dataset, NULL, &j, &err);
  if (rc)
    fail_msg("open %s: %s", b->uri, err.message);
  return j;
}

/* ---- rows from the shared data ------------------------------------------------------------ */

/* wd_persons exploded into rows under `dataset` (owned by the returned buffer). */
static lh_entity_buffer *load_rows(const char *dataset, int shards, const lh_row **rows,
                                   size_t *n) {
  lh_error err = {0};
  lh_buffer_opts o = {
      .dataset = dataset, .shards = shards, .last_seen = LH_TIME_NULL, .now = LH_TIME_NULL};
  lh_entity_buffer *b = NULL;
  assert_int_equal(lh_entity_buffer_new(&o, &b, &err), 0);
  assert_non_null(b);
  size_t len;
  char *text = tu_read_file(tu_shared("data/wd_persons/entities.ftm.json"), &len);
  lh_entity *e = NULL;
  assert_int_equal(lh_entity_new(tu_model(), &e, NULL), 0);
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    lh_delta_op op;
    assert_int_equal(lh_entity_parse_json(e, line, strlen(line), 0, &op, &err), 0);
    assert_int_equal(lh_entity_buffer_add_entity(b, e, NULL, NULL, &err), 0);
  }
  lh_entity_free(e);
  free(text);
  assert_int_equal(lh_entity_buffer_take(b, LH_TIME_NULL, rows, n, &err), 0);
  assert_true(*n > 3000);
  return b;
}

/* One line per row with every column, sorted: rows compare as multisets. */
static char *row_line(const lh_row *r) {
  char fs[LH_ISO_SIZE], ls[LH_ISO_SIZE], da[LH_ISO_SIZE] = "-";
  lh_time_format_iso(r->first_seen, fs);
  lh_time_format_iso(r->last_seen, ls);
  if (r->deleted_at != LH_TIME_NULL)
    lh_time_format_iso(r->deleted_at, da);
  char *s = NULL;
  assert_true(asprintf(&s, "%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%.*s|%s|%s|%d|%s|%s|%s|%s", r->shard,
                       r->id, r->entity_id, r->dataset, lh_bucket_name(r->bucket), r->origin,
                       r->source ? r->source : "<null>", r->schema, r->prop,
                       r->prop_type ? r->prop_type : "<null>", (int)r->value_len, r->value,
                       r->original_value ? r->original_value : "<null>",
                       r->lang ? r->lang : "<null>", r->external, fs, ls, r->fragment, da) > 0);
  return s;
}

typedef struct lines {
  char **v;
  size_t n, cap;
} lines;

static void lines_add(lines *l, char *s) {
  if (l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 1024;
    l->v = realloc(l->v, l->cap * sizeof *l->v);
  }
  l->v[l->n++] = s;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void lines_free(lines *l) {
  for (size_t i = 0; i < l->n; i++)
    free(l->v[i]);
  free(l->v);
  memset(l, 0, sizeof *l);
}

static void lines_of_rows(lines *l, const lh_row *rows, size_t n) {
  for (size_t i = 0; i < n; i++)
    lines_add(l, row_line(&rows[i]));
}

static void assert_same_rows(lines *a, lines *b) {
  assert_int_equal(a->n, b->n);
  qsort(a->v, a->n, sizeof *a->v, cmp_str);
  qsort(b->v, b->n, sizeof *b->v, cmp_str);
  for (size_t i = 0; i < a->n; i++)
    assert_string_equal(a->v[i], b->v[i]);
}

/* ---- a drain that records rows, and can fail or write during the flush ------------------- */

typedef struct drain {
  lines got;
  size_t segments;
  int fail;           /* return this after reading the rows */
  lh_journal *during; /* insert `during_rows` into it while draining */
  const lh_row *during_rows;
  size_t during_n;
  char prev_shard[LH_SHARD_SIZE];
  bool shard_order_broken;
} drain;

static int record(void *ctx, const char *segment, lh_row_batch_fn next, void *next_ctx,
                  lh_error *err) {
  drain *d = ctx;
  assert_non_null(strstr(segment, "-seg-"));
  d->segments++;
  d->prev_shard[0] = '\0';
  for (;;) {
    const lh_row *rows;
    size_t n;
    int rc = next(next_ctx, &rows, &n, err);
    if (rc)
      return rc;
    if (n == 0)
      break;
    for (size_t i = 0; i < n; i++) {
      if (strcmp(rows[i].shard, d->prev_shard) < 0)
        d->shard_order_broken = true;
      memcpy(d->prev_shard, rows[i].shard, LH_SHARD_SIZE);
    }
    lines_of_rows(&d->got, rows, n);
  }
  if (d->during) {
    assert_int_equal(lh_journal_insert(d->during, d->during_rows, d->during_n, err), 0);
    d->during = NULL;
  }
  if (d->fail)
    return lh_error_set(err, d->fail, "the store is unavailable");
  return 0;
}

static uint64_t count(lh_journal *j) {
  uint64_t n = 0;
  lh_error err = {0};
  assert_int_equal(lh_journal_count(j, &n, &err), 0);
  return n;
}

static size_t nsegments(lh_journal *j) {
  char **names;
  size_t n;
  lh_error err = {0};
  assert_int_equal(lh_journal_segments(j, &names, &n, &err), 0);
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
  return n;
}

/* ---- tests --------------------------------------------------------------------------------- */

static lh_row name_row(const char *dataset, const char *entity_id, const char *id,
                       const char *value);

static void test_empty_flush(void **state) {
  const char *ds = fresh_dataset();
  lh_journal *j = open_journal(state, ds);
  drain d = {0};
  lh_journal_flush_result r;
  lh_error err = {0};
  assert_int_equal(lh_journal_flush(j, false, record, &d, &r, &err), 0);
  assert_int_equal(r.rows, 0);
  assert_int_equal(r.segments, 0);
  assert_false(r.busy);
  assert_int_equal(d.segments, 0);
  assert_int_equal(count(j), 0);
  char table[80];
  snprintf(table, sizeof table, "journal_%s", ds);
  assert_string_equal(lh_journal_table(j), table);
  lh_journal_close(j);
}

static void test_roundtrip_real_rows(void **state) {
  const char *ds = fresh_dataset();
  lh_journal *j = open_journal(state, ds);
  const lh_row *rows;
  size_t n;
  lh_entity_buffer *b = load_rows(ds, 8, &rows, &n);
  lh_error err = {0};
  /* in two batches, as writers do */
  assert_int_equal(lh_journal_insert(j, rows, 1000, &err), 0);
  assert_int_equal(lh_journal_insert(j, rows + 1000, n - 1000, &err), 0);
  assert_int_equal(count(j), n);
  drain d = {0};
  lh_journal_flush_result r;
  assert_int_equal(lh_journal_flush(j, true, record, &d, &r, &err), 0);
  assert_int_equal(r.rows, n);
  assert_int_equal(r.segments, 1);
  assert_false(d.shard_order_broken); /* ordered by shard */
  lines want = {0};
  lines_of_rows(&want, rows, n);
  assert_same_rows(&want, &d.got);
  /* the flush emptied the journal, and a second flush has nothing to do */
  assert_int_equal(count(j), 0);
  assert_int_equal(nsegments(j), 0);
  drain d2 = {0};
  assert_int_equal(lh_journal_flush(j, true, record, &d2, &r, &err), 0);
  assert_int_equal(r.rows, 0);
  lines_free(&want);
  lines_free(&d.got);
  lh_entity_buffer_free(b);
  lh_journal_close(j);
}

/* Values that break naive escaping survive byte for byte; typed columns keep their types. */
static void test_awkward_values(void **state) {
  const char *ds = fresh_dataset();
  lh_journal *j = open_journal(state, ds);
  static const char *const values[] = {"tab\there",        "new\nline",    "carriage\rreturn",
                                       "back\\slash",      "\\N",          "quote\"double",
                                       "quote'single",     "ctrl\x01\x1f", "Îș unî©ođ€ 日本語",
                                       "comma, separated", "%_like",       "  spaced  "};
  size_t n = sizeof values / sizeof *values;
  lh_row rows[16];
  char ids[16][LH_SHA1_HEX_SIZE];
  for (size_t i = 0; i < n; i++) {
    lh_row *r = &rows[i];
    memset(r, 0, sizeof *r);
    snprintf(r->shard, sizeof r->shard, "%zx", i % 8);
    lh_sha1_hex(values[i], strlen(values[i]), ids[i]);
    r->id = ids[i];
    r->entity_id = "ent-1";
    r->dataset = ds;
    r->bucket = i % 2 ? LH_BUCKET_INTERVAL : LH_BUCKET_THING;
    r->origin = i % 3 ? "crawl" : "default";
    r->schema = "Person";
    r->prop = "name";
    r->prop_type = "name";
    r->value = values[i];
    r->value_len = strlen(values[i]);
    r->original_value = i % 2 ? values[(i + 1) % n] : NULL;
    r->lang = i % 2 ? "eng" : NULL;
    r->external = i % 2;
    r->first_seen = 1700000000123456LL + (int64_t)i;
    r->last_seen = 1700000999000000LL;
    r->fragment = i % 4 ? "frag\tment" : "";
    r->deleted_at = i == 3 ? 1700001000000001LL : LH_TIME_NULL;
  }
  lh_error err = {0};
  assert_int_equal(lh_journal_insert(j, rows, n, &err), 0);
  drain d = {0};
  lh_journal_flush_result r;
  assert_int_equal(lh_journal_flush(j, false, record, &d, &r, &err), 0);
  lines want = {0};
  lines_of_rows(&want, rows, n);
  assert_same_rows(&want, &d.got);
  lines_free(&want);
  lines_free(&d.got);
  lh_journal_close(j);
}

/* A failing consumer keeps the segment; the next flush drains it (and new rows too). */
static void test_failed_drain_keeps_rows(void **state) {
  const char *ds = fresh_dataset();
  lh_journal *j = open_journal(state, ds);
  const lh_row *rows;
  size_t n;
  lh_entity_buffer *b = load_rows(ds, 0, &rows, &n);
  lh_error err = {0};
  assert_int_equal(lh_journal_insert(j, rows, 500, &err), 0);
  drain bad = {.fail = LH_EIO};
  lh_journal_flush_result r;
  assert_int_equal(lh_journal_flush(j, false, record, &bad, &r, &err), LH_EIO);
  assert_non_null(strstr(err.message, "kept for the next flush"));
  assert_int_equal(count(j), 500);
  assert_int_equal(nsegments(j), 1);
  /* more rows arrive in the fresh live table */
  assert_int_equal(lh_journal_insert(j, rows + 500, 300, &err), 0);
  assert_int_equal(count(j), 800);
  drain good = {0};
  assert_int_equal(lh_journal_flush(j, false, record, &good, &r, &err), 0);
  assert_int_equal(good.segments, 2); /* the orphan first, then the new one */
  assert_int_equal(r.rows, 800);
  assert_int_equal(count(j), 0);
  assert_int_equal(nsegments(j), 0);
  lines_free(&bad.got);
  lines_free(&good.got);
  lh_entity_buffer_free(b);
  lh_journal_close(j);
}

/* Run SQL on the journal database behind the journal's back (file SQLite or PostgreSQL). */
static void raw_sql(const backend *be, const char *sql) {
  if (be == &POSTGRES) {
    PGconn *c = PQconnectdb(be->uri);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *res = PQexec(c, sql);
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    PQfinish(c);
    return;
  }
  sqlite3 *db;
  assert_int_equal(sqlite3_open(be->uri + strlen("sqlite:///"), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 60000);
  assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
}

/* Times that change from row to row and from insert to insert (writers format each time
 * once and keep its text while the next rows share it), NULL and set deletion times in the
 * same parameter, both values of `external`, in the many-row statements and the tail; and a
 * boolean written as text by someone else. */
static void test_times_vary(void **state) {
  backend *be = *state;
  const char *ds = fresh_dataset();
  lh_journal *j = open_journal(state, ds);
  enum { N = 200 };
  static lh_row rows[2][N];
  static char ids[2][N][LH_SHA1_HEX_SIZE];
  lh_error err = {0};
  lines want = {0};
  for (int k = 0; k < 2; k++) {
    for (int i = 0; i < N; i++) {
      lh_row *r = &rows[k][i];
      memset(r, 0, sizeof *r);
      snprintf(r->shard, sizeof r->shard, "%x", i % 4);
      char key[32];
      snprintf(key, sizeof key, "%d.%d", k, i);
      lh_sha1_hex(key, strlen(key), ids[k][i]);
      r->id = ids[k][i];
      r->entity_id = i % 2 ? "ent-a" : "ent-b";
      r->dataset = ds;
      r->bucket = LH_BUCKET_THING;
      r->origin = "crawl";
      r->schema = "Person";
      r->prop = "name";
      r->prop_type = "name";
      r->value = ids[k][i]; /* a value that outlives the loop */
      r->value_len = strlen(r->value);
      r->external = i % 5 == 0;
      r->first_seen = 1700000000000000LL + (int64_t)(i % 3) * 1000001 + k;
      r->last_seen = 1700000500000000LL + (int64_t)(i / 50) * 86400000000LL + k * 7;
      r->fragment = "";
      r->deleted_at = i % 7 == 3 ? 1700001000000000LL + i : LH_TIME_NULL;
    }
    assert_int_equal(lh_journal_insert(j, rows[k], N, &err), 0);
    lines_of_rows(&want, rows[k], N);
  }
  if (be != &SQLITE_MEMORY) {
    lh_row odd = rows[0][0];
    odd.id = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
    odd.external = false;
    assert_int_equal(lh_journal_insert(j, &odd, 1, &err), 0);
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE \"journal_%s\" SET external = 'true' WHERE id = '%s'", ds,
             odd.id);
    raw_sql(be, sql);
    odd.external = true;
    lines_add(&want, row_line(&odd));
  }
  drain d = {0};
  lh_journal_flush_result r;
  assert_int_equal(lh_journal_flush(j, false, record, &d, &r, &err), 0);
  assert_same_rows(&want, &d.got);
  lines_free(&want);
  lines_free(&d.got);
  lh_journal_close(j);
}

/* A writer that reuses its memory: the same row array and the same string buffers, their
 * contents rewritten between inserts at unchanged lengths (ids, values, origins, a language
 * where there was none and back, the times, a tombstone, the external flag). The SQLite
 * journal binds a parameter again only when its pointer or length changes, so every row
 * read back must hold what the buffers held when it was inserted, also after a flush made
 * the table anew (the prepared inserts are prepared again, their bindings kept). 130 rows a
 * round: two 64-row statements and two rows one at a time. */
static void test_reused_memory(void **state) {
  const char *ds = fresh_dataset();
  lh_journal *j = open_journal(state, ds);
  enum { N = 130, ROUNDS = 3 };
  static lh_row rows[N];
  static char ids[N][LH_SHA1_HEX_SIZE], vals[N][16], origin[8], lang[4], orig[8];
  lh_error err = {0};
  lines want = {0};
  drain d = {0};
  lh_journal_flush_result fr;
  for (int k = 0; k < ROUNDS; k++) {
    snprintf(origin, sizeof origin, "crawl%c", 'a' + k);
    snprintf(lang, sizeof lang, "%s", k == 1 ? "eng" : "deu");
    snprintf(orig, sizeof orig, "orig-%d", k);
    for (int i = 0; i < N; i++) {
      lh_row *r = &rows[i];
      snprintf(vals[i], sizeof vals[i], "r%d-v%04d", k, i);
      lh_sha1_hex(vals[i], strlen(vals[i]), ids[i]);
      *r = name_row(ds, i % 2 ? "ent-a" : "ent-b", ids[i], vals[i]);
      r->origin = origin;
      r->lang = k == 0 ? NULL : lang;
      r->original_value = k == 1 && i % 3 == 0 ? orig : NULL;
      r->external = (i + k) % 2 == 0;
      r->first_seen = 1700000000000000LL + k * 1000000LL;
      r->last_seen = 1700000500000000LL + k * 2000000LL;
      r->deleted_at = k == 1 ? 1700001000000000LL + i : LH_TIME_NULL;
    }
    assert_int_equal(lh_journal_insert(j, rows, N, &err), 0);
    lines_of_rows(&want, rows, N);
    if (k == 0) { /* the next rounds go into the table the flush creates anew */
      assert_int_equal(lh_journal_flush(j, false, record, &d, &fr, &err), 0);
      assert_int_equal(fr.rows, N);
    }
  }
  assert_int_equal(lh_journal_flush(j, false, record, &d, &fr, &err), 0);
  assert_int_equal(fr.rows, N * (ROUNDS - 1));
  assert_same_rows(&want, &d.got);
  lines_free(&want);
  lines_free(&d.got);
  lh_journal_close(j);
}

/* A row the flush's reader thread cannot read (a bucket that does not exist, written by
 * someone else): the flush fails with that row's error after the rows before it were read
 * ahead, nothing hangs, and the segment stays for the next flush. */
static void test_unreadable_row(void **state) {
  backend *be = *state;
  const char *ds = fresh_dataset();
  lh_journal *j = open_journal(state, ds);
  const lh_row *rows;
  size_t n;
  lh_entity_buffer *b = load_rows(ds, 0, &rows, &n);
  lh_error err = {0};
  size_t copies = 2 * 8192 / n + 1; /* more than two read batches (LH__JOURNAL_READ_BATCH) */
  for (size_t k = 0; k < copies; k++)
    assert_int_equal(lh_journal_insert(j, rows, n, &err), 0);
  lh_row last = rows[0];
  last.id = "ffffffffffffffffffffffffffffffffffffffff";
  assert_int_equal(lh_journal_insert(j, &last, 1, &err), 0);
  char sql[256];
  snprintf(sql, sizeof sql, "UPDATE \"journal_%s\" SET bucket = 'nope' WHERE id = '%s'", ds,
           last.id);
  raw_sql(be, sql);
  drain d = {0};
  lh_journal_flush_result r;
  assert_int_equal(lh_journal_flush(j, false, record, &d, &r, &err), LH_EPARSE);
  assert_non_null(strstr(err.message, "invalid bucket 'nope'"));
  assert_non_null(strstr(err.message, "kept for the next flush"));
  assert_true(d.got.n > 0); /* the batches before it arrived (as distinct lines) */
  assert_int_equal(count(j), copies * n + 1);
  assert_int_equal(nsegments(j), 1);
  lines_free(&d.got);
  lh_entity_buffer_free(b);
  lh_journal_close(j);
}

typedef struct entity_rows {
  uint64_t n;
  bool saw_deleted;
} entity_rows;

static int count_entity_row(void *ctx, const lh_row *row, lh_error *err) {
  (void)err;
  entity_rows *c = ctx;
  c->n++;
  if (row->deleted_at != LH_TIME_NULL)
    c->saw_deleted = true;
  assert_string_equal(row->entity_id, "Q61589");
  return 0;
}

static void test_iterate_entity(void **state) {
  const char *ds = fresh_dataset();
  lh_journal *j = open_journal(state, ds);
  const lh_row *rows;
  size_t n;
  lh_entity_buffer *b = load_rows(ds, 0, &rows, &n);
  size_t of_entity = 0;
  for (size_t i = 0; i < n; i++)
    of_entity += strcmp(rows[i].entity_id, "Q61589") == 0;
  assert_true(of_entity > 3);
  lh_error err = {0};
  assert_int_equal(lh_journal_insert(j, rows, n, &err), 0);
  /* leave an orphan segment behind, then add a tombstone and a duplicate row to the live table */
  drain bad = {.fail = LH_EIO};
  lh_journal_flush_result r;
  assert_int_equal(lh_journal_flush(j, false, record, &bad, &r, &err), LH_EIO);
  lh_row extra[2];
  for (size_t i = 0, k = 0; i < n && k < 2; i++)
    if (strcmp(rows[i].entity_id, "Q61589") == 0)
      extra[k++] = rows[i];
  extra[1].deleted_at = lh_time_now();
  assert_int_equal(lh_journal_insert(j, extra, 2, &err), 0);
  entity_rows c = {0};
  assert_int_equal(lh_journal_iterate_entity(j, "Q61589", count_entity_row, &c, &err), 0);
  assert_int_equal(c.n, of_entity + 1); /* live rows only: the tombstone is not returned */
  assert_false(c.saw_deleted);
  lines_free(&bad.got);
  lh_entity_buffer_free(b);
  lh_journal_close(j);
}

/* Rows written while a flush drains land in the fresh table and wait for the next flush. */
static void test_writes_during_flush(void **state) {
  const char *ds = fresh_dataset();
  lh_journal *j = open_journal(state, ds);
  backend *be = *state;
  const lh_row *rows;
  size_t n;
  lh_entity_buffer *b = load_rows(ds, 0, &rows, &n);
  lh_error err = {0};
  assert_int_equal(lh_journal_insert(j, rows, 100, &err), 0);
  lh_journal *writer = j;
  if (strcmp(be->name, "sqlite-memory") != 0) /* another connection, as another process */
    assert_int_equal(lh_journal_open(be->uri, ds, NULL, &writer, &err), 0);
  drain d = {.during = writer, .during_rows = rows + 100, .during_n = 50};
  lh_journal_flush_result r;
  assert_int_equal(lh_journal_flush(j, false, record, &d, &r, &err), 0);
  assert_int_equal(r.rows, 100);
  assert_int_equal(count(j), 50);
  drain d2 = {0};
  assert_int_equal(lh_journal_flush(j, false, record, &d2, &r, &err), 0);
  assert_int_equal(r.rows, 50);
  if (writer != j)
    lh_journal_close(writer);
  lines_free(&d.got);
  lines_free(&d2.got);
  lh_entity_buffer_free(b);
  lh_journal_close(j);
}

/* One flush per dataset at a time: a second handle's flush during a flush does nothing. */
typedef struct nested {
  const char *uri, *dataset;
  lh_journal_flush_result inner;
} nested;

static int flush_inside(void *ctx, const char *segment, lh_row_batch_fn next, void *next_ctx,
                        lh_error *err) {
  (void)segment;
  nested *x = ctx;
  const lh_row *rows;
  size_t n;
  do {
    assert_int_equal(next(next_ctx, &rows, &n, err), 0);
  } while (n);
  lh_journal *other;
  assert_int_equal(lh_journal_open(x->uri, x->dataset, NULL, &other, err), 0);
  drain d = {0};
  assert_int_equal(lh_journal_flush(other, false, record, &d, &x->inner, err), 0);
  lines_free(&d.got);
  lh_journal_close(other);
  return 0;
}

static void test_one_flush_at_a_time(void **state) {
  backend *be = *state;
  const char *ds = fresh_dataset();
  lh_journal *j = open_journal(state, ds);
  const lh_row *rows;
  size_t n;
  lh_entity_buffer *b = load_rows(ds, 0, &rows, &n);
  lh_error err = {0};
  assert_int_equal(lh_journal_insert(j, rows, 10, &err), 0);
  nested x = {be->uri, ds, {0}};
  lh_journal_flush_result r;
  assert_int_equal(lh_journal_flush(j, false, flush_inside, &x, &r, &err), 0);
  assert_true(x.inner.busy);
  assert_int_equal(x.inner.rows, 0);
  assert_int_equal(r.rows, 10);
  assert_int_equal(count(j), 0);
  lh_entity_buffer_free(b);
  lh_journal_close(j);
}

static void test_duplicates_count_clear(void **state) {
  const char *ds = fresh_dataset();
  lh_journal *j = open_journal(state, ds);
  const lh_row *rows;
  size_t n;
  lh_entity_buffer *b = load_rows(ds, 0, &rows, &n);
  lh_error err = {0};
  for (int i = 0; i < 3; i++) /* a heap: re-emissions accumulate */
    assert_int_equal(lh_journal_insert(j, rows, 1, &err), 0);
  assert_int_equal(count(j), 3);
  /* an orphan segment plus live rows: clear removes both */
  drain bad = {.fail = LH_EIO};
  lh_journal_flush_result r;
  assert_int_equal(lh_journal_flush(j, false, record, &bad, &r, &err), LH_EIO);
  assert_int_equal(lh_journal_insert(j, rows, 7, &err), 0);
  uint64_t removed = 0;
  assert_int_equal(lh_journal_clear(j, &removed, &err), 0);
  assert_int_equal(removed, 10);
  assert_int_equal(count(j), 0);
  assert_int_equal(nsegments(j), 0);
  lines_free(&bad.got);
  lh_entity_buffer_free(b);
  lh_journal_close(j);
}

/* A NULL in a required column or a bad origin rejects the whole batch, naming the column. */
static void test_bad_rows(void **state) {
  const char *ds = fresh_dataset();
  lh_journal *j = open_journal(state, ds);
  const lh_row *rows;
  size_t n;
  lh_entity_buffer *b = load_rows(ds, 0, &rows, &n);
  lh_row bad[3] = {rows[0], rows[1], rows[2]};
  bad[2].value = NULL;
  lh_error err = {0};
  assert_int_equal(lh_journal_insert(j, bad, 3, &err), LH_EINVAL);
  assert_non_null(strstr(err.message, "'value'"));
  assert_non_null(strstr(err.message, "row 3"));
  bad[2] = rows[2];
  bad[1].origin = "../etc";
  assert_int_equal(lh_journal_insert(j, bad, 3, &err), LH_EINVAL);
  assert_int_equal(count(j), 0);
  lh_entity_buffer_free(b);
  lh_journal_close(j);
}

/* A Thing's name statement of shard 0 (the strings are the caller's). */
static lh_row name_row(const char *dataset, const char *entity_id, const char *id,
                       const char *value) {
  return (lh_row){.shard = "0",
                  .id = id,
                  .entity_id = entity_id,
                  .dataset = dataset,
                  .bucket = LH_BUCKET_THING,
                  .origin = "default",
                  .schema = "Thing",
                  .prop = "name",
                  .prop_type = "name",
                  .value = value,
                  .value_len = strlen(value),
                  .first_seen = 1,
                  .last_seen = 2,
                  .fragment = "",
                  .deleted_at = LH_TIME_NULL};
}

/* 10 001 rows of one shard go through one flush intact. */
static void test_many_rows_one_shard(void **state) {
  const char *ds = fresh_dataset();
  lh_journal *j = open_journal(state, ds);
  size_t n = 10001;
  lh_row *rows = calloc(n, sizeof *rows);
  char(*ids)[LH_SHA1_HEX_SIZE] = calloc(n, sizeof *ids);
  char(*vals)[24] = calloc(n, sizeof *vals);
  for (size_t i = 0; i < n; i++) {
    snprintf(vals[i], sizeof vals[i], "value %zu", i);
    lh_sha1_hex(vals[i], strlen(vals[i]), ids[i]);
    rows[i] = name_row(ds, "big", ids[i], vals[i]);
  }
  lh_error err = {0};
  assert_int_equal(lh_journal_insert(j, rows, n, &err), 0);
  drain d = {0};
  lh_journal_flush_result r;
  assert_int_equal(lh_journal_flush(j, true, record, &d, &r, &err), 0);
  assert_int_equal(r.rows, n);
  lines want = {0};
  lines_of_rows(&want, rows, n);
  assert_same_rows(&want, &d.got);
  lines_free(&want);
  lines_free(&d.got);
  free(rows);
  free(ids);
  free(vals);
  lh_journal_close(j);
}

/* SQLite: a many-row INSERT whose NOT NULL checks could abort it half-way needs a
 * statement journal, which SQLite spills to a temp file past 64 KiB: with 64 KiB pages it
 * wrote every page an insert touched a second time (15 GB for 10 M statements). The
 * journal's inserts must not open one; a VFS shim counts the sub-journal files opened. */
static sqlite3_vfs *real_vfs;
static sqlite3_vfs shim_vfs;
static int subjournal_opens;

static int shim_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags,
                     int *out) {
  (void)vfs;
  if (flags & SQLITE_OPEN_SUBJOURNAL)
    subjournal_opens++;
  return real_vfs->xOpen(real_vfs, name, f, flags, out);
}

static void test_no_statement_journal(void **state) {
  real_vfs = sqlite3_vfs_find(NULL);
  assert_non_null(real_vfs);
  shim_vfs = *real_vfs;
  shim_vfs.zName = "lh-test-shim";
  shim_vfs.xOpen = shim_open;
  assert_int_equal(sqlite3_vfs_register(&shim_vfs, 1), SQLITE_OK);
  subjournal_opens = 0;
  const char *ds = fresh_dataset();
  lh_journal *j = open_journal(state, ds);
  const lh_row *rows;
  size_t n;
  lh_entity_buffer *b = load_rows(ds, 0, &rows, &n);
  assert_true(n > 1000);
  lh_error err = {0};
  assert_int_equal(lh_journal_insert(j, rows, n, &err), 0);
  assert_int_equal(count(j), n);
  assert_int_equal(subjournal_opens, 0);
  lh_entity_buffer_free(b);
  lh_journal_close(j);
  sqlite3_vfs_register(real_vfs, 1);
  sqlite3_vfs_unregister(&shim_vfs);
}

/* SQLite, bulk mode: the checkpointer's PASSIVE checkpoints copy WAL frames into the database
 * file, but SQLite syncs that file only in the checkpoint that completes the WAL (the
 * RESTART), which holds the inserts meanwhile: that sync wrote back every page copied since
 * the last restart (256 MB), 0.3 s each time. The checkpointer syncs the file after each of
 * its checkpoints, and catches up before the RESTART, so no sync finds much. A VFS shim
 * counts the bytes written to the database file between syncs, and to the WAL. */
typedef struct io_shim {
  sqlite3_file base;
  sqlite3_file *real;
  int kind; /* 1 the database, 2 its WAL, 0 else */
} io_shim;

static pthread_mutex_t io_mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t db_unsynced, db_unsynced_max, db_syncs, wal_written, wal_end, wal_restarts;

#define REAL(f) (((io_shim *)(f))->real)
static int io_close(sqlite3_file *f) {
  int rc = REAL(f)->pMethods->xClose(REAL(f));
  f->pMethods = NULL;
  return rc;
}
static int io_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o) {
  return REAL(f)->pMethods->xRead(REAL(f), b, n, o);
}
static int db_write_delay_us; /* a slow disk under the database file: checkpoints lag */

static int io_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o) {
  io_shim *sf = (io_shim *)f;
  if (sf->kind == 1 && db_write_delay_us)
    usleep((useconds_t)db_write_delay_us);
  pthread_mutex_lock(&io_mu);
  if (sf->kind == 1) {
    db_unsynced += n;
  } else if (sf->kind == 2) {
    wal_written += n;
    if (o == 0 && wal_end > 0) /* the header again: the WAL starts over */
      wal_restarts++;
    if (o + n > wal_end)
      wal_end = o + n;
  }
  pthread_mutex_unlock(&io_mu);
  return REAL(f)->pMethods->xWrite(REAL(f), b, n, o);
}
static int io_truncate(sqlite3_file *f, sqlite3_int64 size) {
  return REAL(f)->pMethods->xTruncate(REAL(f), size);
}
static int io_sync(sqlite3_file *f, int flags) {
  io_shim *sf = (io_shim *)f;
  if (sf->kind == 1) {
    pthread_mutex_lock(&io_mu);
    if (db_unsynced > db_unsynced_max)
      db_unsynced_max = db_unsynced;
    db_unsynced = 0;
    db_syncs++;
    pthread_mutex_unlock(&io_mu);
  }
  return REAL(f)->pMethods->xSync(REAL(f), flags);
}
static int io_size(sqlite3_file *f, sqlite3_int64 *size) {
  return REAL(f)->pMethods->xFileSize(REAL(f), size);
}
static int io_lock(sqlite3_file *f, int l) {
  return REAL(f)->pMethods->xLock(REAL(f), l);
}
static int io_unlock(sqlite3_file *f, int l) {
  return REAL(f)->pMethods->xUnlock(REAL(f), l);
}
static int io_reserved(sqlite3_file *f, int *out) {
  return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}
static int io_control(sqlite3_file *f, int op, void *arg) {
  if (op == SQLITE_FCNTL_FILE_POINTER) { /* the handle SQLite's callers see is ours */
    *(sqlite3_file **)arg = f;
    return SQLITE_OK;
  }
  return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}
static int io_sector(sqlite3_file *f) {
  return REAL(f)->pMethods->xSectorSize(REAL(f));
}
static int io_device(sqlite3_file *f) {
  return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int io_shm_map(sqlite3_file *f, int pg, int sz, int extend, void volatile **out) {
  return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, extend, out);
}
static int io_shm_lock(sqlite3_file *f, int offset, int n, int flags) {
  return REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags);
}
static void io_shm_barrier(sqlite3_file *f) {
  REAL(f)->pMethods->xShmBarrier(REAL(f));
}
static int io_shm_unmap(sqlite3_file *f, int del) {
  return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}
#undef REAL

static const sqlite3_io_methods IO_SHIM = {
    2,           io_close,       io_read,      io_write,   io_truncate, io_sync,   io_size,
    io_lock,     io_unlock,      io_reserved,  io_control, io_sector,   io_device, io_shm_map,
    io_shm_lock, io_shm_barrier, io_shm_unmap, NULL,       NULL};

static int io_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags, int *out) {
  (void)vfs;
  io_shim *sf = (io_shim *)f;
  sf->real = (sqlite3_file *)(sf + 1);
  sf->kind = flags & SQLITE_OPEN_MAIN_DB ? 1 : flags & SQLITE_OPEN_WAL ? 2 : 0;
  int rc = real_vfs->xOpen(real_vfs, name, sf->real, flags, out);
  f->pMethods = rc == SQLITE_OK && sf->real->pMethods ? &IO_SHIM : NULL;
  return rc;
}

/* A bulk import of 850 MB into `file` through the counting shim (the counts are left in the
 * globals above). */
static void bulk_import(const char *file) {
  real_vfs = sqlite3_vfs_find(NULL);
  assert_non_null(real_vfs);
  shim_vfs = *real_vfs;
  shim_vfs.zName = "lh-test-io-shim";
  shim_vfs.szOsFile = (int)sizeof(io_shim) + real_vfs->szOsFile;
  shim_vfs.xOpen = io_open;
  assert_int_equal(sqlite3_vfs_register(&shim_vfs, 1), SQLITE_OK);
  db_unsynced = db_unsynced_max = db_syncs = wal_written = wal_end = wal_restarts = 0;
  char uri[600];
  snprintf(uri, sizeof uri, "sqlite:///%s/%s", tmp_dir, file);
  lh_journal *j = NULL;
  lh_error err = {0};
  if (lh_journal_open(uri, "bulk", NULL, &j, &err))
    fail_msg("open %s: %s", uri, err.message);
  assert_int_equal(lh_journal_bulk(j, true, &err), 0);
  /* 3.9 M rows of about 210 bytes (850 MB): past the 4,000-page (256 MiB) WAL of a restart,
   * and past the bound on its length below */
  enum { BATCH = 16384, BATCHES = 240 };
  lh_row *rows = calloc(BATCH, sizeof *rows);
  char(*ids)[LH_SHA1_HEX_SIZE] = calloc(BATCH, sizeof *ids);
  char(*vals)[96] = calloc(BATCH, sizeof *vals);
  for (int k = 0; k < BATCHES; k++) {
    for (size_t i = 0; i < BATCH; i++) {
      snprintf(vals[i], sizeof vals[i], "value %d %zu of a statement of a bulk import", k, i);
      lh_sha1_hex(vals[i], strlen(vals[i]), ids[i]);
      rows[i] = name_row("bulk", "bulk-entity", ids[i], vals[i]);
    }
    if (lh_journal_insert(j, rows, BATCH, &err))
      fail_msg("insert: %s", err.message);
  }
  assert_int_equal(lh_journal_bulk(j, false, &err), 0);
  uint64_t n = 0;
  assert_int_equal(lh_journal_count(j, &n, &err), 0);
  assert_int_equal(n, (uint64_t)BATCH * BATCHES);
  lh_journal_close(j); /* its threads are joined: the counts are final */
  sqlite3_vfs_register(real_vfs, 1);
  sqlite3_vfs_unregister(&shim_vfs);
  free(rows);
  free(ids);
  free(vals);
}

static void test_bulk_checkpoints(void **state) {
  (void)state;
  bulk_import("bulk.db");
  int64_t max = db_unsynced_max > db_unsynced ? db_unsynced_max : db_unsynced;
  print_message("WAL: %.0f MB written, %.0f MB long, %lld restarts; database file: %lld syncs, "
                "at most %.0f MB unsynced\n",
                wal_written / 1e6, wal_end / 1e6, (long long)wal_restarts, (long long)db_syncs,
                max / 1e6);
  /* the WAL started over, and stayed within reach of 256 MiB: it grows while the checkpointer
   * catches up (to 330-500 MB here; see test_bulk_slow_checkpoints for the bound) */
  assert_true(wal_restarts >= 1);
  assert_true(wal_end < 640LL << 20);
  /* no sync of the database file had the whole WAL of a restart to write (255 MB when only the
   * RESTART synced): a checkpoint's pages, more of them when the checkpointer falls behind on
   * a busy machine (65 MB alone, up to 142 MB beside a CPU hog) */
  assert_true(max < 200LL << 20);
}

/* Checkpoints that fall behind the inserts (each page written to the database file takes
 * 300 us more): past 8,000 pages (524 MB) the inserting connection runs the RESTART itself
 * and waits for it, instead of growing the WAL (856 MB, all of the import, without that). */
static void test_bulk_slow_checkpoints(void **state) {
  (void)state;
  db_write_delay_us = 300;
  bulk_import("bulk-slow.db");
  db_write_delay_us = 0;
  print_message("slow checkpoints: WAL %.0f MB long, %lld restarts\n", wal_end / 1e6,
                (long long)wal_restarts);
  assert_true(wal_restarts >= 1);
  assert_true(wal_end < 560LL << 20); /* 8,000 pages and one transaction */
}

/* SQLite: a connection's page cache stays at 8 MiB whatever it does (bulk inserts, scans,
 * other writes): the journal's memory does not grow with what goes through it. */
static int cache_kib(lh_journal *j) {
  char *out = NULL;
  lh_error err = {0};
  assert_int_equal(j->ops->sql(j, "PRAGMA cache_size", 0, NULL, &out, &err), 0);
  assert_non_null(out);
  int v = atoi(out);
  free(out);
  return v;
}

static int count_row(void *ctx, const lh_row *row, lh_error *err) {
  (void)row;
  (void)err;
  (*(size_t *)ctx)++;
  return 0;
}

static void test_bulk_cache(void **state) {
  const char *ds = fresh_dataset();
  lh_journal *j = open_journal(state, ds);
  const lh_row *rows;
  size_t n, found = 0;
  lh_entity_buffer *b = load_rows(ds, 0, &rows, &n);
  lh_error err = {0};
  assert_int_equal(cache_kib(j), -8192);
  assert_int_equal(lh_journal_bulk(j, true, &err), 0);
  assert_int_equal(lh_journal_insert(j, rows, n, &err), 0);
  assert_int_equal(cache_kib(j), -8192);
  assert_int_equal(lh_journal_iterate_entity(j, rows[0].entity_id, count_row, &found, &err), 0);
  assert_true(found > 0);
  assert_int_equal(cache_kib(j), -8192);
  assert_int_equal(lh_journal_bulk(j, false, &err), 0);
  assert_int_equal(cache_kib(j), -8192);
  lh_entity_buffer_free(b);
  lh_journal_close(j);
}

/* PostgreSQL: the journal is a heap (no index, key or constraint besides NOT NULL), and a
 * flush deletes and updates nothing (no dead tuples in the live table). */
static void test_pg_heap(void **state) {
  backend *be = *state;
  const char *ds = fresh_dataset();
  lh_journal *j = open_journal(state, ds);
  const lh_row *rows;
  size_t n;
  lh_entity_buffer *b = load_rows(ds, 0, &rows, &n);
  lh_error err = {0};
  assert_int_equal(lh_journal_insert(j, rows, n, &err), 0);
  drain d = {0};
  lh_journal_flush_result r;
  assert_int_equal(lh_journal_flush(j, false, record, &d, &r, &err), 0);
  PGconn *c = PQconnectdb(be->uri);
  assert_int_equal(PQstatus(c), CONNECTION_OK);
  char sql[512];
  snprintf(sql, sizeof sql,
           "SELECT (SELECT count(*) FROM pg_indexes WHERE tablename LIKE 'journal_%s%%'), "
           "(SELECT count(*) FROM information_schema.table_constraints WHERE table_name = "
           "'journal_%s' AND constraint_type IN ('PRIMARY KEY', 'UNIQUE'))",
           ds, ds);
  PGresult *res = PQexec(c, sql);
  assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
  assert_string_equal(PQgetvalue(res, 0, 0), "0");
  assert_string_equal(PQgetvalue(res, 0, 1), "0");
  PQclear(res);
  PQfinish(c);
  lines_free(&d.got);
  lh_entity_buffer_free(b);
  lh_journal_close(j);
}

/* Two lakes share one journal database and one dataset name: each writer's rows go to a
 * table registered for its dataset URI, and a flush drains its own rows only. A lake whose
 * folder is gone (it moved) hands its table to the dataset that asks next. */
static void test_lakes_share_a_journal(void **state) {
  backend *b = *state;
  if (!b->uri[0])
    skip();
  const char *ds = fresh_dataset();
  char a_uri[600], b_uri[600], moved[600];
  snprintf(a_uri, sizeof a_uri, "file://%s/lake_a/%s", tmp_dir, ds);
  snprintf(b_uri, sizeof b_uri, "file://%s/lake_b/%s", tmp_dir, ds);
  snprintf(moved, sizeof moved, "file://%s/lake_c/%s", tmp_dir, ds);
  char dir[600];
  snprintf(dir, sizeof dir, "%s/lake_a/%s", tmp_dir, ds);
  char cmd[1300];
  snprintf(cmd, sizeof cmd, "mkdir -p %s/lake_a/%s %s/lake_b/%s", tmp_dir, ds, tmp_dir, ds);
  assert_int_equal(system(cmd), 0);
  lh_error err = {0};
  lh_journal *ja, *jb;
  assert_int_equal(lh_journal_open(b->uri, ds, a_uri, &ja, &err), 0);
  assert_int_equal(lh_journal_open(b->uri, ds, b_uri, &jb, &err), 0);
  char base[80];
  snprintf(base, sizeof base, "journal_%s", ds);
  assert_string_equal(lh_journal_table(ja), base);
  assert_string_not_equal(lh_journal_table(jb), base);
  assert_int_equal(strncmp(lh_journal_table(jb), base, strlen(base)), 0);
  assert_int_equal(lh_journal_table(jb)[strlen(base)], '-');
  const lh_row *rows;
  size_t n;
  lh_entity_buffer *buf = load_rows(ds, 0, &rows, &n);
  assert_int_equal(lh_journal_insert(ja, rows, n, &err), 0);
  assert_int_equal(lh_journal_insert(jb, rows, 10, &err), 0);
  /* B's flush takes B's 10 rows, A's flush A's rows */
  drain d = {0};
  lh_journal_flush_result r;
  assert_int_equal(lh_journal_flush(jb, false, record, &d, &r, &err), 0);
  assert_int_equal(r.rows, 10);
  assert_int_equal(count(ja), n);
  lines_free(&d.got);
  memset(&d, 0, sizeof d);
  assert_int_equal(lh_journal_flush(ja, false, record, &d, &r, &err), 0);
  assert_int_equal(r.rows, n);
  lines_free(&d.got);
  /* reopening finds the same tables */
  lh_journal *again;
  assert_int_equal(lh_journal_open(b->uri, ds, b_uri, &again, &err), 0);
  assert_string_equal(lh_journal_table(again), lh_journal_table(jb));
  lh_journal_close(again);
  /* lake A moves: its dataset at the new place takes journal_{ds} over, B keeps its own */
  assert_int_equal(lh_journal_insert(ja, rows, 5, &err), 0);
  lh_journal_close(ja);
  snprintf(cmd, sizeof cmd, "mv %s/lake_a %s/lake_c", tmp_dir, tmp_dir);
  assert_int_equal(system(cmd), 0);
  assert_int_equal(lh_journal_open(b->uri, ds, moved, &ja, &err), 0);
  assert_string_equal(lh_journal_table(ja), base);
  assert_int_equal(count(ja), 5);
  lh_journal_close(ja);
  lh_journal_close(jb);
  lh_entity_buffer_free(buf);
  (void)dir;
}

static void test_bad_uris(void **state) {
  (void)state;
  lh_journal *j;
  lh_error err = {0};
  assert_int_equal(lh_journal_open("mysql://x", "ds", NULL, &j, &err), LH_EUNSUPPORTED);
  assert_non_null(strstr(err.message, "unsupported scheme"));
  assert_int_equal(lh_journal_open("sqlite:///tmp/x.db", "Bad-Name", NULL, &j, &err), LH_EINVAL);
  assert_int_equal(lh_journal_open("sqlite:////nonexistent/dir/j.db", "ds", NULL, &j, &err),
                   LH_EIO);
  assert_int_equal(lh_journal_open("postgresql://127.0.0.1:1/nothing", "ds", NULL, &j, &err),
                   LH_EIO);
  assert_non_null(strstr(err.message, "connect"));
}

#define FOR_BACKENDS(t)                                                                            \
  cmocka_unit_test_prestate(t, &SQLITE_FILE), cmocka_unit_test_prestate(t, &SQLITE_MEMORY),        \
      cmocka_unit_test_prestate(t, &POSTGRES)

int main(void) {
  const struct CMUnitTest tests[] = {
      FOR_BACKENDS(test_empty_flush),
      FOR_BACKENDS(test_roundtrip_real_rows),
      FOR_BACKENDS(test_awkward_values),
      FOR_BACKENDS(test_failed_drain_keeps_rows),
      FOR_BACKENDS(test_times_vary),
      FOR_BACKENDS(test_reused_memory),
      cmocka_unit_test_prestate(test_unreadable_row, &SQLITE_FILE),
      cmocka_unit_test_prestate(test_unreadable_row, &POSTGRES),
      FOR_BACKENDS(test_iterate_entity),
      FOR_BACKENDS(test_writes_during_flush),
      /* in-memory SQLite is private to its handle: no second flusher can exist */
      cmocka_unit_test_prestate(test_one_flush_at_a_time, &SQLITE_FILE),
      cmocka_unit_test_prestate(test_one_flush_at_a_time, &POSTGRES),
      FOR_BACKENDS(test_duplicates_count_clear),
      FOR_BACKENDS(test_bad_rows),
      FOR_BACKENDS(test_many_rows_one_shard),
      cmocka_unit_test_prestate(test_no_statement_journal, &SQLITE_FILE),
      cmocka_unit_test_prestate(test_bulk_cache, &SQLITE_FILE),
      cmocka_unit_test_prestate(test_bulk_checkpoints, &SQLITE_FILE),
      cmocka_unit_test_prestate(test_bulk_slow_checkpoints, &SQLITE_FILE),
      cmocka_unit_test_prestate(test_pg_heap, &POSTGRES),
      cmocka_unit_test_prestate(test_lakes_share_a_journal, &SQLITE_FILE),
      cmocka_unit_test_prestate(test_lakes_share_a_journal, &POSTGRES),
      cmocka_unit_test(test_bad_uris),
  };
  return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
