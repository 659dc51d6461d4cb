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
