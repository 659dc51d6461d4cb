/* Exports and their machinery: codecs, versions, job records, config.yml writing, and the
 * entity and document diffs after add, modify and delete (inventory §5.4, §5.5, §9.3). */
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "core/yaml.h"
#include "testutil.h"

static char *path_in(tu_lake *l, const char *rel) {
  char *p;
  assert_true(asprintf(&p, "%s/%s", l->dir, rel) > 0);
  return p;
}

/* ---- codecs -----------------------------------------------------------------------------------
 */

static void roundtrip(lh_store *s, lh_codec c, const char *data, size_t len) {
  lh_error err = {0};
  lh_cwriter *w;
  assert_int_equal(lh_cwriter_open(s, "x.bin", c, &w, &err), 0);
  /* in uneven pieces */
  for (size_t at = 0; at < len;) {
    size_t n = len - at < 77777 ? len - at : 77777;
    assert_int_equal(lh_cwriter_write(w, data + at, n, &err), 0);
    at += n;
  }
  assert_int_equal(lh_cwriter_commit(w, &err), 0);
  lh_creader *r;
  assert_int_equal(lh_creader_open(s, "x.bin", c, &r, &err), 0);
  lh_buf got = LH_BUF_INIT;
  char chunk[4096];
  for (;;) {
    size_t n;
    assert_int_equal(lh_creader_read(r, chunk, sizeof chunk, &n, &err), 0);
    if (!n)
      break;
    lh_buf_append(&got, chunk, n);
  }
  lh_creader_close(r);
  assert_int_equal(got.len, len);
  assert_memory_equal(got.data, data, len);
  lh_buf_free(&got);
  lh_store_info info;
  assert_int_equal(lh_store_stat(s, "x.bin", &info, &err), 0);
  if (c != LH_CODEC_NONE)
    assert_true(info.size < (int64_t)len / 3); /* real compression of FtM JSON */
}

static void test_codecs(void **state) {
  (void)state;
  size_t len;
  char *data = tu_read_file(tu_shared("data/wd_persons/entities.ftm.json"), &len);
  char *dir = tu_tempdir();
  lh_store *s;
  lh_error err = {0};
  assert_int_equal(lh_store_open(dir, &s, &err), 0);
  roundtrip(s, LH_CODEC_NONE, data, len);
  roundtrip(s, LH_CODEC_GZ, data, len);
  roundtrip(s, LH_CODEC_ZST, data, len);
  /* a truncated zstd stream is an error, not a short read */
  lh_buf whole = LH_BUF_INIT;
  assert_int_equal(lh_store_get(s, "x.bin", &whole, &err), 0);
  assert_int_equal(lh_store_put(s, "cut.zst", whole.data, whole.len / 2, &err), 0);
  lh_creader *r;
  assert_int_equal(lh_creader_open(s, "cut.zst", LH_CODEC_ZST, &r, &err), 0);
  char chunk[65536];
  size_t n;
  int rc;
  while ((rc = lh_creader_read(r, chunk, sizeof chunk, &n, &err)) == 0 && n)
    ;
  assert_int_equal(rc, LH_EPARSE);
  assert_non_null(strstr(err.message, "cut.zst: truncated zstd stream"));
  lh_creader_close(r);
  /* garbage as gzip */
  assert_int_equal(lh_store_put(s, "bad.gz", "not gzip at all", 15, &err), 0);
  assert_int_equal(lh_creader_open(s, "bad.gz", LH_CODEC_GZ, &r, &err), 0);
  assert_int_equal(lh_creader_read(r, chunk, sizeof chunk, &n, &err), LH_EPARSE);
  assert_non_null(strstr(err.message, "bad.gz: corrupt gzip stream"));
  lh_creader_close(r);
  lh_codec c;
  assert_int_equal(lh_codec_parse("bz2", &c, &err), LH_EINVAL);
  assert_non_null(strstr(err.message, "unknown compression 'bz2'"));
  char *key;
  assert_int_equal(lh_codec_find(s, "cut", &key, &c, &err), 0);
  assert_string_equal(key, "cut.zst");
  assert_int_equal(c, LH_CODEC_ZST);
  free(key);
  assert_int_equal(lh_codec_find(s, "nothing", &key, &c, &err), LH_ENOTFOUND);
  lh_buf_free(&whole);
  lh_store_close(s);
  tu_rmtree(dir);
  free(dir);
  free(data);
}

/* ---- versions, jobs -----------------------------------------------------------------------------
 */

typedef struct keys {
  char *v[16];
  size_t n;
} keys;

static int add_key(const char *key, void *ctx) {
  keys *k = ctx;
  if (k->n < 16)
    k->v[k->n++] = strdup(key);
  return 0;
}

static void test_versions(void **state) {
  (void)state;
  char *dir = tu_tempdir();
  lh_store *s;
  lh_error err = {0};
  assert_int_equal(lh_store_open(dir, &s, &err), 0);
  bool changed;
  assert_int_equal(lh_versions_make(s, "exports/statistics.json", "{\"a\":1}\n", 8, &changed, &err),
                   0);
  assert_true(changed);
  assert_int_equal(lh_versions_make(s, "exports/statistics.json", "{\"a\":1}\n", 8, &changed, &err),
                   0);
  assert_false(changed); /* identical content: no new version */
  usleep(1000);
  assert_int_equal(lh_versions_make(s, "exports/statistics.json", "{\"a\":2}\n", 8, &changed, &err),
                   0);
  assert_true(changed);
  assert_int_equal(lh_versions_make(s, "index.json", "{}\n", 3, &changed, &err), 0);
  keys k = {0};
  assert_int_equal(lh_versions_list(s, "exports/statistics.json", add_key, &k, &err), 0);
  assert_int_equal(k.n, 2);
  regex_t re;
  assert_int_equal(
      regcomp(&re, "^versions/[0-9]{4}/[0-9]{2}/[0-9]{8}T[0-9]{12}Z/exports/statistics.json$",
              REG_EXTENDED | REG_NOSUB),
      0);
  for (size_t i = 0; i < k.n; i++)
    assert_int_equal(regexec(&re, k.v[i], 0, NULL, 0), 0);
  regfree(&re);
  assert_true(strcmp(k.v[0], k.v[1]) < 0);
  lh_buf b = LH_BUF_INIT;
  assert_int_equal(lh_store_get(s, k.v[0], &b, &err), 0);
  assert_memory_equal(b.data, "{\"a\":1}\n", 8); /* old versions are kept */
  lh_buf_reset(&b);
  assert_int_equal(lh_store_get(s, "exports/statistics.json", &b, &err), 0);
  assert_memory_equal(b.data, "{\"a\":2}\n", 8);
  lh_tags *t = NULL;
  assert_int_equal(lh_tags_open(s, NULL, &t, NULL), 0);
  assert_int_equal(lh_tags_exists(t, "exports/statistics.json", &err), 1);
  lh_tags_close(t);
  for (size_t i = 0; i < k.n; i++)
    free(k.v[i]);
  lh_buf_free(&b);
  lh_store_close(s);
  tu_rmtree(dir);
  free(dir);
}

static void test_jobs(void **state) {
  (void)state;
  char *dir = tu_tempdir();
  lh_store *s;
  lh_error err = {0};
  assert_int_equal(lh_store_open(dir, &s, &err), 0);
  lh_job a, b;
  lh_job_init(&a, "ExportJob", "leaks");
  a.extra[a.nextra++] = (lh_job_field){"kind", "\"statements\""};
  assert_int_equal(lh_job_start(s, &a, &err), 0);
  lh_buf j = LH_BUF_INIT;
  assert_int_equal(lh_jobs_latest(s, "ExportJob", &j, &err), 0);
  json_t *rec = json_loadb(j.data, j.len, 0, NULL);
  assert_non_null(rec);
  assert_true(json_is_true(json_object_get(rec, "running")));
  assert_true(json_is_null(json_object_get(rec, "stopped")));
  json_decref(rec);
  a.done = 1;
  assert_int_equal(lh_job_stop(s, &a, NULL, &err), 0);
  usleep(2000);
  lh_job_init(&b, "ExportJob", "leaks");
  assert_int_equal(lh_job_start(s, &b, &err), 0);
  assert_int_equal(lh_job_stop(s, &b, "boom: disk full", &err), 0);
  assert_true(strcmp(a.run_id, b.run_id) < 0); /* UUIDv7: time-ordered */
  lh_buf_reset(&j);
  assert_int_equal(lh_jobs_latest(s, "ExportJob", &j, &err), 0);
  rec = json_loadb(j.data, j.len, 0, NULL);
  assert_string_equal(json_string_value(json_object_get(rec, "run_id")), b.run_id);
  assert_string_equal(json_string_value(json_object_get(rec, "exc")), "boom: disk full");
  assert_string_equal(json_string_value(json_object_get(rec, "name")), "ExportJob");
  assert_string_equal(json_string_value(json_object_get(rec, "dataset")), "leaks");
  assert_non_null(strstr(json_string_value(json_object_get(rec, "took")), "PT0."));
  json_decref(rec);
  /* the first run: a success has exc null, and its fields in order */
  char path[512];
  snprintf(path, sizeof path, "%s/jobs/runs/ExportJob/%s.json", dir, a.run_id);
  char *text = tu_read_file(path, NULL);
  assert_non_null(strstr(text, "\"done\":1,\"errors\":0,\"running\":false,\"exc\":null,\"took\":"));
  assert_non_null(
      strstr(text, "\"dataset\":\"leaks\",\"kind\":\"statements\",\"name\":\"ExportJob\"}"));
  free(text);
  assert_int_equal(lh_jobs_latest(s, "MakeJob", &j, &err), LH_ENOTFOUND);
  lh_buf_free(&j);
  lh_store_close(s);
  tu_rmtree(dir);
  free(dir);
}

/* ---- config.yml ----------------------------------------------------------------------------- */

static void test_yaml_dump(void **state) {
  (void)state;
  const char *json = "{\"title\":\"Leaks\",\"b\":[\"yes\",\"123\",\"2024-01-01\",\"null\",\"x: y\","
                     "\"plain\",\"\"],\"a\":{\"n\":3,\"f\":1.5,\"t\":true,\"z\":null},"
                     "\"empty\":[],\"uni\":\"Łódź\"}";
  json_t *in = json_loads(json, 0, NULL), *back = NULL;
  lh_buf y = LH_BUF_INIT;
  lh_error err = {0};
  assert_int_equal(lh__yaml_dump(in, &y, &err), 0);
  lh_buf_putc(&y, 0);
  /* keys sorted, ambiguous strings quoted, PyYAML's layout */
  assert_non_null(strstr(y.data,
                         "a:\n  f: 1.5\n  n: 3\n  t: true\n  z: null\nb:\n- 'yes'\n- '123'\n"
                         "- '2024-01-01'\n- 'null'\n- 'x: y'\n- plain\n- ''\nempty: []\n"));
  /* non-ASCII escaped, as PyYAML's yaml.dump (allow_unicode=False) writes it */
  assert_non_null(strstr(y.data, "title: Leaks\nuni: \"\\u0141\\xF3d\\u017A\"\n"));
  assert_int_equal(lh__yaml_to_json(y.data, y.len - 1, &back, &err), 0);
  assert_true(json_equal(in, back));
  json_decref(in);
  json_decref(back);
  lh_buf_free(&y);
}

static void test_configure(void **state) {
  (void)state;
  tu_lake l;
  tu_lake_open(&l);
  lh_dataset *ds = tu_lake_dataset(&l, "leaks");
  lh_error err = {0};
  bool changed;
  const char *yml = "title: Leaks\ntags: [a, b]\ncompression: zst\nname: ignored\nuri: x\n"
                    "publisher:\n  name: Desk\n";
  assert_int_equal(lh_dataset_configure(ds, yml, strlen(yml), "in.yml", &changed, &err), 0);
  assert_true(changed);
  assert_int_equal(ds->codec, LH_CODEC_ZST);
  /* merge: lists united, scalars replaced, nulls ignored, mappings merged */
  const char *more = "tags: [b, c]\ntitle: null\nsummary: S\npublisher:\n  url: https://x.org\n";
  assert_int_equal(lh_dataset_configure(ds, more, strlen(more), "more.yml", &changed, &err), 0);
  lh_buf out = LH_BUF_INIT;
  assert_int_equal(lh_dataset_config_json(ds, &out, &err), 0);
  json_t *cfg = json_loadb(out.data, out.len, 0, NULL);
  assert_string_equal(json_string_value(json_object_get(cfg, "name")), "leaks");
  assert_string_equal(json_string_value(json_object_get(cfg, "title")), "Leaks");
  assert_string_equal(json_string_value(json_object_get(cfg, "summary")), "S");
  json_t *tags = json_object_get(cfg, "tags");
  assert_int_equal(json_array_size(tags), 3);
  assert_string_equal(json_string_value(json_array_get(tags, 2)), "c");
  json_t *pub = json_object_get(cfg, "publisher");
  assert_string_equal(json_string_value(json_object_get(pub, "name")), "Desk");
  assert_string_equal(json_string_value(json_object_get(pub, "url")), "https://x.org");
  assert_non_null(strstr(json_string_value(json_object_get(cfg, "uri")), l.dir));
  json_decref(cfg);
  /* the same again: no new version */
  assert_int_equal(lh_dataset_configure(ds, more, strlen(more), "more.yml", &changed, &err), 0);
  assert_false(changed);
  /* the file on disk: the full model as sorted YAML, the dataset's uri included (as the
   * Python project writes it), readable by a fresh open */
  char *p = path_in(&l, "leaks/config.yml");
  char *text = tu_read_file(p, NULL);
  assert_non_null(strstr(text, "\nuri: file://"));
  assert_non_null(strstr(text, "\nshards: 0\n"));
  assert_non_null(strstr(text, "\ndeprecated: false\n"));
  assert_non_null(strstr(text, "compression: zst\n"));
  assert_true(strstr(text, "compression") < strstr(text, "title"));
  free(text);
  free(p);
  lh_dataset_close(ds);
  ds = tu_lake_dataset(&l, "leaks");
  assert_int_equal(ds->codec, LH_CODEC_ZST);
  /* the dataset public prefix, with ${dataset} replaced */
  const char *pre = "public_url_prefix: https://data.example.org/${dataset}/\n";
  assert_int_equal(lh_dataset_configure(ds, pre, strlen(pre), "p.yml", NULL, &err), 0);
  char *prefix = lh__ctx_public_prefix(ds);
  assert_string_equal(prefix, "https://data.example.org/leaks/");
  free(prefix);
  /* refused: nothing written */
  const char *bad = "entity_count: -3\n";
  assert_int_equal(lh_dataset_configure(ds, bad, strlen(bad), "bad.yml", NULL, &err), LH_EINVAL);
  assert_string_equal(err.message,
                      "bad.yml: 'entity_count' must be a non-negative integer (got -3)");
  const char *notmap = "- a\n- b\n";
  assert_int_equal(lh_dataset_configure(ds, notmap, strlen(notmap), "list.yml", NULL, &err),
                   LH_EINVAL);
  assert_non_null(strstr(err.message, "list.yml: must be a mapping"));
  lh_buf_free(&out);
  lh_dataset_close(ds);
  tu_lake_close(&l);
}

/* ---- diffs --------------------------------------------------------------------------------- */

static void add_json(lh_dataset *ds, const char *json) {
  lh_entity *e = NULL;
  assert_int_equal(lh_entity_new(tu_model(), &e, NULL), 0);
  lh_error err = {0};
  lh_delta_op op;
  assert_int_equal(lh_entity_parse_json(e, json, strlen(json), 0, &op, &err), 0);
  lh_entity *list[1] = {e};
  assert_int_equal(lh_entities_add(ds, list, 1, "crawl", NULL, &err), 0);
  lh_entity_free(e);
}

static void make(lh_dataset *ds) {
  lh_error err = {0};
  lh_op_result r = {0};
  usleep(2000); /* tags are microsecond timestamps: keep them apart */
  if (lh_dataset_make(ds, NULL, &r, &err))
    fail_msg("make: %s", err.message);
  lh_buf_free(&r.job);
}

typedef struct listing {
  char *v[32];
  size_t n;
} listing;

static int list_key(const char *key, void *ctx) {
  listing *l = ctx;
  if (l->n < 32)
    l->v[l->n++] = strdup(key);
  return 0;
}

static void listing_free(listing *l) {
  for (size_t i = 0; i < l->n; i++)
    free(l->v[i]);
  l->n = 0;
}

/* The lines of the newest file under prefix, and how many files there are. */
static size_t newest(lh_dataset *ds, const char *prefix, char **text) {
  listing l = {0};
  lh_error err = {0};
  assert_int_equal(lh_store_iterate(lh_dataset_store(ds), prefix, NULL, list_key, &l, &err), 0);
  size_t n = l.n;
  *text = NULL;
  if (n) {
    lh_buf b = LH_BUF_INIT;
    assert_int_equal(lh_store_get(lh_dataset_store(ds), l.v[n - 1], &b, &err), 0);
    lh_buf_putc(&b, 0);
    *text = b.data;
  }
  listing_free(&l);
  return n;
}

static size_t count_lines(const char *s) {
  size_t n = 0;
  for (; s && *s; s++)
    n += *s == '\n';
  return n;
}

static void test_diffs(void **state) {
  (void)state;
  tu_lake l;
  tu_lake_open(&l);
  lh_dataset *ds = tu_lake_dataset(&l, "leaks");
  char sum[LH_SHA256_HEX_SIZE];
  lh_sha256_hex("blob", 4, sum);
  char doc[512];
  snprintf(doc, sizeof doc,
           "{\"id\":\"doc-1\",\"schema\":\"Pages\",\"properties\":{\"fileName\":[\"a.pdf\"],"
           "\"contentHash\":[\"%s\"]}}",
           sum);
  add_json(ds, "{\"id\":\"p-1\",\"schema\":\"Person\",\"properties\":{\"name\":[\"Ana\"]}}");
  add_json(ds, "{\"id\":\"p-2\",\"schema\":\"Person\",\"properties\":{\"name\":[\"Bo\"]}}");
  add_json(ds, doc);
  make(ds);
  char *text;
  /* the first diff: everything as ADD */
  assert_int_equal(newest(ds, "diffs/entities.ftm.json", &text), 1);
  assert_int_equal(count_lines(text), 3);
  assert_non_null(strstr(text, "{\"op\":\"ADD\",\"entity\":{\"id\":\"p-1\""));
  free(text);
  assert_int_equal(newest(ds, "diffs/exports/documents.csv", &text), 1);
  assert_non_null(strstr(text, "op,id,checksum,name,mimetype,path,size,updated_at,public_url\r\n"
                               "ADD,doc-1,"));
  free(text);

  /* add: only the new entity */
  add_json(ds, "{\"id\":\"p-3\",\"schema\":\"Person\",\"properties\":{\"name\":[\"Cy\"]}}");
  make(ds);
  assert_int_equal(newest(ds, "diffs/entities.ftm.json", &text), 2);
  assert_int_equal(count_lines(text), 1);
  assert_non_null(strstr(text, "{\"op\":\"ADD\",\"entity\":{\"id\":\"p-3\""));
  free(text);
  /* the documents did not change: no documents diff */
  assert_int_equal(newest(ds, "diffs/exports/documents.csv", &text), 1);
  free(text);

  /* modify: the whole entity, new value included */
  add_json(ds, "{\"id\":\"p-1\",\"schema\":\"Person\",\"properties\":{\"nationality\":[\"de\"]}}");
  make(ds);
  assert_int_equal(newest(ds, "diffs/entities.ftm.json", &text), 3);
  assert_int_equal(count_lines(text), 1);
  assert_non_null(strstr(text, "\"id\":\"p-1\""));
  assert_non_null(strstr(text, "\"name\":[\"Ana\"]"));
  assert_non_null(strstr(text, "\"nationality\":[\"de\"]"));
  free(text);

  /* an unchanged re-add: no diff after the merge */
  add_json(ds, "{\"id\":\"p-2\",\"schema\":\"Person\",\"properties\":{\"name\":[\"Bo\"]}}");
  make(ds);
  assert_int_equal(newest(ds, "diffs/entities.ftm.json", &text), 3);
  free(text);

  /* delete: DEL lines, in the documents diff too */
  lh_error err = {0};
  uint64_t tombs;
  assert_int_equal(lh_entities_delete(ds, "p-2", &tombs, &err), 0);
  assert_true(tombs > 0);
  assert_int_equal(lh_entities_delete(ds, "doc-1", &tombs, &err), 0);
  make(ds);
  assert_int_equal(newest(ds, "diffs/entities.ftm.json", &text), 4);
  assert_int_equal(count_lines(text), 2);
  assert_non_null(strstr(text, "{\"op\":\"DEL\",\"entity\":{\"id\":\"doc-1\"}}\n"));
  assert_non_null(strstr(text, "{\"op\":\"DEL\",\"entity\":{\"id\":\"p-2\"}}\n"));
  free(text);
  assert_int_equal(newest(ds, "diffs/exports/documents.csv", &text), 2);
  assert_non_null(strstr(text, "\r\nDEL,doc-1,,,,,,,\r\n"));
  free(text);
  /* no documents left: no documents.csv either */
  assert_int_equal(lh_store_exists(lh_dataset_store(ds), "exports/documents.csv", NULL), 0);
  /* and the entities export no longer has them */
  lh_buf b = LH_BUF_INIT;
  assert_int_equal(lh_store_get(lh_dataset_store(ds), "entities.ftm.json", &b, &err), 0);
  lh_buf_putc(&b, 0);
  assert_null(strstr(b.data, "\"p-2\""));
  assert_non_null(strstr(b.data, "\"p-3\""));
  lh_buf_free(&b);
  lh_dataset_close(ds);
  tu_lake_close(&l);
}

/* Entities of a kind, added in one call: person i "p-%05d" (with a nationality when
 * `changed`), document i "d-%05d" (a Pages, with a title when `changed`). */
static void add_many(lh_dataset *ds, bool documents, int n, bool changed) {
  lh_entity **list = calloc((size_t)n, sizeof *list);
  assert_non_null(list);
  char json[512], sum[LH_SHA256_HEX_SIZE];
  for (int i = 0; i < n; i++) {
    if (documents) {
      char content[32];
      int len = snprintf(content, sizeof content, "content %d", i);
      lh_sha256_hex(content, (size_t)len, sum);
      snprintf(json, sizeof json,
               "{\"id\":\"d-%05d\",\"schema\":\"Pages\",\"properties\":{\"fileName\":[\"%d.pdf\"],"
               "\"contentHash\":[\"%s\"]%s}}",
               i, i, sum, changed ? ",\"title\":[\"changed\"]" : "");
    } else {
      snprintf(json, sizeof json,
               "{\"id\":\"p-%05d\",\"schema\":\"Person\",\"properties\":{\"name\":[\"P %d\"]%s}}",
               i, i, changed ? ",\"nationality\":[\"de\"]" : "");
    }
    lh_error err = {0};
    lh_delta_op op;
    assert_int_equal(lh_entity_new(tu_model(), &list[i], NULL), 0);
    assert_int_equal(lh_entity_parse_json(list[i], json, strlen(json), 0, &op, &err), 0);
  }
  lh_error err = {0};
  assert_int_equal(lh_entities_add(ds, list, (size_t)n, "crawl", NULL, &err), 0);
  for (int i = 0; i < n; i++)
    lh_entity_free(list[i]);
  free(list);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The op and id of each line of a diff (entities: JSON envelopes; documents: CSV rows), as
 * "ADD id" / "DEL id" lines. */
static char *diff_ops(const char *text, bool documents) {
  lh_buf b = LH_BUF_INIT;
  const char *line = text;
  if (documents)
    line = strchr(line, '\n') + 1; /* the header */
  while (*line) {
    const char *end = strchr(line, '\n');
    assert_non_null(end);
    const char *id;
    if (documents) {
      id = line + 4;
    } else {
      id = strstr(line, "\"entity\":{\"id\":\"");
      assert_non_null(id);
      id += strlen("\"entity\":{\"id\":\"");
    }
    size_t n = strcspn(id, documents ? "," : "\"");
    lh_buf_printf(&b, "%.3s %.*s\n", documents ? line : line + 7, (int)n, id);
    line = end + 1;
  }
  lh_buf_putc(&b, 0);
  return b.data;
}

/* Diffs of more changed entities than one lookup batch (5,000): the entities diff writes
 * each batch's ADD lines then its DEL lines, in id order; the documents diff all ADD rows,
 * then all DEL rows; the ids go through a temporary file, never all in memory. */
static void test_diffs_batches(void **state) {
  (void)state;
  tu_lake l;
  tu_lake_open(&l);
  lh_dataset *ds = tu_lake_dataset(&l, "leaks");
  const int npersons = 11000, ndocs = 6000;
  add_many(ds, false, npersons, false);
  add_many(ds, true, ndocs, false);
  make(ds);
  char *text;
  assert_int_equal(newest(ds, "diffs/entities.ftm.json", &text), 1);
  assert_int_equal(count_lines(text), npersons + ndocs);
  free(text);

  /* every other person and every document changed; two of each deleted */
  add_many(ds, false, npersons, true);
  add_many(ds, true, ndocs, true);
  const char *deleted[] = {"d-00050", "d-05999", "p-00101", "p-07001"};
  for (size_t i = 0; i < 4; i++) {
    lh_error err = {0};
    uint64_t tombs;
    assert_int_equal(lh_entities_delete(ds, deleted[i], &tombs, &err), 0);
    assert_true(tombs > 0);
  }
  make(ds);

  /* expected: the changed ids sorted, in batches of 5,000 (ADD lines, then DEL lines) */
  size_t n = (size_t)(npersons + ndocs);
  char **ids = calloc(n, sizeof *ids);
  for (int i = 0; i < npersons; i++)
    assert_true(asprintf(&ids[i], "p-%05d", i) > 0);
  for (int i = 0; i < ndocs; i++)
    assert_true(asprintf(&ids[npersons + i], "d-%05d", i) > 0);
  qsort(ids, n, sizeof *ids, cmp_str);
  lh_buf want = LH_BUF_INIT, want_docs = LH_BUF_INIT, docs_del = LH_BUF_INIT;
  for (size_t at = 0; at < n; at += 5000) {
    size_t end = at + 5000 < n ? at + 5000 : n;
    for (int del = 0; del < 2; del++)
      for (size_t i = at; i < end; i++) {
        bool gone = false;
        for (size_t k = 0; k < 4; k++)
          gone = gone || strcmp(ids[i], deleted[k]) == 0;
        if (gone == (bool)del)
          lh_buf_printf(&want, "%s %s\n", del ? "DEL" : "ADD", ids[i]);
      }
  }
  for (size_t i = 0; i < n; i++) {
    if (ids[i][0] != 'd')
      continue;
    bool gone = strcmp(ids[i], deleted[0]) == 0 || strcmp(ids[i], deleted[1]) == 0;
    lh_buf_printf(gone ? &docs_del : &want_docs, "%s %s\n", gone ? "DEL" : "ADD", ids[i]);
  }
  lh_buf_append(&want_docs, docs_del.data, docs_del.len);
  lh_buf_putc(&want, 0);
  lh_buf_putc(&want_docs, 0);

  assert_int_equal(newest(ds, "diffs/entities.ftm.json", &text), 2);
  char *ops = diff_ops(text, false);
  assert_string_equal(ops, want.data);
  assert_non_null(strstr(text, "{\"op\":\"ADD\",\"entity\":{\"id\":\"p-00000\""));
  assert_non_null(strstr(text, "\"nationality\":[\"de\"]"));
  free(ops);
  free(text);
  assert_int_equal(newest(ds, "diffs/exports/documents.csv", &text), 2);
  ops = diff_ops(text, true);
  assert_string_equal(ops, want_docs.data);
  assert_non_null(strstr(text, "\r\nDEL,d-05999,,,,,,,\r\n"));
  free(ops);
  free(text);

  /* no temporary file for the ids: the make fails and says why, the next one writes the diff */
  add_json(ds, "{\"id\":\"q-1\",\"schema\":\"Person\",\"properties\":{\"name\":[\"Q\"]}}");
  const char *tmpdir = getenv("TMPDIR");
  char *saved = tmpdir ? strdup(tmpdir) : NULL;
  setenv("TMPDIR", "/nonexistent-lh-tmpdir", 1);
  usleep(2000);
  lh_error err = {0};
  lh_op_result r = {0};
  assert_true(lh_dataset_make(ds, NULL, &r, &err) != 0);
  assert_non_null(strstr(err.message, "cannot create a temporary file"));
  lh_buf_free(&r.job);
  if (saved)
    setenv("TMPDIR", saved, 1);
  else
    unsetenv("TMPDIR");
  free(saved);
  make(ds);
  assert_int_equal(newest(ds, "diffs/entities.ftm.json", &text), 3);
  assert_int_equal(count_lines(text), 1);
  assert_non_null(strstr(text, "{\"op\":\"ADD\",\"entity\":{\"id\":\"q-1\""));
  free(text);

  for (size_t i = 0; i < n; i++)
    free(ids[i]);
  free(ids);
  lh_buf_free(&want);
  lh_buf_free(&want_docs);
  lh_buf_free(&docs_del);
  lh_dataset_close(ds);
  tu_lake_close(&l);
}

/* A failed export records the failure in its job and does not stamp its target. */
static void test_failed_export(void **state) {
  (void)state;
  tu_lake l;
  tu_lake_open(&l);
  lh_dataset *ds = tu_lake_dataset(&l, "leaks");
  add_json(ds, "{\"id\":\"p-1\",\"schema\":\"Person\",\"properties\":{\"name\":[\"Ana\"]}}");
  /* a folder where the export file must go */
  char *p = path_in(&l, "leaks/entities.ftm.json");
  assert_int_equal(mkdir(p, 0755), 0);
  char *inner = path_in(&l, "leaks/entities.ftm.json/keep");
  FILE *f = fopen(inner, "w");
  assert_non_null(f);
  fclose(f);
  lh_error err = {0};
  lh_op_result r = {0};
  assert_true(lh_dataset_export(ds, LH_EXPORT_ENTITIES, false, &r, &err) < 0);
  assert_non_null(strstr(err.message, "entities.ftm.json"));
  lh_buf j = LH_BUF_INIT;
  assert_int_equal(lh_jobs_latest(lh_dataset_store(ds), "ExportJob", &j, &err), 0);
  json_t *rec = json_loadb(j.data, j.len, 0, NULL);
  assert_true(json_is_string(json_object_get(rec, "exc")));
  assert_int_equal(json_integer_value(json_object_get(rec, "done")), 0);
  json_decref(rec);
  lh_tags *t = NULL;
  assert_int_equal(lh_tags_open(lh_dataset_store(ds), NULL, &t, NULL), 0);
  assert_int_equal(lh_tags_exists(t, "entities.ftm.json", &err), 0);
  lh_tags_close(t);
  /* fixed: the next run succeeds */
  tu_rmtree(p);
  assert_int_equal(lh_dataset_export(ds, LH_EXPORT_ENTITIES, false, &r, &err), 0);
  assert_false(r.skipped);
  assert_int_equal(lh_dataset_export(ds, LH_EXPORT_ENTITIES, false, &r, &err), 0);
  assert_true(r.skipped);
  lh_buf_free(&r.job);
  lh_buf_free(&j);
  free(inner);
  free(p);
  lh_dataset_close(ds);
  tu_lake_close(&l);
}

typedef struct first_file {
  char *path;
} first_file;

static int keep_first(const char *key, void *ctx) {
  first_file *f = ctx;
  if (!f->path)
    f->path = strdup(key);
  return 0;
}

/* A data file missing under the statements: the export names it, writes nothing, and does
 * not hang on the pipe DuckDB writes into. */
static void test_export_broken_table(void **state) {
  (void)state;
  tu_lake l;
  tu_lake_open(&l);
  setenv("LAKEHOUSE_EXPORT_SLICE_ROWS", "50", 1);
  lh_settings_free(&l.settings);
  lh_error err = {0};
  assert_int_equal(lh_settings_load(&l.settings, &err), 0);
  lh_dataset *ds = tu_lake_dataset(&l, "wd");
  int fd = open(tu_shared("data/wd_persons/entities.ftm.json"), O_RDONLY);
  lh_import_opts io = {.format = LH_IMPORT_ENTITIES, .name = "wd"};
  lh_import_result ir;
  assert_int_equal(lh_entities_import(ds, fd, &io, &ir, &err), 0);
  close(fd);
  lh_op_result r = {0};
  assert_int_equal(lh_dataset_export(ds, LH_EXPORT_STATEMENTS, false, &r, &err), 0);
  /* sliced (3 179 rows, 50 a slice) and still sorted */
  lh_buf csv = LH_BUF_INIT;
  assert_int_equal(lh_store_get(lh_dataset_store(ds), "exports/statements.csv", &csv, &err), 0);
  lh_buf_putc(&csv, 0);
  size_t rows = 0;
  char prev[512] = "";
  for (char *line = strchr(csv.data, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
    char key[512];
    const char *f2 = strchr(line + 1, ',') + 1; /* "entity_id" */
    const char *end = strchr(f2 + 1, '"');
    snprintf(key, sizeof key, "%.*s", (int)(end - f2), f2);
    assert_true(strcmp(prev, key) <= 0);
    snprintf(prev, sizeof prev, "%s", key);
    rows++;
  }
  assert_int_equal(rows, 3179);
  /* now break the table */
  lh_statement_store *st;
  assert_int_equal(lh__ctx_statements(ds, &st, &err), 0);
  first_file f = {NULL};
  assert_int_equal(lh_statement_store_files(st, keep_first, &f, &err), 0);
  char *p;
  assert_true(asprintf(&p, "%s/wd/statements/%s", l.dir, f.path) > 0);
  assert_int_equal(unlink(p), 0);
  int rc = lh_dataset_export(ds, LH_EXPORT_STATEMENTS, true, &r, &err);
  assert_true(rc < 0);
  if (!strstr(err.message, "is missing"))
    fail_msg("error: %s", err.message);
  /* the last good export is still there, whole */
  lh_buf again = LH_BUF_INIT;
  assert_int_equal(lh_store_get(lh_dataset_store(ds), "exports/statements.csv", &again, &err), 0);
  assert_int_equal(again.len + 1, csv.len); /* csv got a NUL appended */
  assert_memory_equal(again.data, csv.data, again.len);
  lh_buf_free(&again);
  lh_buf_free(&csv);
  unsetenv("LAKEHOUSE_EXPORT_SLICE_ROWS");
  lh_buf_free(&r.job);
  free(p);
  free(f.path);
  lh_dataset_close(ds);
  tu_lake_close(&l);
}

typedef struct id_list {
  char **v;
  size_t n;
  bool sorted;
} id_list;

static int take_id(void *ctx, const char *s, size_t n, lh_error *err) {
  (void)err;
  id_list *l = ctx;
  char *id = strndup(s, n);
  assert_non_null(id);
  if (l->n && strcmp(l->v[l->n - 1], id) >= 0)
    l->sorted = false;
  l->v = realloc(l->v, (l->n + 1) * sizeof *l->v);
  assert_non_null(l->v);
  l->v[l->n++] = id;
  return 0;
}

static void id_list_free(id_list *l) {
  for (size_t i = 0; i < l->n; i++)
    free(l->v[i]);
  free(l->v);
}

/* The changed ids of a diff, read in entity-id slices (50 rows an export slice, so 800 a
 * slice here: several over 3,179 statements): every entity once, in order, whether it is
 * one slice or several; none changed since now; the schema filter applies. */
static void test_changed_ids_sliced(void **state) {
  (void)state;
  tu_lake l;
  tu_lake_open(&l);
  id_list all[2] = {{NULL, 0, true}, {NULL, 0, true}};
  lh_error err = {0};
  for (int k = 0; k < 2; k++) {
    if (k == 1)
      setenv("LAKEHOUSE_EXPORT_SLICE_ROWS", "50", 1);
    lh_settings_free(&l.settings);
    assert_int_equal(lh_settings_load(&l.settings, &err), 0);
    lh_dataset *ds = tu_lake_dataset(&l, k ? "wd2" : "wd1");
    int fd = open(tu_shared("data/wd_persons/entities.ftm.json"), O_RDONLY);
    lh_import_opts io = {.format = LH_IMPORT_ENTITIES, .name = k ? "wd2" : "wd1"};
    lh_import_result ir;
    assert_int_equal(lh_entities_import(ds, fd, &io, &ir, &err), 0);
    close(fd);
    lh_statement_store *st;
    assert_int_equal(lh__ctx_statements(ds, &st, &err), 0);
    assert_int_equal(lh_statement_store_changed_ids(st, 0, NULL, 0, take_id, &all[k], &err), 0);
    uint64_t entities, statements;
    assert_int_equal(lh_statement_store_counts(st, &entities, &statements, &err), 0);
    assert_int_equal(statements, 3179);
    assert_int_equal(all[k].n, entities);
    assert_true(all[k].sorted);
    id_list none = {NULL, 0, true};
    assert_int_equal(
        lh_statement_store_changed_ids(st, lh_time_now() + 1000000, NULL, 0, take_id, &none, &err),
        0);
    assert_int_equal(none.n, 0);
    const char *other[] = {"Company"};
    assert_int_equal(lh_statement_store_changed_ids(st, 0, other, 1, take_id, &none, &err), 0);
    assert_int_equal(none.n, 0); /* the persons file holds no companies */
    lh_dataset_close(ds);
  }
  unsetenv("LAKEHOUSE_EXPORT_SLICE_ROWS");
  assert_true(all[0].n > 200);
  assert_int_equal(all[0].n, all[1].n);
  for (size_t i = 0; i < all[0].n; i++)
    assert_string_equal(all[0].v[i], all[1].v[i]);
  id_list_free(&all[0]);
  id_list_free(&all[1]);
  tu_lake_close(&l);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_codecs),
      cmocka_unit_test(test_versions),
      cmocka_unit_test(test_jobs),
      cmocka_unit_test(test_yaml_dump),
      cmocka_unit_test(test_configure),
      cmocka_unit_test(test_diffs),
      cmocka_unit_test(test_diffs_batches),
      cmocka_unit_test(test_failed_export),
      cmocka_unit_test(test_export_broken_table),
      cmocka_unit_test(test_changed_ids_sliced),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
