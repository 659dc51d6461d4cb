/* The export operations (inventory §9.3): statements.csv, entities.ftm.json, documents.csv,
 * statistics.json and index.json, with the entity and document diffs. Each export is one
 * ExportJob run whose target tag is the artifact key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/csv_reader.h"
#include "core/strmap.h"
#include "lakehouse/codec.h"
#include "lakehouse/conventions.h"
#include "lakehouse/documents.h"
#include "lakehouse/entities.h"
#include "lakehouse/log.h"
#include "lakehouse/statement_csv.h"
#include "lakehouse/versions.h"
#include "model/dataset_model.h"
#include "operation/operation.h"

/* Entity ids looked up per query of an incremental diff (Python QUERY_IN_BATCH_SIZE). */
#define DIFF_BATCH 5000
/* Bytes buffered before a write to an export. */
#define OUT_CHUNK (1 << 20)

static const struct {
  const char *name;
  const char *target;
} KINDS[LH_EXPORT_KIND_COUNT] = {
    {"statements", LH_PATH_EXPORTS_STATEMENTS},
    {"entities", LH_PATH_ENTITIES_JSON},
    {"documents", LH_PATH_EXPORTS_DOCUMENTS},
    {"statistics", LH_PATH_EXPORTS_STATISTICS},
    {"index", LH_PATH_INDEX},
};

int lh_export_kind_parse(const char *name, lh_export_kind *out, lh_error *err) {
  for (int k = 0; k < LH_EXPORT_KIND_COUNT; k++)
    if (name && !strcmp(name, KINDS[k].name)) {
      *out = (lh_export_kind)k;
      return 0;
    }
  return lh_error_set(err, LH_EINVAL,
                      "unknown export '%s' (one of statements, entities, documents, statistics, "
                      "index)",
                      name ? name : "");
}

const char *lh_export_kind_name(lh_export_kind k) {
  return k < LH_EXPORT_KIND_COUNT ? KINDS[k].name : "?";
}

static int nomem(lh_error *err) {
  return lh_error_set(err, LH_ENOMEM, "out of memory");
}

/* ---- buffered, compressed output ------------------------------------------------------------ */

typedef struct sink {
  lh_cwriter *w;
  lh_buf buf;
  uint64_t items;
} sink;

static int out_open(lh_dataset *ds, const char *key, lh_codec codec, sink *o, lh_error *err) {
  memset(o, 0, sizeof *o);
  return lh_cwriter_open(ds->store, key, codec, &o->w, err);
}

static int out_drain(sink *o, size_t above, lh_error *err) {
  if (o->buf.len <= above)
    return 0;
  int rc = lh_cwriter_write(o->w, o->buf.data, o->buf.len, err);
  lh_buf_reset(&o->buf);
  return rc;
}

static int out_close(sink *o, int rc, lh_error *err) {
  if (rc == 0)
    rc = out_drain(o, 0, err);
  if (rc == 0)
    rc = lh_cwriter_commit(o->w, err);
  else
    lh_cwriter_abort(o->w);
  o->w = NULL;
  lh_buf_free(&o->buf);
  return rc;
}

/* Remove base with the suffixes of the other codecs (left from an earlier compression). */
static int remove_stale(lh_dataset *ds, const char *base, lh_codec keep, lh_error *err) {
  for (size_t i = 0; i < LH_CODEC_COUNT; i++) {
    if (LH_CODECS[i] == keep)
      continue;
    char *key = lh_codec_key(base, LH_CODECS[i]);
    int rc = key ? lh_store_delete(ds->store, key, err) : nomem(err);
    free(key);
    if (rc && rc != LH_ENOTFOUND)
      return rc;
    lh_error_clear(err);
  }
  return 0;
}

/* ---- statements.csv ---------------------------------------------------------------------- */

static int write_rows(void *ctx, const void *data, size_t len, lh_error *err) {
  return lh_cwriter_write(ctx, data, len, err);
}

static int export_statements(lh_dataset *ds, lh_error *err) {
  lh_statement_store *st;
  int rc = lh__ctx_statements(ds, &st, err);
  if (rc)
    return rc;
  lh_codec codec = ds->codec;
  char *key = lh_path_exports_statements(lh_codec_suffix(codec));
  if (!key)
    return nomem(err);
  /* the rows come from DuckDB's parallel CSV writer; the header (quoted like pyarrow's) and
   * the compression are ours */
  sink o;
  if ((rc = out_open(ds, key, codec, &o, err))) {
    free(key);
    return rc;
  }
  rc = lh_statement_csv_header(&o.buf) ? nomem(err) : out_drain(&o, 0, err);
  uint64_t rows = 0;
  if (!rc)
    rc = lh_statement_store_export_csv(st, write_rows, o.w, &rows, err);
  if (!(rc = out_close(&o, rc, err)))
    rc = remove_stale(ds, LH_PATH_EXPORTS_STATEMENTS, codec, err);
  if (!rc)
    lh_log_info("%s: exported %llu statements to %s", ds->name, (unsigned long long)rows, key);
  free(key);
  return rc;
}

/* ---- entities.ftm.json -------------------------------------------------------------------- */

static int write_entity(lh_entity *e, void *ctx) {
  sink *o = ctx;
  if (lh_entity_write_json(e, LH_JSON_SORT_VALUES, &o->buf) || lh_buf_putc(&o->buf, '\n'))
    return LH_ENOMEM;
  o->items++;
  return out_drain(o, OUT_CHUNK, NULL);
}

/* The statement CSV columns the entity aggregation reads back. */
enum {
  C_ID,
  C_ENTITY,
  C_PROP,
  C_TYPE,
  C_SCHEMA,
  C_VALUE,
  C_ORIG,
  C_DATASET,
  C_ORIGIN,
  C_LANG,
  C_EXTERNAL,
  C_FIRST,
  C_LAST,
  C_FRAGMENT,
  C_N
};
static const int CSV_INDEX[C_N] = {0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};

static int read_creader(void *ctx, void *buf, size_t n, size_t *got, lh_error *err) {
  return lh_creader_read(ctx, buf, n, got, err);
}

/* The last timestamp text parsed and its value: rows of one entity mostly share them. */
typedef struct ts_cache {
  char text[LH_ISO_SIZE];
  lh_time value;
} ts_cache;

static int parse_ts_cached(ts_cache *c, const char *text, lh_time *out, lh_error *err) {
  if (strcmp(c->text, text) != 0) {
    int rc = lh_time_parse_iso(text, (size_t)-1, &c->value, err);
    if (rc) {
      c->text[0] = 0;
      return rc;
    }
    snprintf(c->text, sizeof c->text, "%s", text);
  }
  *out = c->value;
  return 0;
}

/* Aggregate the (entity-sorted) rows of a fresh statements.csv into entities. */
static int entities_from_csv(lh_dataset *ds, const char *key, lh_codec codec, sink *o,
                             lh_error *err) {
  const lh_model *model = lh_model_default(err);
  if (!model)
    return err ? err->code : LH_EINVAL;
  lh_creader *rd;
  int rc = lh_creader_open(ds->store, key, codec, &rd, err);
  if (rc)
    return rc;
  lh__csv *csv = lh__csv_open_reader(read_creader, rd, 0);
  lh_aggregator *agg = lh_aggregator_new(model, write_entity, o);
  if (!csv || !agg)
    rc = nomem(err);
  lh__csv_record rec;
  ts_cache first = {"", LH_TIME_NULL}, last = {"", LH_TIME_NULL};
  bool header = true;
  while (!rc) {
    int r = lh__csv_next(csv, &rec, err);
    if (r <= 0) {
      rc = r;
      break;
    }
    if (header) {
      header = false;
      continue;
    }
    if (rec.nfields != LH_STATEMENT_CSV_NCOLUMNS) {
      rc = lh_error_set(err, LH_EPARSE, "%s line %llu: %zu fields, expected %d", key,
                        (unsigned long long)rec.line, rec.nfields, LH_STATEMENT_CSV_NCOLUMNS);
      break;
    }
    char *const *f = rec.fields;
    lh_statement s;
    memset(&s, 0, sizeof s);
    snprintf(s.id, sizeof s.id, "%s", f[CSV_INDEX[C_ID]]);
    s.entity_id = f[CSV_INDEX[C_ENTITY]];
    s.prop = f[CSV_INDEX[C_PROP]];
    s.prop_type = f[CSV_INDEX[C_TYPE]];
    s.schema = f[CSV_INDEX[C_SCHEMA]];
    s.value = f[CSV_INDEX[C_VALUE]];
    s.value_len = rec.lens[CSV_INDEX[C_VALUE]];
    s.original_value = f[CSV_INDEX[C_ORIG]][0] ? f[CSV_INDEX[C_ORIG]] : NULL;
    s.dataset = f[CSV_INDEX[C_DATASET]];
    s.origin = f[CSV_INDEX[C_ORIGIN]];
    s.lang = f[CSV_INDEX[C_LANG]][0] ? f[CSV_INDEX[C_LANG]] : NULL;
    s.external = !strcmp(f[CSV_INDEX[C_EXTERNAL]], "true");
    s.fragment = f[CSV_INDEX[C_FRAGMENT]];
    if ((rc = parse_ts_cached(&first, f[CSV_INDEX[C_FIRST]], &s.first_seen, err)) ||
        (rc = parse_ts_cached(&last, f[CSV_INDEX[C_LAST]], &s.last_seen, err)) ||
        (rc = lh_aggregator_add(agg, &s, err))) {
      lh_error_prefix(err, "%s line %llu", key, (unsigned long long)rec.line);
      break;
    }
  }
  if (!rc)
    rc = lh_aggregator_finish(agg, err);
  lh_aggregator_free(agg);
  lh__csv_close(csv);
  lh_creader_close(rd);
  return rc;
}

/* statements.csv may stand in for the store when it is newer than the last canonical
 * change (whatever its compression: the tag key is unsuffixed). */
static int statements_csv_fresh(lh_dataset *ds, lh_tags *tags, char **key, lh_codec *codec,
                                lh_error *err) {
  static const char *const DEPS[] = {LH_TAG_STATEMENTS_OPTIMIZED};
  int fresh = lh_tags_is_latest(tags, LH_PATH_EXPORTS_STATEMENTS, DEPS, 1, err);
  if (fresh <= 0)
    return fresh;
  int rc = lh_codec_find(ds->store, LH_PATH_EXPORTS_STATEMENTS, key, codec, err);
  if (rc == LH_ENOTFOUND) {
    lh_error_clear(err);
    return 0;
  }
  return rc ? rc : 1;
}

static int export_entities(lh_dataset *ds, lh_tags *tags, lh_error *err) {
  lh_codec codec = ds->codec;
  char *key = lh_path_entities_json(lh_codec_suffix(codec));
  if (!key)
    return nomem(err);
  char *csv_key = NULL;
  lh_codec csv_codec;
  int fresh = statements_csv_fresh(ds, tags, &csv_key, &csv_codec, err);
  sink o;
  int rc = fresh < 0 ? fresh : out_open(ds, key, codec, &o, err);
  if (rc) {
    free(key);
    free(csv_key);
    return rc;
  }
  if (fresh) {
    lh_log_info("%s: entities from %s", ds->name, csv_key);
    rc = entities_from_csv(ds, csv_key, csv_codec, &o, err);
  } else {
    rc = lh_entities_query(ds, NULL, write_entity, &o, err);
  }
  if (rc == LH_ENOMEM && err && !err->message[0])
    nomem(err);
  rc = out_close(&o, rc, err);
  if (!rc)
    rc = remove_stale(ds, LH_PATH_ENTITIES_JSON, codec, err);
  if (!rc)
    lh_log_info("%s: exported %llu entities to %s", ds->name, (unsigned long long)o.items, key);
  free(key);
  free(csv_key);
  return rc;
}

/* ---- documents.csv ------------------------------------------------------------------------ */

typedef struct doc_out {
  sink *o;
  const char *op;
  lh__strmap *seen; /* diff: ids written */
} doc_out;

static int write_document(void *ctx, const lh_document *d, lh_error *err) {
  (void)err;
  doc_out *x = ctx;
  if (lh_document_csv_row(d, x->op, &x->o->buf))
    return LH_ENOMEM;
  x->o->items++;
  if (x->seen) {
    char *id = strdup(d->id);
    if (!id || lh__strmap_put(x->seen, id, 1)) {
      free(id);
      return LH_ENOMEM;
    }
  }
  return out_drain(x->o, OUT_CHUNK, NULL);
}

static int export_documents(lh_dataset *ds, lh_error *err) {
  sink o;
  int rc = out_open(ds, LH_PATH_EXPORTS_DOCUMENTS, LH_CODEC_NONE, &o, err);
  if (rc)
    return rc;
  rc = lh_buf_puts(&o.buf, LH_DOCUMENTS_CSV_HEADER "\r\n") ? nomem(err) : 0;
  doc_out x = {&o, NULL, NULL};
  if (!rc)
    rc = lh_documents_iterate(ds, NULL, 0, write_document, &x, err);
  if (rc == LH_ENOMEM && err && !err->message[0])
    nomem(err);
  if (!rc && o.items == 0) {
    /* no documents: no file (Python short-circuits), and none left from earlier ones */
    lh_cwriter_abort(o.w);
    lh_buf_free(&o.buf);
    lh_log_info("%s: no documents to export", ds->name);
    rc = lh_store_delete(ds->store, LH_PATH_EXPORTS_DOCUMENTS, err);
    if (rc == LH_ENOTFOUND) {
      lh_error_clear(err);
      rc = 0;
    }
    return rc;
  }
  rc = out_close(&o, rc, err);
  if (!rc)
    lh_log_info("%s: exported %llu documents to %s", ds->name, (unsigned long long)o.items,
                LH_PATH_EXPORTS_DOCUMENTS);
  return rc;
}

/* ---- statistics.json ----------------------------------------------------------------------- */

typedef struct counts {
  json_t *rows; /* [[key, count], ...] */
} counts;

static int collect_count(void *ctx, const char *key, uint64_t n, lh_error *err) {
  (void)err;
  counts *c = ctx;
  json_t *row = json_pack("[sI]", key, (json_int_t)n);
  return row && !json_array_append_new(c->rows, row) ? 0 : LH_ENOMEM;
}

/* Sort [[key, count]] by count descending, then key. */
static int by_count(const void *a, const void *b) {
  json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
  json_int_t cx = json_integer_value(json_array_get(x, 1)),
             cy = json_integer_value(json_array_get(y, 1));
  if (cx != cy)
    return cx > cy ? -1 : 1;
  return strcmp(json_string_value(json_array_get(x, 0)), json_string_value(json_array_get(y, 0)));
}

static json_t *sorted_rows(json_t *rows) {
  size_t n = json_array_size(rows);
  json_t **v = malloc((n ? n : 1) * sizeof *v);
  if (!v)
    return NULL;
  for (size_t i = 0; i < n; i++)
    v[i] = json_array_get(rows, i);
  qsort(v, n, sizeof *v, by_count);
  json_t *out = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append(out, v[i]);
  free(v);
  return out;
}

/* {"total", "countries": [{code, count, label}], "schemata": [{name, count, label, plural}]}
 * for the schemata of class `base` (Thing or Interval). */
static int class_stats(lh_statement_store *st, const lh_model *model, json_t *schema_rows,
                       const char *base, json_t *all_countries, json_t **out, lh_error *err) {
  const lh_schema *root = lh_model_schema(model, base);
  json_t *schemata = json_array(), *countries = json_array();
  json_int_t total = 0;
  const char **names = malloc((json_array_size(schema_rows) + 1) * sizeof *names);
  size_t nnames = 0;
  int rc = !schemata || !countries || !names ? nomem(err) : 0;
  json_t *sorted = rc ? NULL : sorted_rows(schema_rows);
  size_t i;
  json_t *row;
  json_array_foreach(sorted, i, row) {
    const char *name = json_string_value(json_array_get(row, 0));
    const lh_schema *s = lh_model_schema(model, name);
    if (!s || !root || !lh_schema_is_a(s, root))
      continue;
    json_int_t n = json_integer_value(json_array_get(row, 1));
    total += n;
    names[nnames++] = name;
    json_array_append_new(schemata, json_pack("{sssIssss}", "name", name, "count", n, "label",
                                              s->label ? s->label : name, "plural",
                                              s->plural ? s->plural : name));
  }
  counts cc = {json_array()};
  if (!rc && nnames)
    rc = lh_statement_store_country_counts(st, names, nnames, collect_count, &cc, err);
  if (rc == LH_ENOMEM && err && !err->message[0])
    nomem(err);
  const lh_type *country = lh_model_type(model, "country");
  json_t *csorted = rc ? NULL : sorted_rows(cc.rows);
  json_array_foreach(csorted, i, row) {
    const char *code = json_string_value(json_array_get(row, 0));
    const char *label = country ? lh_type_value_label(country, code) : NULL;
    json_array_append_new(countries, json_pack("{sssIss}", "code", code, "count",
                                               json_integer_value(json_array_get(row, 1)), "label",
                                               label ? label : code));
    bool have = false;
    size_t j;
    json_t *c;
    json_array_foreach(all_countries, j, c) if (!strcmp(json_string_value(c), code)) have = true;
    if (!have)
      json_array_append_new(all_countries, json_string(code));
  }
  json_decref(csorted);
  json_decref(cc.rows);
  json_decref(sorted);
  free(names);
  if (rc) {
    json_decref(schemata);
    json_decref(countries);
    return rc;
  }
  *out = json_pack("{sIsoso}", "total", total, "countries", countries, "schemata", schemata);
  return *out ? 0 : nomem(err);
}

static int cmp_json_strings(const void *a, const void *b) {
  return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

/* The statistics of the live statements (inventory §9.4) as JSON text with a newline. */
static int compute_statistics(lh_dataset *ds, lh_buf *text, lh_error *err) {
  const lh_model *model = lh_model_default(err);
  if (!model)
    return err ? err->code : LH_EINVAL;
  lh_statement_store *st;
  int rc = lh__ctx_statements(ds, &st, err);
  if (rc)
    return rc;
  counts sc = {json_array()};
  json_t *things = NULL, *intervals = NULL, *countries = json_array();
  char *start = NULL, *end = NULL;
  uint64_t entities = 0;
  rc = lh_statement_store_schema_counts(st, collect_count, &sc, err);
  if (rc == LH_ENOMEM && err && !err->message[0])
    nomem(err);
  rc = rc ? rc : class_stats(st, model, sc.rows, "Thing", countries, &things, err);
  rc = rc ? rc : class_stats(st, model, sc.rows, "Interval", countries, &intervals, err);
  rc = rc ? rc : lh_statement_store_summary(st, &entities, &start, &end, err);
  if (!rc) {
    size_t n = json_array_size(countries);
    json_t **v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; v && i < n; i++)
      v[i] = json_incref(json_array_get(countries, i));
    if (v) {
      qsort(v, n, sizeof *v, cmp_json_strings);
      json_array_clear(countries);
      for (size_t i = 0; i < n; i++)
        json_array_append_new(countries, v[i]);
      free(v);
    }
    json_t *stats = json_object();
    json_object_set_new(stats, "things", things);
    json_object_set_new(stats, "intervals", intervals);
    json_object_set_new(stats, "entity_count", json_integer((json_int_t)entities));
    things = intervals = NULL;
    if (start)
      json_object_set_new(stats, "start", json_string(start));
    if (end)
      json_object_set_new(stats, "end", json_string(end));
    json_object_set(stats, "countries", countries);
    /* the cleaned model as one compact line, as the Python project writes it */
    json_t *clean = lh__model_clean(stats);
    json_decref(stats);
    rc = clean ? lh__model_json_line(clean, text, err) : nomem(err);
    json_decref(clean);
  }
  json_decref(things);
  json_decref(intervals);
  json_decref(countries);
  json_decref(sc.rows);
  free(start);
  free(end);
  return rc;
}

static int export_statistics(lh_dataset *ds, lh_error *err) {
  lh_buf text = LH_BUF_INIT;
  int rc = compute_statistics(ds, &text, err);
  bool changed = false;
  if (!rc)
    rc =
        lh_versions_make(ds->store, LH_PATH_EXPORTS_STATISTICS, text.data, text.len, &changed, err);
  if (!rc)
    lh_log_info("%s: %s %s", ds->name, LH_PATH_EXPORTS_STATISTICS,
                changed ? "written" : "unchanged");
  lh_buf_free(&text);
  return rc;
}

/* ---- index.json ---------------------------------------------------------------------------- */

/* sha256 of a stored file. */
static int file_sha256(lh_store *s, const char *key, char out[LH_SHA256_HEX_SIZE], lh_error *err) {
  lh_reader *r;
  int rc = lh_store_open_read(s, key, &r, err);
  if (rc)
    return rc;
  lh_hasher *h = lh_hasher_new(LH_HASH_SHA256);
  static char chunk[1 << 20];
  for (;;) {
    size_t got;
    if ((rc = lh_reader_read(r, chunk, sizeof chunk, &got, err)) || got == 0)
      break;
    lh_hasher_update(h, chunk, got);
  }
  lh_reader_close(r);
  if (!rc)
    lh_hasher_final_hex(h, out);
  lh_hasher_free(h);
  return rc;
}

static int add_resource(lh_dataset *ds, const char *prefix, const char *key, const char *mime,
                        json_t *resources, lh_error *err) {
  lh_store *s = ds->store;
  lh_store_info info;
  int rc = lh_store_stat(s, key, &info, err);
  if (rc == LH_ENOTFOUND) {
    lh_error_clear(err);
    return 0;
  }
  char sum[LH_SHA256_HEX_SIZE], iso[LH_ISO_SIZE];
  if (rc || (rc = file_sha256(s, key, sum, err)))
    return rc;
  lh_time_format_iso(info.mtime, iso);
  const char *name = strrchr(key, '/') ? strrchr(key, '/') + 1 : key;
  size_t pl = strlen(prefix);
  char url[2048];
  snprintf(url, sizeof url, "%s%s%s", prefix, pl && prefix[pl - 1] == '/' ? "" : "/", key);
  json_t *r = json_pack("{sssssssssssI}", "name", name, "url", url, "checksum", sum, "timestamp",
                        iso, "mime_type", mime, "size", (json_int_t)info.size);
  json_t *res = r ? lh__dataset_resource(r) : NULL; /* the DataResource, fields in order */
  json_decref(r);
  return res && !json_array_append_new(resources, res) ? 0 : nomem(err);
}

/* index.json (inventory §9.3): the dataset model, the exports appended to its resources when
 * a public URL prefix is set, statistics.json applied; cleaned, one compact line. */
static int export_index(lh_dataset *ds, lh_error *err) {
  lh_buf text = LH_BUF_INIT;
  int rc = lh__ctx_model_json(ds, &text, err);
  json_t *index = rc ? NULL : json_loadb(text.data, text.len, 0, NULL);
  json_t *stats = NULL;
  char *prefix = lh__ctx_public_prefix(ds);
  if (!rc && !index)
    rc = nomem(err);
  if (!rc && prefix) {
    lh_codec codec = ds->codec;
    char *statements = lh_path_exports_statements(lh_codec_suffix(codec));
    char *entities = lh_path_entities_json(lh_codec_suffix(codec));
    json_t *resources = json_object_get(index, "resources");
    rc = !statements || !entities || !json_is_array(resources) ? nomem(err) : 0;
    rc = rc ? rc : add_resource(ds, prefix, statements, "text/csv", resources, err);
    rc = rc ? rc : add_resource(ds, prefix, entities, "application/json+ftm", resources, err);
    rc = rc ? rc : add_resource(ds, prefix, LH_PATH_EXPORTS_DOCUMENTS, "text/csv", resources, err);
    rc = rc ? rc
            : add_resource(ds, prefix, LH_PATH_EXPORTS_STATISTICS, "application/json", resources,
                           err);
    free(statements);
    free(entities);
  }
  if (!rc) {
    lh_buf_reset(&text);
    rc = lh_store_get(ds->store, LH_PATH_EXPORTS_STATISTICS, &text, err);
    if (rc == LH_ENOTFOUND) {
      lh_error_clear(err);
      rc = 0;
    } else if (!rc && !(stats = json_loadb(text.data, text.len, 0, NULL))) {
      rc = lh_error_set(err, LH_EPARSE, "%s/%s: not JSON", ds->name, LH_PATH_EXPORTS_STATISTICS);
    }
  }
  if (!rc && stats) { /* apply_stats */
    json_object_set(index, "entity_count", json_object_get(stats, "entity_count"));
    json_object_set(index, "thing_count",
                    json_object_get(json_object_get(stats, "things"), "total"));
    json_object_set(index, "stats", stats);
  }
  if (!rc) {
    json_t *clean = lh__model_clean(index);
    lh_buf_reset(&text);
    rc = clean ? lh__model_json_line(clean, &text, err) : nomem(err);
    json_decref(clean);
    bool changed = false;
    if (!rc)
      rc = lh_versions_make(ds->store, LH_PATH_INDEX, text.data, text.len, &changed, err);
  }
  json_decref(stats);
  json_decref(index);
  free(prefix);
  lh_buf_free(&text);
  return rc;
}

int lh_dataset_index(lh_dataset *ds, lh_buf *out, lh_error *err) {
  int rc = lh_store_get(ds->store, LH_PATH_INDEX, out, err);
  if (rc != LH_ENOTFOUND)
    return rc;
  lh_error_clear(err);
  rc = lh__ctx_model_json(ds, out, err);
  return rc ? rc : lh_buf_putc(out, '\n') ? nomem(err) : 0;
}

/* ---- diffs (inventory §9.3 Diffs) ------------------------------------------------------------ */

/* The diff state tag `{base}-current`: "{TS}:{delta version}" as a plain string. */
static int diff_state(lh_dataset *ds, const char *base, lh_time *ts, int64_t *version,
                      lh_error *err) {
  char key[256];
  snprintf(key, sizeof key, "%s-current", base);
  char *path = lh_path_tag(NULL, key);
  lh_buf b = LH_BUF_INIT;
  int rc = path ? lh_store_get(ds->store, path, &b, err) : nomem(err);
  free(path);
  if (rc == 0) {
    const char *colon = b.data ? memchr(b.data, ':', b.len) : NULL;
    char stamp[LH_TS_SIZE];
    size_t n = colon ? (size_t)(colon - b.data) : 0;
    if (!colon || n >= sizeof stamp) {
      rc = lh_error_set(err, LH_EPARSE, "tag %s: not TS:version", key);
    } else {
      memcpy(stamp, b.data, n);
      stamp[n] = 0;
      rc = lh_time_parse_ts(stamp, ts, err);
      *version = strtoll(colon + 1, NULL, 10);
    }
  }
  lh_buf_free(&b);
  return rc;
}

static int diff_state_set(lh_dataset *ds, const char *base, lh_time ts, int64_t version,
                          lh_error *err) {
  char key[256], text[64], stamp[LH_TS_SIZE];
  snprintf(key, sizeof key, "%s-current", base);
  lh_time_format_ts(ts, stamp);
  int n = snprintf(text, sizeof text, "%s:%lld", stamp, (long long)version);
  char *path = lh_path_tag(NULL, key);
  int rc = path ? lh_store_put(ds->store, path, text, (size_t)n, err) : nomem(err);
  free(path);
  return rc;
}

typedef struct id_list {
  char **v;
  size_t n, cap;
} id_list;

static int collect_id(void *ctx, const char *s, size_t n, lh_error *err) {
  id_list *l = ctx;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 256;
    char **nv = realloc(l->v, cap * sizeof *nv);
    if (!nv)
      return nomem(err);
    l->v = nv;
    l->cap = cap;
  }
  if (!(l->v[l->n] = strndup(s, n)))
    return nomem(err);
  l->n++;
  return 0;
}

static void id_list_free(id_list *l) {
  for (size_t i = 0; i < l->n; i++)
    free(l->v[i]);
  free(l->v);
}

typedef struct ent_diff {
  sink *o;
  lh__strmap *seen;
} ent_diff;

static int write_add(lh_entity *e, void *ctx) {
  ent_diff *d = ctx;
  if (lh_buf_puts(&d->o->buf, "{\"op\":\"ADD\",\"entity\":") ||
      lh_entity_write_json(e, LH_JSON_SORT_VALUES, &d->o->buf) || lh_buf_puts(&d->o->buf, "}\n"))
    return LH_ENOMEM;
  d->o->items++;
  char *id = strdup(lh_entity_id(e));
  if (!id || lh__strmap_put(d->seen, id, 1)) {
    free(id);
    return LH_ENOMEM;
  }
  return out_drain(d->o, OUT_CHUNK, NULL);
}

static void seen_free(lh__strmap *m) {
  for (size_t i = 0; i < m->cap; i++)
    if (m->keys[i] && m->keys[i] != (const char *)1)
      free((char *)m->keys[i]);
  lh__strmap_free(m);
}

/* The ADD / DEL lines of the changed entities into o. */
static int entity_diff_lines(lh_dataset *ds, const id_list *ids, sink *o, lh_error *err) {
  int rc = 0;
  for (size_t at = 0; at < ids->n && !rc; at += DIFF_BATCH) {
    size_t n = ids->n - at < DIFF_BATCH ? ids->n - at : DIFF_BATCH;
    lh__strmap seen;
    lh__strmap_init(&seen);
    ent_diff d = {o, &seen};
    lh_entity_query q = {
        .entity_ids = (const char *const *)ids->v + at, .nentity_ids = n, .limit = -1};
    rc = lh_entities_query(ds, &q, write_add, &d, err);
    for (size_t i = 0; i < n && !rc; i++) {
      if (lh__strmap_get(&seen, ids->v[at + i], NULL))
        continue;
      rc = lh_buf_puts(&o->buf, "{\"op\":\"DEL\",\"entity\":{\"id\":") ||
                   lh_json_write_string(&o->buf, ids->v[at + i], strlen(ids->v[at + i])) ||
                   lh_buf_puts(&o->buf, "}}\n")
               ? LH_ENOMEM
               : 0;
      o->items++;
    }
    seen_free(&seen);
  }
  if (rc == LH_ENOMEM && err && !err->message[0])
    nomem(err);
  return rc;
}

/* The first diff: every line of the export as an ADD. */
static int entity_diff_initial(lh_dataset *ds, sink *o, lh_error *err) {
  char *key;
  lh_codec codec;
  int rc = lh_codec_find(ds->store, LH_PATH_ENTITIES_JSON, &key, &codec, err);
  if (rc)
    return rc;
  lh_creader *rd;
  rc = lh_creader_open(ds->store, key, codec, &rd, err);
  free(key);
  if (rc)
    return rc;
  lh__lines *lines = lh__lines_open_reader(read_creader, rd, 0);
  if (!lines)
    rc = nomem(err);
  while (!rc) {
    const char *line;
    size_t len;
    uint64_t no;
    int r = lh__lines_next(lines, &line, &len, &no, err);
    if (r <= 0) {
      rc = r;
      break;
    }
    if (len == 0)
      continue;
    if (lh_buf_puts(&o->buf, "{\"op\":\"ADD\",\"entity\":") || lh_buf_append(&o->buf, line, len) ||
        lh_buf_puts(&o->buf, "}\n"))
      rc = nomem(err);
    o->items++;
    if (!rc)
      rc = out_drain(o, OUT_CHUNK, err);
  }
  lh__lines_close(lines);
  lh_creader_close(rd);
  return rc;
}

/* The first documents diff: every row of the documents.csv just written, as ADD. */
static int documents_copy_added(lh_dataset *ds, sink *o, lh_error *err) {
  lh_creader *rd;
  int rc = lh_creader_open(ds->store, LH_PATH_EXPORTS_DOCUMENTS, LH_CODEC_NONE, &rd, err);
  if (rc)
    return rc;
  lh__csv *csv = lh__csv_open_reader(read_creader, rd, 0);
  lh__csv_record rec;
  rc = csv ? lh__csv_next(csv, &rec, err) : nomem(err); /* the header */
  while (rc == 1) {
    if ((rc = lh__csv_next(csv, &rec, err)) != 1)
      break;
    int w = lh_buf_puts(&o->buf, "ADD");
    for (size_t i = 0; i < rec.nfields && !w; i++)
      w = lh_buf_putc(&o->buf, ',') || lh_csv_write_minimal(&o->buf, rec.fields[i]);
    w = w || lh_buf_puts(&o->buf, "\r\n");
    o->items++;
    rc = w ? nomem(err) : out_drain(o, OUT_CHUNK, err);
    if (!rc)
      rc = 1;
  }
  lh__csv_close(csv);
  lh_creader_close(rd);
  return rc < 0 ? rc : 0;
}

static int documents_diff_lines(lh_dataset *ds, const id_list *ids, sink *o, lh_error *err) {
  lh__strmap seen;
  lh__strmap_init(&seen);
  doc_out x = {o, "ADD", &seen};
  int rc = lh_buf_puts(&o->buf, "op," LH_DOCUMENTS_CSV_HEADER "\r\n") ? nomem(err) : 0;
  if (!rc && ids)
    rc = lh_documents_iterate(ds, (const char *const *)ids->v, ids->n, write_document, &x, err);
  else if (!rc)
    rc = documents_copy_added(ds, o, err);
  for (size_t i = 0; ids && i < ids->n && !rc; i++) {
    if (lh__strmap_get(&seen, ids->v[i], NULL))
      continue;
    /* DEL rows carry the id only */
    rc = lh_buf_puts(&o->buf, "DEL,") || lh_csv_write_minimal(&o->buf, ids->v[i]) ||
                 lh_buf_puts(&o->buf, ",,,,,,,\r\n")
             ? nomem(err)
             : 0;
    o->items++;
  }
  if (rc == LH_ENOMEM && err && !err->message[0])
    nomem(err);
  seen_free(&seen);
  return rc;
}

/* Write the diff of an export (entities or documents). */
static int export_diff(lh_dataset *ds, lh_tags *tags, bool documents, lh_error *err) {
  const char *base = documents ? LH_PATH_DIFFS_DOCUMENTS : LH_PATH_DIFFS_ENTITIES;
  lh_time started = lh_time_now();
  lh_statement_store *st;
  int rc = lh__ctx_statements(ds, &st, err);
  if (rc)
    return rc;
  int64_t version;
  if ((rc = lh_statement_store_version(st, &version, err)) != 0)
    return rc;
  if (version < 0)
    return 0;
  int needs = lh_statement_store_needs_merge(st, err);
  if (needs < 0)
    return needs;
  if (needs)
    return lh_error_set(err, LH_ECONFLICT,
                        "Cannot export `%s`: the statement store has un-merged writes. Run "
                        "`ftm-lakehouse -d %s maintenance optimize` first.",
                        base, ds->name);
  lh_time last_ts = LH_TIME_NULL;
  int64_t last_version = -1;
  rc = diff_state(ds, base, &last_ts, &last_version, err);
  bool initial = rc == LH_ENOTFOUND;
  if (initial) {
    lh_error_clear(err);
    rc = 0;
  }
  if (rc)
    return rc;
  id_list ids = {0};
  if (!initial) {
    if (last_version >= version)
      return lh_tags_set(tags, base, started, err);
    static const char *const DOCS[] = {"Document"};
    const char **schemata = NULL;
    size_t nschemata = 0;
    if (documents) {
      /* documents: the Document schemata (descendants included) */
      const lh_model *model = lh_model_default(err);
      const lh_schema *doc = model ? lh_model_schema(model, DOCS[0]) : NULL;
      size_t n = model ? lh_model_schema_count(model) : 0;
      schemata = malloc((n ? n : 1) * sizeof *schemata);
      if (!schemata)
        return nomem(err);
      for (size_t i = 0; i < n; i++) {
        const lh_schema *s = lh_model_schema_at(model, i);
        if (doc && lh_schema_is_a(s, doc))
          schemata[nschemata++] = s->name;
      }
    }
    rc = lh_statement_store_changed_ids(st, last_ts, schemata, nschemata, collect_id, &ids, err);
    free(schemata);
    if (!rc && ids.n == 0) {
      id_list_free(&ids);
      rc = diff_state_set(ds, base, started, version, err);
      return rc ? rc : lh_tags_set(tags, base, started, err);
    }
  }
  if (rc) {
    id_list_free(&ids);
    return rc;
  }
  lh_codec codec = documents ? LH_CODEC_NONE : ds->codec;
  char *key = documents ? lh_path_documents_diff(started)
                        : lh_path_entities_diff(started, lh_codec_suffix(codec));
  sink o;
  rc = key ? out_open(ds, key, codec, &o, err) : nomem(err);
  if (!rc) {
    if (documents)
      rc = documents_diff_lines(ds, initial ? NULL : &ids, &o, err);
    else
      rc = initial ? entity_diff_initial(ds, &o, err) : entity_diff_lines(ds, &ids, &o, err);
    rc = out_close(&o, rc, err);
  }
  if (!rc)
    lh_log_info("%s: diff %s with %llu change(s)", ds->name, key, (unsigned long long)o.items);
  free(key);
  id_list_free(&ids);
  if (!rc)
    rc = diff_state_set(ds, base, started, version, err);
  return rc ? rc : lh_tags_set(tags, base, started, err);
}

/* ---- the export operation -------------------------------------------------------------------- */

int lh__export_prepare(lh__op *op, lh_error *err) {
  static const char *const JOURNAL[] = {LH_TAG_JOURNAL_UPDATED};
  int flushed = lh_tags_is_latest(op->tags, LH_TAG_JOURNAL_FLUSHED, JOURNAL, 1, err);
  if (flushed < 0)
    return flushed;
  int rc = 0;
  if (!flushed && lh_tags_exists(op->tags, LH_TAG_JOURNAL_UPDATED, err) == 1) {
    lh_flush_result fr;
    if ((rc = lh_entities_flush(op->ds, &fr, err)))
      return rc;
  }
  bool exists = false;
  if ((rc = lh_entities_exists(op->ds, &exists, err)) || !exists)
    return rc;
  int needs = lh_entities_needs_merge(op->ds, err);
  if (needs <= 0)
    return needs;
  lh_statement_store *st;
  lh_merge_result mr;
  lh_merge_opts mo = {false, LH_TIME_NULL, 0, LH_MERGE_ENGINE_C};
  if ((rc = lh__ctx_statements(op->ds, &st, err)))
    return rc;
  return lh_statement_store_merge(st, &mo, &mr, err);
}

int lh__export_handle(lh__op *op, bool force, lh_error *err) {
  (void)force;
  lh_export_kind kind = *(const lh_export_kind *)op->ctx;
  int rc = 0;
  if (kind != LH_EXPORT_INDEX) {
    bool exists = false;
    if ((rc = lh_entities_exists(op->ds, &exists, err)))
      return rc;
    if (!exists) {
      lh_log_info("%s: %s: no statements yet", op->ds->name, op->label);
      op->job.done = 1;
      return 0;
    }
  }
  switch (kind) {
  case LH_EXPORT_STATEMENTS: rc = export_statements(op->ds, err); break;
  case LH_EXPORT_ENTITIES:
    rc = export_entities(op->ds, op->tags, err);
    rc = rc ? rc : export_diff(op->ds, op->tags, false, err);
    break;
  case LH_EXPORT_DOCUMENTS:
    rc = export_documents(op->ds, err);
    /* a diff once there are documents, or were (their deletion is a change) */
    if (!rc && (lh_store_exists(op->ds->store, LH_PATH_EXPORTS_DOCUMENTS, err) == 1 ||
                lh_tags_exists(op->tags, LH_PATH_DIFFS_DOCUMENTS "-current", err) == 1))
      rc = export_diff(op->ds, op->tags, true, err);
    break;
  case LH_EXPORT_STATISTICS: rc = export_statistics(op->ds, err); break;
  case LH_EXPORT_INDEX: rc = export_index(op->ds, err); break;
  default: rc = lh_error_set(err, LH_EINVAL, "unknown export");
  }
  if (!rc)
    op->job.done = 1;
  return rc;
}

/* Fresh: the target is newer than the dependencies and, for the compressed exports, the
 * file exists with the dataset's current compression (a `compression` change reruns them). */
static int export_fresh(lh__op *op, lh_error *err) {
  int fresh = lh_tags_is_latest(op->tags, op->target, op->deps, op->ndeps, err);
  lh_export_kind kind = *(const lh_export_kind *)op->ctx;
  if (fresh <= 0 || (kind != LH_EXPORT_STATEMENTS && kind != LH_EXPORT_ENTITIES))
    return fresh;
  const char *sfx = lh_codec_suffix(op->ds->codec);
  char *key =
      kind == LH_EXPORT_STATEMENTS ? lh_path_exports_statements(sfx) : lh_path_entities_json(sfx);
  if (!key)
    return nomem(err);
  int e = lh_store_exists(op->ds->store, key, err);
  free(key);
  return e;
}

int lh_dataset_export(lh_dataset *ds, lh_export_kind kind, bool force, lh_op_result *res,
                      lh_error *err) {
  static const char *const DEPS[] = {LH_TAG_STATEMENTS_OPTIMIZED};
  /* documents.csv carries public URLs: the config's public_url_prefix */
  static const char *const DOCUMENT_DEPS[] = {LH_TAG_STATEMENTS_OPTIMIZED, LH_PATH_CONFIG};
  static const char *const INDEX_DEPS[] = {LH_PATH_CONFIG, LH_PATH_EXPORTS_STATISTICS,
                                           LH_PATH_ENTITIES_JSON, LH_PATH_EXPORTS_DOCUMENTS};
  if (kind >= LH_EXPORT_KIND_COUNT)
    return lh_error_set(err, LH_EINVAL, "unknown export");
  char label[64], kind_json[32];
  snprintf(label, sizeof label, "export %s", KINDS[kind].name);
  snprintf(kind_json, sizeof kind_json, "\"%s\"", KINDS[kind].name);
  lh__op op = {.ds = ds,
               .tags = lh_tags_open(ds->store, NULL),
               .label = label,
               .target = KINDS[kind].target,
               .deps = kind == LH_EXPORT_INDEX       ? INDEX_DEPS
                       : kind == LH_EXPORT_DOCUMENTS ? DOCUMENT_DEPS
                                                     : DEPS,
               .ndeps = kind == LH_EXPORT_INDEX       ? 4
                        : kind == LH_EXPORT_DOCUMENTS ? 2
                                                      : 1,
               .is_fresh = export_fresh,
               .prepare = kind == LH_EXPORT_INDEX ? NULL : lh__export_prepare,
               .handle = lh__export_handle,
               .ctx = &kind};
  if (!op.tags)
    return nomem(err);
  lh_job_init(&op.job, "ExportJob", ds->name);
  op.job.extra[op.job.nextra++] = (lh_job_field){"kind", kind_json};
  op.job.extra[op.job.nextra++] = (lh_job_field){"make_diff", "true"};
  int rc = lh__op_run(&op, force, res, err);
  lh_tags_close(op.tags);
  return rc;
}
