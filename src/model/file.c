/* File metadata of the archive (inventory §5.3): ids, the metadata JSON in pydantic's form,
 * and the Folder and file entities of a file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/text.h"
#include "core/utf8.h"
#include "lakehouse/archive.h"
#include "lakehouse/mime.h"
#include "lakehouse/validate.h"

#define STORE_URI "lakehouse://" /* File.store, always */

/* "prefix" + sha256(a + b) */
static int hash_id(const char *prefix, const char *a, const char *b, char *out, size_t cap,
                   lh_error *err) {
  lh_hasher *h;
  int rc = lh_hasher_new(LH_HASH_SHA256, &h, err);
  if (rc)
    return rc;
  if (a)
    lh_hasher_update(h, a, strlen(a));
  lh_hasher_update(h, b, strlen(b));
  char hex[LH_SHA256_HEX_SIZE];
  lh_hasher_final_hex(h, hex);
  lh_hasher_free(h);
  snprintf(out, cap, "%s%s", prefix, hex);
  return 0;
}

int lh_file_id(const char *key, const char *checksum, char out[LH_FILE_ID_SIZE], lh_error *err) {
  out[0] = '\0';
  int rc = lh_validate_checksum(checksum, err);
  if (rc)
    return rc;
  if (!key || !*key)
    return lh_error_set(err, LH_EINVAL, "invalid key: must not be empty");
  if (strcmp(key, checksum) == 0) {
    memcpy(out, checksum, LH_SHA256_HEX_SIZE);
    return 0;
  }
  return hash_id("file-", key, checksum, out, LH_FILE_ID_SIZE, err);
}

void lh_folder_id(const char *name, const char *parent_id, char out[LH_FOLDER_ID_SIZE]) {
  /* the hasher only fails without memory; an empty id then makes the caller's write fail */
  if (hash_id("folder-", parent_id, name, out, LH_FOLDER_ID_SIZE, NULL))
    out[0] = '\0';
}

/* The segments of a key as Python's Path sees them: empty and "." segments dropped. Calls fn
 * for each directory segment (not the last one) and returns the last one in *name. */
typedef int (*segment_fn)(void *ctx, const char *seg, size_t len);

static int walk_key(const char *key, segment_fn fn, void *ctx, const char **name, size_t *nlen) {
  const char *last = NULL;
  size_t last_len = 0;
  for (const char *p = key; *p;) {
    const char *e = strchr(p, '/');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (n && !(n == 1 && p[0] == '.')) {
      if (last) {
        int rc = fn ? fn(ctx, last, last_len) : 0;
        if (rc)
          return rc;
      }
      last = p;
      last_len = n;
    }
    p += n + (e ? 1 : 0);
  }
  *name = last ? last : key;
  *nlen = last ? last_len : 0;
  return 0;
}

typedef struct chain {
  char id[LH_FOLDER_ID_SIZE];
  bool has;
} chain;

static int chain_step(void *ctx, const char *seg, size_t len) {
  chain *c = ctx;
  char *name = strndup(seg, len);
  if (!name)
    return LH_ENOMEM;
  char parent[LH_FOLDER_ID_SIZE];
  memcpy(parent, c->id, sizeof parent);
  lh_folder_id(name, c->has ? parent : NULL, c->id);
  c->has = true;
  free(name);
  return 0;
}

static char *dup_or_null(const char *s, bool *fail) {
  char *d = s ? strdup(s) : NULL;
  if (s && !d)
    *fail = true;
  return d;
}

int lh_file_new(const char *key, const char *checksum, lh_file **out, lh_error *err) {
  *out = NULL;
  char id[LH_FILE_ID_SIZE];
  int rc = lh_file_id(key, checksum, id, err);
  if (rc)
    return rc;
  if (lh__utf8_check(key, strlen(key)) != strlen(key))
    return lh_error_set(err, LH_EINVAL, "invalid key: not valid UTF-8");
  lh_file *f = calloc(1, sizeof *f);
  if (!f)
    return lh_error_nomem(err);
  chain c = {{0}, false};
  const char *name;
  size_t nlen;
  bool fail = walk_key(key, chain_step, &c, &name, &nlen) != 0;
  f->name = nlen ? strndup(name, nlen) : strdup(key);
  f->created_at = f->updated_at = LH_TIME_NULL;
  f->key = dup_or_null(key, &fail);
  f->mimetype = dup_or_null(lh_mime_guess(f->name ? f->name : key), &fail);
  f->id = dup_or_null(id, &fail);
  f->dataset = dup_or_null("", &fail);
  f->checksum = dup_or_null(checksum, &fail);
  f->extra = dup_or_null("{}", &fail);
  f->origin = dup_or_null(LH_ORIGIN_ARCHIVE, &fail);
  f->parent = dup_or_null(c.has ? c.id : NULL, &fail);
  if (fail || !f->name) {
    lh_file_free(f);
    return lh_error_nomem(err);
  }
  *out = f;
  return 0;
}

void lh_file_free(lh_file *f) {
  if (!f)
    return;
  free(f->name);
  free(f->key);
  free(f->mimetype);
  free(f->id);
  free(f->dataset);
  free(f->checksum);
  free(f->extra);
  free(f->origin);
  free(f->parent);
  free(f);
}

/* ---- JSON --------------------------------------------------------------------------------- */

static int put_str(lh_buf *out, const char *key, const char *v) {
  int rc = lh_buf_printf(out, ",\"%s\":", key);
  if (rc)
    return rc;
  return v ? lh_json_write_string(out, v, strlen(v)) : lh_buf_puts(out, "null");
}

int lh_file_write_json(const lh_file *f, lh_buf *out) {
  int rc = lh_buf_puts(out, "{\"name\":");
  rc = rc ? rc : lh_json_write_string(out, f->name, strlen(f->name));
  rc = rc ? rc : lh__json_put_time(out, "created_at", f->created_at);
  rc = rc ? rc : lh__json_put_time(out, "updated_at", f->updated_at);
  rc = rc ? rc : lh_buf_printf(out, ",\"size\":%lld", (long long)f->size);
  rc = rc ? rc : put_str(out, "store", STORE_URI);
  rc = rc ? rc : put_str(out, "key", f->key);
  rc = rc ? rc : put_str(out, "mimetype", f->mimetype);
  rc = rc ? rc : put_str(out, "id", f->id);
  rc = rc ? rc : put_str(out, "dataset", f->dataset);
  rc = rc ? rc : put_str(out, "checksum", f->checksum);
  rc = rc ? rc : lh_buf_printf(out, ",\"extra\":%s", f->extra && *f->extra ? f->extra : "{}");
  rc = rc ? rc : put_str(out, "origin", f->origin);
  rc = rc ? rc : put_str(out, "path", f->key);
  rc = rc ? rc : put_str(out, "parent", f->parent);
  return rc ? rc : lh_buf_putc(out, '}');
}

/* A string field: *out a copy, NULL for JSON null when nullable. */
static int get_string(json_t *v, const char *field, bool nullable, char **out, lh_error *err) {
  if (json_is_null(v) && nullable)
    return 0;
  if (!json_is_string(v))
    return lh_error_set(err, LH_EPARSE, "file metadata: '%s' must be a string%s", field,
                        nullable ? " or null" : "");
  if (!(*out = strdup(json_string_value(v))))
    return lh_error_nomem(err);
  return 0;
}

static int get_time(json_t *v, const char *field, lh_time *out, lh_error *err) {
  *out = LH_TIME_NULL;
  if (json_is_null(v))
    return 0;
  if (!json_is_string(v) ||
      lh_time_parse_iso(json_string_value(v), json_string_length(v), out, NULL) != 0)
    return lh_error_set(err, LH_EPARSE, "file metadata: '%s' must be an ISO 8601 time or null",
                        field);
  return 0;
}

/* One known field of the File model into f; 1 when the key is not one of them. */
static int get_field(lh_file *f, const char *k, json_t *v, lh_error *err) {
  if (!strcmp(k, "name"))
    return get_string(v, k, false, &f->name, err);
  if (!strcmp(k, "created_at"))
    return get_time(v, k, &f->created_at, err);
  if (!strcmp(k, "updated_at"))
    return get_time(v, k, &f->updated_at, err);
  if (!strcmp(k, "size")) {
    if (!json_is_integer(v) || json_integer_value(v) < 0)
      return lh_error_set(err, LH_EPARSE, "file metadata: 'size' must be a non-negative integer");
    f->size = json_integer_value(v);
    return 0;
  }
  if (!strcmp(k, "key"))
    return get_string(v, k, false, &f->key, err);
  if (!strcmp(k, "mimetype"))
    return get_string(v, k, false, &f->mimetype, err);
  if (!strcmp(k, "id"))
    return get_string(v, k, false, &f->id, err);
  if (!strcmp(k, "dataset"))
    return get_string(v, k, false, &f->dataset, err);
  if (!strcmp(k, "checksum"))
    return get_string(v, k, false, &f->checksum, err);
  if (!strcmp(k, "origin"))
    return get_string(v, k, true, &f->origin, err);
  if (!strcmp(k, "parent"))
    return get_string(v, k, true, &f->parent, err);
  if (!strcmp(k, "store") || !strcmp(k, "path") || !strcmp(k, "extra"))
    return 0; /* constant, computed, or read apart */
  return 1;
}

static int parse_fields(lh_file *f, json_t *root, lh_error *err) {
  json_t *extra = json_object_get(root, "extra");
  if (extra && !json_is_null(extra) && !json_is_object(extra))
    return lh_error_set(err, LH_EPARSE, "file metadata: 'extra' must be an object");
  json_t *more = json_is_object(extra) ? json_deep_copy(extra) : json_object();
  if (!more)
    return lh_error_nomem(err);
  const char *k;
  json_t *v;
  int rc = 0;
  json_object_foreach(root, k, v) {
    if ((rc = get_field(f, k, v, err)) == 1) /* pydantic: unknown keys go into extra */
      rc = json_object_set(more, k, v) ? lh_error_nomem(err) : 0;
    if (rc)
      break;
  }
  if (!rc && !(f->extra = json_dumps(more, JSON_COMPACT | JSON_PRESERVE_ORDER)))
    rc = lh_error_nomem(err);
  json_decref(more);
  return rc;
}

static int check_parsed(lh_file *f, lh_error *err) {
  static const char *const REQUIRED[] = {"name", "key", "mimetype", "dataset", "checksum"};
  char *const *fields[] = {&f->name, &f->key, &f->mimetype, &f->dataset, &f->checksum};
  for (size_t i = 0; i < 5; i++)
    if (!*fields[i])
      return lh_error_set(err, LH_EPARSE, "file metadata: '%s' is missing", REQUIRED[i]);
  int rc = lh_validate_checksum(f->checksum, err);
  if (rc)
    return lh_error_prefix(err, rc, "file metadata");
  if (!f->id) { /* computed in the Python project's newer versions */
    char id[LH_FILE_ID_SIZE];
    if ((rc = lh_file_id(f->key, f->checksum, id, err)) != 0)
      return lh_error_prefix(err, rc, "file metadata");
    if (!(f->id = strdup(id)))
      return lh_error_nomem(err);
  }
  if ((rc = lh_validate_file_id(f->id, err)) != 0)
    return lh_error_prefix(err, rc, "file metadata");
  if (f->origin && (rc = lh_validate_origin(f->origin, err)) != 0)
    return lh_error_prefix(err, rc, "file metadata");
  return 0;
}

int lh_file_parse_json(const char *json, size_t len, lh_file **out, lh_error *err) {
  *out = NULL;
  if (len > LH_FILE_JSON_MAX)
    return lh_error_set(err, LH_ELIMIT, "file metadata: larger than %zu bytes", LH_FILE_JSON_MAX);
  json_error_t jerr;
  json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!root)
    return lh_error_set(err, LH_EPARSE, "file metadata: line %d column %d: %s", jerr.line,
                        jerr.column, jerr.text);
  int rc = 0;
  lh_file *f = calloc(1, sizeof *f);
  if (!f) {
    rc = lh_error_nomem(err);
  } else if (!json_is_object(root)) {
    rc = lh_error_set(err, LH_EPARSE, "file metadata: not a JSON object");
  } else {
    f->created_at = f->updated_at = LH_TIME_NULL;
    rc = parse_fields(f, root, err);
    rc = rc ? rc : check_parsed(f, err);
  }
  json_decref(root);
  if (rc) {
    lh_file_free(f);
    return rc;
  }
  *out = f;
  return 0;
}

/* ---- entities ----------------------------------------------------------------------------- */

typedef struct walk_ctx {
  lh_entity *e;
  const lh_schema *folder;
  chain chain;
  lh_entity_fn fn;
  void *ctx;
  lh_error *err;
} walk_ctx;

static int emit_folder(void *ctx, const char *seg, size_t len) {
  walk_ctx *w = ctx;
  char parent[LH_FOLDER_ID_SIZE];
  bool has_parent = w->chain.has;
  memcpy(parent, w->chain.id, sizeof parent);
  int rc = chain_step(&w->chain, seg, len);
  if (rc)
    return lh_error_set(w->err, rc, "out of memory");
  lh_entity_reset(w->e);
  lh_entity_set_schema(w->e, w->folder);
  rc = lh_entity_set_id(w->e, w->chain.id, strlen(w->chain.id), w->err);
  /* the folder name raw, leading and trailing blanks included, as the Python project does */
  if (!rc && (rc = lh_entity_add(w->e, "fileName", seg, len, 0, w->err)) > 0)
    rc = 0;
  if (!rc && has_parent &&
      (rc = lh_entity_add(w->e, "parent", parent, strlen(parent), LH_ADD_CLEAN, w->err)) > 0)
    rc = 0;
  return rc ? rc : w->fn(w->e, w->ctx);
}

static int add_value(lh_entity *e, const char *prop, const char *v, lh_error *err) {
  int rc = v ? lh_entity_add(e, prop, v, strlen(v), LH_ADD_CLEAN, err) : 0;
  return rc > 0 ? 0 : rc;
}

/* extra's values for properties of the file's schema (title, author, ...); values a property
 * does not take (a stub, an invalid value) are left out. */
static void add_extra(lh_entity *e, const lh_file *f) {
  json_t *extra = f->extra ? json_loads(f->extra, 0, NULL) : NULL;
  const lh_schema *schema = lh_entity_schema(e);
  const char *k;
  json_t *v;
  json_object_foreach(extra, k, v) {
    if (!lh_schema_property(schema, k))
      continue;
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    for (size_t i = 0; i < n; i++) {
      json_t *x = json_is_array(v) ? json_array_get(v, i) : v;
      char num[32];
      const char *s = json_string_value(x);
      if (json_is_integer(x)) {
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(x));
        s = num;
      }
      if (s)
        lh_entity_add(e, k, s, strlen(s), LH_ADD_CLEAN, NULL);
    }
  }
  json_decref(extra);
}

static int emit_file(walk_ctx *w, const lh_file *f, const lh_model *model) {
  const lh_schema *schema = lh_model_schema(model, lh_mime_to_schema(f->mimetype));
  if (!schema)
    return lh_error_set(w->err, LH_EINTERNAL, "the model has no schema for %s", f->mimetype);
  lh_entity_reset(w->e);
  lh_entity_set_schema(w->e, schema);
  int rc = lh_entity_set_id(w->e, f->id, strlen(f->id), w->err);
  char size[32];
  snprintf(size, sizeof size, "%lld", (long long)f->size);
  rc = rc ? rc : add_value(w->e, "contentHash", f->checksum, w->err);
  rc = rc ? rc : add_value(w->e, "fileName", f->name, w->err);
  rc = rc ? rc : add_value(w->e, "fileSize", size, w->err);
  rc = rc ? rc : add_value(w->e, "mimeType", f->mimetype, w->err);
  rc = rc ? rc : add_value(w->e, "parent", w->chain.has ? w->chain.id : NULL, w->err);
  if (!rc)
    add_extra(w->e, f);
  return rc ? rc : w->fn(w->e, w->ctx);
}

int lh_file_entities(const lh_file *f, const lh_model *model, lh_entity_fn fn, void *ctx,
                     lh_error *err) {
  walk_ctx w = {NULL, lh_model_schema(model, "Folder"), {{0}, false}, fn, ctx, err};
  if (!w.folder)
    return lh_error_set(err, LH_EINTERNAL, "the model has no Folder schema");
  int rc = lh_entity_new(model, &w.e, err);
  if (rc)
    return rc;
  const char *name;
  size_t nlen;
  rc = walk_key(f->key, emit_folder, &w, &name, &nlen);
  if (!rc)
    rc = emit_file(&w, f, model);
  lh_entity_free(w.e);
  return lh_error_ensure(err, rc);
}
