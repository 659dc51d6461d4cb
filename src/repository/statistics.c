/* Dataset statistics (inventory §9.4): exports/statistics.json, computed from the live
 * statements: per-schema and per-country counts of things and intervals, the entity count
 * and the date range. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/conventions.h"
#include "lakehouse/ftm.h"
#include "lakehouse/log.h"
#include "model/dataset_model.h"
#include "repository/exports.h"
#include "storage/versions.h"

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
  int rc = !schemata || !countries || !names ? lh_error_nomem(err) : 0;
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
  lh_error_ensure(err, rc);
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
  return *out ? 0 : lh_error_nomem(err);
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
  lh_error_ensure(err, rc);
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
    rc = clean ? lh__model_json_line(clean, text, err) : lh_error_nomem(err);
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

int lh__statistics_export(lh_dataset *ds, lh_error *err) {
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
