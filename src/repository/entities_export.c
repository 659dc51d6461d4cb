/* The entities repository's exports (inventory §9.3): statements.csv, entities.ftm.json
 * (aggregated from a fresh statements.csv when there is one, else from the store) and the
 * lines of the entity diffs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conventions.h"
#include "core/csv_reader.h"
#include "core/lines.h"
#include "core/strmap.h"
#include "lakehouse/entities.h"
#include "lakehouse/log.h"
#include "logic/aggregate.h"
#include "model/statement_csv.h"
#include "repository/exports.h"

/* ---- statements.csv ---------------------------------------------------------------------- */

static int write_rows(void *ctx, const void *data, size_t len, lh_error *err) {
  return lh_cwriter_write(ctx, data, len, err);
}

int lh__statements_export(lh_dataset *ds, lh_error *err) {
  lh_statement_store *st;
  int rc = lh__ctx_statements(ds, &st, err);
  if (rc)
    return rc;
  lh_codec codec = ds->codec;
  char *key = lh_path_exports_statements(lh_codec_suffix(codec));
  if (!key)
    return lh_error_nomem(err);
  /* the rows come from DuckDB's parallel CSV writer; the header (quoted like pyarrow's) and
   * the compression are ours */
  lh__sink o;
  if ((rc = lh__sink_open(ds->store, key, codec, &o, err))) {
    free(key);
    return rc;
  }
  rc = lh_statement_csv_header(&o.buf) ? lh_error_nomem(err) : lh__sink_drain(&o, 0, err);
  uint64_t rows = 0;
  if (!rc)
    rc = lh_statement_store_export_csv(st, write_rows, o.w, &rows, err);
  if (!(rc = lh__sink_close(&o, rc, err)))
    rc = lh__sink_remove_stale(ds->store, LH_PATH_EXPORTS_STATEMENTS, codec, err);
  if (!rc)
    lh_log_info("%s: exported %llu statements to %s", ds->name, (unsigned long long)rows, key);
  free(key);
  return rc;
}

/* ---- entities.ftm.json -------------------------------------------------------------------- */

static int write_entity(lh_entity *e, void *ctx) {
  lh__sink *o = ctx;
  if (lh_entity_write_json(e, LH_JSON_SORT_VALUES, &o->buf) || lh_buf_putc(&o->buf, '\n'))
    return LH_ENOMEM;
  o->items++;
  return lh__sink_drain(o, LH__SINK_CHUNK, NULL);
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
static int entities_from_csv(lh_dataset *ds, const char *key, lh_codec codec, lh__sink *o,
                             lh_error *err) {
  const lh_model *model = lh_model_default(err);
  if (!model)
    return err ? err->code : LH_EINVAL;
  lh_creader *rd;
  int rc = lh_creader_open(ds->store, key, codec, &rd, err);
  if (rc)
    return rc;
  lh__csv *csv = lh__csv_open_reader(lh__creader_read_fn, rd, 0);
  lh_aggregator *agg = NULL;
  rc = csv ? lh_aggregator_new(model, write_entity, o, &agg, err) : lh_error_nomem(err);
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
      lh_error_prefix(err, rc, "%s line %llu", key, (unsigned long long)rec.line);
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

int lh__entities_export(lh_dataset *ds, lh_tags *tags, lh_error *err) {
  lh_codec codec = ds->codec;
  char *key = lh_path_entities_json(lh_codec_suffix(codec));
  if (!key)
    return lh_error_nomem(err);
  char *csv_key = NULL;
  lh_codec csv_codec;
  int fresh = statements_csv_fresh(ds, tags, &csv_key, &csv_codec, err);
  lh__sink o;
  int rc = fresh < 0 ? fresh : lh__sink_open(ds->store, key, codec, &o, err);
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
  lh_error_ensure(err, rc);
  rc = lh__sink_close(&o, rc, err);
  if (!rc)
    rc = lh__sink_remove_stale(ds->store, LH_PATH_ENTITIES_JSON, codec, err);
  if (!rc)
    lh_log_info("%s: exported %llu entities to %s", ds->name, (unsigned long long)o.items, key);
  free(key);
  free(csv_key);
  return rc;
}

/* ---- diffs -------------------------------------------------------------------------------- */

typedef struct ent_diff {
  lh_dataset *ds;
  lh__sink *o;
  lh__strmap *seen; /* of the batch: ids written as ADD */
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
  return lh__sink_drain(d->o, LH__SINK_CHUNK, NULL);
}

/* One batch of changed ids: its ADD lines (the entities found, by id), then its DEL lines
 * (the ids not found). */
static int diff_batch(void *ctx, const lh__ids *batch, lh_error *err) {
  ent_diff *d = ctx;
  lh__sink *o = d->o;
  lh__strmap seen;
  lh__strmap_init(&seen);
  d->seen = &seen;
  lh_entity_query q = {
      .entity_ids = (const char *const *)batch->v, .nentity_ids = batch->n, .limit = -1};
  int rc = lh_entities_query(d->ds, &q, write_add, d, err);
  for (size_t i = 0; i < batch->n && !rc; i++) {
    if (lh__strmap_get(&seen, batch->v[i], NULL))
      continue;
    rc = lh_buf_puts(&o->buf, "{\"op\":\"DEL\",\"entity\":{\"id\":") ||
                 lh_json_write_string(&o->buf, batch->v[i], strlen(batch->v[i])) ||
                 lh_buf_puts(&o->buf, "}}\n")
             ? LH_ENOMEM
             : 0;
    o->items++;
  }
  lh__strmap_free_keys(&seen);
  lh_error_ensure(err, rc);
  return rc ? rc : lh__sink_drain(o, LH__SINK_CHUNK, err);
}

/* The ADD / DEL lines of the changed entities into o, a batch of ids at a time. */
static int diff_changed(lh_dataset *ds, lh__id_spill *ids, lh__sink *o, lh_error *err) {
  ent_diff d = {ds, o, NULL};
  return lh__id_spill_each(ids, diff_batch, &d, err);
}

/* The first diff: every line of the export as an ADD. */
static int diff_initial(lh_dataset *ds, lh__sink *o, lh_error *err) {
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
  lh__lines *lines = lh__lines_open_reader(lh__creader_read_fn, rd, 0);
  if (!lines)
    rc = lh_error_nomem(err);
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
      rc = lh_error_nomem(err);
    o->items++;
    if (!rc)
      rc = lh__sink_drain(o, LH__SINK_CHUNK, err);
  }
  lh__lines_close(lines);
  lh_creader_close(rd);
  return rc;
}

int lh__entities_diff_lines(lh_dataset *ds, lh__id_spill *ids, lh__sink *o, lh_error *err) {
  return ids ? diff_changed(ds, ids, o, err) : diff_initial(ds, o, err);
}
