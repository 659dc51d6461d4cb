/* The Delta Lake transaction log (see delta_log.h and docs/internals/DELTA_LOG.md). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/array.h"
#include "core/crashpoint.h"
#include "core/sort.h"
#include "lakehouse/log.h"
#include "lh_version.h"
#include "storage/parquet/delta_log.h"

/* ---- paths ---------------------------------------------------------------------------------- */

char *lh__delta_path_encode(const char *relative) {
  static const char hex[] = "0123456789ABCDEF";
  lh_buf b = LH_BUF_INIT;
  for (const unsigned char *p = (const unsigned char *)relative; *p; p++) {
    int rc;
    if (isalnum(*p) || strchr("-._~/=", *p)) {
      rc = lh_buf_putc(&b, (char)*p);
    } else {
      char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
      rc = lh_buf_append(&b, e, 3);
    }
    if (rc) {
      lh_buf_free(&b);
      return NULL;
    }
  }
  return lh_buf_steal(&b);
}

static int hexval(char c) {
  return c >= '0' && c <= '9'   ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                : -1;
}

char *lh__delta_path_decode(const char *path) {
  size_t n = strlen(path);
  char *out = malloc(n + 1), *w = out;
  if (!out)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    if (path[i] == '%') {
      int hi = i + 2 < n + 1 ? hexval(path[i + 1]) : -1, lo = hi >= 0 ? hexval(path[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        free(out);
        return NULL;
      }
      *w++ = (char)(hi * 16 + lo);
      i += 2;
    } else {
      *w++ = path[i];
    }
  }
  *w = '\0';
  return out;
}

/* The file under the table root that add.path names; refuses escapes from the root. */
static char *file_of(const char *path) {
  const char *p = path;
  if (strncmp(p, "file://", 7) == 0)
    return NULL; /* absolute URIs (shallow clones) are not supported */
  char *file = lh__delta_path_decode(p);
  if (!file)
    return NULL;
  if (file[0] == '/' || lh_store_validate_key(file, NULL) != 0) {
    free(file);
    return NULL;
  }
  return file;
}

/* ---- snapshot ------------------------------------------------------------------------------- */

int lh__delta_check_read(const lh__delta_snapshot *s, lh_error *err);

void lh__delta_snapshot_init(lh__delta_snapshot *s) {
  memset(s, 0, sizeof *s);
  s->version = -1;
  s->checkpoint = -1;
  lh__strmap_init(&s->by_path);
}

static void file_free(lh__delta_file *f) {
  free(f->path);
  free(f->file);
  json_decref(f->values);
  free(f->stats);
}

void lh__delta_snapshot_free(lh__delta_snapshot *s) {
  for (size_t i = 0; i < s->nfiles; i++)
    file_free(&s->files[i]);
  free(s->files);
  for (size_t i = 0; i < s->npartitions; i++)
    free(s->partitions[i]);
  free(s->partitions);
  lh__strmap_free(&s->by_path);
  json_decref(s->metadata);
  json_decref(s->reader_features);
  json_decref(s->writer_features);
  json_decref(s->removes);
  json_decref(s->removed_in);
  json_decref(s->txns);
  free(s->cp_removes);
  free(s->cp_name);
  lh__delta_snapshot_init(s);
}

const char *lh__delta_file_value(const lh__delta_snapshot *s, const lh__delta_file *f,
                                 const char *column) {
  (void)s;
  return json_string_value(json_object_get(f->values, column));
}

static void drop_file(lh__delta_snapshot *s, uint32_t i) {
  lh__strmap_del(&s->by_path, s->files[i].path);
  file_free(&s->files[i]);
  s->nfiles--;
  if (i != s->nfiles) { /* move the last file into the hole */
    s->files[i] = s->files[s->nfiles];
    lh__strmap_put(&s->by_path, s->files[i].path, i);
  }
}

/* Where an action came from, for error messages. */
typedef struct origin {
  const char *name; /* "_delta_log/00000000000000000003.json" */
  int64_t version;
  size_t line; /* 0 for checkpoint rows */
} origin;

static int fail(lh_error *err, int code, const origin *o, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(lh_error *err, int code, const origin *o, const char *fmt, ...) {
  char msg[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (o->line)
    return lh_error_set(err, code, "%s (version %" PRId64 ") line %zu: %s", o->name, o->version,
                        o->line, msg);
  return lh_error_set(err, code, "%s (version %" PRId64 "): %s", o->name, o->version, msg);
}

static json_int_t int_field(json_t *o, const char *key, json_int_t def) {
  json_t *v = json_object_get(o, key);
  return json_is_integer(v) ? json_integer_value(v) : def;
}

static int apply_metadata(lh__delta_snapshot *s, json_t *md, const origin *o, lh_error *err) {
  json_t *cols = json_object_get(md, "partitionColumns");
  if (cols && !json_is_array(cols))
    return fail(err, LH_EPARSE, o, "metaData.partitionColumns is not a list");
  for (size_t i = 0; i < s->npartitions; i++)
    free(s->partitions[i]);
  free(s->partitions);
  s->partitions = NULL;
  s->npartitions = 0;
  size_t n = cols ? json_array_size(cols) : 0;
  if (n) {
    s->partitions = calloc(n, sizeof *s->partitions);
    if (!s->partitions)
      return lh_error_set(err, LH_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
      const char *c = json_string_value(json_array_get(cols, i));
      if (!c || !(s->partitions[i] = strdup(c)))
        return fail(err, LH_EPARSE, o, "metaData.partitionColumns must be strings");
      s->npartitions++;
    }
  }
  if (!json_is_string(json_object_get(md, "schemaString")))
    return fail(err, LH_EPARSE, o, "metaData has no schemaString");
  json_decref(s->metadata);
  s->metadata = json_incref(md);
  return 0;
}

/* One add: the fields apply_add reads from its JSON, or the checkpoint reader from typed
 * columns. values: the partition values (a new reference is taken); stats may be NULL. */
/* An add action's fields, from a JSON commit or a checkpoint's typed columns, checked in
 * add_file. */
typedef struct add_fields {
  const char *path; /* NULL or empty: refused */
  json_t *values;   /* partitionValues: an object, or NULL */
  bool values_bad;  /* partitionValues present but not an object */
  bool deletion_vector;
  int64_t size; /* < 0: missing or invalid */
  int64_t modified;
  const char *stats;
  size_t stats_len;
} add_fields;

static int add_file(lh__delta_snapshot *s, const add_fields *a, const origin *o, lh_error *err) {
  const char *path = a->path;
  if (!path || !*path)
    return fail(err, LH_EPARSE, o, "add action without a path");
  if (a->deletion_vector)
    return fail(err, LH_EUNSUPPORTED, o, "add '%s' carries a deletion vector (not supported)",
                path);
  if (a->values_bad)
    return fail(err, LH_EPARSE, o, "add '%s': partitionValues is not an object", path);
  if (a->size < 0)
    return fail(err, LH_EPARSE, o, "add '%s': size is missing or invalid", path);
  char *file = file_of(path);
  if (!file)
    return fail(err, LH_EPARSE, o, "add '%s': not a relative path inside the table", path);
  lh__delta_file f = {
      .path = strdup(path),
      .file = file,
      .values = a->values ? json_incref(a->values) : json_object(),
      .size = a->size,
      .modified = a->modified,
      .version = o->version,
      .stats = a->stats ? strndup(a->stats, a->stats_len) : NULL,
  };
  if (!f.path || !f.values || (a->stats && !f.stats)) {
    file_free(&f);
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  }
  uint32_t i;
  if (lh__strmap_get(&s->by_path, path, &i)) { /* re-added: the newer add wins */
    file_free(&s->files[i]);
    s->files[i] = f;
    lh__strmap_put(&s->by_path, s->files[i].path, i);
  } else {
    if (LH_ARRAY_RESERVE(s->files, s->files_cap, s->nfiles + 1, 64)) {
      file_free(&f);
      return lh_error_set(err, LH_ENOMEM, "out of memory");
    }
    s->files[s->nfiles] = f;
    if (lh__strmap_put(&s->by_path, s->files[s->nfiles].path, (uint32_t)s->nfiles)) {
      file_free(&f);
      return lh_error_set(err, LH_ENOMEM, "out of memory");
    }
    s->nfiles++;
  }
  if (s->removes) {
    json_object_del(s->removes, path);
    json_object_del(s->removed_in, path);
  }
  return 0;
}

static int apply_add(lh__delta_snapshot *s, json_t *add, const origin *o, lh_error *err) {
  json_t *dv = json_object_get(add, "deletionVector");
  json_t *pv = json_object_get(add, "partitionValues");
  json_t *size = json_object_get(add, "size");
  json_t *stats = json_object_get(add, "stats");
  add_fields a = {
      .path = json_string_value(json_object_get(add, "path")),
      .values = json_is_object(pv) ? pv : NULL,
      .values_bad = pv && !json_is_null(pv) && !json_is_object(pv),
      .deletion_vector = dv && !json_is_null(dv),
      .size = json_is_integer(size) ? json_integer_value(size) : -1,
      .modified = int_field(add, "modificationTime", 0),
      .stats = json_string_value(stats),
      .stats_len = json_string_length(stats),
  };
  return add_file(s, &a, o, err);
}

static int apply_remove(lh__delta_snapshot *s, json_t *rm, const origin *o, lh_error *err) {
  const char *path = json_string_value(json_object_get(rm, "path"));
  if (!path || !*path)
    return fail(err, LH_EPARSE, o, "remove action without a path");
  uint32_t i;
  if (lh__strmap_get(&s->by_path, path, &i))
    drop_file(s, i);
  if ((!s->removes && !(s->removes = json_object())) ||
      (!s->removed_in && !(s->removed_in = json_object())) ||
      json_object_set(s->removes, path, rm) ||
      json_object_set_new(s->removed_in, path, json_integer(o->version)))
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  return 0;
}

static int apply_action(lh__delta_snapshot *s, json_t *action, const origin *o, lh_error *err) {
  if (!json_is_object(action))
    return fail(err, LH_EPARSE, o, "an action must be a JSON object");
  const char *key;
  json_t *v;
  json_object_foreach(action, key, v) {
    if (json_is_null(v))
      continue; /* checkpoint rows: only one column is set */
    int rc = 0;
    if (strcmp(key, "add") == 0) {
      rc = apply_add(s, v, o, err);
    } else if (strcmp(key, "remove") == 0) {
      rc = apply_remove(s, v, o, err);
    } else if (strcmp(key, "metaData") == 0) {
      rc = apply_metadata(s, v, o, err);
    } else if (strcmp(key, "protocol") == 0) {
      json_t *r = json_object_get(v, "minReaderVersion"),
             *w = json_object_get(v, "minWriterVersion");
      if (!json_is_integer(r) || !json_is_integer(w))
        return fail(err, LH_EPARSE, o, "protocol without minReaderVersion / minWriterVersion");
      s->min_reader = (int)json_integer_value(r);
      s->min_writer = (int)json_integer_value(w);
      json_decref(s->reader_features);
      json_decref(s->writer_features);
      s->reader_features = json_incref(json_object_get(v, "readerFeatures"));
      s->writer_features = json_incref(json_object_get(v, "writerFeatures"));
      /* refuse a table we cannot read before looking at any of its files */
      if ((rc = lh__delta_check_read(s, err)) != 0)
        return rc;
    } else if (strcmp(key, "txn") == 0) {
      const char *app = json_string_value(json_object_get(v, "appId"));
      if (!app)
        return fail(err, LH_EPARSE, o, "txn action without an appId");
      if (!s->txns && !(s->txns = json_object()))
        return lh_error_set(err, LH_ENOMEM, "out of memory");
      json_object_set(s->txns, app, v);
    } else if (strcmp(key, "commitInfo") == 0 || strcmp(key, "cdc") == 0 ||
               strcmp(key, "domainMetadata") == 0) {
      /* no effect on the table state we keep */
    } else if (strcmp(key, "checkpointMetadata") == 0 || strcmp(key, "sidecar") == 0) {
      return fail(err, LH_EUNSUPPORTED, o, "V2 checkpoints ('%s') are not supported", key);
    } else if (strcmp(key, "add_stats") != 0) {
      return fail(err, LH_EPARSE, o, "unknown action '%s'", key);
    }
    if (rc)
      return rc;
  }
  return 0;
}

/* Apply every line of a JSON commit. */
static int apply_commit_text(lh__delta_snapshot *s, const char *text, size_t len,
                             const origin *base, lh_error *err) {
  origin o = *base;
  const char *p = text, *end = text + len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
    o.line++;
    size_t k = 0;
    while (k < n && isspace((unsigned char)p[k]))
      k++;
    if (k < n) {
      json_error_t je;
      json_t *action = json_loadb(p, n, 0, &je);
      if (!action)
        return fail(err, LH_EPARSE, &o, "invalid JSON: %s", je.text);
      int rc = apply_action(s, action, &o, err);
      json_decref(action);
      if (rc)
        return rc;
    }
    p += n + 1;
  }
  if (len && text[len - 1] != '\n' && o.line > 0) {
    /* a commit file is written whole, with a final newline; without one it was truncated
     * by something other than us - the last line parsed, so accept it */
  }
  return 0;
}

/* ---- listing -------------------------------------------------------------------------------- */

typedef struct listing {
  int64_t *commits;
  size_t ncommits, cap;
  /* classic checkpoints: version -> parts seen / parts total (single = 1/1) */
  struct cp {
    int64_t version;
    int parts, seen;
    bool bad;
  } * cps;
  size_t ncps, cps_cap;
  bool last_checkpoint;
} listing;

static bool digits(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isdigit((unsigned char)s[i]))
      return false;
  return true;
}

static int note_cp(listing *l, int64_t v, int part, int parts) {
  for (size_t i = 0; i < l->ncps; i++)
    if (l->cps[i].version == v) {
      if (l->cps[i].parts != parts)
        l->cps[i].bad = true;
      l->cps[i].seen++;
      (void)part;
      return 0;
    }
  if (LH_ARRAY_RESERVE(l->cps, l->cps_cap, l->ncps + 1, 8))
    return LH_ENOMEM;
  l->cps[l->ncps++] = (struct cp){v, parts, 1, false};
  return 0;
}

static int list_entry(const char *name, void *arg) {
  listing *l = arg;
  size_t n = strlen(name);
  if (strcmp(name, "_last_checkpoint") == 0) {
    l->last_checkpoint = true;
    return 0;
  }
  if (n < 21 || !digits(name, 20) || name[20] != '.')
    return 0; /* .crc files, .tmp/ folders, our temp files: ignored */
  int64_t v = strtoll(name, NULL, 10);
  const char *rest = name + 21;
  if (strcmp(rest, "json") == 0) {
    if (LH_ARRAY_RESERVE(l->commits, l->cap, l->ncommits + 1, 64))
      return LH_ENOMEM;
    l->commits[l->ncommits++] = v;
  } else if (strcmp(rest, "checkpoint.parquet") == 0) {
    return note_cp(l, v, 1, 1);
  } else if (strncmp(rest, "checkpoint.", 11) == 0 && strlen(rest) == 11 + 10 + 1 + 10 + 8 &&
             digits(rest + 11, 10) && rest[21] == '.' && digits(rest + 22, 10) &&
             strcmp(rest + 32, ".parquet") == 0) {
    return note_cp(l, v, (int)strtol(rest + 11, NULL, 10), (int)strtol(rest + 22, NULL, 10));
  }
  return 0;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static char *commit_key(int64_t v) {
  char *k = NULL;
  if (asprintf(&k, LH__DELTA_LOG "/%020" PRId64 ".json", v) < 0)
    return NULL;
  return k;
}

static int replay_commit(lh_store *table, lh__delta_snapshot *s, int64_t v, lh_error *err) {
  char *key = commit_key(v);
  if (!key)
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  lh_buf text = LH_BUF_INIT;
  int rc = lh_store_get(table, key, &text, err);
  if (rc == 0) {
    origin o = {key, v, 0};
    rc = apply_commit_text(s, text.data ? text.data : "", text.len, &o, err);
    if (rc == 0 && text.len == 0)
      rc = fail(err, LH_EPARSE, &o, "empty commit file");
  } else if (rc == LH_ENOTFOUND) {
    rc = lh_error_set(err, LH_EPARSE, "%s: missing commit (version %" PRId64 ")", key, v);
  }
  if (rc == 0)
    s->version = v;
  lh_buf_free(&text);
  free(key);
  return rc;
}

/* ---- checkpoints ----------------------------------------------------------------------------- */

typedef struct cp_ctx {
  lh__delta_snapshot *s;
  origin o;
} cp_ctx;

/* A checkpoint row other than an add: each column rendered as JSON (lh__duck_value_json, not
 * DuckDB's to_json, whose set-up costs ~20 ms a query); only one of them is not null. */
static int apply_cp_row(void *arg, size_t ncols, const char *const *names,
                        const char *const *values, lh_error *err) {
  cp_ctx *c = arg;
  json_t *action = json_object();
  if (!action)
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  int rc = 0;
  for (size_t i = 0; i < ncols && !rc; i++) {
    if (strcmp(values[i], "null") == 0)
      continue;
    json_error_t je;
    json_t *v = json_loads(values[i], 0, &je);
    if (!v)
      rc = fail(err, LH_EPARSE, &c->o, "unreadable checkpoint column '%s': %s", names[i], je.text);
    else if (json_object_set_new(action, names[i], v))
      rc = lh_error_set(err, LH_ENOMEM, "out of memory");
  }
  rc = rc ? rc : apply_action(c->s, action, &c->o, err);
  json_decref(action);
  return rc;
}

/* The add rows of a checkpoint from typed columns (path, size, modificationTime, stats,
 * partitionValues as JSON, has a deletion vector): no JSON text for the bulk of the
 * checkpoint, and each stats string kept as it is. */
static int apply_cp_adds(void *arg, duckdb_data_chunk chunk, lh_error *err) {
  cp_ctx *c = arg;
  duckdb_vector vp = duckdb_data_chunk_get_vector(chunk, 0),
                vs = duckdb_data_chunk_get_vector(chunk, 1),
                vm = duckdb_data_chunk_get_vector(chunk, 2),
                vst = duckdb_data_chunk_get_vector(chunk, 3),
                vpv = duckdb_data_chunk_get_vector(chunk, 4),
                vdv = duckdb_data_chunk_get_vector(chunk, 5);
  duckdb_string_t *path = duckdb_vector_get_data(vp), *stats = duckdb_vector_get_data(vst),
                  *pv = duckdb_vector_get_data(vpv);
  int64_t *size = duckdb_vector_get_data(vs), *modified = duckdb_vector_get_data(vm);
  bool *dv = duckdb_vector_get_data(vdv);
  idx_t n = duckdb_data_chunk_get_size(chunk);
  int rc = 0;
  for (idx_t r = 0; r < n && !rc; r++) {
    char *p = lh__duck_valid(vp, r)
                  ? strndup(duckdb_string_t_data(&path[r]), duckdb_string_t_length(path[r]))
                  : NULL;
    if (lh__duck_valid(vp, r) && !p)
      return lh_error_set(err, LH_ENOMEM, "out of memory");
    /* (not inside json_is_object, a macro that evaluates its argument twice) */
    json_t *values = lh__duck_valid(vpv, r) ? json_loadb(duckdb_string_t_data(&pv[r]),
                                                         duckdb_string_t_length(pv[r]), 0, NULL)
                                            : NULL;
    bool has_stats = lh__duck_valid(vst, r);
    add_fields a = {
        .path = p,
        .values = json_is_object(values) ? values : NULL,
        .values_bad = lh__duck_valid(vpv, r) && !json_is_object(values),
        .deletion_vector = lh__duck_valid(vdv, r) && dv[r],
        .size = lh__duck_valid(vs, r) ? size[r] : -1,
        .modified = lh__duck_valid(vm, r) ? modified[r] : 0,
        .stats = has_stats ? duckdb_string_t_data(&stats[r]) : NULL,
        .stats_len = has_stats ? duckdb_string_t_length(stats[r]) : 0,
    };
    rc = add_file(c->s, &a, &c->o, err);
    json_decref(values);
    free(p);
  }
  return rc;
}

/* Which fields the checkpoint's add column has: *has_add false when it has none; whether it
 * has a remove column. */
static int probe_add(lh__duck *d, const char *src, bool *has_add, bool *has_stats, bool *has_dv,
                     bool *has_remove, lh_error *err) {
  *has_add = *has_stats = *has_dv = *has_remove = false;
  lh_buf sql = LH_BUF_INIT;
  if (lh_buf_printf(&sql, "SELECT * FROM %s LIMIT 0", src))
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  duckdb_result res;
  int rc = lh__duck_query(d, sql.data, &res, err);
  lh_buf_free(&sql);
  if (rc)
    return rc;
  for (idx_t i = 0; i < duckdb_column_count(&res); i++) {
    *has_remove |= strcmp(duckdb_column_name(&res, i), "remove") == 0;
    if (strcmp(duckdb_column_name(&res, i), "add") != 0)
      continue;
    duckdb_logical_type t = duckdb_column_logical_type(&res, i);
    if (duckdb_get_type_id(t) == DUCKDB_TYPE_STRUCT) {
      *has_add = true;
      for (idx_t k = 0; k < duckdb_struct_type_child_count(t); k++) {
        char *name = duckdb_struct_type_child_name(t, k);
        *has_stats |= name && strcmp(name, "stats") == 0;
        *has_dv |= name && strcmp(name, "deletionVector") == 0;
        duckdb_free(name);
      }
    }
    duckdb_destroy_logical_type(&t);
  }
  duckdb_destroy_result(&res);
  return 0;
}

/* Every action of the checkpoint read as src but its tombstones (left for
 * lh__delta_load_removes: ~1,000 of them after an optimize cost a lookup 15 ms): the others
 * first (the protocol is checked before any file is looked at), then the adds from typed
 * columns. */
static int read_checkpoint(lh__duck *d, const char *src, cp_ctx *c, lh_error *err) {
  bool has_add, has_stats, has_dv, has_remove;
  int rc = probe_add(d, src, &has_add, &has_stats, &has_dv, &has_remove, err);
  lh_buf sql = LH_BUF_INIT;
  const char *exclude = has_add && has_remove ? " EXCLUDE (add, remove)"
                        : has_add             ? " EXCLUDE (add)"
                        : has_remove          ? " EXCLUDE (remove)"
                                              : "";
  if (!rc &&
      lh_buf_printf(&sql, "SELECT *%s FROM %s WHERE %s AND %s", exclude, src,
                    has_add ? "add IS NULL" : "true", has_remove ? "remove IS NULL" : "true"))
    rc = lh_error_set(err, LH_ENOMEM, "out of memory");
  rc = rc ? rc : lh__duck_each_row(d, sql.data, apply_cp_row, c, err);
  if (!rc && has_remove) {
    free(c->s->cp_removes);
    free(c->s->cp_name);
    c->s->cp_removes = strdup(src);
    c->s->cp_name = strdup(c->o.name);
    if (!c->s->cp_removes || !c->s->cp_name)
      rc = lh_error_set(err, LH_ENOMEM, "out of memory");
  }
  if (!rc && has_add) {
    lh_buf_reset(&sql);
    if (lh_buf_printf(&sql,
                      "SELECT add.path::VARCHAR, add.size::BIGINT, add.modificationTime::BIGINT, "
                      "%s, to_json(add.partitionValues)::VARCHAR, %s FROM %s WHERE add IS NOT NULL",
                      has_stats ? "add.stats::VARCHAR" : "NULL::VARCHAR",
                      has_dv ? "add.deletionVector IS NOT NULL" : "false", src))
      rc = lh_error_set(err, LH_ENOMEM, "out of memory");
    rc = rc ? rc : lh__duck_stream(d, NULL, sql.data, apply_cp_adds, c, err);
  }
  lh_buf_free(&sql);
  return rc;
}

static int load_checkpoint(lh__table_io *io, lh__duck *d, lh__delta_snapshot *s, int64_t v,
                           int parts, lh_error *err) {
  lh_buf sql = LH_BUF_INIT, name = LH_BUF_INIT;
  int rc = lh_buf_puts(&sql, "read_parquet([");
  for (int p = 1; p <= parts && !rc; p++) {
    lh_buf path = LH_BUF_INIT;
    char file[96];
    if (parts == 1)
      snprintf(file, sizeof file, LH__DELTA_LOG "/%020" PRId64 ".checkpoint.parquet", v);
    else
      snprintf(file, sizeof file, LH__DELTA_LOG "/%020" PRId64 ".checkpoint.%010d.%010d.parquet", v,
               p, parts);
    rc = lh__tio_read_path(io, file, &path);
    if (!rc && p > 1)
      rc = lh_buf_putc(&sql, ',');
    if (!rc)
      rc = lh__sql_quote(&sql, path.data);
    lh_buf_free(&path);
  }
  if (!rc)
    rc = lh_buf_puts(&sql, "], union_by_name = true)");
  if (!rc)
    rc = lh_buf_printf(&name, LH__DELTA_LOG "/%020" PRId64 ".checkpoint%s.parquet", v,
                       parts > 1 ? ".*" : "");
  if (rc) {
    rc = lh_error_set(err, LH_ENOMEM, "out of memory");
  } else {
    cp_ctx c = {s, {name.data, v, 0}};
    rc = read_checkpoint(d, sql.data, &c, err);
    if (rc && rc != LH_EUNSUPPORTED && !strstr(err ? err->message : "", name.data))
      lh_error_prefix(err, rc, "%s (version %" PRId64 ")", name.data, v);
  }
  lh_buf_free(&sql);
  lh_buf_free(&name);
  if (rc == 0) {
    s->version = v;
    s->checkpoint = v;
  }
  return rc;
}

/* A tombstone of the checkpoint, unless a commit replayed since re-added the path or
 * removed it again (its own tombstone is the newer one). */
static int apply_cp_tombstone(void *arg, size_t ncols, const char *const *names,
                              const char *const *values, lh_error *err) {
  cp_ctx *c = arg;
  json_error_t je;
  json_t *rm = ncols == 1 ? json_loads(values[0], 0, &je) : NULL;
  if (!rm)
    return fail(err, LH_EPARSE, &c->o, "unreadable checkpoint column '%s': %s",
                ncols ? names[0] : "remove", ncols == 1 ? je.text : "no column");
  const char *path = json_string_value(json_object_get(rm, "path"));
  int rc = 0;
  if (!path || !*path)
    rc = fail(err, LH_EPARSE, &c->o, "remove action without a path");
  else if (!lh__strmap_get(&c->s->by_path, path, NULL) && !json_object_get(c->s->removes, path))
    rc = apply_remove(c->s, rm, &c->o, err);
  json_decref(rm);
  return rc;
}

int lh__delta_load_removes(lh__duck *d, lh__delta_snapshot *s, lh_error *err) {
  if (!s->cp_removes)
    return 0;
  lh_buf sql = LH_BUF_INIT;
  if (lh_buf_printf(&sql, "SELECT remove FROM %s WHERE remove IS NOT NULL", s->cp_removes))
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  cp_ctx c = {s, {s->cp_name, s->checkpoint, 0}};
  int rc = lh__duck_each_row(d, sql.data, apply_cp_tombstone, &c, err);
  lh_buf_free(&sql);
  if (rc && !strstr(err ? err->message : "", s->cp_name))
    lh_error_prefix(err, rc, "%s (version %" PRId64 ")", s->cp_name, s->checkpoint);
  if (!rc) {
    free(s->cp_removes);
    free(s->cp_name);
    s->cp_removes = s->cp_name = NULL;
  }
  return rc;
}

/* ---- load / update ----------------------------------------------------------------------------
 */

static int last_checkpoint_hint(lh_store *table, int64_t *v) {
  lh_buf text = LH_BUF_INIT;
  int rc = lh_store_get(table, LH__DELTA_LOG "/_last_checkpoint", &text, NULL);
  *v = -1;
  if (rc == 0) {
    json_t *o = json_loadb(text.data ? text.data : "", text.len, 0, NULL);
    *v = int_field(o, "version", -1);
    json_decref(o);
  }
  lh_buf_free(&text);
  return 0;
}

int lh__delta_load(lh_store *table, lh__table_io *io, lh__duck *d, lh__delta_snapshot *s,
                   lh_error *err) {
  lh__delta_snapshot_free(s);
  listing l = {0};
  int rc = lh_store_children(table, LH__DELTA_LOG, list_entry, &l, err);
  if (rc)
    goto done;
  if (l.ncommits == 0 && l.ncps == 0)
    goto done; /* no table */
  lh__qsort(l.commits, l.ncommits, sizeof *l.commits, cmp_i64);
  int64_t latest = l.ncommits ? l.commits[l.ncommits - 1] : -1;
  /* the newest complete classic checkpoint (the hint only says where to look first) */
  int64_t hint;
  last_checkpoint_hint(table, &hint);
  int best = -1;
  for (size_t i = 0; i < l.ncps; i++) {
    struct cp *c = &l.cps[i];
    if (c->bad || c->seen != c->parts)
      continue;
    if (best < 0 || c->version > l.cps[best].version)
      best = (int)i;
  }
  if (best >= 0 && l.cps[best].version > latest)
    latest = l.cps[best].version;
  int64_t from = -1;
  if (best >= 0) {
    rc = load_checkpoint(io, d, s, l.cps[best].version, l.cps[best].parts, err);
    if (rc) {
      /* fall back to the JSON commits when they are all there */
      bool have_all =
          l.ncommits && l.commits[0] == 0 && l.commits[l.ncommits - 1] == (int64_t)l.ncommits - 1;
      if (!have_all)
        goto done;
      lh_log_warning("%s; replaying the JSON commits instead",
                     err ? err->message : "bad checkpoint");
      lh_error_clear(err);
      lh__delta_snapshot_free(s);
    } else {
      from = l.cps[best].version;
    }
  }
  (void)hint;
  for (size_t i = 0; i < l.ncommits; i++) {
    int64_t v = l.commits[i];
    if (v <= from)
      continue;
    if (v != s->version + 1) {
      rc = lh_error_set(err, LH_EPARSE,
                        "the Delta log is incomplete: version %" PRId64 " follows %" PRId64
                        " (missing %020" PRId64 ".json and no checkpoint to start from)",
                        v, s->version, s->version + 1);
      goto done;
    }
    if ((rc = replay_commit(table, s, v, err)) != 0)
      goto done;
  }
  if (!s->metadata) {
    rc = lh_error_set(err, LH_EPARSE, "the Delta log at version %" PRId64 " has no metaData",
                      s->version);
    goto done;
  }
  if (!s->min_reader) {
    rc = lh_error_set(err, LH_EPARSE, "the Delta log at version %" PRId64 " has no protocol",
                      s->version);
    goto done;
  }
  (void)latest;
done:
  free(l.commits);
  free(l.cps);
  if (rc)
    lh__delta_snapshot_free(s);
  return rc;
}

int lh__delta_update(lh_store *table, lh__delta_snapshot *s, lh_error *err) {
  for (;;) {
    char *key = commit_key(s->version + 1);
    if (!key)
      return lh_error_set(err, LH_ENOMEM, "out of memory");
    int ex = lh_store_exists(table, key, err);
    free(key);
    if (ex < 0)
      return ex;
    if (!ex)
      return 0;
    int rc = replay_commit(table, s, s->version + 1, err);
    if (rc)
      return rc;
  }
}

/* ---- protocol ----------------------------------------------------------------------------------
 */

static int features(json_t *arr, char *out, size_t n) {
  out[0] = '\0';
  size_t i;
  json_t *v;
  int count = 0;
  json_array_foreach(arr, i, v) {
    const char *f = json_string_value(v);
    if (!f)
      continue;
    size_t len = strlen(out);
    snprintf(out + len, n - len, "%s%s", count ? ", " : "", f);
    count++;
  }
  return count;
}

int lh__delta_check_read(const lh__delta_snapshot *s, lh_error *err) {
  char list[400];
  if (s->min_reader <= 1)
    return 0;
  if (s->min_reader == 3 && features(s->reader_features, list, sizeof list) > 0)
    return lh_error_set(err, LH_EUNSUPPORTED,
                        "the Delta table needs reader features this implementation does not "
                        "support: %s",
                        list);
  if (s->min_reader == 2)
    return lh_error_set(err, LH_EUNSUPPORTED,
                        "the Delta table needs reader version 2 (column mapping), which is not "
                        "supported");
  return lh_error_set(err, LH_EUNSUPPORTED,
                      "the Delta table needs reader version %d; version 1 is supported",
                      s->min_reader);
}

int lh__delta_check_write(const lh__delta_snapshot *s, lh_error *err) {
  int rc = lh__delta_check_read(s, err);
  if (rc)
    return rc;
  char list[400];
  if (s->min_writer > 2) {
    if (features(s->writer_features, list, sizeof list) > 0)
      return lh_error_set(err, LH_EUNSUPPORTED,
                          "refusing to write: the Delta table needs writer features %s", list);
    return lh_error_set(err, LH_EUNSUPPORTED,
                        "refusing to write: the Delta table needs writer version %d; up to 2 "
                        "is supported",
                        s->min_writer);
  }
  json_t *cfg = json_object_get(s->metadata, "configuration");
  if (json_is_true(json_object_get(cfg, "delta.appendOnly")) ||
      (json_is_string(json_object_get(cfg, "delta.appendOnly")) &&
       strcmp(json_string_value(json_object_get(cfg, "delta.appendOnly")), "true") == 0))
    return lh_error_set(err, LH_EUNSUPPORTED,
                        "refusing to write: the Delta table is append-only (delta.appendOnly)");
  return 0;
}

/* ---- writing ------------------------------------------------------------------------------------
 */

static int64_t now_ms(void) {
  return lh_time_now() / 1000;
}

static int commit_info(lh_buf *out, const char *operation, const lh__delta_actions *a) {
  json_t *ci = json_pack("{s:{s:I, s:s, s:{}, s:s, s:s, s:{s:I, s:I}}}", "commitInfo", "timestamp",
                         (json_int_t)now_ms(), "operation", operation, "operationParameters",
                         "engineInfo", "ftm-lakehouse-c/" LH_VERSION, "clientVersion",
                         "ftm-lakehouse-c/" LH_VERSION, "operationMetrics", "num_added_files",
                         (json_int_t)a->nadds, "num_removed_files", (json_int_t)a->nremoves);
  char *text = ci ? json_dumps(ci, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  json_decref(ci);
  if (!text)
    return LH_ENOMEM;
  int rc = lh_buf_puts(out, text);
  free(text);
  return rc ? rc : lh_buf_putc(out, '\n');
}

int lh__delta_create(lh_store *table, const char *schema_string, const char *const *partitions,
                     size_t npartitions, json_t *configuration, lh_error *err) {
  char id[LH_UUID_SIZE];
  lh_uuid4(id);
  json_t *cols = json_array();
  for (size_t i = 0; i < npartitions; i++)
    json_array_append_new(cols, json_string(partitions[i]));
  json_t *protocol =
      json_pack("{s:{s:i, s:i}}", "protocol", "minReaderVersion", 1, "minWriterVersion", 2);
  json_t *conf = configuration ? json_deep_copy(configuration) : json_object();
  json_t *md = json_pack("{s:{s:s, s:n, s:n, s:{s:s, s:{}}, s:s, s:o, s:o, s:I}}", "metaData", "id",
                         id, "name", "description", "format", "provider", "parquet", "options",
                         "schemaString", schema_string, "partitionColumns", cols, "configuration",
                         conf, "createdTime", (json_int_t)now_ms());
  lh_buf text = LH_BUF_INIT;
  char *p = protocol ? json_dumps(protocol, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  char *m = md ? json_dumps(md, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  lh__delta_actions none;
  lh__delta_actions_init(&none);
  int rc = !p || !m || lh_buf_puts(&text, p) || lh_buf_putc(&text, '\n') || lh_buf_puts(&text, m) ||
                   lh_buf_putc(&text, '\n') || commit_info(&text, "CREATE TABLE", &none)
               ? lh_error_set(err, LH_ENOMEM, "out of memory")
               : 0;
  if (rc == 0)
    rc = lh_store_create(table, LH__DELTA_LOG "/00000000000000000000.json", text.data, text.len,
                         err);
  free(p);
  free(m);
  json_decref(protocol);
  json_decref(md);
  lh_buf_free(&text);
  lh__delta_actions_free(&none);
  return rc;
}

void lh__delta_actions_init(lh__delta_actions *a) {
  lh_buf_init(&a->text, 0);
  a->removed = NULL;
  a->nadds = a->nremoves = 0;
}

void lh__delta_actions_free(lh__delta_actions *a) {
  lh_buf_free(&a->text);
  json_decref(a->removed);
  a->removed = NULL;
}

static int append_action(lh__delta_actions *a, json_t *action) {
  if (!action)
    return LH_ENOMEM;
  char *text = json_dumps(action, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(action);
  if (!text)
    return LH_ENOMEM;
  int rc = lh_buf_puts(&a->text, text);
  free(text);
  return rc ? rc : lh_buf_putc(&a->text, '\n');
}

int lh__delta_actions_add(lh__delta_actions *a, const char *path, const char *const *partitions,
                          const char *const *values, size_t nvalues, int64_t size,
                          int64_t modified_ms, bool data_change, const char *stats) {
  json_t *pv = json_object();
  for (size_t i = 0; pv && i < nvalues; i++)
    json_object_set_new(pv, partitions[i], values[i] ? json_string(values[i]) : json_null());
  json_t *add =
      json_pack("{s:{s:s, s:o, s:I, s:I, s:b, s:o}}", "add", "path", path, "partitionValues", pv,
                "size", (json_int_t)size, "modificationTime", (json_int_t)modified_ms, "dataChange",
                data_change, "stats", stats ? json_string(stats) : json_null());
  a->nadds++;
  return append_action(a, add);
}

int lh__delta_actions_remove(lh__delta_actions *a, const lh__delta_snapshot *s,
                             const lh__delta_file *f, int64_t deletion_ms, bool data_change) {
  (void)s;
  json_t *rm = json_pack("{s:{s:s, s:I, s:b, s:b, s:O, s:I}}", "remove", "path", f->path,
                         "deletionTimestamp", (json_int_t)deletion_ms, "dataChange", data_change,
                         "extendedFileMetadata", 1, "partitionValues", f->values, "size",
                         (json_int_t)f->size);
  if (!a->removed && !(a->removed = json_object()))
    return LH_ENOMEM;
  json_object_set_new(a->removed, f->path, json_true());
  a->nremoves++;
  return append_action(a, rm);
}

int lh__delta_actions_metadata(lh__delta_actions *a, json_t *md) {
  return append_action(a, json_pack("{s:O}", "metaData", md));
}

static void short_sleep(int attempt) {
  unsigned char r;
  lh_random_bytes(&r, 1);
  long ms = (attempt < 8 ? attempt : 8) * 5 + r % 20;
  struct timespec ts = {0, ms * 1000000L};
  nanosleep(&ts, NULL);
}

int lh__delta_commit(lh_store *table, lh__table_io *io, lh__duck *d, lh__delta_snapshot *s,
                     const lh__delta_actions *a, const char *operation, int64_t *version,
                     lh_error *err) {
  lh_buf text = LH_BUF_INIT;
  int rc = lh_buf_append(&text, a->text.data ? a->text.data : "", a->text.len);
  if (rc == 0)
    rc = commit_info(&text, operation, a);
  if (rc) {
    lh_buf_free(&text);
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  }
  for (int attempt = 0;; attempt++) {
    int64_t v = s->version + 1;
    char *key = commit_key(v);
    if (!key) {
      rc = lh_error_set(err, LH_ENOMEM, "out of memory");
      break;
    }
    rc = lh_store_create(table, key, text.data, text.len, err);
    if (rc == 0) {
      if (version) /* committed, whatever happens next */
        *version = v;
      origin o = {key, v, 0};
      rc = apply_commit_text(s, text.data, text.len, &o, err);
      s->version = v;
      free(key);
      if (rc == 0 && v % LH__DELTA_CHECKPOINT_INTERVAL == 0) {
        lh_error cerr = {0};
        if (lh__delta_write_checkpoint(table, io, d, s, &cerr))
          lh_log_warning("checkpoint at version %" PRId64 " not written: %s", v, cerr.message);
      }
      break;
    }
    free(key);
    if (rc != LH_EEXIST)
      break;
    /* lost the race for version v: see what the winners did */
    lh_error_clear(err);
    json_t *md_before = json_incref(s->metadata);
    int reader = s->min_reader, writer = s->min_writer;
    rc = lh__delta_update(table, s, err);
    bool changed = rc == 0 && (reader != s->min_reader || writer != s->min_writer ||
                               !json_equal(md_before, s->metadata));
    json_decref(md_before);
    if (rc)
      break;
    if (changed) {
      rc = lh_error_set(err, LH_ECONFLICT,
                        "a concurrent commit changed the table's protocol or metadata");
      break;
    }
    const char *path;
    json_t *v2;
    json_object_foreach(a->removed, path, v2) {
      if (!lh__strmap_get(&s->by_path, path, NULL)) {
        rc = lh_error_set(err, LH_ECONFLICT, "a concurrent commit removed '%s'", path);
        break;
      }
    }
    if (rc)
      break;
    if (attempt >= LH__DELTA_COMMIT_RETRIES) {
      rc = lh_error_set(err, LH_ECONFLICT, "gave up committing after %d lost races", attempt + 1);
      break;
    }
    short_sleep(attempt);
  }
  lh_buf_free(&text);
  return rc;
}

/* ---- checkpoint writing ------------------------------------------------------------------------
 */

#define CP_COLUMNS                                                                                 \
  "{'protocol': 'STRUCT(minReaderVersion INTEGER, minWriterVersion INTEGER)', "                    \
  "'metaData': 'STRUCT(id VARCHAR, name VARCHAR, description VARCHAR, format STRUCT(provider "     \
  "VARCHAR, options MAP(VARCHAR, VARCHAR)), schemaString VARCHAR, partitionColumns VARCHAR[], "    \
  "configuration MAP(VARCHAR, VARCHAR), createdTime BIGINT)', "                                    \
  "'txn': 'STRUCT(appId VARCHAR, version BIGINT, lastUpdated BIGINT)', "                           \
  "'add': 'STRUCT(path VARCHAR, partitionValues MAP(VARCHAR, VARCHAR), size BIGINT, "              \
  "modificationTime BIGINT, dataChange BOOLEAN, stats VARCHAR, tags MAP(VARCHAR, VARCHAR))', "     \
  "'remove': 'STRUCT(path VARCHAR, deletionTimestamp BIGINT, dataChange BOOLEAN, "                 \
  "extendedFileMetadata BOOLEAN, partitionValues MAP(VARCHAR, VARCHAR), size BIGINT)'}"

static int write_line(FILE *f, json_t *o) {
  char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  if (!text)
    return LH_ENOMEM;
  int ok = fputs(text, f) >= 0 && fputc('\n', f) != EOF;
  free(text);
  return ok ? 0 : LH_EIO;
}

/* Tombstones older than delta.deletedFileRetentionDuration (default a week) leave the
 * checkpoint. */
static int64_t tombstone_cutoff_ms(const lh__delta_snapshot *s) {
  (void)s;
  return now_ms() - 7LL * 24 * 3600 * 1000;
}

int lh__delta_write_checkpoint(lh_store *table, lh__table_io *io, lh__duck *d,
                               lh__delta_snapshot *s, lh_error *err) {
  int rc = lh__delta_load_removes(d, s, err); /* the tombstones carried over */
  if (rc)
    return rc;
  char id[LH_UUID_HEX_SIZE], name[64];
  lh_uuid4_hex(id);
  lh_buf json_path = LH_BUF_INIT, pq_path = LH_BUF_INIT;
  snprintf(name, sizeof name, ".checkpoint.lh-tmp-%s.json", id);
  rc = lh__tio_scratch(io, LH__DELTA_LOG, name, &json_path, err);
  snprintf(name, sizeof name, ".checkpoint.lh-tmp-%s.parquet", id);
  rc = rc ? rc : lh__tio_scratch(io, LH__DELTA_LOG, name, &pq_path, err);
  char final[64];
  snprintf(final, sizeof final, LH__DELTA_LOG "/%020" PRId64 ".checkpoint.parquet", s->version);
  const char *json_tmp = json_path.data, *pq_tmp = pq_path.data;
  if (rc)
    goto done;
  FILE *f = fopen(json_tmp, "w");
  if (!f) {
    rc = lh_error_errno(err, errno, "cannot write %s", json_tmp);
    goto done;
  }
  size_t rows = 0;
  rc = write_line(f, json_pack("{s:{s:i, s:i}}", "protocol", "minReaderVersion", s->min_reader,
                               "minWriterVersion", s->min_writer));
  rows++;
  if (!rc) {
    json_t *md = json_deep_copy(s->metadata);
    rc = write_line(f, json_pack("{s:o}", "metaData", md));
    rows++;
  }
  const char *app;
  json_t *txn;
  json_object_foreach(s->txns, app, txn) {
    if (!rc) {
      rc = write_line(f, json_pack("{s:O}", "txn", txn));
      rows++;
    }
  }
  for (size_t i = 0; i < s->nfiles && !rc; i++) {
    const lh__delta_file *df = &s->files[i];
    rc = write_line(f, json_pack("{s:{s:s, s:O, s:I, s:I, s:b, s:o}}", "add", "path", df->path,
                                 "partitionValues", df->values, "size", (json_int_t)df->size,
                                 "modificationTime", (json_int_t)df->modified, "dataChange", 0,
                                 "stats", df->stats ? json_string(df->stats) : json_null()));
    rows++;
  }
  int64_t cutoff = tombstone_cutoff_ms(s);
  const char *path;
  json_t *rm;
  json_object_foreach(s->removes, path, rm) {
    if (rc)
      break;
    if (int_field(rm, "deletionTimestamp", 0) < cutoff)
      continue;
    rc = write_line(f, json_pack("{s:O}", "remove", rm));
    rows++;
  }
  if (fclose(f) != 0 && !rc)
    rc = lh_error_errno(err, errno, "cannot write %s", json_tmp);
  if (rc) {
    lh_error_set(err, rc, "cannot write the checkpoint actions");
    goto done;
  }
  lh_buf sql = LH_BUF_INIT;
  rc = lh_buf_puts(&sql, "COPY (SELECT * FROM read_json(");
  rc = rc ? rc : lh__sql_quote(&sql, json_tmp);
  rc = rc ? rc
          : lh_buf_puts(&sql, ", format = 'newline_delimited', maximum_object_size = 1073741824, "
                              "columns = " CP_COLUMNS ")) TO ");
  rc = rc ? rc : lh__sql_quote(&sql, pq_tmp);
  rc = rc ? rc : lh_buf_puts(&sql, " (FORMAT parquet, COMPRESSION snappy)");
  if (rc)
    rc = lh_error_set(err, LH_ENOMEM, "out of memory");
  else
    rc = lh__duck_exec(d, sql.data, err);
  lh_buf_free(&sql);
  if (rc)
    goto done;
  lh__crashpoint("checkpoint:before-publish");
  if ((rc = lh__tio_publish(io, pq_tmp, final, err)) != 0)
    goto done;
  char last[128];
  int n = snprintf(last, sizeof last, "{\"version\":%" PRId64 ",\"size\":%zu}", s->version, rows);
  rc = lh_store_put(table, LH__DELTA_LOG "/_last_checkpoint", last, (size_t)n, err);
done:
  if (json_tmp)
    lh__tio_discard(io, json_tmp);
  if (pq_tmp)
    lh__tio_discard(io, pq_tmp);
  lh_buf_free(&json_path);
  lh_buf_free(&pq_path);
  return rc;
}
