/* The Python project's dataset model, field by field (see dataset_model.h). */
#include <stdlib.h>
#include <string.h>

#include "core/yaml.h"
#include "ftm/mime.h"
#include "model/dataset_model.h"

/* ---- building ------------------------------------------------------------------------------ */

/* A copy of src[key] when it has the JSON type a field takes, else def (a new reference or
 * NULL for null). */
static json_t *take(const json_t *src, const char *key, json_type type, json_t *def) {
  json_t *v = json_object_get(src, key);
  if (v && json_typeof(v) == type) {
    json_decref(def);
    return json_deep_copy(v);
  }
  if (v && type == JSON_TRUE && json_is_boolean(v)) {
    json_decref(def);
    return json_incref(v);
  }
  return def ? def : json_null();
}

/* Set o[key] = v, taking v (NULL: out of memory). */
static int put(json_t *o, const char *key, json_t *v) {
  return v ? json_object_set_new(o, key, v) : -1;
}

#define STR(src, k) take(src, k, JSON_STRING, NULL)
#define INT(src, k) take(src, k, JSON_INTEGER, NULL)
#define LIST(src, k) take(src, k, JSON_ARRAY, json_array())

static json_t *country_label(const lh_model *model, const json_t *code) {
  const lh_type *t = model ? lh_model_type(model, "country") : NULL;
  const char *label =
      t && json_is_string(code) ? lh_type_value_label(t, json_string_value(code)) : NULL;
  return label ? json_string(label) : json_null();
}

/* DataPublisher (publisher, maintainer): name, url, name_en, acronym, description, country,
 * official, logo_url and the computed country_label. */
static json_t *publisher(const json_t *src, const lh_model *model) {
  if (!json_is_object(src))
    return json_null();
  json_t *o = json_object();
  json_t *country = STR(src, "country");
  int rc = !o || put(o, "name", STR(src, "name")) || put(o, "url", STR(src, "url")) ||
           put(o, "name_en", STR(src, "name_en")) || put(o, "acronym", STR(src, "acronym")) ||
           put(o, "description", STR(src, "description")) ||
           put(o, "country", json_incref(country)) ||
           put(o, "official", take(src, "official", JSON_TRUE, json_false())) ||
           put(o, "logo_url", STR(src, "logo_url")) ||
           put(o, "country_label", country_label(model, country));
  json_decref(country);
  if (rc) {
    json_decref(o);
    return NULL;
  }
  return o;
}

/* DataCoverage: start, end, countries, frequency ("unknown"), schedule. */
static json_t *coverage(const json_t *src) {
  if (!json_is_object(src))
    return json_null();
  json_t *o = json_object();
  if (!o || put(o, "start", STR(src, "start")) || put(o, "end", STR(src, "end")) ||
      put(o, "countries", LIST(src, "countries")) ||
      put(o, "frequency", take(src, "frequency", JSON_STRING, json_string("unknown"))) ||
      put(o, "schedule", STR(src, "schedule"))) {
    json_decref(o);
    return NULL;
  }
  return o;
}

json_t *lh__dataset_resource(const json_t *src) {
  json_t *o = json_object();
  json_t *mime = STR(src, "mime_type");
  char buf[128];
  const char *label =
      json_is_string(mime) ? lh__mime_label(json_string_value(mime), buf, sizeof buf) : NULL;
  if (!o || put(o, "name", STR(src, "name")) || put(o, "url", STR(src, "url")) ||
      put(o, "checksum", STR(src, "checksum")) || put(o, "timestamp", STR(src, "timestamp")) ||
      put(o, "mime_type", json_incref(mime)) || put(o, "title", STR(src, "title")) ||
      put(o, "size", INT(src, "size")) ||
      put(o, "mime_type_label", label ? json_string(label) : json_null())) {
    json_decref(mime);
    json_decref(o);
    return NULL;
  }
  json_decref(mime);
  return o;
}

/* ftmq's Schemata: total, countries [{code, count, label}], schemata [{name, count, label,
 * plural}]. */
static json_t *schemata(const json_t *src, const lh_model *model) {
  json_t *o = json_object(), *countries = json_array(), *list = json_array();
  if (!o || !countries || !list)
    goto fail;
  size_t i;
  json_t *it;
  json_array_foreach(json_object_get(src, "countries"), i, it) {
    if (!json_is_object(it))
      continue;
    json_t *c = json_object();
    json_t *code = STR(it, "code");
    json_t *label = take(it, "label", JSON_STRING, NULL);
    if (json_is_null(label) && json_is_string(code)) {
      json_decref(label);
      label = country_label(model, code);
    }
    if (!c || put(c, "code", code) ||
        put(c, "count", take(it, "count", JSON_INTEGER, json_integer(0))) ||
        put(c, "label", label) || json_array_append_new(countries, c))
      goto fail;
  }
  json_array_foreach(json_object_get(src, "schemata"), i, it) {
    if (!json_is_object(it))
      continue;
    json_t *name = STR(it, "name");
    const lh_schema *s =
        model && json_is_string(name) ? lh_model_schema(model, json_string_value(name)) : NULL;
    json_t *label = take(it, "label", JSON_STRING, s && s->label ? json_string(s->label) : NULL);
    json_t *plural =
        take(it, "plural", JSON_STRING, s && s->plural ? json_string(s->plural) : NULL);
    json_t *c = json_object();
    if (!c || put(c, "name", name) ||
        put(c, "count", take(it, "count", JSON_INTEGER, json_integer(0))) ||
        put(c, "label", label) || put(c, "plural", plural) || json_array_append_new(list, c))
      goto fail;
  }
  if (put(o, "total", take(src, "total", JSON_INTEGER, json_integer(0))) ||
      json_object_set_new(o, "countries", countries) || json_object_set_new(o, "schemata", list))
    goto fail_o;
  return o;
fail:
  json_decref(countries);
  json_decref(list);
fail_o:
  json_decref(o);
  return NULL;
}

static int cmp_json_str(const void *a, const void *b) {
  return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

/* A set of strings as Python dumps it, in a fixed order: distinct and sorted. */
static json_t *string_set(const json_t *const *lists, size_t n) {
  size_t total = 0;
  for (size_t k = 0; k < n; k++)
    total += json_is_array(lists[k]) ? json_array_size(lists[k]) : 0;
  json_t **items = malloc((total ? total : 1) * sizeof *items);
  json_t *out = json_array();
  if (!items || !out) {
    free(items);
    json_decref(out);
    return NULL;
  }
  size_t m = 0;
  for (size_t k = 0; k < n; k++) {
    size_t i;
    json_t *it;
    json_array_foreach(lists[k], i, it) if (json_is_string(it)) items[m++] = it;
  }
  qsort(items, m, sizeof *items, cmp_json_str);
  for (size_t i = 0; i < m; i++)
    if ((i == 0 || strcmp(json_string_value(items[i]), json_string_value(items[i - 1])) != 0) &&
        json_array_append(out, items[i])) {
      json_decref(out);
      out = NULL;
      break;
    }
  free(items);
  return out;
}

/* ftmq's DatasetStats: things, intervals, entity_count, start, end, countries. */
static json_t *stats(const json_t *src, const lh_model *model) {
  json_t *o = json_object();
  const json_t *countries[1] = {json_object_get(src, "countries")};
  if (!o || put(o, "things", schemata(json_object_get(src, "things"), model)) ||
      put(o, "intervals", schemata(json_object_get(src, "intervals"), model)) ||
      put(o, "entity_count", take(src, "entity_count", JSON_INTEGER, json_integer(0))) ||
      put(o, "start", STR(src, "start")) || put(o, "end", STR(src, "end")) ||
      put(o, "countries", string_set(countries, 1))) {
    json_decref(o);
    return NULL;
  }
  return o;
}

json_t *lh__dataset_stats_default(void) {
  json_t *empty = json_object();
  json_t *s = empty ? stats(empty, NULL) : NULL;
  json_decref(empty);
  return s;
}

json_t *lh__dataset_model(const json_t *config, const char *name, const char *uri,
                          const lh_model *model) {
  json_t *cfg = json_is_object(config) ? (json_t *)config : NULL;
  json_t *o = json_object();
  json_t *resources = json_array();
  if (!o || !resources)
    goto fail;
  size_t i;
  json_t *it;
  json_array_foreach(json_object_get(cfg, "resources"), i, it) {
    if (json_is_object(it) && json_array_append_new(resources, lh__dataset_resource(it)))
      goto fail;
  }
  const json_t *children[3] = {json_object_get(cfg, "children"), json_object_get(cfg, "datasets"),
                               json_object_get(cfg, "scopes")};
  json_t *deprecation = STR(cfg, "deprecation");
  bool deprecated = json_is_true(json_object_get(cfg, "deprecated")) || json_is_string(deprecation);
  json_t *st = json_object_get(cfg, "stats");
  json_t *owned = resources;
  resources = NULL; /* put() takes it, failing or not */
  if (put(o, "name", json_string(name)) ||
      put(o, "title", take(cfg, "title", JSON_STRING, json_string(name))) ||
      put(o, "license", STR(cfg, "license")) || put(o, "summary", STR(cfg, "summary")) ||
      put(o, "description", STR(cfg, "description")) || put(o, "url", STR(cfg, "url")) ||
      put(o, "updated_at", STR(cfg, "updated_at")) ||
      put(o, "last_export", STR(cfg, "last_export")) ||
      put(o, "entity_count", INT(cfg, "entity_count")) ||
      put(o, "thing_count", INT(cfg, "thing_count")) || put(o, "version", STR(cfg, "version")) ||
      put(o, "category", STR(cfg, "category")) || put(o, "tags", LIST(cfg, "tags")) ||
      put(o, "publisher", publisher(json_object_get(cfg, "publisher"), model)) ||
      put(o, "coverage", coverage(json_object_get(cfg, "coverage"))) ||
      put(o, "resources", owned) || put(o, "children", string_set(children, 3)) ||
      put(o, "deprecation", deprecation) || put(o, "deprecated", json_boolean(deprecated)) ||
      put(o, "prefix", STR(cfg, "prefix")) ||
      put(o, "maintainer", publisher(json_object_get(cfg, "maintainer"), model)) ||
      put(o, "stats", stats(json_is_object(st) ? st : NULL, model)) ||
      put(o, "git_repo", STR(cfg, "git_repo")) ||
      put(o, "content_type", STR(cfg, "content_type")) ||
      put(o, "uri", uri ? json_string(uri) : json_null()) ||
      put(o, "storage", take(cfg, "storage", JSON_OBJECT, NULL)) ||
      put(o, "public_url_prefix", STR(cfg, "public_url_prefix")) ||
      put(o, "shards", take(cfg, "shards", JSON_INTEGER, json_integer(0))) ||
      put(o, "compression", STR(cfg, "compression")))
    goto fail;
  return o;
fail:
  json_decref(resources);
  json_decref(o);
  return NULL;
}

/* ---- clean_dict ---------------------------------------------------------------------------- */

/* banal's clean_dict, inside lists: nulls dropped from mappings and lists, recursively. */
static json_t *clean_nested(const json_t *v) {
  if (json_is_object(v)) {
    json_t *o = json_object();
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)v, k, x) {
      if (json_is_null(x))
        continue;
      if (!o || json_object_set_new(o, k, clean_nested(x))) {
        json_decref(o);
        return NULL;
      }
    }
    return o;
  }
  if (json_is_array(v)) {
    json_t *a = json_array();
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) {
      if (json_is_null(x))
        continue;
      if (!a || json_array_append_new(a, clean_nested(x))) {
        json_decref(a);
        return NULL;
      }
    }
    return a;
  }
  return json_deep_copy(v);
}

json_t *lh__model_clean(const json_t *v) {
  if (!json_is_object(v))
    return json_object();
  json_t *o = json_object();
  if (!o)
    return NULL;
  const char *k;
  json_t *x;
  json_object_foreach((json_t *)v, k, x) {
    json_t *c = NULL;
    if (json_is_object(x)) {
      c = lh__model_clean(x);
      if (c && json_object_size(c) == 0) {
        json_decref(c);
        continue; /* an empty mapping is dropped */
      }
    } else if (json_is_null(x) || (json_is_string(x) && json_string_length(x) == 0)) {
      continue;
    } else {
      c = clean_nested(x);
    }
    if (!c || json_object_set_new(o, k, c)) {
      json_decref(o);
      return NULL;
    }
  }
  return o;
}

/* ---- the files ------------------------------------------------------------------------------ */

int lh__dataset_model_yaml(const json_t *model, lh_buf *out, lh_error *err) {
  json_t *clean = lh__model_clean(model);
  if (!clean)
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  int rc = lh__yaml_dump(clean, out, err);
  json_decref(clean);
  if (!rc && lh_buf_putc(out, '\n'))
    rc = lh_error_set(err, LH_ENOMEM, "out of memory");
  return rc;
}

int lh__model_json_line(const json_t *v, lh_buf *out, lh_error *err) {
  char *text = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
  int rc = !text || lh_buf_puts(out, text) || lh_buf_putc(out, '\n')
               ? lh_error_set(err, LH_ENOMEM, "out of memory")
               : 0;
  free(text);
  return rc;
}
