/* config.yml: parsing, the known keys and their checks, and the merge-update rule. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/conventions.h"
#include "core/yaml.h"
#include "lakehouse/log.h"
#include "model/dataset_config.h"

typedef enum kind {
  K_STRING,  /* string or null */
  K_URL,     /* http(s) URL or null */
  K_COUNT,   /* integer >= 0 or null */
  K_BOOL,    /* boolean */
  K_STRINGS, /* list of strings */
  K_OBJECT,  /* mapping */
  K_OBJECTS, /* list of mappings */
  K_SHARDS,  /* 0 .. LH_SHARDS_MAX */
  K_CODEC,   /* gz | zst | null */
  K_CONTENT, /* documents | structured | mixed | null */
  K_DROP     /* accepted and dropped */
} kind;

static const struct {
  const char *key;
  kind kind;
} KEYS[] = {
    {"name", K_DROP},
    {"uri", K_DROP},
    {"storage", K_DROP},
    {"title", K_STRING},
    {"license", K_STRING},
    {"summary", K_STRING},
    {"description", K_STRING},
    {"url", K_STRING},
    {"updated_at", K_STRING},
    {"last_export", K_STRING},
    {"entity_count", K_COUNT},
    {"thing_count", K_COUNT},
    {"version", K_STRING},
    {"category", K_STRING},
    {"tags", K_STRINGS},
    {"publisher", K_OBJECT},
    {"coverage", K_OBJECT},
    {"resources", K_OBJECTS},
    {"children", K_STRINGS},
    {"datasets", K_STRINGS},
    {"scopes", K_STRINGS},
    {"deprecation", K_STRING},
    {"deprecated", K_BOOL},
    {"prefix", K_STRING},
    {"maintainer", K_OBJECT},
    {"stats", K_OBJECT},
    {"git_repo", K_STRING},
    {"content_type", K_CONTENT},
    {"public_url_prefix", K_URL},
    {"shards", K_SHARDS},
    {"compression", K_CODEC},
};

static const char *type_name(json_t *v) {
  if (!v)
    return "nothing";
  switch (json_typeof(v)) {
  case JSON_OBJECT: return "a mapping";
  case JSON_ARRAY: return "a list";
  case JSON_STRING: return "a string";
  case JSON_INTEGER: return "an integer";
  case JSON_REAL: return "a number";
  case JSON_TRUE:
  case JSON_FALSE: return "a boolean";
  default: return "null";
  }
}

static int bad(lh_error *err, const char *where, const char *key, const char *want, json_t *v) {
  if (json_is_string(v))
    return lh_error_set(err, LH_EINVAL, "%s: '%s' must be %s (got '%s')", where, key, want,
                        json_string_value(v));
  if (json_is_integer(v))
    return lh_error_set(err, LH_EINVAL, "%s: '%s' must be %s (got %lld)", where, key, want,
                        (long long)json_integer_value(v));
  return lh_error_set(err, LH_EINVAL, "%s: '%s' must be %s (got %s)", where, key, want,
                      type_name(v));
}

static int check_one(const char *where, const char *key, kind k, json_t *v, lh_error *err) {
  bool null = json_is_null(v);
  switch (k) {
  case K_STRING: return null || json_is_string(v) ? 0 : bad(err, where, key, "a string", v);
  case K_URL:
    if (null)
      return 0;
    if (!json_is_string(v) || (strncmp(json_string_value(v), "http://", 7) &&
                               strncmp(json_string_value(v), "https://", 8)))
      return bad(err, where, key, "an http(s) URL", v);
    return 0;
  case K_COUNT:
    return null || (json_is_integer(v) && json_integer_value(v) >= 0)
               ? 0
               : bad(err, where, key, "a non-negative integer", v);
  case K_BOOL: return null || json_is_boolean(v) ? 0 : bad(err, where, key, "true or false", v);
  case K_STRINGS:
  case K_OBJECTS: {
    if (null)
      return 0;
    if (!json_is_array(v))
      return bad(err, where, key, "a list", v);
    size_t i;
    json_t *it;
    json_array_foreach(v, i, it) {
      if (k == K_STRINGS ? !json_is_string(it) : !json_is_object(it))
        return lh_error_set(err, LH_EINVAL, "%s: '%s' item %zu must be %s (got %s)", where, key,
                            i + 1, k == K_STRINGS ? "a string" : "a mapping", type_name(it));
    }
    return 0;
  }
  case K_OBJECT: return null || json_is_object(v) ? 0 : bad(err, where, key, "a mapping", v);
  case K_SHARDS:
    if (null)
      return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > LH_SHARDS_MAX) {
      char want[64];
      snprintf(want, sizeof want, "an integer between 0 and %d", LH_SHARDS_MAX);
      return bad(err, where, key, want, v);
    }
    return 0;
  case K_CODEC:
    if (null || (json_is_string(v) &&
                 (!strcmp(json_string_value(v), "gz") || !strcmp(json_string_value(v), "zst"))))
      return 0;
    return bad(err, where, key, "gz, zst or null", v);
  case K_CONTENT:
    if (null || (json_is_string(v) && (!strcmp(json_string_value(v), "documents") ||
                                       !strcmp(json_string_value(v), "structured") ||
                                       !strcmp(json_string_value(v), "mixed"))))
      return 0;
    return bad(err, where, key, "documents, structured or mixed", v);
  case K_DROP: return 0;
  }
  return 0;
}

int lh__config_check(json_t *cfg, const char *where, lh_error *err) {
  if (!json_is_object(cfg))
    return lh_error_set(err, LH_EINVAL, "%s: must be a mapping of keys to values (got %s)", where,
                        type_name(cfg));
  const char *key;
  json_t *v;
  void *tmp;
  json_object_foreach_safe(cfg, tmp, key, v) {
    size_t i;
    for (i = 0; i < sizeof KEYS / sizeof *KEYS; i++)
      if (!strcmp(KEYS[i].key, key))
        break;
    if (i == sizeof KEYS / sizeof *KEYS) {
      lh_log_warning("%s: unknown key '%s' ignored", where, key);
      json_object_del(cfg, key);
      continue;
    }
    int rc = check_one(where, key, KEYS[i].kind, v, err);
    if (rc)
      return rc;
    if (KEYS[i].kind == K_DROP)
      json_object_del(cfg, key);
  }
  return 0;
}

int lh__config_parse(const char *text, size_t len, const char *where, json_t **out, lh_error *err) {
  *out = NULL;
  json_t *cfg = NULL;
  int rc = lh__yaml_to_json(text, len, &cfg, err);
  if (rc) {
    lh_error_prefix(err, rc, "%s", where);
    return rc;
  }
  if (json_is_null(cfg)) {
    json_decref(cfg);
    if (!(cfg = json_object()))
      return lh_error_set(err, LH_ENOMEM, "%s: out of memory", where);
  }
  if ((rc = lh__config_check(cfg, where, err))) {
    json_decref(cfg);
    return rc;
  }
  *out = cfg;
  return 0;
}

static bool is_empty(json_t *v) {
  return json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0) ||
         (json_is_object(v) && json_object_size(v) == 0);
}

int lh__config_merge(json_t *dst, json_t *src) {
  const char *key;
  json_t *v;
  json_object_foreach(src, key, v) {
    if (is_empty(v))
      continue;
    json_t *have = json_object_get(dst, key);
    if (json_is_object(have) && json_is_object(v)) {
      if (lh__config_merge(have, v))
        return -1;
    } else if (json_is_array(have) && json_is_array(v)) {
      size_t i, j;
      json_t *it, *old;
      json_array_foreach(v, i, it) {
        bool dup = false;
        json_array_foreach(have, j, old) if (json_equal(old, it)) dup = true;
        if (!dup && json_array_append(have, it))
          return -1;
      }
    } else if (json_object_set(dst, key, v)) {
      return -1;
    }
  }
  return 0;
}
