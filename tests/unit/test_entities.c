/* repository/entities: every file of ../shared/data imported (through the journal and
 * directly), flushed, optimized and read back with the same entities and values; safe /
 * unsafe parity; writer batches; delete and re-add; queries; bad input keeps what came
 * before it. The journal is the default SQLite file of the lake. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "testutil.h"

/* ---- entities as sorted "id\tprop\tvalue" lines -------------------------------------------- */

typedef struct lines {
  char **v;
  size_t n, cap;
} lines;

static void add_line(lines *l, const char *id, const char *prop, const char *value) {
  if (l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 4096;
    l->v = realloc(l->v, l->cap * sizeof *l->v);
  }
  assert_true(asprintf(&l->v[l->n++], "%s\t%s\t%s", id, prop, value) > 0);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void finish_lines(lines *l) {
  if (l->n == 0)
    return;
  qsort(l->v, l->n, sizeof *l->v, cmp_str);
  size_t o = 0;
  for (size_t i = 0; i < l->n; i++) {
    if (o && strcmp(l->v[o - 1], l->v[i]) == 0) {
      free(l->v[i]);
      continue;
    }
    l->v[o++] = l->v[i];
  }
  l->n = o;
}

static void free_lines(lines *l) {
  for (size_t i = 0; i < l->n; i++)
    free(l->v[i]);
  free(l->v);
  memset(l, 0, sizeof *l);
}

static void assert_same_lines(const lines *want, const lines *got) {
  size_t i = 0, k = 0;
  while (i < want->n || k < got->n) {
    int c = i == want->n ? 1 : k == got->n ? -1 : strcmp(want->v[i], got->v[k]);
    if (c < 0)
      fail_msg("missing after the round trip: %.200s", want->v[i]);
    if (c > 0)
      fail_msg("not in the input: %.200s", got->v[k]);
    i++;
    k++;
  }
}

/* The lines of an entity as the lakehouse stores it: ids namespace-stripped, references
 * stripped (unclean ones and self references dropped). */
static void entity_lines(lines *l, const lh_entity *e, bool with_schema) {
  char id[LH_ENTITY_ID_MAX + 1];
  const char *raw = lh_entity_id(e);
  size_t n = lh_entity_id_strip_namespace(raw, strlen(raw));
  snprintf(id, sizeof id, "%.*s", (int)n, raw);
  if (with_schema)
    add_line(l, id, "#schema", lh_entity_schema(e)->name);
  add_line(l, id, "#exists", "");
  size_t np = lh_entity_property_count(e);
  for (size_t i = 0; i < np; i++) {
    const char *const *values;
    size_t nv;
    const lh_property *p = lh_entity_property_at(e, i, &values, &nv);
    for (size_t k = 0; k < nv; k++) {
      if (p->type->id == LH_TYPE_ENTITY) {
        char ref[LH_ENTITY_ID_MAX + 1];
        size_t rn = lh_entity_id_strip_namespace(values[k], strlen(values[k]));
        snprintf(ref, sizeof ref, "%.*s", (int)rn, values[k]);
        if (!lh_entity_id_valid(ref, rn) || strcmp(ref, id) == 0)
          continue;
        add_line(l, id, p->name, ref);
      } else {
        add_line(l, id, p->name, values[k]);
      }
    }
  }
}

/* Expected lines of an input file (delta files: ADD/MOD emissions united, DEL skipped). */
static void file_lines(lines *l, const char *path, bool with_schema) {
  size_t len;
  char *text = tu_read_file(path, &len);
  lh_entity *e = NULL;
  assert_int_equal(lh_entity_new(tu_model(), &e, NULL), 0);
  lh_error err = {0};
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    lh_delta_op op;
    assert_int_equal(lh_entity_parse_json(e, line, strlen(line), 0, &op, &err), 0);
    if (op != LH_DELTA_DEL)
      entity_lines(l, e, with_schema);
  }
  lh_entity_free(e);
  free(text);
  finish_lines(l);
}

typedef struct collect {
  lines *l;
  bool with_schema;
  uint64_t n;
} collect;

static int collect_entity(lh_entity *e, void *ctx) {
  collect *c = ctx;
  c->n++;
  entity_lines(c->l, e, c->with_schema);
  return 0;
}

static uint64_t query_lines(lh_dataset *ds, const char *q, lines *l, bool with_schema) {
  lh_entity_query query;
  lh_error err = {0};
  if (q)
    assert_int_equal(lh_entity_query_parse(q, &query, &err), 0);
  collect c = {l, with_schema, 0};
  int rc = lh_entities_query(ds, q ? &query : NULL, collect_entity, &c, &err);
  if (rc)
    fail_msg("query: %s", err.message);
  if (q)
    lh_entity_query_free(&query);
  finish_lines(l);
  return c.n;
}

static lh_import_result import_file(lh_dataset *ds, const char *path, lh_import_opts o) {
  int fd = open(path, O_RDONLY);
  assert_true(fd >= 0);
  if (!o.name)
    o.name = path;
  if (o.last_seen == 0)
    o.last_seen = LH_TIME_NULL;
  lh_import_result r;
  lh_error err = {0};
  if (lh_entities_import(ds, fd, &o, &r, &err))
    fail_msg("import %s: %s", path, err.message);
  close(fd);
  return r;
}

static void flush_and_optimize(lh_dataset *ds) {
  lh_error err = {0};
  lh_flush_result fr;
  assert_int_equal(lh_entities_flush(ds, &fr, &err), 0);
  assert_false(fr.busy);
  lh_optimize_opts oo = {0};
  assert_int_equal(lh_dataset_optimize(ds, &oo, NULL, &err), 0);
}

/* ---- round trips ---------------------------------------------------------------------------- */

static const char *const FILES[] = {
    "data/wd_persons/entities.ftm.json", "data/yente-fixtures/zala/entities.ftm.json",
    "data/nomenklatura-fixtures/donations.ijson", "data/aleph-fixtures/samples.ijson",
    "data/yente-fixtures/entities.delta.json"};

static void roundtrip(bool journal) {
  tu_lake l;
  tu_lake_open(&l);
  for (size_t i = 0; i < sizeof FILES / sizeof *FILES; i++) {
    char name[32];
    snprintf(name, sizeof name, "rt%zu", i);
    lh_dataset *ds = tu_lake_dataset(&l, name);
    /* delta files carry several emissions per entity, possibly of more specific schemata */
    bool delta = strstr(FILES[i], "delta") != NULL;
    lines want = {0}, got = {0};
    file_lines(&want, tu_shared(FILES[i]), !delta);
    lh_import_result r = import_file(ds, tu_shared(FILES[i]), (lh_import_opts){.journal = journal});
    assert_true(r.items > 0);
    if (journal) {
      uint64_t waiting = 0;
      lh_error err = {0};
      assert_int_equal(lh_entities_journal_count(ds, &waiting, &err), 0);
      assert_int_equal(waiting, r.rows);
      lines none = {0};
      assert_int_equal(query_lines(ds, NULL, &none, true), 0); /* nothing before a flush */
      free_lines(&none);
    }
    flush_and_optimize(ds);
    query_lines(ds, NULL, &got, !delta);
    assert_same_lines(&want, &got);
    lh_entity_stats stats;
    lh_error err = {0};
    assert_int_equal(lh_entities_stats(ds, &stats, &err), 0);
    size_t ids = 0;
    for (size_t k = 0; k < want.n; k++)
      ids += strstr(want.v[k], "\t#exists\t") != NULL;
    assert_int_equal(stats.entities, ids);
    free_lines(&want);
    free_lines(&got);
    lh_dataset_close(ds);
  }
  tu_lake_close(&l);
}

static void test_roundtrip_direct(void **state) {
  (void)state;
  roundtrip(false);
}

static void test_roundtrip_journal(void **state) {
  (void)state;
  roundtrip(true);
}

/* The statements pack reproduces the entities of wd_persons (ftm.md §4.4). */
static void test_statements_pack(void **state) {
  (void)state;
  tu_lake l;
  tu_lake_open(&l);
  lh_dataset *ds = tu_lake_dataset(&l, "pack");
  lh_import_result r = import_file(ds, tu_shared("data/wd_persons/statements.pack"),
                                   (lh_import_opts){.format = LH_IMPORT_STATEMENTS});
  assert_int_equal(r.items, 5112);
  flush_and_optimize(ds);
  lines want = {0}, got = {0};
  file_lines(&want, tu_shared("data/wd_persons/entities.ftm.json"), true);
  query_lines(ds, NULL, &got, true);
  assert_same_lines(&want, &got);
  free_lines(&want);
  free_lines(&got);
  lh_dataset_close(ds);
  tu_lake_close(&l);
}

/* ---- several datasets in one process: one DuckDB, each its own views ------------------------ */

typedef struct import_job {
  lh_dataset *ds;
  const char *path;
  lh_import_result r;
} import_job;

static void *import_thread(void *arg) {
  import_job *j = arg;
  j->r = import_file(j->ds, j->path, (lh_import_opts){.bulk_size = 100});
  return NULL;
}

typedef struct read_job {
  lh_dataset *ds;
  uint64_t want;
  int wrong;
} read_job;

/* Reads over and over while the other dataset does the same: each store's views are its
 * connection's own, so no read ever sees the other dataset's statements. */
static void *read_thread(void *arg) {
  read_job *j = arg;
  for (int i = 0; i < 40; i++) {
    lh_entity_stats st;
    lh_error err = {0};
    if (lh_entities_stats(j->ds, &st, &err) || st.entities != j->want)
      j->wrong++;
  }
  return NULL;
}

static void test_datasets_share_duckdb(void **state) {
  (void)state;
  assert_int_equal(lh__duck_shared_users(), 0);
  tu_lake l;
  tu_lake_open(&l);
  lh_dataset *a = tu_lake_dataset(&l, "persons"), *b = tu_lake_dataset(&l, "zala");
  /* both import at once: their row sources live side by side in the one instance */
  char *pa = strdup(tu_shared("data/wd_persons/entities.ftm.json"));
  char *pb = strdup(tu_shared("data/yente-fixtures/zala/entities.ftm.json"));
  import_job ja = {a, pa, {0}}, jb = {b, pb, {0}};
  pthread_t ta, tb;
  assert_int_equal(pthread_create(&ta, NULL, import_thread, &ja), 0);
  assert_int_equal(pthread_create(&tb, NULL, import_thread, &jb), 0);
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
  assert_true(ja.r.commits > 1 && jb.r.commits > 1);
  assert_int_equal(lh__duck_shared_users(), 2); /* one connection per statement store */
  /* each reads its own statements through its own views, interleaved */
  lh_error err = {0};
  lh_entity_stats sa, sb, sa2;
  assert_int_equal(lh_entities_stats(a, &sa, &err), 0);
  assert_int_equal(lh_entities_stats(b, &sb, &err), 0);
  assert_int_equal(lh_entities_stats(a, &sa2, &err), 0);
  assert_int_equal(sa2.entities, sa.entities);
  assert_true(sb.entities != sa.entities);
  read_job ra = {a, sa.entities, 0}, rb = {b, sb.entities, 0};
  assert_int_equal(pthread_create(&ta, NULL, read_thread, &ra), 0);
  assert_int_equal(pthread_create(&tb, NULL, read_thread, &rb), 0);
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
  assert_int_equal(ra.wrong + rb.wrong, 0);
  lines want = {0}, got = {0};
  import_job *jobs[2] = {&ja, &jb};
  for (int i = 0; i < 2; i++) {
    file_lines(&want, jobs[i]->path, true);
    uint64_t n = query_lines(jobs[i]->ds, NULL, &got, true);
    assert_int_equal(n, i ? sb.entities : sa.entities);
    assert_same_lines(&want, &got);
    free_lines(&want);
    free_lines(&got);
    want = got = (lines){0};
  }
  lh_dataset_close(a);
  assert_int_equal(lh__duck_shared_users(), 1);
  lh_dataset_close(b);
  assert_int_equal(lh__duck_shared_users(), 0); /* closed with its last user */
  tu_lake_close(&l);
  free(pa);
  free(pb);
}

/* ---- safe / unsafe parity, and the statements CSV round trip -------------------------------- */

typedef struct row_lines {
  lines *l;
} row_lines;

static int row_line(void *ctx, const lh_row *r, lh_error *err) {
  (void)err;
  row_lines *c = ctx;
  char fs[LH_ISO_SIZE], ls[LH_ISO_SIZE], *s;
  lh_time_format_iso(r->first_seen, fs);
  lh_time_format_iso(r->last_seen, ls);
  assert_true(asprintf(&s, "%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%d|%s", r->shard, r->id, r->entity_id,
                       r->origin, r->schema, r->prop, r->value, r->lang ? r->lang : "-",
                       r->fragment, fs, r->external, ls) > 0);
  if (c->l->n == c->l->cap) {
    c->l->cap = c->l->cap ? 2 * c->l->cap : 4096;
    c->l->v = realloc(c->l->v, c->l->cap * sizeof *c->l->v);
  }
  c->l->v[c->l->n++] = s;
  return 0;
}

static void statement_lines(lh_dataset *ds, lines *l) {
  row_lines c = {l};
  lh_error err = {0};
  assert_int_equal(lh_entities_query_statements(ds, NULL, row_line, &c, &err), 0);
  finish_lines(l);
}

static void test_safe_unsafe_parity(void **state) {
  (void)state;
  lh_time fixed;
  lh_error err = {0};
  assert_int_equal(lh_time_parse_iso("2025-01-02T03:04:05", (size_t)-1, &fixed, &err), 0);
  lines rows[2] = {{0}, {0}};
  for (int unsafe = 0; unsafe < 2; unsafe++) {
    tu_lake l;
    tu_lake_open(&l);
    lh_dataset *ds = tu_lake_dataset(&l, "parity");
    for (size_t i = 0; i < sizeof FILES / sizeof *FILES; i++)
      import_file(ds, tu_shared(FILES[i]),
                  (lh_import_opts){.unsafe = unsafe, .last_seen = fixed, .bulk_size = 1000});
    statement_lines(ds, &rows[unsafe]);
    lh_dataset_close(ds);
    tu_lake_close(&l);
  }
  assert_true(rows[0].n > 50000);
  assert_same_lines(&rows[0], &rows[1]);
  free_lines(&rows[0]);
  free_lines(&rows[1]);
}

/* --origin with --override-origin wins over the entity's own origin; without it, a single
 * origin carried by the entity wins over --origin. */
static void test_origins(void **state) {
  (void)state;
  tu_lake l;
  tu_lake_open(&l);
  lh_dataset *ds = tu_lake_dataset(&l, "origins");
  char path[512];
  snprintf(path, sizeof path, "%s/in.json", l.dir);
  FILE *f = fopen(path, "w");
  fprintf(f, "{\"id\":\"jane\",\"schema\":\"Person\",\"properties\":{\"name\":[\"Jane\"]},"
             "\"origin\":[\"registry\"]}\n"
             "{\"id\":\"john\",\"schema\":\"Person\",\"properties\":{\"name\":[\"John\"]},"
             "\"origin\":[\"a\",\"b\"]}\n");
  fclose(f);
  import_file(ds, path, (lh_import_opts){.origin = "cli"});
  lines got = {0};
  assert_int_equal(query_lines(ds, "filter:origin=registry", &got, false), 1);
  assert_int_equal(got.n, 2); /* jane: #exists + name, from registry */
  free_lines(&got);
  assert_int_equal(query_lines(ds, "filter:origin=cli", &got, false), 1); /* john: multi */
  free_lines(&got);
  import_file(ds, path, (lh_import_opts){.origin = "forced", .override_origin = true});
  assert_int_equal(query_lines(ds, "filter:origin=forced", &got, false), 2);
  free_lines(&got);
  lh_dataset_close(ds);
  tu_lake_close(&l);
}

/* ---- the writer -------------------------------------------------------------------------------
 */

static int count_rows(void *ctx, const lh_statement *st) {
  (void)st;
  (*(size_t *)ctx)++;
  return 0;
}

static int count_statement(const lh_statement *st, void *ctx) {
  return count_rows(ctx, st);
}

/* With a batch of 2 rows, every insert still holds whole entities with their BASE row. */
static void test_writer_never_splits_entities(void **state) {
  (void)state;
  tu_lake l;
  tu_lake_open(&l);
  lh_dataset *ds = tu_lake_dataset(&l, "writer");
  lh_entity_writer *w;
  lh_error err = {0};
  assert_int_equal(lh_entities_writer(ds, "default", &w, &err), 0);
  lh_entity_writer_set_batch_size(w, 2);
  size_t len;
  char *text = tu_read_file(tu_shared("data/yente-fixtures/zala/entities.ftm.json"), &len);
  lh_entity *e = NULL;
  assert_int_equal(lh_entity_new(tu_model(), &e, NULL), 0);
  lh_explode_opts xo = {.dataset = "writer", .last_seen = LH_TIME_NULL, .now = LH_TIME_NULL};
  lh_exploder *x = NULL;
  assert_int_equal(lh_exploder_new(&xo, &x, &err), 0);
  uint64_t expected = 0;
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    lh_delta_op op;
    assert_int_equal(lh_entity_parse_json(e, line, strlen(line), 0, &op, &err), 0);
    size_t n = 0;
    assert_true(lh_exploder_run(x, e, count_statement, &n, &err) > 0);
    expected += n;
    assert_int_equal(lh_entity_writer_add_entity(w, e, NULL, NULL, &err), 0);
    uint64_t in_journal = 0;
    assert_int_equal(lh_entities_journal_count(ds, &in_journal, &err), 0);
    assert_int_equal(in_journal, expected); /* the whole entity, never a part */
  }
  assert_int_equal(lh_entity_writer_close(w, &err), 0);
  lh_exploder_free(x);
  lh_entity_free(e);
  free(text);
  lh_flush_result fr;
  assert_int_equal(lh_entities_flush(ds, &fr, &err), 0);
  assert_int_equal(fr.rows, expected);
  uint64_t left = 1;
  assert_int_equal(lh_entities_journal_count(ds, &left, &err), 0);
  assert_int_equal(left, 0);
  lh_dataset_close(ds);
  tu_lake_close(&l);
}

/* Background inserts (bulk imports): every row arrives; a failed insert comes back from
 * the next call instead of being lost, and nothing hangs. */
static void add_zala(lh_entity_writer *w, size_t limit, int *rc, lh_error *err) {
  size_t len;
  char *text = tu_read_file(tu_shared("data/yente-fixtures/zala/entities.ftm.json"), &len);
  lh_entity *e = NULL;
  assert_int_equal(lh_entity_new(tu_model(), &e, NULL), 0);
  char *save = NULL;
  size_t n = 0;
  for (char *line = strtok_r(text, "\n", &save); line && n < limit && !*rc;
       line = strtok_r(NULL, "\n", &save), n++) {
    lh_delta_op op;
    assert_int_equal(lh_entity_parse_json(e, line, strlen(line), 0, &op, err), 0);
    *rc = lh_entity_writer_add_entity(w, e, NULL, NULL, err);
  }
  lh_entity_free(e);
  free(text);
}

static void test_background_writer(void **state) {
  (void)state;
  tu_lake l;
  tu_lake_open(&l);
  lh_error err = {0};
  uint64_t want[2] = {0, 0};
  for (int bg = 0; bg < 2; bg++) { /* the same rows, in the foreground and the background */
    lh_dataset *ds = tu_lake_dataset(&l, bg ? "background" : "foreground");
    lh_entity_writer *w;
    assert_int_equal(lh_entities_writer(ds, "default", &w, &err), 0);
    lh_entity_writer_set_batch_size(w, 300);
    if (bg)
      assert_int_equal(lh_entity_writer_set_background(w, &err), 0);
    int rc = 0;
    add_zala(w, SIZE_MAX, &rc, &err);
    assert_int_equal(rc, 0);
    assert_int_equal(lh_entity_writer_close(w, &err), 0);
    assert_int_equal(lh_entities_journal_count(ds, &want[bg], &err), 0);
    lh_dataset_close(ds);
  }
  assert_true(want[0] > 1000);
  assert_int_equal(want[1], want[0]);

  /* the journal table goes away under a background writer */
  lh_dataset *ds = tu_lake_dataset(&l, "failing");
  lh_entity_writer *w;
  assert_int_equal(lh_entities_writer(ds, "default", &w, &err), 0);
  lh_entity_writer_set_batch_size(w, 50);
  assert_int_equal(lh_entity_writer_set_background(w, &err), 0);
  int rc = 0;
  add_zala(w, 20, &rc, &err);
  assert_int_equal(rc, 0);
  assert_int_equal(lh_entity_writer_flush(w, &err), 0);
  char path[4200];
  snprintf(path, sizeof path, "%s/journal.db", l.dir);
  sqlite3 *db;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 60000);
  assert_int_equal(sqlite3_exec(db, "DROP TABLE journal_failing", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  add_zala(w, SIZE_MAX, &rc, &err);
  if (!rc)
    rc = lh_entity_writer_close(w, &err);
  else
    lh_entity_writer_abort(w);
  assert_int_not_equal(rc, 0);
  assert_non_null(strstr(err.message, "no such table"));
  lh_dataset_close(ds);
  tu_lake_close(&l);
}

/* ---- delete and re-add ------------------------------------------------------------------------
 */

static void test_delete_and_readd(void **state) {
  (void)state;
  tu_lake l;
  tu_lake_open(&l);
  lh_dataset *ds = tu_lake_dataset(&l, "del");
  import_file(ds, tu_shared("data/wd_persons/entities.ftm.json"), (lh_import_opts){0});
  lh_error err = {0};
  bool found = false;
  assert_int_equal(lh_entities_get(ds, "Q61589", NULL, NULL, &found, &err), 0);
  assert_true(found);
  uint64_t tombs = 0;
  assert_int_equal(lh_entities_delete(ds, "Q61589", &tombs, &err), 0);
  assert_true(tombs > 3);
  /* not effective before the flush */
  assert_int_equal(lh_entities_get(ds, "Q61589", NULL, NULL, &found, &err), 0);
  assert_true(found);
  lh_flush_result fr;
  assert_int_equal(lh_entities_flush(ds, &fr, &err), 0);
  assert_int_equal(fr.rows, tombs);
  assert_int_equal(lh_entities_get(ds, "Q61589", NULL, NULL, &found, &err), 0);
  assert_false(found);
  lh_entity_stats st;
  assert_int_equal(lh_entities_stats(ds, &st, &err), 0);
  assert_int_equal(st.entities, 280);
  /* after a merge too; unknown entities delete nothing */
  flush_and_optimize(ds);
  assert_int_equal(lh_entities_get(ds, "Q61589", NULL, NULL, &found, &err), 0);
  assert_false(found);
  assert_int_equal(lh_entities_delete(ds, "no-such-entity", &tombs, &err), 0);
  assert_int_equal(tombs, 0);
  /* re-add: the new rows are later than the tombstones */
  usleep(2000);
  lh_entity *e = NULL;
  assert_int_equal(lh_entity_new(tu_model(), &e, NULL), 0);
  const char *json =
      "{\"id\":\"Q61589\",\"schema\":\"Person\",\"properties\":{\"name\":[\"Salih\"]}}";
  lh_delta_op op;
  assert_int_equal(lh_entity_parse_json(e, json, strlen(json), 0, &op, &err), 0);
  lh_entity *list[1] = {e};
  assert_int_equal(lh_entities_add(ds, list, 1, "bulk", NULL, &err), 0);
  flush_and_optimize(ds);
  lines got = {0};
  assert_int_equal(query_lines(ds, "filter:id=Q61589", &got, false), 1);
  assert_int_equal(got.n, 2); /* #exists + the one name */
  free_lines(&got);
  lh_entity_free(e);
  lh_dataset_close(ds);
  tu_lake_close(&l);
}

/* ---- queries -----------------------------------------------------------------------------------
 */

static void test_queries(void **state) {
  (void)state;
  tu_lake l;
  tu_lake_open(&l);
  lh_dataset *ds = tu_lake_dataset(&l, "q");
  import_file(ds, tu_shared("data/wd_persons/entities.ftm.json"), (lh_import_opts){0});
  import_file(ds, tu_shared("data/yente-fixtures/zala/entities.ftm.json"), (lh_import_opts){0});
  lines all = {0}, got = {0};
  file_lines(&all, tu_shared("data/wd_persons/entities.ftm.json"), true);
  file_lines(&all, tu_shared("data/yente-fixtures/zala/entities.ftm.json"), true);
  finish_lines(&all);
  /* expectations counted from the input files */
  size_t persons = 0, legal = 0, ru_values = 0;
  const lh_schema *le = lh_model_schema(tu_model(), "LegalEntity");
  for (size_t i = 0; i < all.n; i++) {
    char *tab = strchr(all.v[i], '\t');
    if (strncmp(tab, "\t#schema\t", 9) == 0) {
      persons += strcmp(tab + 9, "Person") == 0;
      legal += lh_schema_is_a(lh_model_schema(tu_model(), tab + 9), le);
    }
    if (strncmp(tab, "\tcountry\tru", 11) == 0 || strncmp(tab, "\tnationality\tru", 15) == 0 ||
        strncmp(tab, "\tjurisdiction\tru", 16) == 0 || strncmp(tab, "\tcitizenship\tru", 15) == 0)
      ru_values++; /* per (entity, property): an upper bound of the entities */
  }
  assert_int_equal(query_lines(ds, "filter:schema=Person", &got, true), persons);
  free_lines(&got);
  assert_int_equal(query_lines(ds, "filter:schemata=LegalEntity", &got, true), legal);
  assert_true(legal > persons);
  free_lines(&got);
  uint64_t ru = query_lines(ds, "filter:countries=ru", &got, true);
  assert_true(ru > 0 && ru <= ru_values);
  size_t whole = 0; /* every entity comes back whole: one #schema line each */
  for (size_t i = 0; i < got.n; i++)
    whole += strstr(got.v[i], "\t#schema\t") != NULL;
  assert_int_equal(whole, ru);
  free_lines(&got);
  assert_int_equal(query_lines(ds, "filter:name=Salih", &got, true), 1);
  free_lines(&got);
  assert_int_equal(query_lines(ds, "filter:schema=Person&limit=5&offset=2", &got, true), 5);
  free_lines(&got);
  assert_int_equal(query_lines(ds, "filter:id=Q61589&filter:id=Q101452678", &got, true), 2);
  free_lines(&got);
  lh_entity_query q;
  lh_error err = {0};
  assert_int_equal(lh_entity_query_parse("filter:schema=Persn", &q, &err), 0);
  assert_int_equal(lh_entities_query(ds, &q, collect_entity, &(collect){&got, true, 0}, &err),
                   LH_EINVAL);
  assert_non_null(strstr(err.message, "Persn"));
  lh_entity_query_free(&q);
  assert_int_equal(lh_entity_query_parse("schema=Person", &q, &err), LH_EINVAL);
  assert_int_equal(lh_entity_query_parse("limit=x", &q, &err), LH_EINVAL);
  free_lines(&all);
  lh_dataset_close(ds);
  tu_lake_close(&l);
}

/* ---- bad input
 * ----------------------------------------------------------------------------------- */

static char *write_file(tu_lake *l, const char *name, const char *content) {
  char *path;
  assert_true(asprintf(&path, "%s/%s", l->dir, name) > 0);
  FILE *f = fopen(path, "w");
  fputs(content, f);
  fclose(f);
  return path;
}

static int import_error(lh_dataset *ds, const char *path, lh_import_opts o, lh_error *err,
                        lh_import_result *r) {
  int fd = open(path, O_RDONLY);
  o.name = "in";
  if (o.last_seen == 0)
    o.last_seen = LH_TIME_NULL;
  int rc = lh_entities_import(ds, fd, &o, r, err);
  close(fd);
  return rc;
}

static void test_bad_input_keeps_earlier_lines(void **state) {
  (void)state;
  tu_lake l;
  tu_lake_open(&l);
  char *bad_json =
      write_file(&l, "bad.json",
                 "{\"id\":\"a1\",\"schema\":\"Person\",\"properties\":{\"name\":[\"A\"]}}\n"
                 "{\"id\":\"a2\",\"schema\":\"Person\",\"properties\":{\"name\":[\"B\"]}}\n"
                 "\n"
                 "{\"id\":\"a3\",\"schema\":\"Person\",\"properties\":{\"name\":[\"C\"]\n"
                 "{\"id\":\"a4\",\"schema\":\"Person\",\"properties\":{\"name\":[\"D\"]}}\n");
  for (int journal = 0; journal < 2; journal++) {
    lh_dataset *ds = tu_lake_dataset(&l, journal ? "badj" : "badd");
    lh_error err = {0};
    lh_import_result r;
    assert_int_equal(import_error(ds, bad_json, (lh_import_opts){.journal = journal}, &err, &r),
                     LH_EPARSE);
    assert_non_null(strstr(err.message, "in line 4"));
    assert_int_equal(r.items, 2);
    if (journal) {
      uint64_t n = 0;
      assert_int_equal(lh_entities_journal_count(ds, &n, &err), 0);
      assert_int_equal(n, 4); /* two entities: name + BASE each */
      assert_int_equal(lh_entities_flush(ds, NULL, &err), 0);
    }
    lh_entity_stats st;
    assert_int_equal(lh_entities_stats(ds, &st, &err), 0);
    assert_int_equal(st.entities, 2);
    lh_dataset_close(ds);
  }
  /* unknown property: dropped and counted (as Python drops it), an error naming it when
   * strict; --unsafe gives the same rows */
  char *unknown = write_file(&l, "unknown.json",
                             "{\"id\":\"b1\",\"schema\":\"Person\",\"properties\":{\"name\":[\"A\"]"
                             ",\"shoeSize\":[\"9\"]}}\n");
  lh_dataset *ds = tu_lake_dataset(&l, "unknown");
  lh_error err = {0};
  lh_import_result r;
  assert_int_equal(import_error(ds, unknown, (lh_import_opts){.strict = true}, &err, &r),
                   LH_EINVAL);
  assert_non_null(strstr(err.message, "in line 1"));
  assert_non_null(strstr(err.message, "Person:shoeSize"));
  for (int unsafe = 0; unsafe < 2; unsafe++) {
    assert_int_equal(import_error(ds, unknown, (lh_import_opts){.unsafe = unsafe}, &err, &r), 0);
    assert_int_equal(r.rows, 2);
    assert_int_equal(r.drops.n[LH_DROP_UNKNOWN_PROP], 1);
    assert_int_equal(r.drops.first_line[LH_DROP_UNKNOWN_PROP], 1);
    assert_string_equal(r.drops.first[LH_DROP_UNKNOWN_PROP], "Person:shoeSize");
  }
  char *schema =
      write_file(&l, "schema.json", "{\"id\":\"c1\",\"schema\":\"Persona\",\"properties\":{}}\n");
  assert_int_equal(import_error(ds, schema, (lh_import_opts){0}, &err, &r), LH_EINVAL);
  assert_non_null(strstr(err.message, "Persona"));
  char *origin = write_file(&l, "origin.json",
                            "{\"id\":\"c1\",\"schema\":\"Person\",\"properties\":{},"
                            "\"origin\":[\"../up\"]}\n");
  assert_int_equal(import_error(ds, origin, (lh_import_opts){0}, &err, &r), LH_EINVAL);
  assert_non_null(strstr(err.message, "line 1"));
  /* statements CSV: missing column, bad timestamp (line named), unknown property */
  char *nocol = write_file(&l, "nocol.csv", "entity_id,prop,value\nx,name,X\n");
  lh_import_opts csv = {.format = LH_IMPORT_STATEMENTS};
  assert_int_equal(import_error(ds, nocol, csv, &err, &r), LH_EINVAL);
  assert_non_null(strstr(err.message, "'schema'"));
  char *badts = write_file(&l, "badts.csv",
                           "entity_id,schema,prop,value,first_seen\n"
                           "x1,Person,name,X,2024-01-01T00:00:00\n"
                           "x2,Person,name,Y,yesterday\n");
  assert_int_equal(import_error(ds, badts, csv, &err, &r), LH_EINVAL);
  assert_non_null(strstr(err.message, "line 3"));
  assert_non_null(strstr(err.message, "first_seen"));
  assert_int_equal(r.items, 1);
  char *badprop =
      write_file(&l, "badprop.csv", "entity_id,schema,prop,value\nx1,Person,colour,red\n");
  assert_int_equal(import_error(ds, badprop, csv, &err, &r), LH_EINVAL);
  assert_non_null(strstr(err.message, "Person:colour"));
  char *quoting =
      write_file(&l, "quoting.csv", "entity_id,schema,prop,value\nx1,Person,name,\"open\n");
  assert_int_equal(import_error(ds, quoting, csv, &err, &r), LH_EPARSE);
  /* x1 of badts.csv was committed before its bad line 3 */
  bool found = false;
  assert_int_equal(lh_entities_get(ds, "x1", NULL, NULL, &found, &err), 0);
  assert_true(found);
  free(bad_json);
  free(unknown);
  free(schema);
  free(origin);
  free(nocol);
  free(badts);
  free(badprop);
  free(quoting);
  lh_dataset_close(ds);
  tu_lake_close(&l);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip_direct),
      cmocka_unit_test(test_roundtrip_journal),
      cmocka_unit_test(test_statements_pack),
      cmocka_unit_test(test_datasets_share_duckdb),
      cmocka_unit_test(test_safe_unsafe_parity),
      cmocka_unit_test(test_origins),
      cmocka_unit_test(test_writer_never_splits_entities),
      cmocka_unit_test(test_background_writer),
      cmocka_unit_test(test_delete_and_readd),
      cmocka_unit_test(test_queries),
      cmocka_unit_test(test_bad_input_keeps_earlier_lines),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
