/* YAML -> JSON (a loader over libyaml's events, bounded) and JSON -> YAML (its emitter). */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "core/array.h"
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

/* A plain scalar is resolved like PyYAML's; a quoted or block one is always a string.
 * v is NUL-terminated at len (libyaml's scalar value). */
static json_t *scalar(const char *v, size_t len, yaml_scalar_style_t style) {
  if (style != YAML_PLAIN_SCALAR_STYLE)
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

/* ---- YAML -> JSON: a loader over libyaml's events --------------------------------------
 * The event API rather than yaml_parser_load: the document API parses the whole text before
 * we see a node, and libyaml's scanner costs O(flow depth) per token, so 200 KB of `[` took
 * a minute; here the depth cap stops the parse within a few hundred tokens. Aliases are
 * expanded into copies, counted as they are produced, so an alias bomb stops at a cap. */

/* An anchor (&name) of the document: its finished value and what one expansion costs. */
typedef struct anchor {
  json_t *value; /* NULL while the anchored collection is still open */
  char *raw;     /* a scalar's text, for an alias used as a mapping key; else NULL */
  size_t raw_len;
  size_t nodes, bytes; /* nodes and scalar bytes one copy produces */
  int height;          /* collection levels in the value (0 for a scalar) */
} anchor;

/* An open sequence or mapping. */
typedef struct frame {
  json_t *value;
  char *key; /* a mapping's key waiting for its value, NULL when a key comes next */
  size_t key_len;
  size_t anchor;         /* 1 + index in loader.anchors, 0 when not anchored */
  size_t nodes0, bytes0; /* loader counters when it opened */
  int height;            /* tallest child */
} frame;

typedef struct loader {
  yaml_parser_t parser;
  frame stack[LH_YAML_MAX_DEPTH];
  int depth;
  anchor *anchors;
  size_t nanchors, anchors_cap;
  json_t *names; /* anchor name -> index in anchors */
  json_t *root;
  int documents;
  size_t nodes, bytes; /* produced so far, aliases expanded */
  lh_error *err;
} loader;

static int nomem(loader *ld) {
  return lh_error_set(ld->err, LH_ENOMEM, "out of memory");
}

/* Account for what the document produces; past a cap the load stops. */
static int count(loader *ld, size_t nodes, size_t bytes, size_t line) {
  if (nodes > LH_YAML_MAX_NODES - ld->nodes)
    return lh_error_set(ld->err, LH_ELIMIT,
                        "YAML line %zu: the document expands to more than %d nodes (alias bomb?)",
                        line, LH_YAML_MAX_NODES);
  if (bytes > LH_YAML_MAX_BYTES - ld->bytes)
    return lh_error_set(ld->err, LH_ELIMIT,
                        "YAML line %zu: the document expands to more than %d MiB of text "
                        "(alias bomb?)",
                        line, LH_YAML_MAX_BYTES >> 20);
  ld->nodes += nodes;
  ld->bytes += bytes;
  return 0;
}

static int too_deep(loader *ld, size_t line) {
  return lh_error_set(ld->err, LH_ELIMIT, "YAML line %zu: nesting deeper than %d levels", line,
                      LH_YAML_MAX_DEPTH);
}

static frame *top(loader *ld) {
  return ld->depth ? &ld->stack[ld->depth - 1] : NULL;
}

/* True when the next node of the open collection is a mapping key. */
static bool wants_key(loader *ld) {
  frame *f = top(ld);
  return f && json_is_object(f->value) && !f->key;
}

static int set_key(loader *ld, const char *key, size_t len, size_t line) {
  frame *f = top(ld);
  if (json_object_getn(f->value, key, len))
    return lh_error_set(ld->err, LH_EPARSE, "YAML line %zu: duplicate key '%.*s'", line,
                        (int)(len > 80 ? 80 : len), key);
  if (!(f->key = malloc(len + 1)))
    return nomem(ld);
  memcpy(f->key, key, len);
  f->key[len] = '\0';
  f->key_len = len;
  return 0;
}

/* Put a finished value (owned) into the open collection, or make it the root. */
static int attach(loader *ld, json_t *v, int height) {
  frame *f = top(ld);
  if (!f) {
    ld->root = v;
    return 0;
  }
  if (height > f->height)
    f->height = height;
  if (json_is_array(f->value))
    return json_array_append_new(f->value, v) ? nomem(ld) : 0;
  int rc = json_object_setn_new(f->value, f->key, f->key_len, v);
  free(f->key);
  f->key = NULL;
  return rc ? nomem(ld) : 0;
}

/* Register &name; the value is filled in when the node is finished. */
static int anchor_add(loader *ld, const char *name, size_t line, size_t *index) {
  if (json_object_get(ld->names, name))
    return lh_error_set(ld->err, LH_EPARSE, "YAML line %zu: duplicate anchor '&%s'", line, name);
  if (LH_ARRAY_RESERVE(ld->anchors, ld->anchors_cap, ld->nanchors + 1, 16))
    return nomem(ld);
  if (json_object_set_new(ld->names, name, json_integer((json_int_t)ld->nanchors)))
    return nomem(ld);
  ld->anchors[ld->nanchors] = (anchor){0};
  *index = ld->nanchors++;
  return 0;
}

static int on_scalar(loader *ld, yaml_event_t *ev, size_t line) {
  const char *v = (const char *)ev->data.scalar.value;
  size_t len = ev->data.scalar.length;
  int rc = count(ld, 1, len, line);
  if (rc)
    return rc;
  /* a "\0" escape: C strings (keys, values compared with strcmp) would end early */
  if (memchr(v, '\0', len))
    return lh_error_set(ld->err, LH_EPARSE, "YAML line %zu: a NUL character in a value", line);
  size_t a = 0;
  if (ev->data.scalar.anchor) {
    if ((rc = anchor_add(ld, (const char *)ev->data.scalar.anchor, line, &a)))
      return rc;
    anchor *an = &ld->anchors[a];
    if (!(an->raw = malloc(len + 1)) || !(an->value = scalar(v, len, ev->data.scalar.style)))
      return nomem(ld);
    memcpy(an->raw, v, len);
    an->raw[len] = '\0';
    an->raw_len = len;
    an->nodes = 1;
    an->bytes = len;
  }
  if (wants_key(ld))
    return set_key(ld, v, len, line);
  json_t *j = scalar(v, len, ev->data.scalar.style);
  return j ? attach(ld, j, 0) : nomem(ld);
}

static int on_alias(loader *ld, yaml_event_t *ev, size_t line) {
  const char *name = (const char *)ev->data.alias.anchor;
  json_t *i = json_object_get(ld->names, name);
  if (!i)
    return lh_error_set(ld->err, LH_EPARSE, "YAML line %zu: unknown alias '*%s'", line, name);
  anchor *an = &ld->anchors[json_integer_value(i)];
  if (!an->value)
    return lh_error_set(ld->err, LH_EPARSE,
                        "YAML line %zu: alias '*%s' refers to a collection that contains it", line,
                        name);
  int rc = count(ld, an->nodes, an->bytes, line);
  if (rc)
    return rc;
  if (wants_key(ld)) {
    if (!an->raw)
      return lh_error_set(ld->err, LH_EPARSE, "YAML line %zu: mapping keys must be plain values",
                          line);
    return set_key(ld, an->raw, an->raw_len, line);
  }
  if (ld->depth + an->height > LH_YAML_MAX_DEPTH)
    return too_deep(ld, line);
  json_t *copy = json_deep_copy(an->value);
  return copy ? attach(ld, copy, an->height) : nomem(ld);
}

static int on_start(loader *ld, yaml_event_t *ev, size_t line) {
  bool seq = ev->type == YAML_SEQUENCE_START_EVENT;
  const yaml_char_t *name = seq ? ev->data.sequence_start.anchor : ev->data.mapping_start.anchor;
  if (wants_key(ld))
    return lh_error_set(ld->err, LH_EPARSE, "YAML line %zu: mapping keys must be plain values",
                        line);
  if (ld->depth == LH_YAML_MAX_DEPTH)
    return too_deep(ld, line);
  frame f = {.nodes0 = ld->nodes, .bytes0 = ld->bytes};
  size_t a;
  int rc = count(ld, 1, 0, line);
  if (rc == 0 && name && (rc = anchor_add(ld, (const char *)name, line, &a)) == 0)
    f.anchor = a + 1;
  if (rc)
    return rc;
  if (!(f.value = seq ? json_array() : json_object()))
    return nomem(ld);
  ld->stack[ld->depth++] = f;
  return 0;
}

static int on_end(loader *ld) {
  frame f = ld->stack[--ld->depth];
  assert(!f.key); /* libyaml gives every key a value, an empty scalar at least */
  int height = f.height + 1;
  if (f.anchor) {
    anchor *an = &ld->anchors[f.anchor - 1];
    an->value = json_incref(f.value);
    an->nodes = ld->nodes - f.nodes0;
    an->bytes = ld->bytes - f.bytes0;
    an->height = height;
  }
  return attach(ld, f.value, height);
}

static int on_event(loader *ld, yaml_event_t *ev) {
  size_t line = ev->start_mark.line + 1;
  switch (ev->type) {
  case YAML_DOCUMENT_START_EVENT:
    if (ld->documents++)
      return lh_error_set(ld->err, LH_EPARSE,
                          "YAML line %zu: expected a single document, found a second one", line);
    return 0;
  case YAML_SCALAR_EVENT: return on_scalar(ld, ev, line);
  case YAML_ALIAS_EVENT: return on_alias(ld, ev, line);
  case YAML_SEQUENCE_START_EVENT:
  case YAML_MAPPING_START_EVENT: return on_start(ld, ev, line);
  case YAML_SEQUENCE_END_EVENT:
  case YAML_MAPPING_END_EVENT: return on_end(ld);
  default: return 0;
  }
}

int lh__yaml_to_json(const char *text, size_t len, json_t **out, lh_error *err) {
  *out = NULL;
  if (len > LH_YAML_MAX_TEXT)
    return lh_error_set(err, LH_ELIMIT, "YAML text of %zu bytes, over the limit of %d bytes", len,
                        LH_YAML_MAX_TEXT);
  loader ld = {.err = err};
  if (!yaml_parser_initialize(&ld.parser))
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  yaml_parser_set_input_string(&ld.parser, (const unsigned char *)(text ? text : ""), len);
  int rc = 0;
  if (!(ld.names = json_object())) {
    rc = nomem(&ld);
    goto done;
  }
  for (bool end = false; !end;) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&ld.parser, &ev)) {
      if (ld.parser.error == YAML_MEMORY_ERROR)
        rc = nomem(&ld);
      else
        rc = lh_error_set(err, LH_EPARSE, "invalid YAML at line %zu column %zu: %s",
                          ld.parser.problem_mark.line + 1, ld.parser.problem_mark.column + 1,
                          ld.parser.problem ? ld.parser.problem : "syntax error");
      goto done;
    }
    end = ev.type == YAML_STREAM_END_EVENT;
    rc = on_event(&ld, &ev);
    yaml_event_delete(&ev);
    if (rc)
      goto done;
  }
  /* an empty stream is a null document, as yaml.safe_load("") is None */
  if (!ld.root && !(ld.root = json_null()))
    rc = nomem(&ld);
done:
  assert(rc || ld.depth == 0);
  while (ld.depth > 0) {
    frame *f = &ld.stack[--ld.depth];
    json_decref(f->value);
    free(f->key);
  }
  for (size_t i = 0; i < ld.nanchors; i++) {
    json_decref(ld.anchors[i].value);
    free(ld.anchors[i].raw);
  }
  free(ld.anchors);
  json_decref(ld.names);
  yaml_parser_delete(&ld.parser);
  if (rc) {
    json_decref(ld.root);
    return rc;
  }
  *out = ld.root;
  return 0;
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
    if (n)
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
  /* PyYAML's yaml.dump default (allow_unicode=False): non-ASCII text is escaped */
  yaml_emitter_set_unicode(&em, 0);
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
