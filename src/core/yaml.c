/* YAML -> JSON via libyaml's document API. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "core/yaml.h"

static bool match_any(const char *s, const char *const *list) {
  for (; *list; list++)
    if (strcmp(s, *list) == 0)
      return true;
  return false;
}

static bool is_int(const char *s) {
  if (*s == '-' || *s == '+')
    s++;
  if (!isdigit((unsigned char)*s))
    return false;
  for (; *s; s++)
    if (!isdigit((unsigned char)*s) && *s != '_')
      return false;
  return true;
}

static bool is_float(const char *s) {
  if (*s == '-' || *s == '+')
    s++;
  bool digits = false, dot = false;
  for (; *s && *s != 'e' && *s != 'E'; s++) {
    if (isdigit((unsigned char)*s) || *s == '_')
      digits = true;
    else if (*s == '.' && !dot)
      dot = true;
    else
      return false;
  }
  if (!dot || !digits)
    return false;
  if (*s) {
    s++;
    if (*s == '-' || *s == '+')
      s++;
    if (!*s)
      return false;
    for (; *s; s++)
      if (!isdigit((unsigned char)*s))
        return false;
  }
  return true;
}

static json_t *scalar(const yaml_node_t *n) {
  const char *v = (const char *)n->data.scalar.value;
  size_t len = n->data.scalar.length;
  /* libyaml's document API tags every untagged scalar as str, so only the style tells
   * a plain scalar (resolved like PyYAML) from a quoted or block one (always a string) */
  if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
    return json_stringn(v, len);
  static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
  static const char *const trues[] = {"true", "True", "TRUE", "yes", "Yes",
                                      "YES",  "on",   "On",   "ON",  NULL};
  static const char *const falses[] = {"false", "False", "FALSE", "no",  "No",
                                       "NO",    "off",   "Off",   "OFF", NULL};
  if (match_any(v, nulls))
    return json_null();
  if (match_any(v, trues))
    return json_true();
  if (match_any(v, falses))
    return json_false();
  if (is_int(v)) {
    char buf[64];
    size_t w = 0;
    for (const char *p = v; *p && w < sizeof buf - 1; p++)
      if (*p != '_')
        buf[w++] = *p;
    buf[w] = '\0';
    errno = 0;
    long long x = strtoll(buf, NULL, 10);
    if (errno == 0)
      return json_integer(x);
  }
  if (is_float(v)) {
    char buf[64];
    size_t w = 0;
    for (const char *p = v; *p && w < sizeof buf - 1; p++)
      if (*p != '_')
        buf[w++] = *p;
    buf[w] = '\0';
    return json_real(strtod(buf, NULL));
  }
  return json_stringn(v, len);
}

static json_t *convert(yaml_document_t *doc, yaml_node_t *n, int depth, lh_error *err) {
  if (depth > 64) {
    lh_error_set(err, LH_ELIMIT, "YAML nesting too deep at line %zu", n->start_mark.line + 1);
    return NULL;
  }
  switch (n->type) {
  case YAML_SCALAR_NODE: return scalar(n);
  case YAML_SEQUENCE_NODE: {
    json_t *arr = json_array();
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
      json_t *v = convert(doc, yaml_document_get_node(doc, *it), depth + 1, err);
      if (!v) {
        json_decref(arr);
        return NULL;
      }
      json_array_append_new(arr, v);
    }
    return arr;
  }
  case YAML_MAPPING_NODE: {
    json_t *obj = json_object();
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
      yaml_node_t *k = yaml_document_get_node(doc, p->key);
      if (!k || k->type != YAML_SCALAR_NODE) {
        lh_error_set(err, LH_EPARSE, "YAML line %zu: mapping keys must be plain values",
                     (k ? k->start_mark.line : n->start_mark.line) + 1);
        json_decref(obj);
        return NULL;
      }
      json_t *v = convert(doc, yaml_document_get_node(doc, p->value), depth + 1, err);
      if (!v) {
        json_decref(obj);
        return NULL;
      }
      json_object_setn_new(obj, (const char *)k->data.scalar.value, k->data.scalar.length, v);
    }
    return obj;
  }
  default: return json_null();
  }
}

int lh__yaml_to_json(const char *text, size_t len, json_t **out, lh_error *err) {
  *out = NULL;
  yaml_parser_t parser;
  yaml_document_t doc;
  if (!yaml_parser_initialize(&parser))
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
  int rc = 0;
  if (!yaml_parser_load(&parser, &doc)) {
    rc = lh_error_set(err, LH_EPARSE, "invalid YAML at line %zu column %zu: %s",
                      parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                      parser.problem ? parser.problem : "syntax error");
    yaml_parser_delete(&parser);
    return rc;
  }
  yaml_node_t *root = yaml_document_get_root_node(&doc);
  json_t *j = root ? convert(&doc, root, 0, err) : json_null();
  if (!j)
    rc = err ? err->code : LH_EPARSE;
  yaml_document_delete(&doc);
  yaml_parser_delete(&parser);
  *out = j;
  return rc;
}

/* ---- JSON -> YAML (yaml.dump of PyYAML: block style, keys sorted) ------------------------ */

typedef struct emit_out {
  lh_buf *buf;
  bool failed;
} emit_out;

static int emit_write(void *ctx, unsigned char *data, size_t size) {
  emit_out *o = ctx;
  if (lh_buf_append(o->buf, data, size)) {
    o->failed = true;
    return 0;
  }
  return 1;
}

/* A string that a plain scalar would not read back as a string (or as itself) is quoted,
 * as PyYAML's representer does. */
static bool plain_is_ambiguous(const char *s) {
  static const char *const words[] = {
      "",   "~",  "null",  "Null",  "NULL",  "true", "True", "TRUE", "yes", "Yes", "YES", "on",
      "On", "ON", "false", "False", "FALSE", "no",   "No",   "NO",   "off", "Off", "OFF", NULL};
  if (match_any(s, words) || is_int(s) || is_float(s))
    return true;
  /* dates and timestamps (PyYAML resolves them to datetime) */
  if (isdigit((unsigned char)s[0]) && strlen(s) >= 8 && s[4] == '-')
    return true;
  return s[0] == ' ' || s[strlen(s) - 1] == ' ';
}

static int emit_scalar(yaml_emitter_t *em, const char *v, size_t len, yaml_scalar_style_t style) {
  yaml_event_t ev;
  if (!yaml_scalar_event_initialize(&ev, NULL, (yaml_char_t *)YAML_STR_TAG, (yaml_char_t *)v,
                                    (int)len, 1, 1, style))
    return -1;
  return yaml_emitter_emit(em, &ev) ? 0 : -1;
}

static int cmp_keys(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int emit_node(yaml_emitter_t *em, json_t *j) {
  yaml_event_t ev;
  char num[64];
  switch (json_typeof(j)) {
  case JSON_OBJECT: {
    if (!yaml_mapping_start_event_initialize(&ev, NULL, (yaml_char_t *)YAML_MAP_TAG, 1,
                                             YAML_BLOCK_MAPPING_STYLE) ||
        !yaml_emitter_emit(em, &ev))
      return -1;
    size_t n = json_object_size(j), i = 0;
    const char **keys = n ? malloc(n * sizeof *keys) : NULL;
    if (n && !keys)
      return -1;
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v) keys[i++] = k;
    qsort(keys, n, sizeof *keys, cmp_keys);
    int rc = 0;
    for (i = 0; i < n && !rc; i++) {
      rc = emit_scalar(em, keys[i], strlen(keys[i]),
                       plain_is_ambiguous(keys[i]) ? YAML_SINGLE_QUOTED_SCALAR_STYLE
                                                   : YAML_ANY_SCALAR_STYLE);
      if (!rc)
        rc = emit_node(em, json_object_get(j, keys[i]));
    }
    free(keys);
    if (rc || !yaml_mapping_end_event_initialize(&ev) || !yaml_emitter_emit(em, &ev))
      return -1;
    return 0;
  }
  case JSON_ARRAY: {
    /* PyYAML writes an empty list in flow style: [] */
    if (!yaml_sequence_start_event_initialize(&ev, NULL, (yaml_char_t *)YAML_SEQ_TAG, 1,
                                              json_array_size(j) ? YAML_BLOCK_SEQUENCE_STYLE
                                                                 : YAML_FLOW_SEQUENCE_STYLE) ||
        !yaml_emitter_emit(em, &ev))
      return -1;
    size_t i;
    json_t *v;
    json_array_foreach(j, i, v) if (emit_node(em, v)) return -1;
    if (!yaml_sequence_end_event_initialize(&ev) || !yaml_emitter_emit(em, &ev))
      return -1;
    return 0;
  }
  case JSON_STRING: {
    const char *s = json_string_value(j);
    return emit_scalar(em, s, json_string_length(j),
                       plain_is_ambiguous(s) ? YAML_SINGLE_QUOTED_SCALAR_STYLE
                                             : YAML_ANY_SCALAR_STYLE);
  }
  case JSON_INTEGER:
    snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
    return emit_scalar(em, num, strlen(num), YAML_PLAIN_SCALAR_STYLE);
  case JSON_REAL:
    snprintf(num, sizeof num, "%.17g", json_real_value(j));
    if (!strpbrk(num, ".eEn"))
      strcat(num, ".0");
    return emit_scalar(em, num, strlen(num), YAML_PLAIN_SCALAR_STYLE);
  case JSON_TRUE: return emit_scalar(em, "true", 4, YAML_PLAIN_SCALAR_STYLE);
  case JSON_FALSE: return emit_scalar(em, "false", 5, YAML_PLAIN_SCALAR_STYLE);
  default: return emit_scalar(em, "null", 4, YAML_PLAIN_SCALAR_STYLE);
  }
}

int lh__yaml_dump(json_t *j, lh_buf *out, lh_error *err) {
  yaml_emitter_t em;
  yaml_event_t ev;
  if (!yaml_emitter_initialize(&em))
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  emit_out o = {out, false};
  yaml_emitter_set_output(&em, emit_write, &o);
  yaml_emitter_set_unicode(&em, 1);
  yaml_emitter_set_width(&em, 80);
  int ok = yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) &&
           yaml_emitter_emit(&em, &ev) &&
           yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) &&
           yaml_emitter_emit(&em, &ev) && emit_node(&em, j) == 0 &&
           yaml_document_end_event_initialize(&ev, 1) && yaml_emitter_emit(&em, &ev) &&
           yaml_stream_end_event_initialize(&ev) && yaml_emitter_emit(&em, &ev);
  int rc = 0;
  if (!ok || o.failed)
    rc = lh_error_set(err, o.failed ? LH_ENOMEM : LH_EINVAL, "YAML: %s",
                      em.problem ? em.problem : "cannot write the document");
  yaml_emitter_delete(&em);
  return rc;
}
