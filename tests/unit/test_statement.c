/* ftm/ statements: ids against the real pack file, explode rules, the BASE statement,
 * explode -> aggregate round trips over all shared data, and the CSV rows. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/csv_reader.h"
#include "testutil.h"

/* ---- the pack: recompute every statement id from its own fields ---------------------- */

typedef struct pack_row {
  char *entity_id, *prop, *value, *id;
} pack_row;

typedef struct pack {
  pack_row *rows;
  size_t n;
} pack;

static void pack_load(pack *p) {
  int fd = open(tu_shared("data/wd_persons/statements.pack"), O_RDONLY);
  assert_true(fd >= 0);
  lh__csv *c = lh__csv_open_fd(fd, 0);
  lh__csv_record r;
  lh_error err = {0};
  p->rows = calloc(6000, sizeof *p->rows);
  p->n = 0;
  int rc;
  while ((rc = lh__csv_next(c, &r, &err)) == 1) {
    /* entity_id, Schema:prop, value, dataset, lang, original_value, target, external,
     * first_seen, last_seen, id */
    assert_int_equal(r.nfields, 11);
    char id[LH_SHA1_HEX_SIZE];
    const char *prop = strchr(r.fields[1], ':') + 1;
    lh_statement_id(r.fields[3], r.fields[0], prop, r.fields[2], r.lens[2],
                    r.lens[4] ? r.fields[4] : NULL, strcmp(r.fields[7], "t") == 0, id);
    assert_string_equal(id, r.fields[10]);
    pack_row *row = &p->rows[p->n++];
    row->entity_id = strdup(r.fields[0]);
    row->prop = strdup(prop);
    row->value = strdup(r.fields[2]);
    row->id = strdup(r.fields[10]);
  }
  assert_int_equal(rc, 0);
  lh__csv_close(c);
  close(fd);
}

static void pack_free(pack *p) {
  for (size_t i = 0; i < p->n; i++) {
    free(p->rows[i].entity_id);
    free(p->rows[i].prop);
    free(p->rows[i].value);
    free(p->rows[i].id);
  }
  free(p->rows);
}

static void test_pack_ids(void **state) {
  (void)state;
  pack p;
  pack_load(&p); /* asserts each recomputed id */
  assert_int_equal(p.n, 5112);
  pack_free(&p);
}

/* ---- explode wd_persons/entities.ftm.json and compare with the pack -------------------- */

typedef struct collected {
  char (*ids)[LH_SHA1_HEX_SIZE];
  size_t n, cap;
  char base_value[LH_SHA1_HEX_SIZE];
  lh_statement last;
} collected;

static int collect(const lh_statement *st, void *ctx) {
  collected *c = ctx;
  if (strcmp(st->prop, LH_BASE_PROP) == 0) {
    memcpy(c->base_value, st->value, 40);
    c->base_value[40] = '\0';
    return 0;
  }
  if (c->n == c->cap) {
    c->cap = c->cap ? c->cap * 2 : 64;
    c->ids = realloc(c->ids, c->cap * sizeof *c->ids);
  }
  memcpy(c->ids[c->n++], st->id, LH_SHA1_HEX_SIZE);
  return 0;
}

static int cmp_id(const void *a, const void *b) {
  return strcmp(a, b);
}

static void test_explode_matches_pack(void **state) {
  (void)state;
  pack p;
  pack_load(&p);
  size_t len;
  char *text = tu_read_file(tu_shared("data/wd_persons/entities.ftm.json"), &len);
  lh_entity *e = NULL;
  assert_int_equal(lh_entity_new(tu_model(), &e, NULL), 0);
  lh_explode_opts o = {.dataset = "wd_persons", .last_seen = LH_TIME_NULL, .now = LH_TIME_NULL};
  lh_error err = {0};
  lh_exploder *x = NULL;
  assert_int_equal(lh_exploder_new(&o, &x, &err), 0);
  assert_non_null(x);
  size_t entities = 0, id_sets_equal = 0, base_equal = 0;
  const char *mismatch[8];
  size_t nmismatch = 0;
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    assert_int_equal(lh_entity_parse_json(e, line, strlen(line), 0, NULL, &err), 0);
    collected c = {0};
    assert_true(lh_exploder_run(x, e, collect, &c, &err) > 0);
    entities++;
    /* distinct non-BASE ids and BASE values of this entity in the pack */
    char(*want)[LH_SHA1_HEX_SIZE] = calloc(p.n, sizeof *want);
    size_t nw = 0;
    bool base_ok = false;
    for (size_t i = 0; i < p.n; i++) {
      if (strcmp(p.rows[i].entity_id, lh_entity_id(e)) != 0)
        continue;
      if (strcmp(p.rows[i].prop, "id") == 0)
        base_ok |= strcmp(p.rows[i].value, c.base_value) == 0;
      else
        memcpy(want[nw++], p.rows[i].id, LH_SHA1_HEX_SIZE);
    }
    qsort(want, nw, sizeof *want, cmp_id);
    size_t u = 0;
    for (size_t i = 0; i < nw; i++)
      if (!u || strcmp(want[u - 1], want[i]) != 0)
        memcpy(want[u++], want[i], LH_SHA1_HEX_SIZE);
    qsort(c.ids, c.n, sizeof *c.ids, cmp_id);
    if (u == c.n && (c.n == 0 || memcmp(want, c.ids, c.n * sizeof *c.ids) == 0))
      id_sets_equal++;
    if (base_ok)
      base_equal++;
    else if (nmismatch < 8)
      mismatch[nmismatch++] = strdup(lh_entity_id(e));
    free(want);
    free(c.ids);
  }
  assert_int_equal(entities, 281);
  assert_int_equal(id_sets_equal, 281);
  /* 277 BASE checksums match; the other 4 entities were emitted twice into the pack and
   * both of their BASE statements cover a partial statement set (ftm.md §4.3) */
  assert_int_equal(base_equal, 277);
  const char *expected[] = {
      "wd-05eb82d0264eea1208572d0237407744b95977bc", "wd-3aad49eec80c73110fce2189aef4337b1f020475",
      "wd-65aeb90a05b40936f7163f0516f813cc247f051e", "wd-6ba34f446bc948f1c02bbfd2748cdab0fe9c7f07"};
  assert_int_equal(nmismatch, 4);
  for (size_t i = 0; i < 4; i++) {
    bool found = false;
    for (size_t k = 0; k < 4; k++)
      found |= strcmp(mismatch[k], expected[i]) == 0;
    assert_true(found);
  }
  for (size_t i = 0; i < nmismatch; i++)
    free((void *)mismatch[i]);
  lh_exploder_free(x);
  lh_entity_free(e);
  free(text);
  pack_free(&p);
}

/* ---- explode -> aggregate round trip over every entity of the shared data ------------- */

typedef struct round_trip {
  lh_aggregator *agg;
  lh_error *err;
  const lh_entity *orig;
  size_t checked;
  bool timestamps; /* compare first_seen / last_seen / last_change too */
} round_trip;

static int feed(const lh_statement *st, void *ctx) {
  round_trip *rt = ctx;
  return lh_aggregator_add(rt->agg, st, rt->err);
}

static int compare(lh_entity *got, void *ctx) {
  round_trip *rt = ctx;
  const lh_entity *want = rt->orig;
  assert_string_equal(lh_entity_id(got), lh_entity_id(want));
  assert_ptr_equal(lh_entity_schema(got), lh_entity_schema(want));
  assert_int_equal(lh_entity_property_count(got), lh_entity_property_count(want));
  for (size_t i = 0; i < lh_entity_property_count(want); i++) {
    const char *const *wv, *const *gv;
    size_t wn, gn;
    const lh_property *p = lh_entity_property_at(want, i, &wv, &wn);
    const lh_property *q = lh_entity_property_at(got, i, &gv, &gn);
    assert_ptr_equal(p, q);
    assert_int_equal(gn, wn);
    for (size_t k = 0; k < wn; k++)
      assert_string_equal(gv[k], wv[k]);
  }
  if (rt->timestamps) {
    assert_string_equal(lh_entity_meta(got, LH_META_FIRST_SEEN),
                        lh_entity_meta(want, LH_META_FIRST_SEEN));
    assert_string_equal(lh_entity_meta(got, LH_META_LAST_SEEN),
                        lh_entity_meta(want, LH_META_LAST_SEEN));
    assert_string_equal(lh_entity_meta(got, LH_META_LAST_CHANGE),
                        lh_entity_meta(want, LH_META_LAST_CHANGE));
    /* not the caption: §8.6 takes the smallest value, zavod's export FtM's "best" name */
  }
  size_t n;
  const char *const *ds = lh_entity_meta_list(got, LH_META_DATASETS, &n);
  assert_int_equal(n, 1);
  assert_string_equal(ds[0], "target_ds");
  rt->checked++;
  return 0;
}

static void test_round_trip_all_data(void **state) {
  (void)state;
  const char *files[] = {
      "data/wd_persons/entities.ftm.json", "data/yente-fixtures/zala/entities.ftm.json",
      "data/yente-fixtures/entities.delta.json", "data/nomenklatura-fixtures/donations.ijson",
      "data/aleph-fixtures/samples.ijson"};
  const size_t want[] = {281, 91, 1129, 474, 21};
  lh_entity *e = NULL;
  assert_int_equal(lh_entity_new(tu_model(), &e, NULL), 0);
  lh_error err = {0};
  lh_explode_opts o = {.dataset = "target_ds", .last_seen = LH_TIME_NULL, .now = LH_TIME_NULL};
  lh_exploder *x = NULL;
  assert_int_equal(lh_exploder_new(&o, &x, &err), 0);
  size_t total = 0;
  for (size_t f = 0; f < 5; f++) {
    size_t len;
    char *text = tu_read_file(tu_shared(files[f]), &len);
    round_trip rt = {NULL, &err, e, 0, f == 0};
    assert_int_equal(lh_aggregator_new(tu_model(), compare, &rt, &rt.agg, NULL), 0);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
      lh_delta_op op;
      assert_int_equal(lh_entity_parse_json(e, line, strlen(line), 0, &op, &err), 0);
      if (op == LH_DELTA_DEL)
        continue;
      assert_true(lh_exploder_run(x, e, feed, &rt, &err) > 0);
      assert_int_equal(lh_aggregator_finish(rt.agg, &err), 0);
    }
    assert_int_equal(rt.checked, want[f]);
    total += rt.checked;
    lh_aggregator_free(rt.agg);
    free(text);
  }
  assert_int_equal(total, 1996);
  lh_exploder_free(x);
  lh_entity_free(e);
}

/* ---- the data-driven cases of tests/data/explode.test ----------------------------------- */

typedef struct expect {
  char lines[64][512];
  size_t n, at;
  bool failed;
} expect;

static int check_line(const lh_statement *st, void *ctx) {
  expect *ex = ctx;
  char got[512];
  snprintf(got, sizeof got, "%s\t%s\t%s", st->prop, st->value, st->id);
  if (ex->at >= ex->n || strcmp(got, ex->lines[ex->at]) != 0) {
    print_error("statement %zu: got '%s', want '%s'\n", ex->at + 1, got,
                ex->at < ex->n ? ex->lines[ex->at] : "(none)");
    ex->failed = true;
  }
  ex->at++;
  return 0;
}

static void test_explode_cases(void **state) {
  (void)state;
  char path[4096];
  snprintf(path, sizeof path, "%s/tests/data/explode.test", getenv("LH_SOURCE_DIR"));
  size_t len;
  char *text = tu_read_file(path, &len);
  lh_entity *e = NULL;
  assert_int_equal(lh_entity_new(tu_model(), &e, NULL), 0);
  char dataset[64] = "", entity_id[256] = "", *json = NULL;
  expect ex = {0};
  size_t cases = 0;
  char *save;
  for (char *line = strtok_r(text, "\n", &save);; line = strtok_r(NULL, "\n", &save)) {
    bool end = !line || line[0] == '#';
    if (end && json) {
      lh_error err = {0};
      lh_explode_opts o = {.dataset = dataset, .last_seen = LH_TIME_NULL, .now = LH_TIME_NULL};
      lh_exploder *x = NULL;
      assert_int_equal(lh_exploder_new(&o, &x, &err), 0);
      assert_int_equal(lh_entity_parse_json(e, json, strlen(json), 0, NULL, &err), 0);
      int n = lh_exploder_run(x, e, check_line, &ex, &err);
      assert_int_equal(n, (int)ex.n);
      assert_false(ex.failed);
      lh_exploder_free(x);
      cases++;
      json = NULL;
      memset(&ex, 0, sizeof ex);
    }
    if (!line)
      break;
    if (line[0] == '#')
      continue;
    if (strncmp(line, "dataset ", 8) == 0)
      snprintf(dataset, sizeof dataset, "%s", line + 8);
    else if (strncmp(line, "entity_id ", 10) == 0)
      snprintf(entity_id, sizeof entity_id, "%s", line + 10);
    else if (line[0] == '{')
      json = line;
    else
      snprintf(ex.lines[ex.n++], sizeof ex.lines[0], "%s", line);
  }
  assert_int_equal(cases, 5);
  lh_entity_free(e);
  free(text);
}

/* ---- explode options: origin, fragment, timestamps, ids with lang / external ---------- */

typedef struct firstst {
  char origin[64], fragment[64], prop_type[32];
  lh_time first_seen, last_seen, base_first, base_last;
  int count;
} firstst;

static int keep(const lh_statement *st, void *ctx) {
  firstst *f = ctx;
  if (f->count++ == 0) {
    snprintf(f->origin, sizeof f->origin, "%s", st->origin);
    snprintf(f->fragment, sizeof f->fragment, "%s", st->fragment);
    snprintf(f->prop_type, sizeof f->prop_type, "%s", st->prop_type);
    f->first_seen = st->first_seen;
    f->last_seen = st->last_seen;
  }
  if (strcmp(st->prop, "id") == 0) {
    f->base_first = st->first_seen;
    f->base_last = st->last_seen;
    assert_string_equal(st->prop_type, "id");
  }
  return 0;
}

static firstst run(const char *json, lh_explode_opts o, int want_rc, lh_error *err) {
  lh_entity *e = NULL;
  assert_int_equal(lh_entity_new(tu_model(), &e, NULL), 0);
  assert_int_equal(lh_entity_parse_json(e, json, strlen(json), 0, NULL, err), 0);
  o.dataset = "ds";
  lh_exploder *x = NULL;
  assert_int_equal(lh_exploder_new(&o, &x, err), 0);
  assert_non_null(x);
  firstst f = {0};
  int rc = lh_exploder_run(x, e, keep, &f, err);
  if (want_rc >= 0)
    assert_true(rc > 0);
  else
    assert_int_equal(rc, want_rc);
  lh_exploder_free(x);
  lh_entity_free(e);
  return f;
}

static lh_time T(const char *iso) {
  lh_time t;
  assert_int_equal(lh_time_parse_iso(iso, (size_t)-1, &t, NULL), 0);
  return t;
}

static void test_explode_options(void **state) {
  (void)state;
  lh_error err = {0};
  lh_time now = T("2026-01-01T00:00:00");
  lh_explode_opts o = {.origin = "bulk", .last_seen = LH_TIME_NULL, .now = now};
  const char *plain =
      "{\"id\":\"a\",\"schema\":\"Person\",\"properties\":{\"birthDate\":[\"1970\"]}}";
  firstst f = run(plain, o, 1, &err);
  assert_string_equal(f.origin, "bulk");
  assert_string_equal(f.fragment, "");
  assert_string_equal(f.prop_type, "date");
  assert_int_equal(f.first_seen, now); /* nothing given: the pack time */
  assert_int_equal(f.last_seen, now);
  assert_int_equal(f.count, 2);
  /* a single origin on the entity wins unless overridden; several fall back */
  const char *one = "{\"id\":\"a\",\"schema\":\"Person\",\"origin\":[\"registry\"],\"properties\":"
                    "{\"name\":[\"x\"]}}";
  assert_string_equal(run(one, o, 1, &err).origin, "registry");
  o.override_origin = true;
  assert_string_equal(run(one, o, 1, &err).origin, "bulk");
  o.override_origin = false;
  const char *two = "{\"id\":\"a\",\"schema\":\"Person\",\"origin\":[\"r1\",\"r2\"],\"properties\":"
                    "{\"name\":[\"x\"]}}";
  assert_string_equal(run(two, o, 1, &err).origin, "bulk");
  const char *bad = "{\"id\":\"a\",\"schema\":\"Person\",\"origin\":[\"../x\"],\"properties\":{}}";
  run(bad, o, LH_EINVAL, &err);
  assert_non_null(strstr(err.message, "origin"));
  /* fragments: the entity's, or an explicit one */
  const char *frag = "{\"id\":\"a\",\"schema\":\"Person\",\"fragment\":\"page-1\",\"properties\":"
                     "{\"name\":[\"x\"]}}";
  assert_string_equal(run(frag, o, 1, &err).fragment, "page-1");
  o.fragment = "explicit";
  assert_string_equal(run(frag, o, 1, &err).fragment, "explicit");
  o.fragment = NULL;
  /* timestamps (inventory §8.1): first_seen <- first_seen|last_change, last_seen pinned to
   * last_seen|last_change|option|now, BASE first_seen <- last_change */
  const char *ts = "{\"id\":\"a\",\"schema\":\"Person\",\"properties\":{\"name\":[\"x\"]},"
                   "\"first_seen\":\"2020-01-01T00:00:00\",\"last_seen\":\"2024-01-01T00:00:00\","
                   "\"last_change\":\"2023-01-01T00:00:00\"}";
  f = run(ts, o, 1, &err);
  assert_int_equal(f.first_seen, T("2020-01-01"));
  assert_int_equal(f.last_seen, T("2024-01-01"));
  assert_int_equal(f.base_first, T("2023-01-01"));
  assert_int_equal(f.base_last, T("2024-01-01"));
  const char *lc = "{\"id\":\"a\",\"schema\":\"Person\",\"properties\":{\"name\":[\"x\"]},"
                   "\"last_change\":\"2023-01-01T00:00:00+01:00\"}";
  f = run(lc, o, 1, &err);
  assert_int_equal(f.first_seen, T("2022-12-31T23:00:00"));
  assert_int_equal(f.last_seen, T("2022-12-31T23:00:00"));
  o.last_seen = T("2025-05-05");
  f = run(plain, o, 1, &err);
  assert_int_equal(f.last_seen, T("2025-05-05"));
  assert_int_equal(f.first_seen, now);
  const char *badts =
      "{\"id\":\"a\",\"schema\":\"Person\",\"properties\":{},\"last_seen\":\"soon\"}";
  run(badts, o, LH_EINVAL, &err);
  assert_non_null(strstr(err.message, "last_seen"));
  /* the exploder validates its options */
  lh_explode_opts none = {0};
  lh_exploder *bad_x = (lh_exploder *)&none; /* must be reset to NULL on failure */
  assert_int_equal(lh_exploder_new(&none, &bad_x, &err), LH_EINVAL);
  assert_null(bad_x);
  lh_explode_opts badorigin = {.dataset = "ds", .origin = "a/b"};
  assert_int_equal(lh_exploder_new(&badorigin, &bad_x, &err), LH_EINVAL);
  assert_null(bad_x);
  assert_non_null(strstr(err.message, "origin"));
}

static void test_statement_id_variants(void **state) {
  (void)state;
  char id[LH_SHA1_HEX_SIZE], want[LH_SHA1_HEX_SIZE];
  lh_statement_id("ds", "e1", "name", "Jane", 4, NULL, false, id);
  lh_sha1_hex("ds.e1.name.Jane", 15, want);
  assert_string_equal(id, want);
  lh_statement_id("ds", "e1", "name", "Jane", 4, "eng", false, id);
  lh_sha1_hex("ds.e1.name.Jane@eng", 19, want);
  assert_string_equal(id, want);
  lh_statement_id("ds", "e1", "name", "Jane", 4, NULL, true, id);
  lh_sha1_hex("ds.e1.name.Jane.ext", 19, want);
  assert_string_equal(id, want);
  lh_statement_id("ds", "e1", "name", "Jane", 4, "eng", true, id);
  lh_sha1_hex("ds.e1.name.Jane@eng.ext", 23, want);
  assert_string_equal(id, want);
  /* long values do not truncate */
  char *big = malloc(100000);
  memset(big, 'v', 100000);
  lh_statement_id("ds", "e1", "bodyText", big, 100000, NULL, false, id);
  lh_buf key = LH_BUF_INIT;
  lh_buf_puts(&key, "ds.e1.bodyText.");
  lh_buf_append(&key, big, 100000);
  lh_sha1_hex(key.data, key.len, want);
  assert_string_equal(id, want);
  /* the long form hashed in pieces, with a language and external */
  lh_statement_id("ds", "e1", "bodyText", big, 100000, "eng", true, id);
  lh_buf_puts(&key, "@eng.ext");
  lh_sha1_hex(key.data, key.len, want);
  assert_string_equal(id, want);
  lh_buf_free(&key);
  free(big);
  const lh_model *m = tu_model();
  assert_false(lh_type_is_linguistic(lh_model_type(m, "date")));
  assert_false(lh_type_is_linguistic(lh_model_type(m, "entity")));
  assert_true(lh_type_is_linguistic(lh_model_type(m, "name")));
  assert_true(lh_type_is_linguistic(lh_model_type(m, "text")));
}

static void test_csv_rows(void **state) {
  (void)state;
  lh_statement st = {0};
  strcpy(st.id, "241a6298861ed88df12ae64e49ff96292f711d95");
  st.entity_id = "Q61589";
  st.prop = "name";
  st.prop_type = "name";
  st.schema = "Person";
  st.value = "Sal\"ih, \"the\"\nsecond";
  st.value_len = strlen(st.value);
  st.dataset = "wd_persons";
  st.origin = "bulk";
  st.fragment = "";
  st.first_seen = T("2024-03-09T09:28:18");
  st.last_seen = T("2024-03-09T09:28:18.5");
  lh_buf out = LH_BUF_INIT;
  assert_int_equal(lh_statement_csv_header(&out), 0);
  assert_int_equal(lh_statement_csv_row(&st, &out), 0);
  assert_string_equal(out.data,
                      "\"id\",\"entity_id\",\"canonical_id\",\"prop\",\"prop_type\",\"schema\","
                      "\"value\",\"original_value\",\"dataset\",\"origin\",\"lang\",\"external\","
                      "\"first_seen\",\"last_seen\",\"fragment\"\n"
                      "\"241a6298861ed88df12ae64e49ff96292f711d95\",\"Q61589\",\"Q61589\","
                      "\"name\",\"name\",\"Person\",\"Sal\"\"ih, \"\"the\"\"\nsecond\",,"
                      "\"wd_persons\",\"bulk\",,false,2024-03-09 09:28:18.000000Z,"
                      "2024-03-09 09:28:18.500000Z,\"\"\n");
  /* the CSV reader reads it back */
  lh__csv *c = lh__csv_open_mem(out.data, out.len, 0);
  lh__csv_record r;
  assert_int_equal(lh__csv_next(c, &r, NULL), 1);
  assert_int_equal(r.nfields, LH_STATEMENT_CSV_NCOLUMNS);
  assert_int_equal(lh__csv_next(c, &r, NULL), 1);
  assert_string_equal(r.fields[6], st.value);
  assert_string_equal(r.fields[11], "false");
  lh__csv_close(c);
  lh_buf_reset(&out);
  assert_int_equal(lh_csv_write_field(&out, "a\"b", 3, LH_CSV_QUOTE_ALL), 0);
  assert_string_equal(out.data, "\"a\"\"b\"");
  char ts[LH_CSV_TS_SIZE];
  lh_csv_format_timestamp(T("1999-12-31T23:59:59.000001"), ts);
  assert_string_equal(ts, "1999-12-31 23:59:59.000001Z");
  lh_time_format_csv(T("2024-02-29T00:00:00"), ts);
  assert_string_equal(ts, "2024-02-29 00:00:00.000000Z");
  lh_buf_free(&out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pack_ids),
      cmocka_unit_test(test_explode_matches_pack),
      cmocka_unit_test(test_round_trip_all_data),
      cmocka_unit_test(test_explode_cases),
      cmocka_unit_test(test_explode_options),
      cmocka_unit_test(test_statement_id_variants),
      cmocka_unit_test(test_csv_rows),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
